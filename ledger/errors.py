"""Errors the ledger adds to the project's hierarchy (all rooted in :class:`passport.DppError`)."""

from __future__ import annotations

from dpp_ledger.passport.errors import ConflictError, DppError, StorageError


class NotFoundError(DppError):
    """No passport (or key, or record) matches what was asked for."""


class AmbiguousError(DppError):
    """A prefix or identifier matches more than one passport."""


class MovedOnError(ConflictError):
    """The passport's head changed since the event was prepared: re-read it and retry."""


class ForkError(ConflictError):
    """Two validly signed events at one (passport, seq): only the evidence was stored."""


class CloneError(ConflictError):
    """Another passport already exists for this GS1 identifier: only the evidence was stored."""


class BusyError(StorageError):
    """Another process held the ledger for longer than the busy timeout: retry."""


class KeyStoreError(DppError):
    """A key file is missing, unreadable, unsafe, or its passphrase is wrong."""


class KeyNotFoundError(KeyStoreError, NotFoundError):
    """No key of that name in the key store."""


class DiskFullError(StorageError):
    """The disk (or the user's quota) is full: the write was not made."""


class ReadOnlyError(StorageError):
    """The ledger (or a file to write) is on a read-only filesystem or is not writable."""


class IssueStoppedError(StorageError):
    """Bulk issuance stopped part-way: whole batches before the failure stay stored.

    ``committed`` is how many new passports those batches hold.
    """

    def __init__(self, message: str, *, committed: int) -> None:
        super().__init__(message)
        self.committed = committed


class NotALedgerError(StorageError):
    """The path holds no ledger, or a file that is not one."""


class WorkerError(DppError):
    """A process sharing a long job stopped before finishing its part: nothing was concluded."""


class LocationError(NotALedgerError):
    """A ledger location that cannot be used as given (a URL holding a password, say)."""


class UnreachableError(StorageError):
    """The database server holding the ledger cannot be reached, or refused the connection."""
