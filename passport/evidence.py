"""Fork and clone evidence: two validly signed events that cannot both be true.

A **fork** is two different events at the same passport id and sequence number (a double sale,
or a cloned item's history diverging). A **clone** is two different first events for the same
GS1 identifier from the same brand root (compared by key, never by name). Each event counts
only if the chain up to it verifies: signed, linked, and signed by a party entitled to sign it.
A forged copy proves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from .bundle import Bundle
from .certs import RevocationList
from .events import Event
from .keys import kid_of
from .report import Report
from .trust import TrustStore
from .verify import named_kids, verify


class ConflictKind(StrEnum):
    """Which contradiction two events prove."""

    FORK = "fork"
    CLONE = "clone"


@dataclass(frozen=True)
class Evidence:
    """Two validly signed events that contradict each other, and what they prove."""

    kind: ConflictKind
    first: Event
    second: Event
    detail: str


def find_conflicts(
    a: Bundle,
    b: Bundle,
    trust: TrustStore,
    *,
    now: int,
    known_revocations: Iterable[RevocationList] = (),
) -> tuple[Evidence, ...]:
    """Compare two bundles and return fork or clone evidence (empty if they agree).

    Never raises for bad bundles: an event whose chain does not verify is simply no evidence.
    """
    known = tuple(known_revocations)
    if not a.events or not b.events:
        return ()
    if a.events[0].hash == b.events[0].hash:
        return _fork(a, b, trust, now, known)
    return _clone(a, b, trust, now, known)


def _prefix_report(
    bundle: Bundle, count: int, trust: TrustStore, now: int, known: tuple[RevocationList, ...]
) -> Report:
    """Verify the first ``count`` events of ``bundle`` with the records they need."""
    events = bundle.events[:count]
    named = named_kids(events)
    keys = tuple(k for k in bundle.keys if kid_of(k) in named)
    prefix = Bundle(events, bundle.certs, keys, bundle.revocations)
    return verify(prefix, trust, now=now, known_revocations=known)


def _fork(
    a: Bundle, b: Bundle, trust: TrustStore, now: int, known: tuple[RevocationList, ...]
) -> tuple[Evidence, ...]:
    for mine, theirs in zip(a.events, b.events, strict=False):
        if mine.hash == theirs.hash:
            continue
        count = mine.seq + 1
        if mine.seq != theirs.seq or mine.pid != theirs.pid:
            return ()  # not one chain: the verifier reports the broken one
        if _prefix_report(a, count, trust, now, known) and _prefix_report(
            b, count, trust, now, known
        ):
            detail = f"two signed events at seq {mine.seq} of passport {mine.pid.hex()[:16]}…"
            return (Evidence(ConflictKind.FORK, mine, theirs, detail),)
        return ()
    return ()


def _clone(
    a: Bundle, b: Bundle, trust: TrustStore, now: int, known: tuple[RevocationList, ...]
) -> tuple[Evidence, ...]:
    first = _prefix_report(a, 1, trust, now, known)
    second = _prefix_report(b, 1, trust, now, known)
    if not (first and second):
        return ()
    if (first.brand_key, first.gtin, first.serial) != (
        second.brand_key,
        second.gtin,
        second.serial,
    ):
        return ()
    detail = f"two passports issued by {first.brand} for GTIN {first.gtin} serial {first.serial}"
    return (Evidence(ConflictKind.CLONE, a.events[0], b.events[0], detail),)
