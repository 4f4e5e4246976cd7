"""``dpp bench``: speed measured against this machine's own limits, never guessed.

Each figure is a median over repetitions (with min and max). The primitive ceiling is what
one event costs in the building blocks alone (Ed25519, SHA-256, deterministic CBOR, an SQLite
insert); the real paths are compared with it as ratios, which travel between machines.
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
from dataclasses import dataclass
from functools import partial
from importlib import metadata
from multiprocessing import get_context
from pathlib import Path
from threading import BrokenBarrierError
from typing import Any, Final

from dpp_ledger import passport as pp
from dpp_ledger.passport import cbor
from dpp_ledger.passport.cose import Sign1
from dpp_ledger.passport.keyring import Keyring
from dpp_ledger.passport.keys import PublicKey

from .bench_restricted import measure as measure_restricted
from .bulk import issue_many
from .check import check_ledger
from .demo import sample_product
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


def _timed(action: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def _product(i: int, run: int) -> dict[str, Any]:
    return sample_product(i, f"B{run}-{i}")


class _Bench:
    def __init__(self, directory: Path, say: Progress) -> None:
        self.say = say
        self.path = directory / "bench.db"
        self.brand, self.factory, self.shop = (pp.SigningKey.generate() for _ in range(3))
        self.owners = [pp.SigningKey.generate() for _ in range(2)]
        self.ledger = Ledger.create(self.path)
        self.ledger.records.add_root("Maison Example", self.brand.public_key, ["3614270"])
        now = int(time.time())
        nbf, exp = now - 86_400, now + 86_400 * 365
        for key, name, role in (
            (self.factory, "Atelier", "factory"),
            (self.shop, "Boutique", "retailer"),
        ):
            self.ledger.records.add_certificate(
                pp.delegate(self.brand, key.public_key, name=name, role=role, nbf=nbf, exp=exp)
            )
        self.ledger.checkpoints.set_log("bench.example/log", pp.SigningKey.generate())
        self.now = now

    def ceilings(self, count: int, repeat: int) -> dict[str, Figure]:
        event = pp.issue(self.factory, _product(0, -1), time=self.now)
        payload = cbor.decode(event.record.payload)
        message = pp.cose.sig_structure(event.record.protected, event.record.payload)
        signature = self.factory.sign(message)
        key = self.factory.public_key
        # The row every event is stored as: its COSE bytes under its log index.
        row = (event.raw,)
        conn = sqlite3.connect(":memory:")
        conn.execute("CREATE TABLE t (idx INTEGER PRIMARY KEY, cose BLOB NOT NULL)")

        def insert() -> None:
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO t (cose) VALUES (?)", [row] * count)
            conn.execute("COMMIT")

        per = {
            "sign": lambda: [self.factory.sign(message) for _ in range(count)],
            "verify": lambda: [_verify(key, signature, message) for _ in range(count)],
            "hash": lambda: [hashlib.sha256(event.raw).digest() for _ in range(count)],
            "encode": lambda: [cbor.encode(payload) for _ in range(count)],
            "insert": insert,
        }
        return {
            name: Figure.of([t / count for t in _timed(action, repeat)])
            for name, action in per.items()
        }

    def issue(self, items: int, repeat: int) -> tuple[Figure, list[bytes]]:
        pids: list[bytes] = []
        samples = []
        for run in range(repeat):
            batch = [_product(i, run) for i in range(items)]
            started = time.perf_counter()
            summary = issue_many(self.ledger, self.factory, batch, time=self.now, batch_size=1000)
            samples.append(items / (time.perf_counter() - started))
            pids += [pid for _, pid in summary.issued]
            self.say(f"issued {items} passports ({samples[-1]:,.0f} events/s)")
        return Figure.of(samples), pids

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

    def verify(self, pids: list[bytes], repeat: int) -> Figure:
        bundles = [self.ledger.export(pid) for pid in pids]
        trust = self.ledger.trust()
        events = sum(len(pp.parse_bundle(b).events) for b in bundles)
        now = self.now + 60

        def run() -> None:
            for data in bundles:
                if not pp.verify(data, trust, now=now):
                    raise pp.DppError("a benchmark bundle did not verify")

        return Figure.of([events / t for t in _timed(run, repeat)])

    def verify_parts(self, pids: list[bytes], repeat: int) -> dict[str, float]:
        """Per event (µs): reading the bundle, checking signatures, and every other check."""
        bundles = [self.ledger.export(pid) for pid in pids]
        trust = self.ledger.trust()
        signed = signed_records(bundles, trust)
        count = len(signed)
        now = self.now + 60

        def signatures() -> None:
            for record, key in signed:
                record.verify(key)

        parse = statistics.median(_timed(lambda: [pp.parse_bundle(b) for b in bundles], repeat))
        check = statistics.median(_timed(signatures, repeat))
        whole = statistics.median(
            _timed(lambda: [pp.verify(b, trust, now=now) for b in bundles], repeat)
        )
        return {
            "parse": parse / count * 1e6,
            "signatures": check / count * 1e6,
            "other_checks": (whole - parse - check) / count * 1e6,
        }

    def issue_parts(self, items: int, repeat: int) -> float:
        """Per event (µs): validating, encoding and signing in memory (``pp.issue``) alone."""
        batch = [_product(i, -2) for i in range(items)]
        seconds = statistics.median(
            _timed(lambda: [pp.issue(self.factory, item, time=self.now) for item in batch], repeat)
        )
        return seconds / items * 1e6

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


def _verify(key: pp.PublicKey, signature: bytes, message: bytes) -> bool:
    key.verify(signature, message)
    return True


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


def run(*, items: int, events: int, jobs: int | None, repeat: int, say: Progress) -> dict[str, Any]:
    """Run every measurement on a fresh temporary ledger and return the results."""
    jobs = jobs or os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="dpp-bench-") as directory:
        bench = _Bench(Path(directory), say)
        try:
            ceilings = bench.ceilings(2000, repeat)
            say("primitive ceilings measured")
            issued, pids = bench.issue(items, repeat)
            sample = pids[: min(len(pids), max(50, items // 20))]
            bench.extend(sample)
            verified = bench.verify(sample, repeat)
            verify_parts = bench.verify_parts(sample, repeat)
            issue_in_memory = bench.issue_parts(min(items, 2000), repeat)
            say(f"verified {len(sample)} bundles")
            restricted = measure_restricted(min(items, 300), repeat)
            say("timed sealing and opening restricted fields")
            bench.ledger.checkpoints.sign()
            proofs = bench.proofs(events, repeat)
            bytes_per_event, vacuumed = bench.storage()
        finally:
            bench.ledger.close()
        # Taken in turns, so a machine whose load drifts during the run biases neither side;
        # the speed-up is the median of the ratios of each turn.
        turns = [
            (
                _timed(lambda: check_ledger(bench.path, jobs=1), 1)[0],
                _timed(lambda: check_ledger(bench.path, jobs=jobs), 1)[0],
                parallel_ceiling(jobs),
            )
            for _ in range(repeat)
        ]
        one, many, parallel = (Figure.of(list(column)) for column in zip(*turns, strict=True))
        speedup = statistics.median(alone / together for alone, together, _ in turns)
        say(
            f"checked the ledger with 1 and {jobs} processes: speed-up {speedup:.2f}, where "
            f"{jobs} processes do at best {parallel.median:.2f} times the work of one"
        )
    issue_ceiling = 1 / sum(ceilings[k].median for k in ("sign", "hash", "encode", "insert"))
    return {
        "issue_eps": issued.median,
        "issue_ratio": issued.median / issue_ceiling,
        "verify_eps": verified.median,
        "verify_ratio": verified.median * ceilings["verify"].median,
        "check_speedup": speedup,
        # What ``jobs`` processes do at best here: the ceiling check_speedup is measured against.
        "parallel_ceiling": parallel.median,
        "bytes_per_event": bytes_per_event,
        "inclusion_proof_ms": proofs["inclusion_ms"].median,
        "consistency_proof_ms": proofs["consistency_ms"].median,
        "ceilings_us": {
            k: {n: v * 1e6 for n, v in f.as_dict().items()} for k, f in ceilings.items()
        },
        "issue_ceiling_eps": issue_ceiling,
        # Where the time goes, per event (µs): the profile of each real path, in parts.
        "breakdown_us": {
            "issue": {
                "validate_encode_sign": issue_in_memory,
                "rules_and_store": 1e6 / issued.median - issue_in_memory,
            },
            "verify": verify_parts,
        },
        "verify_ceiling_eps": 1 / ceilings["verify"].median,
        # Per event with two fields sealed to one key each, by KEM: sealing on issue and
        # opening on verification, over doing the same in clear.
        "restricted_us": restricted,
        "details": {
            "issue_eps": issued.as_dict(),
            "verify_eps": verified.as_dict(),
            "check_1_job_s": one.as_dict(),
            f"check_{jobs}_jobs_s": many.as_dict(),
            "parallel_ceiling": parallel.as_dict(),
            "bytes_per_event_vacuumed": vacuumed,
            **{k: f.as_dict() for k, f in proofs.items()},
        },
        "parameters": {
            "items": items,
            "events": events,
            "jobs": jobs,
            "repeat": repeat,
            "verified_bundles": len(sample),
        },
        "environment": environment(),
    }
