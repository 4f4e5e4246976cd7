"""The CLI imports what the command run needs, and nothing else (behaviour, not timing).

Speed itself is measured by ``dpp bench``; here each command runs in a fresh interpreter and
the modules it loaded are listed at exit.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dpp_ledger.cli.commands import COMMANDS
from dpp_ledger.cli.main import register
from dpp_ledger.ledger.bench_startup import three_event_bundle

# Libraries no start-up and no offline verification may load: storage, JSON Schema (with
# its format checkers), the data science stack sqlite-utils drags in, web and image stacks.
HEAVY = ("sqlite_utils", "jsonschema", "numpy", "dateutil", "starlette", "uvicorn", "PIL", "qrcode")
# What ``dpp --version`` must not load either: every library a command does its work with.
NOT_FOR_VERSION = (*HEAVY, "sqlite3", "cryptography", "nacl", "cbor2")

RUN = """
import atexit, sys
def _listed():
    print("\\n".join(sorted(sys.modules)), file=sys.stderr)
atexit.register(_listed)
sys.argv = ["dpp", *sys.argv[1:]]
from dpp_ledger.cli.main import main
main()
"""


def _run(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, *args], capture_output=True, text=True, check=False, cwd=cwd
    )
    roots = {line.split(".")[0] for line in done.stderr.splitlines() if line}
    return done, roots


def test_version_loads_no_library_a_command_works_with(tmp_path: Path) -> None:
    done, loaded = _run("--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("dpp, version ")
    assert loaded.isdisjoint(NOT_FOR_VERSION), sorted(loaded & set(NOT_FOR_VERSION))
    # No command's module either (the table's names, so a split or a rename keeps this true).
    commands = {f"dpp_ledger.cli{entry.module}" for entry in COMMANDS.values()}
    assert commands.isdisjoint(done.stderr.splitlines())


def test_offline_verify_loads_no_storage_schema_or_image_library(tmp_path: Path) -> None:
    bundle, trust = three_event_bundle(tmp_path)
    done, loaded = _run("verify", str(bundle), "--trust", str(trust), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "GENUINE" in done.stdout
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))
    # Signatures are checked by libsodium (PyNaCl is a dependency): OpenSSL's bindings would
    # be a second crypto library loaded for nothing.
    assert "cryptography" not in loaded


def test_an_invalid_bundle_still_names_what_is_wrong(tmp_path: Path) -> None:
    # The fast path skips jsonschema only for valid data; a refusal still explains itself.
    bundle, trust = three_event_bundle(tmp_path)
    data = bytearray(bundle.read_bytes())
    data[len(data) // 2] ^= 1
    bundle.write_bytes(bytes(data))
    done, _ = _run("verify", str(bundle), "--trust", str(trust), cwd=tmp_path)
    assert done.returncode in (1, 2)
    assert "Traceback" not in done.stderr


def test_help_lists_every_command_without_importing_one(tmp_path: Path) -> None:
    done, _ = _run("--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    modules = set(done.stderr.splitlines())
    assert modules.isdisjoint({f"dpp_ledger.cli{entry.module}" for entry in COMMANDS.values()})
    eager = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN.replace("main()", "register(); main()").replace(
                "import main", "import main, register"
            ),
            "--help",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    assert done.stdout == eager.stdout  # the table's lines are the commands' own help


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_names_each_command_its_module_and_help(name: str) -> None:
    command = register().commands[name]
    assert command.callback is not None
    module = inspect.getmodule(command.callback)
    assert module is not None
    assert module.__name__ == f"dpp_ledger.cli{COMMANDS[name].module}"
    assert (command.help or "").split("\n\n")[0] == COMMANDS[name].help


def test_every_command_is_in_the_table() -> None:
    assert set(register().commands) == set(COMMANDS)


def test_an_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    done, loaded = _run("verfiy", cwd=tmp_path)
    assert done.returncode == 2
    assert "No such command 'verfiy'" in done.stderr
    assert loaded.isdisjoint(HEAVY)
    assert isinstance(register(), click.Group)


def test_the_version_printed_is_the_installed_one() -> None:
    from importlib import metadata

    import dpp_ledger

    assert dpp_ledger.__version__ == metadata.version("dpp-ledger")
