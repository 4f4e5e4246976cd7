"""passport/ stays pure: no storage, no CLI, no clock, no files, no network."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PASSPORT = Path(__file__).resolve().parents[1] / "passport"
FORBIDDEN_MODULES = {
    "sqlite3",
    "sqlite_utils",
    "click",
    "socket",
    "urllib.request",
    "http",
    "os",
    "pathlib",
    "shutil",
    "subprocess",
    "time",
    "ledger",
    "cli",
    "random",
}
FORBIDDEN_CALLS = {"open", "now", "utcnow", "today", "time", "print", "input"}


def test_importing_passport_loads_no_storage_or_cli_module() -> None:
    code = (
        "import sys, dpp_ledger.passport; "
        "print(','.join(sorted(m for m in sys.modules if m.removeprefix('dpp_ledger.')"
        ".split('.')[0] in {'sqlite3','sqlite_utils','click','ledger','cli','qrcode'})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""


def _imported(node: ast.ImportFrom) -> list[str]:
    """The modules a ``from`` import reaches (relative ones seen from ``dpp_ledger.passport``)."""
    if node.level == 0:
        return [(node.module or "").removeprefix("dpp_ledger.")]
    if node.level == 1:
        return []  # within passport/ itself
    # ``from .. import ledger`` or ``from ..ledger.x import y`` leaves passport/
    return [node.module] if node.module else [alias.name for alias in node.names]


def test_passport_sources_import_and_call_nothing_impure() -> None:
    problems = []
    for path in sorted(PASSPORT.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name.removeprefix("dpp_ledger.") for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = _imported(node)
            problems += [
                f"{path.name}: imports {n}"
                for n in names
                if any(n == m or n.startswith(m + ".") for m in FORBIDDEN_MODULES)
            ]
            if isinstance(node, ast.Call):
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if name in FORBIDDEN_CALLS:
                    problems.append(f"{path.name}:{node.lineno}: calls {name}()")
    assert problems == []
