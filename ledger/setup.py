"""Making a ledger home (``ledger.db``, ``keys/``, ``config.json``) whole, or finishing one.

A new home is built in a hidden folder beside the target and renamed into place: a kill at
any moment leaves either no home or a complete one. A home that an earlier, interrupted
version of this left half made (a log key without a ledger, a ledger file without a schema
or without its log) is finished in place, each file again written whole and then renamed.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Final

from dpp_ledger.passport.checkpoint import NoteVerifier
from dpp_ledger.passport.keys import SigningKey

from . import disk
from .errors import KeyStoreError, LocationError, NotALedgerError
from .files import sync_directory, write_atomic
from .keystore import SCRYPT_LOG_N, KeyRole, KeyStore, Passphrase
from .storage import is_url
from .store import Ledger

LEDGER: Final = "ledger.db"
KEYS: Final = "keys"
CONFIG: Final = "config.json"
LOG_KEY: Final = "log"
_BUILDING: Final = ".init-"  # a folder or ledger file being built: .<name>.init-<pid>


class HomeState(StrEnum):
    """What a folder holds, as far as a home goes."""

    NONE = "none"  # absent, or an empty folder
    PARTIAL = "partial"  # a folder without a usable ledger (perhaps with some parts)
    COMPLETE = "complete"  # a ledger with a schema and a log


@dataclass(frozen=True)
class HomePlan:
    """How to make a home: its log's name (None: from the key), settings, passphrases."""

    origin: str | None
    config: bytes
    passphrase: Passphrase  # for a log key found in a partial home
    new_passphrase: Passphrase  # for a new log key
    scrypt_log_n: int = SCRYPT_LOG_N
    ledger: str | None = None  # a postgresql:// URL (in ``config``); None: the home's file


def home_state(path: Path) -> tuple[HomeState, tuple[str, ...]]:
    """The state of the folder at ``path`` and the home's parts found in it.

    Raises:
        NotALedgerError: ``ledger.db`` is there but is not a ledger file.
    """
    if not path.exists():
        return HomeState.NONE, ()
    if not path.is_dir():
        raise NotALedgerError(f"{path}: not a folder")
    parts = tuple(
        name for name in (LEDGER, f"{KEYS}/{LOG_KEY}.key", CONFIG) if (path / name).exists()
    )
    if not any(path.iterdir()):
        return HomeState.NONE, ()
    if LEDGER in parts and not (path / LEDGER).is_file():
        raise NotALedgerError(f"{path / LEDGER}: not a regular file; move it away first")
    if LEDGER in parts and _has_log(path / LEDGER):
        return HomeState.COMPLETE, parts
    if CONFIG in parts and _names_a_server(path / CONFIG) and f"{KEYS}/{LOG_KEY}.key" in parts:
        return HomeState.COMPLETE, parts
    return HomeState.PARTIAL, parts


def _names_a_server(config: Path) -> bool:
    """Whether a home's settings put its ledger on a database server (written last by init)."""
    try:
        value = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(value, dict) and is_url(value.get("ledger", ""))


def _has_log(path: Path) -> bool:
    """Whether the ledger file has a schema and a named log (False: not yet)."""
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as c:
            tables = {row[0] for row in c.execute("SELECT name FROM sqlite_master")}
            if "meta" not in tables:
                if tables:
                    raise NotALedgerError(f"{path}: not a ledger file; move it away first")
                return False
            row = c.execute("SELECT value FROM meta WHERE key = 'log_origin'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise disk.sqlite_failure(exc, path) or NotALedgerError(
            f"{path}: not a ledger file ({exc}); move it away first"
        ) from exc
    return row is not None


def create_home(path: Path, plan: HomePlan) -> NoteVerifier:
    """Build a complete home beside ``path`` and rename it into place (``path`` absent or empty).

    Raises:
        DppError: a part could not be made (nothing is left at ``path``).
        StorageError: another process made ``path`` meanwhile.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(path.parent, f".{path.name}{_BUILDING}")
    building = path.parent / f".{path.name}{_BUILDING}{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(mode=0o755)
    try:
        verifier = finish_home(building, plan)
        os.rename(building, path)  # replaces an empty folder; refuses a non-empty one
        sync_directory(path.parent)
    except OSError as exc:
        shutil.rmtree(building, ignore_errors=True)
        found = disk.os_failure(exc, path)
        if found is not None:
            raise found from exc
        raise NotALedgerError(
            f"{path}: could not be made ({exc.strerror}): made meanwhile?"
        ) from exc
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return verifier


def finish_home(path: Path, plan: HomePlan) -> NoteVerifier:
    """Make whatever part of the home at ``path`` is missing: log key, settings, then ledger.

    Raises:
        KeyStoreError: the log key found cannot be opened with the passphrase.
        StorageError: the ledger file cannot be written.
    """
    keys = KeyStore(path / KEYS, scrypt_log_n=plan.scrypt_log_n)
    _remove_abandoned(path, f".{LEDGER}{_BUILDING}")
    log_key = _log_key(keys, plan)
    origin = plan.origin or f"dpp-ledger/{log_key.public_key.kid_hex[:12]}"
    write_atomic(path / CONFIG, plan.config)
    if plan.ledger is not None:
        return _shared_ledger(plan.ledger, origin, log_key)
    target = path / LEDGER
    if target.exists() and (target.stat().st_size > 0 or not disk.wal_is_empty(target)):
        with Ledger.create(target) as ledger:  # a schema perhaps, but no log yet
            verifier = ledger.checkpoints.set_log(origin, log_key)
            ledger.checkpoints.sign()
        return verifier
    building = path / f".{LEDGER}{_BUILDING}{os.getpid()}"
    try:
        with Ledger.create(building) as ledger:
            verifier = ledger.checkpoints.set_log(origin, log_key)
            ledger.checkpoints.sign()
        _remove_ledger_files(target)  # an empty file: no side file of it may meet the new one
        os.replace(building, target)  # closed: the log was checkpointed into the file
        sync_directory(path)
    finally:
        _remove_ledger_files(building)
    return verifier


def _shared_ledger(url: str, origin: str, log_key: SigningKey) -> NoteVerifier:
    """Make the ledger's tables on the server and give it this home's log (one transaction each).

    Raises:
        LocationError: the database already holds a ledger with a log: one log has one key,
            so a second home joins it with the first home's keys, not a new one.
    """
    with Ledger.create(url) as ledger:
        current = ledger.checkpoints.origin
        if current is not None:
            raise LocationError(
                f"{url} already holds a ledger (log {current!r}): to work on it from another "
                "host, copy its home's keys/ and config.json there, or set DPP_LEDGER"
            )
        verifier = ledger.checkpoints.set_log(origin, log_key)
        ledger.checkpoints.sign()
    return verifier


def _log_key(keys: KeyStore, plan: HomePlan) -> SigningKey:
    """The log key found in ``keys`` (opened), else a new one; a damaged one is set aside."""
    if keys.exists(LOG_KEY):
        try:
            return keys.load(LOG_KEY, plan.passphrase)
        except KeyStoreError as exc:
            if "damaged" not in str(exc):
                raise
            # No ledger ever named this key (the home has no log yet): keep it, but aside.
            os.replace(keys.directory / f"{LOG_KEY}.key", keys.directory / f"{LOG_KEY}.key.damaged")
    key = SigningKey.generate()
    keys.add(LOG_KEY, KeyRole.LOG, key, plan.new_passphrase)
    return key


def _remove_ledger_files(path: Path) -> None:
    for leftover in (path, *disk.side_files(path)):
        leftover.unlink(missing_ok=True)


def _remove_abandoned(folder: Path, prefix: str) -> None:
    """Remove what a killed init was building in ``folder`` (its process is gone)."""
    for entry in folder.glob(f"{prefix}*"):
        number = entry.name.removeprefix(prefix).split("-")[0]
        if not (number.isascii() and number.isdigit()) or _alive(int(number)):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
