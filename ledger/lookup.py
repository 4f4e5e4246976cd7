"""Reading a ledger: passports by id, prefix, Digital Link or identifier; chains; log indexes.

The read side of :class:`ledger.store.Ledger`, over the same storage seam; it never writes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from dpp_ledger.passport import gs1, wire
from dpp_ledger.passport.errors import StorageError
from dpp_ledger.passport.events import Event

from .errors import AmbiguousError, NotFoundError
from .storage import Storage

Identifier = tuple[str, str, str]  # (brand, GTIN-14, serial)
MIN_PREFIX = 8


@dataclass(frozen=True)
class PassportRow:
    """What the ledger knows about one passport: its identifier, and its chain's head and length."""

    pid: bytes
    brand: str
    gtin: str
    serial: str
    head: bytes
    length: int


class Lookups:
    """Lookups over one ledger's storage (``db``)."""

    db: Storage

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
        return event_hash(self._cose(int(rows[0][0])))

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
        return PassportRow(pid, brand, gtin, serial, event_hash(last), last_seq + 1)

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
        return None if row is None else event_hash(self._cose(int(row[0])))

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


def gtin_key(gtin: str) -> int:
    """A GTIN-14 as the passports table keys it: its 14 digits as a number (6 bytes, not 14)."""
    return int(gtin, 10)


def event_hash(cose: bytes) -> bytes:
    """An event's hash: SHA-256 over its COSE_Sign1 bytes (a first event's is its passport id)."""
    return hashlib.sha256(cose).digest()
