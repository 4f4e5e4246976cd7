"""The audit of a large ledger: how long ``dpp check --jobs 2`` takes on 10^7 events.

A long run of its own (``dpp bench --audit-events 10000000 --work DIR``). Building the ledger
costs far more than checking it (each event is signed, verified and stored), so it is built
once under the work directory and reused by later runs; a build that was stopped resumes
where it stopped. Its events are production events, one per passport, issued in bulk: the
check re-verifies each chain, every signature and the whole Merkle log.

The goal: under 10 minutes on 2 cores. The figure is the wall time of ``check_ledger`` (what
``dpp check`` runs), with its CPU time (this process and its workers) beside it. A build also
reports what appending cost at each size it passed (10^3, 10^4, 10^5, then every 10^5 events):
the append cost should not grow with the ledger.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any, Final

from dpp_ledger import passport as pp

from .bench_timing import clocked
from .bulk import issue_many
from .check import check_ledger
from .demo import sample_brand, sample_product
from .files import write_atomic
from .store import Ledger

GOAL_S: Final = 600.0
CHUNK: Final = 100_000  # passports issued between two progress lines
_BRAND: Final = "Maison Audit"


def audit(work: Path, events: int, jobs: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Build (or reuse) a ledger of ``events`` events under ``work``, then check it once.

    Raises:
        DppError: the check found a problem (a benchmark ledger must be sound).
    """
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"audit-{events}.db"
    started = time.perf_counter()
    appends = _build(path, work / f"audit-{events}.keys.json", events, say)
    built_s = time.perf_counter() - started
    say(f"checking {events:,} events with {jobs} processes")
    holder: list[Any] = []
    spent = clocked(lambda: holder.append(check_ledger(path, jobs=jobs)))
    report = holder[0]
    if not report:
        raise pp.DppError(f"the audit ledger {path} did not check: {report.problems[:3]}")
    return {
        "events": events,
        "jobs": jobs,
        "ledger": str(path),
        "reused": appends is None,
        "build_s": built_s,
        # Per stretch of the build: CPU and wall µs per event appended (none when reused).
        "append_us": appends or [],
        "check_s": {"wall": spent.wall, "cpu": spent.cpu},
        "check_us_per_event": {"wall": spent.wall / events * 1e6, "cpu": spent.cpu / events * 1e6},
        # What 10^7 events would take at this rate: the check is linear in events.
        "projected_10m_events_s": spent.wall / events * 10**7,
        "goal_s": GOAL_S,
    }


def _build(
    path: Path, keys_path: Path, events: int, say: Callable[[str], None]
) -> list[dict[str, float]] | None:
    """Issue passports until the ledger holds ``events`` events; None if it held them already.

    Otherwise the append cost of each stretch built, per event.
    """
    brand, factory = _keys(keys_path)
    fresh = not path.exists()
    with Ledger.create(path) if fresh else Ledger.open(path) as ledger:
        if fresh:
            sample_brand(
                ledger,
                brand,
                [(factory, "Atelier", "factory")],
                now=int(time.time()),
                lasts=86_400 * 3650,
                name=_BRAND,
            )
        held = ledger.counts()["events"]
        if held >= events:
            say(f"reusing {path} ({held:,} events)")
            return None
        say(f"building {path}: {held:,} of {events:,} events so far")
        appends = []
        for start, stop in stretches(held, events):
            # Each chunk's summary is dropped as soon as it is read: memory stays flat.
            spent = clocked(
                partial(issue_many, ledger, factory, _products(start, stop), batch_size=10_000)
            ).per(stop - start)
            appends.append(
                {"from": start, "to": stop, "cpu": spent.cpu * 1e6, "wall": spent.wall * 1e6}
            )
            say(f"  {stop:,} events ({spent.cpu * 1e6:.0f} µs CPU per event appended)")
    return appends


def stretches(held: int, events: int) -> list[tuple[int, int]]:
    """The stretches a build issues in: up to 10^3, 10^4, 10^5, then every 10^5 events."""
    marks = sorted({m for m in (1_000, 10_000) if held < m < events} | {events})
    marks += range(CHUNK, events, CHUNK)
    bounds = sorted({held, *(m for m in marks if m > held)})
    return list(pairwise(bounds))


def _products(start: int, stop: int) -> Iterator[dict[str, Any]]:
    for i in range(start, stop):
        yield sample_product(i, f"AUDIT-{i}")


def _keys(path: Path) -> tuple[pp.SigningKey, pp.SigningKey]:
    """The brand and factory keys of the audit ledger, kept beside it so a build can resume.

    Benchmark keys sign nothing anyone trusts: they are stored in clear, on purpose.
    """
    if path.exists():
        seeds = json.loads(path.read_text())
        return pp.SigningKey.from_seed(bytes.fromhex(seeds["brand"])), pp.SigningKey.from_seed(
            bytes.fromhex(seeds["factory"])
        )
    brand, factory = pp.SigningKey.generate(), pp.SigningKey.generate()
    text = json.dumps({"brand": brand.seed().hex(), "factory": factory.seed().hex()})
    write_atomic(path, text.encode())
    return brand, factory
