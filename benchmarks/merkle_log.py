"""Benchmark the ledger's transparency log: append rate and proof times at a million leaves.

Run: python benchmarks/merkle_log.py [LEAVES] [RECORD_BYTES]
(default 1,000,000 leaves of 520 bytes, the size of a typical production event; a temporary
ledger file whose events are synthetic records). A benchmark, not a test: it prints numbers
and checks that the proofs it times verify.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dpp_ledger.ledger.bench import scratch_log, synthetic_record
from dpp_ledger.ledger.storage.sqlite import SqliteStorage
from dpp_ledger.passport import merkle


def main(leaves: int, record: int) -> None:
    """Append ``leaves`` events to a fresh log, then time 200 proofs of each kind."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "log.db"
        database = SqliteStorage.open(path, create=True)
        started = time.perf_counter()
        log, rate = scratch_log(database, leaves, record)
        elapsed = time.perf_counter() - started
        print(
            f"append: {leaves:,} leaves in {elapsed:.1f} s with their {record}-byte events "
            f"(the log's appends alone: {rate:,.0f} leaves/s)"
        )
        size = log.size()
        root = log.root(size)
        rng = random.Random(1)  # noqa: S311 - sampling indexes, not secrets
        inclusion, consistency = [], []
        for _ in range(200):
            index = rng.randrange(size)
            t = time.perf_counter()
            path_ = log.inclusion(index, size)
            inclusion.append(time.perf_counter() - t)
            leaf = merkle.leaf_hash(synthetic_record(index, record))
            merkle.verify_inclusion(leaf, index, size, path_, root)
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
        nodes = database.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name = 'log_nodes'"
        ).fetchone()[0]
        database.conn.close()
        print(f"stored log nodes: {nodes / size:.1f} bytes per leaf")


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 520,
    )
