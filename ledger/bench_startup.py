"""How long the ``dpp`` command takes to start, next to the interpreter starting alone.

Each figure is the CPU time (user + system) of a child process, read from
``getrusage(RUSAGE_CHILDREN)`` around it: on a shared machine the wall clock counts the other
tenants' work too, CPU time only ours. The three commands run in turns (A, B, C, A, B, C...),
so a load that drifts during the run weighs on all of them alike, and each turn gives its own
ratio; the figure is the median of those ratios, never a ratio of medians taken apart.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from dpp_ledger import passport as pp

from .demo import sample_brand, sample_product
from .files import write_atomic
from .store import Ledger

# The targets the CLI is held to, as multiples of ``python -c pass`` on the same machine.
TARGETS: Final = {"version_ratio": 6.0, "verify_ratio": 10.0}
# A turn's figure more than this many times another turn's of the same command: the machine
# was busy with something else, and the run says so rather than print a figure as if it held.
NOISY_SPREAD: Final = 2.0


@dataclass(frozen=True)
class Sample:
    """One run of one command: its CPU seconds (user + system) and its wall seconds."""

    cpu: float
    wall: float


def child_run(argv: Sequence[str], cwd: Path) -> Sample:
    """Run ``argv`` to its end and measure it.

    Raises:
        DppError: the command failed (its figure would measure an error path).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and command, no shell
        argv, cwd=cwd, capture_output=True, check=False, env=_quiet_environment()
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise pp.DppError(
            f"{' '.join(argv[-3:])} failed while timed (exit {done.returncode}): "
            f"{done.stderr.decode(errors='replace')[-300:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(cpu, wall)


def _quiet_environment() -> dict[str, str]:
    # Variables that would make the child do more than a user's run does are dropped. Without
    # bytecode caching every start would compile our sources again (~60 ms); an installed
    # wheel ships its bytecode, and a checkout writes it on its first run, as the untimed
    # first turn here does.
    drop = {
        "PYTHONPROFILEIMPORTTIME",
        "PYTHONTRACEMALLOC",
        "PYTHONDEVMODE",
        "PYTHONWARNINGS",
        "PYTHONDONTWRITEBYTECODE",
    }
    return {k: v for k, v in os.environ.items() if k not in drop}


def three_event_bundle(directory: Path) -> tuple[Path, Path]:
    """A bundle of production, sale and resale, and the trust store it verifies against."""
    brand, factory, shop, first, second = (pp.SigningKey.generate() for _ in range(5))
    now = int(time.time())
    with Ledger.create(directory / "startup.db") as ledger:
        delegates = [(factory, "Atelier", "factory"), (shop, "Boutique", "retailer")]
        sample_brand(ledger, brand, delegates, now=now, lasts=10**7)
        event = pp.issue(factory, sample_product(1, "STARTUP-1"), time=now)
        ledger.append(event)
        sale = pp.sign_event(
            shop, "sale", {"owner": first.kid.hex(), "channel": "boutique"}, time=now, after=event
        )
        ledger.append(sale, keys=[first.public_key])
        resale = pp.sign_event(first, "resale", {"to": second.kid.hex()}, time=now, after=sale)
        ledger.append(resale, keys=[second.public_key])
        bundle, trust = directory / "bag.dpp", directory / "trust.json"
        write_atomic(bundle, ledger.export(event.hash))
        write_atomic(trust, ledger.trust().to_json().encode())
    return bundle, trust


def measure(dpp: Sequence[str], directory: Path, repeat: int) -> dict[str, Any]:
    """Start-up of ``dpp --version`` and ``dpp verify`` (3 events) against ``python -c pass``.

    ``dpp`` is how the command is started (the console script, or the interpreter and
    ``-m cli``). Each of ``repeat`` turns runs the three once, in that order, after one
    untimed turn that fills the file cache.
    """
    bundle, trust = three_event_bundle(directory)
    commands = {
        "python_pass": [sys.executable, "-c", "pass"],
        "dpp_version": [*dpp, "--version"],
        "dpp_verify": [*dpp, "verify", str(bundle), "--trust", str(trust)],
    }
    for argv in commands.values():
        child_run(argv, directory)
    turns = [
        {name: child_run(argv, directory) for name, argv in commands.items()} for _ in range(repeat)
    ]
    return summarise(turns)


def summarise(turns: Sequence[dict[str, Sample]]) -> dict[str, Any]:
    """Figures per command (CPU and wall), the ratios per turn, and whether the run was noisy."""
    names = list(turns[0])
    figures: dict[str, Any] = {}
    noisy: list[str] = []
    for name in names:
        cpu = [turn[name].cpu for turn in turns]
        wall = [turn[name].wall for turn in turns]
        figures[name] = {"cpu_s": spread(cpu), "wall_s": spread(wall)}
        if min(cpu) > 0 and max(cpu) / min(cpu) > NOISY_SPREAD:
            noisy.append(f"{name} CPU time varied {max(cpu) / min(cpu):.1f}-fold between turns")
    ratios: dict[str, Any] = {}
    for ratio, name in (("version_ratio", "dpp_version"), ("verify_ratio", "dpp_verify")):
        per_turn = [t[name].cpu / t["python_pass"].cpu for t in turns if t["python_pass"].cpu > 0]
        if not per_turn or min(per_turn) < 1:
            # Starting dpp cannot cost less than starting the interpreter it runs on.
            noisy.append(f"{ratio}: a turn measured dpp faster than `python -c pass`")
        ratios[ratio] = {
            **spread(per_turn or [0.0]),
            "target": TARGETS[ratio],
            "met": bool(per_turn) and statistics.median(per_turn) <= TARGETS[ratio],
        }
    return {"commands": figures, "ratios": ratios, "turns": len(turns), "noisy": noisy}


def spread(samples: Sequence[float]) -> dict[str, float]:
    """The median of ``samples`` and their range."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}
