"""Instructions per event on each hot path, counted by callgrind: a profile that noise cannot move.

Wall-clock figures on a shared VM move by a quarter between runs; instruction counts repeat
exactly. Each path runs in a fresh interpreter under ``valgrind --tool=callgrind`` with
counting switched on around the measured loop only (setup, imports and data are not counted).

    python benchmarks/instructions.py            # every path, about a minute
    python benchmarks/instructions.py verify ed25519_verify

Instructions are not time (Ed25519 retires about 13 per nanosecond here, the interpreter
about 8), so compare like with like: the Python around a primitive against the Python around
it after a change. ``dpp bench`` remains the measure of the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dpp_ledger.ledger.bench import _Bench
    from dpp_ledger.passport.keys import PublicKey

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BUNDLES = 100  # passports verified, 3 events each
ITEMS = 300  # passports issued


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise SystemExit(f"needs {name} (Debian: apt install valgrind)")
    return found


def _counting(on: bool) -> None:
    subprocess.run(  # noqa: S603 - a fixed command line
        [_tool("callgrind_control"), "-i", "on" if on else "off", str(os.getpid())],
        capture_output=True,
        check=True,
    )


def _measure(work: Callable[[], object]) -> None:
    _counting(True)
    work()
    _counting(False)


def _checked(signed: tuple[PublicKey, bytes, bytes]) -> bool:
    key, signature, message = signed
    key.verify(signature, message)
    return True


def _world(directory: Path) -> tuple[_Bench, list[bytes]]:
    """A bench ledger of sold and resold passports, and their exported bundles."""
    from dpp_ledger.ledger.bench import _Bench  # noqa: PLC0415 - imported inside the measured process

    bench = _Bench(directory, lambda _text: None)
    _, pids = bench.issue(BUNDLES, 1)
    bench.extend(pids)
    return bench, [bench.ledger.export(pid) for pid in pids]


def inside(path: str) -> None:
    """Run one path's loop with counting on around it (called under callgrind)."""
    import dpp_ledger.passport as pp  # noqa: PLC0415
    from dpp_ledger.ledger.bench import _product, signed_records  # noqa: PLC0415
    from dpp_ledger.ledger.bulk import issue_many  # noqa: PLC0415
    from dpp_ledger.passport import cbor  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as directory:
        bench, bundles = _world(Path(directory))
        trust = bench.ledger.trust()
        now = bench.now + 60
        factory = bench.factory
        for data in bundles:
            pp.verify(data, trust, now=now)  # warm every cache a verifier keeps
        signed = [
            (key, record.signature, pp.cose.sig_structure(record.protected, record.payload))
            for record, key in signed_records(bundles, trust)
        ]
        items = [_product(i, 5) for i in range(ITEMS)]
        event = pp.issue(factory, items[0], time=now)
        message = pp.cose.sig_structure(event.record.protected, event.record.payload)
        paths: dict[str, Callable[[], object]] = {
            "ed25519_verify": lambda: all(map(_checked, signed)),
            "verify": lambda: [pp.verify(b, trust, now=now) for b in bundles],
            "parse": lambda: [pp.parse_bundle(b) for b in bundles],
            "ed25519_sign": lambda: [factory.sign(message) for _ in items],
            "encode": lambda: [cbor.encode(item) for item in items],
            "issue_in_memory": lambda: [pp.issue(factory, item, time=now) for item in items],
            "issue": lambda: issue_many(bench.ledger, factory, items, time=now, batch_size=1000),
        }
        _measure(paths[path])
        bench.ledger.close()


PATHS = {  # path: events it handles
    "ed25519_verify": 3 * BUNDLES,
    "verify": 3 * BUNDLES,
    "parse": 3 * BUNDLES,
    "ed25519_sign": ITEMS,
    "encode": ITEMS,
    "issue_in_memory": ITEMS,
    "issue": ITEMS,
}


def count(path: str) -> int:
    """Instructions the loop of ``path`` retires, from a fresh callgrind run."""
    result = subprocess.run(  # noqa: S603 - a fixed command line
        [
            _tool("valgrind"),
            "--tool=callgrind",
            "--instr-atstart=no",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--inside",
            path,
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"{path}: callgrind run failed\n{result.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    """Count each path asked for and print instructions per event."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help=f"any of {', '.join(PATHS)} (default: all)")
    parser.add_argument("--inside", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    if args.inside:
        inside(args.inside)
        return
    unknown = set(args.paths) - PATHS.keys()
    if unknown:
        parser.error(f"unknown path {sorted(unknown)[0]!r}: choose from {', '.join(PATHS)}")
    _tool("callgrind_control")
    started = time.monotonic()
    per_event = {p: count(p) / PATHS[p] for p in args.paths or PATHS}
    if args.json:
        print(json.dumps(per_event))
        return
    for path, value in per_event.items():
        print(f"{path:16} {value / 1000:9.1f} k instructions per event")
    if {"verify", "ed25519_verify"} <= per_event.keys():
        ratio = per_event["ed25519_verify"] / per_event["verify"]
        print(f"verify: Ed25519 is {ratio:.2f} of its instructions")
    if {"issue", "ed25519_sign", "encode"} <= per_event.keys():
        ratio = (per_event["ed25519_sign"] + per_event["encode"]) / per_event["issue"]
        print(f"issue: signing and encoding are {ratio:.2f} of its instructions")
    print(f"({time.monotonic() - started:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
