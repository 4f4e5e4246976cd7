"""Check a whole ledger: every chain re-verified, every record re-checked, on all cores.

Passports are verified in chunks, and the transparency log is rehashed from the events in
spans beside them, by ``jobs`` processes: this one and ``jobs - 1`` workers, each opening the
file itself. The report is the same whatever the number of jobs. The result lists problems
per passport (nothing is repaired: an auditor reads the report).
"""

from __future__ import annotations

import os
import signal
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Final

import passport as pp
from passport import wire
from passport.checkpoint import verify_checkpoint
from passport.keyring import Keyring

from .errors import NotALedgerError, WorkerError
from .store import Ledger, gtin_key

CHUNK: Final = 256
LOG_SPAN: Final = 1 << 16  # events rehashed by one task (a multiple of the log's block)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Problem:
    """One thing wrong: which passport (None for the ledger as a whole) and what."""

    pid: bytes | None
    message: str


# A task: a function run in some process, its arguments, and how many passports it checks.
Task = tuple[Callable[..., tuple[int, list[Problem]]], tuple[object, ...], int]


@dataclass(frozen=True)
class CheckReport:
    """The outcome of a whole-ledger check."""

    passports: int
    events: int
    problems: tuple[Problem, ...]
    jobs: int

    def __bool__(self) -> bool:
        return not self.problems


def check_ledger(
    path: Path | str,
    *,
    jobs: int | None = None,
    now: int | None = None,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> CheckReport:
    """Verify every passport in the ledger at ``path`` with ``jobs`` processes (default: all cores).

    ``progress`` is called with (passports checked, passports in all).
    """
    path = Path(path)
    jobs = max(1, jobs or os.cpu_count() or 1)
    with Ledger.open(path) as ledger:
        now = ledger.clock() if now is None else now
        try:
            problems = _ledger_wide(ledger)
            pids = [row[0] for row in ledger.db.execute("SELECT pid FROM chains WHERE seq = 0")]
            size = ledger.log.size()
        except sqlite3.DatabaseError as exc:  # a table dropped or mangled outside the ledger
            raise NotALedgerError(f"{path}: not a usable ledger file ({exc})") from exc
    chunks = [pids[i : i + chunk] for i in range(0, len(pids), chunk)]
    spans = [(start, start + LOG_SPAN) for start in range(0, size, LOG_SPAN)]
    tasks: list[Task] = [(_log_span_task, (path, start, end), 0) for start, end in spans] + [
        (check_passports, (path, part, now), len(part)) for part in chunks
    ]
    events, done = 0, 0
    found: dict[int, list[Problem]] = {}

    def record(index: int, result: tuple[int, list[Problem]], passports: int) -> None:
        nonlocal events, done
        events, done = events + result[0], done + passports
        found[index] = result[1]
        if progress is not None and passports:
            progress(done, len(pids))

    if jobs == 1 or len(tasks) <= 1:
        for index, (task, args, passports) in enumerate(tasks):
            record(index, task(*args), passports)
    else:
        _in_parallel(tasks, jobs, record)
    # The same report whatever the number of jobs: passports in order, then the log.
    order = sorted(found, key=lambda i: (tasks[i][0] is _log_span_task, i))
    problems += [problem for index in order for problem in found[index]]
    return CheckReport(len(pids), events, tuple(problems), jobs)


def _in_parallel(
    tasks: Sequence[Task], jobs: int, record: Callable[[int, tuple[int, list[Problem]], int], None]
) -> None:
    """Run ``tasks`` on ``jobs - 1`` workers from the front and in this process from the back.

    This process works while the workers start (a fresh interpreter spends about half a second
    importing the package). Workers are handed a few tasks at a time, never the last one, so
    this process always has work and no queued task ever has to be taken back.

    Raises:
        WorkerError: a worker stopped (killed, out of memory, failed to start) before finishing.
    """
    workers = jobs - 1
    front, back = 0, len(tasks)
    running: dict[Future[tuple[int, list[Problem]]], int] = {}
    try:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=_worker_start
        ) as pool:

            def hand_out() -> None:
                nonlocal front
                while len(running) < 2 * workers and back - front > 1:
                    task, args, _ = tasks[front]
                    running[pool.submit(task, *args)] = front
                    front += 1

            def collect(timeout: float | None) -> None:
                done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    index = running.pop(future)
                    record(index, future.result(), tasks[index][2])

            try:
                with _signals_held():  # the first tasks start the workers
                    hand_out()
                while front < back:
                    back -= 1
                    task, args, passports = tasks[back]
                    record(back, task(*args), passports)
                    collect(0)
                    hand_out()
                while running:
                    collect(None)
            except BaseException:
                # Failing or interrupted here: don't wait for the workers' queued tasks first.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    except BrokenProcessPool:
        raise WorkerError(
            "a check process stopped before finishing its share (killed, out of memory, or "
            "failed to start); nothing was concluded: run the check again, or with one job"
        ) from None


_STOPPING: Final = frozenset({signal.SIGINT, signal.SIGTERM})


@contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM while worker processes start; they arrive right after.

    A start cut short leaves a child reading its orders from a parent that has gone, and the
    child prints a traceback on the terminal the user is looking at.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _worker_start() -> None:
    # Ctrl-C reaches every process on the terminal: the check's own process answers it and
    # stops the workers, so a worker ignores it rather than print a traceback. The worker was
    # started under the held mask: let SIGTERM through again.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)


def _log_span_task(path: Path, start: int, end: int) -> tuple[int, list[Problem]]:
    return 0, check_log_span(path, start, end)


def _ledger_wide(ledger: Ledger) -> list[Problem]:
    problems = []
    result = ledger.db.execute("PRAGMA integrity_check").fetchall()
    if [tuple(r) for r in result] != [("ok",)]:
        problems.append(Problem(None, f"SQLite integrity check: {result[0][0]}"))
    trust = ledger.trust()
    for (raw,) in ledger.db.execute("SELECT cose FROM certs"):
        try:
            cert = wire.parse_certificate(raw)
            if Keyring(trust).add_certificates([cert]):
                problems.append(
                    Problem(None, f"certificate '{cert.name}': its root is no longer trusted")
                )
        except pp.DppError as exc:
            problems.append(Problem(None, f"stored certificate: {exc}"))
    for (raw,) in ledger.db.execute("SELECT cose FROM revocations"):
        try:
            Keyring(trust).add_revocations([wire.parse_revocations(raw)])
        except pp.DppError as exc:
            problems.append(Problem(None, f"stored revocation list: {exc}"))
    problems += [Problem(None, m) for m in ledger.disclosures.problems()]
    return problems + _index_problems(ledger) + _log_problems(ledger)


def _index_problems(ledger: Ledger) -> list[Problem]:
    """Each event is in exactly one chain; each passport has one identifier row."""
    (events,) = ledger.db.execute("SELECT count(*) FROM events").fetchone()
    chains, distinct, firsts, later = ledger.db.execute(
        "SELECT count(*), count(DISTINCT idx), sum(seq = 0), sum(seq > 0) FROM chains"
    ).fetchone()
    (passports,) = ledger.db.execute("SELECT count(DISTINCT first) FROM passports").fetchone()
    (identifiers,) = ledger.db.execute("SELECT count(*) FROM passports").fetchone()
    (hashes,) = ledger.db.execute("SELECT count(*) FROM event_hashes").fetchone()
    (orphans,) = ledger.db.execute(
        "SELECT count(*) FROM chains c WHERE c.seq > 0 AND NOT EXISTS "
        "(SELECT 1 FROM chains f WHERE f.pid = c.pid AND f.seq = 0)"
    ).fetchone()
    found = []
    if not events == chains == distinct:
        found.append(f"{events} stored events but {distinct} of them in chains ({chains} rows)")
    if not (firsts or 0) == passports == identifiers:
        found.append(f"{firsts or 0} chains but {identifiers} passport rows for {passports} events")
    if orphans:
        found.append(f"{orphans} events in chains that have no first event")
    if hashes != (later or 0):
        found.append(f"{later or 0} later events but {hashes} event hashes indexed")
    return [Problem(None, f"the ledger's index: {m}") for m in found]


def _log_problems(ledger: Ledger) -> list[Problem]:
    """The log holds the stored events, its nodes form a tree, and it matches its checkpoints.

    The events under each stored block are rehashed by :func:`check_log_span`.
    """
    problems = []
    events = ledger.counts()["events"]
    size = ledger.log.size()
    if size != events:
        problems.append(
            Problem(
                None,
                f"the transparency log holds {size} leaves for {events} "
                "stored events: an event was dropped or added outside it",
            )
        )
    problems += [Problem(None, m) for m in (*ledger.log.shape(), *ledger.log.audit_nodes())]
    logs = ledger.trust().logs
    for checkpoint_size, note in ledger.db.execute("SELECT size, note FROM checkpoints"):
        try:
            checkpoint = verify_checkpoint(note, logs)
            if checkpoint.size != checkpoint_size or checkpoint.size > size:
                raise pp.errors.LogError(f"the log no longer reaches size {checkpoint.size}")
            if ledger.log.root(checkpoint.size) != checkpoint.root:
                raise pp.errors.LogError("the log's root differs from the signed one")
        except pp.DppError as exc:
            problems.append(Problem(None, f"checkpoint at size {checkpoint_size}: {exc}"))
    return problems


def check_log_span(path: Path, start: int, end: int) -> list[Problem]:
    """Rehash the events of log indexes ``[start, end)`` against the log's stored blocks."""
    with Ledger.open(path) as ledger:
        try:
            return [Problem(None, m) for m in ledger.log.audit_blocks(start, end)]
        except (pp.DppError, sqlite3.Error) as exc:
            return [Problem(None, f"the log's events {start}-{end - 1}: {exc}")]


def check_passports(path: Path, pids: Sequence[bytes], now: int) -> tuple[int, list[Problem]]:
    """Verify the passports ``pids`` (a worker's chunk); return (events checked, problems)."""
    problems: list[Problem] = []
    events = 0
    with Ledger.open(path) as ledger:
        trust, known = ledger.trust(), ledger.revocations()
        for pid in pids:
            try:
                events += _check_one(ledger, bytes(pid), trust, known, now)
            except (pp.DppError, sqlite3.Error) as exc:
                problems.append(Problem(bytes(pid), str(exc)))
    return events, problems


def _check_one(
    ledger: Ledger, pid: bytes, trust: pp.TrustStore, known: Sequence[pp.RevocationList], now: int
) -> int:
    rows = ledger.db.execute(
        "SELECT c.seq, c.idx, e.cose FROM chains c LEFT JOIN events e ON e.idx = c.idx "
        "WHERE c.pid = ? ORDER BY c.seq",
        [pid],
    ).fetchall()
    for expected, (seq, idx, cose) in enumerate(rows):
        if seq != expected:
            raise pp.ChainError(f"the passport's chain has no event {expected}")
        if cose is None:
            raise pp.ChainError(f"event {seq} is missing from log index {idx - 1}")
    bundle = ledger.bundle(pid)  # the same rows, parsed, with what verifies them
    for (seq, idx, _), event in zip(rows, bundle.events, strict=True):
        if (event.pid, event.seq) != (pid, seq):
            raise pp.ChainError(f"event {seq}: its index row does not match its signed bytes")
        if seq > 0 and ledger.db.execute(
            "SELECT idx FROM event_hashes WHERE hash = ?", [event.hash]
        ).fetchone() != (idx,):
            raise pp.ChainError(f"event {seq}: its hash is not indexed at its log index")
    report = pp.verify(bundle, trust, now=now, known_revocations=known)
    if not report:
        failure = report.failures[0]
        raise pp.DppError(f"{failure.name}: {failure.detail}")
    if (
        ledger.db.execute(
            "SELECT 1 FROM passports WHERE gtin = ? AND serial = ? AND first = ?",
            [gtin_key(str(report.gtin)), report.serial, rows[0][1]],
        ).fetchone()
        is None
    ):
        raise pp.ChainError("the passport's identifier row does not match its chain")
    return len(rows)
