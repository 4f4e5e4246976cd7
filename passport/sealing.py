"""Sealed boxes: one disclosure encrypted to one recipient key with HPKE (RFC 9180).

Base mode; DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305, or the hybrid
ML-KEM-768 + X25519 KEM with the same KDF and AEAD. A box names in clear its event's hash,
the digest it discloses, the field, the audience, its KEM and its recipient's key id; the
HPKE ``info`` binds all but the key id (which the KEM binds) to the ciphertext, so a box
moved to another event, field or audience no longer opens. Opening never trusts a box: the
disclosure inside must hash to the digest the event signed (:func:`passport.disclose.reveal`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Final

from . import cbor
from .disclose import Disclosure, parse_disclosure
from .errors import DecodeError, DisclosureError, InvalidKeyError
from .recipients import Kem, RecipientKey, RecipientSecret

if TYPE_CHECKING:
    from cryptography.hazmat.primitives import hpke

INFO_LABEL: Final = "dpp-ledger disclosure v1"


@cache
def _suite(kem: Kem) -> hpke.Suite:
    """The HPKE suite of ``kem``, made on first use (cryptography loads only to seal or open)."""
    from cryptography.hazmat.primitives import hpke  # noqa: PLC0415

    kems = {Kem.X25519: hpke.KEM.X25519, Kem.MLKEM768_X25519: hpke.KEM.MLKEM768_X25519}
    return hpke.Suite(kems[kem], hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)


# The KEM's encapsulated key (enc) comes first in a box's ciphertext; the AEAD tag is 16 bytes.
ENC_SIZE: Final = {Kem.X25519: 32, Kem.MLKEM768_X25519: 1088 + 32}
TAG_SIZE: Final = 16


@dataclass(frozen=True)
class Box:
    """One disclosure sealed to one recipient key (``ct`` is HPKE's enc || ciphertext)."""

    event: bytes
    digest: bytes
    field: str
    audience: str
    kem: Kem
    kid: bytes
    ct: bytes

    def info(self) -> bytes:
        """The HPKE ``info``: what the ciphertext is bound to."""
        return info(self.event, self.digest, self.field, self.audience)

    def label(self) -> str:
        """The box as messages name it."""
        return f"the box of {self.field!r} for {self.audience} (key {self.kid.hex()[:16]}…)"


def info(event: bytes, digest: bytes, field: str, audience: str) -> bytes:
    """``["dpp-ledger disclosure v1", event hash, digest, field, audience]`` as CBOR."""
    return cbor.encode([INFO_LABEL, event, digest, field, audience])


def seal(
    disclosure: Disclosure, *, event: bytes, audience: str, recipient: RecipientKey, kem: Kem
) -> Box:
    """Seal ``disclosure`` of the event with hash ``event`` to one recipient.

    Raises:
        InvalidKeyError: the recipient key has no part for ``kem``.
    """
    target = recipient.kem_key(kem)
    ct = _suite(kem).encrypt(
        disclosure.raw, target, info=info(event, disclosure.digest, disclosure.field, audience)
    )
    return Box(event, disclosure.digest, disclosure.field, audience, kem, recipient.kid, ct)


def open_box(box: Box, secret: RecipientSecret) -> Disclosure:
    """Open ``box`` with the recipient's private key and read the disclosure inside.

    The disclosure is checked against the box's own labels only; whether its event signs
    it is :func:`passport.disclose.reveal`'s question.

    Raises:
        DisclosureError: the box is for another key, does not open (altered, or moved to
            another event, field or audience), or holds something that is not the
            disclosure it names.
    """
    if box.kid != secret.kid:
        raise DisclosureError(f"{box.label()} is sealed to another key")
    from cryptography.exceptions import InvalidTag  # noqa: PLC0415

    try:
        plain = _suite(box.kem).decrypt(box.ct, secret.kem_key(box.kem), info=box.info())
    except (InvalidTag, ValueError, TypeError, InvalidKeyError):
        raise DisclosureError(
            f"{box.label()} does not open: altered, or moved from another event"
        ) from None
    try:
        found = parse_disclosure(plain, what=box.label())
    except DecodeError as exc:
        raise DisclosureError(str(exc)) from None
    if found.digest != box.digest or found.field != box.field:
        raise DisclosureError(f"{box.label()} holds another disclosure than it names")
    return found


__all__ = ["Box", "info", "open_box", "seal"]
