"""RFC 9162 Merkle proofs: every size 1-130, every index and pair, against a naive reference."""

from __future__ import annotations

import pytest

from dpp_ledger.passport import merkle
from dpp_ledger.passport.errors import LogError

SIZES = range(1, 131)


def _mth(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162 §2.1.1, recursively."""
    if not leaves:
        return merkle.EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = merkle.split_point(len(leaves))
    return merkle.node_hash(_mth(leaves[:k]), _mth(leaves[k:]))


def _path(m: int, leaves: list[bytes]) -> list[bytes]:
    """PATH(m, D[n]) from RFC 9162 §2.1.3.1."""
    if len(leaves) <= 1:
        return []
    k = merkle.split_point(len(leaves))
    if m < k:
        return [*_path(m, leaves[:k]), _mth(leaves[k:])]
    return [*_path(m - k, leaves[k:]), _mth(leaves[:k])]


def _subproof(m: int, leaves: list[bytes], complete: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) from RFC 9162 §2.1.4.1."""
    if m == len(leaves):
        return [] if complete else [_mth(leaves)]
    k = merkle.split_point(len(leaves))
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), _mth(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), _mth(leaves[:k])]


LEAVES = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(130)]


def _tree(size: int) -> tuple[list[bytes], merkle.Subtree]:
    leaves = LEAVES[:size]
    return leaves, lambda a, b: _mth(leaves[a:b])


def test_hashing_follows_rfc9162() -> None:
    import hashlib

    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT
    assert merkle.leaf_hash(b"x") == hashlib.sha256(b"\x00x").digest()
    assert merkle.node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert merkle.root_of([]) == merkle.EMPTY_ROOT


@pytest.mark.parametrize("size", SIZES)
def test_inclusion_for_every_index(size: int) -> None:
    leaves, subtree = _tree(size)
    root = _mth(leaves)
    assert merkle.root_of(leaves) == root
    for index in range(size):
        path = merkle.inclusion_path(index, size, subtree)
        assert path == _path(index, leaves)
        merkle.verify_inclusion(leaves[index], index, size, path, root)


@pytest.mark.parametrize("size", SIZES)
def test_consistency_for_every_older_size(size: int) -> None:
    leaves, subtree = _tree(size)
    root = _mth(leaves)
    for old in range(0, size + 1):
        path = merkle.consistency_path(old, size, subtree)
        assert path == (_subproof(old, leaves, True) if 0 < old < size else [])
        merkle.verify_consistency(old, size, _mth(leaves[:old]), root, path)


def _refused(check, *args) -> bool:  # type: ignore[no-untyped-def]
    try:
        check(*args)
    except LogError:
        return True
    return False


def _root(size: int) -> bytes:
    return _mth(LEAVES[:size])


def _genuine_inclusion(index: int, size: int) -> list[bytes] | None:
    if not 0 <= index < size <= len(LEAVES):
        return None
    return merkle.inclusion_path(index, size, _tree(size)[1])


def _inclusion_mutations(index: int, size: int, path: list[bytes]):  # type: ignore[no-untyped-def]
    """(name, leaf, index, size, root, path): a proof presented for a statement it does not prove.

    Size changes pair the proof with the real root of the changed size, as a signed checkpoint
    would: the old proof must not pass for it.
    """
    leaf = LEAVES[index]
    for i in range(len(path)):
        flipped = bytearray(path[i])
        flipped[i % 32] ^= 1 << (i % 8)
        yield (
            "flipped hash",
            leaf,
            index,
            size,
            _root(size),
            [*path[:i], bytes(flipped), *path[i + 1 :]],
        )
    for name, i, n in (
        ("index-1", index - 1, size),
        ("index+1", index + 1, size),
        ("size-1", index, size - 1),
        ("size+1", index, size + 1),
    ):
        if 0 < n <= len(LEAVES) and _genuine_inclusion(i, n) != path:
            yield name, LEAVES[i] if 0 <= i < n else leaf, i, n, _root(n), path
    yield "wrong leaf", merkle.leaf_hash(b"other"), index, size, _root(size), path
    yield "extra element", leaf, index, size, _root(size), [*path, leaf]
    if path:
        yield "missing element", leaf, index, size, _root(size), path[:-1]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 100, 129, 130])
def test_every_mutated_inclusion_proof_is_refused(size: int) -> None:
    _, subtree = _tree(size)
    for index in range(size):
        path = merkle.inclusion_path(index, size, subtree)
        for name, leaf, i, n, root, mutated in _inclusion_mutations(index, size, path):
            assert _refused(merkle.verify_inclusion, leaf, i, n, mutated, root), (
                f"{name} accepted at size {size} index {index}"
            )


@pytest.mark.parametrize("size", [2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 100, 129, 130])
def test_every_mutated_consistency_proof_is_refused(size: int) -> None:
    _, subtree = _tree(size)
    for old in range(1, size):
        path = merkle.consistency_path(old, size, subtree)
        cases = [
            (
                f"flip {i}",
                old,
                size,
                [*path[:i], bytes([path[i][0] ^ 1]) + path[i][1:], *path[i + 1 :]],
            )
            for i in range(len(path))
        ]
        for name, o, n in (
            ("old-1", old - 1, size),
            ("old+1", old + 1, size),
            ("new-1", old, size - 1),
            ("new+1", old, size + 1),
        ):
            if 0 < o < n <= len(LEAVES) and merkle.consistency_path(o, n, _tree(n)[1]) != path:
                cases.append((name, o, n, path))
        cases += [
            ("extra element", old, size, [*path, _root(size)]),
            ("missing element", old, size, path[:-1]),
        ]
        for name, o, n, mutated in cases:
            assert _refused(merkle.verify_consistency, o, n, _root(o), _root(n), mutated), (
                f"{name} accepted from {old} to {size}"
            )
        with pytest.raises(LogError):
            merkle.verify_consistency(old, size, merkle.leaf_hash(b"x"), _root(size), path)
        with pytest.raises(LogError):
            merkle.verify_consistency(old, size, _root(old), merkle.leaf_hash(b"x"), path)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((5, 5, b"a" * 32, b"b" * 32, []), "two different roots"),
        ((6, 5, b"a" * 32, b"a" * 32, []), "cannot shrink"),
        ((0, 5, merkle.EMPTY_ROOT, b"a" * 32, [b"x" * 32]), "from the empty tree"),
        ((3, 5, b"a" * 32, b"b" * 32, []), "empty consistency proof"),
    ],
)
def test_consistency_edge_cases(args: tuple, match: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(LogError, match=match):
        merkle.verify_consistency(*args)


def test_out_of_range_requests() -> None:
    _, subtree = _tree(5)
    with pytest.raises(LogError, match="outside a tree of size 5"):
        merkle.inclusion_path(5, 5, subtree)
    with pytest.raises(LogError, match="no consistency proof from size 6"):
        merkle.consistency_path(6, 5, subtree)
    with pytest.raises(LogError, match="outside"):
        merkle.verify_inclusion(LEAVES[0], 0, 0, [], merkle.EMPTY_ROOT)
