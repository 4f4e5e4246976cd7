"""The code passes the project's linters: ruff (lint and format) and mypy --strict on passport/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: install the test extra (pip install -e '.[test]')")
    return found


SOURCES = (
    "dpp_ledger/__init__.py",
    "dpp_ledger/__main__.py",
    "passport",
    "ledger",
    "cli",
    "schemas",
    "examples",
    "tests",
    "benchmarks",
)


def test_ruff_lint() -> None:
    result = _run(_tool("ruff"), "check", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format() -> None:
    result = _run(_tool("ruff"), "format", "--check", *SOURCES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict() -> None:
    result = _run(sys.executable, "-m", "mypy", "--strict", "-p", "dpp_ledger")
    assert result.returncode == 0, result.stdout + result.stderr
