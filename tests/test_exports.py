"""EPCIS 2.0 and UNTP exports: golden files, the official schemas, and what the mapping promises.

The schemas are the standards bodies' own, checked into tests/vectors/standards/ (see each
SOURCE.md): GS1's EPCIS 2.0 JSON Schema (draft-07) and UN/CEFACT's UNTP DPP 0.6.1 schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker

import dpp_ledger.passport as pp
from dpp_ledger.passport import epcis, untp
from dpp_ledger.passport.epcis import MAPPING, Step, step_for
from dpp_ledger.passport.uris import did_key, item_uri, ni_sha256, passport_urn
from tests.vectors import exports
from tests.world import PRODUCT, T0, World, forge, raw_bundle

STANDARDS = Path(__file__).with_name("vectors") / "standards"
EPCIS_SCHEMA = json.loads((STANDARDS / "epcis" / "EPCIS-JSON-Schema.json").read_text())
UNTP_SCHEMA = json.loads((STANDARDS / "untp" / "untp-dpp-schema.json").read_text())
UNTP_SAMPLE = json.loads((STANDARDS / "untp" / "untp-dpp-instance.json").read_text())
BUILT = exports.build()
W = World()
LIFE = exports.life(W)
BUNDLE = W.bundle(LIFE)
REPORT = W.verify(BUNDLE)
ROOT = W.trust.root(W.brand.kid)


def _formats() -> FormatChecker:
    """A format checker that really checks URIs and times: without the libraries it would not."""
    checker = FormatChecker()
    assert not checker.conforms("not a uri", "uri"), "install rfc3986-validator (test extra)"
    assert not checker.conforms("2026-13-01T00:00:00Z", "date-time"), "install rfc3339-validator"
    return checker


EPCIS_VALIDATOR = Draft7Validator(EPCIS_SCHEMA, format_checker=_formats())
UNTP_VALIDATOR = Draft202012Validator(UNTP_SCHEMA, format_checker=_formats())


def _errors(validator: Draft7Validator | Draft202012Validator, document: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:200]}" for e in validator.iter_errors(document)]


@pytest.mark.parametrize("name", sorted(BUILT))
def test_golden_export_is_reproduced_byte_for_byte(name: str) -> None:
    assert (exports.HERE / name).read_text(encoding="utf-8") == exports.text(BUILT[name]), (
        "mapping drift: rerun python -m tests.vectors.exports only for a deliberate change"
    )


def test_epcis_export_is_valid_against_gs1_official_schema() -> None:
    document = json.loads((exports.HERE / "life.epcis.jsonld").read_text())
    assert _errors(EPCIS_VALIDATOR, document) == []


def test_untp_export_is_valid_against_uncefact_official_schema() -> None:
    credential = json.loads((exports.HERE / "life.untp.json").read_text())
    assert _errors(UNTP_VALIDATOR, credential) == []
    assert _errors(UNTP_VALIDATOR, UNTP_SAMPLE) == []  # the validator accepts UN/CEFACT's own


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda e: e.update(bizStep="selling"), "not a CBV business step nor a URI"),
        (lambda e: e.update(disposition="urn:epcglobal:cbv:disp:sold"), "CBV names in JSON"),
        (lambda e: e.update(eventTime="2026-01-01 00:00"), "not a date-time"),
        (lambda e: e.update(dpp_seq=1), "an extension without a namespace"),
        (lambda e: e.pop("action"), "no action"),
        (lambda e: e.update(epcList=["not a uri"]), "an EPC that is no URI"),
    ],
    ids=["bizStep", "disposition-urn", "eventTime", "extension", "action", "epc"],
)
def test_the_epcis_schema_check_bites(change: Any, why: str) -> None:
    document = json.loads(exports.text(BUILT["life.epcis.jsonld"]))
    change(document["epcisBody"]["eventList"][1])
    assert _errors(EPCIS_VALIDATOR, document), why


@pytest.mark.parametrize(
    "path",
    [("issuer",), ("@context",), ("credentialSubject", "product", "name"), ("id",)],
    ids=".".join,
)
def test_the_untp_schema_check_bites(path: tuple[str, ...]) -> None:
    credential = json.loads(exports.text(BUILT["life.untp.json"]))
    *parents, last = path
    holder = credential
    for key in parents:
        holder = holder[key]
    if last == "@context":
        holder[last] = [untp.VC_CONTEXT, "https://test.uncefact.org/vocabulary/untp/dpp/0.5.0/"]
    else:
        holder.pop(last)
    assert _errors(UNTP_VALIDATOR, credential)


def test_one_epcis_event_per_passport_event_each_naming_its_signed_original() -> None:
    events = BUILT["life.epcis.jsonld"]["epcisBody"]["eventList"]
    assert len(events) == len(LIFE) == 9
    for event, original in zip(events, LIFE, strict=True):
        assert event["type"] == "ObjectEvent"
        assert event["epcList"] == ["https://id.gs1.org/01/03614270000423/21/MX-000123"]
        assert event["eventID"] == ni_sha256(original.hash)
        assert event["dpp:eventHash"] == original.hash.hex()
        assert event["dpp:passportId"] == LIFE[0].hash.hex()
        assert event["dpp:seq"] == original.seq
    steps = [(e["action"], e.get("bizStep"), e.get("disposition")) for e in events]
    assert steps == [
        ("ADD", "commissioning", "active"),
        ("OBSERVE", "shipping", "in_transit"),
        ("OBSERVE", "retail_selling", "retail_sold"),
        ("OBSERVE", "repairing", "available"),
        ("OBSERVE", "inspecting", "conformant"),
        ("OBSERVE", "accepting", None),
        ("OBSERVE", None, "stolen"),
        ("OBSERVE", None, "available"),
        ("DELETE", "decommissioning", "disposed"),
    ]
    assert events[6]["persistentDisposition"] == {"set": ["stolen"]}
    assert events[7]["persistentDisposition"] == {"unset": ["stolen"]}


def test_every_step_is_a_cbv_2_standard_value() -> None:
    definitions = EPCIS_SCHEMA["definitions"]
    biz_steps = set(definitions["bizStep"]["anyOf"][1]["enum"])
    dispositions = set(definitions["disposition"]["anyOf"][1]["enum"])
    steps = [*MAPPING.values(), *epcis._FATES.values()]
    assert {s.biz_step for s in steps} - {None} <= biz_steps
    assert {s.disposition for s in steps} - {None} <= dispositions
    assert {s.action for s in steps} <= {"ADD", "OBSERVE", "DELETE"}


@pytest.mark.parametrize(
    ("type", "data", "step"),
    [
        ("authentication", {"verdict": "genuine"}, Step("OBSERVE", "inspecting", "conformant")),
        (
            "authentication",
            {"verdict": "not_genuine"},
            Step("OBSERVE", "inspecting", "non_conformant"),
        ),
        ("authentication", {"verdict": "inconclusive"}, Step("OBSERVE", "inspecting", None)),
        ("end_of_life", {"fate": "destroyed"}, Step("DELETE", "destroying", "destroyed")),
        ("end_of_life", {"fate": "recycled"}, Step("DELETE", "decommissioning", "disposed")),
        ("end_of_life", {"fate": "upcycled"}, Step("DELETE", "decommissioning", "inactive")),
    ],
)
def test_the_data_refines_the_step(type: str, data: dict[str, Any], step: Step) -> None:
    event = pp.parse_event(
        forge(W.bob, seq=1, type=type, time=T0, data=data, pid=b"\1" * 32, prev=b"\2" * 32)
    )
    assert step_for(event) == step


def test_owners_are_key_fingerprints_and_nothing_a_person_typed_is_copied() -> None:
    text = exports.text(BUILT["life.epcis.jsonld"]) + exports.text(BUILT["life.untp.json"])
    for person in (W.alice, W.bob):
        assert person.public_key.raw.hex() not in text
        assert ni_sha256(person.kid) in text  # the owning party: the key's fingerprint
    for typed in ("PP-2026-0042", "Resell", "new handles", "Recyclerie", "end of season"):
        assert typed not in text
    sale = BUILT["life.epcis.jsonld"]["epcisBody"]["eventList"][2]
    assert sale["sourceList"] == [{"type": "owning_party", "source": ni_sha256(W.brand.kid)}]
    assert sale["destinationList"] == [
        {"type": "owning_party", "destination": ni_sha256(W.alice.kid)}
    ]


def test_the_credential_maps_the_production_data_and_links_the_epcis_events() -> None:
    credential = BUILT["life.untp.json"]
    assert credential["issuer"]["id"] == did_key(W.brand.public_key.raw)
    subject = credential["credentialSubject"]
    assert subject["id"] == passport_urn(LIFE[0].pid)
    product = subject["product"]
    assert product["id"] == item_uri(PRODUCT["gtin"], PRODUCT["serial"])
    assert (product["registeredId"], product["serialNumber"]) == (
        PRODUCT["gtin"],
        PRODUCT["serial"],
    )
    assert (product["productionDate"], product["countryOfProduction"]) == ("2025-12-15", "IT")
    assert [
        (m["name"], m["massFraction"], m["originCountry"]) for m in subject["materialsProvenance"]
    ] == [("calf leather", 0.85, "FR"), ("brass", 0.15, "IT")]
    circularity = subject["circularityScorecard"]
    assert circularity["recycledContent"] == 0.1
    assert circularity["repairabilityScore"] == 80
    assert "spare parts for 15 years" in circularity["repairInformation"]["linkName"]
    links = subject["traceabilityInformation"][0]["traceabilityEvent"]
    event_ids = [e["eventID"] for e in BUILT["life.epcis.jsonld"]["epcisBody"]["eventList"]]
    assert [link["linkURL"] for link in links] == event_ids
    assert [link["hashDigest"] for link in links] == [e.hash.hex() for e in LIFE]


def test_an_unverified_passport_is_never_exported() -> None:
    flipped = bytearray(LIFE[-1].raw)
    flipped[-1] ^= 1
    certs = [c.record.raw for c in W.certs.values()]
    keys = [W.alice.public_key.raw, W.bob.public_key.raw]
    tampered = raw_bundle([e.raw for e in LIFE[:-1]] + [bytes(flipped)], certs, keys)
    report = pp.verify(tampered, W.trust, now=T0 + 10**8)
    bundle = pp.parse_bundle(tampered)
    with pytest.raises(pp.SignatureError, match="event 8"):
        epcis.epcis_document(bundle, report, created=T0)
    assert ROOT is not None
    with pytest.raises(pp.SignatureError):
        untp.credential(bundle, report, ROOT, issued=T0)
    shorter = W.bundle(LIFE[:3])  # a valid report of another bundle is no report of this one
    with pytest.raises(pp.ChainError, match="not a verification of this bundle"):
        epcis.epcis_document(shorter, REPORT, created=T0)
    rival = W.trust.root(W.rival.kid)
    assert rival is not None
    with pytest.raises(pp.TrustError, match="did not issue"):
        untp.credential(BUNDLE, REPORT, rival, issued=T0)


def test_identifiers_follow_their_standards() -> None:
    # RFC 6920 section 3: ni names by base64url SHA-256, unpadded.
    assert ni_sha256(bytes(32)) == "ni:///sha-256;" + "A" * 43
    # The did:key method's own Ed25519 example: the key B12NYF8R… (base58) is this DID.
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    number = 0
    for char in "B12NYF8RrR3h41TDCTJojY59usg3mbtbjnFs7Eud1Y6u":
        number = number * 58 + alphabet.index(char)
    assert did_key(number.to_bytes(32, "big")) == (
        "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH"
    )
