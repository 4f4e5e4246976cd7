"""Whole-ledger check: every chain and record re-verified, on one core or all of them."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.ledger import Ledger, check_ledger, issue_many
from dpp_ledger.ledger.check import CHUNK
from tests.ledger_helpers import new_ledger, store_chain
from tests.procs import NOW, spawned_workers
from tests.world import PRODUCT, T0, World, gtin

W = World()
NewPlace = Callable[..., Path | str]  # a ledger file, or a PostgreSQL URL


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("check") / "l.db"
    with new_ledger(path, W) as ledger:
        store_chain(ledger, W, W.sold())
        items = [
            {**PRODUCT, "gtin": gtin(f"0361427{i:06d}"), "serial": f"C{i}"} for i in range(600)
        ]
        issue_many(ledger, W.factory, items, time=T0)
    return path


@pytest.fixture(scope="module")
def crowded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough passports for several range tasks: a worker's share is a range, not just the log.

    With ``populated`` there are two tasks, the log span (a few ms, handed to the worker) and
    one range (done by the check's own process), so the worker holds the ledger open too
    briefly to be caught doing it.
    """
    path = tmp_path_factory.mktemp("crowded") / "l.db"
    with new_ledger(path, W) as ledger:
        items = [
            {**PRODUCT, "gtin": gtin(f"0361427{i:06d}"), "serial": f"D{i}"}
            for i in range(3 * CHUNK)
        ]
        assert len(issue_many(ledger, W.factory, items, time=T0).issued) == 3 * CHUNK
    return path


def _copy(path: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy.db"
    source = sqlite3.connect(path)
    with sqlite3.connect(target) as dest:
        source.backup(dest)
    source.close()
    return target


def test_one_job_and_two_jobs_agree(populated: Path) -> None:
    calls: list[tuple[int, int]] = []
    one = check_ledger(populated, jobs=1, now=NOW, progress=lambda d, t: calls.append((d, t)))
    two = check_ledger(populated, jobs=2, now=NOW, chunk=100)
    assert one
    assert two
    assert (one.passports, one.events) == (two.passports, two.events) == (601, 603)
    # Two tasks (the log, one chunk of every passport): one for the worker, one for this process.
    few = check_ledger(populated, jobs=2, now=NOW, chunk=601)
    assert (few.passports, few.events, few.problems) == (601, 603, ())
    assert calls[-1] == (601, 601)
    progress: list[tuple[int, int]] = []
    check_ledger(
        populated, jobs=2, now=NOW, chunk=50, progress=lambda d, t: progress.append((d, t))
    )
    assert progress[-1] == (601, 601)
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def _rewrite(path: Path, pid: bytes, seq: int, cose: bytes, *, reindex: bool = False) -> int:
    """Put ``cose`` in place of event ``seq`` of ``pid``, as an attacker with the file can."""
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_append_only_update")
    (idx,) = conn.execute("SELECT idx FROM chains WHERE pid = ? AND seq = ?", [pid, seq]).fetchone()
    conn.execute("UPDATE events SET cose = ? WHERE idx = ?", [cose, idx])
    if reindex:  # and tidies the hash index behind it
        conn.execute("DROP TRIGGER event_hashes_append_only_update")
        conn.execute(
            "UPDATE event_hashes SET hash = ? WHERE idx = ?", [hashlib.sha256(cose).digest(), idx]
        )
    conn.commit()
    conn.close()
    return int(idx) - 1


LOG_MISMATCH = (
    "the events at log indexes 0-15 do not hash to the log's stored subtree: "
    "an event was changed, added or dropped"
)


def test_a_rewritten_event_is_found(populated: Path, tmp_path: Path) -> None:
    path = _copy(populated, tmp_path)
    pid = W.sold()[0].pid
    cose = W.sold()[2].raw
    assert _rewrite(path, pid, 2, cose[:-1] + bytes([cose[-1] ^ 1])) == 2
    report = check_ledger(path, jobs=2, now=NOW, chunk=100)
    assert [(p.pid, p.message) for p in report.problems] == [
        (pid, "event 2: its hash is not indexed at its log index"),
        (None, LOG_MISMATCH),
    ]


def test_a_rewritten_and_reindexed_event_is_found(populated: Path, tmp_path: Path) -> None:
    path = _copy(populated, tmp_path)
    pid = W.sold()[0].pid
    cose = W.sold()[2].raw
    _rewrite(path, pid, 2, cose[:-1] + bytes([cose[-1] ^ 1]), reindex=True)
    report = check_ledger(path, jobs=1, now=NOW)
    assert [p.pid for p in report.problems] == [pid, None]
    assert report.problems[0].message.startswith("signatures: ")
    assert report.problems[1].message == LOG_MISMATCH
    # The worker pool and this process share the tasks; the report is the same, in order.
    shared = check_ledger(path, jobs=2, now=NOW, chunk=50)
    assert shared.problems == report.problems
    assert (shared.passports, shared.events) == (report.passports, report.events)


def test_a_validly_signed_event_swapped_in_is_found_by_the_log(
    populated: Path, tmp_path: Path
) -> None:
    # Alice signs a second resale, to Carol: a fork. Swapped in for the stored resale to Bob,
    # with its hash reindexed, every chain still verifies; only the log still knows the first.
    sold = W.sold()
    other = W.then(sold[:2], W.alice, "resale", {"to": W.carol.kid.hex()})[-1]
    assert (other.pid, other.seq) == (sold[2].pid, sold[2].seq)
    path = _copy(populated, tmp_path)
    with Ledger.open(path) as ledger:
        ledger.records.add_key(W.carol.public_key)  # the new owner's key, for the bundle
    _rewrite(path, other.pid, 2, other.raw, reindex=True)
    report = check_ledger(path, jobs=2, now=NOW, chunk=100)
    assert [(p.pid, p.message) for p in report.problems] == [(None, LOG_MISMATCH)]


def _tamper(path: Path, *statements: tuple[str, list[object]]) -> None:
    conn = sqlite3.connect(path)
    for table in ("passports", "chains"):  # an attacker with the file can
        conn.execute(f"DROP TRIGGER {table}_append_only_update")
    for statement, params in statements:
        conn.execute(statement, params)
    conn.commit()
    conn.close()


def test_a_moved_identifier_row_and_an_untrusted_root_are_found(
    populated: Path, tmp_path: Path
) -> None:
    path = _copy(populated, tmp_path)
    pid = W.sold()[0].pid
    # The resolver would answer this item's GTIN and serial with another item's passport.
    _tamper(
        path,
        (
            "UPDATE passports SET first = (SELECT first FROM passports WHERE serial = 'C7') "
            "WHERE first = (SELECT idx FROM chains WHERE pid = ? AND seq = 0)",
            [pid],
        ),
        ("DELETE FROM roots WHERE brand = 'Rival'", []),
    )
    report = check_ledger(path, jobs=1, now=NOW)
    assert (pid, "the passport's identifier row does not match its chain") in [
        (p.pid, p.message) for p in report.problems
    ]
    messages = [p.message for p in report.problems if p.pid is None]
    assert any("601 chains but 601 passport rows for 600 events" in m for m in messages)
    assert any("Rival Works" in m and "no longer trusted" in m for m in messages)


def test_a_chain_row_pointing_at_another_event_is_found(populated: Path, tmp_path: Path) -> None:
    path = _copy(populated, tmp_path)
    pid = W.sold()[0].pid
    _tamper(
        path,
        (
            "UPDATE chains SET idx = (SELECT idx FROM chains WHERE pid = ? AND seq = 1) "
            "WHERE pid = ? AND seq = 2",
            [pid, pid],
        ),
    )
    report = check_ledger(path, jobs=1, now=NOW)
    assert [(p.pid, p.message) for p in report.problems] == [
        (None, "the ledger's index: 603 stored events but 602 of them in chains (603 rows)"),
        (pid, "event 2: its index row does not match its signed bytes"),
    ]


def test_an_empty_ledger_checks_clean(new_location: NewPlace) -> None:
    location = new_location("e")
    Ledger.create(location).close()
    report = check_ledger(location, jobs=2)
    assert report
    assert (report.passports, report.events) == (0, 0)


def test_a_dropped_event_is_found_through_the_log(populated: Path, tmp_path: Path) -> None:
    path = _copy(populated, tmp_path)
    pid = W.sold()[0].pid
    conn = sqlite3.connect(path)
    for table in ("events", "chains", "event_hashes"):  # the attacker tidies every index
        conn.execute(f"DROP TRIGGER {table}_append_only_delete")
    (idx,) = conn.execute("SELECT idx FROM chains WHERE pid = ? AND seq = 2", [pid]).fetchone()
    conn.execute("DELETE FROM events WHERE idx = ?", [idx])
    conn.execute("DELETE FROM chains WHERE idx = ?", [idx])
    conn.execute("DELETE FROM event_hashes WHERE idx = ?", [idx])
    conn.commit()
    conn.close()
    report = check_ledger(path, jobs=1, now=NOW)
    assert any("holds 603 leaves for 602 stored events" in p.message for p in report.problems)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_killed_worker_is_one_line_and_no_verdict(crowded: Path, tmp_path: Path) -> None:
    # Three ranges and one log span: the worker is handed two of the four tasks, so once it
    # dies before answering, the check cannot conclude anything.
    check, worker = _check_with_a_worker(crowded, tmp_path)
    os.kill(worker, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    out, err = check.communicate(timeout=60)
    assert check.returncode == 1
    assert err.splitlines() == [
        "dpp: a check process stopped before finishing its share (killed, out of memory, or "
        "failed to start); nothing was concluded: run the check again, or with one job"
    ], err
    assert "problems" not in out


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize(
    ("group", "stop", "ending"),
    [
        (False, signal.SIGTERM, (143, "dpp: terminated\n")),  # a service manager's polite kill
        (True, signal.SIGTERM, (143, "dpp: terminated\n")),
        (True, signal.SIGINT, (130, "dpp: aborted\n")),  # Ctrl-C reaches every process
    ],
    ids=["term", "term-group", "ctrl-c"],
)
def test_a_stopped_check_says_one_line_and_leaves_no_worker(
    crowded: Path, tmp_path: Path, group: bool, stop: signal.Signals, ending: tuple[int, str]
) -> None:
    # Sent while the worker checks passports: no worker may be left running (holding the
    # pipes a caller waits on) or print a traceback.
    check, worker = _check_with_a_worker(crowded, tmp_path)
    deadline = time.monotonic() + 30
    while not (busy := _has_open(worker, "ledger.db")) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert busy, "the worker was never seen checking: the stop would not test a stop"
    assert check.poll() is None, "the check ended before it was stopped"
    if group:
        os.killpg(check.pid, stop)
    else:
        check.send_signal(stop)
    _, err = check.communicate(timeout=60)
    assert (check.returncode, err) == ending, err
    deadline = time.monotonic() + 20
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{worker}").exists(), "the worker outlived the check"


def _check_with_a_worker(populated: Path, tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """A real `dpp check --jobs 2` on a copy of ``populated`` in its own session; its worker."""
    home = tmp_path / "home"
    home.mkdir()
    _copy(populated, home).rename(home / "ledger.db")
    check = subprocess.Popen(
        [sys.executable, "-m", "dpp_ledger", "--home", str(home), "check", "--jobs", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not (workers := spawned_workers(check.pid)) and time.monotonic() < deadline:
        time.sleep(0.005)
    assert workers, "the check started no worker"
    return check, workers[0]


def _has_open(pid: int, name: str) -> bool:
    try:
        return any(link.resolve().name == name for link in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False  # gone, or between two looks


@pytest.mark.parametrize("table", ["log_nodes", "passports", "event_hashes"])
def test_a_ledger_missing_a_table_is_named_not_a_crash(
    populated: Path, tmp_path: Path, table: str
) -> None:
    path = _copy(populated, tmp_path)
    conn = sqlite3.connect(path)
    conn.execute(f"DROP TABLE {table}")
    conn.commit()
    conn.close()
    with pytest.raises(pp.DppError, match=f"not a usable ledger file .*no such table: {table}"):
        check_ledger(path, jobs=1, now=NOW)


def test_a_postgresql_ledger_checks_in_parallel_and_a_rewritten_event_is_found(
    pg_location: Callable[[], str],
) -> None:
    import psycopg

    url = pg_location()
    with new_ledger(url, W) as ledger:
        store_chain(ledger, W, W.sold())
        items = [
            {**PRODUCT, "gtin": gtin(f"0361427{i:06d}"), "serial": f"P{i}"} for i in range(300)
        ]
        issue_many(ledger, W.factory, items, time=T0)
    one = check_ledger(url, jobs=1, now=NOW)
    two = check_ledger(url, jobs=2, now=NOW, chunk=50)
    assert (one.passports, one.events, one.problems) == (301, 303, ())
    assert (two.passports, two.events, two.problems) == (301, 303, ())
    sold = W.sold()
    other = W.then(sold[:2], W.alice, "resale", {"to": W.carol.kid.hex()})[-1]
    with psycopg.connect(url) as conn:  # as an attacker with the database's owner rights can
        conn.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        conn.execute("UPDATE events SET cose = %s WHERE idx = 3", [other.raw])
    report = check_ledger(url, jobs=2, now=NOW, chunk=50)
    assert [(p.pid, p.message) for p in report.problems] == [
        (sold[0].pid, "event 2: its hash is not indexed at its log index"),
        (None, LOG_MISMATCH),
    ]
