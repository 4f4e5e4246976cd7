"""Soak `dpp serve` on 127.0.0.1: real traffic at concurrency 64 while bad clients wear at it.

A benchmark, not a test: it reports, and it fails only on the RSS bound.
Run: python benchmarks/serve_soak.py [--seconds 30] [--json]   (needs the test extra)

It issues passports into a fresh temporary home, starts a real `dpp serve --accept-imports`,
then for --seconds drives 64 keep-alive clients through passport pages, bundles, inclusion
and consistency proofs, while slow-header clients trickle a byte a second, slow-body clients
trickle an upload, and upload clients send bodies over 16 MiB (declared or chunked) and
large garbage bundles. It reports throughput and latency (p50, p99) of the real traffic, the
answers by status, and the server's peak resident memory, sampled from /proc during the soak
and the kernel's high-water mark. That peak must stay under the stated bound: the process's
baseline plus three times the bytes uploads may hold together (one copy read, one joined,
one being decoded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import dpp_ledger.passport as pp
from dpp_ledger.ledger import KeyRole, KeyStore, Ledger, issue_many
from dpp_ledger.passport import gs1

SECRET = "soak passphrase"  # noqa: S105 - a throwaway key for the benchmark
CONCURRENCY = 64
UPLOAD_BYTES = 48 * 1024 * 1024  # --max-upload-bytes given to the server
BASELINE_MIB = 160  # the server with its imports, threads and SQLite caches, idle
RSS_BOUND_MIB = BASELINE_MIB + 3 * UPLOAD_BYTES // (1024 * 1024)


@dataclass
class Tally:
    """What the clients saw."""

    latencies: list[float] = field(default_factory=list)  # seconds, real traffic answered 200
    statuses: Counter[str] = field(default_factory=Counter)


Sample = tuple[str, str, int]  # a page's path, an event hash, the log's size


def make_home(home: Path, count: int) -> list[Sample]:
    """A home with ``count`` passports, 200 of them sold; what the clients ask for."""
    brand, factory, shop, owner, log = (pp.SigningKey.generate() for _ in range(5))
    keys = KeyStore(home / "keys", scrypt_log_n=14)
    keys.add("log", KeyRole.LOG, log, lambda: SECRET)
    now = int(time.time())
    with Ledger.create(home / "ledger.db") as ledger:
        ledger.records.add_root("Maison Example", brand.public_key, ["3614270"])
        for key, role in ((factory, "factory"), (shop, "retailer")):
            cert = pp.delegate(
                brand, key.public_key, name=role, role=role, nbf=now - 60, exp=now + 10**7
            )
            ledger.records.add_certificate(cert)
        ledger.checkpoints.set_log("soak.example/log", log)
        items = ({"gtin": _gtin(i), "serial": f"S{i}", "model": "Sac 25"} for i in range(count))
        summary = issue_many(ledger, factory, items, time=now - 30, batch_size=1000)
        samples: list[tuple[str, str]] = []
        for index, pid in summary.issued[:: max(1, count // 200)]:
            head = ledger.chain(pid)[-1]
            sale = pp.sign_event(
                shop,
                "sale",
                {"owner": owner.kid.hex(), "channel": "boutique"},
                time=now - 10,
                after=head,
            )
            ledger.append(sale, keys=[owner.public_key])
            samples.append((f"/01/{_gtin(index)}/21/S{index}", sale.hash.hex()))
        ledger.checkpoints.sign()
        size = ledger.log.size()
    (home / "config.json").write_text('{"v": 1, "resolver": "http://127.0.0.1"}')
    return [(path, event, size) for path, event in samples]


def _gtin(i: int) -> str:
    body = f"0361427{i % 100000:06d}"
    return body + str(gs1.check_digit(body))


def start_server(home: Path, port: int) -> subprocess.Popen[bytes]:
    """`dpp serve --accept-imports` in a child process, answering once it is up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPP_")}
    command = [
        sys.executable,
        "-m",
        "dpp_ledger",
        "--home",
        str(home),
        "serve",
        "--port",
        str(port),
    ]
    server = subprocess.Popen(  # noqa: S603 - this interpreter, our own command
        [*command, "--accept-imports", "--max-upload-bytes", str(UPLOAD_BYTES)],
        env={**env, "DPP_PASSPHRASE": SECRET},
        stdout=subprocess.DEVNULL,
        stderr=(home / "serve.err").open("wb"),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            asyncio.run(_probe(port))
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("dpp serve did not start: " + (home / "serve.err").read_text())


async def _probe(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /log/checkpoint HTTP/1.1\r\nHost: soak\r\n\r\n")
    await _response(reader)
    writer.close()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """(status, whether the server keeps the connection) of one answer, its body read."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").lower().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    await reader.readexactly(int(headers.get("content-length", "0")))
    return int(lines[0].split()[1]), headers.get("connection") != "close"


class Memory(threading.Thread):
    """Samples the server's resident memory every 50 ms from /proc."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak_kib, self.running = pid, 0, True

    def run(self) -> None:
        """Sample until stopped."""
        while self.running:
            self.peak_kib = max(self.peak_kib, self.read("VmRSS"))
            time.sleep(0.05)

    def read(self, field_name: str) -> int:
        """A field of /proc/<pid>/status, in KiB (0 if the process is gone)."""
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0


async def real_traffic(
    port: int, samples: list[Sample], end: float, tally: Tally, seed: int
) -> None:
    """One keep-alive client: pages, bundles and proofs in turn until ``end``."""
    bundle = "application/vnd.dpp.bundle+cbor"
    kinds = ("page", "bundle", "inclusion", "consistency")
    turn, connection = seed, None
    while time.monotonic() < end:
        path, event, size = samples[turn % len(samples)]
        kind = kinds[turn % len(kinds)]
        target, accept = {
            "page": (path, "text/html"),
            "bundle": (path, bundle),
            "inclusion": (f"/log/proof/inclusion/{event}", "application/json"),
            "consistency": (
                f"/log/proof/consistency?old={1 + turn % size}&new={size}",
                "application/json",
            ),
        }[kind]
        turn += 1
        try:
            if connection is None:
                connection = await asyncio.open_connection("127.0.0.1", port)
            reader, writer = connection
            started = time.perf_counter()
            writer.write(
                f"GET {target} HTTP/1.1\r\nHost: soak\r\nAccept: {accept}\r\n\r\n".encode()
            )
            status, keep = await _response(reader)
        except (OSError, asyncio.IncompleteReadError):
            tally.statuses["real: connection lost"] += 1
            connection = None
            continue
        tally.statuses[f"real: {status}"] += 1
        if status == 200:
            tally.latencies.append(time.perf_counter() - started)
        if not keep:
            writer.close()
            connection = None


async def slow_client(port: int, end: float, tally: Tally, body: bool) -> None:
    """Trickle a request head (or an upload's body) one byte a second, reconnecting when cut."""
    kind = "slow body" if body else "slow head"
    while time.monotonic() < end:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            tally.statuses[f"{kind}: refused"] += 1
            await asyncio.sleep(0.2)
            continue
        writer.write(_SLOW_BODY if body else b"")
        try:
            while time.monotonic() < end and not reader.at_eof():
                writer.write(b"\xa0" if body else b"a")
                await writer.drain()
                await asyncio.sleep(1)
        except OSError:
            pass
        cut = reader.at_eof() or time.monotonic() < end
        tally.statuses[f"{kind}: {'cut by the server' if cut else 'still open at the end'}"] += 1
        writer.close()


_SLOW_BODY: Final = b"POST /bundles HTTP/1.1\r\nHost: soak\r\nContent-Length: 1000000\r\n\r\n"


async def oversized_uploads(port: int, end: float, tally: Tally, turn: int) -> None:
    """Uploads over 16 MiB (declared, or chunked without a size) and large garbage bundles."""
    block = b"\x00" * (1024 * 1024)
    while time.monotonic() < end:
        turn += 1
        kind = ("declared", "chunked", "garbage")[turn % 3]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            if kind == "chunked":
                writer.write(
                    b"POST /bundles HTTP/1.1\r\nHost: soak\r\nTransfer-Encoding: chunked\r\n\r\n"
                )
                for _ in range(17):
                    writer.write(b"100000\r\n" + block + b"\r\n")
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:
                size = 16 * 1024 * 1024 + 1 if kind == "declared" else 12 * 1024 * 1024
                head = f"POST /bundles HTTP/1.1\r\nHost: soak\r\nContent-Length: {size}\r\n\r\n"
                writer.write(head.encode())
                for _ in range(size // len(block)):
                    writer.write(block)
                    await writer.drain()
                writer.write(b"\x00" * (size % len(block)))
            status, _ = await asyncio.wait_for(_response(reader), 120)
            tally.statuses[f"upload {kind}: {status}"] += 1
            writer.close()
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            tally.statuses[f"upload {kind}: connection lost"] += 1


async def soak(port: int, samples: list[Sample], seconds: float, slow: int, uploads: int) -> Tally:
    """Run every client until ``seconds`` have passed."""
    tally = Tally()
    end = time.monotonic() + seconds
    tasks = [real_traffic(port, samples, end, tally, seed) for seed in range(CONCURRENCY)]
    tasks += [slow_client(port, end, tally, body=i % 2 == 1) for i in range(slow)]
    tasks += [oversized_uploads(port, end, tally, i) for i in range(uploads)]
    await asyncio.gather(*tasks)
    return tally


def main() -> None:
    """Build, serve, soak, report; exit 1 if the server's peak RSS passed the bound."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--passports", type=int, default=5000)
    parser.add_argument("--slow", type=int, default=120, help="slow clients (half head, half body)")
    parser.add_argument("--uploads", type=int, default=8, help="clients sending oversized uploads")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory) / "home"
        samples = make_home(home, options.passports)
        port = _free_port()
        server = start_server(home, port)
        memory = Memory(server.pid)
        memory.start()
        started = time.monotonic()
        tally = asyncio.run(soak(port, samples, options.seconds, options.slow, options.uploads))
        elapsed = time.monotonic() - started
        memory.running = False
        memory.join()
        high_water = memory.read("VmHWM")
        server.terminate()
        server.wait(timeout=60)
        errors = (home / "serve.err").read_text().splitlines()
    report(tally, elapsed, max(memory.peak_kib, high_water), errors, options)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def report(
    tally: Tally,
    elapsed: float,
    peak_kib: int,
    errors: list[str],
    options: argparse.Namespace,
) -> None:
    """Print the result (JSON with --json) and exit 1 if the RSS bound was passed."""
    ms = sorted(1000 * t for t in tally.latencies) or [0.0]
    peak_mib = peak_kib / 1024
    result = {
        "seconds": round(elapsed, 1),
        "concurrency": CONCURRENCY,
        "slow_clients": options.slow,
        "upload_clients": options.uploads,
        "throughput_rps": round(len(tally.latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2),
        "answers": dict(sorted(tally.statuses.items())),
        "server_peak_rss_mib": round(peak_mib, 1),
        "rss_bound_mib": RSS_BOUND_MIB,
        "rss_within_bound": peak_mib <= RSS_BOUND_MIB,
        "server_stderr_lines": len(errors),
        "server_tracebacks": sum("Traceback" in line for line in errors),
    }
    if options.json:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"soak {result['seconds']} s at concurrency {CONCURRENCY} with {options.slow} slow and "
            f"{options.uploads} oversized-upload clients: {result['throughput_rps']} requests/s, "
            f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; server peak RSS "
            f"{result['server_peak_rss_mib']} MiB (bound {RSS_BOUND_MIB} MiB); "
            f"{len(errors)} lines on its stderr"
        )
        for answer, count in result["answers"].items():  # type: ignore[union-attr]
            print(f"  {answer}: {count}")
        for line in errors[:10]:
            print(f"  server: {line}")
    if not result["rss_within_bound"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
