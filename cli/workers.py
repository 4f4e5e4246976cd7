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
            if pid == 0:  # the worker: serve, then leave without running the parent's exits
                code = 0
                try:
                    serve()
                except BaseException:
                    code = 1
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
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


def _how(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
