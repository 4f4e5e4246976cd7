"""The ledger: passports, their events, and what verifies them, in one storage backend.

A ledger lives in a SQLite file or a PostgreSQL schema (``ledger.storage``); nothing here
knows which.

Everything that enters is verified by ``passport`` first, against this ledger's trust roots
and newest revocation lists; nothing unverified is ever written, and a refused operation
leaves the file as it was (a fork or clone stores its evidence and nothing else).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from dpp_ledger import passport as pp
from dpp_ledger.passport import merkle, wire
from dpp_ledger.passport.certs import Certificate, RevocationList
from dpp_ledger.passport.checkpoint import read_unverified
from dpp_ledger.passport.errors import StorageError
from dpp_ledger.passport.events import Event
from dpp_ledger.passport.evidence import ConflictKind, Evidence
from dpp_ledger.passport.trust import TrustStore
from dpp_ledger.passport.verify import named_kids

from .audiences import Audiences
from .clock import system_clock
from .disclosures import Disclosures
from .errors import CloneError, ForkError, MovedOnError, NotFoundError
from .log import Checkpoints, MerkleLog
from .lookup import Identifier, Lookups, PassportRow, gtin_key
from .records import Records
from .storage import BUSY_TIMEOUT_S, Location, Storage, as_location, open_storage

_LOG = logging.getLogger(__name__)

Clock = Callable[[], int]


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: the passport, how many events and sealed boxes were new."""

    pid: bytes
    new_events: int
    report: pp.Report
    new_boxes: int = 0


class Ledger(Lookups):
    """A passport ledger in a SQLite file or a PostgreSQL schema: :meth:`create` or :meth:`open`."""

    def __init__(self, database: Storage, location: Location, clock: Clock) -> None:
        self.db = database
        self.location = location
        self.clock = clock
        self.log = MerkleLog(database)
        self.records = Records(database)
        self.checkpoints = Checkpoints(database, self.log)
        self.disclosures = Disclosures(database)
        self.audiences = Audiences(database)

    @classmethod
    def create(cls, path: Location, *, clock: Clock = system_clock) -> Ledger:
        """Create a new ledger (or open an existing one) at ``path``: a file or a URL."""
        location = _location(path)
        _LOG.debug("opening or creating the ledger %s", location)
        return cls(open_storage(location, create=True), location, clock)

    @classmethod
    def open(
        cls,
        path: Location,
        *,
        clock: Clock = system_clock,
        timeout: float = BUSY_TIMEOUT_S,
        read_only: bool = False,
        pooled: bool = False,
    ) -> Ledger:
        """Open an existing ledger, a file or a ``postgresql://`` URL (``read_only``: never writes).

        ``pooled``: for one of a server's threads (see :func:`ledger.storage.open_storage`).

        Raises:
            StorageError: there is no ledger at ``path``, or it cannot be reached.
        """
        location = _location(path)
        _LOG.debug("opening the ledger %s%s", location, " for reading" if read_only else "")
        storage = open_storage(location, timeout=timeout, read_only=read_only, pooled=pooled)
        return cls(storage, location, clock)

    @property
    def path(self) -> Path:
        """The ledger file (SQLite only: file tools such as the bench's size on disk).

        Raises:
            StorageError: the ledger is not a file.
        """
        if not isinstance(self.location, Path):
            raise StorageError(f"the ledger {self.location} is not a file")
        return self.location

    def trust(self) -> TrustStore:
        """The ledger's trust store: brand roots (with their audiences) and log verifier keys."""
        return self.audiences.attach(self.records.trust())

    def revocations(self) -> tuple[RevocationList, ...]:
        """The newest stored revocation list of each issuer."""
        return self.records.revocations()

    def close(self) -> None:
        """Close the storage (SQLite checkpoints the WAL when the last connection closes)."""
        self.db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- export ------------------------------------------------------------------------------

    def bundle(self, pid: bytes) -> pp.Bundle:
        """Everything needed to verify passport ``pid`` offline.

        Raises:
            NotFoundError: no such passport.
        """
        with self.db.read():
            return self._bundle(pid, self.trust(), self.revocations())

    def _bundle(
        self, pid: bytes, trust: TrustStore, revocations: tuple[RevocationList, ...]
    ) -> pp.Bundle:
        """:meth:`bundle` inside a read the caller holds, with its trust store and revocations."""
        chain = self.chain(pid)
        if not chain:
            raise NotFoundError(f"no passport {pid.hex()[:16]}… in this ledger")
        bundle = self._assemble(chain, trust=trust, revocations=revocations)
        return replace(
            bundle,
            log=self._log_entry(bundle.events),
            disclosures=self.disclosures.boxes(bundle.events),
        )

    def _log_entry(self, events: Sequence[Event]) -> pp.LogEntry | None:
        """The newest checkpoint and an inclusion proof per event, if it covers them all."""
        note = self.checkpoints.latest()
        if note is None:
            return None
        size = read_unverified(note).size
        indexes = [self._index(e.pid, e.seq) for e in events]
        if max(indexes) >= size:
            return None
        paths = self.log.inclusions(indexes, size)
        proofs = (pp.LogProof(i, tuple(p)) for i, p in zip(indexes, paths, strict=True))
        return pp.LogEntry(note, tuple(proofs))

    def export(self, pid: bytes) -> bytes:
        """Passport ``pid`` as bundle bytes (``.dpp``)."""
        return wire.bundle_to_bytes(self.bundle(pid))

    def verify(self, pid: bytes, *, open_with: Iterable[pp.RecipientSecret] = ()) -> pp.Report:
        """Verify a stored passport as an offline verifier would see its exported bundle.

        ``open_with`` are recipient keys that open its restricted values; erased values are
        named by their erasure records.
        """
        # One snapshot for the bundle and what it is verified against, each read once: on
        # PostgreSQL every read is a round trip, and a page verifies on every view.
        with self.db.read():
            trust, revocations = self.trust(), self.revocations()
            bundle = self._bundle(pid, trust, revocations)
        report = pp.verify(
            bundle, trust, now=self.clock(), known_revocations=revocations, open_with=open_with
        )
        return self.disclosures.annotate(report)

    def _assemble(
        self,
        events: Sequence[Event],
        *,
        certs: Iterable[Certificate] = (),
        keys: Iterable[bytes] = (),
        trust: TrustStore | None = None,
        revocations: tuple[RevocationList, ...] | None = None,
    ) -> pp.Bundle:
        """A bundle of ``events`` with the certificates, keys and revocations they need.

        Revocation lists are chosen by key: those of the roots that certified a signer (a
        root revokes only the keys it certified), whatever the roots are called.
        """
        signers = {e.signer for e in events}
        named = named_kids(events)
        found = {c.record.digest: c for c in certs if c.subject_kid in signers}
        for kid in signers:
            for cert in self.records.certificates_for(kid):
                found.setdefault(cert.record.digest, cert)
        trust = self.trust() if trust is None else trust
        carried = {c.subject_kid for c in found.values()} | {r.key.kid for r in trust.roots}
        named -= carried  # certificates and the trust store carry these keys already
        key_bytes = {pp.kid_of(k): k for k in keys if pp.kid_of(k) in named}
        for kid in named - key_bytes.keys():
            stored = self.records.key(kid)
            if stored is not None:
                key_bytes[kid] = stored
        issuers = {c.issuer for c in found.values()}
        known = self.revocations() if revocations is None else revocations
        needed = tuple(r for r in known if r.issuer in issuers)
        return pp.Bundle(
            tuple(events),
            tuple(found[h] for h in sorted(found)),
            tuple(key_bytes[k] for k in sorted(key_bytes)),
            needed,
        )

    # -- append ------------------------------------------------------------------------------

    def append(
        self,
        event: Event,
        *,
        certs: Iterable[Certificate] = (),
        keys: Iterable[pp.PublicKey] = (),
        boxes: Iterable[pp.Box] = (),
    ) -> pp.Report:
        """Verify ``event`` against its stored chain and store it (seq 0 starts a passport).

        ``certs`` and ``keys`` are records the event needs that the ledger may not hold yet;
        ``boxes`` are the sealed values of its restricted fields.

        Raises:
            MovedOnError: the passport's head moved on since the event was made: retry.
            CloneError: a production event for an identifier this ledger already holds.
            DppError: the event does not verify (signature, authority, rules...).
        """
        certs, raw_keys = tuple(certs), tuple(k.raw for k in keys)
        with self.db.write():
            if event.seq == 0:
                stored: tuple[Event, ...] = ()
            else:
                stored = self.chain(event.pid)
                if not stored:
                    raise NotFoundError(f"no passport {event.pid.hex()[:16]}… in this ledger")
                if len(stored) != event.seq or stored[-1].hash != event.prev:
                    raise MovedOnError(
                        f"passport {event.pid.hex()[:16]}… moved on: it now has "
                        f"{len(stored)} events; re-read it and retry"
                    )
            bundle = self._assemble((*stored, event), certs=certs, keys=raw_keys)
            bundle = replace(bundle, disclosures=tuple(boxes))
            report = pp.verify(
                bundle, self.trust(), now=self.clock(), known_revocations=self.revocations()
            )
            report.raise_for_outcome()
            self._store_new(bundle, report, len(stored))
            self.disclosures.insert(bundle.disclosures)
        _LOG.info("stored %s event %d of passport %s", event.type, event.seq, event.pid.hex())
        return report

    # -- import ------------------------------------------------------------------------------

    def import_bundle(self, data: bytes) -> ImportResult:
        """Verify a bundle fully, then store what is new in it.

        Raises:
            DecodeError: not a bundle. DppError: the bundle does not verify.
            ForkError / CloneError: it contradicts a stored chain; only the evidence is kept.
        """
        bundle = wire.parse_bundle(data)
        pid = bundle.events[0].pid
        conflict: Evidence | None = None
        boxes = 0
        with self.db.write():
            # Verified inside the transaction: a revocation or a removed root committed by
            # another process just before cannot slip past.
            report = pp.verify(
                bundle, self.trust(), now=self.clock(), known_revocations=self.revocations()
            )
            report.raise_for_outcome()
            stored = self.chain(pid)
            conflict = self._conflict(bundle, report, stored)
            if conflict is not None:
                self._insert_evidence(conflict)
                new = 0
            else:
                new = self._store_new(bundle, report, len(stored))
                boxes = self.disclosures.insert(bundle.disclosures)
        if conflict is not None:
            kind = ForkError if conflict.kind is ConflictKind.FORK else CloneError
            _LOG.warning("import refused: %s (evidence kept)", conflict.detail)
            raise kind(f"{conflict.detail}; the two signed events were kept as evidence")
        _LOG.info("imported passport %s: %d new events, %d boxes", pid.hex(), new, boxes)
        return ImportResult(pid, new, report, boxes)

    def _conflict(
        self, bundle: pp.Bundle, report: pp.Report, stored: Sequence[Event]
    ) -> Evidence | None:
        for mine, theirs in zip(stored, bundle.events, strict=False):
            if mine.hash != theirs.hash:
                return Evidence(
                    ConflictKind.FORK,
                    mine,
                    theirs,
                    f"fork: two signed events at seq {mine.seq} of passport {mine.pid.hex()[:16]}…",
                )
        if stored:
            return None
        issued = self.issued((str(report.brand), str(report.gtin), str(report.serial)))
        if issued is None:
            return None
        first = self.chain(issued)[0]
        return Evidence(
            ConflictKind.CLONE,
            first,
            bundle.events[0],
            f"clone: GTIN {report.gtin} serial {report.serial} already has passport "
            f"{issued.hex()[:16]}…",
        )

    # -- writing (inside a write transaction) ------------------------------------------------

    def _store_new(self, bundle: pp.Bundle, report: pp.Report, stored: int) -> int:
        """Insert the verified bundle's events after ``stored`` ones, and its new records."""
        events = bundle.events[stored:]
        new: dict[bytes, Identifier] = {}
        if stored == 0 and events:
            identifier = (str(report.brand), str(report.gtin), str(report.serial))
            issued = self.issued(identifier)
            if issued is not None:
                raise CloneError(
                    f"GTIN {report.gtin} serial {report.serial} already has passport "
                    f"{issued.hex()[:16]}…"
                )
            new[events[0].pid] = identifier
        insert_events(self.db, events, new)
        if events and self.checkpoints.key is not None:
            self.checkpoints.sign_in_transaction()
        self.records.insert_certs(bundle.certs)
        self.records.insert_keys(bundle.keys)
        self.records.insert_revocations(bundle.revocations)
        return len(events)

    def _insert_evidence(self, evidence: Evidence) -> None:
        self.db.execute(
            "INSERT INTO evidence (kind, pid, seq, first, second, detail, found) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [
                str(evidence.kind),
                evidence.first.pid,
                evidence.first.seq,
                evidence.first.raw,
                evidence.second.raw,
                evidence.detail,
                self.clock(),
            ],
        )

    def evidence(self) -> tuple[Evidence, ...]:
        """Every fork and clone this ledger has seen, with both signed events."""
        rows = self.db.execute("SELECT kind, first, second, detail FROM evidence ORDER BY id")
        return tuple(
            Evidence(ConflictKind(kind), wire.parse_event(first), wire.parse_event(second), detail)
            for kind, first, second, detail in rows
        )


def insert_events(
    database: Storage,
    events: Sequence[Event],
    passports: Mapping[bytes, Identifier],
) -> None:
    """Insert verified events and append them to the transparency log (inside a write).

    ``passports`` holds the (brand, GTIN, serial) of each passport that ``events`` start, by
    passport id.
    """
    start = MerkleLog(database).size()
    rows = list(enumerate(events, start + 1))
    database.executemany(
        "INSERT INTO events (idx, cose) VALUES (?, ?)", [(i, e.raw) for i, e in rows]
    )
    database.executemany(
        "INSERT INTO chains (pid, seq, idx) VALUES (?, ?, ?)", [(e.pid, e.seq, i) for i, e in rows]
    )
    database.executemany(
        "INSERT INTO event_hashes (hash, idx) VALUES (?, ?)",
        [(e.hash, i) for i, e in rows if e.seq > 0],
    )
    firsts = [(i, e.pid) for i, e in rows if e.seq == 0]
    if {pid for _, pid in firsts} != passports.keys():
        raise StorageError("every new passport, and only those, needs its identifier")
    brands = {brand for brand, _, _ in passports.values()}
    database.executemany(
        "INSERT INTO brands (name) VALUES (?) ON CONFLICT DO NOTHING", [(b,) for b in brands]
    )
    ids = dict(database.execute("SELECT name, id FROM brands").fetchall()) if brands else {}
    database.executemany(
        "INSERT INTO passports (gtin, serial, brand, first) VALUES (?, ?, ?, ?)",
        [
            (gtin_key(passports[pid][1]), passports[pid][2], ids[passports[pid][0]], i)
            for i, pid in firsts
        ],
    )
    MerkleLog(database).append([merkle.leaf_hash(e.raw) for e in events])


def _location(path: Location) -> Location:
    """A URL string as it is; any other string or path as a file path."""
    return path if isinstance(path, Path) else as_location(path)


__all__ = [
    "Clock",
    "Identifier",
    "ImportResult",
    "Ledger",
    "PassportRow",
    "gtin_key",
    "insert_events",
    "system_clock",
]
