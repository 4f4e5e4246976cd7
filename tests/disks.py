"""Real filesystems for tests: a small tmpfs that can be filled up, or remounted read-only."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

FILLER = "filler"


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path``; the test is skipped where mount is not allowed."""
    path.mkdir(parents=True, exist_ok=True)
    mount = shutil.which("mount")
    if mount is None:
        pytest.skip("no mount command here: the full-disk and read-only tests need one (CI has it)")
    done = subprocess.run(
        [mount, "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(
            f"mount is not allowed here ({done.stderr.strip() or done.returncode}): the "
            "full-disk and read-only tests need root or CAP_SYS_ADMIN (CI runs them)"
        )
    try:
        yield path
    finally:
        subprocess.run([_tool("umount"), "-l", str(path)], check=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found is not None, name
    return found


def remount(path: Path, options: str) -> None:
    """Remount the tmpfs at ``path`` with ``options`` (``ro``, ``rw``, ``size=...``)."""
    subprocess.run([_tool("mount"), "-o", f"remount,{options}", str(path)], check=True)


def fill(path: Path) -> Path:
    """Write a file into the filesystem at ``path`` until no block is left."""
    filler = path / FILLER
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 16, 4096, 1):  # big blocks, then the last bytes
            with contextlib.suppress(OSError):
                while True:
                    os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    assert os.statvfs(path).f_bavail == 0
    return filler


def free(path: Path) -> None:
    """Remove what :func:`fill` wrote."""
    (path / FILLER).unlink()


def without_root_overrides() -> list[str]:
    """A command prefix under which root obeys file permissions like any user (else none)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make file permissions apply")
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search"]
