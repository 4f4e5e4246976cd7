"""The README stays true: CI runs its test command, its demo works, every walk-through command
runs (through the installed `dpp`, in real subprocesses, in the order shown)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
BIN = Path(sys.executable).parent


def _blocks(section: str) -> list[str]:
    text = README.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", text, flags=re.DOTALL)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPP_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return {**env, **extra}


def test_quick_start_is_exactly_two_commands() -> None:
    commands = _blocks("Quick start")
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)
    assert commands[0].endswith("dpp demo")


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _blocks("Quick start")[1]
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_main_job_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "dpp"), "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        check=False,
        env=_env(),
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "UNEXPECTED" not in result.stdout
    for line in (
        "Buyer verifies offline: handbag.dpp: valid",
        "Buyer verifies offline: stolen-watch.dpp: valid with warnings",
        "Forged copy caught",
        "Double sale caught",
        "Auditor: the log",
        "Buyer sees: sealed-handbag.dpp: valid; compliance_documents: restricted (authorities)",
        "Authority opens: site: Laboratorio Via Maggio 7, Firenze",
        "Tampered box caught: invalid",
        "Erasure: event 0: site erased",
    ):
        assert line in result.stdout, result.stdout
    assert (tmp_path / "demo" / "qr" / "handbag-link.png").is_file()


def test_every_walk_through_command_runs(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    script = "set -euo pipefail\n" + "\n".join(_blocks("Walk-through")) + "\n"
    result = subprocess.run(
        ["bash", "-c", script],  # noqa: S607 - bash from the PATH, as a reader runs it
        capture_output=True,
        text=True,
        check=False,
        env=_env(),
        cwd=tmp_path,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "examples/run.csv: 0 already issued, 3 new; refused 0" in out
    assert "Scanned code: MATCHES" in out
    assert "The seller holds the current owner key" in out
    assert "nothing was dropped or changed" in out
    assert "0 problems" in out
    assert out.count("GENUINE: every check passed") >= 2
    # After the offline resale the earlier events keep their log proofs; the new one is said
    # to be not yet in the brand's log, until `dpp import` logs it.
    assert "event 2 (resale) is not yet in the brand's log" in out
    assert "Credential bag.vc.cose: GENUINE: a UNTP passport credential" in out
    assert "STOLEN: Reported stolen by its owner" in out
    assert "(case PP-2026-118): do not buy; contact the brand" in out
    assert "https://id.maison-example.com/01/03614270000423/21/MX-1" in out  # the QR link
    # Restricted data: the buyer sees fields and audiences, the authority opens its own, the
    # erasure is shown, and the log and the check stay green after it.
    assert "site: restricted (authorities)" in out
    assert "repair_information: restricted (repairers)" in out
    site = "Laboratorio Via Maggio 7, Firenze"
    assert f"site: opened and verified against the signed digest: {site}" in out
    sealed = [line for line in out.splitlines() if "serial MX-9" in line]
    assert sealed
    assert all(site not in line for line in sealed)  # its history never names the workshop
    assert "site: erased (" in out
    assert "event 0: site erased" in out
    assert out.count("nothing was dropped or changed") >= 2
    assert out.count("0 problems") >= 2


def test_the_python_example_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "lifecycle.py")],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "Forged resale by a former owner: invalid" in result.stdout
