"""Read-only commands: show exits like verify, log checkpoint needs no key, verify --trust
never opens the ledger."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from dpp_ledger.ledger import Ledger, issue_many
from dpp_ledger.passport.checkpoint import read_unverified
from tests.homes import cli, dpp, environment, make_home
from tests.vectors import generate
from tests.world import PRODUCT, T0, World

VECTORS = Path(generate.__file__).resolve().parent
TRUST = str(VECTORS / "trust.json")
NAMES = sorted(json.loads((VECTORS / "expected.json").read_text())["vectors"])


@pytest.mark.parametrize("name", NAMES)
def test_show_exits_as_verify_does(name: str) -> None:
    bundle = str(VECTORS / f"{name}.dpp")
    verified = cli(None, "verify", bundle, "--trust", TRUST)
    shown = cli(None, "show", bundle, "--trust", TRUST)
    assert shown.exit_code == verified.exit_code, shown.output
    if "NOT GENUINE" in shown.stdout:
        assert shown.exit_code == 1


def test_show_exit_codes_cover_valid_invalid_and_unreadable() -> None:
    codes = {
        cli(None, "show", str(VECTORS / f"{n}.dpp"), "--trust", TRUST).exit_code for n in NAMES
    }
    assert codes == {0, 1, 2}
    assert "1 if invalid" in cli(None, "show", "--help").stdout


def test_log_checkpoint_prints_the_stored_one_without_the_log_key(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", World())
    no_secret = {k: v for k, v in environment().items() if k != "DPP_PASSPHRASE"}
    printed = dpp(home, "log", "checkpoint", env=no_secret)
    assert printed.returncode == 0, printed.stderr
    assert read_unverified(printed.stdout).origin == "test.example/log"
    # A write made without the log key leaves the log ahead of its newest checkpoint: only then
    # is a new one signed, and that needs the passphrase.
    world = World()
    with Ledger.open(home / "ledger.db") as ledger:
        issue_many(ledger, world.factory, [{**PRODUCT, "serial": "C-1"}], time=T0)
    refused = dpp(home, "log", "checkpoint", env=no_secret)
    assert refused.returncode == 1
    assert "no passphrase" in refused.stderr
    signed = dpp(home, "log", "checkpoint")
    assert signed.returncode == 0, signed.stderr
    assert read_unverified(signed.stdout).size == 1


def test_verify_with_a_trust_file_never_opens_the_ledger(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", World())
    (home / "ledger.db").write_bytes(b"not a ledger at all")
    result = cli(home, "verify", str(VECTORS / "valid.dpp"), "--trust", TRUST)
    assert result.exit_code in (0, 1), result.output  # a verdict, whatever the date
    assert "ledger" not in result.stderr
    os.chmod(home / "ledger.db", 0)
    assert cli(home, "show", str(VECTORS / "valid.dpp"), "--trust", TRUST).exit_code in (0, 1)
