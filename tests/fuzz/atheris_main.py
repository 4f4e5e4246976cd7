"""Start atheris with coverage on ``passport`` only (imported here first, instrumented)."""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["passport"]):
    import dpp_ledger.passport.checkpoint
    import dpp_ledger.passport.disclose
    import dpp_ledger.passport.qr  # noqa: F401


def run(target: str, seconds: float) -> None:
    """Fuzz ``target`` for ``seconds`` (libFuzzer exits the process when done)."""
    from . import harness

    harness.fuzz_atheris(target, seconds)


if __name__ == "__main__":
    run(sys.argv[1], float(sys.argv[2]))
