"""COSE_Sign1 (RFC 9052) with Ed25519, as the project uses it for every signed record.

Protected header: ``{1: -19, 3: content type, 4: kid}``; unprotected header empty and never
read; payload embedded. The algorithm is taken from the protected header only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Final

from . import cbor
from .errors import DecodeError, SignatureError
from .keys import KID_SIZE, SIGNATURE_SIZE, PublicKey, SigningKey

COSE_SIGN1_TAG: Final = 18
_SIGN1_FIRST_BYTE: Final = bytes([0xC0 | COSE_SIGN1_TAG])  # tag 18 in the initial byte
ALG_ED25519: Final = -19  # RFC 9864 fully specified Ed25519
HEADER_ALG: Final = 1
HEADER_CRIT: Final = 2
HEADER_CONTENT_TYPE: Final = 3
HEADER_KID: Final = 4
HEADER_TYP: Final = 16  # RFC 9596: the media type of the whole COSE object

CT_EVENT: Final = "application/vnd.dpp.event+cbor"
CT_CERT: Final = "application/vnd.dpp.cert+cbor"
CT_REVOCATIONS: Final = "application/vnd.dpp.revocations+cbor"

MAX_RECORD_SIZE: Final = 64 * 1024


@dataclass(frozen=True)
class Sign1:
    """A parsed COSE_Sign1 record, holding its exact bytes (``raw``) for hashing and storage."""

    raw: bytes
    protected: bytes
    kid: bytes
    content_type: str
    payload: bytes
    signature: bytes

    @cached_property
    def digest(self) -> bytes:
        """SHA-256 of the record's exact bytes (computed once: certificates recur per bundle)."""
        return hashlib.sha256(self.raw).digest()

    def verify(self, key: PublicKey) -> None:
        """Check the signature under ``key``, which must be the key the header names.

        Raises:
            SignatureError: the key is not the one named by the kid, or the signature fails.
        """
        if key.kid != self.kid:
            raise SignatureError(
                f"record names signer {self.kid.hex()[:16]}…, key given is {key.kid_hex[:16]}…"
            )
        key.verify(self.signature, sig_structure(self.protected, self.payload))


def sig_structure(protected: bytes, payload: bytes) -> bytes:
    """The bytes Ed25519 signs: ``["Signature1", protected, h'', payload]`` (RFC 9052 §4.4)."""
    return cbor.encode_checked(["Signature1", bytes(protected), b"", bytes(payload)])


def sign(key: SigningKey, content_type: str, payload: bytes, *, typ: str | None = None) -> Sign1:
    """Sign ``payload`` (deterministic CBOR, or what ``content_type`` says) as a COSE_Sign1.

    ``typ``, when given, is put in the protected header (RFC 9596), as W3C VC-JOSE-COSE asks.
    """
    protected = _protected_header(key.kid, content_type, typ)
    signature = key.sign(sig_structure(protected, payload))
    raw = cbor.encode_checked(cbor.Tag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))
    return Sign1(raw, protected, key.kid, content_type, payload, signature)


@lru_cache(maxsize=1024)
def _protected_header(kid: bytes, content_type: str, typ: str | None = None) -> bytes:
    # Keys in deterministic order (1, 3, 4, 16), as encode_checked requires.
    header: dict[int, object] = {
        HEADER_ALG: ALG_ED25519,
        HEADER_CONTENT_TYPE: content_type,
        HEADER_KID: kid,
    }
    if typ is not None:
        header[HEADER_TYP] = typ
    return cbor.encode_checked(header)


def parse(
    data: bytes,
    *,
    content_type: str,
    what: str = "record",
    max_size: int = MAX_RECORD_SIZE,
    typ: str | None = None,
) -> Sign1:
    """Parse a COSE_Sign1 record strictly and check its headers; the signature is not checked.

    ``typ``: the ``typ`` header the record must carry (then it must, and nothing else may).

    Raises:
        DecodeError: malformed or non-deterministic CBOR, wrong tag or shape, a header other
            than alg/content type/kid (and typ), alg other than Ed25519, wrong content type
            or typ, nil payload.
    """
    if type(data) is bytes and len(data) <= max_size:
        parts = _split(data)
        if parts is not None:
            protected, payload, signature = parts
            kid = _check_protected(protected, content_type, what, typ)
            return Sign1(data, protected, kid, content_type, payload, signature)
    return _parse_generic(data, content_type, what, max_size, typ)


def _parse_generic(
    data: bytes, content_type: str, what: str, max_size: int, typ: str | None = None
) -> Sign1:
    """The generic strict decode of a record in any layout: the reference :func:`_split` matches."""
    value = cbor.decode(
        data, what=what, max_size=max_size, max_items=16, tags=frozenset({COSE_SIGN1_TAG})
    )
    if not isinstance(value, cbor.Tag) or value.tag != COSE_SIGN1_TAG:
        raise DecodeError(f"{what}: not a COSE_Sign1 record (CBOR tag 18)")
    body = value.value
    if not isinstance(body, cbor.ARRAYS) or len(body) != 4:
        raise DecodeError(f"{what}: COSE_Sign1 must be an array of 4 items")
    protected, unprotected, payload, signature = body
    if not isinstance(unprotected, cbor.MAPS):
        raise DecodeError(f"{what}: unprotected header is not a map")
    if unprotected:
        label: object = next(iter(unprotected))
        raise DecodeError(
            f"{what}: unprotected header must be empty (found parameter {label!r}, never trusted)"
        )
    if payload is None:
        raise DecodeError(f"{what}: detached (nil) payloads are not allowed")
    if not isinstance(payload, bytes) or not isinstance(protected, bytes):
        raise DecodeError(f"{what}: protected header and payload must be byte strings")
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
        size = len(signature) if isinstance(signature, bytes) else "not a byte string"
        raise DecodeError(f"{what}: signature must be {SIGNATURE_SIZE} bytes, got {size}")
    kid = _check_protected(protected, content_type, what, typ)
    return Sign1(bytes(data), protected, kid, content_type, payload, signature)


def _split(data: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(protected, payload, signature) if ``data`` is exactly the canonical record layout.

    Every record this project writes is ``18([bstr, {}, bstr, bstr .size 64])`` in
    deterministic CBOR; reading that one layout by hand costs a fraction of a generic strict
    decode. None sends anything else, valid or not, to :func:`cbor.decode`, which names the
    problem; the property tests hold both paths to the same answers.
    """
    if data[:2] != _RECORD_START:
        return None
    protected, at = _bstr(data, 2)
    if protected is None or data[at : at + 1] != _EMPTY_MAP:
        return None
    payload, at = _bstr(data, at + 1)
    if payload is None or data[at : at + 2] != _SIGNATURE_HEAD:
        return None
    signature = data[at + 2 :]
    return (protected, payload, signature) if len(signature) == SIGNATURE_SIZE else None


_RECORD_START: Final = bytes([0xC0 | COSE_SIGN1_TAG, 0x84])  # tag 18, array of 4
_EMPTY_MAP: Final = b"\xa0"
_SIGNATURE_HEAD: Final = bytes([0x58, SIGNATURE_SIZE])


def _bstr(data: bytes, at: int) -> tuple[bytes | None, int]:
    """The byte string whose shortest-form head starts at ``at``, and where it ends."""
    head = data[at] if at < len(data) else 0
    if 0x40 <= head <= 0x57:
        size, start = head - 0x40, at + 1
    elif head == 0x58 and at + 1 < len(data) and data[at + 1] >= 24:
        size, start = data[at + 1], at + 2
    elif head == 0x59 and int.from_bytes(data[at + 1 : at + 3], "big") >= 256:
        size, start = int.from_bytes(data[at + 1 : at + 3], "big"), at + 3
    else:
        return None, at  # longer heads never fit a record; the generic decoder decides
    end = start + size
    if end > len(data):
        return None, at
    return data[start:end], end


def _check_protected(protected: bytes, content_type: str, what: str, typ: str | None) -> bytes:
    # One signer's headers are the same bytes on every record it signs: remember good ones.
    kid = _GOOD_HEADERS.get((protected, content_type, typ))
    if kid is not None:
        return kid
    kid = _read_protected(protected, content_type, what, typ)
    if len(_GOOD_HEADERS) >= _MAX_GOOD_HEADERS:
        _GOOD_HEADERS.clear()
    _GOOD_HEADERS[(protected, content_type, typ)] = kid
    return kid


_MAX_GOOD_HEADERS: Final = 4096
_GOOD_HEADERS: dict[tuple[bytes, str, str | None], bytes] = {}


def _read_protected(protected: bytes, content_type: str, what: str, typ: str | None) -> bytes:
    if not protected:
        raise DecodeError(f"{what}: protected header is empty (alg and kid are required)")
    header = cbor.decode(protected, what=f"{what} protected header", max_size=1024)
    if not isinstance(header, cbor.MAPS):
        raise DecodeError(f"{what}: protected header is not a map")
    if HEADER_CRIT in header:
        raise DecodeError(
            f"{what}: critical header parameters {header[HEADER_CRIT]!r} not understood"
        )
    known = {HEADER_ALG, HEADER_CONTENT_TYPE, HEADER_KID} | ({HEADER_TYP} if typ else set())
    unknown = set(header) - known
    if unknown:
        raise DecodeError(
            f"{what}: unexpected protected header parameter {sorted(unknown, key=str)[0]!r}"
        )
    if HEADER_ALG not in header:
        raise DecodeError(f"{what}: protected header has no alg")
    alg = header[HEADER_ALG]
    if alg != ALG_ED25519 or isinstance(alg, bool):
        raise DecodeError(f"{what}: alg {alg!r} not accepted, only Ed25519 ({ALG_ED25519})")
    if header.get(HEADER_CONTENT_TYPE) != content_type:
        found = header.get(HEADER_CONTENT_TYPE)
        raise DecodeError(f"{what}: content type {found!r}, expected {content_type!r}")
    if typ is not None and header.get(HEADER_TYP) != typ:
        raise DecodeError(f"{what}: typ {header.get(HEADER_TYP)!r}, expected {typ!r}")
    kid = header.get(HEADER_KID)
    if not isinstance(kid, bytes) or len(kid) != KID_SIZE:
        raise DecodeError(f"{what}: kid must be a {KID_SIZE}-byte key id")
    return kid


def starts_as_sign1(data: bytes) -> bool:
    """Whether ``data`` starts as a tagged COSE_Sign1 does (a bundle starts with a CBOR map)."""
    return data[:1] == _SIGN1_FIRST_BYTE
