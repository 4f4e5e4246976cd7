"""Check a whole ledger: every chain re-verified, every record re-checked, on all cores.

Passports are verified in contiguous ranges of passport ids, each read as one stream of
chain rows in order; the transparency log is rehashed from the events in spans beside them
(which is what proves every stored event is in the log: no proof is made per event); by
``jobs`` processes: this one and ``jobs - 1`` workers, each opening the file itself and
reading the trust store once. Nothing in this process grows with the ledger: a task is a
range, not a list of ids. The report is the same whatever the number of jobs. The result
lists problems per passport (nothing is repaired: an auditor reads the report).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Final

from dpp_ledger import passport as pp
from dpp_ledger.passport import wire
from dpp_ledger.passport.checkpoint import verify_checkpoint
from dpp_ledger.passport.keyring import Keyring

from .errors import NotALedgerError, WorkerError
from .storage import Location, as_location
from .store import Ledger, gtin_key

_LOG = logging.getLogger(__name__)
CHUNK: Final = 1024  # passports per range task: about 0.15 s of work
LOG_SPAN: Final = 1 << 16  # events rehashed by one task (a multiple of the log's block)
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Problem:
    """One thing wrong: which passport (None for the ledger as a whole) and what."""

    pid: bytes | None
    message: str


# What a task found: (events checked, passports checked, problems).
Found = tuple[int, int, list[Problem]]
# A task: a function run in some process, and its arguments.
Task = tuple[Callable[..., Found], tuple[object, ...]]


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
    path: Location,
    *,
    jobs: int | None = None,
    now: int | None = None,
    progress: Progress | None = None,
    chunk: int = CHUNK,
) -> CheckReport:
    """Verify every passport in the ledger at ``path`` with ``jobs`` processes (default: all cores).

    ``progress`` is called with (passports checked, passports in all).
    """
    path = as_location(path) if isinstance(path, str) else path
    jobs = max(1, jobs or os.cpu_count() or 1)
    with Ledger.open(path, read_only=True) as ledger:
        now = ledger.clock() if now is None else now
        try:
            problems = _ledger_wide(ledger)
            (total,) = ledger.db.execute("SELECT count(*) FROM passports").fetchone()
            size = ledger.log.size()
        except ledger.db.driver_errors as exc:  # a table dropped or mangled outside the ledger
            raise NotALedgerError(f"{path}: not a usable ledger file ({exc})") from exc
    spans = [(start, start + LOG_SPAN) for start in range(0, size, LOG_SPAN)]
    tasks: list[Task] = [(_log_span_task, (path, start, end)) for start, end in spans] + [
        (check_pid_range, (path, low, high, now)) for low, high in pid_ranges(total, chunk)
    ]
    events, passports = 0, 0
    found: dict[int, list[Problem]] = {}

    def record(index: int, result: Found) -> None:
        nonlocal events, passports
        events, passports = events + result[0], passports + result[1]
        found[index] = result[2]
        if progress is not None and result[1]:
            progress(passports, max(total, passports))

    if jobs == 1 or len(tasks) <= 1:
        for index, (task, args) in enumerate(tasks):
            record(index, task(*args))
    else:
        _in_parallel(tasks, jobs, record)
    # The same report whatever the number of jobs: passports in order, then the log.
    order = sorted(found, key=lambda i: (tasks[i][0] is _log_span_task, i))
    problems += [problem for index in order for problem in found[index]]
    _LOG.info(
        "checked %d passports, %d events, in %d tasks on %d jobs: %d problems",
        *(passports, events, len(tasks), jobs, len(problems)),
    )
    return CheckReport(passports, events, tuple(problems), jobs)


def pid_ranges(passports: int, chunk: int) -> list[tuple[bytes, bytes | None]]:
    """Contiguous ranges of passport ids, ``[low, high)``, of about ``chunk`` passports each.

    Passport ids are SHA-256 hashes, spread evenly: ranges of their first two bytes split
    them evenly too, however many there are.
    """
    parts = min(1 << 16, max(1, -(-passports // max(1, chunk))))
    bounds = [(i * (1 << 16) // parts).to_bytes(2, "big") for i in range(parts)]
    return [(low, bounds[i + 1] if i + 1 < parts else None) for i, low in enumerate(bounds)]


def _in_parallel(tasks: Sequence[Task], jobs: int, record: Callable[[int, Found], None]) -> None:
    """Run ``tasks`` on ``jobs - 1`` workers from the front and in this process from the back.

    This process works while the workers start (a fresh interpreter spends about half a second
    importing the package). Workers are handed a few tasks at a time, never the last one, so
    this process always has work and no queued task ever has to be taken back.

    Raises:
        WorkerError: a worker stopped (killed, out of memory, failed to start) before finishing.
    """
    workers = jobs - 1
    front, back = 0, len(tasks)
    running: dict[Future[Found], int] = {}
    try:
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=get_context("spawn"), initializer=_worker_start
        ) as pool:

            def hand_out() -> None:
                nonlocal front
                while len(running) < 2 * workers and back - front > 1:
                    task, args = tasks[front]
                    running[pool.submit(task, *args)] = front
                    front += 1

            def collect(timeout: float | None) -> None:
                done, _ = wait(running, timeout=timeout, return_when=FIRST_COMPLETED)
                for future in done:
                    index = running.pop(future)
                    record(index, future.result())

            try:
                with _signals_held():  # the first tasks start the workers
                    hand_out()
                while front < back:
                    back -= 1
                    task, args = tasks[back]
                    record(back, task(*args))
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


def _log_span_task(path: Location, start: int, end: int) -> Found:
    return 0, 0, check_log_span(path, start, end)


def _ledger_wide(ledger: Ledger) -> list[Problem]:
    problems = [Problem(None, m) for m in ledger.db.integrity()]
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
        "SELECT count(*), count(DISTINCT idx), sum(CASE WHEN seq = 0 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN seq > 0 THEN 1 ELSE 0 END) FROM chains"
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


def _failures(ledger: Ledger) -> tuple[type[Exception], ...]:
    """What reading a damaged ledger raises: the project's errors, and the driver's own."""
    return (pp.DppError, *ledger.db.driver_errors)


def check_log_span(path: Location, start: int, end: int) -> list[Problem]:
    """Rehash the events of log indexes ``[start, end)`` against the log's stored blocks."""
    with Ledger.open(path, read_only=True) as ledger:
        try:
            return [Problem(None, m) for m in ledger.log.audit_blocks(start, end)]
        except _failures(ledger) as exc:
            return [Problem(None, f"the log's events {start}-{end - 1}: {exc}")]


def check_pid_range(path: Location, low: bytes, high: bytes | None, now: int) -> Found:
    """Verify every passport whose id is in ``[low, high)``, streaming its chains in order."""
    problems: list[Problem] = []
    events = passports = 0
    with Ledger.open(path, read_only=True) as ledger:
        checker = _ChainChecker(ledger, now)
        try:
            for pid, rows in _chains(ledger, low, high):
                passports += 1
                try:
                    events += checker.check(pid, rows)
                except _failures(ledger) as exc:
                    problems.append(Problem(pid, str(exc)))
        except _failures(ledger) as exc:
            problems.append(Problem(None, f"reading the chains from {low.hex()}: {exc}"))
    return events, passports, problems


_ABOVE_EVERY_PID: Final = b"\xff" * 33  # sorts after every 32-byte passport id
Row = tuple[int, int, bytes | None]  # (seq, log index + 1, COSE bytes or None if missing)


def _chains(ledger: Ledger, low: bytes, high: bytes | None) -> Iterator[tuple[bytes, list[Row]]]:
    """Each passport's chain rows in the range, in order: one query, read once."""
    rows = ledger.db.execute(
        "SELECT c.pid, c.seq, c.idx, e.cose FROM chains c LEFT JOIN events e ON e.idx = c.idx "
        "WHERE c.pid >= ? AND c.pid < ? ORDER BY c.pid, c.seq",
        [low, _ABOVE_EVERY_PID if high is None else high],
    )
    current: bytes | None = None
    chain: list[Row] = []
    for pid, seq, idx, cose in rows:
        if pid != current:
            if current is not None:
                yield current, chain
            current, chain = bytes(pid), []
        chain.append((seq, idx, None if cose is None else bytes(cose)))
    if current is not None:
        yield current, chain


class _ChainChecker:
    """Verifies chains against one ledger; trust, revocations and certificates read once."""

    def __init__(self, ledger: Ledger, now: int) -> None:
        self.ledger = ledger
        self.now = now
        self.trust = ledger.trust()
        self.known = ledger.revocations()
        self.roots = {root.key.kid for root in self.trust.roots}
        self.certs: dict[bytes, list[pp.Certificate]] = {}

    def check(self, pid: bytes, rows: Sequence[Row]) -> int:
        """Verify one chain from its rows; return its number of events.

        Raises:
            DppError: the first thing wrong with it, said as the report says it.
        """
        events = self._events(pid, rows)
        report = pp.verify(
            self._bundle(events), self.trust, now=self.now, known_revocations=self.known
        )
        if not report:
            failure = report.failures[0]
            raise pp.DppError(f"{failure.name}: {failure.detail}")
        identifier = self.ledger.db.execute(
            "SELECT 1 FROM passports WHERE gtin = ? AND serial = ? AND first = ?",
            [gtin_key(str(report.gtin)), report.serial, rows[0][1]],
        ).fetchone()
        if identifier is None:
            raise pp.ChainError("the passport's identifier row does not match its chain")
        return len(rows)

    def _events(self, pid: bytes, rows: Sequence[Row]) -> list[pp.Event]:
        """The chain's events, each where its rows say and indexed under its hash."""
        events = []
        for expected, (seq, idx, cose) in enumerate(rows):
            if seq != expected:
                raise pp.ChainError(f"the passport's chain has no event {expected}")
            if cose is None:
                raise pp.ChainError(f"event {seq} is missing from log index {idx - 1}")
            event = wire.parse_event(cose, what=f"event {seq}")
            if (event.pid, event.seq) != (pid, seq):
                raise pp.ChainError(f"event {seq}: its index row does not match its signed bytes")
            if seq > 0 and self.ledger.db.execute(
                "SELECT idx FROM event_hashes WHERE hash = ?", [event.hash]
            ).fetchone() != (idx,):
                raise pp.ChainError(f"event {seq}: its hash is not indexed at its log index")
            events.append(event)
        return events

    def _bundle(self, events: Sequence[pp.Event]) -> pp.Bundle:
        """The events with the certificates and keys they need (revocations are all known)."""
        certs: dict[bytes, pp.Certificate] = {}
        for signer in {e.signer for e in events} - self.roots:
            found = self.certs.get(signer)
            if found is None:
                found = self.certs[signer] = self.ledger.records.certificates_for(signer)
            certs.update((c.record.digest, c) for c in found)
        carried = {c.subject_kid for c in certs.values()} | self.roots
        keys = []
        for kid in sorted(pp.verify_named_kids(events) - carried):
            raw = self.ledger.records.key(kid)
            if raw is not None:
                keys.append(raw)
        return pp.Bundle(tuple(events), tuple(certs[h] for h in sorted(certs)), tuple(keys))
