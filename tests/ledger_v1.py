"""A version 1 ledger file, frozen as SQL text, for the tests of ``dpp upgrade``.

Made with the dpp of commit b2a39b1 (ledger schema 1) from the test world's fixed keys:

    python -m tests.ledger_v1 > tests/ledger-v1.sql

Never regenerate it with a later dpp: it is what a schema 1 file looks like. ``load`` turns
it back into a ledger file as schema 1 left it (4 KiB pages, WAL).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

from tests.world import PRODUCT, T0, World, gtin, key

ORIGIN = "maison-example.com/dpp-log"
LOG_KEY = key("ledger-log")
SQL = Path(__file__).with_name("ledger-v1.sql")


def load(path: Path) -> Path:
    """Write the frozen version 1 ledger to ``path``."""
    conn = sqlite3.connect(path)
    conn.executescript(SQL.read_text())
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    return path


def main() -> None:
    """Print the SQL dump of a small version 1 ledger (run with the dpp of schema 1)."""
    from dpp_ledger.ledger import issue_many
    from tests.ledger_helpers import new_ledger, store_chain

    w = World()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "v1.db"
        with new_ledger(path, w) as ledger:
            ledger.checkpoints.set_log(ORIGIN, LOG_KEY)
            store_chain(ledger, w, w.sold())
            items = [
                {**PRODUCT, "gtin": gtin(f"0361427{i:06d}"), "serial": f"V{i}"} for i in range(70)
            ]
            issue_many(ledger, w.factory, items, time=T0, batch_size=50)
            store_chain(
                ledger, w, [w.then(w.sold(), w.bob, "resale", {"to": w.carol.kid.hex()})[-1]]
            )
        conn = sqlite3.connect(path)
        sys.stdout.write("\n".join(conn.iterdump()) + "\n")
        conn.close()


if __name__ == "__main__":
    main()
