"""Disclosures: restricted values kept out of signed events, bound to them by salted digests.

A field sealed to an audience leaves the event's data; the data gains ``sealed``: the sorted
list of the SHA-256 digests (hex) of its disclosures, each the deterministic CBOR array
``[salt (16 random bytes), field name, value]``. The salt keeps a digest from confirming a
guess (a workshop's name, a price); the signature over the digest binds the value to its
event without the value ever entering a signed payload. The values travel beside the chain
(:mod:`passport.sealing`), where they can be withheld or erased.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from . import cbor, schema
from .errors import DecodeError, DisclosureError, EncodeError, SchemaError
from .events import Event, EventType

SALT_SIZE: Final = 16
MAX_DISCLOSURE_SIZE: Final = 16 * 1024
SEALED: Final = "sealed"

Salt = Callable[[], bytes]


def random_salt() -> bytes:
    """16 bytes from the operating system's random source: the salt of a disclosure."""
    import secrets  # noqa: PLC0415 - random, hmac and base64 load only to seal

    return secrets.token_bytes(SALT_SIZE)


@dataclass(frozen=True, eq=False)
class Disclosure:
    """One restricted value: its salt, field name and value, and the exact bytes digested."""

    salt: bytes
    field: str
    value: Any
    raw: bytes

    @property
    def digest(self) -> bytes:
        """SHA-256 of the disclosure's deterministic CBOR bytes: what the event signs."""
        return hashlib.sha256(self.raw).digest()


def disclose(field: str, value: Any, *, salt: bytes) -> Disclosure:
    """The disclosure of ``value`` as field ``field``, under ``salt``.

    Raises:
        SchemaError: a salt that is not 16 bytes, an empty field name, a value that is not
            plain JSON data, or a disclosure larger than ``MAX_DISCLOSURE_SIZE``.
    """
    if not isinstance(salt, bytes) or len(salt) != SALT_SIZE:
        raise SchemaError(f"a disclosure's salt is {SALT_SIZE} bytes")
    if not isinstance(field, str) or not field:
        raise SchemaError("a disclosure names its field")
    _check_json(value, field)
    try:
        raw = cbor.encode([salt, field, value])
    except EncodeError as exc:
        raise SchemaError(f"{field}: {exc}") from None
    if len(raw) > MAX_DISCLOSURE_SIZE:
        raise SchemaError(f"{field}: more than {MAX_DISCLOSURE_SIZE} bytes to seal")
    return Disclosure(salt, field, value, raw)


def parse_disclosure(data: bytes, *, what: str = "disclosure") -> Disclosure:
    """Read a disclosure from untrusted bytes (an opened box), strictly.

    Raises:
        DecodeError: not the deterministic CBOR array ``[salt, field, value]``.
    """
    value = cbor.decode(data, what=what, max_size=MAX_DISCLOSURE_SIZE)
    if not isinstance(value, cbor.ARRAYS) or len(value) != 3:
        raise DecodeError(f"{what}: expected the array [salt, field, value]")
    salt, field, content = value
    if not isinstance(salt, bytes) or len(salt) != SALT_SIZE:
        raise DecodeError(f"{what}: the salt must be {SALT_SIZE} bytes")
    if not isinstance(field, str) or not 0 < len(field) <= 64:
        raise DecodeError(f"{what}: the field name must be text of 1 to 64 characters")
    try:
        _check_json(content, field)
    except SchemaError as exc:
        raise DecodeError(f"{what}: {exc}") from None
    return Disclosure(salt, field, content, bytes(data))


def _check_json(value: object, where: str) -> None:
    """Plain JSON data only: text, integers, booleans, arrays, maps with text keys."""
    if isinstance(value, cbor.MAPS):
        for key, item in value.items():
            if not isinstance(key, str):
                raise SchemaError(f"{where}: a map key is not text")
            _check_json(item, f"{where}.{key}")
    elif isinstance(value, cbor.ARRAYS):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
    elif not isinstance(value, str | int):
        raise SchemaError(f"{where}: a {type(value).__name__} is not JSON data")


def split(
    event_type: EventType | str,
    data: Mapping[str, Any],
    fields: Iterable[str],
    *,
    salt: Salt = random_salt,
) -> tuple[dict[str, Any], tuple[Disclosure, ...]]:
    """Take ``fields`` out of an event's ``data``: (the data to sign, their disclosures).

    The whole data is checked against its schema first, so a value that would not be valid
    in clear is not sealed either. ``salt`` draws each disclosure's salt (fixed only in
    tests, for reproducible vectors).

    Raises:
        SchemaError: an unknown event type, a field its schema does not let be sealed (the
            GS1 identifier and owners never are), a field the data does not hold, data that
            already has a ``sealed`` list, or data that does not match its schema.
    """
    try:
        kind = EventType(event_type)
    except ValueError:
        raise SchemaError(f"unknown event type {event_type!r}") from None
    names = list(dict.fromkeys(fields))
    if not names:
        return dict(data), ()
    if SEALED in data:
        raise SchemaError(f"{kind} data: 'sealed' is written by sealing, not given")
    allowed = schema.sealable(kind)
    for name in names:
        if name not in allowed:
            may = ", ".join(sorted(allowed)) or "none"
            raise SchemaError(f"{kind} field {name!r} may not be sealed (fields that may: {may})")
        if name not in data:
            raise SchemaError(f"{kind} data has no field {name!r} to seal")
    schema.validate_event_data(kind, data, what=f"{kind} data")
    disclosures = tuple(disclose(name, data[name], salt=salt()) for name in names)
    public = {k: v for k, v in data.items() if k not in names}
    public[SEALED] = sorted(d.digest.hex() for d in disclosures)
    return public, disclosures


def sealed_digests(event: Event) -> frozenset[bytes]:
    """The digests an event signs in its ``sealed`` list (empty if it seals nothing)."""
    found = event.data.get(SEALED)
    if not isinstance(found, cbor.ARRAYS):
        return frozenset()
    try:
        return frozenset(bytes.fromhex(d) for d in found if isinstance(d, str))
    except ValueError:
        return frozenset()  # the data step refuses a malformed list


def reveal(event: Event, disclosures: Iterable[Disclosure]) -> dict[str, Any]:
    """The event's data with the opened ``disclosures`` in place of its ``sealed`` list.

    Raises:
        DisclosureError: a disclosure whose digest the event does not sign, a field the
            event's type may not seal, a field also given in clear or disclosed twice, or a
            value its schema refuses.
    """
    signed = sealed_digests(event)
    merged = {k: v for k, v in event.data.items() if k != SEALED}
    for item in disclosures:
        if item.digest not in signed:
            raise DisclosureError(
                f"{event.label()}: a disclosure of {item.field!r} that the event did not sign"
            )
        if item.field not in schema.sealable(event.type) or item.field in merged:
            raise DisclosureError(
                f"{event.label()}: field {item.field!r} cannot be disclosed here "
                "(not sealable, given in clear, or disclosed twice)"
            )
        merged[item.field] = item.value
    try:
        schema.validate_event_data(event.type, merged, what=event.label())
    except SchemaError as exc:
        raise DisclosureError(f"a disclosed value does not fit: {exc}") from None
    return merged
