"""The wheel a user installs: one import name, a working ``dpp``, the licence shipped.

Built from this checkout and installed, with its dependencies, into a fresh virtual environment
outside the repository, so nothing of the checkout (its folders, the editable install) can
stand in for what the wheel really holds.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )
    assert result.returncode == 0, f"{command}: {result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, ROOT, cwd=out)
    (built,) = out.glob("dpp_ledger-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", where / "env", cwd=where)
    _run(where / "env" / "bin" / "pip", "install", "-q", wheel, cwd=where)
    return where / "env"


def test_the_wheel_holds_one_import_name_and_the_licence(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        info = next(n for n in names if n.endswith(".dist-info/METADATA"))
        metadata = archive.read(info).decode()
    tops = {n.split("/")[0] for n in names}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"dpp_ledger"}
    assert {"dpp_ledger/passport/verify.py", "dpp_ledger/schemas/sale.json"} <= set(names)
    assert "License-Expression: Apache-2.0" in metadata
    assert "License-File: LICENSE" in metadata
    licence = next(n for n in names if n.endswith(".dist-info/licenses/LICENSE"))
    assert licence
    assert not [n for n in names if "__pycache__" in n or n.startswith("tests/")]


def test_the_installed_package_adds_exactly_one_top_level_name(venv: Path) -> None:
    code = (
        "import importlib.metadata as m\n"
        "files = m.files('dpp-ledger')\n"
        "tops = {f.parts[0] for f in files if not f.parts[0].endswith('.dist-info')"
        " and f.parts[0] != '..'}\n"
        "print(sorted(tops))\n"
    )
    result = _run(venv / "bin" / "python", "-c", code, cwd=venv)
    assert result.stdout.strip() == "['dpp_ledger']"
    # The generic names are free for other distributions.
    for name in ("passport", "ledger", "cli", "schemas"):
        probe = subprocess.run(
            [venv / "bin" / "python", "-c", f"import {name}"],
            cwd=venv,
            capture_output=True,
            text=True,
            check=False,
        )
        assert probe.returncode == 1, name
        assert f"No module named '{name}'" in probe.stderr


def test_the_installed_command_runs_outside_the_repository(venv: Path, tmp_path: Path) -> None:
    version = _run(venv / "bin" / "dpp", "--version", cwd=tmp_path).stdout
    assert version.startswith("dpp, version ")
    assert _run(venv / "bin" / "python", "-m", "dpp_ledger", "--version", cwd=tmp_path).stdout == (
        version
    )
    demo = _run(venv / "bin" / "dpp", "demo", "--dir", tmp_path / "demo", cwd=tmp_path)
    assert "forged" in demo.stdout.lower()
    assert (tmp_path / "demo").is_dir()
