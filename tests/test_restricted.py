"""Restricted data in the pure core: sealed fields, boxes, and what a verifier shows of them.

The chain signs salted digests only; a value is shown only once a box sealed to the reader's
key opens to a disclosure whose digest its own event signed. Everything else fails the
``disclosures`` check and shows nothing.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.passport import cbor, schema, sealing, wire
from dpp_ledger.passport.disclose import disclose, parse_disclosure, split
from dpp_ledger.passport.report import Access, Status
from dpp_ledger.passport.sealed import seal_all
from tests.world import DAY, PRODUCT, T0, World, forge, recipient

W = World()
SITE = "Laboratorio Via Maggio 7"
DATA: dict[str, Any] = {
    **PRODUCT,
    "site": SITE,
    "repair_information": "Open the lining at the base seam; spare handles: ref. H-25.",
    "compliance_documents": ["EU DoC MX-2026-114", "REACH Art. 33 statement 2026-02"],
    "substances_of_concern": [{"substance": "lead", "cas": "7439-92-1", "location": "zipper"}],
}
SEAL = {"site": [W.audiences["authorities"]], "repair_information": [W.audiences["repairers"]]}


def _issue(
    data: dict[str, Any] | None = None, kem: pp.Kem = pp.Kem.X25519, **extra: Any
) -> tuple[pp.Event, tuple[pp.Box, ...]]:
    return pp.sign_sealed(
        W.factory, "production", data or DATA, seal_to=SEAL, time=T0, after=None, kem=kem, **extra
    )


def _bundle(events: list[pp.Event], boxes: tuple[pp.Box, ...]) -> pp.Bundle:
    return dataclasses.replace(W.bundle(events), disclosures=boxes)


def _verify(bundle: pp.Bundle | bytes, *keys: pp.RecipientSecret) -> pp.Report:
    raw = pp.bundle_to_bytes(bundle) if isinstance(bundle, pp.Bundle) else bundle
    return pp.verify(raw, W.trust, now=T0 + 30 * DAY, open_with=keys)


def _check(report: pp.Report) -> pp.Check:
    return next(c for c in report.checks if c.name == "disclosures")


def _refused(report: pp.Report, match: str) -> None:
    assert report.outcome is pp.Outcome.INVALID
    assert report.failures[0].name == "disclosures", report.failures
    assert match in report.failures[0].detail, report.failures[0].detail
    assert report.restricted == ()  # nothing is shown, not even the fields' names


# -- sealing -----------------------------------------------------------------------------------


def test_a_sealed_field_leaves_the_signed_payload_for_its_digest() -> None:
    event, boxes = _issue()
    assert "site" not in event.data
    assert "repair_information" not in event.data
    assert SITE.encode() not in event.raw
    assert event.data["sealed"] == sorted(event.data["sealed"])
    assert {bytes.fromhex(d) for d in event.data["sealed"]} == {b.digest for b in boxes}
    assert {(b.field, b.audience) for b in boxes} == {
        ("site", "authorities"),
        ("repair_information", "repairers"),
    }
    assert all(b.event == event.hash for b in boxes)


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("production", PRODUCT, "gtin"),
        ("production", PRODUCT, "serial"),
        ("production", PRODUCT, "brand"),
        ("sale", {"owner": W.alice.kid.hex(), "channel": "boutique"}, "owner"),
        ("resale", {"to": W.bob.kid.hex()}, "to"),
        ("repair", {"work": "new handles"}, "work"),
    ],
    ids=["gtin", "serial", "brand", "owner", "new-owner", "required-repair-work"],
)
def test_a_field_that_may_not_be_sealed_is_refused(
    kind: str, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(pp.SchemaError, match=f"{field}' may not be sealed"):
        split(kind, data, [field])


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({k: v for k, v in PRODUCT.items() if k != "site"}, "has no field 'site'"),
        ({**PRODUCT, "sealed": ["00" * 32]}, "'sealed' is written by sealing"),
        ({**PRODUCT, "site": "line\nbreak"}, "site"),
    ],
    ids=["absent", "sealed-given", "invalid-value"],
)
def test_what_cannot_be_sealed_is_refused_before_signing(data: dict[str, Any], match: str) -> None:
    with pytest.raises(pp.SchemaError, match=match):
        split("production", data, ["site"])


def test_a_hybrid_box_needs_a_hybrid_key_and_nothing_is_signed_without_one() -> None:
    classic = pp.RecipientSecret.generate(hybrid=False)
    audience = pp.Audience.of("authorities", [classic.public_key])
    with pytest.raises(pp.InvalidKeyError, match="X25519 only"):
        pp.sign_sealed(
            W.factory,
            "production",
            DATA,
            seal_to={"site": [audience]},
            time=T0,
            after=None,
            kem=pp.Kem.MLKEM768_X25519,
        )


# -- verifying ---------------------------------------------------------------------------------


def test_without_a_key_the_report_names_each_restricted_field_and_its_audience() -> None:
    event, boxes = _issue()
    report = _verify(_bundle([event], boxes))
    assert report.outcome is pp.Outcome.VALID, report.failures
    assert _check(report).status is Status.PASS
    assert {(r.field, r.audiences, r.access) for r in report.restricted} == {
        ("site", ("authorities",), Access.RESTRICTED),
        ("repair_information", ("repairers",), Access.RESTRICTED),
    }
    assert all(r.value is None for r in report.restricted)
    assert SITE not in str(report.to_dict())


@pytest.mark.parametrize("kem", list(pp.Kem))
def test_a_key_opens_its_audience_values_verified_against_the_signed_digest(kem: pp.Kem) -> None:
    event, boxes = _issue(kem=kem)
    assert {b.kem for b in boxes} == {kem}
    report = _verify(_bundle([event], boxes), W.authority)
    assert report.outcome is pp.Outcome.VALID, report.failures
    shown = {r.field: (r.access, r.value) for r in report.restricted}
    assert shown == {
        "site": (Access.VERIFIED, SITE),
        "repair_information": (Access.RESTRICTED, None),
    }
    assert {r.get("value") for r in report.to_dict()["restricted"]} == {SITE, None}


def test_a_key_with_no_box_here_is_said_so_and_shows_nothing() -> None:
    event, boxes = _issue()
    report = _verify(_bundle([event], boxes), recipient("stranger"))
    assert report.outcome is pp.Outcome.VALID
    assert "no box here is sealed to" in _check(report).detail
    assert all(r.access is Access.RESTRICTED for r in report.restricted)


def test_a_passport_without_restricted_data_skips_the_step() -> None:
    report = _verify(W.bundle(W.sold()))
    assert _check(report).status is Status.SKIP
    assert report.restricted == ()


def test_once_erased_the_digests_remain_and_the_chain_still_verifies() -> None:
    event, boxes = _issue()
    kept = tuple(b for b in boxes if b.field != "site")
    report = _verify(_bundle([event], kept), W.authority, W.repair_shop)
    assert report.outcome is pp.Outcome.VALID, report.failures
    access = sorted((r.field or "-", r.access) for r in report.restricted)
    assert access == [("-", Access.ERASED), ("repair_information", Access.VERIFIED)]


# -- tampering: never a shown value ------------------------------------------------------------


def test_one_changed_byte_of_a_box_is_a_failed_check() -> None:
    event, boxes = _issue()
    first = boxes[0]
    bad = dataclasses.replace(first, ct=first.ct[:-1] + bytes([first.ct[-1] ^ 1]))
    report = _verify(_bundle([event], (bad, *boxes[1:])), W.authority, W.repair_shop)
    _refused(report, "does not open")


def test_a_box_moved_to_another_event_is_a_failed_check() -> None:
    made, boxes = _issue()
    sale, price = pp.sign_sealed(
        W.boutique,
        "sale",
        {
            "owner": W.alice.kid.hex(),
            "channel": "boutique",
            "price": {"amount": 1, "currency": "EUR"},
        },
        seal_to={"price": [W.audiences["authorities"]]},
        time=T0 + DAY,
        after=made,
    )
    swapped = tuple(dataclasses.replace(b, event=sale.hash) for b in boxes if b.field == "site")
    _refused(_verify(_bundle([made, sale], (*swapped, *price))), "names a digest it does not sign")
    # Even with the digest relabelled to one the sale signs, the box no longer opens there.
    relabelled = tuple(dataclasses.replace(b, digest=price[0].digest) for b in swapped)
    report = _verify(_bundle([made, sale], (*relabelled, *boxes[1:])), W.authority)
    assert report.outcome is pp.Outcome.INVALID
    assert not [r for r in report.restricted if r.access is Access.VERIFIED]


def test_a_disclosure_replayed_from_another_item_is_never_shown() -> None:
    event, boxes = _issue()
    other, theirs = _issue({**DATA, "serial": "MX-000999"})
    stolen = sealing.open_box(next(b for b in theirs if b.field == "site"), W.authority)
    rest = tuple(b for b in boxes if b.field != "site")
    # Sealed afresh to this event, honestly labelled: this event signs another digest.
    honest = sealing.seal(
        stolen,
        event=event.hash,
        audience="authorities",
        recipient=W.authority.public_key,
        kem=pp.Kem.X25519,
    )
    _refused(_verify(_bundle([event], (honest, *rest)), W.authority), "does not sign")
    # Labelled with this event's own digest, so that it opens here: its contents do not match.
    signed = next(b.digest for b in boxes if b.field == "site")
    ct = sealing._SUITES[pp.Kem.X25519].encrypt(
        stolen.raw,
        W.authority.public_key.kem_key(pp.Kem.X25519),
        info=sealing.info(event.hash, signed, "site", "authorities"),
    )
    forged = dataclasses.replace(honest, digest=signed, ct=ct)
    _refused(_verify(_bundle([event], (forged, *rest)), W.authority), "holds another disclosure")
    assert other.hash != event.hash


def test_a_box_for_an_event_not_in_the_bundle_is_a_failed_check() -> None:
    event, boxes = _issue()
    stray = dataclasses.replace(boxes[0], event=bytes(32))
    _refused(_verify(_bundle([event], (stray,))), "not in this bundle")


def test_a_box_for_a_field_given_in_clear_is_a_failed_check() -> None:
    event, boxes = _issue()
    payload = {**event.data, "site": "Atelier Firenze"}
    clear = wire.parse_event(forge(W.factory, seq=0, type="production", time=T0, data=payload))
    moved = tuple(dataclasses.replace(b, event=clear.hash) for b in boxes)
    _refused(_verify(_bundle([clear], moved)), "cannot seal")


def test_a_relabelled_box_does_not_open() -> None:
    event, boxes = _issue()
    site = next(b for b in boxes if b.field == "site")
    relabelled = dataclasses.replace(site, field="repair_information")
    _refused(_verify(_bundle([event], (relabelled,)), W.authority), "does not open")


def test_a_box_to_a_key_the_brand_does_not_publish_is_a_warning() -> None:
    rogue = pp.Audience.of("authorities", [recipient("rogue").public_key])
    made, boxes = pp.sign_sealed(
        W.factory, "production", DATA, seal_to={"site": [rogue]}, time=T0, after=None
    )
    report = _verify(_bundle([made], boxes))
    assert report.outcome is pp.Outcome.WARNINGS
    assert "does not publish for authorities" in _check(report).detail


# -- bytes -------------------------------------------------------------------------------------


def test_a_bundle_with_boxes_round_trips_and_one_without_keeps_its_old_bytes() -> None:
    event, boxes = _issue()
    bundle = _bundle([event], boxes)
    again = wire.parse_bundle(pp.bundle_to_bytes(bundle))
    assert set(again.disclosures) == set(boxes)
    plain = W.bundle(W.sold())
    assert b"disclosures" not in pp.bundle_to_bytes(plain)


@pytest.mark.parametrize(
    ("disclosures", "match"),
    [
        ([], "must be a map"),
        ({b"x": []}, "32-byte event hashes"),
        ({bytes(32): []}, "needs 1 to 256 boxes"),
        ({bytes(32): [{"kem": "x25519"}]}, "a box is a map of"),
    ],
    ids=["not-a-map", "short-key", "empty-list", "missing-fields"],
)
def test_malformed_disclosures_are_refused_when_decoding(disclosures: object, match: str) -> None:
    event, _ = _issue()
    raw = cbor.decode(pp.bundle_to_bytes(W.bundle([event])))
    assert isinstance(raw, dict)
    report = _verify(cbor.encode({**raw, "disclosures": disclosures}))
    assert report.failures[0].name == "decoding"
    assert match in report.failures[0].detail


def _box_map(box: pp.Box, **changes: object) -> dict[str, object]:
    fields: dict[str, object] = {
        "audience": box.audience,
        "ct": box.ct,
        "digest": box.digest,
        "field": box.field,
        "kem": str(box.kem),
        "kid": box.kid,
    }
    return {**fields, **changes}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"kem": "rsa"}, "unknown KEM"),
        ({"field": "Site!"}, "field name"),
        ({"audience": ""}, "audience name"),
        ({"kid": b"short"}, "kid must be 32 bytes"),
        ({"ct": b"\x00" * 40}, "ciphertext"),
        ({"extra": 1}, "a box is a map of"),
    ],
    ids=["kem", "field", "audience", "kid", "ct-too-short", "unknown-key"],
)
def test_a_malformed_box_is_refused_when_decoding(changes: dict[str, object], match: str) -> None:
    event, boxes = _issue()
    raw = cbor.decode(pp.bundle_to_bytes(W.bundle([event])))
    assert isinstance(raw, dict)
    bad = {**raw, "disclosures": {event.hash: [_box_map(boxes[0], **changes)]}}
    report = _verify(cbor.encode(bad))
    assert report.failures[0].name == "decoding", report.failures
    assert match in report.failures[0].detail


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (cbor.encode([bytes(15), "site", "x"]), "salt must be 16 bytes"),
        (cbor.encode([bytes(16), "site"]), "expected the array"),
        (cbor.encode({"site": "x"}), "expected the array"),
        (cbor.encode([bytes(16), "", "x"]), "field name"),
        (cbor.encode([bytes(16), "site", b"bytes"]), "not JSON data"),
        (bytes.fromhex("8350") + bytes(16) + bytes.fromhex("6473697465f93c00"), "floating"),
        (cbor.encode([bytes(16), "site", "x"]) + b"\x00", "trailing"),
    ],
    ids=["salt", "short", "map", "empty-field", "bytes-value", "float", "trailing"],
)
def test_a_malformed_disclosure_is_refused(data: bytes, match: str) -> None:
    with pytest.raises(pp.DecodeError, match=match):
        parse_disclosure(data)


def test_the_same_disclosure_bytes_always_give_the_same_digest() -> None:
    item = disclose("site", "Atelier Firenze", salt=bytes(range(16)))
    again = parse_disclosure(item.raw)
    assert (again.digest, again.field, again.value) == (item.digest, "site", "Atelier Firenze")
    assert item.raw == cbor.encode([bytes(range(16)), "site", "Atelier Firenze"])


def test_seal_all_refuses_a_field_without_an_audience() -> None:
    event, _ = _issue()
    _, disclosures = split("production", DATA, ["site"])
    with pytest.raises(pp.DisclosureError, match="sealed to no audience"):
        seal_all(event, disclosures, {})


@pytest.mark.parametrize("kind", [str(t) for t in pp.EventType])
def test_each_schema_lets_only_optional_fields_it_defines_be_sealed(kind: str) -> None:
    document = schema.schema(kind)
    sealable = set(schema.sealable(kind))
    assert sealable <= set(document["properties"]) - {"sealed"}
    assert not sealable & set(document.get("required", ()))
    assert ("sealed" in document["properties"]) == bool(sealable)
    assert not sealable & {"gtin", "serial", "owner", "to"}
