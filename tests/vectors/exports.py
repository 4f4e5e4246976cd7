"""Golden exports: one item's whole life as EPCIS 2.0 and as a UNTP credential, from fixed keys.

Regenerate with ``python -m tests.vectors.exports`` (from the repository root) after a
deliberate mapping change; tests/test_exports.py rebuilds them and compares byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import dpp_ledger.passport as pp
from dpp_ledger.passport import epcis, untp
from tests.world import DAY, T0, World

HERE = Path(__file__).resolve().parent / "exports"
CREATED = T0 + 400 * DAY  # the exporter's clock: creationDate and validFrom


def life(w: World) -> list[pp.Event]:
    """Every event type once: made, sent to the outlet, sold there, repaired, authenticated,
    resold, stolen, recovered, recycled."""
    events = w.issue()
    events = w.then(events, w.outlet, "outlet", {"note": "end of season"})
    events = w.then(events, w.outlet, "sale", {"owner": w.alice.kid.hex(), "channel": "outlet"})
    events = w.then(events, w.repairer, "repair", {"work": "new handles", "parts": ["handle"]})
    events = w.then(events, w.authenticator, "authentication", {"verdict": "genuine"})
    events = w.then(events, w.alice, "resale", {"to": w.bob.kid.hex(), "platform": "Resell"})
    events = w.then(events, w.bob, "stolen", {"reference": "PP-2026-0042"})
    events = w.then(events, w.bob, "recovered", {"reference": "PP-2026-0042"})
    return w.then(events, w.bob, "end_of_life", {"fate": "recycled", "facility": "Recyclerie"})


def build() -> dict[str, Any]:
    """File name -> the JSON document it holds."""
    w = World()
    bundle = w.bundle(life(w))
    report = w.verify(bundle)
    assert report, report.failures
    root = w.trust.root(report.brand_key or b"")
    assert root is not None
    return {
        "life.epcis.jsonld": epcis.epcis_document(bundle, report, created=CREATED),
        "life.untp.json": untp.credential(bundle, report, root, issued=CREATED),
    }


def text(document: Any) -> str:
    """How a golden file is written: indented JSON, UTF-8, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    for name, document in build().items():
        (HERE / name).write_text(text(document), encoding="utf-8")
        print(f"wrote {HERE / name}")
