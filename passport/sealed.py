"""Signing events with restricted fields: the event signs digests, boxes carry the values.

Issuing and recording call :func:`sign_sealed`: the fields sealed to an audience leave the
data (:func:`passport.disclose.split`), the event is signed, and each disclosure is sealed to
every key of its audiences (:func:`passport.sealing.seal`). Everything that can be refused
is refused before anything is signed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .disclose import Disclosure, Salt, random_salt, split
from .errors import DisclosureError
from .events import Event, EventType
from .keys import SigningKey
from .recipients import Audience, Kem
from .sealing import Box, seal
from .sign import sign_event


def seal_all(
    event: Event,
    disclosures: Iterable[Disclosure],
    audiences: Mapping[str, Sequence[Audience]],
    *,
    kem: Kem = Kem.X25519,
) -> tuple[Box, ...]:
    """A box of each disclosure of ``event`` for every key of each audience of its field.

    Raises:
        InvalidKeyError: a key cannot receive ``kem`` boxes.
        DisclosureError: a disclosure has no audience.
    """
    boxes = []
    for disclosure in disclosures:
        targets = audiences.get(disclosure.field, ())
        if not targets:
            raise DisclosureError(f"{disclosure.field!r} is sealed to no audience")
        for audience in targets:
            for key in audience.keys:
                boxes.append(
                    seal(
                        disclosure, event=event.hash, audience=audience.name, recipient=key, kem=kem
                    )
                )
    return tuple(boxes)


def sign_sealed(
    key: SigningKey,
    type: EventType | str,
    data: Mapping[str, Any],
    *,
    seal_to: Mapping[str, Sequence[Audience]],
    time: int,
    after: Event | None,
    kem: Kem = Kem.X25519,
    salt: Salt = random_salt,
) -> tuple[Event, tuple[Box, ...]]:
    """Sign an event with the fields of ``seal_to`` sealed to their audiences.

    The event signs only the digests of the sealed fields; the returned boxes carry the
    values, one per field and recipient key. Everything is checked before anything is signed.

    Raises:
        SchemaError: as :func:`passport.disclose.split` and :func:`passport.sign_event`.
        InvalidKeyError: an audience key that cannot receive ``kem`` boxes.
        DisclosureError: a field sealed to no audience.
    """
    for field, targets in seal_to.items():
        if not targets:
            raise DisclosureError(f"{field!r} is sealed to no audience")
        for audience in targets:
            for recipient in audience.keys:
                recipient.kem_key(kem)  # refused now, not after signing
    public, disclosures = split(type, data, seal_to.keys(), salt=salt)
    event = sign_event(key, type, public, time=time, after=after)
    return event, seal_all(event, disclosures, seal_to, kem=kem)


__all__ = ["seal_all", "sign_sealed"]
