"""COSE_Sign1 records: RFC 9052 Sig_structure, and every header the format refuses."""

from __future__ import annotations

import cbor2
import pytest

from passport import cose
from passport.errors import DecodeError, SignatureError
from tests.world import key

SIGNER = key("cose-signer")
PAYLOAD = bytes.fromhex("a0")


def test_sig_structure_matches_rfc9052_section_4_4_built_by_hand() -> None:
    record = cose.sign(SIGNER, cose.CT_EVENT, PAYLOAD)
    protected = (
        bytes([0xA3])  # map of 3
        + bytes([0x01, 0x32])  # 1 (alg): -19
        + bytes([0x03, 0x78, len(cose.CT_EVENT)])
        + cose.CT_EVENT.encode()  # 3 (content type)
        + bytes([0x04, 0x58, 0x20])
        + SIGNER.kid  # 4 (kid): 32-byte bstr
    )
    assert record.protected == protected
    sig_structure = (
        bytes([0x84])  # array of 4
        + bytes([0x6A])
        + b"Signature1"  # context
        + bytes([0x58, len(protected)])
        + protected  # body_protected
        + bytes([0x40])  # external_aad: empty bstr
        + bytes([0x41])
        + PAYLOAD  # payload
    )
    assert cose.sig_structure(record.protected, record.payload) == sig_structure
    SIGNER.public_key.verify(record.signature, sig_structure)
    whole = (
        bytes([0xD2, 0x84, 0x58, len(protected)])
        + protected
        + bytes([0xA0, 0x41])
        + PAYLOAD
        + bytes([0x58, 0x40])
        + record.signature
    )
    assert record.raw == whole


def test_round_trip_and_verify() -> None:
    record = cose.sign(SIGNER, cose.CT_CERT, b"\x01")
    parsed = cose.parse(record.raw, content_type=cose.CT_CERT)
    assert parsed == record
    parsed.verify(SIGNER.public_key)


def test_verify_refuses_a_key_other_than_the_named_one() -> None:
    record = cose.sign(SIGNER, cose.CT_EVENT, PAYLOAD)
    with pytest.raises(SignatureError, match="names signer"):
        record.verify(key("someone-else").public_key)


def _record(
    protected: object = None,
    unprotected: object = None,
    payload: object = PAYLOAD,
    *,
    signature: bytes | None = None,
    tag: int = 18,
    extra: tuple[object, ...] = (),
) -> bytes:
    """A COSE_Sign1 with whatever headers, correctly signed unless ``signature`` is given."""
    if protected is None:
        protected = {1: -19, 3: cose.CT_EVENT, 4: SIGNER.kid}
    protected_bytes = protected if isinstance(protected, bytes) else cbor2.dumps(protected)
    if signature is None:
        body = payload if isinstance(payload, bytes) else b""
        signature = SIGNER.sign(cose.sig_structure(protected_bytes, body))
    items = [
        protected_bytes,
        {} if unprotected is None else unprotected,
        payload,
        signature,
        *extra,
    ]
    return cbor2.dumps(cbor2.CBORTag(tag, items))


def test_the_helper_makes_an_acceptable_record() -> None:
    cose.parse(_record(), content_type=cose.CT_EVENT).verify(SIGNER.public_key)


KID = SIGNER.kid
BAD = [
    ("alg-eddsa-8", {1: -8, 3: cose.CT_EVENT, 4: KID}, None, "alg -8 not accepted"),
    ("alg-0", {1: 0, 3: cose.CT_EVENT, 4: KID}, None, "alg 0 not accepted"),
    ("alg-es256", {1: -7, 3: cose.CT_EVENT, 4: KID}, None, "alg -7 not accepted"),
    ("alg-text", {1: "EdDSA", 3: cose.CT_EVENT, 4: KID}, None, "not accepted"),
    ("alg-missing", {3: cose.CT_EVENT, 4: KID}, None, "no alg"),
    (
        "alg-only-unprotected",
        {3: cose.CT_EVENT, 4: KID},
        {1: -19},
        "unprotected header must be empty",
    ),
    ("kid-unprotected", {1: -19, 3: cose.CT_EVENT}, {4: KID}, "unprotected header must be empty"),
    ("crit", {1: -19, 2: [99], 3: cose.CT_EVENT, 4: KID}, None, "critical header"),
    (
        "unknown-param",
        {1: -19, 3: cose.CT_EVENT, 4: KID, 99: 1},
        None,
        "unexpected protected header parameter 99",
    ),
    (
        "iv-param",
        {1: -19, 3: cose.CT_EVENT, 4: KID, 5: b"x"},
        None,
        "unexpected protected header parameter 5",
    ),
    ("wrong-ctype", {1: -19, 3: cose.CT_CERT, 4: KID}, None, "content type"),
    ("ctype-int", {1: -19, 3: 60, 4: KID}, None, "content type"),
    ("kid-short", {1: -19, 3: cose.CT_EVENT, 4: KID[:31]}, None, "32-byte key id"),
    ("kid-text", {1: -19, 3: cose.CT_EVENT, 4: KID.hex()}, None, "32-byte key id"),
    ("unprotected-not-map", None, [1], "unprotected header is not a map"),
    ("protected-not-map", cbor2.dumps([1, -19]), None, "protected header is not a map"),
    (
        "protected-trailing",
        cbor2.dumps({1: -19, 3: cose.CT_EVENT, 4: KID}) + b"\x00",
        None,
        "trailing bytes",
    ),
    ("protected-empty", b"", None, "protected header is empty"),
    (
        "protected-unsorted",
        b"\xa3\x04\x58\x20" + KID + b"\x01\x32\x03\x78\x1e" + cose.CT_EVENT.encode(),
        None,
        "out of deterministic order",
    ),
]


@pytest.mark.parametrize(
    ("protected", "unprotected", "match"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_refused_headers(protected: object, unprotected: object, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        cose.parse(_record(protected, unprotected), content_type=cose.CT_EVENT)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (_record(payload=None), "detached"),
        (_record(payload="text"), "byte strings"),
        (_record(tag=98), "tag 98"),
        (_record(extra=(b"",)), "array of 4"),
        (cbor2.dumps(cbor2.CBORTag(18, [b"", {}, PAYLOAD])), "array of 4"),
        (cbor2.dumps([b"", {}, PAYLOAD, bytes(64)]), "not a COSE_Sign1"),
        (_record(signature=bytes(63)), "64 bytes, got 63"),
        (_record(signature=bytes(65)), "64 bytes, got 65"),
        (_record(signature="sig"), "not a byte string"),  # type: ignore[arg-type]
        (_record() + b"\x00", "trailing bytes"),
        (b"", "empty input"),
    ],
    ids=[
        "nil-payload",
        "text-payload",
        "wrong-tag",
        "five-items",
        "three-items",
        "untagged",
        "sig-63",
        "sig-65",
        "sig-text",
        "trailing",
        "empty",
    ],
)
def test_refused_shapes(data: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        cose.parse(data, content_type=cose.CT_EVENT)


def test_all_zero_signature_parses_but_does_not_verify() -> None:
    record = cose.parse(_record(signature=bytes(64)), content_type=cose.CT_EVENT)
    with pytest.raises(SignatureError):
        record.verify(SIGNER.public_key)


def test_record_size_is_bounded() -> None:
    with pytest.raises(DecodeError, match="more than the limit"):
        cose.parse(_record(payload=b"x" * 70_000), content_type=cose.CT_EVENT)
