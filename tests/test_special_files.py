"""A FIFO or a device given as an input file is refused at once, never read until it ends."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.homes import dpp, make_home, one_line
from tests.vectors import generate
from tests.world import World

VECTORS = Path(generate.__file__).resolve().parent
BUNDLE = str(VECTORS / "valid.dpp")
TRUST = str(VECTORS / "trust.json")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_home(tmp_path_factory.mktemp("special") / "home", World())


@pytest.fixture
def fifo(tmp_path: Path) -> str:
    path = tmp_path / "input.csv"
    os.mkfifo(path)
    return str(path)


# Each command reads FILE somewhere: a FIFO with no writer would block it forever.
READERS = {
    "verify a bundle": ("verify", "{f}", "--trust", TRUST),
    "verify against a trust store": ("verify", BUNDLE, "--trust", "{f}"),
    "verify with a photo": ("verify", BUNDLE, "--trust", TRUST, "--qr", "{f}"),
    "scan a photo": ("scan", "{f}", "--trust", TRUST),
    "import a bundle": ("import", "{f}"),
    "issue with production data": (
        "issue",
        "--brand",
        "brand",
        "--gtin",
        "03614270000423",
        "--serial",
        "F-1",
        "--data",
        "{f}",
    ),
    "issue from rows": ("issue", "--brand", "brand", "--as", "factory", "--from", "{f}"),
    "record with a receipt": ("record", "sale", "0" * 64, "--as", "brand", "--receipt", "{f}"),
    "audit a checkpoint": ("audit", "{f}"),
    "show a bundle file": ("show", "{f}", "--trust", TRUST),
}


@pytest.mark.parametrize("args", list(READERS.values()), ids=list(READERS))
def test_a_fifo_is_refused_not_waited_on(home: Path, fifo: str, args: tuple[str, ...]) -> None:
    result = dpp(home, *(a.replace("{f}", fifo) for a in args), timeout=60)
    assert result.returncode == 2, result.stderr
    assert "a pipe (FIFO), not a regular file" in one_line(result)


def test_a_device_is_refused_by_name(home: Path) -> None:
    result = dpp(home, "verify", "/dev/zero", "--trust", TRUST)
    assert result.returncode == 2
    assert one_line(result) == "dpp: bundle /dev/zero: a character device, not a regular file"


def test_a_key_file_that_is_a_fifo_is_named_and_the_other_keys_listed(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home", World())
    os.mkfifo(home / "keys" / "pipe.key", 0o600)
    listed = dpp(home, "key", "list", timeout=60)
    assert listed.returncode == 1
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "alice",
        "brand",
        "factory",
        "log",
    ]
    assert "a pipe (FIFO), not a regular file" in one_line(listed)
    exported = dpp(home, "key", "export", "pipe", timeout=60)
    assert exported.returncode == 1
    assert "a pipe (FIFO)" in one_line(exported)
