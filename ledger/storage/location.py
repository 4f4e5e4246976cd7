"""Where a ledger lives: a SQLite file's path, or a ``postgresql://`` URL (never a password).

A URL is written in a home's settings and shown in messages, so it must not carry a secret:
libpq finds the password itself in ``PGPASSWORD``, ``~/.pgpass`` (``PGPASSFILE``) or a service
file (``PGSERVICE``, ``~/.pg_service.conf``), and that is where it belongs.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path
from typing import Final

from dpp_ledger.ledger.errors import LocationError

SCHEMES: Final = ("postgresql://", "postgres://")
Location = Path | str  # a path for SQLite; a URL string for PostgreSQL


def is_url(location: Location) -> bool:
    """Whether ``location`` names a PostgreSQL database rather than a SQLite file."""
    return isinstance(location, str) and location.startswith(SCHEMES)


def as_location(text: str | Path) -> Location:
    """A URL checked by :func:`checked_url`, else a path.

    Raises:
        LocationError: a URL holding a password.
    """
    if isinstance(text, str) and is_url(text):
        return checked_url(text)
    if isinstance(text, str) and "://" in text:
        raise LocationError(
            f"{_shown(text)}: not a ledger location: give a file path or a postgresql:// URL"
        )
    return Path(text)


def checked_url(url: str) -> str:
    """``url`` if it holds no password.

    Raises:
        LocationError: a password in the user part or in a ``password=`` parameter.
    """
    try:
        parts = urllib.parse.urlsplit(url)
        query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
        has_password = parts.password is not None
    except ValueError:
        raise LocationError(f"{_shown(url)}: not a valid PostgreSQL URL") from None
    if has_password or any(k.lower() == "password" for k in query):
        raise LocationError(
            "refusing a PostgreSQL URL that holds a password (it would be stored in the home "
            "and shown in messages): remove it and let libpq find it in PGPASSWORD, "
            "~/.pgpass or a service file (PGSERVICE)"
        )
    return url


def _shown(text: str) -> str:
    """``text`` for a message: cut short, anything after a ``:`` in its user part hidden."""
    head, sep, rest = text.partition("@")
    if sep and ":" in head.split("//", 1)[-1]:
        head = head.rsplit(":", 1)[0] + ":***"
    return (head + sep + rest)[:120]
