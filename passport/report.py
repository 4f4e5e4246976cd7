"""What a verification found: one line per check, the history in plain words, the item's state."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import DppError


class Status(StrEnum):
    """How one check ended."""

    PASS = "pass"  # noqa: S105 - a status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


class Outcome(StrEnum):
    """The verdict on a whole bundle."""

    VALID = "valid"
    WARNINGS = "valid with warnings"
    INVALID = "invalid"


@dataclass(frozen=True)
class Check:
    """One check: its name (decoding, signatures, chain, ...), status, and a sentence saying why."""

    name: str
    status: Status
    detail: str
    error: DppError | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class HistoryEntry:
    """One event as a person reads it."""

    seq: int
    time: int
    type: str
    actor: str
    summary: str

    def when(self) -> str:
        """The event's claimed time in UTC, ISO 8601."""
        return format_time(self.time)


class Access(StrEnum):
    """What a verifier could read of one restricted value."""

    RESTRICTED = "restricted"
    VERIFIED = "opened and verified"
    ERASED = "erased"


@dataclass(frozen=True)
class Restricted:
    """One restricted value of an event: the signed digest, and what became of its boxes.

    ``field`` and ``audiences`` are what the boxes name (None and empty once no box is
    left); ``value`` is set only when a box opened to a disclosure whose digest the event
    signs (``VERIFIED``). ``note`` says more (an erasure's time and reason).
    """

    seq: int
    event: bytes
    digest: bytes
    field: str | None
    audiences: tuple[str, ...]
    access: Access
    value: Any = None
    note: str = ""

    def describe(self) -> str:
        """The value as a person reads it: field, then what can be seen of it."""
        name = self.field or "a restricted value"
        if self.access is Access.VERIFIED:
            return f"{name}: opened and verified against the signed digest"
        if self.access is Access.RESTRICTED:
            return f"{name}: restricted ({', '.join(self.audiences)})"
        return f"{name}: erased{f' ({self.note})' if self.note else ''}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view; the value only when opened and verified."""
        view: dict[str, Any] = {
            "seq": self.seq,
            "event": self.event.hex(),
            "digest": self.digest.hex(),
            "field": self.field,
            "audiences": list(self.audiences),
            "access": str(self.access),
        }
        if self.access is Access.VERIFIED:
            view["value"] = self.value
        if self.note:
            view["note"] = self.note
        return view


@dataclass(frozen=True)
class Alert:
    """A flag a buyer must read before anything else: the item is stolen, or at its end of life."""

    kind: str  # "stolen" or "end_of_life"
    time: int
    by: str  # who reported it, as a person reads it ("its owner", "Maison (brand)")
    detail: str = ""  # the end of life's fate, a stolen report's case reference

    def headline(self) -> str:
        """One line that says what happened, who said so, when, and what to do."""
        when = format_time(self.time)[:10]
        if self.kind == "stolen":
            case = f" (case {self.detail})" if self.detail else ""
            return f"Reported stolen by {self.by} on {when}{case}: do not buy; contact the brand"
        return (
            f"End of life: {self.detail or 'retired'}, reported by {self.by} on {when}: "
            "this passport is closed; the item should not be on sale"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the alert."""
        return {
            "kind": self.kind,
            "time": self.time,
            "when": format_time(self.time),
            "by": self.by,
            "detail": self.detail,
            "headline": self.headline(),
        }


@dataclass(frozen=True)
class Report:
    """The result of verifying a passport; falsy when the outcome is invalid."""

    checks: tuple[Check, ...]
    history: tuple[HistoryEntry, ...] = ()
    pid: bytes | None = None
    brand: str | None = None
    brand_key: bytes | None = None  # key id of the root that issued the item: its identity
    gtin: str | None = None
    serial: str | None = None
    owner: bytes | None = None
    channel: str | None = None
    flags: frozenset[str] = frozenset()
    head: bytes | None = None
    alerts: tuple[Alert, ...] = ()
    restricted: tuple[Restricted, ...] = ()

    @property
    def outcome(self) -> Outcome:
        """Invalid if any check failed; valid with warnings if any warned; else valid."""
        statuses = {check.status for check in self.checks}
        if Status.FAIL in statuses or not self.checks:
            return Outcome.INVALID
        return Outcome.WARNINGS if Status.WARN in statuses else Outcome.VALID

    def __bool__(self) -> bool:
        return self.outcome is not Outcome.INVALID

    @property
    def failures(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if c.status is Status.FAIL)

    @property
    def warnings(self) -> tuple[Check, ...]:
        """The checks that passed with a warning."""
        return tuple(c for c in self.checks if c.status is Status.WARN)

    def raise_for_outcome(self) -> None:
        """Raise the error behind the first failed check, if any.

        Raises:
            DppError: the specific error (signature, chain, authority, ...) of the first failure.
        """
        for check in self.failures:
            raise check.error or DppError(check.detail)
        if not self.checks:
            raise DppError("nothing was checked")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view of the report."""
        return {
            "outcome": str(self.outcome),
            "pid": self.pid.hex() if self.pid else None,
            "brand": self.brand,
            "brand_key": self.brand_key.hex() if self.brand_key else None,
            "gtin": self.gtin,
            "serial": self.serial,
            "owner": self.owner.hex() if self.owner else None,
            "channel": self.channel,
            "flags": sorted(self.flags),
            "stolen": "stolen" in self.flags,
            "end_of_life": "end_of_life" in self.flags,
            "alerts": [alert.to_dict() for alert in self.alerts],
            "head": self.head.hex() if self.head else None,
            "checks": [
                {"name": c.name, "status": str(c.status), "detail": c.detail} for c in self.checks
            ],
            "history": [
                {
                    "seq": h.seq,
                    "time": h.time,
                    "when": h.when(),
                    "type": h.type,
                    "actor": h.actor,
                    "summary": h.summary,
                }
                for h in self.history
            ],
            "restricted": [r.to_dict() for r in self.restricted],
        }


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 key``, ``2 keys``: a count with its noun agreeing (``many`` for irregular plurals)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


def format_time(seconds: int) -> str:
    """Unix seconds as an ISO 8601 UTC time (``2024-05-01T10:00:00Z``)."""
    moment = datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
