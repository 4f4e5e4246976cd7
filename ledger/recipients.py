"""Recipient private keys (the X25519 and ML-KEM-768 keys that open sealed boxes) on disk.

The same key store as signing keys: the same directory, passphrase and file format (scrypt,
AES-256-GCM with the header as associated data, 0600, created with O_EXCL), one file per key
named ``NAME.hpke`` so that signing-key tools never mistake one for the other.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dpp_ledger import passport as pp
from dpp_ledger.passport.errors import DppError

from .errors import KeyStoreError
from .keystore import SCRYPT_LOG_N, SCRYPT_P, SCRYPT_R, KeyStore, Passphrase, _aad, _derive
from .keystore import _passphrase as _secret_of

SUFFIX: Final = ".hpke"
ROLE: Final = "recipient"


@dataclass(frozen=True)
class RecipientInfo:
    """The public part of a stored recipient key: readable without the passphrase."""

    name: str
    public_key: pp.RecipientKey
    path: Path


class RecipientStore:
    """The recipient keys in a key store directory."""

    def __init__(self, directory: Path | str, *, scrypt_log_n: int = SCRYPT_LOG_N) -> None:
        self._files = KeyStore(directory, scrypt_log_n=scrypt_log_n)

    @property
    def directory(self) -> Path:
        """The key store directory."""
        return self._files.directory

    def create(self, name: str, passphrase: Passphrase, *, hybrid: bool = True) -> RecipientInfo:
        """Generate a recipient key called ``name`` (with its hybrid parts) and store it.

        Raises:
            KeyStoreError: a bad or taken name, or an empty passphrase.
        """
        return self.add(name, pp.RecipientSecret.generate(hybrid=hybrid), passphrase)

    def add(self, name: str, key: pp.RecipientSecret, passphrase: Passphrase) -> RecipientInfo:
        """Store an existing recipient private key under ``name``.

        Raises:
            KeyStoreError: a bad or taken name, or an empty passphrase.
        """
        path = self._files._path(name, SUFFIX)
        header = {
            "v": 1,
            "name": name,
            "role": ROLE,
            "public": key.public_key.raw.hex(),
            "kdf": {
                "alg": "scrypt",
                "log_n": self._files.scrypt_log_n,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": secrets.token_hex(16),
            },
            "aead": "AES-256-GCM",
        }
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(_derive(_secret_of(passphrase), header)).encrypt(
            nonce, key.secret(), _aad(header)
        )
        document = {**header, "nonce": nonce.hex(), "sealed": sealed.hex()}
        self._files._write_new(path, json.dumps(document, indent=2).encode() + b"\n")
        return RecipientInfo(name, key.public_key, path)

    def load(self, name: str, passphrase: Passphrase) -> pp.RecipientSecret:
        """Decrypt and return the recipient key ``name``.

        Raises:
            KeyStoreError: no such key, an unsafe or damaged file, or a wrong passphrase.
        """
        document = self._files._read(name, SUFFIX)
        header = {k: v for k, v in document.items() if k not in ("nonce", "sealed")}
        try:
            secret = AESGCM(_derive(_secret_of(passphrase), header)).decrypt(
                bytes.fromhex(document["nonce"]), bytes.fromhex(document["sealed"]), _aad(header)
            )
            key = pp.RecipientSecret.from_bytes(secret)
        except InvalidTag:
            raise KeyStoreError(
                f"wrong passphrase for key '{name}' (or the file was altered)"
            ) from None
        except (KeyError, ValueError, TypeError, DppError) as exc:
            raise KeyStoreError(f"key file for '{name}' is damaged: {exc}") from None
        if key.public_key.raw.hex() != document["public"]:
            raise KeyStoreError(f"key file for '{name}' is damaged: public key does not match")
        return key

    def info(self, name: str) -> RecipientInfo:
        """The public part of recipient key ``name``.

        Raises:
            KeyStoreError: no such key, or an unsafe or damaged file.
        """
        document = self._files._read(name, SUFFIX)
        try:
            if document["role"] != ROLE:
                raise ValueError("not a recipient key")
            public = pp.RecipientKey.from_bytes(bytes.fromhex(document["public"]))
        except (ValueError, KeyError, TypeError, DppError) as exc:
            raise KeyStoreError(f"key file for '{name}' is damaged: {exc}") from None
        return RecipientInfo(name, public, self._files._path(name, SUFFIX))

    def list(self) -> list[RecipientInfo]:
        """Every stored recipient key, by name."""
        if not self.directory.is_dir():
            return []
        return [
            self.info(p.name.removesuffix(SUFFIX))
            for p in sorted(self.directory.glob(f"*{SUFFIX}"))
        ]

    def exists(self, name: str) -> bool:
        """Whether a recipient key called ``name`` is stored."""
        return self._files._path(name, SUFFIX).exists()
