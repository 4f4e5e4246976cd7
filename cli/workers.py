"""Several server processes on one listening socket: ``dpp serve --workers N``.

The socket is bound once, then N processes are forked from this one before any of them opens
the ledger, so each worker makes its own connections (on PostgreSQL, its own pool) and the
kernel hands each new connection to whichever worker accepts it first. This process only
watches: a stop (Ctrl-C, SIGTERM) is passed on to every worker, and a worker that dies takes
the others down with it, so the service never runs short without anyone noticing.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from typing import NoReturn

from dpp_ledger.ledger import WorkerError


def serve_forked(serve: Callable[[], None], workers: int) -> None:
    """Run ``serve`` in ``workers`` forked processes until stopped.

    Raises:
        WorkerError: a worker exited without being asked to.
    """
    children: set[int] = set()
    try:
        for _ in range(workers):
            pid = os.fork()
            if pid == 0:
                _work(serve)
            children.add(pid)
        pid, status = os.wait()
        children.discard(pid)
        raise WorkerError(
            f"server worker {pid} stopped ({_how(status)}): the other workers were stopped too"
        )
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _work(serve: Callable[[], None]) -> NoReturn:
    """The worker: serve, then leave without running the parent's exits.

    A stop can come before the server is up (the parent stops every worker as soon as one
    dies): until uvicorn installs its own graceful handlers, a stop simply ends the worker.
    Raising instead would unwind a half-made event loop, whose collection prints warnings and
    tracebacks that no user should see; leaving while an error still holds its frames does the
    same for a failure, which the parent reports in one line.
    """
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, _stopped)
    try:
        serve()
    except BaseException:
        _leave(1)
    _leave(0)


def _stopped(_number: int, _frame: object) -> None:
    _leave(0)


def _leave(code: int) -> NoReturn:
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
