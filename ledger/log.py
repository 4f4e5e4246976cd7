"""The ledger's transparency log: an RFC 9162 Merkle tree over every stored event.

Leaves are the events' COSE bytes in storage order (leaf i is the event with ``idx`` i + 1).
The store keeps every complete subtree hash (``log_nodes``), so appending costs O(1) amortised
and any proof is O(log² n) lookups, never a pass over the log.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlite_utils

from passport import merkle
from passport.checkpoint import Checkpoint, NoteVerifier, sign_checkpoint
from passport.errors import LogError
from passport.keys import SigningKey

from . import db as _db
from .errors import NotFoundError


class MerkleLog:
    """Complete-subtree hashes in the ``log_nodes`` table of one ledger file."""

    def __init__(self, database: sqlite_utils.Database, table: str = "log_nodes") -> None:
        self.db = database
        self.table = table  # a scratch table for benchmarks; never user input

    def size(self) -> int:
        """How many leaves the log holds."""
        row = self.db.execute(f"SELECT max(idx) FROM {self.table} WHERE level = 0").fetchone()  # noqa: S608
        return 0 if row[0] is None else int(row[0]) + 1

    def append(self, leaves: Sequence[bytes]) -> int:
        """Append leaf hashes (inside the caller's write transaction); return the new size."""
        size = self.size()
        made: dict[tuple[int, int], bytes] = {}
        for leaf in leaves:
            level, index, digest = 0, size, leaf
            made[(0, index)] = digest
            while index & 1:  # a right child completes its parent
                left = made.get((level, index - 1)) or self.node(level, index - 1)
                level, index, digest = level + 1, index >> 1, merkle.node_hash(left, digest)
                made[(level, index)] = digest
            size += 1
        self.db.conn.executemany(
            f"INSERT INTO {self.table} (level, idx, hash) VALUES (?, ?, ?)",  # noqa: S608
            [(lvl, i, h) for (lvl, i), h in made.items()],
        )
        return size

    def node(self, level: int, index: int) -> bytes:
        """The stored hash of the complete subtree of 2**level leaves starting at index << level."""
        row = self.db.execute(
            f"SELECT hash FROM {self.table} WHERE level = ? AND idx = ?",  # noqa: S608
            [level, index],
        ).fetchone()
        if row is None:
            raise LogError(f"the log has no node at level {level}, index {index}")
        return bytes(row[0])

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end): stored when complete, else built from complete parts."""
        width = end - start
        if width & (width - 1) == 0 and start % width == 0:
            return self.node(width.bit_length() - 1, start // width)
        k = merkle.split_point(width)
        return merkle.node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int) -> bytes:
        """The root hash of the tree of the first ``size`` leaves.

        Raises:
            LogError: the log is smaller than ``size``.
        """
        self._check(size)
        return merkle.EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """An inclusion proof for leaf ``index`` in the tree of ``size`` leaves."""
        self._check(size)
        return merkle.inclusion_path(index, size, self.subtree)

    def consistency(self, old: int, new: int) -> list[bytes]:
        """A consistency proof from the tree of ``old`` leaves to the tree of ``new`` leaves."""
        self._check(new)
        return merkle.consistency_path(old, new, self.subtree)

    def _check(self, size: int) -> None:
        if not 0 <= size <= self.size():
            raise LogError(f"the log holds {self.size()} events, not {size}")


class Checkpoints:
    """The log's name and signing key, and the checkpoints it signed (``checkpoints`` table)."""

    def __init__(self, database: sqlite_utils.Database, log: MerkleLog) -> None:
        self.db = database
        self.log = log
        self.key: SigningKey | None = None

    @property
    def origin(self) -> str | None:
        """The name of this ledger's log (the checkpoints' origin line), once set."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'log_origin'").fetchone()
        return None if row is None else str(row[0])

    def set_log(self, origin: str, key: SigningKey) -> NoteVerifier:
        """Name this ledger's log and give it its signing key; checkpoints follow every write.

        The origin is fixed once set; the key's verifier is added to this ledger's trust.

        Raises:
            LogError: a malformed origin, or a different origin than the one already set.
        """
        verifier = NoteVerifier(origin, key.public_key)
        verifier = NoteVerifier.from_vkey(verifier.to_vkey())  # checks the name's form
        current = self.origin
        if current is not None and current != origin:
            raise LogError(f"this ledger's log is {current!r}; an origin never changes")
        with _db.write(self.db):
            self.db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('log_origin', ?)", [origin]
            )
            self.db.execute(
                "INSERT OR IGNORE INTO log_keys (vkey) VALUES (?)", [verifier.to_vkey()]
            )
        self.key = key
        return verifier

    def sign(self) -> str:
        """Sign (or return the already signed) checkpoint for the log's current size.

        Raises:
            LogError: no log key or origin has been set (see :meth:`set_log`).
        """
        with _db.write(self.db):
            return self._checkpoint()

    def sign_in_transaction(self) -> str:
        """Like :meth:`sign`, inside a write transaction the caller holds."""
        return self._checkpoint()

    def _checkpoint(self) -> str:
        origin, key = self.origin, self.key
        if origin is None or key is None:
            raise LogError("this ledger has no log key: call checkpoints.set_log(origin, key)")
        size = self.log.size()
        row = self.db.execute("SELECT note FROM checkpoints WHERE size = ?", [size]).fetchone()
        if row is not None:
            return str(row[0])
        note = sign_checkpoint(Checkpoint(origin, size, self.log.root(size)), origin, key)
        self.db.execute("INSERT INTO checkpoints (size, note) VALUES (?, ?)", [size, note])
        return note

    def latest(self) -> str | None:
        """The newest signed checkpoint, if any."""
        row = self.db.execute("SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    def at(self, size: int) -> str:
        """The checkpoint signed at ``size``.

        Raises:
            NotFoundError: none was signed at that size.
        """
        row = self.db.execute("SELECT note FROM checkpoints WHERE size = ?", [size]).fetchone()
        if row is None:
            raise NotFoundError(f"no checkpoint was signed at size {size}")
        return str(row[0])
