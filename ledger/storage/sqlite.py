"""The SQLite backend: one file, opened and migrated by ``ledger.db`` (sqlite-utils).

Writes are ``BEGIN IMMEDIATE`` transactions with a busy timeout: one writer at a time per file,
which is what keeps every append and the log's numbering serial.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import ClassVar, cast

import sqlite_utils

from dpp_ledger.ledger import db as _db
from dpp_ledger.passport.errors import StorageError

from .base import Rows, Storage


class SqliteStorage(Storage):
    """A ledger file through sqlite-utils (``db`` and ``conn`` for SQLite's own tools)."""

    kind: ClassVar[str] = "sqlite"
    driver_errors: ClassVar[tuple[type[Exception], ...]] = (sqlite3.Error,)

    def __init__(self, database: sqlite_utils.Database, path: Path, *, read_only: bool) -> None:
        super().__init__(str(path), read_only=read_only)
        self.db = database
        self.path = path

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = False,
        read_only: bool = False,
        timeout: float = _db.BUSY_TIMEOUT_S,
    ) -> SqliteStorage:
        """Open (or create) the ledger file at ``path``: see :func:`ledger.db.connect`."""
        database = _db.connect(path, timeout=timeout, create=create, read_only=read_only)
        return cls(database, path, read_only=read_only)

    @property
    def conn(self) -> sqlite3.Connection:
        """The raw connection (SQLite's own statements: pragmas, VACUUM)."""
        return self.db.conn

    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:  # noqa: D102
        return cast("Rows", self.db.conn.execute(sql, tuple(params)))

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> int:  # noqa: D102
        return self.db.conn.executemany(sql, rows).rowcount

    def write(self) -> AbstractContextManager[None]:  # noqa: D102
        return _db.write(self.db)  # type: ignore[return-value]

    def read(self) -> AbstractContextManager[None]:  # noqa: D102
        return _db.read(self.db)  # type: ignore[return-value]

    def table_names(self) -> list[str]:
        """The file's tables."""
        return self.db.table_names()

    def has_restricted_tables(self) -> bool:  # noqa: D102
        return _db.has_restricted_tables(self.db)

    def ensure_restricted_tables(self) -> None:  # noqa: D102
        _db.ensure_restricted_tables(self.db)

    def integrity(self) -> list[str]:  # noqa: D102
        result = self.db.execute("PRAGMA integrity_check").fetchall()
        if [tuple(r) for r in result] != [("ok",)]:
            return [f"SQLite integrity check: {result[0][0]}"]
        return []

    def prepare_erase(self) -> None:  # noqa: D102
        self.db.execute("PRAGMA secure_delete = ON")  # freed bytes are zeroed, not unlinked

    def compact(self, *, vacuum: bool) -> bool:  # noqa: D102
        conn = self.db.conn
        try:
            if vacuum:
                conn.execute("PRAGMA secure_delete = ON")
                conn.execute("VACUUM")
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        except sqlite3.Error as exc:
            raise StorageError(f"the ledger could not be compacted: {exc}") from exc
        return not busy

    def close(self) -> None:  # noqa: D102
        self.db.conn.close()
