"""Peak Python memory of `dpp issue --from` runs, in a fresh interpreter (run by a test).

    python -m tests.memory_probe HOME-A FILE-A HOME-B FILE-B ...

The first pair is a warm-up (it imports and caches what issuing needs); each later pair is
issued under tracemalloc and its peak printed, one JSON list on stdout. A fresh process, so
nothing an earlier test imported or cached moves the figures.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path

from tests.homes import cli


def peak(home: Path, rows: Path) -> int:
    """Issue ``rows`` from ``home`` and return the peak traced while it ran."""
    args = ("issue", "--brand", "brand", "--as", "factory", "--batch", "200", "--from", str(rows))
    tracemalloc.start()
    try:
        result = cli(home, *args)
        _, top = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    if result.exit_code != 0:
        raise SystemExit(f"issuing {rows} failed: {result.output}")
    return top


def main(argv: list[str]) -> None:
    """Warm up on the first pair, then print the peak of each other pair."""
    pairs = [(Path(argv[i]), Path(argv[i + 1])) for i in range(0, len(argv), 2)]
    peak(*pairs[0])
    print(json.dumps([peak(*pair) for pair in pairs[1:]]))


if __name__ == "__main__":
    main(sys.argv[1:])
