"""The storage seam and its two backends: SQLite (a file) and PostgreSQL (a shared server).

:func:`open_storage` chooses by location: a ``postgresql://`` URL opens PostgreSQL (importing
psycopg only then), anything else is a SQLite file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from .base import Rows, Storage
from .location import Location, as_location, checked_url, is_url

BUSY_TIMEOUT_S: Final = 5.0


def open_storage(
    location: Location,
    *,
    create: bool = False,
    read_only: bool = False,
    timeout: float = BUSY_TIMEOUT_S,
    pooled: bool = False,
) -> Storage:
    """Open the ledger database at ``location``.

    ``pooled`` (for a server's many threads): on PostgreSQL, each statement or transaction
    borrows a connection from this process's pool; SQLite has no use for it.

    Raises:
        StorageError: as each backend's ``open`` says (no ledger there, unreachable, refused).
    """
    if is_url(location):
        from .postgres import PooledStorage, PostgresStorage  # noqa: PLC0415 - psycopg only here

        if pooled and not create:
            return PooledStorage.open_pooled(str(location), read_only=read_only, timeout=timeout)
        return PostgresStorage.open(
            str(location), create=create, read_only=read_only, timeout=timeout
        )
    from .sqlite import SqliteStorage  # noqa: PLC0415 - the same seam for both

    return SqliteStorage.open(Path(location), create=create, read_only=read_only, timeout=timeout)


def new_postgres_schema(url: str, prefix: str) -> str:
    """A new, empty schema in the PostgreSQL database at ``url``: its URL (see postgres.py).

    Raises:
        StorageError: as :func:`ledger.storage.postgres.new_schema` says.
    """
    from .postgres import new_schema  # noqa: PLC0415 - psycopg only for PostgreSQL

    return new_schema(url, prefix)


def drop_postgres_schema(url: str, prefix: str) -> None:
    """Drop a schema :func:`new_postgres_schema` made (its name starts with ``prefix``).

    Raises:
        StorageError: as :func:`ledger.storage.postgres.drop_schema` says.
    """
    from .postgres import drop_schema  # noqa: PLC0415 - psycopg only for PostgreSQL

    drop_schema(url, prefix)


__all__ = [
    "BUSY_TIMEOUT_S",
    "Location",
    "Rows",
    "Storage",
    "as_location",
    "checked_url",
    "drop_postgres_schema",
    "is_url",
    "new_postgres_schema",
    "open_storage",
]
