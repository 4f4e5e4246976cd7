"""The README's quick start stays true: CI runs its test command, and its demo command works."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def _quick_start() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section, flags=re.DOTALL)


def test_quick_start_is_exactly_two_commands() -> None:
    commands = _quick_start()
    assert len(commands) == 2
    assert all("\n" not in c for c in commands)


def test_ci_runs_the_readme_test_command() -> None:
    test_command = _quick_start()[1]
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_main_job_runs() -> None:
    demo = _quick_start()[0]
    script = demo.split("&&")[-1].strip().split()[-1]
    result = subprocess.run(
        [sys.executable, str(ROOT / script)], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert ": valid" in result.stdout
    assert "Forged resale by a former owner: invalid" in result.stdout
