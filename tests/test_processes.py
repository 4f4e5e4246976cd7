"""Several real processes on one ledger file: concurrent appends, and kill -9 mid-issuance."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dpp_ledger.ledger import Ledger, check_ledger
from tests.ledger_helpers import new_ledger, store_chain
from tests.procs import NOW
from tests.world import World

ROOT = Path(__file__).resolve().parents[1]
W = World()
NewPlace = Callable[..., Path | str]  # a ledger file, or a PostgreSQL URL


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.procs", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_appends_never_fork_and_never_leak_busy(new_location: NewPlace) -> None:
    path = new_location("l")
    with new_ledger(path, W) as ledger:
        store_chain(ledger, W, W.sold())
    workers, each = 4, 5
    start = time.time() + 2.0  # every child is imported and waiting before the first append
    children = [_spawn("append", str(path), str(i), str(start), str(each)) for i in range(workers)]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs, strict=True):
        assert child.returncode == 0, err
        assert out.startswith(f"appended {each} moved"), out
    # How many appends had to retry depends on how the processes were scheduled: not asserted.
    with Ledger.open(path) as ledger:
        pid = W.sold()[0].pid
        chain = ledger.chain(pid)
        assert len(chain) == 3 + workers * each
        assert [e.seq for e in chain] == list(range(len(chain)))
        # Every event stored once, at its own log index: 1, 2, ... with no gap.
        indexes = [row[0] for row in ledger.db.execute("SELECT idx FROM events ORDER BY idx")]
        assert indexes == list(range(1, len(chain) + 1))
        assert ledger.log.size() == len(chain)
    assert check_ledger(path, jobs=1, now=NOW)


@pytest.mark.parametrize("seed", [1])
def test_kill_9_during_bulk_issuance_leaves_whole_batches_that_verify(
    new_location: NewPlace, seed: int
) -> None:
    path = new_location("l")
    new_ledger(path, W).close()
    rng = random.Random(seed)
    batch, kills = 200, 0
    for run in range(4):
        child = _spawn("bulk", str(path), str(run), "100000", str(batch))
        first = child.stdout.readline() if child.stdout else ""  # one batch committed: writing
        assert first.strip(), child.stderr.read() if child.stderr else ""
        time.sleep(rng.uniform(0.0, 0.6))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        kills += child.returncode == -signal.SIGKILL
        with Ledger.open(path, read_only=True) as ledger:
            assert ledger.db.integrity() == []
            stored = ledger.db.execute(
                "SELECT count(*) FROM passports WHERE serial LIKE ?", [f"K{run}-%"]
            ).fetchone()[0]
        assert stored > 0
        assert stored % batch == 0, f"run {run}: {stored} passports is not whole batches"
    assert kills == 4
    report = check_ledger(path, jobs=2, now=NOW)
    assert report.problems == ()
    assert report.passports > 0


@pytest.mark.parametrize("args", [("--help",), ("verify", "--help"), ("key", "list")])
def test_a_reader_that_leaves_ends_the_command_quietly(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    """`dpp ... | head`: no "Broken pipe" on the terminal, and exit code 0."""
    dpp = Path(sys.executable).with_name("dpp")
    home = tmp_path / "home"
    env = {**os.environ, "DPP_PASSPHRASE": "a test passphrase"}
    subprocess.run(
        [str(dpp), "--home", str(home), "init"], check=True, capture_output=True, env=env
    )
    child = subprocess.Popen(
        [str(dpp), "--home", str(home), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert child.stdout is not None
    assert child.stderr is not None
    child.stdout.close()  # the reader is gone before the first line is written
    errors = child.stderr.read()
    assert child.wait(timeout=60) == 0
    assert errors == b""
