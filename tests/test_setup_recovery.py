"""SIGKILL during `dpp init` and `dpp key new`: never a home or a key store that only deleting
files by hand gets out of."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.homes import DPP, dpp, environment, make_home, one_line
from tests.world import World

FRACTIONS = (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0)


def _usable(home: Path) -> None:
    checkpoint = dpp(home, "log", "checkpoint")
    assert checkpoint.returncode == 0, checkpoint.stderr
    listed = dpp(home, "key", "list")
    assert listed.returncode == 0, listed.stderr
    assert "log" in listed.stdout.split()


def test_init_killed_at_any_moment_is_finished_by_the_next_init(tmp_path: Path) -> None:
    started = time.monotonic()
    whole = dpp(tmp_path / "timed", "init")
    assert whole.returncode == 0, whole.stderr
    duration = time.monotonic() - started
    for number, fraction in enumerate(FRACTIONS):
        home = tmp_path / f"home{number}"
        child = subprocess.Popen(
            [DPP, "--home", str(home), "init"],
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(duration * fraction)
        child.kill()  # SIGKILL: no handler, no cleanup
        child.wait()
        again = dpp(home, "init")
        assert again.returncode == 0 or one_line(again) == f"dpp: {home} already holds a ledger"
        _usable(home)
        assert [p.name for p in tmp_path.iterdir() if ".init-" in p.name] == []


def test_init_finishes_what_an_older_init_left(tmp_path: Path) -> None:
    # The states an init killed before this change left behind, seen in the field.
    only_key = tmp_path / "only-key"
    make_home(only_key, World(), log=False)
    for name in (
        "ledger.db",
        "config.json",
        "keys/brand.key",
        "keys/factory.key",
        "keys/alice.key",
    ):
        (only_key / name).unlink()
    no_schema = tmp_path / "no-schema"
    (no_schema / "keys").mkdir(parents=True)
    (no_schema / "ledger.db").touch()
    no_log = tmp_path / "no-log"
    make_home(no_log, World(), log=False)
    (no_log / "keys" / "log.key").write_bytes(b"")  # a full disk's 0-byte key file
    for home in (only_key, no_schema, no_log):
        finished = dpp(home, "init")
        assert finished.returncode == 0, finished.stderr
        assert "an interrupted init left unfinished" in finished.stderr
        _usable(home)
    assert (no_log / "keys" / "log.key.damaged").exists()  # set aside, never deleted


def _strace_works() -> bool:
    strace = shutil.which("strace")
    if strace is None:
        return False
    probe = subprocess.run([strace, "-qq", "-o", os.devnull, "true"], check=False)
    return probe.returncode == 0


@pytest.mark.skipif(
    not _strace_works(), reason="needs strace and ptrace to stop `key new` in its write"
)
def test_key_new_killed_while_writing_leaves_no_damaged_key(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", World())
    keys = home / "keys"
    target = keys / "bob.key"
    calls = "write,link,linkat,rename,renameat,renameat2"
    # strace holds every write to bob.key, and the link or rename that names it, for a minute.
    child = subprocess.Popen(
        [
            str(shutil.which("strace")),
            *("-qq", "-f", "-o", os.devnull, "-P", str(target)),
            *("-e", f"trace={calls}", "-e", f"inject={calls}:delay_enter=60s"),
            *(DPP, "--home", str(home), "key", "new", "bob"),
        ],
        env=environment(),
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not any("bob" in p.name for p in keys.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(1)  # into the held call
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert not target.exists() or target.stat().st_size > 0
    listed = dpp(home, "key", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split()[::3] == ["alice", "brand", "factory", "log"]
    made = dpp(home, "key", "new", "bob")
    assert made.returncode == 0, made.stderr
