"""Fuzzing in the suite: every saved crash replays cleanly, and each target runs briefly.

The short run is about a minute in all; `python -m tests.fuzz.harness all --seconds N` runs as
long as one likes (see tests/fuzz/README.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz import harness

ROOT = Path(__file__).resolve().parents[1]
CRASHES = sorted(harness.CRASHES.glob("*/*.bin"))
SECONDS_PER_TARGET = 7


@pytest.fixture(scope="module")
def prepared() -> dict[str, list[bytes]]:
    return harness.prepare()


@pytest.mark.parametrize("path", CRASHES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_saved_crashes_are_handled(prepared: dict[str, list[bytes]], path: Path) -> None:
    harness.run_one(path.parent.name, path.read_bytes())


def test_there_is_at_least_one_regression_input() -> None:
    assert CRASHES, "crashes found by fuzzing are kept under tests/fuzz/crashes/"


@pytest.mark.parametrize("target", sorted(harness.TARGETS))
def test_a_short_fuzzing_run(prepared: dict[str, list[bytes]], target: str) -> None:
    if harness._has_atheris():
        result = subprocess.run(
            [sys.executable, "-m", "tests.fuzz.atheris_main", target, str(SECONDS_PER_TARGET)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, result.stderr[-4000:]
        assert "Done" in result.stderr or "stat::number_of_executed_units" in result.stderr
    else:
        assert harness.fuzz_mutate(target, SECONDS_PER_TARGET) > 100
