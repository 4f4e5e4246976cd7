"""The ledger: passports, their events, and what verifies them, in one storage backend.

A ledger lives in a SQLite file or a PostgreSQL schema (``ledger.storage``); nothing here
knows which.

Everything that enters is verified by ``passport`` first, against this ledger's trust roots
and newest revocation lists; nothing unverified is ever written, and a refused operation
leaves the file as it was (a fork or clone stores its evidence and nothing else).
"""

from __future__ import annotations

import hashlib
import time as _time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import passport as pp
from passport import gs1, merkle, wire
from passport.certs import Certificate, RevocationList
from passport.checkpoint import read_unverified
from passport.errors import StorageError
from passport.events import Event
from passport.evidence import ConflictKind, Evidence
from passport.trust import TrustStore
from passport.verify import named_kids

from .audiences import Audiences
from .disclosures import Disclosures
from .errors import AmbiguousError, CloneError, ForkError, MovedOnError, NotFoundError
from .log import Checkpoints, MerkleLog
from .records import Records
from .storage import BUSY_TIMEOUT_S, Location, Storage, as_location, open_storage

Clock = Callable[[], int]
Identifier = tuple[str, str, str]  # (brand, GTIN-14, serial)
MIN_PREFIX = 8


def system_clock() -> int:
    """The current Unix time in whole seconds."""
    return int(_time.time())


@dataclass(frozen=True)
class PassportRow:
    """What the ledger knows about one passport: its identifier, and its chain's head and length."""

    pid: bytes
    brand: str
    gtin: str
    serial: str
    head: bytes
    length: int


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: the passport, how many events and sealed boxes were new."""

    pid: bytes
    new_events: int
    report: pp.Report
    new_boxes: int = 0


class Ledger:
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

    def log_index(self, event_hash: bytes) -> int:
        """The log index of the event with this hash.

        Raises:
            NotFoundError: no such event.
        """
        row = self.db.execute(  # a first event's hash is its passport id
            "SELECT idx FROM chains WHERE pid = ? AND seq = 0 "
            "UNION ALL SELECT idx FROM event_hashes WHERE hash = ?",
            [event_hash, event_hash],
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no event {event_hash.hex()[:16]}… in this ledger")
        return int(row[0]) - 1

    def _index(self, pid: bytes, seq: int) -> int:
        """The log index of event ``seq`` of passport ``pid`` (stored)."""
        row = self.db.execute(
            "SELECT idx FROM chains WHERE pid = ? AND seq = ?", [pid, seq]
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no event {seq} of passport {pid.hex()[:16]}… in this ledger")
        return int(row[0]) - 1

    # -- lookup ------------------------------------------------------------------------------

    def resolve(self, reference: str) -> bytes:
        """The passport id named by a pid, a unique hex prefix (8+ digits), or a Digital Link.

        Raises:
            NotFoundError: nothing matches. AmbiguousError: a prefix matches several.
            SchemaError: a malformed Digital Link.
        """
        reference = reference.strip()
        if "://" in reference:
            link = gs1.parse_digital_link(reference)
            if link.pid is not None:
                self.passport(link.pid)
                return link.pid
            if link.serial is None:
                raise NotFoundError(
                    f"this link names a product (GTIN {link.gtin}), not one item: it has no serial"
                )
            return self.find(link.gtin, link.serial)
        text = reference.lower()
        if (
            len(text) < MIN_PREFIX
            or len(text) > 64
            or any(c not in "0123456789abcdef" for c in text)
        ):
            raise NotFoundError(
                f"{reference[:80]!r} is not a passport id, a prefix of at least "
                f"{MIN_PREFIX} hex digits, or a Digital Link URI"
            )
        if len(text) == 64:
            pid = bytes.fromhex(text)
            self.passport(pid)
            return pid
        low = bytes.fromhex(text.ljust(64, "0"))
        high = bytes.fromhex(text.ljust(64, "f"))
        rows = self.db.execute(
            "SELECT pid FROM chains WHERE pid BETWEEN ? AND ? AND seq = 0 LIMIT 2", [low, high]
        ).fetchall()
        if not rows:
            raise NotFoundError(f"no passport id starts with {text}")
        if len(rows) > 1:
            raise AmbiguousError(f"more than one passport id starts with {text}: give more digits")
        return bytes(rows[0][0])

    def find(self, gtin: str, serial: str, brand: str | None = None) -> bytes:
        """The passport id of the item with this GTIN and serial (and brand, if several).

        Raises:
            NotFoundError, AmbiguousError, SchemaError.
        """
        query = "SELECT p.first FROM passports p"
        params: list[object] = [gtin_key(gs1.normalize_gtin(gtin)), serial]
        if brand is not None:
            query += " JOIN brands b ON b.id = p.brand AND b.name = ?"
            params = [brand, *params]
        rows = self.db.execute(
            query + " WHERE p.gtin = ? AND p.serial = ? LIMIT 2", params
        ).fetchall()
        if not rows:
            raise NotFoundError(f"no passport for GTIN {gtin} serial {serial}")
        if len(rows) > 1:
            raise AmbiguousError(f"several brands issued GTIN {gtin} serial {serial}: name one")
        return _event_hash(self._cose(int(rows[0][0])))

    def passport(self, pid: bytes) -> PassportRow:
        """What the ledger knows about passport ``pid``.

        Raises:
            NotFoundError: no such passport.
        """
        first = self._first(pid)
        brand = self._brand(first)
        last_seq, last = self.db.execute(
            "SELECT c.seq, e.cose FROM chains c JOIN events e ON e.idx = c.idx "
            "WHERE c.pid = ? ORDER BY c.seq DESC LIMIT 1",
            [pid],
        ).fetchone()
        gtin, serial = first.data["gtin"], first.data["serial"]
        return PassportRow(pid, brand, gtin, serial, _event_hash(last), last_seq + 1)

    def _first(self, pid: bytes) -> Event:
        """Passport ``pid``'s first event.

        Raises:
            NotFoundError: no such passport.
        """
        row = self.db.execute(
            "SELECT e.cose FROM chains c JOIN events e ON e.idx = c.idx "
            "WHERE c.pid = ? AND c.seq = 0",
            [pid],
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no passport {pid.hex()[:16]}… in this ledger")
        return wire.parse_event(row[0])

    def _brand(self, first: Event) -> str:
        """The brand a passport was issued under, from its identifier row.

        Raises:
            StorageError: its identifier row is missing.
        """
        brand = self.db.execute(
            "SELECT b.name FROM passports p JOIN brands b ON b.id = p.brand "
            "WHERE p.gtin = ? AND p.serial = ? "
            "AND p.first = (SELECT idx FROM chains WHERE pid = ? AND seq = 0)",
            [gtin_key(first.data["gtin"]), first.data["serial"], first.pid],
        ).fetchone()
        if brand is None:
            raise StorageError(
                f"passport {first.pid.hex()[:16]}… has no identifier row: run `dpp check`"
            )
        return str(brand[0])

    def passports(self) -> Iterable[PassportRow]:
        """Every passport, in storage order."""
        rows = self.db.execute("SELECT pid FROM chains WHERE seq = 0 ORDER BY idx").fetchall()
        for (pid,) in rows:
            yield self.passport(bytes(pid))

    def _cose(self, idx: int) -> bytes:
        row = self.db.execute("SELECT cose FROM events WHERE idx = ?", [idx]).fetchone()
        if row is None:
            raise StorageError(f"the ledger has no event at log index {idx - 1}: run `dpp check`")
        return bytes(row[0])

    def issued(self, identifier: Identifier) -> bytes | None:
        """The passport id already issued for this GTIN and serial, if any.

        The brand in ``identifier`` is a label and plays no part: GTIN and serial name one
        item whoever issued it (GS1 prefixes never nest, so only one root covers a GTIN), and
        a second passport for them is a clone even if the root was renamed or replaced.
        """
        _, gtin, serial = identifier
        row = self.db.execute(
            "SELECT first FROM passports WHERE gtin = ? AND serial = ? LIMIT 1",
            [gtin_key(gtin), serial],
        ).fetchone()
        return None if row is None else _event_hash(self._cose(int(row[0])))

    def chain(self, pid: bytes) -> tuple[Event, ...]:
        """The stored events of passport ``pid``, in chain order."""
        rows = self.db.execute(
            "SELECT e.cose FROM chains c JOIN events e ON e.idx = c.idx "
            "WHERE c.pid = ? ORDER BY c.seq",
            [pid],
        )
        return tuple(wire.parse_event(row[0]) for row in rows)

    def counts(self) -> dict[str, int]:
        """How many rows each table holds."""
        return {
            t: self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # noqa: S608
            for t in ("passports", "events", "certs", "keys", "revocations", "roots", "evidence")
        }

    # -- export ------------------------------------------------------------------------------

    def bundle(self, pid: bytes) -> pp.Bundle:
        """Everything needed to verify passport ``pid`` offline.

        Raises:
            NotFoundError: no such passport.
        """
        with self.db.read():
            chain = self.chain(pid)
            if not chain:
                raise NotFoundError(f"no passport {pid.hex()[:16]}… in this ledger")
            bundle = self._assemble(chain)
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
        report = pp.verify(
            self.bundle(pid),
            self.trust(),
            now=self.clock(),
            known_revocations=self.revocations(),
            open_with=open_with,
        )
        return self.disclosures.annotate(report)

    def _assemble(
        self,
        events: Sequence[Event],
        *,
        certs: Iterable[Certificate] = (),
        keys: Iterable[bytes] = (),
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
        trust = self.trust()
        carried = {c.subject_kid for c in found.values()} | {r.key.kid for r in trust.roots}
        named -= carried  # certificates and the trust store carry these keys already
        key_bytes = {pp.kid_of(k): k for k in keys if pp.kid_of(k) in named}
        for kid in named - key_bytes.keys():
            stored = self.records.key(kid)
            if stored is not None:
                key_bytes[kid] = stored
        issuers = {c.issuer for c in found.values()}
        revocations = tuple(r for r in self.revocations() if r.issuer in issuers)
        return pp.Bundle(
            tuple(events),
            tuple(found[h] for h in sorted(found)),
            tuple(key_bytes[k] for k in sorted(key_bytes)),
            revocations,
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
            raise kind(f"{conflict.detail}; the two signed events were kept as evidence")
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


def gtin_key(gtin: str) -> int:
    """A GTIN-14 as the passports table keys it: its 14 digits as a number (6 bytes, not 14)."""
    return int(gtin, 10)


def _event_hash(cose: bytes) -> bytes:
    """An event's hash: SHA-256 over its COSE_Sign1 bytes (a first event's is its passport id)."""
    return hashlib.sha256(cose).digest()
