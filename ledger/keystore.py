"""Private keys on disk: one file per named key, encrypted under a passphrase.

scrypt (memory-hard) derives the key-encryption key; AES-256-GCM seals the 32-byte Ed25519
seed, with the file's header (name, role, public key, KDF parameters) as associated data so
no field can be swapped. Files are created 0600 with O_EXCL and refused when group or others
can read them. The library never prompts: the caller passes a function that returns the
passphrase (the CLI asks on a terminal or reads ``DPP_PASSPHRASE``).
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from dpp_ledger.passport import PublicKey, SigningKey
from dpp_ledger.passport.errors import DppError

from . import disk
from .errors import KeyNotFoundError, KeyStoreError, NotFoundError
from .files import open_regular, sync_directory

Passphrase = Callable[[], str]
SCRYPT_LOG_N: Final = 17  # 128 MiB, about 0.4 s: the OWASP-recommended floor for scrypt
SCRYPT_R: Final = 8
SCRYPT_P: Final = 1
MAX_KEY_FILE: Final = 64 * 1024
_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SUFFIX: Final = ".key"


class KeyRole(StrEnum):
    """What a key is for."""

    BRAND = "brand"
    FACTORY = "factory"
    RETAILER = "retailer"
    OUTLET = "outlet"
    REPAIRER = "repairer"
    AUTHENTICATOR = "authenticator"
    OWNER = "owner"
    LOG = "log"


@dataclass(frozen=True)
class KeyInfo:
    """The public part of a stored key: readable without the passphrase."""

    name: str
    role: KeyRole
    public_key: PublicKey
    path: Path


class KeyStore:
    """A directory of encrypted key files."""

    def __init__(self, directory: Path | str, *, scrypt_log_n: int = SCRYPT_LOG_N) -> None:
        self.directory = Path(directory)
        self.scrypt_log_n = scrypt_log_n

    def create(self, name: str, role: KeyRole | str, passphrase: Passphrase) -> KeyInfo:
        """Generate a new key called ``name`` and store it encrypted.

        Raises:
            KeyStoreError: a bad name or role, an empty passphrase, or the name is taken.
        """
        return self.add(name, role, SigningKey.generate(), passphrase)

    def add(
        self, name: str, role: KeyRole | str, key: SigningKey, passphrase: Passphrase
    ) -> KeyInfo:
        """Store an existing private key under ``name``.

        Raises:
            KeyStoreError: a bad name or role, an empty passphrase, or the name is taken.
        """
        path = self._path(name)
        try:
            kind = KeyRole(role)
        except ValueError:
            raise KeyStoreError(
                f"unknown key role {role!r} (one of: {', '.join(KeyRole)})"
            ) from None
        secret = _passphrase(passphrase)
        header = {
            "v": 1,
            "name": name,
            "role": str(kind),
            "public": key.public_key.raw.hex(),
            "kdf": {
                "alg": "scrypt",
                "log_n": self.scrypt_log_n,
                "r": SCRYPT_R,
                "p": SCRYPT_P,
                "salt": secrets.token_hex(16),
            },
            "aead": "AES-256-GCM",
        }
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(_derive(secret, header)).encrypt(nonce, key.seed(), _aad(header))
        document = {**header, "nonce": nonce.hex(), "sealed": sealed.hex()}
        self._write_new(path, json.dumps(document, indent=2).encode() + b"\n")
        return KeyInfo(name, kind, key.public_key, path)

    def load(self, name: str, passphrase: Passphrase) -> SigningKey:
        """Decrypt and return the private key ``name``.

        Raises:
            KeyStoreError: no such key, an unsafe or damaged file, or a wrong passphrase.
        """
        document = self._read(name)
        header = {k: v for k, v in document.items() if k not in ("nonce", "sealed")}
        try:
            key = _derive(_passphrase(passphrase), header)
            seed = AESGCM(key).decrypt(
                bytes.fromhex(document["nonce"]), bytes.fromhex(document["sealed"]), _aad(header)
            )
        except InvalidTag:
            raise KeyStoreError(
                f"wrong passphrase for key '{name}' (or the file was altered)"
            ) from None
        except KeyError as exc:
            raise KeyStoreError(f"key file for '{name}' is damaged: no field {exc}") from None
        except (ValueError, TypeError) as exc:
            raise KeyStoreError(f"key file for '{name}' is damaged: {exc}") from None
        signing = SigningKey.from_seed(seed)
        if signing.public_key.raw.hex() != document["public"]:
            raise KeyStoreError(f"key file for '{name}' is damaged: public key does not match")
        return signing

    def info(self, name: str) -> KeyInfo:
        """The public part of key ``name``.

        Raises:
            KeyStoreError: no such key, or an unsafe or damaged file.
        """
        document = self._read(name)
        try:
            return KeyInfo(
                name,
                KeyRole(document["role"]),
                PublicKey.from_bytes(bytes.fromhex(document["public"])),
                self._path(name),
            )
        except (ValueError, KeyError, TypeError, DppError) as exc:
            raise KeyStoreError(f"key file for '{name}' is damaged: {exc}") from None

    def list(self) -> list[KeyInfo]:
        """Every stored key, by name.

        Raises:
            KeyStoreError: a key file is damaged (see :meth:`scan` to list the rest anyway).
        """
        infos, damaged = self.scan()
        if damaged:
            raise KeyStoreError(damaged[0][1])
        return [*infos]

    def scan(self) -> tuple[tuple[KeyInfo, ...], tuple[tuple[str, str], ...]]:
        """Every readable key, and (name, what is wrong) for each damaged or unsafe file."""
        if not self.directory.is_dir():
            return (), ()
        infos: dict[str, KeyInfo] = {}
        damaged: dict[str, str] = {}
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            name = path.name.removesuffix(SUFFIX)
            try:
                infos[name] = self.info(name)
            except KeyStoreError as exc:
                damaged[name] = str(exc)
        return tuple(infos.values()), tuple(damaged.items())

    def exists(self, name: str) -> bool:
        """Whether a key called ``name`` is stored."""
        return self._path(name).exists()

    # -- files -------------------------------------------------------------------------------

    def _path(self, name: str, suffix: str = SUFFIX) -> Path:
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise KeyStoreError(f"key name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
        return self.directory / f"{name}{suffix}"

    def _write_new(self, path: Path, content: bytes) -> None:
        """Write a new key file whole or not at all: a temporary file, fsync, then a link.

        The link never replaces a file that is there; a full disk or a kill leaves no key
        file, only (at worst) a hidden temporary one.
        """
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if path.exists():
                raise KeyStoreError(f"a key called '{path.stem}' already exists")
            fd, temporary = tempfile.mkstemp(
                prefix=f".{path.name}.", suffix=".tmp", dir=self.directory
            )
        except OSError as exc:
            raise disk.os_failure(exc, path) or exc from exc
        try:
            with os.fdopen(fd, "wb") as handle:  # mkstemp made it 0600
                handle.write(content)
                handle.flush()
                os.fsync(handle.fileno())
            _link_new(Path(temporary), path)
            sync_directory(self.directory)
        except OSError as exc:
            raise disk.os_failure(exc, path) or exc from exc
        finally:
            Path(temporary).unlink(missing_ok=True)

    def _read(self, name: str, suffix: str = SUFFIX) -> dict[str, Any]:
        path = self._path(name, suffix)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise KeyNotFoundError(f"no key called '{name}' in {self.directory}") from None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyStoreError(
                f"refusing {path}: group or others can access it (run: chmod 600 {path})"
            )
        try:
            with open_regular(path, what="key file") as handle:
                content = handle.read(MAX_KEY_FILE + 1)
        except NotFoundError as exc:
            raise KeyStoreError(str(exc)) from None
        try:
            if not content:
                raise ValueError("the file is empty (an interrupted write?)")
            if len(content) > MAX_KEY_FILE:
                raise ValueError("file too large")
            document = json.loads(content)
            if not isinstance(document, dict) or document.get("v") != 1:
                raise ValueError("not a version 1 key file")
        except ValueError as exc:
            raise KeyStoreError(f"key file for '{name}' is damaged: {exc}") from None
        return document


def _link_new(source: Path, target: Path) -> None:
    """Give ``source`` the name ``target`` unless ``target`` exists (atomic where links work)."""
    try:
        os.link(source, target)
    except FileExistsError:
        raise KeyStoreError(f"a key called '{target.stem}' already exists") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if target.exists():  # no hard links on this filesystem: check, then rename
            raise KeyStoreError(f"a key called '{target.stem}' already exists") from None
        os.rename(source, target)


def _passphrase(passphrase: Passphrase) -> bytes:
    secret = passphrase()
    if not isinstance(secret, str) or not secret:
        raise KeyStoreError("a non-empty passphrase is required")
    try:
        return secret.encode("utf-8")
    except UnicodeEncodeError:  # never echo any part of it
        raise KeyStoreError("the passphrase is not valid text (check its encoding)") from None


def _aad(header: dict[str, Any]) -> bytes:
    return json.dumps(header, sort_keys=True, separators=(",", ":")).encode()


def _derive(secret: bytes, header: dict[str, Any]) -> bytes:
    kdf = header["kdf"]
    if not isinstance(kdf, dict):
        raise KeyStoreError("key file is damaged: its kdf is not a set of parameters")
    if (
        kdf.get("alg") != "scrypt"
        or not 14 <= kdf["log_n"] <= 22
        or kdf["r"] != SCRYPT_R
        or kdf["p"] != SCRYPT_P
    ):
        raise KeyStoreError("key file uses unsupported KDF parameters")
    return Scrypt(
        salt=bytes.fromhex(kdf["salt"]), length=32, n=1 << kdf["log_n"], r=kdf["r"], p=kdf["p"]
    ).derive(secret)
