"""The `dpp` commands on a PostgreSQL ledger: init, a password refused, issuance killed and
resumed, and copy there and back."""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from dpp_ledger.ledger import Ledger
from tests import pg
from tests.homes import DPP, dpp, environment, make_home, one_line
from tests.world import PRODUCT, World

W = World()


def test_a_url_with_a_password_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    for url in (
        "postgresql://dpp:s3cret@db.example.com/registry",
        "postgresql://dpp@db.example.com/registry?password=s3cret",
    ):
        result = dpp(tmp_path / "home", "init", "--ledger", url)
        assert result.returncode == 2
        line = one_line(result)
        assert "s3cret" not in result.stderr + result.stdout
        assert "PGPASSWORD" in line
        assert "~/.pgpass" in line
        assert not (tmp_path / "home").exists()
    ledger = dpp(None, "check", env=environment(DPP_LEDGER="postgresql://a:s3cret@b/c"))
    assert ledger.returncode == 2
    assert "PGPASSWORD" in one_line(ledger)


def test_init_on_postgresql_then_commands_work_unchanged(
    tmp_path: Path, pg_location: Callable[[], str]
) -> None:
    url = pg_location()
    home = tmp_path / "home"
    made = dpp(home, "init", "--ledger", url, "--origin", "maison-example.com/log")
    assert made.returncode == 0, made.stderr
    assert not (home / "ledger.db").exists()
    again = dpp(tmp_path / "second", "init", "--ledger", url)
    assert again.returncode == 2
    assert "already holds a ledger" in one_line(again)
    checked = dpp(home, "check")
    assert checked.returncode == 0, checked.stderr
    assert "0 problems" in checked.stdout
    # DPP_LEDGER points a home elsewhere: here, at a missing file.
    elsewhere = dpp(home, "check", env=environment(DPP_LEDGER=str(tmp_path / "none.db")))
    assert elsewhere.returncode == 2
    assert "no ledger" in one_line(elsewhere)


def test_issuance_killed_mid_batch_then_rerun_issues_exactly_the_missing(
    tmp_path: Path, pg_location: Callable[[], str]
) -> None:
    url = pg_location()
    home = make_home(tmp_path / "home", W, ledger=url)
    total, batch = 4000, 250
    rows = tmp_path / "rows.csv"
    rows.write_text(
        "gtin,serial,model\n" + "".join(f"{PRODUCT['gtin']},KILL-{i},Sac\n" for i in range(total))
    )
    rng = random.Random(7)
    stored = [0]  # passports in the ledger after each kill
    for _ in range(3):
        child = subprocess.Popen(
            [
                DPP,
                "--home",
                str(home),
                "issue",
                "--brand",
                "brand",
                "--from",
                str(rows),
                "--batch",
                str(batch),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=environment(),
        )
        deadline = time.monotonic() + 60
        while _passports(url) < stored[-1] + batch and time.monotonic() < deadline:
            time.sleep(0.02)  # a batch of this run committed: it is writing
        time.sleep(rng.uniform(0.0, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        assert child.returncode == -signal.SIGKILL, "issuance ended before it was killed"
        stored.append(_passports(url))
    assert stored == sorted(stored)
    assert all(n % batch == 0 for n in stored[1:]), f"not whole batches: {stored}"
    assert stored[-1] < total, "every item was issued before the last kill: nothing to resume"
    checked = dpp(home, "check")
    assert checked.returncode == 0, checked.stderr
    assert "0 problems" in checked.stdout
    rerun = dpp(home, "issue", "--brand", "brand", "--from", str(rows), "--batch", str(batch))
    assert rerun.returncode == 0, rerun.stderr
    assert f"{stored[-1]} already issued, {total - stored[-1]} new" in rerun.stdout
    assert _passports(url) == total
    assert dpp(home, "check").returncode == 0


def test_copy_there_and_back_keeps_the_checkpoint(
    tmp_path: Path, pg_location: Callable[[], str]
) -> None:
    home = make_home(tmp_path / "home", W)
    url = pg_location()
    there = dpp(None, "copy", str(home), url, "--json")
    assert there.returncode == 0, there.stderr
    back = dpp(None, "copy", url, str(tmp_path / "back.db"))
    assert back.returncode == 0, back.stderr
    assert "verified: the log has the same root at checkpoint size" in back.stdout
    same = dpp(None, "copy", str(home), str(home / "ledger.db"))
    assert same.returncode == 2
    with Ledger.open(home / "ledger.db") as a, Ledger.open(tmp_path / "back.db") as b:
        assert a.checkpoints.latest() == b.checkpoints.latest()


def _passports(url: str) -> int:
    with Ledger.open(url, read_only=True) as ledger:
        return int(ledger.counts()["passports"])


def test_sqlite_users_never_import_psycopg(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from dpp_ledger.ledger import Ledger, check_ledger\n"
        "from dpp_ledger.cli.main import register\n"
        "register()\n"
        f"Ledger.create({str(tmp_path / 'l.db')!r}).close()\n"
        f"assert check_ledger({str(tmp_path / 'l.db')!r}, jobs=1)\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('psycopg'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_the_demo_plays_whole_on_postgresql(tmp_path: Path) -> None:
    pg.require_server()
    result = dpp(None, "demo", "--dir", str(tmp_path / "demo"), "--ledger", pg.server_url())
    schema = re.search(r"DROP SCHEMA (dpp_demo_[0-9a-f]+) CASCADE", result.stdout)
    try:
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert "UNEXPECTED" not in result.stdout
        assert "Erasure: event 0: site erased" in result.stdout
        assert schema is not None
        home = tmp_path / "demo" / "home"
        assert not (home / "ledger.db").exists()
        checked = dpp(home, "check")
        assert checked.returncode == 0, checked.stderr
        assert "509 events" in checked.stdout
        assert "0 problems" in checked.stdout
    finally:
        if schema is not None:
            pg.drop_schema(schema.group(1))
