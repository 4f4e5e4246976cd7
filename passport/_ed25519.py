"""Ed25519 on the fastest library present: libsodium (PyNaCl), else OpenSSL (cryptography).

Both give the same answers under the project's policy (see :mod:`passport.keys`): keys are
checked before they reach either library, and a signature is checked for a reduced S and a
small-order R before either verifies it, so what each library would decide differently on
its own (OpenSSL accepts a small-order R) never decides anything. Signing is deterministic
(RFC 8032): both libraries write the same 64 bytes for the same seed and message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

_sodium: ModuleType | None
try:
    from nacl import bindings as _sodium
    from nacl.exceptions import BadSignatureError as _BadSignature
except ImportError:  # PyNaCl is optional: OpenSSL serves the same answers, slower
    _sodium = None


class Backend(Protocol):
    """One library's Ed25519: verify a signature, make a signing function for a seed."""

    name: str

    def verify(self, public: bytes, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` over ``message`` verifies under raw key ``public``."""
        ...

    def signer(self, seed: bytes, public: bytes) -> Callable[[bytes], bytes]:
        """A function that signs messages with the key of ``seed`` (whose public half is given)."""
        ...


class OpenSSL:
    """cryptography's Ed25519 (OpenSSL): the fallback, and the reference for the key store."""

    name = "openssl"

    def verify(self, public: bytes, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` over ``message`` verifies under raw key ``public``."""
        from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 - see _openssl_key

        try:
            _openssl_key(public).verify(signature, message)
        except InvalidSignature:
            return False
        return True

    def signer(self, seed: bytes, public: bytes) -> Callable[[bytes], bytes]:
        """A function that signs messages with the key of ``seed``."""
        from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
            Ed25519PrivateKey,
        )

        return Ed25519PrivateKey.from_private_bytes(seed).sign


@lru_cache(maxsize=4096)
def _openssl_key(public: bytes) -> Ed25519PublicKey:
    # cryptography loads on first use: with libsodium present, a verifier never needs it.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PublicKey,
    )

    return Ed25519PublicKey.from_public_bytes(public)


class Sodium:
    """libsodium's Ed25519 through PyNaCl: about half OpenSSL's time to verify, here."""

    name = "libsodium"

    def verify(self, public: bytes, signature: bytes, message: bytes) -> bool:
        """Whether ``signature`` over ``message`` verifies under raw key ``public``."""
        assert _sodium is not None  # noqa: S101 - only made when PyNaCl imported
        try:
            _sodium.crypto_sign_open(signature + message, public)
        except _BadSignature:
            return False
        return True

    def signer(self, seed: bytes, public: bytes) -> Callable[[bytes], bytes]:
        """A function that signs messages with the key of ``seed``."""
        assert _sodium is not None  # noqa: S101 - only made when PyNaCl imported
        secret = seed + public  # libsodium's secret key layout: seed, then public key
        sign = _sodium.crypto_sign
        return lambda message: sign(message, secret)[:64]


BACKENDS: Final[dict[str, Backend]] = {"openssl": OpenSSL()}
if _sodium is not None:
    BACKENDS["libsodium"] = Sodium()
DEFAULT: Final = "libsodium" if "libsodium" in BACKENDS else "openssl"
active: list[Backend] = [BACKENDS[DEFAULT]]  # one slot, so tests can swap it


def backend() -> Backend:
    """The backend in use."""
    return active[0]


@contextlib.contextmanager
def use(name: str) -> Iterator[Backend]:
    """Run a block on backend ``name`` (tests hold both to the same answers).

    Raises:
        KeyError: no such backend here (PyNaCl missing, for ``libsodium``).
    """
    chosen, previous = BACKENDS[name], active[0]
    active[0] = chosen
    try:
        yield chosen
    finally:
        active[0] = previous
