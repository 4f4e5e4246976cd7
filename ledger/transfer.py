"""Copying a whole ledger between backends (SQLite file <-> PostgreSQL schema), resumably.

Events go across in log order, in batches, each batch one write transaction through the same
path issuance takes (``insert_events``), so the copy's log is built as the source's was and a
killed copy leaves whole batches. Run again, a copy first proves that what the destination
holds is the source's log up to its size (the same root), then goes on from there. The records
that verifications rest on (roots, log keys, certificates, revocations, keys, audiences) and
what lies beside the chain (evidence, sealed boxes, erasure records, signed checkpoints) are
copied with ``ON CONFLICT DO NOTHING``, so copying them again adds nothing. The copy succeeds
only once the destination's log has the source's root at the newest checkpoint's size.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from dpp_ledger.passport import wire
from dpp_ledger.passport.checkpoint import read_unverified
from dpp_ledger.passport.errors import LogError
from dpp_ledger.passport.events import Event

from .errors import NotALedgerError
from .storage import Location, Storage
from .store import Identifier, Ledger, gtin_key, insert_events

BATCH: Final = 5000
Progress = Callable[[int, int], None]  # (events in the copy, events to copy in all)

# Tables copied whole, in this order; each row keyed so that copying it again adds nothing.
_RECORDS: Final = (
    ("roots", ("kid", "brand", "key", "prefixes"), "kid"),
    ("log_keys", ("vkey",), "vkey"),
    ("certs", ("subject", "hash", "issuer", "cose"), "subject, hash"),
    ("revocations", ("issuer", "number", "cose"), "issuer, number"),
    ("keys", ("kid", "key"), "kid"),
)
_BESIDE: Final = (
    ("evidence", ("kind", "pid", "seq", "first", "second", "detail", "found"), "id"),
    ("checkpoints", ("size", "note"), "size"),
)
_RESTRICTED: Final = (
    ("audiences", ("root", "name", "kid", "key"), "root, name, kid"),
    ("disclosures", ("event", "digest", "field", "audience", "kem", "kid", "ct"), "id"),
)


@dataclass(frozen=True)
class CopyResult:
    """A verified copy: its size, how much of it this run copied, and the root both share."""

    events: int
    copied: int
    checkpoint_size: int
    root: bytes

    @property
    def root_b64(self) -> str:
        """The shared root as checkpoints print it."""
        return base64.b64encode(self.root).decode()


def copy_ledger(
    source: Location, dest: Location, *, batch: int = BATCH, progress: Progress | None = None
) -> CopyResult:
    """Copy the ledger at ``source`` to ``dest`` (made if missing), then verify the copy.

    Raises:
        NotALedgerError: ``dest`` holds a ledger that is not a copy of ``source``'s beginning.
        LogError: the copy's log does not have the source's root (nothing is reported copied).
        StorageError: either database failed; what was committed stays and a rerun resumes.
    """
    with Ledger.open(source, read_only=True) as src, Ledger.create(dest) as dst:
        size = src.log.size()
        start = _resume_point(src, dst, size, dest)
        _copy_rows(src.db, dst.db, (*_RECORDS, ("meta", ("key", "value"), "key")))
        done = start
        for events, passports in _batches(src.db, start, size, batch):
            with dst.db.write():
                insert_events(dst.db, events, passports)
            done += len(events)
            if progress is not None:
                progress(done, size)
        _copy_rows(src.db, dst.db, (*_BESIDE, *_RESTRICTED), upto=size)
        _copy_erasures(src.db, dst.db)
        return _verified(src, dst, size, done - start)


def _resume_point(src: Ledger, dst: Ledger, size: int, dest: Location) -> int:
    """How many events ``dst`` already holds of ``src``'s log (0 for an empty ledger).

    Raises:
        NotALedgerError: they are not the first events of the source's log.
    """
    held = dst.log.size()
    if held == 0:
        return 0
    if held > size or dst.log.root(held) != src.log.root(held):
        raise NotALedgerError(
            f"{dest} already holds a ledger that is not a copy of this one ({held} events whose "
            "log differs): copy into an empty place"
        )
    return held


def _batches(
    db: Storage, start: int, size: int, batch: int
) -> Iterator[tuple[list[Event], dict[bytes, Identifier]]]:
    """The source's events after ``start``, in log order, with the identifiers they start."""
    for low in range(start, size, batch):
        high = min(low + batch, size)
        rows = db.execute(
            "SELECT idx, cose FROM events WHERE idx > ? AND idx <= ? ORDER BY idx", [low, high]
        ).fetchall()
        if [int(r[0]) for r in rows] != list(range(low + 1, high + 1)):
            raise LogError(f"the source has no event at some log index in {low}-{high - 1}")
        events = [wire.parse_event(bytes(cose)) for _, cose in rows]
        passports = {
            e.pid: (_brand(db, e, int(idx)), e.data["gtin"], e.data["serial"])
            for e, (idx, _) in zip(events, rows, strict=True)
            if e.seq == 0
        }
        yield events, passports


def _brand(db: Storage, first: Event, idx: int) -> str:
    """The brand the source issued passport ``first`` under (its identifier row).

    Raises:
        NotALedgerError: the source has no identifier row for it (``dpp check`` says more).
    """
    row = db.execute(
        "SELECT b.name FROM passports p JOIN brands b ON b.id = p.brand "
        "WHERE p.gtin = ? AND p.serial = ? AND p.first = ?",
        [gtin_key(first.data["gtin"]), first.data["serial"], idx],
    ).fetchone()
    if row is None:
        raise NotALedgerError(
            f"the source has no identifier row for passport {first.pid.hex()[:16]}…: "
            "run `dpp check` on it"
        )
    return str(row[0])


def _copy_rows(
    src: Storage,
    dst: Storage,
    tables: Sequence[tuple[str, tuple[str, ...], str]],
    *,
    upto: int | None = None,
) -> None:
    """Copy whole tables (names fixed above), in key order, adding only what is missing."""
    for table, columns, order in tables:
        if table in ("audiences", "disclosures") and not src.has_restricted_tables():
            continue
        names = ", ".join(columns)
        where = " WHERE size <= ?" if table == "checkpoints" and upto is not None else ""
        params = [upto] if where else []
        rows = src.execute(
            f"SELECT {names} FROM {table}{where} ORDER BY {order}",  # noqa: S608 - fixed names
            params,
        ).fetchall()
        if not rows:
            continue
        marks = ", ".join("?" for _ in columns)
        with dst.write():
            if table in ("audiences", "disclosures"):
                dst.ensure_restricted_tables()
            dst.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING",  # noqa: S608
                [tuple(r) for r in rows],
            )


def _copy_erasures(src: Storage, dst: Storage) -> None:
    """Copy erasure records once: a field of an event is erased once, so (event, field) is key."""
    if not src.has_restricted_tables():
        return
    columns = "pid, event, seq, field, digests, time, reason"
    rows = src.execute(f"SELECT {columns} FROM erasures ORDER BY id").fetchall()  # noqa: S608
    if not rows:
        return
    with dst.write():
        dst.ensure_restricted_tables()
        done = {(bytes(e), f) for e, f in dst.execute("SELECT event, field FROM erasures")}
        dst.executemany(
            f"INSERT INTO erasures ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            [tuple(r) for r in rows if (bytes(r[1]), r[3]) not in done],
        )


def _verified(src: Ledger, dst: Ledger, size: int, copied: int) -> CopyResult:
    """The copy's result once its log has the source's root at the newest checkpoint.

    Raises:
        LogError: it does not, or the copy holds another number of events.
    """
    note = src.checkpoints.latest()
    at = size if note is None else read_unverified(note).size
    at = min(at, size)
    root = src.log.root(at)
    if (
        dst.log.size() < size
        or dst.log.root(at) != root
        or dst.log.root(size) != src.log.root(size)
    ):
        raise LogError(
            f"the copy's log differs from the source's at size {at}: the copy is not usable"
        )
    if note is not None and dst.checkpoints.latest() != note:
        raise LogError("the copy's newest checkpoint is not the source's")
    return CopyResult(dst.log.size(), copied, at, root)
