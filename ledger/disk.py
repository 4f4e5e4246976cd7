"""What the disk under a file is doing, said in words: full, read-only, or a stale side file.

SQLite reports a full disk or a read-only mount as "disk I/O error" or "unable to open
database file"; the operating system as an errno. Both become one of the errors below, with
a sentence that says what is wrong and what to do.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Final

from .errors import DiskFullError, ReadOnlyError

if TYPE_CHECKING:
    import sqlite3  # only named here; reading a bundle file must not load SQLite

READ_ONLY_LEDGER: Final = "the ledger is on a read-only filesystem: reading only"
_FULL_ERRNOS: Final = (errno.ENOSPC, errno.EDQUOT)
_SIDE_FILES: Final = ("-wal", "-shm")


def read_only_filesystem(path: Path) -> bool:
    """Whether the filesystem holding ``path`` (or its folder) is mounted read-only."""
    return _flag(path, os.ST_RDONLY)


def disk_full(path: Path) -> bool:
    """Whether the filesystem holding ``path`` (or its folder) has no block left to write."""
    try:
        info = os.statvfs(path if path.exists() else path.parent)
    except OSError:
        return False
    return info.f_bavail == 0 or (info.f_files > 0 and info.f_favail == 0)


def _flag(path: Path, flag: int) -> bool:
    try:
        info = os.statvfs(path if path.exists() else path.parent)
    except OSError:
        return False
    return bool(info.f_flag & flag)


def os_failure(exc: OSError, path: Path | str) -> DiskFullError | ReadOnlyError | None:
    """The error to raise for a failed write of ``path``, if the disk explains it."""
    if exc.errno in _FULL_ERRNOS:
        return DiskFullError(f"{path}: the disk is full (nothing was written; free some space)")
    if exc.errno == errno.EROFS:
        return ReadOnlyError(f"{path}: on a read-only filesystem (nothing was written)")
    return None


def sqlite_failure(exc: sqlite3.Error, path: Path) -> DiskFullError | ReadOnlyError | None:
    """The error to raise for a failed SQLite operation on ``path``, if the disk explains it."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL" or (
        name.startswith(("SQLITE_IOERR", "SQLITE_CANTOPEN")) and disk_full(path)
    ):
        return DiskFullError("the disk is full (the ledger is as it was): free some space, retry")
    if name.startswith(("SQLITE_READONLY", "SQLITE_IOERR", "SQLITE_CANTOPEN")) and (
        read_only_filesystem(path)
    ):
        return ReadOnlyError(READ_ONLY_LEDGER)
    return None


def side_files(path: Path) -> tuple[Path, ...]:
    """The ledger's write-ahead log and shared-memory files (present or not)."""
    return tuple(path.with_name(path.name + suffix) for suffix in _SIDE_FILES)


def wal_is_empty(path: Path) -> bool:
    """Whether the ledger's write-ahead log holds nothing (absent or zero bytes)."""
    wal = side_files(path)[0]
    try:
        return wal.stat().st_size == 0
    except FileNotFoundError:
        return True


def repair_side_files(path: Path) -> None:
    """Make ``-wal`` and ``-shm`` files writable again where the ledger file itself is.

    SQLite creates them with the ledger file's permissions; a read-only use of a read-only
    file leaves them behind read-only, and every later write then fails. They hold nothing
    that the permission change could harm (the same inode stays shared with any reader).

    Raises:
        ReadOnlyError: a side file is not writable and cannot be made so by this user.
    """
    if not os.access(path, os.W_OK):
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    for side in side_files(path):
        if side.exists() and not os.access(side, os.W_OK):
            try:
                os.chmod(side, mode)
            except OSError:
                raise ReadOnlyError(
                    f"{side} is not writable (left by a read-only use?): make it writable, "
                    "or remove it while no dpp uses the ledger"
                ) from None
