"""Version 1 ledger files: refused with what to do, and converted in place by `dpp upgrade`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

import dpp_ledger.passport as pp
from dpp_ledger.cli.main import register
from dpp_ledger.ledger import Ledger, check_ledger
from dpp_ledger.ledger.db import PAGE_SIZE
from dpp_ledger.ledger.log import STORED_LEVEL
from dpp_ledger.ledger.upgrade import Upgraded, upgrade
from dpp_ledger.passport.checkpoint import NoteVerifier, read_unverified
from dpp_ledger.passport.errors import StorageError
from tests import ledger_v1
from tests.ledger_helpers import clock, snapshot
from tests.procs import NOW
from tests.world import PRODUCT, World

W = World()


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    return ledger_v1.load(tmp_path / "ledger.db")


def _v1_view(path: Path) -> tuple[list[tuple[int, bytes]], list[tuple[int, str]]]:
    conn = sqlite3.connect(path)
    events = conn.execute("SELECT idx, cose FROM events ORDER BY idx").fetchall()
    notes = conn.execute("SELECT size, note FROM checkpoints ORDER BY size").fetchall()
    conn.close()
    return events, notes


def test_a_version_1_file_is_refused_and_left_as_it_was(v1: Path) -> None:
    before = snapshot(v1)
    with pytest.raises(StorageError) as caught:
        Ledger.open(v1)
    assert str(caught.value) == (
        f"{v1}: a version 1 ledger file; this dpp reads version 2: "
        "convert it in place with `dpp upgrade` (one transaction; the log is kept)"
    )
    with pytest.raises(StorageError, match="a version 1 ledger file"):
        Ledger.create(v1)
    assert snapshot(v1) == before


def test_upgrade_keeps_every_event_in_log_order_and_every_checkpoint(v1: Path) -> None:
    events, notes = _v1_view(v1)
    done = upgrade(v1)
    assert done == Upgraded(74, 71, 74, not_compacted=None)
    conn = sqlite3.connect(v1)  # compacted into a new ledger's pages, back in WAL
    assert conn.execute("PRAGMA page_size").fetchone() == (PAGE_SIZE,)
    assert conn.execute("PRAGMA freelist_count").fetchone() == (0,)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()
    with Ledger.open(v1, clock=clock(NOW)) as ledger:
        assert ledger.db.execute("SELECT idx, cose FROM events ORDER BY idx").fetchall() == events
        assert ledger.db.execute("SELECT size, note FROM checkpoints").fetchall() == notes
        for size, note in notes:
            assert ledger.log.root(size) == read_unverified(note).root
        levels = {r[0] for r in ledger.db.execute("SELECT DISTINCT level FROM log_nodes")}
        assert min(levels) == STORED_LEVEL  # nothing below the stored level came across
        sold = W.sold()
        assert ledger.find(PRODUCT["gtin"], PRODUCT["serial"]) == sold[0].pid
        assert ledger.passport(sold[0].pid).length == 4
        assert ledger.log_index(sold[1].hash) == 1
        trust = pp.TrustStore.of(
            W.trust.roots, [NoteVerifier(ledger_v1.ORIGIN, ledger_v1.LOG_KEY.public_key)]
        )
        report = pp.verify(ledger.export(sold[0].pid), trust, now=NOW)
        assert report.outcome is pp.Outcome.VALID, report.failures
        # It is an ordinary version 2 ledger now: it takes appends and signs checkpoints.
        ledger.checkpoints.set_log(ledger_v1.ORIGIN, ledger_v1.LOG_KEY)
        ledger.append(pp.issue(W.factory, {**PRODUCT, "serial": "after"}, time=NOW - 10))
        assert read_unverified(ledger.checkpoints.latest() or "").size == 75
    report = check_ledger(v1, jobs=1, now=NOW)
    assert report.problems == ()
    assert (report.passports, report.events) == (72, 75)
    with pytest.raises(StorageError, match="a version 2 ledger file; only version 1 upgrades"):
        upgrade(v1)


def test_an_upgrade_that_would_change_the_log_is_refused_and_changes_nothing(v1: Path) -> None:
    conn = sqlite3.connect(v1)
    conn.execute("DROP TRIGGER events_append_only_update")
    (cose,) = conn.execute("SELECT cose FROM events WHERE idx = 70").fetchone()  # in no block
    conn.execute("UPDATE events SET cose = ? WHERE idx = 70", [cose + b"\x00"])
    conn.commit()
    conn.close()
    before = snapshot(v1)
    with pytest.raises(StorageError) as caught:
        upgrade(v1)
    assert str(caught.value) == (
        f"{v1}: not upgraded, the file is unchanged: "
        "the log's root at size 74 is not the one its checkpoint signed"
    )
    assert snapshot(v1) == before
    with pytest.raises(StorageError, match="a version 1 ledger file"):
        Ledger.open(v1)


def test_dpp_upgrade_from_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    ledger_v1.load(home / "ledger.db")
    dpp = register()
    runner = CliRunner()
    refused = runner.invoke(dpp, ["--home", str(home), "show", W.sold()[0].pid.hex()])
    assert refused.exit_code == 1
    assert refused.stderr.count("\n") == 1
    assert "`dpp upgrade`" in refused.stderr
    done = runner.invoke(dpp, ["--home", str(home), "upgrade"])
    assert done.exit_code == 0, done.output
    assert done.stdout == (
        f"Upgraded {home / 'ledger.db'}: 74 events, 71 passports; "
        "the log's root at checkpoint 74 is unchanged\n"
    )
    shown = runner.invoke(dpp, ["--home", str(home), "show", W.sold()[0].pid.hex()])
    assert shown.exit_code == 0, shown.output
    again = runner.invoke(dpp, ["--home", str(home), "upgrade"])
    assert again.exit_code == 1
    assert again.stderr == (
        f"dpp: {home / 'ledger.db'}: a version 2 ledger file; only version 1 upgrades\n"
    )


def test_a_file_in_use_is_upgraded_but_not_compacted(v1: Path) -> None:
    reader = sqlite3.connect(v1)
    reader.execute("SELECT count(*) FROM events").fetchone()
    done = upgrade(v1)
    reader.close()
    assert done == Upgraded(74, 71, 74, not_compacted="database is locked")
    assert check_ledger(v1, jobs=1, now=NOW).problems == ()


@pytest.mark.parametrize(
    ("idx", "damage", "reason"),
    [
        (3, b"\x00", "do not hash to the log's stored subtree"),  # inside the first block
        (20, b"", "do not hash to the log's stored subtree"),
    ],
    ids=["replaced", "truncated"],
)
def test_an_event_damaged_inside_a_stored_block_is_refused(
    v1: Path, idx: int, damage: bytes, reason: str
) -> None:
    # The right edge is rehashed to check the checkpoint's root; the blocks before it are
    # stored hashes, so damage under them must be found by rehashing them.
    conn = sqlite3.connect(v1)
    conn.execute("DROP TRIGGER events_append_only_update")
    (cose,) = conn.execute("SELECT cose FROM events WHERE idx = ?", [idx]).fetchone()
    conn.execute("UPDATE events SET cose = ? WHERE idx = ?", [damage or cose[:-1], idx])
    conn.commit()
    conn.close()
    before = snapshot(v1)
    with pytest.raises(StorageError, match=reason):
        upgrade(v1)
    assert snapshot(v1) == before
