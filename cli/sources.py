"""Where a command's inputs come from: a bundle file or a ledger passport, a trust store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .env import Home, UsageProblem

if TYPE_CHECKING:
    from dpp_ledger import passport as pp


def is_bundle_path(reference: str) -> bool:
    """Whether a PASSPORT argument names a bundle file rather than a ledger passport.

    Any existing path that is not a folder counts, so that a FIFO or a device is refused
    as a file rather than looked up as a passport id.
    """
    path = Path(reference)
    return reference.endswith(".dpp") or (path.exists() and not path.is_dir())


def trust_for(
    home: Home, trust_file: str | None
) -> tuple[pp.TrustStore, tuple[pp.RevocationList, ...]]:
    """The trust store to verify against: --trust FILE, else this home's (with its revocations).

    With --trust the ledger is never opened: an offline check needs nothing but the file.

    Raises:
        UsageProblem: neither is available.
    """
    from dpp_ledger.ledger.files import read_trust

    if trust_file:
        return read_trust(trust_file), ()
    if not home.exists():
        raise UsageProblem("no trust store: pass --trust FILE (or use a home with `--home`)")
    with home.reader() as ledger:
        return ledger.trust(), ledger.revocations()
