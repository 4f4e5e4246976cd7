"""Files from outside and files we write: bounded reads, atomic writes, bundle files.

A bundle file is a ledger of one item: a seller who holds it and the owner key appends a
resale to the file itself; the new file verifies before it replaces the old one.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO, Final

from dpp_ledger import passport as pp
from dpp_ledger.passport import wire

from . import disk, sniff
from .errors import NotFoundError

MAX_TEXT_FILE = 4 * 1024 * 1024


def open_regular(path: Path | str, *, what: str = "file") -> BinaryIO:
    """Open ``path`` for reading if it is a regular file; anything else is refused at once.

    The file is opened without blocking, so a FIFO with no writer or a device is named and
    refused instead of hanging the command; the check is made on the opened file itself.

    Raises:
        NotFoundError: no such file, a directory, a FIFO, a device or a socket.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NotFoundError(f"{what} {path}: no such file") from None
    except IsADirectoryError:
        raise NotFoundError(f"{what} {path}: is a directory") from None
    kind = stat.S_IFMT(os.fstat(fd).st_mode)
    if kind != stat.S_IFREG:
        os.close(fd)
        name = _KINDS.get(kind, "not a regular file")
        raise NotFoundError(f"{what} {path}: {name}, not a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


_KINDS: Final = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a pipe (FIFO)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}


def read_bounded(path: Path | str, limit: int, *, what: str = "file") -> bytes:
    """Read at most ``limit`` bytes of ``path``; a larger file is refused, not truncated.

    Only regular files are read (see :func:`open_regular`).

    Raises:
        NotFoundError: no such file, or not a regular file. DecodeError: larger than ``limit``.
    """
    path = Path(path)
    with open_regular(path, what=what) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise pp.DecodeError(f"{what} {path}: larger than {limit} bytes")
    return data


def read_text(path: Path | str, limit: int, *, what: str = "file") -> str:
    """Read a text file of at most ``limit`` bytes, which must be valid UTF-8.

    Bytes that are not UTF-8 are refused, never replaced: a replaced byte would change what
    a signature covers, or let an invalid note pass as a valid one.

    Raises:
        NotFoundError: no such file. DecodeError: larger than ``limit``, or not UTF-8.
    """
    data = read_bounded(path, limit, what=what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise pp.DecodeError(
            f"{what} {path}: not UTF-8 text (byte {exc.start} is not valid UTF-8)"
        ) from None


def read_bundle(path: Path | str) -> pp.Bundle:
    """Read and parse a bundle file (signatures not yet checked).

    Raises:
        NotFoundError, DecodeError.
    """
    data = read_bounded(path, wire.MAX_BUNDLE_SIZE, what="bundle")
    try:
        return wire.parse_bundle(data, what=f"bundle {path}")
    except pp.DecodeError:
        kind = sniff.kind_of(data)
        if kind is None:
            raise
        hint = (
            f"to read its QR code, use `dpp scan {path}`"
            if sniff.is_picture(kind)
            else "a bundle is the .dpp file `dpp export` writes (a trust file goes with --trust)"
        )
        raise pp.DecodeError(f"{path} is {kind}, not a passport bundle: {hint}") from None


def read_trust(path: Path | str) -> pp.TrustStore:
    """Read a trust store file.

    Raises:
        NotFoundError, TrustError.
    """
    data = read_bounded(path, MAX_TEXT_FILE, what="trust store")
    return pp.TrustStore.from_json(data, what=f"trust store {path}")


def write_atomic(path: Path | str, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename: never half a file.

    Raises:
        DiskFullError, ReadOnlyError: the disk is full or read-only (nothing was written).
        OSError: any other failure to write.
    """
    path = Path(path)
    try:
        _write_atomic(path, data, mode)
    except OSError as exc:
        found = disk.os_failure(exc, path)
        if found is None:
            raise
        raise found from exc


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def sync_directory(directory: Path) -> None:
    """Make the names just made in ``directory`` durable (where the platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on a folder; the rename itself is atomic
    finally:
        os.close(fd)


def append_to_bundle(
    path: Path | str,
    event: pp.Event,
    trust: pp.TrustStore,
    *,
    now: int,
    keys: Iterable[pp.PublicKey] = (),
    known_revocations: Iterable[pp.RevocationList] = (),
    boxes: Iterable[pp.Box] = (),
) -> pp.Report:
    """Append ``event`` to the bundle file at ``path`` once the longer chain verifies.

    The log entry is kept for the events it covers: the new event is reported as not yet in
    the brand's log until a ledger that imports the file logs it. The file's sealed boxes are
    kept; ``boxes`` (the new event's) join them.

    Raises:
        DppError: the file does not parse, or the new chain does not verify; the file is unchanged.
    """
    bundle = read_bundle(path)
    new_keys = tuple(dict.fromkeys((*bundle.keys, *(k.raw for k in keys))))
    named = pp.verify_named_kids((*bundle.events, event))
    named -= {c.subject_kid for c in bundle.certs} | {r.key.kid for r in trust.roots}
    longer = pp.Bundle(
        (*bundle.events, event),
        bundle.certs,
        tuple(k for k in new_keys if pp.kid_of(k) in named),
        bundle.revocations,
        bundle.log,
        disclosures=(*bundle.disclosures, *boxes),
    )
    report = pp.verify(longer, trust, now=now, known_revocations=known_revocations)
    report.raise_for_outcome()
    write_atomic(path, pp.bundle_to_bytes(longer))
    return report
