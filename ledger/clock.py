"""The ledger's clock: the one place that reads the time (``passport`` is always given it)."""

from __future__ import annotations

import time


def system_clock() -> int:
    """The current Unix time in whole seconds."""
    return int(time.time())
