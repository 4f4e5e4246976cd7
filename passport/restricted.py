"""The verifier's last step: what the bundle says of each restricted value, and what opens.

Without a key the step checks that every sealed box belongs to an event of the bundle and
names a digest that event signs, and reports each restricted field and its audiences. With a
recipient key it opens the boxes sealed to that key, and a value is shown only once its
disclosure hashes to a digest its own event signed and fits the event's schema. Anything else
is a :class:`DisclosureError`: a failed check, and no value is shown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import schema
from .bundle import Bundle
from .disclose import Disclosure, reveal, sealed_digests
from .errors import DisclosureError
from .events import Event
from .recipients import RecipientSecret
from .report import Access, Restricted, Status
from .sealing import Box, open_box
from .trust import TrustedRoot


@dataclass
class Findings:
    """What the step found: its status and sentence, and one entry per restricted value."""

    status: Status
    detail: str
    restricted: tuple[Restricted, ...] = field(default=())


def check_disclosures(
    bundle: Bundle, root: TrustedRoot | None, secrets: Sequence[RecipientSecret]
) -> Findings:
    """Check the bundle's sealed boxes against its events; open those ``secrets`` can.

    ``root`` is the trusted root the passport belongs to: the audiences it publishes say
    which keys may stand for each audience.

    Raises:
        DisclosureError: a box for an event not in the bundle, for a digest its event does
            not sign, for a field its event may not seal or gives in clear, boxes of one
            digest naming two fields, or a box sealed to a given key that does not open to
            a disclosure its event signs.
    """
    events = {e.hash: e for e in bundle.events}
    signed = {e.hash: sealed_digests(e) for e in bundle.events}
    by_digest: dict[tuple[bytes, bytes], list[Box]] = {}
    for box in bundle.disclosures:
        _check_place(box, events.get(box.event), signed)
        by_digest.setdefault((box.event, box.digest), []).append(box)
    for boxes in by_digest.values():
        if len({b.field for b in boxes}) > 1:
            raise DisclosureError(f"{boxes[0].label()}: boxes of one value name two fields")
    opened = _open(bundle, events, secrets)
    entries = tuple(
        sorted(
            (
                _entry(event, digest, by_digest.get((event.hash, digest), ()), opened)
                for event in bundle.events
                for digest in signed[event.hash]
            ),
            key=lambda e: (e.seq, e.field is None, e.field or "", e.digest),
        )
    )
    if not entries and not secrets:
        return Findings(Status.SKIP, "no restricted data")
    notes = _publication_notes(bundle.disclosures, events, root)
    sealed_to = {b.kid for b in bundle.disclosures}
    detail = _summary(entries, [s for s in secrets if s.kid not in sealed_to])
    if notes:
        return Findings(Status.WARN, f"{detail}; " + "; ".join(notes), entries)
    return Findings(Status.PASS, detail, entries)


def _check_place(box: Box, event: Event | None, signed: dict[bytes, frozenset[bytes]]) -> None:
    if event is None:
        raise DisclosureError(
            f"{box.label()} names event {box.event.hex()[:16]}…, which is not in this bundle"
        )
    if box.digest not in signed[event.hash]:
        raise DisclosureError(f"{event.label()}: {box.label()} names a digest it does not sign")
    if box.field not in schema.sealable(event.type) or box.field in event.data:
        raise DisclosureError(
            f"{event.label()}: {box.label()} is for a field this event cannot seal"
        )


def _open(
    bundle: Bundle, events: dict[bytes, Event], secrets: Sequence[RecipientSecret]
) -> dict[tuple[bytes, bytes], Disclosure]:
    """The disclosures the keys open, by (event hash, digest), each checked by its event."""
    keys = {s.kid: s for s in secrets}
    opened: dict[tuple[bytes, bytes], Disclosure] = {}
    for box in bundle.disclosures:
        secret = keys.get(box.kid)
        if secret is not None:
            opened[(box.event, box.digest)] = open_box(box, secret)
    by_event: dict[bytes, list[Disclosure]] = {}
    for (event_hash, _), disclosure in opened.items():
        by_event.setdefault(event_hash, []).append(disclosure)
    for event_hash, disclosures in by_event.items():
        reveal(events[event_hash], disclosures)  # digests signed, fields sealable, values fit
    return opened


def _entry(
    event: Event,
    digest: bytes,
    boxes: Sequence[Box],
    opened: dict[tuple[bytes, bytes], Disclosure],
) -> Restricted:
    name = boxes[0].field if boxes else None
    audiences = tuple(sorted({b.audience for b in boxes}))
    found = opened.get((event.hash, digest))
    if found is not None:
        return Restricted(
            event.seq, event.hash, digest, found.field, audiences, Access.VERIFIED, found.value
        )
    if boxes:
        return Restricted(event.seq, event.hash, digest, name, audiences, Access.RESTRICTED)
    note = "no sealed box in this copy: erased, or not shared with it"
    return Restricted(event.seq, event.hash, digest, None, (), Access.ERASED, note=note)


def _publication_notes(
    boxes: Sequence[Box], events: dict[bytes, Event], root: TrustedRoot | None
) -> list[str]:
    """Boxes to keys the brand does not publish for their audience (when it publishes any)."""
    if root is None or not root.audiences:
        return []
    notes = []
    for box in boxes:
        audience = root.audience(box.audience)
        if audience is None:
            notes.append(f"{box.label()}: {root.brand} publishes no audience {box.audience!r}")
        elif audience.key(box.kid) is None:
            notes.append(
                f"{events[box.event].label()}: {box.label()} is sealed to a key "
                f"{root.brand} does not publish for {box.audience}"
            )
    return list(dict.fromkeys(notes))


def _summary(entries: Sequence[Restricted], idle: Sequence[RecipientSecret]) -> str:
    counts = {access: sum(e.access is access for e in entries) for access in Access}
    audiences = sorted({a for e in entries if e.access is Access.RESTRICTED for a in e.audiences})
    parts = [f"{len(entries)} restricted values"]
    if counts[Access.VERIFIED]:
        parts.append(f"{counts[Access.VERIFIED]} opened and verified against the signed digests")
    if counts[Access.RESTRICTED]:
        parts.append(f"{counts[Access.RESTRICTED]} sealed (to {', '.join(audiences)})")
    if counts[Access.ERASED]:
        parts.append(f"{counts[Access.ERASED]} without a box (erased, or not shared)")
    if idle:
        parts.append("no box here is sealed to " + ", ".join(s.kid.hex()[:16] for s in idle))
    return "; ".join(parts)
