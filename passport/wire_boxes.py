"""The wire layout of a bundle's ``disclosures``: event hash -> list of sealed boxes.

Beside :mod:`passport.wire`, with the same strictness: structure, sizes and names are
checked here; whether a box belongs to its bundle and opens is the verifier's question.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from . import cbor
from .disclose import MAX_DISCLOSURE_SIZE
from .errors import DecodeError, SchemaError
from .recipients import Kem, check_audience_name
from .sealing import ENC_SIZE, TAG_SIZE, Box

HASH_SIZE: Final = 32
MAX_BOXES: Final = 4096
MAX_BOXES_PER_EVENT: Final = 256
# A box's map (6 entries) and its place in a list, per box; a key and a list per event.
ITEMS_PER_BOX: Final = 14
_BOX_KEYS: Final = frozenset({"audience", "ct", "digest", "field", "kem", "kid"})
_FIELD: Final = re.compile(r"[a-z][a-z0-9_]{0,63}")


def boxes_to_wire(boxes: Iterable[Box]) -> dict[bytes, list[dict[str, object]]]:
    """The ``disclosures`` map of a bundle: boxes grouped by event, in a fixed order."""
    grouped: dict[bytes, list[dict[str, object]]] = {}
    ordered = sorted(boxes, key=lambda b: (b.event, b.digest, b.audience, b.kid, b.ct))
    for box in ordered:
        grouped.setdefault(box.event, []).append(
            {
                "audience": box.audience,
                "ct": box.ct,
                "digest": box.digest,
                "field": box.field,
                "kem": str(box.kem),
                "kid": box.kid,
            }
        )
    return grouped


def parse_boxes(value: object, *, what: str = "bundle") -> tuple[Box, ...]:
    """Read a bundle's ``disclosures`` map (boxes not opened, events not yet matched).

    Raises:
        DecodeError: not a map of 32-byte event hashes to non-empty lists of boxes, too many
            boxes, or a box with a missing, unknown or malformed field.
    """
    if not isinstance(value, cbor.MAPS):
        raise DecodeError(f"{what}: disclosures must be a map of event hashes to boxes")
    boxes: list[Box] = []
    for event, items in value.items():
        if not isinstance(event, bytes) or len(event) != HASH_SIZE:
            raise DecodeError(f"{what}: disclosures are keyed by {HASH_SIZE}-byte event hashes")
        if not isinstance(items, cbor.ARRAYS) or not 0 < len(items) <= MAX_BOXES_PER_EVENT:
            raise DecodeError(
                f"{what}: event {event.hex()[:16]}… needs 1 to {MAX_BOXES_PER_EVENT} boxes"
            )
        if len(boxes) + len(items) > MAX_BOXES:
            raise DecodeError(f"{what}: more than {MAX_BOXES} sealed boxes")
        where = f"{what} box of event {event.hex()[:16]}…"
        boxes.extend(_box(event, item, where) for item in items)
    if len({(b.event, b.digest, b.audience, b.kid) for b in boxes}) != len(boxes):
        raise DecodeError(f"{what}: a box is listed twice for one key")
    return tuple(boxes)


def _box(event: bytes, item: object, what: str) -> Box:
    if not isinstance(item, cbor.MAPS) or set(item) != _BOX_KEYS:
        raise DecodeError(f"{what}: a box is a map of {', '.join(sorted(_BOX_KEYS))}")
    fields: dict[str, Any] = dict(item)
    try:
        kem = Kem(fields["kem"])
    except ValueError:
        raise DecodeError(f"{what}: unknown KEM {fields['kem']!r}") from None
    field = fields["field"]
    if not isinstance(field, str) or not _FIELD.fullmatch(field):
        raise DecodeError(f"{what}: field must be a field name")
    try:
        audience = check_audience_name(fields["audience"])
    except SchemaError as exc:
        raise DecodeError(f"{what}: {exc}") from None
    for name in ("digest", "kid"):
        if not isinstance(fields[name], bytes) or len(fields[name]) != HASH_SIZE:
            raise DecodeError(f"{what}: {name} must be {HASH_SIZE} bytes")
    ct = fields["ct"]
    low = ENC_SIZE[kem] + TAG_SIZE
    if not isinstance(ct, bytes) or not low < len(ct) <= low + MAX_DISCLOSURE_SIZE:
        raise DecodeError(f"{what}: ct must be a {kem} ciphertext of a disclosure")
    return Box(event, fields["digest"], field, audience, kem, fields["kid"], ct)
