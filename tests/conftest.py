from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests import pg
from tests.world import World

settings.register_profile(
    "default", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=20_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(scope="session")
def world() -> World:
    return World()


# The installed import name is dpp_ledger. From the repository root the bare folder names import
# too, as a second copy of the package with its own exception classes and module state: a test
# that used one (an import, a monkeypatch target) would test what no user runs.
_BARE = frozenset({"passport", "ledger", "cli", "schemas"})


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    bare = sorted(m for m in sys.modules if m.split(".")[0] in _BARE)
    if bare:
        print(f"\nimported outside dpp_ledger: {', '.join(bare)}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each ledger test runs on both backends; PostgreSQL needs a server (see tests/pg.py)."""
    name: str = request.param
    if name == "postgresql":
        pg.require_server()
    return name


@pytest.fixture
def new_location(backend: str, tmp_path: Path) -> Iterator[Callable[[str], Path | str]]:
    """Places for ledgers on this test's backend, by name: a file path, or a fresh schema.

    The same name gives the same place again within a test.
    """
    with pg.schemas() as made:
        places: dict[str, Path | str] = {}

        def make(name: str = "ledger") -> Path | str:
            if name not in places:
                places[name] = tmp_path / f"{name}.db" if backend == "sqlite" else made.new()
            return places[name]

        yield make


@pytest.fixture
def pg_location() -> Iterator[Callable[[], str]]:
    """Makes fresh PostgreSQL schemas (their URLs), for what only PostgreSQL has."""
    pg.require_server()
    with pg.schemas() as made:
        yield made.new
