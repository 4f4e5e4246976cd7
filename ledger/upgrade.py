"""``dpp upgrade``: convert a version 1 ledger file to version 2, in place, in one transaction.

Version 2 stores the same events in the same log order, so the transparency log keeps its
roots and every checkpoint it signed stays true; only the indexes around the events change
(see db.py). The copy is checked before it commits: the log's root at the newest checkpoint
must still be the signed one, every event must rehash to the log's stored blocks and read as
the chain row it sits in, and every event and passport must have come across. Anything
else rolls the whole conversion back and leaves the file as it was.

Once committed, the file is compacted (``VACUUM``) into the pages a new ledger has: the
version 1 tables' pages are freed by the conversion, and only a rebuild returns them.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

import sqlite_utils

from dpp_ledger.passport import wire
from dpp_ledger.passport.checkpoint import read_unverified
from dpp_ledger.passport.errors import DppError, StorageError

from . import db as _db
from .errors import NotALedgerError
from .log import STORED_LEVEL, MerkleLog
from .storage.sqlite import SqliteStorage

_V1_TABLES: Final = (
    "meta",
    "roots",
    "certs",
    "revocations",
    "keys",
    "passports",
    "events",
    "evidence",
    "log_nodes",
    "log_keys",
    "checkpoints",
)

_COPY: Final = (
    "INSERT INTO meta (key, value) SELECT key, value FROM v1_meta WHERE key <> 'schema_version'",
    "INSERT INTO roots (kid, brand, key, prefixes) SELECT kid, brand, key, prefixes FROM v1_roots",
    "INSERT INTO certs (subject, hash, issuer, cose) SELECT subject, hash, issuer, cose "
    "FROM v1_certs",
    "INSERT INTO revocations (issuer, number, cose) SELECT issuer, number, cose "
    "FROM v1_revocations",
    "INSERT INTO keys (kid, key) SELECT kid, key FROM v1_keys",
    "INSERT INTO events (idx, cose) SELECT idx, cose FROM v1_events ORDER BY idx",
    "INSERT INTO chains (pid, seq, idx) SELECT pid, seq, idx FROM v1_events",
    "INSERT INTO event_hashes (hash, idx) SELECT hash, idx FROM v1_events WHERE seq > 0",
    "INSERT INTO brands (name) SELECT DISTINCT brand FROM v1_passports ORDER BY brand",
    "INSERT INTO passports (gtin, serial, brand, first) "
    "SELECT CAST(p.gtin AS INTEGER), p.serial, b.id, e.idx FROM v1_passports p "
    "JOIN brands b ON b.name = p.brand JOIN v1_events e ON e.pid = p.pid AND e.seq = 0",
    "INSERT INTO evidence (id, kind, pid, seq, first, second, detail, found) "
    "SELECT id, kind, pid, seq, first, second, detail, found FROM v1_evidence",
    "INSERT INTO log_keys (vkey) SELECT vkey FROM v1_log_keys",
    "INSERT INTO checkpoints (size, note) SELECT size, note FROM v1_checkpoints",
)


@dataclass(frozen=True)
class Upgraded:
    """What an upgrade carried over."""

    events: int
    passports: int
    checkpoint_size: int | None  # the newest checkpoint, whose root was checked
    not_compacted: str | None  # why the file could not be compacted afterwards, if it could not


def upgrade(path: Path) -> Upgraded:
    """Convert the version 1 ledger at ``path`` to the current version.

    Raises:
        NotALedgerError: no ledger there. StorageError: not a version 1 file, or the copy
            did not come out the same (nothing is changed then).
    """
    if not path.is_file():
        raise NotALedgerError(f"no ledger at {path}")
    conn = _db.open_connection(path)
    try:
        conn.execute("PRAGMA synchronous = FULL")
        db = sqlite_utils.Database(conn)
        version = _version(db, path)
        if version != "1":
            raise StorageError(f"{path}: a version {version} ledger file; only version 1 upgrades")
        with _db.write(db):
            done = _convert(db, path)
        return replace(done, not_compacted=_compact(conn))
    except sqlite3.DatabaseError as exc:
        raise NotALedgerError(f"{path}: not a usable ledger file ({exc})") from exc
    finally:
        conn.close()


def _compact(conn: sqlite3.Connection) -> str | None:
    """Rebuild the converted file with a new ledger's page size; say why not, if it fails.

    VACUUM is a transaction of its own: interrupted, it leaves the converted file as it was.
    The page size only changes outside WAL, which needs the file to itself for a moment.
    """
    try:
        conn.execute("PRAGMA journal_mode = DELETE")
        conn.execute(f"PRAGMA page_size = {_db.PAGE_SIZE}")
        conn.execute("VACUUM")
    except sqlite3.OperationalError as exc:
        return str(exc)
    finally:
        conn.execute("PRAGMA journal_mode = WAL")
    return None


def _version(db: sqlite_utils.Database, path: Path) -> str | None:
    if "meta" not in db.table_names():
        raise NotALedgerError(f"{path}: not a ledger file (no schema)")
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else str(row[0])


def _convert(db: sqlite_utils.Database, path: Path) -> Upgraded:
    if _version(db, path) != "1":  # another process upgraded it first
        raise StorageError(f"{path}: no longer a version 1 ledger file")
    # Version 1's triggers and indexes carry names version 2 uses: out of the way first.
    for kind in ("trigger", "index"):
        names = db.execute(
            "SELECT name FROM sqlite_master WHERE type = ? AND sql IS NOT NULL", [kind]
        ).fetchall()
        for (name,) in names:
            db.execute(f'DROP {kind.upper()} "{name}"')
    for table in _V1_TABLES:
        db.execute(f'ALTER TABLE "{table}" RENAME TO "v1_{table}"')
    _db.create_schema(db)
    for statement in _COPY:
        db.execute(statement)
    db.execute(
        "INSERT INTO log_nodes (level, idx, hash) SELECT level, idx, hash FROM v1_log_nodes "
        "WHERE level >= ?",
        [STORED_LEVEL],
    )
    old = {
        table: db.execute(f'SELECT count(*) FROM "v1_{table}"').fetchone()[0]  # noqa: S608
        for table in ("events", "passports")
    }
    for table in _V1_TABLES:
        db.execute(f'DROP TABLE "v1_{table}"')
    return _checked(db, path, old)


def _checked(db: sqlite_utils.Database, path: Path, old: dict[str, int]) -> Upgraded:
    """The converted ledger, once it proves to hold what version 1 held."""
    events = db.execute("SELECT count(*) FROM chains").fetchone()[0]
    passports = db.execute("SELECT count(*) FROM passports").fetchone()[0]
    log = MerkleLog(SqliteStorage(db, path, read_only=False))
    problems = list(log.shape())
    if (events, passports) != (old["events"], old["passports"]) or log.size() != events:
        problems.append(
            f"{events} of {old['events']} events and {passports} of {old['passports']} "
            "passports came across"
        )
    row = db.execute("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
    size = None
    if row is not None:
        checkpoint = read_unverified(str(row[0]))
        size = checkpoint.size
        if size > log.size() or log.root(size) != checkpoint.root:
            problems.append(f"the log's root at size {size} is not the one its checkpoint signed")
    # The stored blocks came over as they were: rehash every event under them, and read every
    # event, so that damage inside a block is refused too, not only at the log's right edge.
    problems += log.audit_blocks(0, log.size())
    problems += _unreadable_events(db)
    if problems:
        raise StorageError(f"{path}: not upgraded, the file is unchanged: {problems[0]}")
    return Upgraded(events, passports, size, None)


def _unreadable_events(db: sqlite_utils.Database) -> list[str]:
    """Events whose bytes do not parse, or name another place in a chain than their row."""
    rows = db.execute(
        "SELECT c.pid, c.seq, c.idx, e.cose FROM chains c JOIN events e ON e.idx = c.idx"
    )
    for pid, seq, idx, cose in rows:
        try:
            event = wire.parse_event(bytes(cose), what=f"the event at log index {idx - 1}")
        except DppError as exc:
            return [str(exc)]
        if (event.pid, event.seq) != (bytes(pid), seq):
            return [f"the event at log index {idx - 1} is not event {seq} of its passport"]
    return []
