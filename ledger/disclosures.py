"""Sealed boxes in a ledger, and their erasure.

Boxes are stored beside the events, never inside them, so that they can be erased: erasure
deletes a field's boxes with SQLite's ``secure_delete`` on (freed bytes are overwritten with
zeros), then checkpoints the WAL and truncates it, so the ciphertext is gone from the files
on disk, not just unlinked; ``--vacuum`` rewrites the whole file as well. Signatures, chain
and log are untouched: the events sign salted digests only. Each erasure leaves a record
(which field of which event, when, why; never the value), and an erased field's boxes are
never stored again, even from an older copy of a bundle. On PostgreSQL an erasure is a
DELETE: the rows' bytes stay in the table's pages until VACUUM reclaims them (``--vacuum``
rewrites the table at once), and in WAL archives and backups for as long as those are kept.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Final

from dpp_ledger import passport as pp
from dpp_ledger.passport.events import Event
from dpp_ledger.passport.report import Access, format_time
from dpp_ledger.passport.sealing import Box

from .errors import NotFoundError
from .storage import Storage

MAX_REASON: Final = 500


@dataclass(frozen=True)
class Erasure:
    """The record an erasure leaves: what field of which event, when, why."""

    pid: bytes
    event: bytes
    seq: int
    field: str
    digests: tuple[bytes, ...]
    time: int
    reason: str

    def describe(self) -> str:
        """The record as a person reads it."""
        return f"event {self.seq}: {self.field} erased {format_time(self.time)}: {self.reason}"


class Disclosures:
    """The ``disclosures`` and ``erasures`` tables of one ledger."""

    def __init__(self, database: Storage) -> None:
        self.db = database

    def insert(self, boxes: Iterable[Box]) -> int:
        """Store verified boxes (inside the caller's write); return how many were new.

        Boxes of a field erased from their event are not stored again.
        """
        boxes = tuple(boxes)
        erased = self._erased({b.event for b in boxes})
        rows = [
            (b.event, b.digest, b.field, b.audience, str(b.kem), b.kid, b.ct)
            for b in boxes
            if (b.event, b.field) not in erased
        ]
        if not rows:
            return 0
        self.db.ensure_restricted_tables()
        return self.db.executemany(
            "INSERT INTO disclosures (event, digest, field, audience, kem, kid, ct) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            rows,
        )

    def _erased(self, events: Iterable[bytes]) -> set[tuple[bytes, str]]:
        """The (event, field) pairs erased among ``events``."""
        if not self.db.has_restricted_tables():
            return set()
        found: set[tuple[bytes, str]] = set()
        for event in events:
            rows = self.db.execute("SELECT field FROM erasures WHERE event = ?", [event])
            found.update((event, field) for (field,) in rows)
        return found

    def boxes(self, events: Sequence[Event]) -> tuple[Box, ...]:
        """The stored boxes of ``events``."""
        if not self.db.has_restricted_tables() or not events:
            return ()
        found: list[Box] = []
        for event in events:
            rows = self.db.execute(
                "SELECT digest, field, audience, kem, kid, ct FROM disclosures WHERE event = ? "
                "ORDER BY id",
                [event.hash],
            )
            found += [
                Box(event.hash, bytes(d), f, a, pp.Kem(k), bytes(kid), bytes(ct))
                for d, f, a, k, kid, ct in rows
            ]
        return tuple(found)

    def erase(
        self, events: Sequence[Event], field: str, *, reason: str, time: int
    ) -> tuple[Erasure, ...]:
        """Delete every box of ``field`` in the chain ``events``; record each erasure.

        Raises:
            SchemaError: a reason that is empty, too long, or not one line of visible text.
            NotFoundError: the chain never held a box of that field.
            ConflictError: the field was erased before.
        """
        reason = check_reason(reason)
        self.db.prepare_erase()  # SQLite: freed bytes are zeroed, not just unlinked
        with self.db.write():
            self.db.ensure_restricted_tables()
            done = tuple(r for e in events if (r := self._erase_one(e, field, reason, time)))
            if not done:
                self._refuse(events, field)
        return done

    def _erase_one(self, event: Event, field: str, reason: str, time: int) -> Erasure | None:
        digests = tuple(
            bytes(d)
            for (d,) in self.db.execute(
                "SELECT DISTINCT digest FROM disclosures WHERE event = ? AND field = ?",
                [event.hash, field],
            )
        )
        if not digests:
            return None
        self.db.execute(
            "DELETE FROM disclosures WHERE event = ? AND field = ?", [event.hash, field]
        )
        record = Erasure(event.pid, event.hash, event.seq, field, digests, time, reason)
        self.db.execute(
            "INSERT INTO erasures (pid, event, seq, field, digests, time, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [record.pid, record.event, record.seq, field, _hex(digests), time, reason],
        )
        return record

    def _refuse(self, events: Sequence[Event], field: str) -> None:
        """Say why there was nothing to erase.

        Raises:
            ConflictError: the field was erased before. NotFoundError: it was never sealed.
        """
        earlier = [e for e in self.erasures(events[0].pid) if e.field == field] if events else []
        if earlier:
            raise pp.ConflictError(f"{field} was already erased ({earlier[-1].describe()})")
        pid = events[0].pid.hex()[:16] if events else "?"
        raise NotFoundError(f"passport {pid}… holds no sealed {field} to erase")

    def erasures(self, pid: bytes) -> tuple[Erasure, ...]:
        """The erasure records of passport ``pid``, oldest first."""
        if not self.db.has_restricted_tables():
            return ()
        rows = self.db.execute(
            "SELECT event, seq, field, digests, time, reason FROM erasures WHERE pid = ? "
            "ORDER BY id",
            [pid],
        )
        return tuple(
            Erasure(pid, bytes(e), s, f, tuple(bytes.fromhex(d) for d in json.loads(ds)), t, r)
            for e, s, f, ds, t, r in rows
        )

    def annotate(self, report: pp.Report) -> pp.Report:
        """``report`` with each erased value named by the erasure record that removed it."""
        if report.pid is None or not report.restricted:
            return report
        by_digest = {d: e for e in self.erasures(report.pid) for d in e.digests}
        entries = tuple(
            replace(r, field=e.field, note=f"{format_time(e.time)}: {e.reason}")
            if r.access is Access.ERASED and (e := by_digest.get(r.digest)) is not None
            else r
            for r in report.restricted
        )
        return replace(report, restricted=entries)

    def problems(self) -> list[str]:
        """What ``dpp check`` reports: boxes of no stored event, boxes of an erased field."""
        if not self.db.has_restricted_tables():
            return []
        (stray,) = self.db.execute(
            "SELECT count(*) FROM disclosures d WHERE NOT EXISTS "
            "(SELECT 1 FROM event_hashes h WHERE h.hash = d.event) AND NOT EXISTS "
            "(SELECT 1 FROM chains c WHERE c.pid = d.event AND c.seq = 0)"
        ).fetchone()
        (kept,) = self.db.execute(
            "SELECT count(*) FROM disclosures d JOIN erasures e "
            "ON e.event = d.event AND e.field = d.field"
        ).fetchone()
        found = []
        if stray:
            found.append(f"{stray} sealed boxes belong to no stored event")
        if kept:
            found.append(f"{kept} sealed boxes of erased fields are still stored")
        return found


def check_reason(reason: str) -> str:
    """An erasure's reason: one line of visible text, 1 to 500 characters.

    Raises:
        SchemaError: anything else.
    """
    text = reason.strip() if isinstance(reason, str) else ""
    if not 0 < len(text) <= MAX_REASON or any(
        unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") for c in text
    ):
        raise pp.SchemaError(
            f"an erasure's reason is one line of 1 to {MAX_REASON} visible characters"
        )
    return text


def compact(database: Storage, *, vacuum: bool) -> bool:
    """Return the space an erasure freed: see :meth:`Storage.compact`.

    On SQLite: the WAL moved into the file and truncated, and with ``vacuum`` the whole file
    rewritten. On PostgreSQL: with ``vacuum``, the table of sealed boxes rewritten.
    Returns False if another process's read kept the WAL from being emptied (run again).

    Raises:
        StorageError: the database refused.
    """
    return database.compact(vacuum=vacuum)


def _hex(digests: Iterable[bytes]) -> str:
    return json.dumps([d.hex() for d in digests])
