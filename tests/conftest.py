from __future__ import annotations

import os
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
