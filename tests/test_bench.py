"""`dpp bench` runs and reports every field (a benchmark, not a timed test: no speed asserted)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIELDS = (
    "issue_eps",
    "issue_ratio",
    "verify_eps",
    "verify_ratio",
    "check_speedup",
    "parallel_ceiling",
    "bytes_per_event",
    "inclusion_proof_ms",
    "consistency_proof_ms",
    "ceilings_us",
    "breakdown_us",
    "environment",
)


def test_bench_reports_every_field(tmp_path: Path) -> None:
    dpp = Path(sys.executable).parent / "dpp"
    result = subprocess.run(
        [
            str(dpp),
            "bench",
            "--items",
            "200",
            "--events",
            "3000",
            "--repeat",
            "1",
            "--jobs",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    for field in FIELDS:
        assert field in report
    assert set(report["ceilings_us"]) == {"sign", "verify", "hash", "encode", "insert"}
    assert report["issue_eps"] > 0
    assert report["verify_ratio"] > 0
    assert 0.5 < report["parallel_ceiling"] <= 2.5  # two processes: at best about twice one
    assert report["bytes_per_event"] > 100
    assert 100 < report["details"]["bytes_per_event_vacuumed"] <= report["bytes_per_event"]
    parts = report["breakdown_us"]
    assert set(parts["verify"]) == {"parse", "signatures", "other_checks"}
    assert parts["verify"]["signatures"] > 0
    assert parts["issue"]["validate_encode_sign"] > 0


def test_the_resolver_page_benchmark_runs(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "resolver_page.py"), "400"],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "passport page on 400 passports: median" in result.stdout


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="needs valgrind")
def test_the_instruction_count_benchmark_counts(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, str(root / "benchmarks" / "instructions.py"), "parse", "--json"],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # A bundle's three events take tens of thousands of instructions each to read, not zero.
    assert 20_000 < json.loads(result.stdout)["parse"] < 5_000_000
