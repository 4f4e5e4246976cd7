"""Whole-ledger check: every chain and record re-verified, on one core or all of them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ledger import Ledger, check_ledger, issue_many
from tests.ledger_helpers import new_ledger, store_chain
from tests.procs import NOW
from tests.world import PRODUCT, T0, World, gtin

W = World()


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
    assert calls[-1] == (601, 601)


def test_a_rewritten_event_is_found(populated: Path, tmp_path: Path) -> None:
    path = _copy(populated, tmp_path)
    pid = W.sold()[0].pid
    conn = sqlite3.connect(path)
    conn.execute("DROP TRIGGER events_append_only_update")  # an attacker with the file can
    idx, cose = conn.execute(
        "SELECT e.idx, e.cose FROM chains c JOIN events e ON e.idx = c.idx "
        "WHERE c.pid = ? AND c.seq = 2",
        [pid],
    ).fetchone()
    conn.execute(
        "UPDATE events SET cose = ? WHERE idx = ?", [cose[:-1] + bytes([cose[-1] ^ 1]), idx]
    )
    conn.commit()
    conn.close()
    report = check_ledger(path, jobs=2, now=NOW, chunk=100)
    assert not report
    assert [p.pid for p in report.problems] == [pid]
    assert "is not the log's leaf" in report.problems[0].message


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
    assert (pid, f"passport {pid.hex()[:16]}… has no identifier row: run `dpp check`") in [
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


def test_an_empty_ledger_checks_clean(tmp_path: Path) -> None:
    Ledger.create(tmp_path / "e.db").close()
    report = check_ledger(tmp_path / "e.db", jobs=2)
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
