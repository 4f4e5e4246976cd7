"""The GS1-conformant resolver over a real `dpp serve` on 127.0.0.1: linksets, link-type
redirects, /.well-known/gs1resolver, content negotiation by q-value with Vary, JSON-LD."""

from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

import dpp_ledger.passport as pp
from dpp_ledger.cli.serve import create_app
from dpp_ledger.passport.bundle import BUNDLE_MEDIA_TYPE
from tests import test_serve
from tests.ledger_helpers import new_ledger, store_chain
from tests.test_exports import EPCIS_VALIDATOR, UNTP_VALIDATOR, _errors
from tests.test_serve import ITEM, PID, SOLD, W
from tests.world import PRODUCT, T0

ledger_path = test_serve.ledger_path  # the same ledger and real server as tests/test_serve.py
server = test_serve.server
LINKSET = "application/linkset+json"
GS1 = "https://ref.gs1.org/voc/"


def get(url: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """One GET over a fresh connection, redirects not followed."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.netloc, timeout=10)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", path, headers={"Accept": accept} if accept else {})
        response = connection.getresponse()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


def _linkset_link(server: str) -> str:
    return f'<{server}{ITEM}?linkType=linkset>; rel="linkset"; type="{LINKSET}"'


def test_the_linkset_names_every_representation_and_each_one_answers(server: str) -> None:
    status, headers, body = get(f"{server}{ITEM}", LINKSET)
    assert status == 200
    assert headers["content-type"].startswith(LINKSET)
    assert headers["vary"] == "Accept"
    assert headers["link"] == _linkset_link(server)
    (context,) = json.loads(body)["linkset"]
    assert context["anchor"] == f"{server}{ITEM}"
    relations = {k for k in context if k != "anchor"}
    assert relations == {
        f"{GS1}defaultLink",
        f"{GS1}pip",
        f"{GS1}dpp",
        f"{GS1}traceability",
        f"{GS1}sustainabilityInfo",
        "urn:dpp:vocab:v1:verificationReport",
    }
    for relation in relations:
        for target in context[relation]:
            code, answer_headers, _ = get(target["href"], target["type"])
            assert code == 200, target
            assert answer_headers["content-type"].startswith(target["type"]), target
            assert answer_headers["link"] == _linkset_link(server)
    assert [t["type"] for t in context[f"{GS1}dpp"]] == ["application/vc", BUNDLE_MEDIA_TYPE]
    same = get(f"{server}{ITEM}?linkType=linkset")[2]
    assert json.loads(same) == json.loads(body)
    assert json.loads(get(f"{server}{ITEM}?linkType=all")[2]) == json.loads(body)


@pytest.mark.parametrize(
    ("link_type", "accept", "ends"),
    [
        ("gs1:traceability", None, f"/passports/{PID}/epcis.jsonld"),
        ("gs1:pip", None, f"/passports/{PID}"),
        ("https://gs1.org/voc/pip", None, f"/passports/{PID}"),
        (f"{GS1}sustainabilityInfo", None, f"/passports/{PID}/untp.json"),
        ("gs1:dpp", None, f"/passports/{PID}/untp.json"),
        ("gs1:dpp", BUNDLE_MEDIA_TYPE, f"/passports/{PID}/bundle.dpp"),
        ("dpp:verificationReport", None, f"/passports/{PID}/report.json"),
    ],
)
def test_a_link_type_redirects_to_its_link(
    server: str, link_type: str, accept: str | None, ends: str
) -> None:
    query = urllib.parse.urlencode({"linkType": link_type})
    status, headers, _ = get(f"{server}{ITEM}?{query}", accept)
    assert status == 307
    assert headers["location"] == f"{server}{ends}"
    assert headers["link"] == _linkset_link(server)


def test_unknown_or_doubled_link_types_are_refused(server: str) -> None:
    status, headers, body = get(f"{server}{ITEM}?linkType=gs1:recipeInfo", "application/json")
    assert status == 404
    assert "no link of type 'gs1:recipeInfo'" in json.loads(body)["error"]
    assert headers["link"] == _linkset_link(server)
    status, _, body = get(f"{server}{ITEM}?linkType=gs1:pip&linkType=gs1:dpp", "application/json")
    assert status == 400
    assert "twice" in json.loads(body)["error"]


def test_the_well_known_description(server: str) -> None:
    status, headers, body = get(f"{server}/.well-known/gs1resolver")
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    described = json.loads(body)
    assert described["resolverRoot"] == server
    assert described["supportedPrimaryKeys"] == ["01"]
    assert {"namespace": GS1, "prefix": "gs1:"} in described["supportedLinkType"]
    active = described["activeLinkTypes"]["en"]
    assert {"gs1:pip", "gs1:dpp", "gs1:traceability", "gs1:sustainabilityInfo"} <= set(active)
    assert active["gs1:dpp"]["url"] == f"{GS1}dpp"


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        ("text/html;q=0.1, application/json", "application/json"),
        ("application/json;q=0.2, application/vnd.dpp.bundle+cbor;q=0.9", BUNDLE_MEDIA_TYPE),
        ("*/*;q=0.1, application/linkset+json", LINKSET),
        ("application/json;q=0, */*", "text/html"),
        ("APPLICATION/JSON", "application/json"),
        ("text/*, application/json;q=0.5", "text/html"),
        ("image/png", "text/html"),
        (None, "text/html"),
    ],
)
def test_negotiation_honours_q_values_and_says_vary(
    server: str, accept: str | None, kind: str
) -> None:
    status, headers, _ = get(f"{server}{ITEM}", accept)
    assert status == 200
    assert headers["content-type"].startswith(kind)
    assert headers["vary"] == "Accept"
    assert headers["link"] == _linkset_link(server)


def test_an_over_long_accept_header_is_a_one_line_400(server: str) -> None:
    status, _, body = get(f"{server}{ITEM}", "text/html;q=0.5, " * 300)
    assert status == 400
    assert json.loads(body) == {"error": "the Accept header is longer than 4096 characters"}


def _json_ld(html: str) -> Any:
    found = re.findall(r'<script type="application/ld\+json">([^<]*)</script>', html)
    return [json.loads(block) for block in found]


def test_the_page_embeds_a_schema_org_product(server: str) -> None:
    (facts,) = _json_ld(get(f"{server}{ITEM}", "text/html")[2].decode())
    assert facts["@context"] == "https://schema.org"
    assert "Product" in facts["@type"]
    assert (facts["gtin"], facts["serialNumber"]) == (PRODUCT["gtin"], PRODUCT["serial"])
    assert facts["brand"] == {"@type": "Brand", "name": "Maison Example"}
    assert facts["@id"] == f"{server}{ITEM}"
    status, _, credential = get(facts["hasDigitalProductPassport"], "application/vc")
    assert status == 200
    assert _errors(UNTP_VALIDATOR, json.loads(credential)) == []
    epcis_url = next(d["url"] for d in facts["subjectOf"] if d["url"].endswith("epcis.jsonld"))
    assert _errors(EPCIS_VALIDATOR, json.loads(get(epcis_url)[2])) == []


def test_a_passport_that_fails_offers_no_product_data_and_no_views(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    with new_ledger(path, W) as ledger:
        store_chain(ledger, W, SOLD)
        ledger.records.add_revocations(
            pp.revoke(W.brand, number=1, issued=T0 + 30 * 86_400, revoked={W.boutique.kid: T0})
        )
    client = TestClient(create_app(path))
    page = client.get(ITEM)
    assert "<h1>Not genuine</h1>" in page.text
    assert _json_ld(page.text) == []
    for view in ("epcis.jsonld", "untp.json"):
        refused = client.get(f"/passports/{PID}/{view}")
        assert refused.status_code == 422
        assert "revoked by Maison Example" in refused.json()["error"]
    assert client.get(f"/passports/{PID}/report.json").json()["outcome"] == "invalid"
    assert client.get("/passports/xyz/untp.json").status_code == 400
    assert client.get(f"/passports/{'0' * 64}/untp.json").status_code == 404


def test_json_ld_cannot_close_its_element() -> None:
    from dpp_ledger.cli.page import json_ld

    block = json_ld({"name": "</script><script>alert(1)</script>&"})
    assert block.count("</script>") == 1
    assert json.loads(block.removeprefix('<script type="application/ld+json">')[:-9]) == {
        "name": "</script><script>alert(1)</script>&"
    }
