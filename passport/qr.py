"""What a passport's QR code says: a GS1 Digital Link, or the first event for offline checks.

Two payloads, both plain text for any QR reader:
- **link**: ``https://<resolver>/01/<GTIN-14>/21/<serial>?pid=<hex>`` (GS1 Digital Link);
- **offline**: ``DPP1:`` + Base45 (RFC 9285) of the zlib-compressed bundle holding the first
  event and the certificate its signer needs, so a scan alone proves who issued the passport.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Final

from . import gs1, wire
from .bundle import Bundle
from .errors import DecodeError, DppError
from .events import EventType

OFFLINE_PREFIX: Final = "DPP1:"
MAX_PAYLOAD: Final = 4296  # the most alphanumeric characters a QR code holds
MAX_INFLATED: Final = 64 * 1024
_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_INDEX: Final = {c: i for i, c in enumerate(_ALPHABET)}


def b45encode(data: bytes) -> str:
    """Base45 (RFC 9285 §4)."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        out += [_ALPHABET[n % 45], _ALPHABET[n // 45 % 45], _ALPHABET[n // 2025]]
    if len(data) % 2:
        out += [_ALPHABET[data[-1] % 45], _ALPHABET[data[-1] // 45]]
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Strict Base45 decoding (RFC 9285 §4.2): bad characters, lengths or values are refused.

    Raises:
        DecodeError: not valid Base45.
    """
    if len(text) % 3 == 1:
        raise DecodeError("Base45 text cannot have a length of 3n+1")
    try:
        values = [_INDEX[c] for c in text]
    except KeyError as exc:
        raise DecodeError(f"{exc.args[0]!r} is not a Base45 character") from None
    out = bytearray()
    for i in range(0, len(values), 3):
        chunk = values[i : i + 3]
        n = sum(v * 45**k for k, v in enumerate(chunk))
        if len(chunk) == 3:
            if n > 0xFFFF:
                raise DecodeError("Base45 triplet out of range")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise DecodeError("Base45 pair out of range")
            out.append(n)
    return bytes(out)


@dataclass(frozen=True)
class Scanned:
    """What a QR payload names: a Digital Link, or an offline first-event bundle."""

    link: gs1.DigitalLink | None = None
    offline: Bundle | None = None


def offline_payload(bundle: Bundle) -> str:
    """The offline QR text for a passport: its first event and the certificates it needs."""
    first = bundle.events[0]
    certs = tuple(c for c in bundle.certs if c.subject_kid == first.signer)
    data = wire.bundle_to_bytes(Bundle((first,), certs))
    return OFFLINE_PREFIX + b45encode(zlib.compress(data, 9))


def read_payload(text: str) -> Scanned:
    """Read a scanned QR payload (untrusted): a Digital Link or an offline ``DPP1:`` code.

    Raises:
        DecodeError: neither form, or a malformed one. Signatures are not checked here.
    """
    if not isinstance(text, str) or len(text) > MAX_PAYLOAD:
        raise DecodeError(f"a QR payload is text of at most {MAX_PAYLOAD} characters")
    if text.startswith(OFFLINE_PREFIX):
        compressed = b45decode(text[len(OFFLINE_PREFIX) :])
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(compressed, MAX_INFLATED)
        except zlib.error as exc:
            raise DecodeError(f"offline QR code: not zlib data ({exc})") from None
        if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
            raise DecodeError(
                "offline QR code: compressed data is truncated, too large or followed by junk"
            )
        bundle = wire.parse_bundle(data, what="offline QR code")
        if len(bundle.events) != 1 or bundle.events[0].type is not EventType.PRODUCTION:
            raise DecodeError("offline QR code: must hold exactly the passport's first event")
        return Scanned(offline=bundle)
    try:
        return Scanned(link=gs1.parse_digital_link(text))
    except DppError as exc:
        raise DecodeError(
            f"QR code is neither a passport link nor an offline code: {exc}"
        ) from None
