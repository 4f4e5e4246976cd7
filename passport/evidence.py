"""Fork and clone evidence: two validly signed events that cannot both be true.

A **fork** is two different events at the same passport id and sequence number (a double sale,
or a cloned item's history diverging). A **clone** is two different first events for the same
GS1 identifier from the same brand. Either way the two signed events are portable proof.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .bundle import Bundle
from .errors import DppError
from .events import Event
from .keyring import Keyring
from .trust import TrustStore


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


def _keyring(bundle: Bundle, trust: TrustStore) -> Keyring:
    keyring = Keyring(trust)
    keyring.add_certificates(bundle.certs)
    keyring.add_keys(bundle.keys)
    return keyring


def _validly_signed(event: Event, keyrings: Sequence[Keyring]) -> bool:
    for keyring in keyrings:
        key = keyring.public_key(event.signer)
        if key is None:
            continue
        try:
            event.record.verify(key)
        except DppError:
            return False
        return True
    return False


def _brand(event: Event, keyring: Keyring) -> str | None:
    root = keyring.trust.root(event.signer)
    if root is not None:
        return root.brand
    brands = {keyring.brand_of(c) for c in keyring.certs.get(event.signer, [])}
    return brands.pop() if len(brands) == 1 else None


def find_conflicts(a: Bundle, b: Bundle, trust: TrustStore) -> tuple[Evidence, ...]:
    """Compare two bundles and return fork or clone evidence (empty if they agree).

    Only events whose signatures verify count: a forged copy proves nothing against anyone.
    Raises no error for bad signatures; malformed keys or certificates raise :class:`DppError`.
    """
    keyrings = (_keyring(a, trust), _keyring(b, trust))
    return find_forks(a.events, b.events, keyrings) + _find_clone(a, b, keyrings)


def find_forks(
    left: Iterable[Event], right: Iterable[Event], keyrings: Sequence[Keyring]
) -> tuple[Evidence, ...]:
    """The first divergence per passport between two event sets, if both sides are signed."""
    seen = {(e.pid, e.seq): e for e in left}
    found: dict[bytes, Evidence] = {}
    for event in sorted(right, key=lambda e: e.seq):
        other = seen.get((event.pid, event.seq))
        if other is None or other.hash == event.hash or event.pid in found:
            continue
        if _validly_signed(other, keyrings) and _validly_signed(event, keyrings):
            found[event.pid] = Evidence(
                ConflictKind.FORK,
                other,
                event,
                f"two signed events at seq {event.seq} of passport {event.pid.hex()[:16]}…",
            )
    return tuple(found.values())


def _find_clone(a: Bundle, b: Bundle, keyrings: Sequence[Keyring]) -> tuple[Evidence, ...]:
    if not a.events or not b.events:
        return ()
    first, second = a.events[0], b.events[0]
    if first.hash == second.hash or first.seq != 0 or second.seq != 0:
        return ()
    same_item = (first.data.get("gtin"), first.data.get("serial")) == (
        second.data.get("gtin"),
        second.data.get("serial"),
    )
    brand = _brand(first, keyrings[0])
    if not same_item or brand is None or brand != _brand(second, keyrings[1]):
        return ()
    if not (_validly_signed(first, keyrings[:1]) and _validly_signed(second, keyrings[1:])):
        return ()
    detail = (
        f"two passports issued by {brand} for GTIN {first.data['gtin']} "
        f"serial {first.data['serial']}"
    )
    return (Evidence(ConflictKind.CLONE, first, second, detail),)
