"""The SQLite file: opening it, its schema, write transactions, and error conversion.

Every write is one ``BEGIN IMMEDIATE`` transaction with a busy timeout; the journal is WAL with
``synchronous=FULL``. Events can be neither updated nor deleted: triggers refuse it.
Nothing above this module sees a ``sqlite3`` exception.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import sqlite_utils

from passport.errors import StorageError

from .errors import BusyError, NotALedgerError

SCHEMA_VERSION: Final = 1
BUSY_TIMEOUT_S: Final = 5.0

_TRIGGERS: Final = (
    """CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: no update'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: no delete'); END""",
    """CREATE TRIGGER IF NOT EXISTS evidence_append_only_update BEFORE UPDATE ON evidence
       BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS evidence_append_only_delete BEFORE DELETE ON evidence
       BEGIN SELECT RAISE(ABORT, 'evidence is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS log_append_only_update BEFORE UPDATE ON log_nodes
       BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS log_append_only_delete BEFORE DELETE ON log_nodes
       BEGIN SELECT RAISE(ABORT, 'the log is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS checkpoints_append_only_update BEFORE UPDATE ON checkpoints
       BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END""",
)


def connect(
    path: Path, *, timeout: float = BUSY_TIMEOUT_S, create: bool = False
) -> sqlite_utils.Database:
    """Open (and with ``create``, initialise) the ledger file at ``path``.

    Raises:
        StorageError: the file does not exist (without ``create``), is not a ledger, or
            cannot be opened.
    """
    if not create and not path.is_file():
        raise NotALedgerError(f"no ledger at {path} (create one with `dpp init`)")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Autocommit at the driver level: this module opens every transaction itself.
        conn = sqlite3.connect(
            str(path), timeout=timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        db = sqlite_utils.Database(conn)
        if create:
            with write(db):
                _create_schema(db)
        _check_version(db, path)
    except sqlite3.DatabaseError as exc:
        raise NotALedgerError(f"{path}: not a usable ledger file ({exc})") from exc
    return db


def _create_schema(db: sqlite_utils.Database) -> None:
    db.table("meta").create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
        [str(SCHEMA_VERSION)],
    )
    db.table("roots").create(
        {"kid": bytes, "brand": str, "key": bytes, "prefixes": str},
        pk="kid",
        not_null={"brand", "key", "prefixes"},
        if_not_exists=True,
    )
    db.table("certs").create(
        {"hash": bytes, "subject": bytes, "issuer": bytes, "cose": bytes},
        pk="hash",
        not_null={"subject", "issuer", "cose"},
        if_not_exists=True,
    )
    db.table("revocations").create(
        {"issuer": bytes, "number": int, "cose": bytes},
        pk=("issuer", "number"),
        not_null={"cose"},
        if_not_exists=True,
    )
    db.table("keys").create(
        {"kid": bytes, "key": bytes}, pk="kid", not_null={"key"}, if_not_exists=True
    )
    db.table("passports").create(
        {"pid": bytes, "brand": str, "gtin": str, "serial": str, "head": bytes, "length": int},
        pk="pid",
        not_null={"brand", "gtin", "serial", "head", "length"},
        if_not_exists=True,
    )
    # rowid (idx) is storage order: the transparency log appends events in this order.
    db.table("events").create(
        {
            "idx": int,
            "hash": bytes,
            "pid": bytes,
            "seq": int,
            "type": str,
            "signer": bytes,
            "time": int,
            "cose": bytes,
        },
        pk="idx",
        not_null={"hash", "pid", "seq", "type", "signer", "time", "cose"},
        foreign_keys=[("pid", "passports", "pid")],
        if_not_exists=True,
    )
    db.table("evidence").create(
        {
            "id": int,
            "kind": str,
            "pid": bytes,
            "seq": int,
            "first": bytes,
            "second": bytes,
            "detail": str,
            "found": int,
        },
        pk="id",
        not_null={"kind", "first", "second", "detail", "found"},
        if_not_exists=True,
    )
    # Complete-subtree hashes of the transparency log (level 0: leaf hashes).
    db.execute(
        "CREATE TABLE IF NOT EXISTS log_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, "
        "hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID"
    )
    db.table("log_keys").create({"vkey": str}, pk="vkey", if_not_exists=True)
    db.table("checkpoints").create(
        {"size": int, "note": str}, pk="size", not_null={"note"}, if_not_exists=True
    )
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS passports_identifier ON passports (gtin, serial, brand)"
    )
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS events_pid_seq ON events (pid, seq)")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS events_hash ON events (hash)")
    db.execute("CREATE INDEX IF NOT EXISTS certs_subject ON certs (subject)")
    db.execute("CREATE UNIQUE INDEX IF NOT EXISTS evidence_pair ON evidence (first, second)")
    for trigger in _TRIGGERS:
        db.execute(trigger)


def _check_version(db: sqlite_utils.Database, path: Path) -> None:
    if "meta" not in db.table_names():
        raise NotALedgerError(f"{path}: not a ledger file (no schema); create one with `dpp init`")
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    if row is None or row[0] != str(SCHEMA_VERSION):
        raise StorageError(f"{path}: ledger schema version {row and row[0]} is not supported")


@contextlib.contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One ``BEGIN IMMEDIATE`` transaction: committed on success, rolled back on any error.

    Raises:
        BusyError: another writer held the ledger past the busy timeout.
        StorageError: SQLite refused the write (constraint, trigger, disk).
    """
    conn = db.conn
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise _convert(exc) from exc
    try:
        yield db
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise _convert(exc) from exc
        raise


@contextlib.contextmanager
def read(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A consistent snapshot for several reads (a deferred transaction, never writing)."""
    conn = db.conn
    try:
        conn.execute("BEGIN")
        yield db
    except sqlite3.Error as exc:
        raise _convert(exc) from exc
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _convert(exc: sqlite3.Error) -> StorageError:
    message = str(exc)
    if "locked" in message or "busy" in message:
        return BusyError("the ledger is busy with another writer; retry in a moment")
    return StorageError(f"the ledger refused the write: {message}")
