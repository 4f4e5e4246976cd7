"""Helpers for ledger tests: a populated ledger (file or schema) and exact snapshots of it."""

from __future__ import annotations

import hashlib
from pathlib import Path

from dpp_ledger.ledger import Ledger
from tests.pg import table_rows
from tests.world import DAY, T0, World


def clock(at: int = T0 + 400 * DAY):  # type: ignore[no-untyped-def]
    return lambda: at


def new_ledger(path: Path | str, world: World) -> Ledger:
    """A ledger trusting the world's brands, holding their certificates."""
    ledger = Ledger.create(path, clock=clock())
    ledger.records.add_trust_store(world.trust)
    for cert in world.certs.values():
        ledger.records.add_certificate(cert)
    return ledger


def store_chain(ledger: Ledger, world: World, events: list) -> None:  # type: ignore[type-arg]
    owners = {k.kid: k.public_key for k in (world.alice, world.bob, world.carol)}
    for event in events:
        named = [owners[bytes.fromhex(event.data[f])] for f in ("owner", "to") if f in event.data]
        ledger.append(event, keys=named)


def snapshot(path: Path | str) -> str:
    """A digest of the ledger file and its WAL, to prove a refused operation changed nothing.

    On PostgreSQL: a digest of every row of every table of the ledger's schema.
    """
    if isinstance(path, str):
        return hashlib.sha256(repr(table_rows(path)).encode()).hexdigest()
    digest = hashlib.sha256(path.read_bytes())
    wal = path.with_name(path.name + "-wal")
    if wal.exists():
        digest.update(wal.read_bytes())
    return digest.hexdigest()
