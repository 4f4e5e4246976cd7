"""``dpp bench``: speed measured against this machine's own limits, never guessed.

The primitive ceiling is what one event costs in the building blocks alone (Ed25519 on the
fastest library present, SHA-256, ``cbor2.dumps`` of a map already in order, an SQLite
insert); the real paths are compared with it as ratios, which travel between machines. Each
ratio is taken on CPU time, ceiling and path timed in turns, and reported as the median of the
turns' ratios with their range; a run whose turns disagree, or whose ratio cannot be (a path
faster than its ceiling), is flagged noisy (see :mod:`ledger.bench_timing`).

Start-up figures are in :mod:`ledger.bench_startup`; the 10^7-event audit, a long run of its
own, in :mod:`ledger.bench_audit`. A bench of another storage (``--ledger``) belongs in a
module of its own beside these.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from threading import BrokenBarrierError
from typing import Any, Final

import cbor2

from dpp_ledger import passport as pp
from dpp_ledger.passport import _ed25519, cbor
from dpp_ledger.passport.cose import Sign1, sig_structure
from dpp_ledger.passport.keyring import Keyring
from dpp_ledger.passport.keys import PublicKey

from . import bench_startup
from .bench_restricted import measure as measure_restricted
from .bench_timing import Timing, clocked, ratio_notes, spread, timing_spread
from .bulk import issue_many
from .check import check_ledger
from .demo import sample_brand, sample_product
from .errors import WorkerError
from .log import MerkleLog
from .storage import Storage
from .storage.sqlite import SqliteStorage
from .store import Ledger

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Figure:
    """A measured quantity: median, min and max over the repetitions."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, samples: list[float]) -> Figure:
        """The median, min and max of ``samples``."""
        return cls(statistics.median(samples), min(samples), max(samples))

    def as_dict(self) -> dict[str, float]:
        """The figure as JSON-ready numbers."""
        return {"median": self.median, "min": self.low, "max": self.high}


def _product(i: int, run: int) -> dict[str, Any]:
    return sample_product(i, f"B{run}-{i}")


# The primitives an issued event costs at least, and those the issue ceiling adds up.
ISSUE_PARTS: Final = ("sign", "hash", "encode", "insert")


class _Bench:
    def __init__(self, directory: Path, say: Progress) -> None:
        self.say = say
        self.path = directory / "bench.db"
        self.brand, self.factory, self.shop = (pp.SigningKey.generate() for _ in range(3))
        self.owners = [pp.SigningKey.generate() for _ in range(2)]
        self.ledger = Ledger.create(self.path)
        now = int(time.time())
        sample_brand(
            self.ledger,
            self.brand,
            [(self.factory, "Atelier", "factory"), (self.shop, "Boutique", "retailer")],
            now=now,
            lasts=86_400 * 365,
        )
        self.ledger.checkpoints.set_log("bench.example/log", pp.SigningKey.generate())
        self.now = now
        self.primitives = _Primitives(self.factory, self.now)

    def issue_turn(self, items: int, turn: int) -> tuple[Timing, list[bytes]]:
        """One turn of the real issuance path, per event; and the passports it issued."""
        batch = [_product(i, turn) for i in range(items)]
        pids: list[bytes] = []

        def issue() -> None:
            summary = issue_many(self.ledger, self.factory, batch, time=self.now, batch_size=1000)
            pids.extend(pid for _, pid in summary.issued)

        spent = clocked(issue).per(items)
        self.say(f"issued {items} passports ({1 / spent.wall:,.0f} events/s)")
        return spent, pids

    def issue_in_memory(self, items: int, turn: int) -> Timing:
        """Per event: validating, encoding and signing in memory (``pp.issue``) alone."""
        batch = [_product(i, -2 - turn) for i in range(items)]
        return clocked(lambda: [pp.issue(self.factory, p, time=self.now) for p in batch]).per(items)

    def extend(self, pids: list[bytes]) -> None:
        """Sell and resell some items so verified bundles look like real ones (3 events)."""
        for pid in pids:
            head = self.ledger.chain(pid)[-1]
            first, second = self.owners
            sale = pp.sign_event(
                self.shop,
                "sale",
                {"owner": first.kid.hex(), "channel": "boutique"},
                time=self.now,
                after=head,
            )
            self.ledger.append(sale, keys=[first.public_key])
            resale = pp.sign_event(
                first, "resale", {"to": second.kid.hex()}, time=self.now, after=sale
            )
            self.ledger.append(resale, keys=[second.public_key])

    def proofs(self, events: int, repeat: int) -> dict[str, Figure]:
        """Proof times on a scratch log of ``events`` leaves, in its own temporary file.

        The scratch log never enters the ledger file, so it cannot distort the storage figure.
        """
        scratch = self.path.with_name("proofs.db")
        database = SqliteStorage.open(scratch, create=True)
        try:
            return self._proofs(database, events, repeat)
        finally:
            database.close()
            for suffix in ("", "-wal", "-shm"):
                scratch.with_name(scratch.name + suffix).unlink(missing_ok=True)

    def _proofs(self, database: Storage, events: int, repeat: int) -> dict[str, Figure]:
        record = len(pp.issue(self.factory, _product(0, -1), time=self.now).raw)
        log, append_rate = scratch_log(database, events, record)
        self.say(f"log of {events:,} events of {record} bytes built ({append_rate:,.0f} appends/s)")
        step = max(1, events // 101)
        targets = list(range(1, events, step))[:100]
        inclusion = [
            t * 1000
            for t in _timed_each([partial(log.inclusion, i, events) for i in targets], repeat)
        ]
        consistency = [
            t * 1000
            for t in _timed_each([partial(log.consistency, i, events) for i in targets], repeat)
        ]
        return {
            "inclusion_ms": Figure.of(inclusion),
            "consistency_ms": Figure.of(consistency),
            "log_append_per_s": Figure.of([append_rate]),
        }

    def storage(self) -> tuple[float, float]:
        """Bytes per event of the ledger file after a checkpoint of the WAL, as it lies on disk.

        Also the same once compacted (``VACUUM INTO`` a copy; the ledger is left as it is), so
        the difference shows the free space inside pages that appends leave behind.
        """
        events = self.ledger.counts()["events"]
        self.ledger.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        on_disk = self.path.stat().st_size / events
        compacted = self.path.with_name("vacuumed.db")
        self.ledger.db.execute("VACUUM INTO ?", [str(compacted)])
        vacuumed = compacted.stat().st_size / events
        compacted.unlink()
        return on_disk, vacuumed


class _Primitives:
    """The building blocks alone, on the fastest Ed25519 library present (libsodium if any)."""

    def __init__(self, signer: pp.SigningKey, now: int) -> None:
        event = pp.issue(signer, _product(0, -1), time=now)
        # The payload decoded is a map already in deterministic order: cbor2.dumps of it is
        # the least any deterministic encoder can cost.
        self.payload = cbor.decode(event.record.payload)
        self.message = sig_structure(event.record.protected, event.record.payload)
        self.backend = _ed25519.BACKENDS[_ed25519.DEFAULT]
        self.sign = self.backend.signer(signer.seed(), signer.public_key.raw)
        self.signature = self.sign(self.message)
        self.public = signer.public_key.raw
        self.raw = event.raw
        self.conn = sqlite3.connect(":memory:")
        self.conn.execute("CREATE TABLE t (idx INTEGER PRIMARY KEY, cose BLOB NOT NULL)")

    def turn(self, count: int) -> dict[str, Timing]:
        """One turn of each primitive over ``count`` events, per event."""
        row = (self.raw,)

        def insert() -> None:
            self.conn.execute("BEGIN")
            self.conn.executemany("INSERT INTO t (cose) VALUES (?)", [row] * count)
            self.conn.execute("COMMIT")

        verify, sign, message = self.backend.verify, self.sign, self.message
        actions: dict[str, Callable[[], object]] = {
            "sign": lambda: [sign(message) for _ in range(count)],
            "verify": lambda: [verify(self.public, self.signature, message) for _ in range(count)],
            "hash": lambda: [hashlib.sha256(self.raw).digest() for _ in range(count)],
            "encode": lambda: [cbor2.dumps(self.payload) for _ in range(count)],
            "insert": insert,
        }
        return {name: clocked(action).per(count) for name, action in actions.items()}


@dataclass(frozen=True)
class _VerifySet:
    """Bundles to verify, their trust store, and each event record with its key and message."""

    bundles: list[bytes]
    trust: pp.TrustStore
    signed: list[tuple[Sign1, PublicKey]]
    now: int

    def turn(self, backend: _ed25519.Backend) -> dict[str, Timing]:
        """One turn, per event: the raw library verify (the ceiling), then the real path."""
        count = len(self.signed)
        raw = [
            (key.raw, record.signature, sig_structure(record.protected, record.payload))
            for record, key in self.signed
        ]

        def ceiling() -> None:
            for public, signature, message in raw:
                backend.verify(public, signature, message)

        def signatures() -> None:
            for record, key in self.signed:
                record.verify(key)

        def whole() -> None:
            for data in self.bundles:
                if not pp.verify(data, self.trust, now=self.now):
                    raise pp.DppError("a benchmark bundle did not verify")

        return {
            "ceiling": clocked(ceiling).per(count),
            "parse": clocked(lambda: [pp.parse_bundle(b) for b in self.bundles]).per(count),
            "signatures": clocked(signatures).per(count),
            "whole": clocked(whole).per(count),
        }


def signed_records(bundles: Sequence[bytes], trust: pp.TrustStore) -> list[tuple[Sign1, PublicKey]]:
    """Every event record in ``bundles`` with the key that signed it, as a verifier finds it."""
    signed = []
    for bundle in map(pp.parse_bundle, bundles):
        keyring = Keyring(trust)
        keyring.add_certificates(bundle.certs)
        keyring.add_keys(bundle.keys)
        for event in bundle.events:
            key = keyring.public_key(event.signer)
            if key is None:
                raise pp.DppError("a benchmark bundle names a signer it does not carry")
            signed.append((event.record, key))
    return signed


def synthetic_record(index: int, size: int) -> bytes:
    """The stand-in for event ``index`` in a scratch log: ``size`` bytes, distinct per index."""
    return index.to_bytes(8, "big").ljust(size, b"\xa5")


def scratch_log(database: Storage, events: int, record: int) -> tuple[MerkleLog, float]:
    """Fill a scratch ledger's events with synthetic records and build its log on them.

    Events go in as issuance stores them (batches of 1000, each one transaction, the log
    appended after its events), so proofs rehash real rows. Returns the log and how many
    events per second its appends took (the inserts of the records themselves not counted).
    """
    log = MerkleLog(database)
    spent = 0.0
    for start in range(0, events, 1000):
        stop = min(start + 1000, events)
        rows = [(i + 1, synthetic_record(i, record)) for i in range(start, stop)]
        with database.write():
            database.executemany("INSERT INTO events (idx, cose) VALUES (?, ?)", rows)
            started = time.perf_counter()
            log.append([pp.merkle.leaf_hash(cose) for _, cose in rows])
            spent += time.perf_counter() - started
    return log, events / spent if spent else 0.0


def parallel_ceiling(jobs: int, count: int = 3000) -> float:
    """How many times one process's work ``jobs`` processes do at once on this machine.

    The same primitives a check spends its time in (Ed25519 verify, CBOR encode), timed alone
    and then in ``jobs`` processes released together by a barrier. On a machine whose cores
    are shared or throttled this is below ``jobs``, and no real parallel path can beat it.
    """
    if jobs == 1:
        return 1.0
    alone = min(_kernel(count) for _ in range(2))
    context = get_context("spawn")
    barrier = context.Barrier(jobs)
    with ProcessPoolExecutor(
        jobs, mp_context=context, initializer=_join, initargs=(barrier,)
    ) as pool:
        # Each process takes one task and holds it at the barrier, so each runs exactly one.
        futures = [pool.submit(_kernel_together, count) for _ in range(jobs)]
        try:
            together = [future.result() for future in futures]
        except (BrokenProcessPool, BrokenBarrierError):
            barrier.abort()  # release the processes still waiting for the one that died
            raise WorkerError(
                "a benchmark process stopped before finishing (killed, out of memory, or "
                "failed to start); run the benchmark again"
            ) from None
    return jobs * alone / max(together)


_barrier: Any = None


def _join(barrier: Any) -> None:
    global _barrier  # noqa: PLW0603 - one per pool process, set once at its start
    _barrier = barrier


def _kernel_together(count: int) -> float:
    _kernel(count // 10)  # warm, while the slower processes still import
    _barrier.wait(timeout=_BARRIER_TIMEOUT)
    return _kernel(count)


_BARRIER_TIMEOUT: Final = 300.0  # seconds a process waits for the slowest to start


def _kernel(count: int) -> float:
    key = pp.SigningKey.generate()
    message = cbor.encode(sample_product(1, "P-1"))
    signature, public = key.sign(message), key.public_key
    payload = sample_product(2, "P-2")
    started = time.perf_counter()
    for _ in range(count):
        public.verify(signature, message)
        cbor.encode(payload)
    return time.perf_counter() - started


def _timed_each(actions: Sequence[Callable[[], object]], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        for action in actions:
            started = time.perf_counter()
            action()
            samples.append(time.perf_counter() - started)
    return samples


def environment() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions: dict[str, str | None] = {}
    for package in ("cryptography", "cbor2", "jsonschema", "sqlite-utils"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "libraries": versions,
    }


@dataclass
class _IssueTurns:
    """Per turn: the primitives (per event), the real path, and issuing in memory alone."""

    ceilings: list[dict[str, Timing]] = field(default_factory=list)
    path: list[Timing] = field(default_factory=list)
    memory: list[Timing] = field(default_factory=list)
    pids: list[bytes] = field(default_factory=list)

    def ratios(self) -> list[float]:
        """Per turn: the issue ceiling's CPU time over the real path's, per event."""
        return [
            sum(ceiling[k].cpu for k in ISSUE_PARTS) / path.cpu
            for ceiling, path in zip(self.ceilings, self.path, strict=True)
        ]


def _issue_turns(bench: _Bench, items: int, repeat: int) -> _IssueTurns:
    turns = _IssueTurns()
    for turn in range(repeat):
        turns.ceilings.append(bench.primitives.turn(min(items, 2000)))
        spent, pids = bench.issue_turn(items, turn)
        turns.path.append(spent)
        turns.pids += pids
        turns.memory.append(bench.issue_in_memory(min(items, 2000), turn))
    return turns


def _verify_set(bench: _Bench, pids: list[bytes], items: int) -> _VerifySet:
    sample = pids[: min(len(pids), max(50, items // 20))]
    bench.extend(sample)
    bundles = [bench.ledger.export(pid) for pid in sample]
    trust = bench.ledger.trust()
    return _VerifySet(bundles, trust, signed_records(bundles, trust), bench.now + 60)


def _check_turns(path: Path, jobs: int, repeat: int, say: Progress) -> dict[str, Any]:
    """The ledger checked with 1 and ``jobs`` processes, and the parallel ceiling, in turns."""
    turns = [
        (
            clocked(lambda: check_ledger(path, jobs=1)),
            clocked(lambda: check_ledger(path, jobs=jobs)),
            parallel_ceiling(jobs),
        )
        for _ in range(repeat)
    ]
    speedups = [one.wall / many.wall for one, many, _ in turns]
    ceiling = statistics.median(parallel for _, _, parallel in turns)
    say(
        f"checked the ledger with 1 and {jobs} processes: speed-up "
        f"{statistics.median(speedups):.2f}, where {jobs} processes do at best {ceiling:.2f} "
        "times the work of one"
    )
    notes = ratio_notes("check_speedup", speedups, ceiling=min(jobs, ceiling))
    return {
        "speedup": speedups,
        "parallel": [parallel for _, _, parallel in turns],
        "one": [one for one, _, _ in turns],
        "many": [many for _, many, _ in turns],
        "notes": notes,
    }


def run(
    *,
    items: int,
    events: int,
    jobs: int | None,
    repeat: int,
    say: Progress,
    dpp: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run every measurement on a fresh temporary ledger and return the results.

    ``dpp`` is how to start the command (for its start-up figures); None skips them.
    """
    jobs = jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="dpp-bench-") as directory:
        bench = _Bench(Path(directory), say)
        try:
            issued = _issue_turns(bench, items, repeat)
            say("timed issuance and its ceiling in turns")
            verifying = _verify_set(bench, issued.pids, items)
            verified = [verifying.turn(bench.primitives.backend) for _ in range(repeat)]
            say(f"verified {len(verifying.bundles)} bundles")
            restricted = measure_restricted(min(items, 300), repeat)
            say("timed sealing and opening restricted fields")
            bench.ledger.checkpoints.sign()
            proofs = bench.proofs(events, repeat)
            bytes_per_event, vacuumed = bench.storage()
        finally:
            bench.ledger.close()
        checked = _check_turns(bench.path, jobs, repeat, say)
        startup = bench_startup.measure(dpp, Path(directory), max(5, 2 * repeat)) if dpp else None
    result = _report(issued, verified, checked, proofs, restricted)
    result["bytes_per_event"] = bytes_per_event
    result["details"]["bytes_per_event_vacuumed"] = vacuumed
    result["startup"] = startup
    if startup is not None:
        result["noisy"] += startup["noisy"]
    result["parameters"] = {
        "items": items,
        "events": events,
        "jobs": jobs,
        "repeat": repeat,
        "verified_bundles": len(verifying.bundles),
    }
    result["environment"] = environment()
    return result


def _report(
    issued: _IssueTurns,
    verified: list[dict[str, Timing]],
    checked: dict[str, Any],
    proofs: dict[str, Figure],
    restricted: dict[str, dict[str, float]],
) -> dict[str, Any]:
    """The figures as JSON: medians of per-turn ratios, with their spread and any noise."""
    issue_ratios = issued.ratios()
    verify_ratios = [t["ceiling"].cpu / t["whole"].cpu for t in verified]
    ceilings = {
        name: timing_spread([turn[name] for turn in issued.ceilings], 1e6)
        for name in issued.ceilings[0]
    }
    notes = ratio_notes("issue_ratio", issue_ratios) + ratio_notes("verify_ratio", verify_ratios)
    other = [(t["whole"].cpu - t["parse"].cpu - t["signatures"].cpu) * 1e6 for t in verified]
    if min(other) < 0:
        notes.append("verify breakdown: a turn's parts took longer than the whole")
    issue_ceiling = [1 / sum(c[k].cpu for k in ISSUE_PARTS) for c in issued.ceilings]
    return {
        "issue_eps": statistics.median(1 / t.wall for t in issued.path),
        "issue_ratio": statistics.median(issue_ratios),
        "verify_eps": statistics.median(1 / t["whole"].wall for t in verified),
        "verify_ratio": statistics.median(verify_ratios),
        "check_speedup": statistics.median(checked["speedup"]),
        # What ``jobs`` processes do at best here: the ceiling check_speedup is measured against.
        "parallel_ceiling": statistics.median(checked["parallel"]),
        "inclusion_proof_ms": proofs["inclusion_ms"].median,
        "consistency_proof_ms": proofs["consistency_ms"].median,
        # Per event, CPU time (µs), each primitive alone, on the fastest Ed25519 library.
        "ceilings_us": {name: figure["cpu"] for name, figure in ceilings.items()},
        "issue_ceiling_eps": statistics.median(issue_ceiling),
        # Where the time goes, per event (CPU µs): each part timed in the same turn as the
        # whole, the difference taken within the turn, then the median over turns.
        "breakdown_us": {
            "issue": {
                "validate_encode_sign": statistics.median(t.cpu * 1e6 for t in issued.memory),
                "rules_and_store": statistics.median(
                    (path.cpu - memory.cpu) * 1e6
                    for path, memory in zip(issued.path, issued.memory, strict=True)
                ),
            },
            "verify": {
                "parse": statistics.median(t["parse"].cpu * 1e6 for t in verified),
                "signatures": statistics.median(t["signatures"].cpu * 1e6 for t in verified),
                "other_checks": statistics.median(other),
            },
        },
        "verify_ceiling_eps": statistics.median(1 / t["ceiling"].cpu for t in verified),
        # Per event with two fields sealed to one key each, by KEM: sealing on issue and
        # opening on verification, over doing the same in clear.
        "restricted_us": restricted,
        "ratios": {
            "issue_ratio": spread(issue_ratios),
            "verify_ratio": spread(verify_ratios),
            "check_speedup": spread(checked["speedup"]),
        },
        "noisy": notes + checked["notes"],
        "details": {
            "ceilings_us": ceilings,
            "issue_per_event_us": timing_spread(issued.path, 1e6),
            "verify_per_event_us": timing_spread([t["whole"] for t in verified], 1e6),
            "check_1_job_s": timing_spread(checked["one"]),
            "check_jobs_s": timing_spread(checked["many"]),
            "parallel_ceiling": spread(checked["parallel"]),
            **{k: f.as_dict() for k, f in proofs.items()},
        },
    }
