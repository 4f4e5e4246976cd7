"""Version-1 wire layouts: the CBOR maps of events, certificates, revocation lists and bundles.

The only module that knows field names and byte layouts; the models in ``events``, ``certs``
and ``bundle`` never do. Parsing checks structure and ranges; signatures, authority and chain
rules are the verifier's job.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from . import cbor, cose, wire_boxes
from .bundle import Bundle, LogEntry, LogProof
from .certs import ROLE_PERMITS, Certificate, RevocationList, Role
from .errors import DecodeError
from .events import FORMAT_VERSION, MAX_SEQ, MAX_TIME, Event, EventType
from .keys import KID_SIZE, PUBLIC_KEY_SIZE

HASH_SIZE: Final = 32
MAX_BUNDLE_SIZE: Final = 16 * 1024 * 1024
MAX_EVENTS: Final = 2_000
MAX_RECORDS: Final = 1_000
MAX_REVOKED: Final = 100_000
MAX_REVOCATIONS_SIZE: Final = 4 * 1024 * 1024
MAX_PROOF_PATH: Final = 64
# Every item a bundle may hold at its limits (events, records, keys, log proofs, sealed boxes
# with their event keys and lists), with room.
MAX_BUNDLE_ITEMS: Final = (
    20
    + 3 * MAX_RECORDS
    + MAX_EVENTS * (6 + MAX_PROOF_PATH)
    + wire_boxes.MAX_BOXES * wire_boxes.ITEMS_PER_BOX
)

_EVENT_KEYS: Final = frozenset({"v", "pid", "seq", "prev", "type", "time", "data"})
_CERT_KEYS: Final = frozenset({"v", "key", "name", "role", "types", "nbf", "exp"})
_REVOCATION_KEYS: Final = frozenset({"v", "number", "issued", "revoked"})
_BUNDLE_KEYS: Final = frozenset(
    {"v", "events", "certs", "keys", "revocations", "log", "disclosures"}
)


# -- helpers -------------------------------------------------------------------------------


def _map(
    value: object, keys: frozenset[str], required: Iterable[str], what: str
) -> Mapping[str, Any]:
    if not isinstance(value, cbor.MAPS):
        raise DecodeError(f"{what}: expected a map")
    unknown = set(value) - keys
    if unknown:
        raise DecodeError(f"{what}: unknown field {sorted(map(str, unknown))[0]!r}")
    for name in required:
        if name not in value:
            raise DecodeError(f"{what}: missing field {name!r}")
    if value["v"] != FORMAT_VERSION or isinstance(value["v"], bool):
        raise DecodeError(f"{what}: format version {value['v']!r} not supported (expected 1)")
    return value


def _int(value: object, low: int, high: int, name: str, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise DecodeError(f"{what}: {name} must be an integer")
    if not low <= value <= high:
        raise DecodeError(f"{what}: {name} {value} out of range [{low}, {high}]")
    return value


def _bytes(value: object, size: int, name: str, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise DecodeError(f"{what}: {name} must be {size} bytes")
    return value


def _text(value: object, name: str, what: str, limit: int = 200) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise DecodeError(f"{what}: {name} must be text of 1 to {limit} characters")
    return value


def _array(value: object, limit: int, name: str, what: str) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, cbor.ARRAYS):
        raise DecodeError(f"{what}: {name} must be an array")
    if len(value) > limit:
        raise DecodeError(f"{what}: {name} has {len(value)} items, more than {limit}")
    return value


def _json_like(value: object) -> bool:
    """The fast path of :func:`_check_json_like` (exact types, no paths); False means "ask it"."""
    kind = type(value)
    if kind is dict:
        mapping: dict[Any, Any] = value  # type: ignore[assignment]
        if set(map(type, mapping)) - _TEXT:
            return False
        items = mapping.values()
    elif kind is list:
        items = value  # type: ignore[assignment]
    else:
        return kind is str or kind is int or kind is bool
    for item in items:
        item_kind = type(item)
        if item_kind is not str and item_kind is not int and not _json_like(item):
            return False
    return True


_TEXT: Final = frozenset({str})
_BYTES: Final = frozenset({bytes})
_HASH_SIZES: Final = frozenset({HASH_SIZE})


def _check_json_like(value: object, path: str, what: str) -> None:
    """Event data must also be plain JSON: text keys, strings, integers, booleans, arrays, maps."""
    if isinstance(value, cbor.MAPS):
        for key, item in value.items():
            if not isinstance(key, str):
                raise DecodeError(f"{what}: data key {key!r} at {path} is not text")
            _check_json_like(item, f"{path}.{key}", what)
    elif isinstance(value, cbor.ARRAYS):
        for i, item in enumerate(value):
            _check_json_like(item, f"{path}[{i}]", what)
    elif not isinstance(value, str | int):
        raise DecodeError(f"{what}: data value at {path} is {type(value).__name__}, not JSON")


# -- events --------------------------------------------------------------------------------


def event_payload(
    *,
    seq: int,
    type: EventType,
    time: int,
    data: Mapping[str, Any],
    pid: bytes | None,
    prev: bytes | None,
) -> tuple[bytes, Mapping[str, Any]]:
    """The deterministic CBOR payload of an event, and a fresh copy of its data as read back."""
    fields: dict[str, object] = {
        "v": FORMAT_VERSION,
        "seq": seq,
        "type": str(type),
        "time": time,
        "data": data,
    }
    if pid is not None:
        fields["pid"] = pid
    if prev is not None:
        fields["prev"] = prev
    payload, copy = cbor.encode_copy(fields)
    return payload, copy["data"]  # type: ignore[index]


def parse_event(data: bytes, *, what: str = "event") -> Event:
    """Parse one event's COSE_Sign1 bytes into an :class:`Event` (signature not checked).

    Raises:
        DecodeError: the record or its payload is malformed or out of range.
    """
    record = cose.parse(data, content_type=cose.CT_EVENT, what=what)
    return event_from_record(record, what=what)


def event_from_record(record: cose.Sign1, *, what: str = "event") -> Event:
    """Read the payload of an already parsed event record.

    Raises:
        DecodeError: the payload is malformed or out of range.
    """
    fields = _map(
        cbor.decode(record.payload, what=f"{what} payload"),
        _EVENT_KEYS,
        ("v", "seq", "type", "time", "data"),
        f"{what} payload",
    )
    seq = _int(fields["seq"], 0, MAX_SEQ, "seq", what)
    try:
        kind = EventType(fields["type"])
    except ValueError:
        raise DecodeError(f"{what}: unknown event type {fields['type']!r}") from None
    time = _int(fields["time"], 0, MAX_TIME, "time", what)
    data = fields["data"]
    if not isinstance(data, cbor.MAPS):
        raise DecodeError(f"{what}: data must be a map")
    if not _json_like(data):
        _check_json_like(data, "data", what)
    if seq == 0:
        if "pid" in fields or "prev" in fields:
            raise DecodeError(f"{what}: the first event carries no pid or prev")
        return Event(record, seq, kind, time, data)
    pid = _bytes(fields.get("pid"), HASH_SIZE, "pid", what)
    prev = _bytes(fields.get("prev"), HASH_SIZE, "prev", what)
    return Event(record, seq, kind, time, data, pid, prev)


# -- certificates and revocation lists ----------------------------------------------------


def certificate_payload(
    *, subject: bytes, name: str, role: Role, types: Iterable[EventType], nbf: int, exp: int
) -> bytes:
    """The deterministic CBOR payload of a delegation certificate."""
    return cbor.encode(
        {
            "v": FORMAT_VERSION,
            "key": subject,
            "name": name,
            "role": str(role),
            "types": sorted(str(t) for t in types),
            "nbf": nbf,
            "exp": exp,
        }
    )


def parse_certificate(data: bytes, *, what: str = "certificate") -> Certificate:
    """Parse a delegation certificate (signature not checked).

    Raises:
        DecodeError: malformed, unknown role or event type, types the role may not hold,
            or an empty validity window.
    """
    data = bytes(data)
    cached = _CERTIFICATES.get(data)
    if cached is not None:
        return cached
    cert = _parse_certificate(data, what=what)
    if len(_CERTIFICATES) >= MAX_CACHED_CERTIFICATES:
        _CERTIFICATES.clear()
    _CERTIFICATES[data] = cert
    return cert


# The same certificates recur across bundles; a parse depends on the bytes alone.
MAX_CACHED_CERTIFICATES: Final = 1024
_CERTIFICATES: dict[bytes, Certificate] = {}


def _parse_certificate(data: bytes, *, what: str) -> Certificate:
    """Parse a delegation certificate (signature not checked).

    Raises:
        DecodeError: malformed, unknown role or event type, types the role may not hold,
            or an empty validity window.
    """
    record = cose.parse(data, content_type=cose.CT_CERT, what=what)
    fields = _map(
        cbor.decode(record.payload, what=f"{what} payload"),
        _CERT_KEYS,
        _CERT_KEYS,
        f"{what} payload",
    )
    subject = _bytes(fields["key"], PUBLIC_KEY_SIZE, "key", what)
    name = _text(fields["name"], "name", what)
    try:
        role = Role(fields["role"])
        types = frozenset(EventType(t) for t in _array(fields["types"], 16, "types", what))
    except (ValueError, TypeError):
        raise DecodeError(f"{what}: unknown role or event type") from None
    if len(types) != len(fields["types"]) or sorted(fields["types"]) != list(fields["types"]):
        raise DecodeError(f"{what}: types must be sorted and distinct")
    if not types or not types <= ROLE_PERMITS[role]:
        extra = ", ".join(sorted(types - ROLE_PERMITS[role])) or "none given"
        raise DecodeError(f"{what}: a {role} may not be granted these event types: {extra}")
    nbf = _int(fields["nbf"], 0, MAX_TIME, "nbf", what)
    exp = _int(fields["exp"], 0, MAX_TIME, "exp", what)
    if exp <= nbf:
        raise DecodeError(f"{what}: exp must come after nbf")
    return Certificate(record, subject, name, role, types, nbf, exp)


def revocations_payload(*, number: int, issued: int, revoked: Mapping[bytes, int]) -> bytes:
    """The deterministic CBOR payload of a revocation list."""
    return cbor.encode(
        {"v": FORMAT_VERSION, "number": number, "issued": issued, "revoked": dict(revoked)}
    )


def parse_revocations(data: bytes, *, what: str = "revocation list") -> RevocationList:
    """Parse a revocation list (signature not checked).

    Raises:
        DecodeError: malformed, or a number, time or key id out of range.
    """
    record = cose.parse(
        data, content_type=cose.CT_REVOCATIONS, what=what, max_size=MAX_REVOCATIONS_SIZE
    )
    fields = _map(
        cbor.decode(
            record.payload,
            what=f"{what} payload",
            max_size=MAX_REVOCATIONS_SIZE,
            max_items=2 * MAX_REVOKED + 16,
        ),
        _REVOCATION_KEYS,
        _REVOCATION_KEYS,
        f"{what} payload",
    )
    number = _int(fields["number"], 1, 2**63 - 1, "number", what)
    issued = _int(fields["issued"], 0, MAX_TIME, "issued", what)
    revoked = fields["revoked"]
    if not isinstance(revoked, cbor.MAPS) or len(revoked) > MAX_REVOKED:
        raise DecodeError(f"{what}: revoked must be a map of at most {MAX_REVOKED} key ids")
    entries = {
        _bytes(kid, KID_SIZE, "revoked key id", what): _int(
            t, 0, MAX_TIME, "revoked-from time", what
        )
        for kid, t in revoked.items()
    }
    return RevocationList(record, number, issued, entries)


# -- bundles -------------------------------------------------------------------------------


def bundle_to_bytes(bundle: Bundle) -> bytes:
    """The bundle as deterministic CBOR (``application/vnd.dpp.bundle+cbor``)."""
    fields: dict[str, object] = {
        "v": FORMAT_VERSION,
        "events": [e.raw for e in bundle.events],
        "certs": [c.record.raw for c in bundle.certs],
        "keys": list(bundle.keys),
        "revocations": [r.record.raw for r in bundle.revocations],
    }
    if bundle.log is not None:
        fields["log"] = {
            "checkpoint": bundle.log.checkpoint,
            "proofs": [{"index": p.index, "path": list(p.path)} for p in bundle.log.proofs],
        }
    if bundle.disclosures:  # optional: a bundle without restricted data reads as before
        fields["disclosures"] = wire_boxes.boxes_to_wire(bundle.disclosures)
    return cbor.encode(fields)


def parse_bundle(data: bytes, *, what: str = "bundle") -> Bundle:
    """Parse a bundle and every record in it (signatures not checked).

    Raises:
        DecodeError: the bundle or any record in it is malformed; the message says which.
    """
    fields = _map(
        cbor.decode(data, what=what, max_size=MAX_BUNDLE_SIZE, max_items=MAX_BUNDLE_ITEMS),
        _BUNDLE_KEYS,
        ("v", "events", "certs", "keys", "revocations"),
        what,
    )
    raw_events = _array(fields["events"], MAX_EVENTS, "events", what)
    if not raw_events:
        raise DecodeError(f"{what}: holds no events")
    events = tuple(
        parse_event(_record(r, f"{what} event {i}"), what=f"{what} event {i}")
        for i, r in enumerate(raw_events)
    )
    certs = tuple(
        parse_certificate(_record(r, f"{what} certificate {i}"), what=f"{what} certificate {i}")
        for i, r in enumerate(_array(fields["certs"], MAX_RECORDS, "certs", what))
    )
    keys = tuple(
        _bytes(k, PUBLIC_KEY_SIZE, f"keys[{i}]", what)
        for i, k in enumerate(_array(fields["keys"], MAX_RECORDS, "keys", what))
    )
    revocations = tuple(
        parse_revocations(
            _record(r, f"{what} revocation list {i}"), what=f"{what} revocation list {i}"
        )
        for i, r in enumerate(_array(fields["revocations"], MAX_RECORDS, "revocations", what))
    )
    log = _parse_log(fields["log"], len(events), what) if "log" in fields else None
    boxes = (
        wire_boxes.parse_boxes(fields["disclosures"], what=what) if "disclosures" in fields else ()
    )
    return Bundle(events, certs, keys, revocations, log, boxes)


def _record(value: object, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise DecodeError(f"{what}: must be a byte string holding a COSE_Sign1 record")
    return value


def _parse_log(value: object, count: int, what: str) -> LogEntry:
    if not isinstance(value, cbor.MAPS) or set(value) != {"checkpoint", "proofs"}:
        raise DecodeError(f"{what}: log must be a map of checkpoint and proofs")
    checkpoint = _text(value["checkpoint"], "log checkpoint", what, limit=8192)
    proofs = _array(value["proofs"], MAX_EVENTS, "log proofs", what)
    if not 0 < len(proofs) <= count:
        # One per event, for the first ones: events appended offline (a resale from the
        # bundle file) are not in the log until a ledger logs them.
        raise DecodeError(
            f"{what}: log has {len(proofs)} proofs for {count} events "
            "(one per event, for the first events, at least one)"
        )
    parsed = []
    for i, proof in enumerate(proofs):
        if not isinstance(proof, cbor.MAPS) or set(proof) != {"index", "path"}:
            raise DecodeError(f"{what}: log proof {i} must be a map of index and path")
        index = _int(proof["index"], 0, 2**63 - 1, f"log proof {i} index", what)
        path = tuple(_array(proof["path"], MAX_PROOF_PATH, f"log proof {i} path", what))
        if set(map(type, path)) - _BYTES or set(map(len, path)) - _HASH_SIZES:
            raise DecodeError(f"{what}: log proof {i} hash must be {HASH_SIZE} bytes")
        parsed.append(LogProof(index, path))
    return LogEntry(checkpoint, tuple(parsed))
