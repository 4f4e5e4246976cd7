"""What keeps ``dpp serve`` up against real clients: read timeouts, a connection cap, quiet logs.

uvicorn's HTTP/1.1 protocol (h11) has no timeout for a request's head or body: a client that
opens a connection and sends nothing, or one byte a minute, holds it for ever, and enough of
them exhaust the process's file descriptors (then asyncio logs a traceback per accept).
Here each connection has a deadline for the head of each request (from the moment it opens,
or the previous response ends) and another for its body; a connection over the cap is
answered 503 with Retry-After and closed at once; every warning is one line, and repeats of
one kind are counted into the next line instead of printed.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
import sys
import time
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Final

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from . import logs
from .accesslog import AccessLog

LOG: Final = logging.getLogger("dpp_ledger.cli.serve")
REPEAT_S: Final = 10.0  # a kind of warning is printed at most once in this many seconds
BODY_GRACE_S: Final = 5.0  # a body's rate is first checked this long after its head
LINGER_S: Final = 1.0  # how long a refused connection is read (and dropped) before it closes
LINGER_MAX: Final = 32  # refused connections lingering at once (their files are reserved)
RESERVED_FILES: Final = 200  # descriptors kept for the listener, stdio, and SQLite per thread
_BUSY: Final = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 39\r\nConnection: close\r\n\r\nbusy: too many connections; retry soon\n"
)
_TIMED_OUT: Final = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 29\r\n"
    b"Connection: close\r\n\r\nthe request came too slowly\n"
)
_OUT_OF_FILES: Final = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
_lingering = [0]  # refused connections now lingering, in this process (one event loop)


@dataclass(frozen=True)
class Limits:
    """How long a request may take to arrive, and how many connections are kept at once."""

    header_timeout: float = 10.0
    body_timeout: float = 60.0
    max_connections: int = 256
    min_body_rate: int = 1024  # bytes/s a body must average after BODY_GRACE_S


class Repeats(logging.Filter):
    """Lets one record of each kind through per ``REPEAT_S``; counts the others into the next."""

    def __init__(self) -> None:
        super().__init__()
        self.last: dict[str, float] = {}
        self.held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether to print ``record`` (with the count of those held back since the last)."""
        kind = str(record.msg)
        now = time.monotonic()
        if now - self.last.get(kind, -REPEAT_S) < REPEAT_S:
            self.held[kind] = self.held.get(kind, 0) + 1
            return False
        self.last[kind] = now
        held = self.held.pop(kind, 0)
        if held:
            record.msg = f"{record.getMessage()} (and {held} more like it since the last report)"
            record.args = ()
        return True


class OneLine(logging.Formatter):
    """``dpp serve: <message>``, an exception as its type and text: never a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record on one line."""
        return "dpp serve: " + logs.one_line(record)


def quiet_logging(level: int = logging.WARNING) -> None:
    """Send every warning through :class:`OneLine` and :class:`Repeats`.

    The access log (``dpp_ledger.cli.serve.access``, one Common Log Format line per request) is
    shown at ``level`` INFO or below, unfiltered: every request is one line of its own. The rest
    of the project logs at ``level`` through :func:`logs.configure`.
    """
    logs.configure(level)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLine())
    handler.addFilter(Repeats())
    handler.addFilter(logs.Redact())
    for name in (LOG.name, "uvicorn.error", "uvicorn", "asyncio"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(max(level, logging.WARNING) if name != LOG.name else level)
        logger.propagate = False
    access = logging.getLogger("dpp_ledger.cli.serve.access")
    plain = logging.StreamHandler(sys.stderr)
    plain.setFormatter(logging.Formatter("%(message)s"))
    access.handlers = [plain]
    access.setLevel(level)
    access.propagate = False
    logging.getLogger("uvicorn.access").disabled = True


def loop_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Asyncio's exception handler: one line per kind, never a traceback."""
    error = context.get("exception")
    if isinstance(error, OSError) and error.errno in _OUT_OF_FILES:
        LOG.warning(
            "cannot accept a connection: %s (lower --max-connections, or raise the file limit)",
            error.strerror,
        )
        return
    detail = f": {type(error).__name__}: {error}" if error is not None else ""
    LOG.warning("%s%s", context.get("message", "asyncio error"), detail)


def connection_budget(wanted: int) -> int:
    """How many connections fit in the process's file limit (raised toward the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + RESERVED_FILES
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY or soft >= need:
        return wanted
    fitting = max(1, soft - RESERVED_FILES)
    LOG.warning(
        "the file limit (%d) allows %d connections, not %d: keeping at most %d",
        soft,
        fitting,
        wanted,
        fitting,
    )
    return fitting


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's head and body, and a cap."""

    limits: ClassVar[Limits] = Limits()

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.refused = False
        self.lingers = False
        self.phase: str | None = None  # "head" or "body": what the deadline is waiting for
        self.deadline: asyncio.TimerHandle | None = None
        self.arrived = 0  # bytes that arrived in this phase
        self.since = 0.0  # when this phase began (event loop time)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Refuse the connection over the cap (503, closed); else start the head's deadline."""
        if len(self.server_state.connections) >= self.limits.max_connections:
            self.refuse(transport)
            return
        super().connection_made(transport)
        self.watch()

    def refuse(self, transport: asyncio.Transport) -> None:
        """Answer 503, end our side, and read (and drop) what the client sends for a moment.

        Closing with the client's request unread would reset the connection before it reads
        the 503; under a flood, past ``LINGER_MAX`` such connections, it closes at once.
        """
        self.refused = True
        transport.write(_BUSY)
        if _lingering[0] >= LINGER_MAX:
            transport.close()
        else:
            _lingering[0] += 1
            self.lingers = True
            transport.write_eof()
            self.loop.call_later(LINGER_S, transport.close)
        LOG.warning("refused a connection: %d are open, the cap", self.limits.max_connections)

    def data_received(self, data: bytes) -> None:
        """Take the bytes, then follow the request's progress."""
        if self.refused:
            return
        self.arrived += len(data)
        super().data_received(data)
        self.watch()

    def on_response_complete(self) -> None:
        """The next request's head has its own deadline."""
        super().on_response_complete()
        self.watch()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the deadline; a refused connection was never registered."""
        self.stop()
        if self.lingers:
            _lingering[0] -= 1
        if not self.refused:
            super().connection_lost(exc)

    def watch(self) -> None:
        """Start the deadline of what the connection now waits for (none while we answer)."""
        if self.transport.is_closing():
            self.stop()
            return
        state = self.conn.their_state
        phase = "head" if state is h11.IDLE else "body" if state is h11.SEND_BODY else None
        if phase == self.phase:
            return
        self.stop()
        self.phase, self.arrived, self.since = phase, 0, self.loop.time()
        if phase == "head":
            self.deadline = self.loop.call_later(self.limits.header_timeout, self.expire)
        elif phase == "body":
            first = min(BODY_GRACE_S, self.limits.body_timeout)
            self.deadline = self.loop.call_later(first, self.expire)

    def stop(self) -> None:
        """Cancel the running deadline."""
        if self.deadline is not None:
            self.deadline.cancel()
            self.deadline = None
        self.phase = None

    def expire(self) -> None:
        """The head or body did not arrive in time: answer 408 if it began, and close.

        A body is checked each second after its grace: it is cut as soon as it averages less
        than ``min_body_rate``, and in any case at ``body_timeout``.
        """
        phase, self.deadline = self.phase, None
        if self.transport.is_closing():
            return
        elapsed = self.loop.time() - self.since
        steady = self.arrived >= self.limits.min_body_rate * elapsed
        if phase == "body" and elapsed < self.limits.body_timeout and steady:
            wait = min(1.0, self.limits.body_timeout - elapsed)
            self.deadline = self.loop.call_later(wait, self.expire)
            return
        began = phase == "body" or self.arrived > 0
        if began and (self.cycle is None or not self.cycle.response_started):
            self.transport.write(_TIMED_OUT)
        self.transport.close()
        if phase == "body":
            LOG.warning(
                "closed a slow upload: its body came at under %d bytes/s, or took over %g s",
                self.limits.min_body_rate,
                self.limits.body_timeout,
            )
        elif began:  # one that sent nothing is an idle connection, not news
            LOG.warning(
                "closed a slow client: its request head took over %g s", self.limits.header_timeout
            )


def guarded_protocol(limits: Limits) -> type[GuardedH11Protocol]:
    """The protocol class for uvicorn's ``http=``, with ``limits`` applied."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits})


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound before the server starts.

    Raises:
        OSError: the address is taken or cannot be used (the caller says so in one line).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    listener.set_inheritable(True)
    return listener


def run(app: Any, listener: socket.socket, limits: Limits, level: int = logging.WARNING) -> None:
    """Serve ``app`` on ``listener`` under ``limits`` until stopped (Ctrl-C or SIGTERM)."""
    import uvicorn

    quiet_logging(level)
    capped = replace(limits, max_connections=connection_budget(limits.max_connections))
    config = uvicorn.Config(
        AccessLog(app),
        http=guarded_protocol(capped),
        lifespan="off",
        access_log=False,
        log_config=None,
        log_level="warning",
        server_header=False,
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        asyncio.get_running_loop().set_exception_handler(loop_errors)
        await server.serve(sockets=[listener])

    asyncio.run(serve())
