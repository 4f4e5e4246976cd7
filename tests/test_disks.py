"""A full disk, a read-only mount and stale side files, on real filesystems: said in words,
read-only commands keep working, nothing half-written is left, and writes resume after."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from dpp_ledger.ledger import Ledger
from tests.disks import fill, free, remount, tmpfs, without_root_overrides
from tests.homes import cli, dpp, environment, make_home, one_line
from tests.ledger_helpers import snapshot
from tests.vectors import generate
from tests.world import PRODUCT, World, gtin

W = World()
VECTORS = Path(generate.__file__).resolve().parent
FULL = "the disk is full"
READ_ONLY = "dpp: the ledger is on a read-only filesystem: reading only"


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[Path]:
    with tmpfs(tmp_path / "mnt", "3m") as path:
        yield path


def _home_with_a_passport(root: Path) -> tuple[Path, str]:
    home = make_home(root / "home", W)
    issued = cli(home, "issue", "--brand", "brand", "--gtin", PRODUCT["gtin"], "--serial", "S-1")
    assert issued.exit_code == 0, issued.output
    return home, issued.stdout.strip()


def _names(listed: str) -> list[str]:
    return [line.split()[0] for line in listed.splitlines()]


def test_a_key_made_on_a_full_disk_leaves_no_file(mounted: Path) -> None:
    home = make_home(mounted / "home", W)
    fill(mounted)
    made = dpp(home, "key", "new", "bob")
    assert made.returncode == 1
    assert one_line(made) == (
        f"dpp: {home}/keys/bob.key: the disk is full (nothing was written; free some space)"
    )
    assert sorted(p.name for p in (home / "keys").iterdir()) == [
        "alice.key",
        "brand.key",
        "factory.key",
        "log.key",
    ]
    listed = dpp(home, "key", "list")
    assert listed.returncode == 0, listed.stderr
    assert _names(listed.stdout) == ["alice", "brand", "factory", "log"]
    free(mounted)
    assert dpp(home, "key", "new", "bob").returncode == 0


def test_a_full_disk_is_said_in_words_and_writes_resume_after(mounted: Path) -> None:
    home, pid = _home_with_a_passport(mounted)
    fill(mounted)
    before = snapshot(home / "ledger.db")
    issued = dpp(home, "issue", "--brand", "brand", "--gtin", PRODUCT["gtin"], "--serial", "F-2")
    assert issued.returncode == 1
    assert one_line(issued).startswith(f"dpp: {FULL}")
    shown = dpp(home, "show", pid)
    assert shown.returncode == 0 or one_line(shown).startswith(f"dpp: {FULL}")
    verified = dpp(
        home, "verify", str(VECTORS / "valid.dpp"), "--trust", str(VECTORS / "trust.json")
    )
    assert verified.returncode in (0, 1), verified.stderr  # offline: no ledger, no disk space
    assert snapshot(home / "ledger.db") == before
    free(mounted)
    again = dpp(home, "issue", "--brand", "brand", "--gtin", PRODUCT["gtin"], "--serial", "F-2")
    assert again.returncode == 0, again.stderr
    assert dpp(home, "show", pid).returncode == 0


def _rows(path: Path, count: int) -> Path:
    path.write_text(
        "gtin,serial,model,care\n"
        + "".join(
            f"{gtin(f'0361427{i % 100000:06d}')},SPACE-{i},Sac 25,{'Keep dry. ' * 20}\n"
            for i in range(count)
        )
    )
    return path


def _run_args(rows: Path) -> tuple[str, ...]:
    return ("issue", "--brand", "brand", "--as", "factory", "--batch", "250", "--from", str(rows))


def _stopped(home: Path, rows: Path, env: dict[str, str], starts: str) -> int:
    """Issue 6000 rows, which must stop with one line starting ``starts``; what it committed."""
    stopped = dpp(home, *_run_args(rows), env=env)
    assert stopped.returncode == 1
    message = one_line(stopped)
    assert message.startswith(starts), message
    assert "run the same command again to resume" in message
    committed = int(message.split("; ")[-1].split()[0])
    assert 0 < committed < 6000
    assert committed % 250 == 0  # whole batches only
    with Ledger.open(home / "ledger.db", read_only=True) as ledger:
        assert ledger.counts()["passports"] == committed
    return committed


def _resumed(home: Path, rows: Path, env: dict[str, str], committed: int) -> None:
    """Run the same issuance again: what was committed is counted apart, the rest issued."""
    resumed = dpp(home, *_run_args(rows), env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout == (
        f"{rows}: {committed} already issued, {6000 - committed} new; refused 0\n"
    )
    with Ledger.open(home / "ledger.db", read_only=True) as ledger:
        assert ledger.counts()["passports"] == 6000


def test_bulk_issuance_out_of_space_says_what_it_committed_and_resumes(
    mounted: Path, tmp_path: Path
) -> None:
    home = make_home(mounted / "home", W)
    rows = _rows(tmp_path / "run.csv", 6000)
    committed = _stopped(home, rows, environment(), f"dpp: {FULL}")
    remount(mounted, "size=64m")
    _resumed(home, rows, environment(), committed)


def test_bulk_issuance_with_its_temporary_folder_full_stops_in_words_and_resumes(
    mounted: Path, tmp_path: Path
) -> None:
    # A run keeps its outcomes in a temporary file, not in memory: a full temporary folder
    # stops it like a full ledger disk, after whole batches, and says where and what to do.
    home = make_home(tmp_path / "home", W)
    rows = _rows(tmp_path / "run.csv", 6000)
    fill(mounted)
    env = environment(SQLITE_TMPDIR=str(mounted), TMPDIR=str(mounted))
    committed = _stopped(
        home,
        rows,
        env,
        f"dpp: this run's outcomes could not be kept in a temporary file in {mounted} "
        "(the disk is full): free some space there, or set TMPDIR to another folder; ",
    )
    free(mounted)
    _resumed(home, rows, env, committed)


def test_read_only_commands_work_on_a_read_only_mount(mounted: Path, tmp_path: Path) -> None:
    home, pid = _home_with_a_passport(mounted)
    remount(mounted, "ro")
    try:
        for args in (
            ("show", pid),
            ("export", pid, "-o", str(tmp_path / "bag.dpp")),
            ("key", "list"),
            ("trust", "list"),
            ("log", "checkpoint"),
            ("log", "prove", pid),
            ("check", "--jobs", "2"),
            ("qr", pid),
        ):
            result = dpp(home, *args)
            assert result.returncode == 0, (args, result.stderr)
        written = dpp(home, "issue", "--brand", "brand", "--gtin", PRODUCT["gtin"], "--serial", "R")
        assert written.returncode == 1
        assert one_line(written) == READ_ONLY
        key = dpp(home, "key", "new", "bob")
        assert key.returncode == 1
        assert one_line(key).endswith("bob.key: on a read-only filesystem (nothing was written)")
    finally:
        remount(mounted, "rw")
    assert (
        dpp(
            home, "issue", "--brand", "brand", "--gtin", PRODUCT["gtin"], "--serial", "R"
        ).returncode
        == 0
    )


def test_a_stale_shm_from_read_only_use_does_not_block_writes(tmp_path: Path) -> None:
    prefix = without_root_overrides()
    home, pid = _home_with_a_passport(tmp_path)
    ledger = home / "ledger.db"
    os.chmod(ledger, 0o444)  # a read-only copy, or a file another user owns
    shown = dpp(home, "show", pid, prefix=prefix)
    assert shown.returncode == 0, shown.stderr
    side = ledger.with_name("ledger.db-shm")
    assert side.exists()
    assert stat.S_IMODE(side.stat().st_mode) == 0o444  # SQLite made it like the ledger file
    os.chmod(ledger, 0o644)
    written = dpp(
        home, "issue", "--brand", "brand", "--gtin", PRODUCT["gtin"], "--serial", "S", prefix=prefix
    )
    assert written.returncode == 0, written.stderr
