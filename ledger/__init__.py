"""The ledger: SQLite storage, key store, import and export of bundles (built on ``passport``)."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

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

if TYPE_CHECKING:
    from .bulk import IssueSummary, Outcome, Tally, issue_into, issue_many
    from .check import CheckReport, Problem, check_ledger
    from .clock import system_clock
    from .keystore import KeyInfo, KeyRole, KeyStore
    from .store import ImportResult, Ledger, PassportRow

# The rest loads when first used (PEP 562): ``from ledger import NotFoundError`` must not
# import SQLite, sqlite-utils and the bulk issuer, as the CLI's error handler does just that.
_LAZY: Final = {
    "CheckReport": "check",
    "ImportResult": "store",
    "IssueSummary": "bulk",
    "KeyInfo": "keystore",
    "KeyRole": "keystore",
    "KeyStore": "keystore",
    "Ledger": "store",
    "Outcome": "bulk",
    "PassportRow": "store",
    "Problem": "check",
    "Tally": "bulk",
    "check_ledger": "check",
    "issue_into": "bulk",
    "issue_many": "bulk",
    "system_clock": "clock",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value  # resolved once; later reads are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


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
    "Outcome",
    "PassportRow",
    "Problem",
    "ReadOnlyError",
    "Tally",
    "WorkerError",
    "check_ledger",
    "issue_into",
    "issue_many",
    "system_clock",
]
