"""`dpp bench` runs and reports every field (a benchmark, not a timed test: no speed asserted)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.procs import spawned_workers

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
    "restricted_us",
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
    assert set(report["restricted_us"]) == {"x25519", "mlkem768-x25519"}
    for cost in report["restricted_us"].values():
        assert set(cost) == {"seal_us", "open_us", "fields"}
    assert report["issue_eps"] > 0
    assert report["verify_ratio"] > 0
    assert report["parallel_ceiling"] > 0  # a measurement: what load makes of it is not tested
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


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads RSS from /proc")
def test_the_serve_soak_benchmark_reports_and_keeps_its_rss_bound() -> None:
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [
            sys.executable,
            str(root / "benchmarks" / "serve_soak.py"),
            *("--seconds", "4", "--passports", "300", "--slow", "10", "--uploads", "2", "--json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads(result.stdout)
    for field in ("throughput_rps", "p50_ms", "p99_ms", "server_peak_rss_mib", "rss_bound_mib"):
        assert field in report
    assert report["rss_within_bound"]
    assert report["answers"]["real: 200"] > 0
    assert report["server_tracebacks"] == 0


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


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_killed_process_ends_the_parallel_ceiling_with_an_error_not_a_hang() -> None:
    # The survivor waits at the barrier for the dead one; it must be released, not wait on.
    code = (
        "import dpp_ledger.passport as pp\n"
        "from dpp_ledger.ledger.bench import parallel_ceiling\n"
        "if __name__ == '__main__':\n"
        "    try:\n"
        "        parallel_ceiling(2, count=20_000)\n"
        "    except pp.DppError as error:\n"
        "        print(error)\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while len(workers := spawned_workers(child.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(workers) == 2, "the ceiling started no pool"
    os.kill(workers[0], signal.SIGKILL)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err[-2000:]
    assert out.startswith("a benchmark process stopped before finishing"), out
    assert spawned_workers(child.pid) == []
