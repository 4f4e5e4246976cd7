"""Benchmark `dpp verify` on hostile inputs of up to 1 MiB: time and memory stay bounded.

Run: python benchmarks/hostile_inputs.py [--size BYTES] [--json]
(default 1 MiB). Each input is written to a file and verified by a real `dpp verify`
subprocess against a trust store that does not trust the attacker; the benchmark reports each
one's wall time, CPU time and peak resident memory, and flags any over the bounds the design
promises (2 s and 256 MiB on the reference machine). A benchmark, not a test: timings live
here, and the suite only checks that every input is refused in one line.

The inputs are what an attacker controls: CBOR item floods and deep nesting (the decoder's
item and depth bounds), shared-value and string-reference tags (refused before cbor2 reads
them), one huge string, thousands of self-signed events in a valid chain (every signature
checked), production data made to fail its schema in thousands of places, floods of
certificates, a revocation list of the largest size, and log proofs of the longest path.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dpp_ledger.passport as pp
from dpp_ledger.passport import cbor, cose, wire

MIB = 1 << 20
TIME_BOUND_S = 2.0
MEMORY_BOUND_MB = 256
NOW = 1_800_000_000
ATTACKER = pp.SigningKey.from_seed(bytes(range(32)))
BRAND = pp.SigningKey.from_seed(bytes(range(1, 33)))


def _bundle(events: list[bytes], **fields: Any) -> bytes:
    return cbor.encode(
        {"v": 1, "events": events, "certs": [], "keys": [], "revocations": [], **fields}
    )


def _event(seq: int, data: dict[str, Any], *, pid: bytes | None, prev: bytes | None) -> bytes:
    payload: dict[str, Any] = {"v": 1, "seq": seq, "type": "production", "time": NOW, "data": data}
    if seq:
        payload.update(type="repair", pid=pid, prev=prev)
    return cose.sign(ATTACKER, cose.CT_EVENT, cbor.encode(payload)).raw


def _head(major: int, count: int) -> bytes:
    """The shortest CBOR head of ``major`` type with argument ``count``."""
    if count < 24:
        return bytes([major << 5 | count])
    width = next(w for w in (1, 2, 4, 8) if count < 1 << (8 * w))
    return bytes([major << 5 | (24 + width.bit_length() - 1)]) + count.to_bytes(width, "big")


def _array_of(size: int, item: bytes) -> bytes:
    count = (size - 9) // len(item)
    return _head(4, count) + item * count


def flood(size: int) -> bytes:
    """One array of a million empty arrays: the decoder's item bound."""
    return _array_of(size, b"\x80")


def nesting(size: int) -> bytes:
    """Arrays of maps nested to the depth limit, repeated to fill the input."""
    deep = b"\x81" * 15 + b"\xa1\x61a\x80"
    return _array_of(size, deep)


def shared_values(size: int) -> bytes:
    """Shared-value tags (28/29) whose expansion is exponential, padded to the size."""
    items = [b"\xd8\x1c\x81\xf6"]
    for level in range(1, 40):
        ref = b"\xd8\x1d" + cbor.encode(level - 1)
        items.append(b"\xd8\x1c\x88" + ref * 8)
    return (_head(4, 40) + b"".join(items)).ljust(size, b"\x00")


def string_references(size: int) -> bytes:
    """A 4 KiB string referenced (tag 25 in tag 256) as many times as the size allows."""
    copies = (size - 4200) // 3
    return (
        b"\xd9\x01\x00" + _head(4, copies + 1) + cbor.encode(b"x" * 4096) + b"\xd8\x19\x00" * copies
    )


def long_string(size: int) -> bytes:
    """A bundle whose one event is a byte string of almost the whole size."""
    return _bundle([b"\x00" * (size - 64)])


def self_signed_chain(size: int) -> bytes:
    """A valid chain of events signed by a key the bundle carries: every signature is checked."""
    events: list[bytes] = []
    pid = prev = None
    data: dict[str, Any] = {"gtin": "09506000134352", "serial": "X"}
    work = {"work": "w" * max(1, min(2000, size // 2000 - 330))}  # 2,000 events fill the size
    while sum(len(e) + 3 for e in events) < size - 2600 and len(events) < wire.MAX_EVENTS:
        raw = _event(len(events), data if not events else work, pid=pid, prev=prev)
        prev = pp.parse_event(raw).hash
        pid = pid or prev
        events.append(raw)
    return _bundle(events, keys=[ATTACKER.public_key.raw])


def schema_failures(size: int) -> bytes:
    """One self-signed production event of the largest size, failing its schema everywhere.

    Signatures and the chain pass, so the schema check runs, and its error report must name
    the first of thousands of problems without a cost that grows with their number squared.
    """
    limit = min(size, cose.MAX_RECORD_SIZE) - 400
    materials = [{"share": "x", "material": 1, "origin": []}] * (limit // 28)
    raw = _event(0, {"gtin": "x", "serial": 1, "materials": materials}, pid=None, prev=None)
    return _bundle([raw], keys=[ATTACKER.public_key.raw])


def certificates(size: int) -> bytes:
    """As many delegation certificates from an untrusted key as the size allows."""
    cert = pp.delegate(
        ATTACKER, BRAND.public_key, name="x" * 150, role="retailer", nbf=0, exp=NOW
    ).record.raw
    count = min((size - 2000) // (len(cert) + 3), 1000)
    return _bundle(
        [_event(0, {"gtin": "09506000134352", "serial": "X"}, pid=None, prev=None)],
        certs=[cert] * count,
    )


def revocations(size: int) -> bytes:
    """One revocation list of the most key ids that fit, signed by an untrusted key."""
    count = min((size - 2000) // 45, 100_000)
    revoked = {i.to_bytes(32, "big"): NOW for i in range(count)}
    raw = pp.revoke(ATTACKER, number=1, issued=NOW, revoked=revoked).record.raw
    first = _event(0, {"gtin": "09506000134352", "serial": "X"}, pid=None, prev=None)
    return _bundle([first], revocations=[raw])


def log_proofs(size: int) -> bytes:
    """The longest proof paths for as many events as fit, under a checkpoint nobody signed."""
    chain = pp.parse_bundle(self_signed_chain(size // 8))
    path = [bytes([i]) * 32 for i in range(64)]
    count = min(len(chain.events), (size - size // 8) // (64 * 34))
    events = [e.raw for e in chain.events[:count]]
    note = "example.com/log\n99999999\n" + "A" * 43 + "=\n\n\u2014 example.com/log AAAA\n"
    proofs = [{"index": i, "path": path} for i in range(count)]
    return _bundle(
        events, keys=[ATTACKER.public_key.raw], log={"checkpoint": note, "proofs": proofs}
    )


INPUTS: dict[str, Callable[[int], bytes]] = {
    "item flood": flood,
    "deep nesting": nesting,
    "shared-value tags": shared_values,
    "string-reference tags": string_references,
    "one long string": long_string,
    "self-signed chain": self_signed_chain,
    "schema failures": schema_failures,
    "certificate flood": certificates,
    "largest revocation list": revocations,
    "longest log proofs": log_proofs,
}


def _dpp() -> str:
    found = Path(sys.executable).with_name("dpp")
    return str(found) if found.exists() else "dpp"


def measure(path: Path, trust: Path) -> dict[str, Any]:
    """Run `dpp verify` on ``path``; its exit code, first line, wall and CPU time, peak RSS."""
    env = {**os.environ, "DPP_HOME": str(path.parent / "home")}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(  # noqa: S603 - our own dpp, on files this script wrote
            [_dpp(), "verify", str(path), "--trust", str(trust)], stdout=out, stderr=err, env=env
        )
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage, not all children's
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = (
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
        )
    lines = (stderr or stdout).strip().splitlines()
    return {
        "exit": child.returncode,
        "message": lines[0] if lines else "",
        "lines_on_stderr": len(stderr.strip().splitlines()),
        "wall_s": round(wall, 3),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }


def run(size: int) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """Make each hostile input of at most ``size`` bytes and measure its verification."""
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        trust = folder / "trust.json"
        store = pp.TrustStore.of([pp.TrustedRoot("Brand", BRAND.public_key, ("9506000",))])
        trust.write_text(store.to_json())
        for name, make in INPUTS.items():
            data = make(size)[:size]
            path = folder / f"{name.replace(' ', '-')}.dpp"
            path.write_bytes(data)
            yield name, len(data), measure(path, trust)


def main() -> None:
    """Print one line per input (or JSON), and whether every one stayed within the bounds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=MIB, help="Bytes per input (default 1 MiB).")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()
    results = {name: {"bytes": n, **r} for name, n, r in run(args.size)}
    worst_time = max(r["wall_s"] for r in results.values())
    worst_rss = max(r["peak_rss_mb"] for r in results.values())
    within = worst_time < TIME_BOUND_S and worst_rss < MEMORY_BOUND_MB
    if args.json:
        print(
            json.dumps(
                {
                    "inputs": results,
                    "worst_wall_s": worst_time,
                    "worst_rss_mb": worst_rss,
                    "within_bounds": within,
                },
                indent=2,
            )
        )
    else:
        for name, r in results.items():
            print(
                f"{name:24} {r['bytes']:>9,} B  exit {r['exit']}  {r['wall_s']:5.2f} s wall  "
                f"{r['cpu_s']:5.2f} s CPU  {r['peak_rss_mb']:6.1f} MB  {r['message'][:60]}"
            )
        print(
            f"worst: {worst_time:.2f} s (bound {TIME_BOUND_S} s), {worst_rss:.0f} MB "
            f"(bound {MEMORY_BOUND_MB} MB): {'within bounds' if within else 'OVER A BOUND'}"
        )
    sys.exit(0 if within else 1)


if __name__ == "__main__":
    main()
