"""Restricted data through the `dpp` command: audiences, --seal, --open, the page, erasure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import dpp_ledger.passport as pp
from dpp_ledger.cli import page
from dpp_ledger.cli.main import register
from dpp_ledger.ledger import KeyRole, KeyStore, Ledger
from dpp_ledger.ledger.recipients import RecipientStore
from tests.ledger_helpers import snapshot
from tests.world import PRODUCT, World

W = World()
DPP = register()
SECRET = "test passphrase"  # noqa: S105 - the tests' own throwaway keys
SITE = "Laboratorio Via Maggio 7"
DATA: dict[str, Any] = {
    **{k: v for k, v in PRODUCT.items() if k not in ("gtin", "serial")},
    "site": SITE,
    "repair_information": "Unpick the base seam; spare handles H-25.",
    "compliance_documents": ["EU DoC MX-2026-114"],
}


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A brand's home (the test world's keys, cheap KDF) with its audiences and a log."""
    path = tmp_path_factory.mktemp("restricted") / "home"
    keys = KeyStore(path / "keys", scrypt_log_n=14)
    for name, role in (
        ("brand", KeyRole.BRAND),
        ("factory", KeyRole.FACTORY),
        ("boutique", KeyRole.RETAILER),
        ("alice", KeyRole.OWNER),
        ("log", KeyRole.LOG),
    ):
        keys.add(name, role, getattr(W, name, None) or pp.SigningKey.generate(), lambda: SECRET)
    RecipientStore(path / "keys", scrypt_log_n=14).add("authorities", W.authority, lambda: SECRET)
    with Ledger.create(path / "ledger.db") as ledger:
        ledger.records.add_trust_store(pp.TrustStore.of(W.trust.roots[1:]))  # the rival only
        ledger.records.add_root("Maison Example", W.brand.public_key, ["3614270"])
        for cert in W.certs.values():
            ledger.records.add_certificate(cert)
        ledger.checkpoints.set_log("test.example/log", keys.load("log", lambda: SECRET))
        ledger.checkpoints.sign()
    (path / "data.json").write_text(json.dumps(DATA))
    return path


def run(home: Path | None, *args: str) -> Result:
    base = ["--home", str(home)] if home else []
    return CliRunner().invoke(DPP, [*base, *args], env={"DPP_PASSPHRASE": SECRET, "DPP_HOME": ""})


def _issue(home: Path, serial: str, *extra: str) -> Result:
    return run(
        home,
        "issue",
        "--brand",
        "brand",
        "--as",
        "factory",
        "--gtin",
        PRODUCT["gtin"],
        "--serial",
        serial,
        "--data",
        str(home / "data.json"),
        *extra,
    )


@pytest.fixture(scope="module")
def audiences(home: Path) -> Path:
    """The brand adds the authority's key and makes its own repairers key; then exports."""
    public = run(home, "audience", "export", "authorities")
    assert public.exit_code == 0, public.output
    added = run(home, "audience", "add", "authorities", public.stdout.strip())
    assert added.exit_code == 0, added.output
    assert "Added audience authorities" in added.stdout
    made = run(home, "audience", "new", "repairers", "--x25519-only")
    assert made.exit_code == 0, made.output
    trust = home.parent / "trust.json"
    assert run(home, "trust", "export", "-o", str(trust)).exit_code == 0
    return trust


def test_audiences_are_listed_and_published_in_the_trust_file(home: Path, audiences: Path) -> None:
    listed = json.loads(run(home, "audience", "list", "--json").stdout)
    names = {(a["brand"], a["name"]) for a in listed["audiences"]}
    assert names == {("Maison Example", "authorities"), ("Maison Example", "repairers")}
    assert {k["name"] for k in listed["keys"]} == {"authorities", "repairers"}
    root = pp.TrustStore.from_json(audiences.read_text()).root(W.brand.kid)
    assert root is not None
    assert {a.name for a in root.audiences} == {"authorities", "repairers"}
    again = run(home, "audience", "add", "authorities", W.authority.public_key.raw.hex())
    assert "Already in audience" in again.stdout


def test_a_sealed_item_shows_its_restricted_fields_and_opens_with_a_key(
    home: Path, audiences: Path, tmp_path: Path
) -> None:
    issued = _issue(
        home, "R-1", "--seal", "site=authorities", "--seal", "repair_information=repairers"
    )
    assert issued.exit_code == 0, issued.output
    pid = issued.stdout.strip()
    bundle = tmp_path / "bag.dpp"
    assert run(home, "export", pid, "-o", str(bundle)).exit_code == 0
    assert SITE.encode() not in bundle.read_bytes()
    buyer = run(None, "verify", str(bundle), "--trust", str(audiences))
    assert buyer.exit_code == 0, buyer.output
    assert "site: restricted (authorities)" in buyer.stdout
    assert "repair_information: restricted (repairers)" in buyer.stdout
    assert SITE not in buyer.stdout
    opened = run(home, "verify", str(bundle), "--trust", str(audiences), "--open", "authorities")
    assert opened.exit_code == 0, opened.output
    assert f"site: opened and verified against the signed digest: {SITE}" in opened.stdout
    as_json = json.loads(run(home, "show", pid, "--open", "authorities", "--json").stdout)
    values = {r["field"]: r.get("value") for r in as_json["restricted"]}
    assert values == {"site": SITE, "repair_information": None}
    plain = json.loads(run(home, "show", pid, "--json").stdout)
    assert SITE not in json.dumps(plain)


def test_the_hybrid_kem_needs_hybrid_keys(home: Path, audiences: Path) -> None:
    refused = _issue(
        home, "R-2", "--seal", "repair_information=repairers", "--kem", "mlkem768-x25519"
    )
    assert refused.exit_code == 1
    assert "X25519 only" in refused.stderr
    issued = _issue(home, "R-3", "--seal", "site=authorities", "--kem", "mlkem768-x25519")
    assert issued.exit_code == 0, issued.output
    shown = json.loads(
        run(home, "show", issued.stdout.strip(), "--open", "authorities", "--json").stdout
    )
    assert [(r["field"], r["value"]) for r in shown["restricted"]] == [("site", SITE)]


@pytest.mark.parametrize(
    ("seal", "code", "message"),
    [
        ("gtin=authorities", 1, "'gtin' may not be sealed"),
        ("serial=authorities", 1, "'serial' may not be sealed"),
        ("site=recyclers", 2, "no audience 'recyclers'"),
        ("site", 2, "FIELD=AUDIENCE"),
        ("care=authorities", 1, "'care' may not be sealed"),
    ],
    ids=["gtin", "serial", "unknown-audience", "no-audience", "not-sealable"],
)
def test_a_refused_seal_is_one_line_and_writes_nothing(
    home: Path, audiences: Path, seal: str, code: int, message: str
) -> None:
    before = snapshot(home / "ledger.db")
    result = _issue(home, "R-9", "--seal", seal)
    assert result.exit_code == code, result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert snapshot(home / "ledger.db") == before


def test_a_record_seals_to_the_items_brand_audience(home: Path, audiences: Path) -> None:
    pid = _issue(home, "R-4").stdout.strip()
    price = home.parent / "price.json"
    price.write_text('{"price": {"amount": 245000, "currency": "EUR"}}')
    sold = run(
        home,
        "record",
        "sale",
        pid,
        "--as",
        "boutique",
        "--owner",
        "alice",
        "--data",
        str(price),
        "--seal",
        "price=authorities",
    )
    assert sold.exit_code == 0, sold.output
    owner = run(
        home,
        "record",
        "sale",
        pid,
        "--as",
        "boutique",
        "--owner",
        "alice",
        "--seal",
        "owner=authorities",
    )
    assert owner.exit_code == 1
    assert "'owner' may not be sealed" in owner.stderr
    shown = json.loads(run(home, "show", pid, "--open", "authorities", "--json").stdout)
    assert [(r["seq"], r["field"], r["value"]) for r in shown["restricted"]] == [
        (1, "price", {"amount": 245000, "currency": "EUR"})
    ]


def test_bulk_issuance_seals_what_the_seal_column_names(home: Path, audiences: Path) -> None:
    rows = home.parent / "rows.csv"
    rows.write_text(
        "gtin,serial,site,compliance_documents,substances_of_concern,seal\n"
        f"{PRODUCT['gtin']},C-1,{SITE},EU DoC 1;REACH 33,lead:7439-92-1:zipper,"
        "site=authorities;compliance_documents=authorities\n"
        f"{PRODUCT['gtin']},C-2,{SITE},,,site=nobody\n"
    )
    result = run(
        home, "issue", "--brand", "brand", "--as", "factory", "--from", str(rows), "--json"
    )
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert [r["line"] for r in summary["refused"]] == [3]
    pid = summary["issued"][0]["pid"]
    shown = json.loads(run(home, "show", pid, "--open", "authorities", "--json").stdout)
    assert {r["field"]: r["value"] for r in shown["restricted"]} == {
        "site": SITE,
        "compliance_documents": ["EU DoC 1", "REACH 33"],
    }


def test_the_page_never_shows_a_restricted_value(home: Path, audiences: Path) -> None:
    pid = _issue(home, "R-5", "--seal", "site=authorities").stdout.strip()
    with Ledger.open(home / "ledger.db") as ledger:
        opened = ledger.verify(bytes.fromhex(pid), open_with=[W.authority])
        product = dict(ledger.chain(bytes.fromhex(pid))[0].data)
    assert [r.value for r in opened.restricted] == [SITE]
    html = page.passport_page(opened, product, "/b.dpp")
    assert SITE not in html
    assert "restricted to authorities" in html


def test_erasure_through_the_cli(home: Path, audiences: Path, tmp_path: Path) -> None:
    pid = _issue(home, "R-6", "--seal", "site=authorities").stdout.strip()
    old = tmp_path / "old.txt"
    assert run(home, "log", "checkpoint", "-o", str(old)).exit_code == 0
    usage = run(home, "erase", pid, "--field", "site")
    assert usage.exit_code == 2
    erased = run(home, "erase", pid, "--field", "site", "--reason", "GDPR request 114", "--vacuum")
    assert erased.exit_code == 0, erased.output
    assert "site erased" in erased.stdout
    again = run(home, "erase", pid, "--field", "site", "--reason", "again")
    assert again.exit_code == 1
    assert "already erased" in again.stderr
    shown = run(home, "show", pid)
    assert "site: erased (" in shown.stdout
    assert "GDPR request 114" in shown.stdout
    assert "Erasures:" in shown.stdout
    new = tmp_path / "new.txt"
    assert run(home, "log", "checkpoint", "-o", str(new)).exit_code == 0
    audit = run(home, "audit", str(old), str(new))
    assert audit.exit_code == 0, audit.output
    check = run(home, "check", "--jobs", "1")
    assert check.exit_code == 0, check.output
    assert "0 problems" in check.stdout
    assert run(home, "erase", "--vacuum").exit_code == 0


def test_a_seller_seals_a_field_appended_to_the_bundle_file(
    home: Path, audiences: Path, tmp_path: Path
) -> None:
    pid = _issue(home, "R-7").stdout.strip()
    assert run(home, "record", "sale", pid, "--as", "boutique", "--owner", "alice").exit_code == 0
    bundle = tmp_path / "bag.dpp"
    assert run(home, "export", pid, "-o", str(bundle)).exit_code == 0
    buyer = pp.SigningKey.generate().public_key.raw.hex()
    resold = run(
        home,
        "record",
        "resale",
        str(bundle),
        "--as",
        "alice",
        "--to-key",
        buyer,
        "--trust",
        str(audiences),
        "--platform",
        "Vestiaire",
        "--seal",
        "platform=authorities",
    )
    assert resold.exit_code == 0, resold.output
    assert b"Vestiaire" not in bundle.read_bytes()
    opened = run(
        home, "verify", str(bundle), "--trust", str(audiences), "--open", "authorities", "--json"
    )
    assert opened.exit_code == 0, opened.output
    restricted = json.loads(opened.stdout)["files"][0]["restricted"]
    assert [(r["seq"], r["field"], r["value"]) for r in restricted] == [
        (2, "platform", "Vestiaire")
    ]
