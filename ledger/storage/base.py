"""The storage seam: the few operations the ledger needs from a database, whichever it is.

Above this seam the ledger speaks portable SQL (``?`` parameters, ``ON CONFLICT DO NOTHING``,
no engine's own functions) through :class:`Storage`; below it each backend keeps its own
connection handling, schema and migrations, transactions and error conversion. A backend turns
its driver's failures into the project's storage errors at its own boundary (``driver_errors``
lists what a backend still lets through from plain reads, for the one caller that reports them
as findings rather than failures: ``dpp check``).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, Final, Protocol

# Tables no statement may update or delete, with the words of the refusal: each backend
# enforces them with triggers of its own.
APPEND_ONLY: Final = (
    ("events", "events are append-only"),
    ("chains", "events are append-only"),
    ("event_hashes", "events are append-only"),
    ("passports", "passports are append-only"),
    ("brands", "brands are append-only"),
    ("evidence", "evidence is append-only"),
    ("log_nodes", "the log is append-only"),
    ("checkpoints", "checkpoints are append-only"),
    ("erasures", "erasure records are append-only"),
)


class Rows(Protocol):
    """What a query returns: rows to fetch or iterate, and how many rows a write touched."""

    @property
    def rowcount(self) -> int:
        """Rows written by the statement (-1 when the driver cannot say)."""

    def fetchone(self) -> Any:
        """The next row, or None."""

    def fetchall(self) -> list[Any]:
        """Every remaining row."""

    def __iter__(self) -> Iterator[Any]: ...


class Storage(abc.ABC):
    """One open ledger database: a SQLite file or a PostgreSQL schema."""

    kind: ClassVar[str]
    driver_errors: ClassVar[tuple[type[Exception], ...]] = ()

    def __init__(self, where: str, *, read_only: bool) -> None:
        self.where = where  # for messages: a file path, or a URL that never holds a password
        self.read_only = read_only

    @abc.abstractmethod
    def execute(self, sql: str, params: Sequence[object] = ()) -> Rows:
        """Run one statement of portable SQL with ``?`` parameters."""

    @abc.abstractmethod
    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> int:
        """Run one statement once per row; return how many rows it wrote in all."""

    @abc.abstractmethod
    def write(self) -> AbstractContextManager[None]:
        """One write transaction, serialised with every other writer of this ledger.

        Committed on success, rolled back on any error.

        Raises:
            BusyError: another writer held the ledger past the timeout.
            StorageError: the database refused the write.
        """

    @abc.abstractmethod
    def read(self) -> AbstractContextManager[None]:
        """A consistent snapshot for several reads; never writes, never blocks a writer."""

    @abc.abstractmethod
    def has_restricted_tables(self) -> bool:
        """Whether the restricted-data tables exist (an older SQLite file may lack them)."""

    @abc.abstractmethod
    def ensure_restricted_tables(self) -> None:
        """Create the restricted-data tables if missing (inside a write transaction)."""

    @abc.abstractmethod
    def integrity(self) -> list[str]:
        """The database engine's own verdict on its storage: one line per problem."""

    @abc.abstractmethod
    def prepare_erase(self) -> None:
        """Make the deletes that follow leave no readable copy the engine can avoid leaving."""

    @abc.abstractmethod
    def compact(self, *, vacuum: bool) -> bool:
        """Return freed space after an erasure; False if a reader kept it from finishing.

        Raises:
            StorageError: the engine refused.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Close the connection."""
