"""How ``dpp bench`` times things: CPU and wall clock together, in turns, with their spread.

On a shared machine the wall clock also counts other tenants' work; CPU time (user + system,
this process and the children it waited for) counts only ours, so ratios are taken on CPU
time and the wall clock is reported beside them. A ceiling and the path compared with it are
timed in turns (A, B, A, B...): each turn gives its own ratio, and the figure is the median of
those ratios. Medians of different things are never subtracted or divided to make a figure.
"""

from __future__ import annotations

import resource
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

# One turn's figure more than this many times another's: the machine was busy elsewhere.
NOISY_SPREAD: Final = 2.0


@dataclass(frozen=True)
class Timing:
    """Seconds of CPU (user + system, with waited-for children) and of wall clock."""

    cpu: float
    wall: float

    def per(self, count: int) -> Timing:
        """The same spread over ``count`` events."""
        return Timing(self.cpu / count, self.wall / count)

    def __add__(self, other: Timing) -> Timing:
        return Timing(self.cpu + other.cpu, self.wall + other.wall)


def _cpu_now() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def clocked(action: Callable[[], object]) -> Timing:
    """Run ``action`` once and time it (CPU includes worker processes it waited for)."""
    cpu, wall = _cpu_now(), time.perf_counter()
    action()
    return Timing(_cpu_now() - cpu, time.perf_counter() - wall)


def spread(samples: Sequence[float]) -> dict[str, float]:
    """The median of ``samples`` and their range, as JSON-ready numbers."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples)}


def timing_spread(samples: Sequence[Timing], scale: float = 1.0) -> dict[str, dict[str, float]]:
    """CPU and wall figures of ``samples`` (each multiplied by ``scale``)."""
    return {
        "cpu": spread([s.cpu * scale for s in samples]),
        "wall": spread([s.wall * scale for s in samples]),
    }


def varied(name: str, samples: Sequence[float]) -> list[str]:
    """A note if ``samples`` of one quantity spread more than :data:`NOISY_SPREAD`-fold."""
    low, high = min(samples), max(samples)
    if low > 0 and high / low > NOISY_SPREAD:
        return [f"{name} varied {high / low:.1f}-fold between turns"]
    return []


def ratio_notes(name: str, ratios: Sequence[float], ceiling: float = 1.0) -> list[str]:
    """Notes for ratios that cannot be: a path faster than its ceiling, or a spread too wide."""
    notes = varied(name, ratios)
    if statistics.median(ratios) > ceiling:
        notes.append(
            f"{name} {statistics.median(ratios):.2f} is above its ceiling {ceiling:.2f}: the "
            "machine's load changed during the turns; run again on a quieter machine"
        )
    return notes
