from __future__ import annotations

import os
import sys

import pytest
from hypothesis import HealthCheck, settings

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
