"""`dpp serve` against clients that misbehave, over real sockets on 127.0.0.1.

Deadlines in these tests are generous bounds on a hang (a minute), never a speed: each test
asserts what the server does (closes, answers 503, keeps serving), not how fast.
"""

from __future__ import annotations

import contextlib
import resource
import select
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

import dpp_ledger.passport as pp
from dpp_ledger.cli.serve import create_app
from dpp_ledger.ledger import Ledger
from tests.homes import DPP, environment, make_home
from tests.world import World

W = World()
HANG = 60.0  # seconds after which a test calls it a hang
CHECKPOINT = b"GET /log/checkpoint HTTP/1.1\r\nHost: t\r\n\r\n"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A real `dpp serve` child, its port, and what it wrote on stderr."""

    def __init__(self, home: Path, args: tuple[str, ...], before: Callable[[], None] | None):
        self.port = _free_port()
        self.log = (home.parent / f"serve-{self.port}.err").open("w+")
        self.process = subprocess.Popen(
            [DPP, "--home", str(home), "serve", "--port", str(self.port), *args],
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            preexec_fn=before,  # noqa: PLW1509 - only setrlimit, before exec
        )
        deadline = time.monotonic() + HANG
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/log/checkpoint", timeout=2)
                return
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"dpp serve did not start: {self.stderr()}")

    def connect(self, data: bytes = b"") -> socket.socket:
        client = socket.create_connection(("127.0.0.1", self.port), timeout=HANG)
        if data:
            client.sendall(data)
        return client

    def get(self) -> int:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{self.port}/log/checkpoint", timeout=HANG
        ) as r:
            return int(r.status)

    def stderr(self) -> str:
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> str:
        self.process.terminate()
        self.process.wait(timeout=HANG)
        return self.stderr()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    home = make_home(tmp_path / "home", W)
    started: list[Server] = []

    def start(*args: str, before: Callable[[], None] | None = None) -> Server:
        started.append(Server(home, args, before))
        return started[-1]

    yield start
    for server in started:
        if server.process.poll() is None:
            server.stop()


def _answer(client: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received


def _head(client: socket.socket) -> bytes:
    """The status line and headers of the answer (the connection may stay open after)."""
    received = b""
    while b"\r\n\r\n" not in received and (chunk := client.recv(65536)):
        received += chunk
    return received.split(b"\r\n\r\n")[0].lower()


def test_a_request_head_that_never_ends_is_closed(serve: Callable[..., Server]) -> None:
    server = serve()  # the default header timeout
    slow = server.connect(b"GET /log/checkpoint HTTP/1.1\r\nHost: t\r\n")  # no blank line
    idle = server.connect()
    assert _answer(slow).startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert _answer(idle) == b""
    assert server.get() == 200
    err = server.stop()
    assert "closed a slow client: its request head took over 10 s" in err
    assert "Traceback" not in err


def test_a_body_that_never_ends_is_closed(serve: Callable[..., Server]) -> None:
    server = serve("--accept-imports")  # the default body timeout and least rate
    upload = server.connect(b"POST /bundles HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nab")
    assert _answer(upload).startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert server.get() == 200
    err = server.stop()
    assert "closed a slow upload: its body came at under 1024 bytes/s, or took over 60 s" in err
    assert "Traceback" not in err


def test_connections_over_the_cap_get_503_and_service_resumes(
    serve: Callable[..., Server],
) -> None:
    server = serve("--max-connections", "8", "--header-timeout", "120")
    held = [server.connect() for _ in range(8)]
    over = server.connect(CHECKPOINT)
    answer = _answer(over)
    assert answer.startswith(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\n")
    for client in held:
        client.close()
    deadline = time.monotonic() + HANG
    while (status := _status(server)) != 200 and time.monotonic() < deadline:
        time.sleep(0.05)  # the server sees the closes in its own time
    assert status == 200
    assert "refused a connection: 8 are open, the cap" in server.stop()


def _status(server: Server) -> int:
    with server.connect(CHECKPOINT) as client:
        return int(_answer(client).split(b" ", 2)[1])


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


def test_at_its_file_limit_the_server_answers_503_in_one_line_warnings(
    serve: Callable[..., Server],
) -> None:
    # 1,000 connections against a process that may open 256 files: before, service stopped
    # and stderr filled with EMFILE tracebacks.
    server = serve(before=_limit_files)
    clients = []
    refused = 0
    for _ in range(1000):
        client = socket.create_connection(("127.0.0.1", server.port), timeout=HANG)
        clients.append(client)
    for client in clients[-100:]:
        client.settimeout(5)
        with contextlib.suppress(OSError):
            refused += client.recv(100).startswith(b"HTTP/1.1 503")
    assert refused > 0
    for client in clients:
        client.close()
    deadline = time.monotonic() + HANG
    while (status := _status(server)) != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert status == 200
    err = server.stop()
    assert "Traceback" not in err
    assert "the file limit (256) allows 56 connections" in err
    assert len(err.splitlines()) < 20, err[-3000:]


def _one_refused(clients: list[socket.socket]) -> socket.socket:
    """The one client of ``clients`` that the server answered 503; the others wait on."""
    ready, _, _ = select.select(clients, [], [], HANG)
    assert len(ready) == 1, "no answer, or more than one"
    head = _head(ready[0])
    assert head.startswith(b"http/1.1 503 service unavailable\r\n"), head
    assert b"\r\nretry-after: 2" in head
    waiting = [c for c in clients if c is not ready[0]]
    assert select.select(waiting, [], [], 0.5)[0] == []  # still reading their uploads
    return ready[0]


def test_uploads_over_the_caps_get_503_with_retry_after(serve: Callable[..., Server]) -> None:
    server = serve("--accept-imports", "--max-uploads", "2", "--max-upload-bytes", "1000000")
    post = "POST /bundles HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n\xa0"
    # Two uploads that fit the count but not, together, the bytes: whichever comes second.
    big = [server.connect(post.format(size).encode("latin-1")) for size in (600_000, 500_000)]
    _one_refused(big).close()
    # Then two small ones where only one more fits the count.
    small = [server.connect(post.format(10).encode("latin-1")) for _ in range(2)]
    _one_refused(small).close()
    # One that can never fit is told so (413), not asked to retry.
    never = _head(server.connect(post.format(2_000_000).encode("latin-1")))
    assert never.startswith(b"http/1.1 413 ")
    for client in big + small:
        client.close()
    assert server.get() == 200
    assert "Traceback" not in server.stop()


def test_a_busy_ledger_answers_503_with_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "mirror.db"
    with Ledger.create(path) as mirror:
        mirror.records.add_trust_store(W.trust)
    app = TestClient(create_app(path, accept_imports=True))
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the ledger past the busy timeout
    try:
        answer = app.post("/bundles", content=pp.bundle_to_bytes(W.bundle(W.sold())))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "2"
    assert "busy" in answer.json()["error"]
