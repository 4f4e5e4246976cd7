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

from dpp_ledger.passport.errors import StorageError

from . import disk
from .errors import BusyError, NotALedgerError, ReadOnlyError
from .storage.base import APPEND_ONLY

SCHEMA_VERSION: Final = 2
BUSY_TIMEOUT_S: Final = 5.0
PAGE_SIZE: Final = 8192  # set when the file is created, before WAL (see connect)

_TRIGGERS: Final = tuple(
    f"""CREATE TRIGGER IF NOT EXISTS {table}_append_only_{op.lower()} BEFORE {op} ON {table}
       BEGIN SELECT RAISE(ABORT, '{message}: no {op.lower()}'); END"""
    for table, message in APPEND_ONLY
    for op in ("UPDATE", "DELETE")
)

# Events are their exact COSE bytes, numbered in storage order (idx 1, 2, ...: the log's
# leaves). Everything else about an event is read from those bytes; the other tables index
# them by what lookups need, and hold nothing an event does not say, except the brand that
# the trust roots named when the passport was issued.
_SCHEMA: Final = (
    # Small tables are keyed by their lookups (WITHOUT ROWID): no second b-tree for the key.
    """CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS roots (kid BLOB PRIMARY KEY, brand TEXT NOT NULL,
       key BLOB NOT NULL, prefixes TEXT NOT NULL) WITHOUT ROWID""",
    # A certificate's hash covers its subject, so (subject, hash) is as unique as the hash.
    """CREATE TABLE IF NOT EXISTS certs (subject BLOB NOT NULL, hash BLOB NOT NULL,
       issuer BLOB NOT NULL, cose BLOB NOT NULL, PRIMARY KEY (subject, hash)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS revocations (issuer BLOB NOT NULL, number INTEGER NOT NULL,
       cose BLOB NOT NULL, PRIMARY KEY (issuer, number)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS keys (kid BLOB PRIMARY KEY, key BLOB NOT NULL) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS brands (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE)""",
    """CREATE TABLE IF NOT EXISTS events (idx INTEGER PRIMARY KEY, cose BLOB NOT NULL)""",
    # Each passport's chain: (pid, seq) is the key, so a fork can never be written.
    """CREATE TABLE IF NOT EXISTS chains (pid BLOB NOT NULL, seq INTEGER NOT NULL,
       idx INTEGER NOT NULL REFERENCES events (idx), PRIMARY KEY (pid, seq)) WITHOUT ROWID""",
    # The hash of every event after a passport's first (a first event's hash is its pid).
    """CREATE TABLE IF NOT EXISTS event_hashes (hash BLOB PRIMARY KEY,
       idx INTEGER NOT NULL REFERENCES events (idx)) WITHOUT ROWID""",
    # One row per passport, keyed for the resolver and the clone check; first: its first event.
    # The GTIN-14 is kept as the number its 14 digits spell (store.gtin_key).
    """CREATE TABLE IF NOT EXISTS passports (gtin INTEGER NOT NULL, serial TEXT NOT NULL,
       brand INTEGER NOT NULL REFERENCES brands (id),
       first INTEGER NOT NULL REFERENCES events (idx),
       PRIMARY KEY (gtin, serial, brand)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS evidence (id INTEGER PRIMARY KEY, kind TEXT NOT NULL,
       pid BLOB, seq INTEGER, first BLOB NOT NULL, second BLOB NOT NULL, detail TEXT NOT NULL,
       found INTEGER NOT NULL)""",
    # The transparency log's complete subtrees of 16 leaves and more (level 4 up); smaller
    # ones are rehashed from the events (see log.py).
    """CREATE TABLE IF NOT EXISTS log_nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL,
       hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS log_keys (vkey TEXT PRIMARY KEY) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS checkpoints (size INTEGER PRIMARY KEY, note TEXT NOT NULL)""",
    """CREATE UNIQUE INDEX IF NOT EXISTS evidence_pair ON evidence (first, second)""",
)
# Restricted data, additive to version 2 (no new version: nothing else changes). A file from
# an earlier dpp gains these tables the first time restricted data or an audience is written
# to it (ensure_restricted_tables); until then they read as empty. Sealed boxes are the one
# kind of row a ledger deletes (erasure, with secure_delete); each erasure leaves a record.
RESTRICTED_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS disclosures (id INTEGER PRIMARY KEY, event BLOB NOT NULL,
       digest BLOB NOT NULL, field TEXT NOT NULL, audience TEXT NOT NULL, kem TEXT NOT NULL,
       kid BLOB NOT NULL, ct BLOB NOT NULL)""",
    """CREATE UNIQUE INDEX IF NOT EXISTS disclosures_box
       ON disclosures (event, digest, audience, kid)""",
    """CREATE TABLE IF NOT EXISTS erasures (id INTEGER PRIMARY KEY, pid BLOB NOT NULL,
       event BLOB NOT NULL, seq INTEGER NOT NULL, field TEXT NOT NULL, digests TEXT NOT NULL,
       time INTEGER NOT NULL, reason TEXT NOT NULL)""",
    """CREATE INDEX IF NOT EXISTS erasures_event ON erasures (event, field)""",
    # A brand root's audiences: who may open its restricted data (published in trust files).
    """CREATE TABLE IF NOT EXISTS audiences (root BLOB NOT NULL, name TEXT NOT NULL,
       kid BLOB NOT NULL, key BLOB NOT NULL, PRIMARY KEY (root, name, kid)) WITHOUT ROWID""",
)
_RESTRICTED_TRIGGERS: Final = tuple(t for t in _TRIGGERS if " ON erasures" in t)


def connect(
    path: Path,
    *,
    timeout: float = BUSY_TIMEOUT_S,
    create: bool = False,
    read_only: bool = False,
) -> sqlite_utils.Database:
    """Open (and with ``create``, initialise) the ledger file at ``path``.

    With ``read_only``, SQLite itself refuses every write, and the file opens on a read-only
    mount too.

    Raises:
        StorageError: the file does not exist (without ``create``), is not a ledger, or
            cannot be opened (a full disk and a read-only filesystem are said in words).
    """
    if not create and not path.is_file():
        raise NotALedgerError(f"no ledger at {path} (create one with `dpp init`)")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    if not read_only and path.exists():
        disk.repair_side_files(path)
    conn = open_reader(path, timeout) if read_only else open_connection(path, timeout)
    try:
        _prepare(conn, path, create=create, read_only=read_only)
    except BaseException as exc:
        conn.close()
        if isinstance(exc, sqlite3.DatabaseError):
            raise _unusable(exc, path) from exc
        raise
    return sqlite_utils.Database(conn)


def _prepare(conn: sqlite3.Connection, path: Path, *, create: bool, read_only: bool) -> None:
    """Check the version, set the journal, and create the schema of a new file."""
    conn.execute("PRAGMA foreign_keys = ON")
    db = sqlite_utils.Database(conn)
    fresh = create and "meta" not in db.table_names()
    if not fresh:
        _check_version(db, path)  # before anything is written to a file this dpp refuses
    elif not db.table_names():
        conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # only an empty file takes it
    if read_only:
        return
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    if fresh:
        with write(db):
            create_schema(db)


def open_connection(path: Path, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A raw connection to ``path`` in driver-level autocommit, with the busy timeout set.

    Raises:
        NotALedgerError: SQLite cannot open the file.
    """
    try:
        # Autocommit at the driver level: this module opens every transaction itself.
        conn = sqlite3.connect(
            str(path), timeout=timeout, isolation_level=None, check_same_thread=False
        )
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    except sqlite3.DatabaseError as exc:
        raise _unusable(exc, path) from exc
    return conn


def open_reader(path: Path, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A connection that can only read ``path``, also on a read-only mount.

    On a read-only filesystem SQLite cannot create the shared-memory file a WAL ledger
    needs; when the write-ahead log is empty (every write was checkpointed into the file)
    the file is opened as immutable, which it is for as long as the mount is read-only.

    Raises:
        StorageError: SQLite cannot open the file for reading.
    """
    uri = path.resolve().as_uri()
    conn: sqlite3.Connection | None = None
    try:
        conn = _uri_connection(f"{uri}?mode=ro", timeout)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # opens the WAL now
    except sqlite3.DatabaseError as exc:
        if conn is not None:
            conn.close()
        if not (disk.read_only_filesystem(path) and disk.wal_is_empty(path)):
            raise _unusable(exc, path) from exc
        try:
            conn = _uri_connection(f"{uri}?mode=ro&immutable=1", timeout)
        except sqlite3.DatabaseError as again:
            raise _unusable(again, path) from again
    return conn


def _uri_connection(uri: str, timeout: float) -> sqlite3.Connection:
    conn = sqlite3.connect(
        uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False
    )
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    return conn


def _unusable(exc: sqlite3.DatabaseError, path: Path) -> StorageError:
    """A failure to open: the disk's condition if that explains it, else not a ledger."""
    return disk.sqlite_failure(exc, path) or NotALedgerError(
        f"{path}: not a usable ledger file ({exc})"
    )


def create_schema(db: sqlite_utils.Database) -> None:
    """Create the tables, indexes and triggers that are missing, and stamp the version."""
    for statement in (*_SCHEMA, *RESTRICTED_SCHEMA, *_TRIGGERS):
        db.execute(statement)
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
        [str(SCHEMA_VERSION)],
    )


def has_restricted_tables(db: sqlite_utils.Database) -> bool:
    """Whether the file holds the restricted-data tables (a file from an earlier dpp may not)."""
    row = db.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN "
        "('disclosures', 'erasures', 'audiences')"
    ).fetchone()
    return bool(row[0] == len(("disclosures", "erasures", "audiences")))


def ensure_restricted_tables(db: sqlite_utils.Database) -> None:
    """Create the restricted-data tables if the file lacks them (inside a write transaction)."""
    for statement in (*RESTRICTED_SCHEMA, *_RESTRICTED_TRIGGERS):
        db.execute(statement)


def _check_version(db: sqlite_utils.Database, path: Path) -> None:
    if "meta" not in db.table_names():
        raise NotALedgerError(f"{path}: not a ledger file (no schema); create one with `dpp init`")
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = None if row is None else row[0]
    if version == str(SCHEMA_VERSION):
        return
    if version == "1":
        raise StorageError(
            f"{path}: a version 1 ledger file; this dpp reads version {SCHEMA_VERSION}: "
            "convert it in place with `dpp upgrade` (one transaction; the log is kept)"
        )
    raise StorageError(f"{path}: ledger schema version {version} is not supported")


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
        raise _convert(exc, conn) from exc
    try:
        yield db
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise _convert(exc, conn) from exc
        raise


@contextlib.contextmanager
def read(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """A consistent snapshot for several reads (a deferred transaction, never writing)."""
    conn = db.conn
    try:
        conn.execute("BEGIN")
        yield db
    except sqlite3.Error as exc:
        raise _convert(exc, conn) from exc
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _convert(exc: sqlite3.Error, conn: sqlite3.Connection) -> StorageError:
    message = str(exc)
    if "locked" in message or "busy" in message:
        return BusyError("the ledger is busy with another writer; retry in a moment")
    path = _file_of(conn)
    found = None if path is None else disk.sqlite_failure(exc, path)
    if found is not None:
        return found
    if getattr(exc, "sqlite_errorname", "").startswith("SQLITE_READONLY"):
        return ReadOnlyError(f"the ledger cannot be written here ({message}): reading only")
    return StorageError(f"the ledger refused the write: {message}")


def _file_of(conn: sqlite3.Connection) -> Path | None:
    """The file a connection has open (None for a memory database, or if SQLite cannot say)."""
    try:
        row = conn.execute("PRAGMA database_list").fetchone()
    except sqlite3.Error:
        return None
    return Path(row[2]) if row is not None and row[2] else None
