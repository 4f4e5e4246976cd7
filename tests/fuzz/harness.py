"""Fuzz the parsers and the verifier: any input is refused with DppError or verifies as before.

Run ``python -m tests.fuzz.harness TARGET --seconds N [--engine atheris|mutate]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dpp_ledger.passport as pp
from dpp_ledger.ledger import demo
from dpp_ledger.ledger.recipients import RecipientStore
from dpp_ledger.passport import cbor, checkpoint, qr, untp, wire
from dpp_ledger.passport.credential import read_credential, sign_credential
from dpp_ledger.passport.disclose import parse_disclosure
from dpp_ledger.passport.report import Access

CRASHES = Path(__file__).resolve().parent / "crashes"
TIME_LIMIT_S = 1.0
MEMORY_LIMIT_MB = 1024
NOW = int(time.time()) + 60


def _seeds() -> dict[str, list[bytes]]:
    """Bundles, events, checkpoints and QR payloads from a fresh demo run."""
    with tempfile.TemporaryDirectory() as directory:
        result = demo.run(Path(directory) / "demo", lambda *_: None)
        bundles = [p.read_bytes() for p in sorted((result.directory / "bundles").glob("*.dpp"))]
        notes = [p.read_bytes() for p in sorted((result.directory / "checkpoints").glob("*.txt"))]
        trust = (result.directory / "trust.json").read_text()
        keys = RecipientStore(result.directory / "authority" / "keys")
        _STATE["opener"] = keys.load("authorities", lambda: demo.DEMO_PASSPHRASE)
    genuine = [wire.parse_bundle(b) for b in bundles if not _broken(b)]
    events = [e.raw for b in genuine for e in b.events]
    parsed = genuine[0]
    first = parsed.events[0]
    codes = [
        qr.offline_payload(parsed).encode(),
        pp.gs1.digital_link(
            "https://id.example", first.data["gtin"], first.data["serial"], first.pid
        ).encode(),
    ]
    _STATE["trust"] = pp.TrustStore.from_json(trust)
    payloads = [e.record.payload for b in genuine[:20] for e in b.events]
    cbor_seeds = [*bundles[:20], *events[:20], *payloads, *_TAG_SEEDS]
    sealed = [b for b in bundles if b"disclosures" in b]
    return {
        "bundle": bundles,
        "verify": bundles,
        "open": sealed,
        "disclosure": [
            pp.wire.cbor.encode([bytes(16), "site", "Atelier"]),
            pp.wire.cbor.encode([bytes(range(16)), "compliance_documents", ["a", "b"]]),
        ],
        "event": events,
        "note": notes,
        "qr": codes,
        "cbor": cbor_seeds,
        "credential": _credentials(genuine[:5]),
    }


def _credentials(bundles: list[pp.Bundle]) -> list[bytes]:
    """Secured UNTP credentials of genuine passports (the parser's seeds; any key will do)."""
    key = pp.SigningKey.from_seed(bytes(32))
    found = []
    for bundle in bundles:
        report = pp.verify(bundle, _STATE["trust"], now=NOW)
        root = _STATE["trust"].root(report.brand_key or b"")
        if report and root is not None:
            found.append(sign_credential(key, untp.credential(bundle, report, root, issued=NOW)))
    return found


def shared_value_bomb(levels: int = 15, fanout: int = 8) -> bytes:
    """[28([null]), 28([29(0) x fanout]), 28([29(1) x fanout]), ...]: fanout**levels leaves.

    Shallow enough for any depth limit (each level refers to the one before, not into it).
    """
    items = [b"\xd8\x1c\x81\xf6"]
    for level in range(1, levels):
        ref = b"\xd8\x1d" + cbor.encode(level - 1)
        items.append(b"\xd8\x1c" + cbor.encode([0] * fanout)[:1] + ref * fanout)
    return cbor.encode([0] * levels)[:1] + b"".join(items)


def string_reference_bomb(copies: int = 15_000, size: int = 4096) -> bytes:
    """256([s, 25(0), 25(0), ...]): one string of ``size`` bytes, referenced ``copies`` times."""
    head = cbor.encode([None] * (copies + 1))[:3]  # an array head of copies + 1 items
    return b"\xd9\x01\x00" + head + cbor.encode(b"x" * size) + b"\xd8\x19\x00" * copies


# Shared values (28/29), string references (256/25), bignums, bigfloats, self-description:
# what cbor2 would resolve while decoding if anything let such an input reach it.
_TAG_SEEDS: list[bytes] = [
    shared_value_bomb(11, 4),
    string_reference_bomb(5_000, 1024),
    bytes.fromhex("82d81c81f6d81c82d81d00d81d00"),
    bytes.fromhex("d90100" + "83" + "4478787878" + "d81900" + "d81900"),
    bytes.fromhex("c5821b7fffffffffffffff01"),
    bytes.fromhex("c249010000000000000000"),
    bytes.fromhex("d9d9f7d28440a0f6f6"),
]


def _broken(data: bytes) -> bool:
    try:
        wire.parse_bundle(data)
    except pp.DppError:
        return True
    return False


_STATE: dict[str, Any] = {}
_ORIGINALS: dict[bytes, set[tuple[object, ...]]] = {}
_OPENED: set[tuple[bytes, str | None, str]] = set()  # (digest, field, value) genuine boxes hold


def _story(report: pp.Report) -> tuple[object, ...]:
    return (report.outcome, report.history, report.owner, report.pid, report.flags)


def _check_bundle(data: bytes) -> None:
    try:
        bundle = wire.parse_bundle(data)
    except pp.DppError:
        return
    _check_verify(data, bundle)


def _check_verify(data: bytes, bundle: pp.Bundle | None = None) -> None:
    report = pp.verify(bundle if bundle is not None else data, _STATE["trust"], now=NOW)
    if not report or report.pid is None:
        return
    stories = _ORIGINALS.get(report.pid)
    if stories is None:
        raise AssertionError("an input no seed explains verified: a new, valid passport appeared")
    # A changed input may still verify (an unneeded certificate made unrecognisable is only
    # a warning) but it must tell the story of a genuine bundle of that passport.
    if _story(report)[1:] not in {story[1:] for story in stories}:
        raise AssertionError(f"a changed bundle verified with another story: {report.outcome}")


def _opened(report: pp.Report) -> set[tuple[bytes, str | None, str]]:
    return {
        (r.digest, r.field, json.dumps(r.value, sort_keys=True))
        for r in report.restricted
        if r.access is Access.VERIFIED
    }


def _check_open(data: bytes) -> None:
    """With the authority's key: a value is shown only as a genuine box holds it."""
    try:
        bundle = wire.parse_bundle(data)
    except pp.DppError:
        return
    report = pp.verify(bundle, _STATE["trust"], now=NOW, open_with=[_STATE["opener"]])
    if _opened(report) - _OPENED:
        raise AssertionError("a changed bundle showed a value no genuine box holds")


def _check_disclosure(data: bytes) -> None:
    try:
        parse_disclosure(data)
    except pp.DppError:
        return


def _check_event(data: bytes) -> None:
    try:
        wire.parse_event(data)
    except pp.DppError:
        return


def _check_note(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        checkpoint.verify_checkpoint(text, _STATE["trust"].logs)
    except pp.DppError:
        return


def _check_qr(data: bytes) -> None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return
    try:
        scanned = qr.read_payload(text)
    except pp.DppError:
        return
    if scanned.offline is not None:
        pp.verify(scanned.offline, _STATE["trust"], now=NOW)


# The decoder's bound: memory and CPU time linear in the input (tracemalloc slows the decode,
# so the time allowed per byte is generous; a quadratic or exponential input still breaks it).
CBOR_BYTES_PER_BYTE = 200
CBOR_FIXED_BYTES = 64 * 1024
CBOR_SECONDS_PER_BYTE = 20e-6
CBOR_FIXED_SECONDS = 0.02


def _check_credential(data: bytes) -> None:
    read_credential(data)


def _check_cbor(data: bytes) -> None:
    """Strict decoding allocates O(n) and finishes in O(n), whatever the n bytes hold."""
    if not data:
        return
    tracemalloc.start()
    started = time.process_time()
    try:
        cbor.decode(data, tags=frozenset({18}), max_size=wire.MAX_BUNDLE_SIZE)
    except pp.DppError:
        pass
    finally:
        elapsed = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    if peak > CBOR_BYTES_PER_BYTE * len(data) + CBOR_FIXED_BYTES:
        raise AssertionError(f"decoding {len(data)} bytes allocated {peak} bytes")
    if elapsed > CBOR_FIXED_SECONDS + CBOR_SECONDS_PER_BYTE * len(data):
        raise AssertionError(f"decoding {len(data)} bytes took {elapsed:.3f} s of CPU")


TARGETS: dict[str, Callable[[bytes], None]] = {
    "bundle": _check_bundle,
    "verify": _check_verify,
    "open": _check_open,
    "disclosure": _check_disclosure,
    "event": _check_event,
    "note": _check_note,
    "qr": _check_qr,
    "cbor": _check_cbor,
    "credential": _check_credential,
}


def run_one(target: str, data: bytes) -> None:
    """Feed one input; raise AssertionError (with the input saved) if the property breaks."""
    started = time.perf_counter()
    try:
        TARGETS[target](data)
    except pp.DppError:
        pass  # the one acceptable way to refuse
    except BaseException as error:
        _save(target, data)
        raise AssertionError(f"{target}: {type(error).__name__}: {error}") from error
    elapsed = time.perf_counter() - started
    if elapsed > TIME_LIMIT_S:
        _save(target, data)
        raise AssertionError(f"{target}: one input took {elapsed:.2f} s")
    if _rss_mb() > MEMORY_LIMIT_MB:
        _save(target, data)
        raise AssertionError(f"{target}: memory grew past {MEMORY_LIMIT_MB} MB")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _save(target: str, data: bytes) -> Path:
    folder = CRASHES / target
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    return path


def prepare() -> dict[str, list[bytes]]:
    """Make the seeds and remember how each genuine bundle verifies."""
    seeds = _seeds()
    for data in seeds["bundle"]:
        report = pp.verify(data, _STATE["trust"], now=NOW)
        if report and report.pid is not None:
            _ORIGINALS.setdefault(report.pid, set()).add(_story(report))
    for data in seeds["open"]:
        _OPENED.update(
            _opened(pp.verify(data, _STATE["trust"], now=NOW, open_with=[_STATE["opener"]]))
        )
    if not _OPENED:
        raise AssertionError("the demo's sealed bundle opened to nothing: no seed for 'open'")
    return seeds


def mutate(data: bytes, rng: random.Random, pool: list[bytes]) -> bytes:
    """One structured or blind change: bit flips, byte edits, splices, CBOR-ish head edits."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 3, 8))):
        if not out:
            out.append(rng.randrange(256))
        choice = rng.randrange(7)
        at = rng.randrange(len(out))
        if choice == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif choice == 1:
            out[at] = rng.choice(
                (
                    0x00,
                    0x17,
                    0x18,
                    0x19,
                    0x1A,
                    0x1B,
                    0x5F,
                    0x9F,
                    0xBF,
                    0xF9,
                    0xFB,
                    0xFF,
                    0xD2,
                    0xC1,
                    0xD8,  # a tag of one more byte: 25 (string reference), 28/29 (sharing)
                    0xD9,
                    0x80,
                    0xA0,
                    rng.randrange(256),
                )
            )
        elif choice == 2:
            del out[at : at + rng.randrange(1, 9)]
        elif choice == 3:
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif choice == 4:
            other = rng.choice(pool)
            start = rng.randrange(len(other))
            out[at : at + rng.randrange(1, 64)] = other[start : start + rng.randrange(1, 64)]
        elif choice == 5:
            del out[at:]
        else:
            out[at:at] = out[at : at + rng.randrange(1, 32)]  # duplicate a run
    return bytes(out)


def fuzz_mutate(target: str, seconds: float, seed: int = 0) -> int:
    """Pure-Python mutation fuzzing for ``seconds``; returns how many inputs ran."""
    seeds = prepare()[target]
    rng = random.Random(seed)
    deadline, count = time.monotonic() + seconds, 0
    for data in seeds:
        run_one(target, data)
    while time.monotonic() < deadline:
        run_one(target, mutate(rng.choice(seeds), rng, seeds))
        count += 1
    return count


def fuzz_atheris(target: str, seconds: float) -> None:
    """Coverage-guided fuzzing with atheris/libFuzzer, seeded with the demo's files.

    Only ``passport`` is instrumented (see ``tests/fuzz/atheris_main.py``): it is the code under
    test, and instrumenting every library would cost more time than it finds.
    """
    import atheris

    seeds = prepare()[target]
    corpus = Path(tempfile.mkdtemp(prefix=f"dpp-fuzz-{target}-"))
    for i, data in enumerate(seeds):
        (corpus / f"seed-{i}").write_bytes(data)
    argv = [
        sys.argv[0],
        str(corpus),
        f"-max_total_time={int(seconds)}",
        "-max_len=65536",
        f"-rss_limit_mb={MEMORY_LIMIT_MB * 2}",
        "-timeout=5",
        "-print_final_stats=1",
    ]
    atheris.Setup(argv, lambda data: run_one(target, data))
    atheris.Fuzz()


def _has_atheris() -> bool:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    """Command line: choose a target, a duration and an engine."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("target", choices=[*TARGETS, "all"])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--engine", choices=["atheris", "mutate"], default=None)
    args = parser.parse_args()
    targets = list(TARGETS) if args.target == "all" else [args.target]
    engine = args.engine or ("atheris" if _has_atheris() and len(targets) == 1 else "mutate")
    if engine == "atheris":
        # A fresh process, so passport is imported under atheris's instrumentation.
        command = [sys.executable, "-m", "tests.fuzz.atheris_main", targets[0], str(args.seconds)]
        sys.exit(subprocess.run(command, check=False).returncode)
    for target in targets:
        count = fuzz_mutate(target, args.seconds / len(targets))
        print(f"{target}: {count} inputs, property held")


if __name__ == "__main__":
    main()
