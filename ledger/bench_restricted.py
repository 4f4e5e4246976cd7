"""What restricted data costs per event: sealing on issue, opening on verification.

Measured in memory on production events with two sealed fields, each to one recipient key, as
differences on the same events: issuing sealed against issuing in clear, and verifying with
the recipient's key against verifying without. For each KEM.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Final

from dpp_ledger import passport as pp

from .demo import sample_product

FIELDS: Final = ("site", "repair_information")


def _seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


class _Setup:
    def __init__(self, now: int) -> None:
        self.now = now
        brand, self.factory = pp.SigningKey.generate(), pp.SigningKey.generate()
        self.reader = pp.RecipientSecret.generate()
        audience = pp.Audience.of("authorities", [self.reader.public_key])
        self.seal_to = {field: [audience] for field in FIELDS}
        root = pp.TrustedRoot("Maison Example", brand.public_key, ("3614270",), (audience,))
        self.trust = pp.TrustStore((root,))
        self.cert = pp.delegate(
            brand, self.factory.public_key, name="Atelier", role="factory", nbf=0, exp=now + 86_400
        )

    def items(self, count: int) -> list[dict[str, Any]]:
        return [
            {**sample_product(i, f"S-{i}"), "repair_information": f"Unpick seam {i} at the base."}
            for i in range(count)
        ]

    def issue(self, items: list[dict[str, Any]], kem: pp.Kem | None) -> list[bytes]:
        bundles = []
        for data in items:
            boxes: tuple[pp.Box, ...] = ()
            if kem is None:
                event = pp.issue(self.factory, data, time=self.now)
            else:
                event, boxes = pp.sign_sealed(
                    self.factory,
                    "production",
                    data,
                    seal_to=self.seal_to,
                    time=self.now,
                    after=None,
                    kem=kem,
                )
            bundles.append(pp.bundle_to_bytes(pp.Bundle((event,), (self.cert,), disclosures=boxes)))
        return bundles

    def verify(self, bundles: list[bytes], keys: tuple[pp.RecipientSecret, ...]) -> None:
        for data in bundles:
            report = pp.verify(data, self.trust, now=self.now, open_with=keys)
            if not report:
                raise pp.DppError(f"bench: a sealed bundle did not verify: {report.failures}")


def measure(count: int, repeat: int) -> dict[str, dict[str, float]]:
    """Per KEM: µs per event to seal its fields on issue, and to open them on verification."""
    setup = _Setup(int(time.time()))
    items = setup.items(count)
    found: dict[str, dict[str, float]] = {}
    for kem in pp.Kem:
        seal, open_ = [], []
        for _ in range(repeat):
            plain = _seconds(partial(setup.issue, items, None))
            sealed = _seconds(partial(setup.issue, items, kem))
            seal.append((sealed - plain) / count)
            bundles = setup.issue(items, kem)
            closed = _seconds(partial(setup.verify, bundles, ()))
            opened = _seconds(partial(setup.verify, bundles, (setup.reader,)))
            open_.append((opened - closed) / count)
        found[str(kem)] = {
            "seal_us": max(0.0, statistics.median(seal)) * 1e6,
            "open_us": max(0.0, statistics.median(open_)) * 1e6,
            "fields": len(FIELDS),
        }
    return found
