"""`dpp serve --workers N` on a PostgreSQL ledger: real processes, real HTTP, read-only pages."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.ledger import Ledger, ReadOnlyError
from dpp_ledger.passport.bundle import BUNDLE_MEDIA_TYPE
from tests.homes import DPP, environment, make_home
from tests.ledger_helpers import store_chain
from tests.world import PRODUCT, T0, World

W = World()
ITEM = f"/01/{PRODUCT['gtin']}/21/{PRODUCT['serial']}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry.name))
    return found


def _get(url: str, accept: str = "text/html") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})  # noqa: S310 - loopback
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return int(response.status), response.read()


def test_workers_serve_one_postgresql_ledger_and_pages_never_wait_for_a_writer(
    tmp_path: Path, pg_location: Callable[[], str]
) -> None:
    url = pg_location()
    home = make_home(tmp_path / "home", W, ledger=url)
    with Ledger.open(url) as ledger:
        store_chain(ledger, W, W.sold())
    port = _free_port()
    server = subprocess.Popen(
        [
            DPP,
            "--home",
            str(home),
            "serve",
            "--port",
            str(port),
            "--workers",
            "3",
            "--log-level",
            "warning",
        ],
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{base}/log/checkpoint")
                break
            except OSError:
                assert time.monotonic() < deadline, "dpp serve --workers did not start"
                time.sleep(0.2)
        workers = _children(server.pid)
        assert len(workers) == 3
        # A writer holds the ledger's write lock for the whole time the pages are asked for.
        with Ledger.open(url) as writer, writer.db.write():
            with concurrent.futures.ThreadPoolExecutor(8) as pool:
                pages = list(pool.map(lambda _: _get(f"{base}{ITEM}"), range(60)))
            status, bundle = _get(f"{base}{ITEM}", BUNDLE_MEDIA_TYPE)
        assert {s for s, _ in pages} == {200}
        assert all(b"<h1>Genuine</h1>" in body for _, body in pages)
        assert status == 200
        assert pp.verify(bundle, W.trust, now=T0 + 10**8)
        # Pages are read-only all the way down: the server itself refuses a page's write.
        with Ledger.open(url, read_only=True, pooled=True) as reader:
            with pytest.raises(ReadOnlyError, match="read-only transaction"):
                reader.db.execute("INSERT INTO log_keys (vkey) VALUES (?)", ["x"])
            assert reader.db.execute("SELECT count(*) FROM log_keys").fetchone() == (1,)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=30)
    assert server.returncode == 143, err
    assert "Traceback" not in err
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)


def test_a_worker_that_dies_stops_the_service_in_one_line(
    tmp_path: Path, pg_location: Callable[[], str]
) -> None:
    home = make_home(tmp_path / "home", W, ledger=pg_location())
    port = _free_port()
    server = subprocess.Popen(
        [
            DPP,
            "--home",
            str(home),
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(_children(server.pid)) < 2:
        assert time.monotonic() < deadline, "dpp serve --workers did not start"
        time.sleep(0.1)
    victim, other = _children(server.pid)
    os.kill(victim, signal.SIGKILL)
    _, err = server.communicate(timeout=30)
    assert server.returncode == 1
    lines = [line for line in err.splitlines() if line.strip() and "Serving" not in line]
    assert lines == [
        f"dpp: server worker {victim} stopped (killed by SIGKILL): the other "
        "workers were stopped too"
    ]
    assert not Path(f"/proc/{other}").exists()
