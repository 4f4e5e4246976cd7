"""JSON Schemas of event data and the trust store: valid schemas, strict, and no personal data."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest
from jsonschema import Draft202012Validator

import dpp_ledger.passport as pp
from dpp_ledger.passport import schema
from dpp_ledger.passport.events import EventType
from tests.world import GTIN, PRODUCT, T0, World

W = World()
FILES = {
    p.name: json.loads(p.read_text())
    for p in resources.files("schemas").iterdir()
    if p.name.endswith(".json") and p.name != "countries.json"  # a data table, not a schema
}


def test_the_countries_table_names_every_code_once() -> None:
    names = json.loads(resources.files("schemas").joinpath("countries.json").read_text())
    assert len(names["names"]) == 249
    assert names["names"]["IT"] == "Italy"
    assert all(len(code) == 2 and code.isupper() for code in names["names"])


PERSONAL = {
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "birth",
    "customer",
    "buyer",
    "invoice",
    "iban",
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_each_schema_is_valid_draft_2020_12(name: str) -> None:
    Draft202012Validator.check_schema(FILES[name])
    assert FILES[name]["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_event_type_has_a_schema() -> None:
    assert {f"{t}.json" for t in EventType} <= set(FILES)


def _objects(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        if node.get("type") == "object":
            found.append(node)
        for value in node.values():
            found += _objects(value)
    elif isinstance(node, list):
        for value in node:
            found += _objects(value)
    return found


@pytest.mark.parametrize("name", sorted(FILES))
def test_objects_are_closed_and_name_no_personal_data(name: str) -> None:
    for obj in _objects(FILES[name]):
        assert obj.get("additionalProperties") is False, obj
        if name != "truststore.json":
            assert not PERSONAL & set(obj.get("properties", {})), obj


def _sign(type: str, data: dict[str, Any]) -> None:
    after = None if type == "production" else W.issue()[0]
    pp.sign_event(W.factory, type, data, time=T0 + 10, after=after)


@pytest.mark.parametrize(
    ("type", "data", "match"),
    [
        ("production", {**PRODUCT, "gtin": GTIN[:-1] + "0"}, "wrong check digit"),
        ("production", {**PRODUCT, "gtin": "123"}, "does not fit: expected"),
        ("production", {**PRODUCT, "serial": "A B"}, "does not fit: expected"),
        ("production", {**PRODUCT, "serial": "X" * 21}, "does not fit: expected"),
        ("production", {**PRODUCT, "made_on": "2025-02-30"}, "not a calendar date"),
        ("production", {**PRODUCT, "materials": [{"material": "gold", "share": 101}]}, "maximum"),
        (
            "production",
            {
                **PRODUCT,
                "materials": [{"material": "a", "share": 60}, {"material": "b", "share": 60}],
            },
            "add up to 120%",
        ),
        ("production", {**PRODUCT, "recycled_content": 10.5}, "floating-point"),
        ("production", {**PRODUCT, "made_in": "Italy"}, "does not fit: expected"),
        ("production", {"serial": "A1"}, "'gtin' is a required property"),
        ("production", {**PRODUCT, "model": "line\nbreak"}, "does not fit: expected"),
        (
            "sale",
            {"owner": "ab" * 32, "channel": "boutique", "customer_email": "x@y.z"},
            "Additional properties",
        ),
        ("sale", {"owner": "AB" * 32, "channel": "boutique"}, "does not fit: expected"),
        ("sale", {"owner": "ab" * 32, "channel": "street"}, "is not one of"),
        ("sale", {"owner": "ab" * 32}, "'channel' is a required property"),
        ("resale", {"to": "ab" * 32, "price": {"amount": -1, "currency": "EUR"}}, "minimum"),
        (
            "resale",
            {"to": "ab" * 32, "price": {"amount": 100, "currency": "euro"}},
            "does not fit: expected ISO 4217 code",
        ),
        ("authentication", {"verdict": "maybe"}, "is not one of"),
        ("end_of_life", {}, "'fate' is a required property"),
        ("repair", {"work": "x" * 2001}, "too long"),
        ("stolen", {"reporter": "Bob"}, "Additional properties"),
        ("stolen", {"reference": None}, "not of type"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else None,
)
def test_signing_refuses_data_outside_the_schema(
    type: str, data: dict[str, Any], match: str
) -> None:
    with pytest.raises(pp.SchemaError, match=match):
        _sign(type, data)


def test_signing_refuses_bad_times_and_positions() -> None:
    with pytest.raises(pp.SchemaError, match="Unix seconds"):
        pp.issue(W.factory, PRODUCT, time=-1)
    with pytest.raises(pp.SchemaError, match="Unix seconds"):
        pp.issue(W.factory, PRODUCT, time=253402300800)
    first = W.issue()[0]
    with pytest.raises(pp.SchemaError, match="before the previous"):
        pp.sign_event(W.boutique, "stolen", {}, time=first.time - 1, after=first)
    with pytest.raises(pp.SchemaError, match="exactly one production"):
        pp.sign_event(W.factory, "production", PRODUCT, time=T0, after=first)
    with pytest.raises(pp.SchemaError, match="exactly one production"):
        pp.sign_event(W.boutique, "stolen", {}, time=T0, after=None)
    with pytest.raises(pp.SchemaError, match="unknown event type"):
        pp.sign_event(W.boutique, "gift", {}, time=T0, after=first)


def test_missing_product_fields_names_what_espr_expects() -> None:
    assert schema.missing_product_fields(PRODUCT) == ()
    assert "materials" in schema.missing_product_fields({"gtin": GTIN, "serial": "1"})


@pytest.mark.parametrize(
    ("role", "types", "match"),
    [
        ("retailer", ["production"], "may sign only"),
        ("king", None, "not a valid Role"),
        ("factory", ["teleport"], "not a valid EventType"),
        ("factory", [], "may sign only"),
    ],
)
def test_delegation_refuses_what_a_role_may_not_hold(
    role: str, types: list[str] | None, match: str
) -> None:
    with pytest.raises(pp.SchemaError, match=match):
        pp.delegate(
            W.brand, W.boutique.public_key, name="x", role=role, types=types, nbf=T0, exp=T0 + 1
        )


def test_delegation_refuses_an_empty_window_and_self_delegation() -> None:
    with pytest.raises(pp.SchemaError, match="ends before it starts"):
        pp.delegate(W.brand, W.boutique.public_key, name="x", role="retailer", nbf=T0, exp=T0)
    with pytest.raises(pp.AuthorityError, match="itself"):
        pp.delegate(W.brand, W.brand.public_key, name="x", role="retailer", nbf=T0, exp=T0 + 1)


# -- trust store ---------------------------------------------------------------------------


def test_trust_store_round_trip() -> None:
    text = W.trust.to_json()
    again = pp.TrustStore.from_json(text)
    assert again == W.trust
    assert again.root(W.brand.kid).brand == "Maison Example"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "is not JSON \\(expecting value on line 1\\)"),
        ("[]", "is not of type 'object'"),
        (
            '{"v": 1, "roots": [{"brand": "X", "key": "00", "gs1_prefixes": ["1234"]}]}',
            "does not fit: expected Raw Ed25519 public key, lowercase hex",
        ),
        (
            '{"v": 1, "roots": [{"brand": "X", "key": "'
            + "01"
            + "00" * 31
            + '", "gs1_prefixes": ["1234"]}]}',
            "small order",
        ),
        (
            '{"v": 1, "roots": [{"brand": "X", "key": "' + "ab" * 32 + '", "gs1_prefixes": []}]}',
            "should be non-empty|too short",
        ),
        ('{"v": 2, "roots": []}', "1 was expected"),
    ],
    ids=["empty", "array", "short-key", "small-order", "no-prefix", "version"],
)
def test_bad_trust_stores(text: str, match: str) -> None:
    with pytest.raises(pp.TrustError, match=match):
        pp.TrustStore.from_json(text)


def test_a_root_listed_twice_is_refused() -> None:
    doubled = json.loads(W.trust.to_json())
    doubled["roots"].append(doubled["roots"][0])
    with pytest.raises(pp.TrustError, match="listed twice"):
        pp.TrustStore.from_json(json.dumps(doubled))
