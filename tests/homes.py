"""Homes on disk for subprocess tests, and one way to run the real `dpp` command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from click.testing import CliRunner, Result

import dpp_ledger.passport as pp
from dpp_ledger.ledger import KeyRole, KeyStore, Ledger
from tests.world import World

SECRET = "test passphrase"  # noqa: S105 - the tests' own throwaway keys
DPP = str(Path(sys.executable).parent / "dpp")
FAST = 14  # scrypt cost for test keys; the default is 17


def make_home(path: Path, world: World, *, log: bool = True, ledger: str | None = None) -> Path:
    """A home holding the world's brand, factory and an owner key (cheap KDF), its roots,
    certificates and (with ``log``) a log key and a first checkpoint; with ``ledger`` (a
    PostgreSQL URL) its ledger is there, named in its settings."""
    keys = KeyStore(path / "keys", scrypt_log_n=FAST)
    for name, role, signing in (
        ("brand", KeyRole.BRAND, world.brand),
        ("factory", KeyRole.FACTORY, world.factory),
        ("alice", KeyRole.OWNER, world.alice),
        ("log", KeyRole.LOG, pp.SigningKey.generate()),
    ):
        keys.add(name, role, signing, lambda: SECRET)
    with Ledger.create(ledger or path / "ledger.db") as made:
        made.records.add_trust_store(world.trust)
        for cert in world.certs.values():
            made.records.add_certificate(cert)
        if log:
            made.checkpoints.set_log("test.example/log", keys.load("log", lambda: SECRET))
            made.checkpoints.sign()
    settings = {"v": 1, "resolver": "https://id.example", **({"ledger": ledger} if ledger else {})}
    (path / "config.json").write_text(json.dumps(settings))
    return path


def environment(**extra: str) -> dict[str, str]:
    """This process's environment without DPP_ settings, with the test passphrase."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPP_")}
    return {**env, "DPP_PASSPHRASE": SECRET, **extra}


def dpp(
    home: Path | None,
    *args: str,
    timeout: float = 120,
    env: dict[str, str] | None = None,
    prefix: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run the installed `dpp` in a child process; a hang fails the test, not the run."""
    base = ["--home", str(home)] if home is not None else []
    return subprocess.run(
        [*prefix, DPP, *base, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env if env is not None else environment(),
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a refused command printed on stderr (and never a traceback)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    assert len(lines) == 1, result.stderr
    return lines[0]


def cli(home: Path | None, *args: str) -> Result:
    """Run `dpp` in this process (click's runner), with the test passphrase."""
    from dpp_ledger.cli.main import register

    base = ["--home", str(home)] if home is not None else []
    env = {"DPP_PASSPHRASE": SECRET, "DPP_HOME": ""}
    return CliRunner().invoke(register(), [*base, *args], env=env)
