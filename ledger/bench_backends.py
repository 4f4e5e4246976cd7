"""SQLite and PostgreSQL side by side: the same work through the same ledger code on each.

``dpp bench --ledger postgresql://...`` issues the same number of passports into a fresh
temporary SQLite file and a fresh schema of that PostgreSQL database (made here, dropped at
the end), then times on each: bulk issuance (sign, check, store, log), verification of stored
passports as an exported bundle (read, assemble, verify), the whole-ledger check, and
inclusion and consistency proofs at the full size. The figures are what the README's
"Running a shared registry" section quotes.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Final

from dpp_ledger import passport as pp

from .bulk import issue_many
from .check import check_ledger
from .demo import sample_brand, sample_product
from .storage import Location, drop_postgres_schema, new_postgres_schema
from .store import Ledger

SAMPLE: Final = 200  # passports verified, proofs made
WRITERS: Final = 4  # processes appending one event per transaction at once
APPENDS: Final = 150  # events each of them appends
Say = Callable[[str], None]


def compare(
    server: str, *, events: int, jobs: int | None = None, say: Say = lambda _: None
) -> dict[str, Any]:
    """Measure both backends on ``events`` passports each; the PostgreSQL one at ``server``.

    Raises:
        StorageError: the server cannot be reached, or refuses to make a schema.
    """
    jobs = jobs or os.cpu_count() or 1
    figures: dict[str, Any] = {"events": events, "jobs": jobs}
    with tempfile.TemporaryDirectory(prefix="dpp-bench-") as directory:
        figures["sqlite"] = _measure(Path(directory) / "bench.db", events, jobs, say)
    location = new_postgres_schema(server, "dpp_bench_")
    try:
        figures["postgresql"] = _measure(location, events, jobs, say)
    finally:
        drop_postgres_schema(location, "dpp_bench_")
    return figures


def _measure(location: Location, events: int, jobs: int, say: Say) -> dict[str, float]:
    brand, factory = pp.SigningKey.generate(), pp.SigningKey.generate()
    now = int(time.time())
    name = "PostgreSQL" if isinstance(location, str) else "SQLite"
    with Ledger.create(location) as ledger:
        sample_brand(ledger, brand, [(factory, "Atelier", "factory")], now=now, lasts=86_400 * 365)
        factory_seed = factory.seed()
        ledger.checkpoints.set_log("bench.example/log", pp.SigningKey.generate())
        items = (sample_product(i, f"S{i}") for i in range(events))
        started = time.perf_counter()
        summary = issue_many(ledger, factory, items, time=now, batch_size=1000)
        issue_s = time.perf_counter() - started
        say(f"{name}: issued {len(summary.issued):,} passports in {issue_s:.1f} s")
        rng = random.Random(17)  # noqa: S311 - sampling, not secrets
        picked = [summary.issued[rng.randrange(len(summary.issued))][1] for _ in range(SAMPLE)]
        started = time.perf_counter()
        for pid in picked:
            ledger.verify(pid)
        verify_s = time.perf_counter() - started
        size = ledger.log.size()
        indexes = [rng.randrange(size) for _ in range(SAMPLE)]
        inclusion = _each_ms([partial(ledger.log.inclusion, i, size) for i in indexes])
        consistency = _each_ms([partial(ledger.log.consistency, i, size) for i in indexes])
    append_per_s = _concurrent_appends(location, factory_seed, now)
    say(f"{name}: {WRITERS} processes appended {append_per_s:,.0f} events/s together")
    started = time.perf_counter()
    report = check_ledger(location, jobs=jobs)
    check_s = time.perf_counter() - started
    problems = len(report.problems)
    say(f"{name}: checked {report.events:,} events in {check_s:.1f} s ({problems} problems)")
    return {
        "issue_eps": events / issue_s,
        "verify_per_s": SAMPLE / verify_s,
        "check_eps": report.events / check_s,
        "append_per_s": append_per_s,
        "inclusion_ms": statistics.median(inclusion),
        "consistency_ms": statistics.median(consistency),
    }


def _concurrent_appends(location: Location, seed: bytes, now: int) -> float:
    """Events per second that WRITERS processes append together, one per transaction."""
    start = time.time() + 3.0  # every process started and connected before the first append
    with ProcessPoolExecutor(WRITERS, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_appender, location, seed, worker, start, now) for worker in range(WRITERS)
        ]
        ends = [future.result() for future in futures]
    return WRITERS * APPENDS / (max(ends) - start)


def _appender(location: Location, seed: bytes, worker: int, start: float, now: int) -> float:
    """Append APPENDS new passports one at a time from ``start``; return when it finished."""
    factory = pp.SigningKey.from_seed(seed)
    events = [
        pp.issue(factory, sample_product(90_000 + i, f"W{worker}-{i}"), time=now)
        for i in range(APPENDS)
    ]
    with Ledger.open(location) as ledger:
        while time.time() < start:
            time.sleep(0.001)
        for event in events:
            ledger.append(event)
    return time.time()


def _each_ms(actions: list[Callable[[], object]]) -> list[float]:
    samples = []
    for action in actions:
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples
