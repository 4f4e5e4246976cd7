"""The ledger's transparency log: an RFC 9162 Merkle tree over every stored event.

Leaves are the events' COSE bytes in storage order (leaf i is the event with ``idx`` i + 1), so
the ``events`` table is the log's bottom level. The store keeps only the hashes of complete
subtrees of ``2**STORED_LEVEL`` leaves and more (``log_nodes``); anything smaller is rehashed
from at most ``2**STORED_LEVEL`` events read in one range scan. Appending costs O(1) amortised
and a proof is O(log² n) lookups plus one such scan, never a pass over the log.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Final

from dpp_ledger.passport import merkle
from dpp_ledger.passport.checkpoint import Checkpoint, NoteVerifier, sign_checkpoint
from dpp_ledger.passport.errors import LogError
from dpp_ledger.passport.keys import SigningKey

from .errors import NotFoundError
from .storage import Storage

_LOG = logging.getLogger(__name__)

# Levels below this are rehashed from the events on demand: a proof rehashes the block of its
# leaf and the block at the log's right edge. 4 (blocks of 16 events) costs 5.8 bytes of
# stored nodes per event, and an exported bundle about 0.03 ms more per event than a stored
# level 0 did; 6 would save 4.4 bytes per event but cost export about 0.15 ms per event.
STORED_LEVEL: Final = 4


class MerkleLog:
    """The tree over the ``events`` table, with its large subtrees in ``log_nodes``."""

    def __init__(self, database: Storage) -> None:
        self.db = database
        self.level = STORED_LEVEL
        self.block = 1 << STORED_LEVEL

    def size(self) -> int:
        """How many leaves the log holds: the stored events, numbered 1, 2, ... in ``idx``."""
        row = self.db.execute("SELECT max(idx) FROM events").fetchone()
        return 0 if row[0] is None else int(row[0])

    def leaves(self, start: int, end: int) -> list[bytes]:
        """The leaf hashes of leaves ``[start, end)``, from the events' bytes.

        Raises:
            LogError: an event in that range is missing.
        """
        rows = self.db.execute(
            "SELECT idx, cose FROM events WHERE idx > ? AND idx <= ? ORDER BY idx", [start, end]
        ).fetchall()
        if len(rows) != end - start:
            have = {int(i) for i, _ in rows}
            missing = next(i for i in range(start + 1, end + 1) if i not in have)
            raise LogError(f"the log has no event at index {missing - 1}: an event was dropped")
        return [merkle.leaf_hash(cose) for _, cose in rows]

    def append(self, leaves: Sequence[bytes]) -> int:
        """Store the subtrees completed by the newest events, whose leaf hashes are ``leaves``.

        Called inside the write transaction that inserted those events, after inserting them.
        Returns the log's size.
        """
        size = self.size()
        start = size - len(leaves)
        base = start - start % self.block
        if size // self.block == start // self.block:
            return size  # no block completed: nothing to store
        hashes = [*self.leaves(base, start), *leaves]
        made: dict[tuple[int, int], bytes] = {}
        for first in range(base, size - self.block + 1, self.block):
            offset = first - base
            level, index = self.level, first >> self.level
            digest = merkle.root_of(hashes[offset : offset + self.block])
            made[(level, index)] = digest
            while index & 1:  # a right child completes its parent
                left = made.get((level, index - 1)) or self.node(level, index - 1)
                level, index, digest = level + 1, index >> 1, merkle.node_hash(left, digest)
                made[(level, index)] = digest
        self.db.executemany(
            "INSERT INTO log_nodes (level, idx, hash) VALUES (?, ?, ?)",
            [(lvl, i, h) for (lvl, i), h in made.items()],
        )
        return size

    def node(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree of 2**level leaves starting at index << level."""
        if level < self.level:
            return merkle.root_of(self.leaves(index << level, (index + 1) << level))
        row = self.db.execute(
            "SELECT hash FROM log_nodes WHERE level = ? AND idx = ?", [level, index]
        ).fetchone()
        if row is None:
            raise LogError(f"the log has no node at level {level}, index {index}")
        return bytes(row[0])

    def subtree(self, start: int, end: int) -> bytes:
        """MTH of leaves [start, end): stored when large and complete, else built from parts."""
        return _Subtrees(self).subtree(start, end)

    def root(self, size: int) -> bytes:
        """The root hash of the tree of the first ``size`` leaves.

        Raises:
            LogError: the log is smaller than ``size``.
        """
        self._check(size)
        return merkle.EMPTY_ROOT if size == 0 else _Subtrees(self).subtree(0, size)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """An inclusion proof for leaf ``index`` in the tree of ``size`` leaves."""
        return self.inclusions([index], size)[0]

    def inclusions(self, indexes: Sequence[int], size: int) -> list[list[bytes]]:
        """Inclusion proofs for several leaves in one tree (the blocks they share read once)."""
        self._check(size)
        subtrees = _Subtrees(self)
        return [merkle.inclusion_path(index, size, subtrees.subtree) for index in indexes]

    def consistency(self, old: int, new: int) -> list[bytes]:
        """A consistency proof from the tree of ``old`` leaves to the tree of ``new`` leaves."""
        self._check(new)
        return merkle.consistency_path(old, new, _Subtrees(self).subtree)

    def audit_blocks(self, start: int, end: int) -> Iterator[str]:
        """Rehash the events of leaves ``[start, end)`` and say where a stored block differs.

        ``start`` is a multiple of the block size; ``end`` may pass the log's size. Yields one
        line per problem.
        """
        size = self.size()
        end = min(end, size - size % self.block)
        rows = self.db.execute(
            "SELECT idx, cose FROM events WHERE idx > ? AND idx <= ? ORDER BY idx", [start, end]
        )
        expected, block = start + 1, []
        for idx, cose in rows:
            if idx != expected:
                break
            block.append(merkle.leaf_hash(cose))
            expected += 1
            if len(block) == self.block:
                first = idx - self.block
                if merkle.root_of(block) != self._stored(self.level, first >> self.level):
                    yield (
                        f"the events at log indexes {first}-{idx - 1} do not hash to the "
                        "log's stored subtree: an event was changed, added or dropped"
                    )
                block = []
        if expected <= end:
            yield f"the log has no event at index {expected - 1}: an event was dropped"

    def audit_nodes(self) -> Iterator[str]:
        """Say which stored node above the blocks is not the hash of its two stored children."""
        rows = self.db.execute(
            "SELECT level, idx, hash FROM log_nodes WHERE level > ? ORDER BY level, idx",
            [self.level],
        )
        for level, index, digest in rows:
            left = self._stored(level - 1, 2 * index)
            right = self._stored(level - 1, 2 * index + 1)
            if left is None or right is None or merkle.node_hash(left, right) != digest:
                yield f"the log's stored node at level {level}, index {index} is not its children's"

    def shape(self) -> Iterator[str]:
        """Say where the stored nodes are not exactly the complete subtrees of a block or more."""
        size = self.size()
        rows = self.db.execute(
            "SELECT level, count(*), min(idx), max(idx) FROM log_nodes GROUP BY level"
        ).fetchall()
        found = {int(level): (int(n), int(low), int(high)) for level, n, low, high in rows}
        for level in sorted({*found, *range(self.level, max(size, 1).bit_length())}):
            count = size >> level if level >= self.level else 0
            want = (count, 0, count - 1) if count else None
            if found.get(level) != want:
                yield (
                    f"the log stores {found.get(level, (0,))[0]} nodes at level {level} "
                    f"for {size} events (expected {count})"
                )

    def _stored(self, level: int, index: int) -> bytes | None:
        row = self.db.execute(
            "SELECT hash FROM log_nodes WHERE level = ? AND idx = ?", [level, index]
        ).fetchone()
        return None if row is None else bytes(row[0])

    def _check(self, size: int) -> None:
        if not 0 <= size <= self.size():
            raise LogError(f"the log holds {self.size()} events, not {size}")


class _Subtrees:
    """Subtree hashes for one computation: stored ones looked up, each block's events read once.

    A proof visits the block of its leaf and the block at the log's right edge many times.
    """

    def __init__(self, log: MerkleLog) -> None:
        self.log = log
        self.size = log.size()
        self.blocks: dict[int, list[bytes]] = {}

    def subtree(self, start: int, end: int) -> bytes:
        log = self.log
        width = end - start
        if width >= log.block and width & (width - 1) == 0 and start % width == 0:
            return log.node(width.bit_length() - 1, start // width)
        first = start - start % log.block
        if end - first <= log.block:
            if first not in self.blocks:
                self.blocks[first] = log.leaves(first, min(first + log.block, self.size))
            leaves = self.blocks[first][start - first : end - first]
            if len(leaves) != width:
                raise LogError(f"the log holds {self.size} events, not {end}")
            return merkle.root_of(leaves)
        k = merkle.split_point(width)
        return merkle.node_hash(self.subtree(start, start + k), self.subtree(start + k, end))


class Checkpoints:
    """The log's name and signing key, and the checkpoints it signed (``checkpoints`` table)."""

    def __init__(self, database: Storage, log: MerkleLog) -> None:
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
        with self.db.write():
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES ('log_origin', ?) ON CONFLICT DO NOTHING",
                [origin],
            )
            self.db.execute(
                "INSERT INTO log_keys (vkey) VALUES (?) ON CONFLICT DO NOTHING",
                [verifier.to_vkey()],
            )
        self.key = key
        return verifier

    def sign(self) -> str:
        """Sign (or return the already signed) checkpoint for the log's current size.

        Raises:
            LogError: no log key or origin has been set (see :meth:`set_log`).
        """
        with self.db.write():
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
        _LOG.debug("signed the checkpoint of %s at size %d", origin, size)
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
