"""Benchmark the resolver: time to answer a passport page on a large ledger.

Run: python benchmarks/resolver_page.py [PASSPORTS]   (default 100,000; needs the test extra)
A benchmark, not a test: prints the median, min and max over 300 page requests, in-process
through the ASGI app (no network), each page including a full verification.
"""

from __future__ import annotations

import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

import dpp_ledger.passport as pp
from dpp_ledger.cli.serve import create_app
from dpp_ledger.ledger import Ledger, issue_many
from dpp_ledger.passport import gs1


def main(count: int) -> None:
    """Issue ``count`` passports, sell a few, then time 300 page requests."""
    brand, factory, shop, owner = (pp.SigningKey.generate() for _ in range(4))
    now = int(time.time())
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "ledger.db"
        with Ledger.create(path) as ledger:
            ledger.records.add_root("Maison Example", brand.public_key, ["3614270"])
            for key, role in ((factory, "factory"), (shop, "retailer")):
                ledger.records.add_certificate(
                    pp.delegate(
                        brand, key.public_key, name=role, role=role, nbf=now - 60, exp=now + 10**7
                    )
                )
            items = (
                {"gtin": _gtin(i), "serial": f"R{i}", "model": "Sac 25", "made_in": "IT"}
                for i in range(count)
            )
            started = time.perf_counter()
            summary = issue_many(ledger, factory, items, time=now - 30, batch_size=5000)
            print(
                f"issued {len(summary.issued):,} passports in {time.perf_counter() - started:.1f} s"
            )
            rng = random.Random(7)  # noqa: S311 - sampling, not secrets
            sample = rng.sample(summary.issued, 300)
            for _, pid in sample[:150]:
                head = ledger.chain(pid)[-1]
                ledger.append(
                    pp.sign_event(
                        shop,
                        "sale",
                        {"owner": owner.kid.hex(), "channel": "boutique"},
                        time=now - 10,
                        after=head,
                    ),
                    keys=[owner.public_key],
                )
        client = TestClient(create_app(path))
        times = []
        for index, _ in sample:
            url = f"/01/{_gtin(index)}/21/R{index}"
            started = time.perf_counter()
            response = client.get(url, headers={"Accept": "text/html"})
            times.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or "Genuine" not in response.text:
                raise SystemExit(f"{url}: unexpected answer {response.status_code}")
        ms = sorted(times)
        print(
            f"passport page on {count:,} passports: median {statistics.median(ms):.2f} ms, "
            f"min {ms[0]:.2f}, max {ms[-1]:.2f} (300 requests, half of them sold items)"
        )


def _gtin(i: int) -> str:
    body = f"0361427{i % 100000:06d}"
    return body + str(gs1.check_digit(body))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
