"""RFC 9162 §2.1 Merkle trees: hashing, proof generation over any subtree oracle, verification.

Generation takes ``subtree(start, end)``, the hash of leaves ``[start, end)``; a store answers it
from the complete subtrees it keeps, so a proof never costs a pass over the whole log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Final

from .errors import LogError

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()
Subtree = Callable[[int, int], bytes]


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH over leaf hashes, computed directly (for small trees and tests)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 §2.1.3.1.

    Raises:
        LogError: ``index`` is not below ``size``.
    """
    if not 0 <= index < size:
        raise LogError(f"leaf index {index} is outside a tree of size {size}")
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
    path.reverse()
    return path


def consistency_path(old: int, new: int, subtree: Subtree) -> list[bytes]:
    """PROOF(old, D[0:new]) of RFC 9162 §2.1.4.1 (empty when ``old`` is 0 or equals ``new``).

    Raises:
        LogError: ``old`` is negative or larger than ``new``.
    """
    if not 0 <= old <= new:
        raise LogError(f"no consistency proof from size {old} to size {new}")
    if old in (0, new):
        return []
    path: list[bytes] = []
    start, end, complete = 0, new, True
    while old != end:  # SUBPROOF(old - start, D[start:end], complete) until m == n
        k = split_point(end - start)
        if old - start <= k:
            path.append(subtree(start + k, end))
            end = start + k
        else:
            path.append(subtree(start, start + k))
            start += k
            complete = False
    if not complete:
        path.append(subtree(start, end))
    path.reverse()
    return path


def _check_hashes(what: str, *hashes: bytes) -> None:
    """Every hash in a proof is a SHA-256 digest: an empty or short one proves nothing."""
    for value in hashes:
        if not isinstance(value, bytes) or len(value) != HASH_SIZE:
            size = len(value) if isinstance(value, bytes) else type(value).__name__
            raise LogError(f"{what}: a hash of {size} bytes where SHA-256 has {HASH_SIZE}")


def verify_inclusion(
    leaf: bytes, index: int, size: int, path: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf`` (a leaf hash) is at ``index`` in the tree of ``size`` with ``root``.

    Raises:
        LogError: a hash that is not 32 bytes, or a proof that does not lead to ``root``
            (RFC 9162 §2.1.3.2).
    """
    _check_hashes("inclusion proof", leaf, root, *path)
    if not 0 <= index < size:
        raise LogError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    sha256 = hashlib.sha256  # node_hash inlined: this loop runs for every verified event
    for p in path:
        if sn == 0:
            raise LogError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r).digest()
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = sha256(b"\x01" + r + p).digest()
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or r != root:
        raise LogError(f"inclusion proof for leaf {index} does not match the root of size {size}")


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> None:
    """Check that the tree of size ``new`` extends the tree of size ``old`` (RFC 9162 §2.1.4.2).

    Raises:
        LogError: a hash that is not 32 bytes, or a proof that does not link the two roots.
    """
    _check_hashes("consistency proof", old_root, new_root, *path)
    if _trivially_consistent(old, new, old_root, new_root, path):
        return
    proof = list(path)
    if old & (old - 1) == 0:
        proof.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise LogError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0 or fr != old_root or sr != new_root:
        raise LogError(f"consistency proof does not link size {old} to size {new}")


def _trivially_consistent(
    old: int, new: int, old_root: bytes, new_root: bytes, path: Sequence[bytes]
) -> bool:
    """Settle the cases the RFC 9162 algorithm leaves out (it covers 0 < old < new only).

    Shrinking is refused; equal sizes need equal roots and no proof; every tree extends the
    empty one, whose root is SHA-256 of nothing and whose proof is empty.
    """
    if not 0 <= old <= new:
        raise LogError(f"a log cannot shrink from size {old} to size {new}")
    for size, root in ((old, old_root), (new, new_root)):
        if size == 0 and root != EMPTY_ROOT:
            raise LogError("the root of the empty tree is SHA-256 of nothing; this one is not")
    if old == new:
        if path or old_root != new_root:
            raise LogError(f"two different roots for size {new}")
        return True
    if old == 0:
        if path:
            raise LogError("a consistency proof from the empty tree is empty")
        return True
    if not path:
        raise LogError("empty consistency proof")
    return False
