"""A PostgreSQL server for the tests: each test gets schemas of its own, dropped after it.

The server is ``$DPP_TEST_POSTGRES`` (default ``postgresql://postgres@127.0.0.1/test``, the CI
machine's; set it empty to leave PostgreSQL out). Without a reachable server the PostgreSQL
cases skip, saying how to run them; with ``DPP_REQUIRE_POSTGRES=1`` (as ``.ci/run`` sets) they
fail instead. Many runs share one server: a test only ever creates and drops its own
``dpp_t_<random>`` schemas, and a ledger URL selects one through libpq's ``options``.
"""

from __future__ import annotations

import os
import secrets
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, Final

import pytest

URL_VARIABLE: Final = "DPP_TEST_POSTGRES"
REQUIRE_VARIABLE: Final = "DPP_REQUIRE_POSTGRES"
DEFAULT_URL: Final = "postgresql://postgres@127.0.0.1/test"
HOW: Final = (
    f"set {URL_VARIABLE}=postgresql://USER@HOST/DB (a server where USER may create schemas; "
    f"default {DEFAULT_URL}) to run them"
)


def server_url() -> str:
    return os.environ.get(URL_VARIABLE, DEFAULT_URL)


@cache
def unreachable() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None when they can."""
    url = server_url()
    if not url:
        return f"PostgreSQL tests are off ({URL_VARIABLE} is empty): {HOW}"
    try:
        import psycopg
    except ImportError:
        return f"psycopg is not installed (pip install -e '.[test]'): {HOW}"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL server at {url} ({str(exc).strip().splitlines()[0]}): {HOW}"
    return None


def require_server() -> None:
    """Skip (or, when CI demands PostgreSQL, fail) the calling test if no server answers."""
    reason = unreachable()
    if reason is None:
        return
    if os.environ.get(REQUIRE_VARIABLE) == "1":
        pytest.fail(f"{REQUIRE_VARIABLE}=1 but {reason}")
    pytest.skip(reason)


def schema_url(schema: str) -> str:
    """The server's URL with ``search_path`` set to ``schema`` (libpq ``options``)."""
    base = server_url()
    option = urllib.parse.quote(f"-csearch_path={schema}")
    return f"{base}{'&' if '?' in base else '?'}options={option}"


class Schemas:
    """Fresh schemas on the test server, all dropped by :meth:`drop_all`."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def new(self) -> str:
        """The URL of a new, empty schema."""
        import psycopg

        name = f"dpp_t_{secrets.token_hex(6)}"
        with psycopg.connect(server_url(), autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        self.made.append(name)
        return schema_url(name)

    def drop_all(self) -> None:
        import psycopg

        if not self.made:
            return
        with psycopg.connect(server_url(), autocommit=True) as conn:
            # Ledgers a test left open (a killed child's connection) must not block the drop.
            conn.execute("SET lock_timeout = '20s'")
            for name in self.made:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        self.made.clear()


@contextmanager
def schemas() -> Iterator[Schemas]:
    made = Schemas()
    try:
        yield made
    finally:
        made.drop_all()


def drop_schema(name: str) -> None:
    """Drop a schema a test had ``dpp`` make (only ever one of the ``dpp_`` prefix)."""
    import psycopg

    assert name.startswith("dpp_"), name
    with psycopg.connect(server_url(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def table_rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table of the ledger at ``url``, in a fixed order (for snapshots)."""
    import psycopg

    with psycopg.connect(url) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY table_name"
            )
        ]
        return {
            name: sorted(conn.execute(f'SELECT * FROM "{name}"').fetchall(), key=repr)  # noqa: S608
            for name in names
        }
