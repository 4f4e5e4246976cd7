"""Recipient keys and audiences: who may open a restricted value.

A recipient key is an X25519 key (DHKEM(X25519, HKDF-SHA256)), optionally with the parts of
the hybrid ML-KEM-768 + X25519 KEM beside it (its own ML-KEM-768 key and its own X25519 key:
no key serves two KEMs). Its raw form is ``x25519 (32)`` or
``x25519 (32) || ML-KEM-768 (1184) || x25519 (32)``, and its key id is the SHA-256 of that.
An audience is a name (repairers, recyclers, authorities) and its recipients' public keys, as
a brand publishes them in its trust file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING, Final

from .errors import InvalidKeyError, SchemaError

if TYPE_CHECKING:
    from cryptography.hazmat.primitives import hpke
    from cryptography.hazmat.primitives.asymmetric import x25519

# cryptography's HPKE, ML-KEM and X25519 load with its Rust core (~8 ms): imported where a key
# is made or used, so that verifying a bundle with no restricted data never pays for them.

X25519_SIZE: Final = 32
MLKEM768_PUBLIC_SIZE: Final = 1184
MLKEM768_SEED_SIZE: Final = 64
HYBRID_PUBLIC_SIZE: Final = X25519_SIZE + MLKEM768_PUBLIC_SIZE + X25519_SIZE
HYBRID_SECRET_SIZE: Final = X25519_SIZE + MLKEM768_SEED_SIZE + X25519_SIZE
MAX_AUDIENCE_KEYS: Final = 64
_P25519: Final = 2**255 - 19
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@cache
def _probe() -> x25519.X25519PrivateKey:
    """A fixed scalar: an exchange with it is all zeros exactly for the small-order points.

    Made on first use: making it loads OpenSSL's backend (~10 ms), which a verification of
    a bundle without restricted data never needs.
    """
    from cryptography.hazmat.primitives.asymmetric import x25519  # noqa: PLC0415

    return x25519.X25519PrivateKey.from_private_bytes(bytes(range(1, 33)))


class Kem(StrEnum):
    """The KEM a box is sealed with."""

    X25519 = "x25519"
    MLKEM768_X25519 = "mlkem768-x25519"


def check_audience_name(name: str) -> str:
    """Return ``name`` if it can name an audience: 1-64 letters, digits, '.', '_' or '-'.

    Raises:
        SchemaError: anything else.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SchemaError(f"audience name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


def _x25519_public(raw: bytes) -> x25519.X25519PublicKey:
    """A canonical X25519 public key that is not of small order.

    Raises:
        InvalidKeyError: non-canonical (u >= p, or the top bit set) or of small order.
    """
    if int.from_bytes(raw, "little") >= _P25519:
        raise InvalidKeyError(f"X25519 key {raw.hex()[:16]}…: not a canonical encoding")
    from cryptography.hazmat.primitives.asymmetric import x25519  # noqa: PLC0415

    key = x25519.X25519PublicKey.from_public_bytes(raw)
    try:
        _probe().exchange(key)
    except ValueError:
        raise InvalidKeyError(f"X25519 key {raw.hex()[:16]}…: a small-order point") from None
    return key


def _raw(key: x25519.X25519PublicKey | x25519.X25519PrivateKey) -> bytes:
    from cryptography.hazmat.primitives.asymmetric import x25519  # noqa: PLC0415

    if isinstance(key, x25519.X25519PrivateKey):
        return key.private_bytes_raw()
    return key.public_bytes_raw()


@dataclass(frozen=True)
class RecipientKey:
    """A validated recipient public key; build it with :meth:`from_bytes`."""

    raw: bytes
    kid: bytes = field(repr=False)
    _x25519: x25519.X25519PublicKey = field(repr=False, compare=False)
    _hybrid: hpke.MLKEM768X25519PublicKey | None = field(repr=False, compare=False)

    @staticmethod
    def from_bytes(raw: bytes) -> RecipientKey:
        """Validate a raw recipient public key (32 or 1248 bytes).

        Raises:
            InvalidKeyError: another length, or a part that is not a usable key.
        """
        if not isinstance(raw, bytes) or len(raw) not in (X25519_SIZE, HYBRID_PUBLIC_SIZE):
            raise InvalidKeyError(
                f"a recipient key is {X25519_SIZE} or {HYBRID_PUBLIC_SIZE} bytes "
                f"(X25519, or X25519 with ML-KEM-768 + X25519)"
            )
        first = _x25519_public(raw[:X25519_SIZE])
        hybrid = None
        if len(raw) == HYBRID_PUBLIC_SIZE:
            from cryptography.hazmat.primitives import hpke  # noqa: PLC0415
            from cryptography.hazmat.primitives.asymmetric import mlkem  # noqa: PLC0415

            try:
                encaps = mlkem.MLKEM768PublicKey.from_public_bytes(
                    raw[X25519_SIZE : X25519_SIZE + MLKEM768_PUBLIC_SIZE]
                )
            except ValueError:
                raise InvalidKeyError("the key's ML-KEM-768 part is not a valid key") from None
            second = _x25519_public(raw[X25519_SIZE + MLKEM768_PUBLIC_SIZE :])
            hybrid = hpke.MLKEM768X25519PublicKey(encaps, second)
        return RecipientKey(raw, hashlib.sha256(raw).digest(), first, hybrid)

    @property
    def kid_hex(self) -> str:
        """The key id as lowercase hex."""
        return self.kid.hex()

    @property
    def kems(self) -> tuple[Kem, ...]:
        """The KEMs a box to this key may use."""
        return (Kem.X25519,) if self._hybrid is None else (Kem.X25519, Kem.MLKEM768_X25519)

    def kem_key(self, kem: Kem) -> x25519.X25519PublicKey | hpke.MLKEM768X25519PublicKey:
        """The public key ``kem`` encapsulates to.

        Raises:
            InvalidKeyError: the key has no part for that KEM.
        """
        if kem is Kem.X25519:
            return self._x25519
        if self._hybrid is None:
            raise InvalidKeyError(
                f"recipient key {self.kid_hex[:16]}… is X25519 only: it cannot receive "
                f"{kem} boxes (its holder makes a new key with `dpp audience new`)"
            )
        return self._hybrid


class RecipientSecret:
    """A recipient's private key. The library never stores or prints it; callers keep it safe."""

    __slots__ = ("_hybrid", "_secret", "_x25519", "public_key")

    def __init__(self, secret: bytes) -> None:
        """Build the key from its private bytes (see :meth:`from_bytes`, which checks them)."""
        from cryptography.hazmat.primitives import hpke  # noqa: PLC0415
        from cryptography.hazmat.primitives.asymmetric import mlkem, x25519  # noqa: PLC0415

        self._secret = secret
        self._x25519 = x25519.X25519PrivateKey.from_private_bytes(secret[:X25519_SIZE])
        self._hybrid: hpke.MLKEM768X25519PrivateKey | None = None
        public = _raw(self._x25519.public_key())
        if len(secret) == HYBRID_SECRET_SIZE:
            seed = secret[X25519_SIZE : X25519_SIZE + MLKEM768_SEED_SIZE]
            decaps = mlkem.MLKEM768PrivateKey.from_seed_bytes(seed)
            second = x25519.X25519PrivateKey.from_private_bytes(
                secret[X25519_SIZE + MLKEM768_SEED_SIZE :]
            )
            self._hybrid = hpke.MLKEM768X25519PrivateKey(decaps, second)
            public += decaps.public_key().public_bytes_raw() + _raw(second.public_key())
        self.public_key = RecipientKey.from_bytes(public)

    @classmethod
    def generate(cls, *, hybrid: bool = True) -> RecipientSecret:
        """A fresh key from the operating system's random source (with its hybrid parts)."""
        from cryptography.hazmat.primitives.asymmetric import x25519  # noqa: PLC0415

        secret = _raw(x25519.X25519PrivateKey.generate())
        if hybrid:
            import secrets  # noqa: PLC0415 - see disclose.random_salt

            secret += secrets.token_bytes(MLKEM768_SEED_SIZE)  # FIPS 203: the seed is (d, z)
            secret += _raw(x25519.X25519PrivateKey.generate())
        return cls(secret)

    @classmethod
    def from_bytes(cls, secret: bytes) -> RecipientSecret:
        """The key whose private bytes are ``secret`` (32 or 128 bytes, see :meth:`secret`).

        Raises:
            InvalidKeyError: another length, or bytes that are not a key.
        """
        if not isinstance(secret, bytes) or len(secret) not in (X25519_SIZE, HYBRID_SECRET_SIZE):
            raise InvalidKeyError(
                f"a recipient private key is {X25519_SIZE} or {HYBRID_SECRET_SIZE} bytes"
            )
        try:
            return cls(secret)
        except ValueError as exc:
            raise InvalidKeyError(f"not a recipient private key: {exc}") from None

    def secret(self) -> bytes:
        """The private bytes: X25519 scalar, then ML-KEM-768 seed and X25519 scalar if hybrid."""
        return self._secret

    @property
    def kid(self) -> bytes:
        """Key id of the public half."""
        return self.public_key.kid

    def kem_key(self, kem: Kem) -> x25519.X25519PrivateKey | hpke.MLKEM768X25519PrivateKey:
        """The private key that decapsulates ``kem``.

        Raises:
            InvalidKeyError: the key has no part for that KEM.
        """
        if kem is Kem.X25519:
            return self._x25519
        if self._hybrid is None:
            raise InvalidKeyError(f"recipient key {self.kid.hex()[:16]}… is X25519 only")
        return self._hybrid

    def __repr__(self) -> str:
        return f"RecipientSecret(kid={self.kid.hex()[:16]}…)"


@dataclass(frozen=True)
class Audience:
    """A name and its recipients' public keys, as a brand publishes it."""

    name: str
    keys: tuple[RecipientKey, ...]

    @classmethod
    def of(cls, name: str, keys: Iterable[RecipientKey]) -> Audience:
        """An audience of distinct keys.

        Raises:
            SchemaError: a bad name, no keys, too many, or a key listed twice.
        """
        found = tuple(keys)
        if not found or len(found) > MAX_AUDIENCE_KEYS:
            raise SchemaError(f"audience {name!r} holds 1 to {MAX_AUDIENCE_KEYS} keys")
        if len({k.kid for k in found}) != len(found):
            raise SchemaError(f"audience {name!r} lists a key twice")
        return cls(check_audience_name(name), found)

    def key(self, kid: bytes) -> RecipientKey | None:
        """The audience's key with id ``kid``, if it has one."""
        return next((k for k in self.keys if k.kid == kid), None)


__all__ = ["Audience", "Kem", "RecipientKey", "RecipientSecret", "check_audience_name"]
