"""COSE_Sign1 records: RFC 9052 Sig_structure, and every header the format refuses."""

from __future__ import annotations

from collections.abc import Callable

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpp_ledger.passport import cose
from dpp_ledger.passport.errors import DecodeError, SignatureError
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


def _outcome(parse: Callable[[bytes], cose.Sign1], data: bytes) -> object:
    try:
        return parse(data)
    except DecodeError as exc:
        return str(exc)


# Payload sizes on both sides of every CBOR length-head boundary a record can meet.
_SIZES = st.sampled_from([0, 1, 23, 24, 255, 256, 300, 65_535 - 200, 65_536])


def _head(size: int, form: int) -> bytes:
    """A byte-string head for ``size``: form 0 is the shortest, 1-3 use 1, 2 or 4 length bytes."""
    if form == 0:
        return cbor2.dumps(b"\x00" * size)[: -size or None]
    width = (1, 2, 4)[form - 1]
    return bytes([0x57 + form]) + (size % (1 << 8 * width)).to_bytes(width, "big")


@given(_SIZES, st.integers(0, 3), st.integers(0, 3), st.data())
def test_the_record_fast_path_answers_as_the_generic_decoder_does(
    size: int, protected_form: int, payload_form: int, data: st.DataObject
) -> None:
    # parse() reads the one layout records are written in by hand; _parse_generic is the
    # strict decoder. Any bytes near a real record, with any length heads, get the same
    # record or the same error from both.
    record = cose.sign(SIGNER, cose.CT_EVENT, b"\x00" * size)
    encoded = bytearray(
        b"\xd2\x84"
        + _head(len(record.protected), protected_form)
        + record.protected
        + b"\xa0"
        + _head(size, payload_form)
        + record.payload
        + b"\x58\x40"
        + record.signature
    )
    for _ in range(data.draw(st.integers(0, 2))):
        action = data.draw(st.sampled_from(["set", "cut", "add"]))
        position = data.draw(st.integers(0, len(encoded) - 1))
        if action == "set":
            heads = st.sampled_from([0x40, 0x57, 0x58, 0x59, 0x5A, 0x5F, 0x84, 0xA0, 0xD2])
            encoded[position] = data.draw(heads | st.integers(0, 255))
        elif action == "cut":
            del encoded[max(position, 1) :]
        else:
            encoded[position:position] = data.draw(st.binary(min_size=1, max_size=3))
    raw = bytes(encoded)

    def generic(d: bytes) -> cose.Sign1:
        return cose._parse_generic(d, cose.CT_EVENT, "record", cose.MAX_RECORD_SIZE)

    def fast(d: bytes) -> cose.Sign1:
        return cose.parse(d, content_type=cose.CT_EVENT)

    assert _outcome(fast, raw) == _outcome(generic, raw), raw[:16].hex()


@pytest.mark.parametrize("size", [0, 23, 24, 255, 256, 65_535 - 200])
def test_records_of_every_length_head_take_the_fast_path(size: int) -> None:
    record = cose.sign(SIGNER, cose.CT_EVENT, b"\x01" * size)
    assert cose._split(record.raw) == (record.protected, record.payload, record.signature)
    assert cose.parse(record.raw, content_type=cose.CT_EVENT) == record
