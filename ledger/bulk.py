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
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Final

from dpp_ledger import passport as pp
from dpp_ledger.passport.errors import StorageError
from dpp_ledger.passport.keyring import Keyring
from dpp_ledger.passport.rules import Walker

from .audiences import seal_plan, sign_planned
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
    their boxes use ``kem`` and are stored with the batch.

    Raises:
        IssueStoppedError: the ledger could not store a batch (a full disk, a read-only
            filesystem, another writer holding it too long); the batches before it stay
            stored, and the message says how many passports they hold.
    """
    if batch_size < 1:
        raise pp.SchemaError("batch size must be at least 1")
    keyring = _keyring(ledger, signer)
    tally = _Tally()
    numbered = enumerate(items)
    done = 0
    try:
        while batch := list(islice(numbered, batch_size)):
            at = ledger.clock() if time is None else time
            boxes: dict[bytes, tuple[pp.Box, ...]] = {}
            ready = _prepare(signer, batch, at, keyring, tally.refused, sealing=(kem, boxes))
            _store(ledger, ready, tally, boxes)
            done += len(batch)
            if progress is not None:
                progress(done)
    except StorageError as exc:
        raise IssueStoppedError(
            f"{exc}; {len(tally.issued)} new passports were committed before issuance "
            "stopped: run the same command again to resume (what is issued already is skipped)",
            committed=len(tally.issued),
        ) from exc
    return tally.summary()


@dataclass
class _Tally:
    """What a run did so far; ``mine`` maps each passport it issued or found to its item."""

    issued: list[tuple[int, bytes]] = field(default_factory=list)
    already: list[tuple[int, bytes]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    mine: dict[bytes, int] = field(default_factory=dict)

    def summary(self) -> IssueSummary:
        return IssueSummary(tuple(self.issued), tuple(sorted(self.refused)), tuple(self.already))


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
            refused.append((index, f"same GTIN and serial as item {ready[identifier][0]}"))
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
    tally: _Tally,
    boxes: dict[bytes, tuple[pp.Box, ...]],
) -> None:
    """Store one batch in one transaction; an item stored already is counted, not stored."""
    with ledger.db.write():
        for identifier in list(ready):
            pid = ledger.issued(identifier)
            if pid is not None:
                index, _ = ready.pop(identifier)
                if pid in tally.mine:  # an earlier row of this run issued or found it
                    tally.refused.append((index, f"same GTIN and serial as item {tally.mine[pid]}"))
                else:
                    tally.already.append((index, pid))
                    tally.mine[pid] = index
        events = [event for _, event in ready.values()]
        insert_events(ledger.db, events, {e.pid: key for key, (_, e) in ready.items()})
        ledger.disclosures.insert(box for e in events for box in boxes.get(e.pid, ()))
        if events and ledger.checkpoints.key is not None:
            ledger.checkpoints.sign_in_transaction()
    _LOG.info("stored a batch of %d new passports", len(ready))
    for index, event in ready.values():
        tally.issued.append((index, event.pid))
        tally.mine[event.pid] = index
