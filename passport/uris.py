"""URIs that name what the passport holds, for formats that speak URIs (EPCIS, W3C credentials).

Each one is derived from signed bytes or keys alone, never from who serves them:
- an event, a key: ``ni:///sha-256;<base64url>`` (RFC 6920), the SHA-256 of its bytes;
- a brand root or delegate key: ``did:key:z6Mk…`` (W3C did:key, Ed25519 multicodec 0xed);
- the item: its canonical GS1 Digital Link ``https://id.gs1.org/01/<GTIN-14>/21/<serial>``;
- a passport: ``urn:dpp:passport:<passport id, hex>``.
"""

from __future__ import annotations

import base64
from typing import Final

from . import gs1

CANONICAL_RESOLVER: Final = "https://id.gs1.org"
"""The host GS1 names for canonical Digital Link URIs, as EPCIS and UNTP examples write them."""

VOCAB: Final = "urn:dpp:vocab:v1:"
"""The project's own namespace for extension terms (``dpp:eventHash`` and the like)."""

_BASE58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_ED25519_MULTICODEC: Final = b"\xed\x01"


def ni_sha256(digest: bytes) -> str:
    """The RFC 6920 ``ni`` URI of the data whose SHA-256 is ``digest`` (base64url, no padding)."""
    return "ni:///sha-256;" + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def did_key(raw_public_key: bytes) -> str:
    """The ``did:key`` identifier of a raw Ed25519 public key (multibase base58btc, ``z``)."""
    return "did:key:z" + _base58(_ED25519_MULTICODEC + raw_public_key)


def item_uri(gtin: str, serial: str) -> str:
    """The item's canonical GS1 Digital Link URI (no resolver of ours, no query).

    Raises:
        SchemaError: an invalid GTIN or serial.
    """
    return gs1.digital_link(CANONICAL_RESOLVER, gtin, serial)


def passport_urn(pid: bytes) -> str:
    """The URN that names a passport by its id."""
    return f"urn:dpp:passport:{pid.hex()}"


def _base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(_BASE58[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))
