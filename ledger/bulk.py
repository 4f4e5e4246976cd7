"""Bulk issuance: thousands of passports from one call, committed in whole batches.

Each item is signed, checked against its schema and against the signer's authority (a trusted
brand root, or a factory certificate valid at that time, covering the GTIN's brand prefix),
then stored with its batch in one transaction. A refused item is named with its reason while
the rest are issued. Killed at any moment, the ledger holds whole batches only; stopped by a
full disk or a busy ledger, it says how many passports were committed. Run again over the
same items, it resumes: what is already issued is counted apart, not refused.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from enum import IntEnum
from itertools import islice
from pathlib import Path
from typing import Any, Final

from dpp_ledger import passport as pp
from dpp_ledger.passport.errors import StorageError
from dpp_ledger.passport.keyring import Keyring
from dpp_ledger.passport.rules import Walker

from .audiences import seal_plan, sign_planned
from .disk import disk_full
from .errors import IssueStoppedError
from .store import Ledger, insert_events

_LOG = logging.getLogger(__name__)

DEFAULT_BATCH: Final = 1000
Progress = Callable[[int], None]


@dataclass(frozen=True)
class IssueSummary:
    """What a bulk issuance did, by item index.

    ``issued``: (index, passport id) of new passports; ``refused``: (index, reason);
    ``already``: (index, passport id) of items that an earlier run had issued already.
    """

    issued: tuple[tuple[int, bytes], ...]
    refused: tuple[tuple[int, str], ...]
    already: tuple[tuple[int, bytes], ...] = ()


def issue_many(
    ledger: Ledger,
    signer: pp.SigningKey,
    items: Iterable[Mapping[str, Any]],
    *,
    time: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    kem: pp.Kem = pp.Kem.X25519,
) -> IssueSummary:
    """Issue one passport per item of production data, in batches of ``batch_size``.

    ``progress`` is called with the number of items handled after each batch. An item's
    ``seal`` entry (not production data) seals fields to audiences: {field: audience name(s)};
    their boxes use ``kem`` and are stored with the batch. The summary holds every item; for
    runs too large for that, :func:`issue_into` keeps the outcomes on disk.

    Raises:
        IssueStoppedError: the ledger could not store a batch (a full disk, a read-only
            filesystem, another writer holding it too long); the batches before it stay
            stored, and the message says how many passports they hold.
    """
    with Tally() as tally:
        issue_into(
            tally,
            ledger,
            signer,
            enumerate(items),
            time=time,
            batch_size=batch_size,
            progress=progress,
            kem=kem,
        )
        return tally.summary()


def issue_into(
    tally: Tally,
    ledger: Ledger,
    signer: pp.SigningKey,
    items: Iterable[tuple[int, Mapping[str, Any]]],
    *,
    time: int | None = None,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    kem: pp.Kem = pp.Kem.X25519,
    called: str = "item",
) -> None:
    """Issue as :func:`issue_many` does, each item given with its own number (a line of a file).

    Outcomes go to ``tally`` as each batch is stored, so memory stays flat whatever the
    number of items. Numbers must increase; a duplicate's reason names the item it repeats
    as ``called`` and its number ("line 3").

    Raises:
        IssueStoppedError: as :func:`issue_many`.
        SchemaError: a number that does not increase (the batches before it stay stored).
    """
    if batch_size < 1:
        raise pp.SchemaError("batch size must be at least 1")
    keyring = _keyring(ledger, signer)
    items = iter(items)
    done = committed = 0
    last: int | None = None
    try:
        while batch := list(islice(items, batch_size)):
            for number, _ in batch:
                if last is not None and number <= last:
                    raise pp.SchemaError(f"{called} numbers must increase: {number} after {last}")
                last = number
            at = ledger.clock() if time is None else time
            boxes: dict[bytes, tuple[pp.Box, ...]] = {}
            refused: list[tuple[int, str]] = []
            ready = _prepare(
                signer, batch, at, keyring, refused, sealing=(kem, boxes), called=called
            )
            already = _store(ledger, ready, tally, boxes, refused=refused, called=called)
            committed += len(ready)
            # Noted once the batch is committed: the tally never counts what was rolled back.
            tally.record(Outcome.ALREADY, already)
            tally.record(Outcome.ISSUED, ((index, event.pid) for index, event in ready.values()))
            tally.refuse(refused)
            done += len(batch)
            if progress is not None:
                progress(done)
    except StorageError as exc:
        raise IssueStoppedError(
            f"{exc}; {committed} new passports were committed before issuance stopped: run "
            "the same command again to resume (what is issued already is skipped)",
            committed=committed,
        ) from exc


_READ_BACK: Final = 1000  # outcomes read back at once


class Outcome(IntEnum):
    """What became of one item of a bulk run."""

    ISSUED = 0  # a new passport
    ALREADY = 1  # issued by an earlier run: counted apart, not refused
    REFUSED = 2  # not issued, with a reason


class Tally:
    """What a bulk run did, item by item, kept on disk so memory stays flat in the run's size.

    A private temporary SQLite database (deleted when closed): a million items would take
    about 250 MB as Python tuples, and a run must also find which of its own items issued a
    passport it meets again. Use as a context manager.
    """

    def __init__(self) -> None:
        with _kept():
            # An empty name: SQLite's private temporary database, spilled to disk past a
            # 256 KiB cache and deleted when closed. Nothing here must survive a crash.
            self._db = sqlite3.connect("", isolation_level=None)
            self._db.executescript(
                "PRAGMA cache_size = -256; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
                "CREATE TABLE outcome (item INTEGER PRIMARY KEY, kind INTEGER NOT NULL, "
                "pid BLOB, reason TEXT);"
            )
        self._counts = [0, 0, 0]
        self._indexed = False

    def __enter__(self) -> Tally:
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()

    def count(self, kind: Outcome) -> int:
        """How many items had this outcome."""
        return self._counts[kind]

    def outcomes(self, kind: Outcome) -> Iterator[tuple[int, Any]]:
        """(item number, passport id or reason) of each item with this outcome, in item order.

        Raises:
            StorageError: the temporary file could not be read back.
        """
        column = "reason" if kind is Outcome.REFUSED else "pid"
        with _kept():
            cursor = self._db.execute(
                f"SELECT item, {column} FROM outcome WHERE kind = ? ORDER BY item",  # noqa: S608 - one of two fixed names
                [int(kind)],
            )
        while True:
            with _kept():
                rows = cursor.fetchmany(_READ_BACK)
            if not rows:
                return
            # A list, not the cursor: a reader that stops early (a closed pipe) must not
            # close a cursor whose database the tally may have closed already.
            yield from rows

    def summary(self) -> IssueSummary:
        """Every outcome in memory, as :func:`issue_many` returns them."""
        return IssueSummary(
            tuple(self.outcomes(Outcome.ISSUED)),
            tuple(self.outcomes(Outcome.REFUSED)),
            tuple(self.outcomes(Outcome.ALREADY)),
        )

    def item_of(self, pid: bytes) -> int | None:
        """The item of this run that issued or found passport ``pid``, if any."""
        with _kept():
            if not self._indexed:
                # Built at the first passport met again (a resumed run), not kept up by a
                # fresh run that never asks: 3 µs a row saved on random keys.
                self._db.execute("CREATE INDEX outcome_pid ON outcome (pid) WHERE pid IS NOT NULL")
                self._indexed = True
            row = self._db.execute("SELECT item FROM outcome WHERE pid = ?", [pid]).fetchone()
        return None if row is None else int(row[0])

    def record(self, kind: Outcome, found: Iterable[tuple[int, bytes]]) -> None:
        """Note items that issued (or found already issued) these passports."""
        rows = [(item, int(kind), pid) for item, pid in found]
        with _kept():
            self._db.executemany("INSERT INTO outcome (item, kind, pid) VALUES (?, ?, ?)", rows)
        self._counts[kind] += len(rows)

    def refuse(self, refused: Iterable[tuple[int, str]]) -> None:
        """Note items refused, each with its reason."""
        rows = [(item, int(Outcome.REFUSED), reason) for item, reason in refused]
        with _kept():
            self._db.executemany("INSERT INTO outcome (item, kind, reason) VALUES (?, ?, ?)", rows)
        self._counts[Outcome.REFUSED] += len(rows)


# SQLite's own list (os_unix.c), after its two variables: named only to say where it wrote.
_SQLITE_TEMP_FOLDERS: Final = ("/var/tmp", "/usr/tmp", "/tmp")  # noqa: S108


@contextmanager
def _kept() -> Iterator[None]:
    """SQLite's failures on the tally's temporary file, as a :class:`StorageError` in words."""
    try:
        yield
    except sqlite3.Error as exc:
        folder = temporary_folder()
        reason = "the disk is full" if disk_full(folder) else str(exc)
        raise StorageError(
            f"this run's outcomes could not be kept in a temporary file in {folder} ({reason}): "
            "free some space there, or set TMPDIR to another folder"
        ) from exc


def temporary_folder() -> Path:
    """Where SQLite puts temporary files: the first usable of its candidate folders."""
    candidates = (os.environ.get("SQLITE_TMPDIR"), os.environ.get("TMPDIR"))
    for name in (*candidates, *_SQLITE_TEMP_FOLDERS):
        if name and os.path.isdir(name) and os.access(name, os.W_OK | os.X_OK):
            return Path(name)
    return Path()


def _keyring(ledger: Ledger, signer: pp.SigningKey) -> Keyring:
    keyring = Keyring(ledger.trust())
    keyring.add_certificates(ledger.records.certificates_for(signer.kid))
    keyring.add_revocations((), ledger.revocations())
    return keyring


def _prepare(
    signer: pp.SigningKey,
    batch: list[tuple[int, Mapping[str, Any]]],
    at: int,
    keyring: Keyring,
    refused: list[tuple[int, str]],
    *,
    sealing: tuple[pp.Kem, dict[bytes, tuple[pp.Box, ...]]],
    called: str,
) -> dict[tuple[str, str, str], tuple[int, pp.Event]]:
    """Sign and check each item; keyed by (brand, GTIN, serial) so duplicates are caught.

    The boxes of each item's sealed fields go into ``sealing[1]``, by passport id.
    """
    ready: dict[tuple[str, str, str], tuple[int, pp.Event]] = {}
    for index, data in batch:
        try:
            if not isinstance(data, Mapping):
                raise pp.SchemaError("an item is a map of production data")
            event = _sign(signer, data, at, keyring, sealing)
            walker = Walker(keyring)
            walker.apply(event)  # the signer's authority and the brand's GS1 prefixes
        except pp.DppError as exc:
            refused.append((index, str(exc)))
            continue
        identifier = (str(walker.state.brand), event.data["gtin"], event.data["serial"])
        if identifier in ready:
            refused.append((index, f"same GTIN and serial as {called} {ready[identifier][0]}"))
            continue
        ready[identifier] = (index, event)
    return ready


def _sign(
    signer: pp.SigningKey,
    data: Mapping[str, Any],
    at: int,
    keyring: Keyring,
    sealing: tuple[pp.Kem, dict[bytes, tuple[pp.Box, ...]]],
) -> pp.Event:
    if "seal" not in data:
        return pp.issue(signer, data, time=at)
    fields = {k: v for k, v in data.items() if k != "seal"}
    kem, boxes = sealing
    event, sealed = sign_planned(
        signer,
        "production",
        fields,
        trust=keyring.trust,
        gtin=fields.get("gtin", ""),
        plan=seal_plan(data["seal"]),
        kem=kem,
        time=at,
        after=None,
    )
    boxes[event.pid] = sealed
    return event


def _store(
    ledger: Ledger,
    ready: dict[tuple[str, str, str], tuple[int, pp.Event]],
    tally: Tally,
    boxes: dict[bytes, tuple[pp.Box, ...]],
    *,
    refused: list[tuple[int, str]],
    called: str,
) -> list[tuple[int, bytes]]:
    """Store one batch in one transaction; what is left in ``ready`` is what was stored.

    An item stored already is taken out: returned with its passport if an earlier run issued
    it, added to ``refused`` if an earlier item of this run did.
    """
    already: list[tuple[int, bytes]] = []
    with ledger.db.write():
        for identifier in list(ready):
            pid = ledger.issued(identifier)
            if pid is not None:
                index, _ = ready.pop(identifier)
                earlier = tally.item_of(pid)
                if earlier is not None:  # an earlier row of this run issued or found it
                    refused.append((index, f"same GTIN and serial as {called} {earlier}"))
                else:
                    already.append((index, pid))
        events = [event for _, event in ready.values()]
        insert_events(ledger.db, events, {e.pid: key for key, (_, e) in ready.items()})
        ledger.disclosures.insert(box for e in events for box in boxes.get(e.pid, ()))
        if events and ledger.checkpoints.key is not None:
            ledger.checkpoints.sign_in_transaction()
    _LOG.info("stored a batch of %d new passports", len(ready))
    return already
