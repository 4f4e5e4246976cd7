"""Ed25519 keys, key ids, signing and verification, under one policy whatever the library.

A key id (kid) is SHA-256 of the raw 32-byte public key. The policy: every public key that
enters goes through :meth:`PublicKey.from_bytes`, which refuses non-canonical and small-order
points; a signature must have a reduced S (S < L) and an R that is not of small order; then
the cofactorless equation decides (libsodium or OpenSSL, see :mod:`passport._ed25519`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Final

from . import _ed25519
from ._edwards import SMALL_ORDER_Y, L, point_problem
from .errors import InvalidKeyError, SignatureError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# cryptography (OpenSSL) loads only when a key is made or written as PEM: verifying runs on
# libsodium when present, and loading both would cost ~8 ms more at every start.

PUBLIC_KEY_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64
KID_SIZE: Final = 32


def kid_of(raw_public_key: bytes) -> bytes:
    """Return the key id of a raw public key: SHA-256 of its 32 bytes."""
    return hashlib.sha256(raw_public_key).digest()


@dataclass(frozen=True)
class PublicKey:
    """A validated Ed25519 public key; build it with :meth:`from_bytes`."""

    raw: bytes
    kid: bytes = field(repr=False)

    @staticmethod
    def from_bytes(raw: bytes) -> PublicKey:
        """Validate a raw 32-byte public key.

        Raises:
            InvalidKeyError: wrong length, non-canonical, not on the curve, or of small order.
        """
        if not isinstance(raw, bytes):
            raise InvalidKeyError(f"a public key is bytes, got {type(raw).__name__}")
        return _public_key(raw)

    @property
    def kid_hex(self) -> str:
        """The key id as lowercase hex."""
        return self.kid.hex()

    def verify(self, signature: bytes, message: bytes) -> None:
        """Check an Ed25519 signature over ``message``.

        Raises:
            SignatureError: the signature has the wrong size, a non-reduced scalar, an R of
                small order, or does not verify.
        """
        if len(signature) != SIGNATURE_SIZE:
            raise SignatureError(f"a signature is {SIGNATURE_SIZE} bytes, got {len(signature)}")
        if int.from_bytes(signature[32:], "little") >= L:
            raise SignatureError("signature scalar S is not reduced (S >= L)")
        if int.from_bytes(signature[:32], "little") & _Y_MASK in SMALL_ORDER_Y:
            # OpenSSL alone would accept it; libsodium refuses it: the policy is the same on both.
            raise SignatureError("signature point R is of small order")
        if not _ed25519.active[0].verify(self.raw, signature, message):
            raise SignatureError(f"signature does not verify under key {self.kid_hex[:16]}")

    def to_pem(self) -> str:
        """The key as a PEM SubjectPublicKeyInfo block."""
        # Imported here: the serialization package (with its SSH formats) costs ~10 ms at start.
        from cryptography.hazmat.primitives import serialization  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
            Ed25519PublicKey,
        )

        pem = Ed25519PublicKey.from_public_bytes(self.raw).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return pem.decode("ascii")


@lru_cache(maxsize=1 << 16)
def _public_key(raw: bytes) -> PublicKey:
    # Cached: the curve check costs a modular square root, and the same keys recur.
    problem = point_problem(raw)
    if problem:
        raise InvalidKeyError(f"public key {raw.hex()[:16]}…: {problem}")
    return PublicKey(raw, kid_of(raw))


_Y_MASK: Final = (1 << 255) - 1


class SigningKey:
    """An Ed25519 private key. The library never stores or prints it; callers keep it safe."""

    __slots__ = ("_key", "_signers", "public_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        raw = key.public_key().public_bytes_raw()
        self.public_key = PublicKey.from_bytes(raw)
        self._signers: dict[str, Callable[[bytes], bytes]] = {}

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh key from the operating system's random source."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
            Ed25519PrivateKey,
        )

        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        """The key whose RFC 8032 32-byte private seed is ``seed``.

        Raises:
            InvalidKeyError: the seed is not 32 bytes.
        """
        if not isinstance(seed, bytes) or len(seed) != 32:
            raise InvalidKeyError("an Ed25519 private key seed is 32 bytes")
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
            Ed25519PrivateKey,
        )

        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @property
    def kid(self) -> bytes:
        """Key id of the public half."""
        return self.public_key.kid

    def seed(self) -> bytes:
        """The 32-byte private seed, for a key store to encrypt."""
        return self._key.private_bytes_raw()

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature over ``message`` (RFC 8032: the same bytes on every library)."""
        backend = _ed25519.active[0]
        signer = self._signers.get(backend.name)
        if signer is None:
            signer = self._signers[backend.name] = backend.signer(self.seed(), self.public_key.raw)
        return signer(message)

    def __repr__(self) -> str:
        return f"SigningKey(kid={self.kid.hex()[:16]}…)"
