"""The ledger: SQLite storage, key store, import and export of bundles (built on ``passport``)."""

from .bulk import IssueSummary, issue_many
from .check import CheckReport, Problem, check_ledger
from .errors import (
    AmbiguousError,
    BusyError,
    CloneError,
    DiskFullError,
    ForkError,
    KeyStoreError,
    MovedOnError,
    NotALedgerError,
    NotFoundError,
    ReadOnlyError,
    WorkerError,
)
from .keystore import KeyInfo, KeyRole, KeyStore
from .store import ImportResult, Ledger, PassportRow, system_clock

__all__ = [
    "AmbiguousError",
    "BusyError",
    "CheckReport",
    "CloneError",
    "DiskFullError",
    "ForkError",
    "ImportResult",
    "IssueSummary",
    "KeyInfo",
    "KeyRole",
    "KeyStore",
    "KeyStoreError",
    "Ledger",
    "MovedOnError",
    "NotALedgerError",
    "NotFoundError",
    "PassportRow",
    "Problem",
    "ReadOnlyError",
    "WorkerError",
    "check_ledger",
    "issue_many",
    "system_clock",
]
