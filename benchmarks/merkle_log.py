"""Benchmark the ledger's transparency log: append rate and proof times at a million leaves.

Run: python benchmarks/merkle_log.py [LEAVES]   (default 1,000,000; a temporary SQLite file)
A benchmark, not a test: it prints numbers and checks that the proofs it times verify.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from ledger import db as ledger_db
from ledger.log import MerkleLog
from passport import merkle


def main(leaves: int) -> None:
    """Append ``leaves`` leaves to a fresh log, then time 200 proofs of each kind."""
    with tempfile.TemporaryDirectory() as directory:
        database = ledger_db.connect(Path(directory) / "log.db", create=True)
        log = MerkleLog(database)
        batch = 10_000
        started = time.perf_counter()
        for start in range(0, leaves, batch):
            hashes = [
                hashlib.sha256(i.to_bytes(8, "big")).digest()
                for i in range(start, min(start + batch, leaves))
            ]
            with ledger_db.write(database):
                log.append([merkle.leaf_hash(h) for h in hashes])
        elapsed = time.perf_counter() - started
        print(f"append: {leaves:,} leaves in {elapsed:.1f} s = {leaves / elapsed:,.0f} leaves/s")
        size = log.size()
        root = log.root(size)
        rng = random.Random(1)  # noqa: S311 - sampling indexes, not secrets
        inclusion, consistency = [], []
        for _ in range(200):
            index = rng.randrange(size)
            t = time.perf_counter()
            path = log.inclusion(index, size)
            inclusion.append(time.perf_counter() - t)
            leaf = merkle.leaf_hash(hashlib.sha256(index.to_bytes(8, "big")).digest())
            merkle.verify_inclusion(leaf, index, size, path, root)
            old = rng.randrange(1, size)
            t = time.perf_counter()
            proof = log.consistency(old, size)
            consistency.append(time.perf_counter() - t)
            merkle.verify_consistency(old, size, log.root(old), root, proof)
        for name, times in (("inclusion", inclusion), ("consistency", consistency)):
            ms = sorted(x * 1000 for x in times)
            print(
                f"{name} proof at size {size:,}: median {statistics.median(ms):.2f} ms, "
                f"min {ms[0]:.2f}, max {ms[-1]:.2f} (200 proofs, each verified)"
            )
        database.conn.close()
        print(f"file: {(Path(directory) / 'log.db').stat().st_size / size:.0f} bytes per leaf")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
