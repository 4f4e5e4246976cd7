"""Making signed records: issue a passport, append events, delegate, revoke.

Every record is checked before it is signed (schema, ranges, chain position), so a key never
signs something the verifier would refuse to read. Whether the signer is *entitled* to sign it
is a question about the chain, answered by :mod:`passport.verify`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from . import cose, schema, wire
from .certs import ROLE_DEFAULTS, ROLE_PERMITS, Certificate, RevocationList, Role
from .errors import AuthorityError, EncodeError, SchemaError
from .events import MAX_SEQ, MAX_TIME, Event, EventType
from .keys import KID_SIZE, PublicKey, SigningKey


def _check_time(time: int, name: str = "time") -> None:
    if isinstance(time, bool) or not isinstance(time, int) or not 0 <= time <= MAX_TIME:
        raise SchemaError(f"{name} must be Unix seconds between 0 and {MAX_TIME}, got {time!r}")


def issue(key: SigningKey, data: Mapping[str, Any], *, time: int) -> Event:
    """Issue a passport: sign its production event (seq 0). The passport id is its hash.

    Raises:
        SchemaError: the production data does not match ``schemas/production.json``.
    """
    return sign_event(key, EventType.PRODUCTION, data, time=time, after=None)


def sign_event(
    key: SigningKey,
    type: EventType | str,
    data: Mapping[str, Any],
    *,
    time: int,
    after: Event | None,
) -> Event:
    """Sign an event of ``type`` that follows ``after`` (None for the first event).

    Raises:
        SchemaError: unknown type, data not matching the type's schema, a time out of range,
            a production event that does not start a chain, or an event that would precede
            the one it follows.
    """
    try:
        kind = EventType(type)
    except ValueError:
        raise SchemaError(f"unknown event type {type!r}") from None
    _check_time(time)
    if (kind is EventType.PRODUCTION) != (after is None):
        raise SchemaError("a chain starts with exactly one production event")
    seq = 0 if after is None else after.seq + 1
    if seq > MAX_SEQ:
        raise SchemaError("the chain is at its maximum length")
    if after is not None and time < after.time:
        raise SchemaError(f"time {time} is before the previous event's time {after.time}")
    what = f"{kind} data"
    try:
        payload, fresh = wire.event_payload(
            seq=seq,
            type=kind,
            time=time,
            data=data,
            pid=None if after is None else after.pid,
            prev=None if after is None else after.hash,
        )
    except EncodeError as exc:
        raise SchemaError(f"{what}: {exc}") from None
    schema.validate_event_data(kind, data, what=what)
    # ``fresh`` is the data as a verifier reads it back, not the caller's dict (which may
    # change after this returns).
    record = cose.sign(key, cose.CT_EVENT, payload)
    if after is None:
        return Event(record, seq, kind, time, fresh)
    return Event(record, seq, kind, time, fresh, after.pid, after.hash)


def delegate(
    root: SigningKey,
    subject: PublicKey,
    *,
    name: str,
    role: Role | str,
    nbf: int,
    exp: int,
    types: Iterable[EventType | str] | None = None,
) -> Certificate:
    """Sign a delegation certificate granting ``subject`` the right to sign ``types``.

    Raises:
        SchemaError: unknown role or type, types the role may not hold, a bad window or name.
        AuthorityError: the subject is the root key itself.
    """
    try:
        kind = Role(role)
        granted = ROLE_DEFAULTS[kind] if types is None else frozenset(EventType(t) for t in types)
    except ValueError as exc:
        raise SchemaError(f"certificate: {exc}") from None
    if not granted <= ROLE_PERMITS[kind] or not granted:
        allowed = ", ".join(sorted(ROLE_PERMITS[kind]))
        raise SchemaError(f"certificate: a {kind} may sign only {allowed}")
    _check_time(nbf, "nbf")
    _check_time(exp, "exp")
    if exp <= nbf:
        raise SchemaError("certificate: the validity window ends before it starts")
    if not isinstance(name, str) or not 0 < len(name) <= 200:
        raise SchemaError("certificate: name must be text of 1 to 200 characters")
    if subject.kid == root.kid:
        raise AuthorityError("a root key does not delegate to itself")
    payload = wire.certificate_payload(
        subject=subject.raw, name=name, role=kind, types=granted, nbf=nbf, exp=exp
    )
    return wire.parse_certificate(cose.sign(root, cose.CT_CERT, payload).raw)


def revoke(
    root: SigningKey, *, number: int, issued: int, revoked: Mapping[bytes, int]
) -> RevocationList:
    """Sign revocation list ``number`` (higher than any before it) of ``revoked`` kids.

    Raises:
        SchemaError: a number below 1, a time out of range, or a malformed key id.
    """
    if isinstance(number, bool) or not isinstance(number, int) or number < 1:
        raise SchemaError("a revocation list number is an integer from 1 up")
    _check_time(issued, "issued")
    for kid, since in revoked.items():
        if not isinstance(kid, bytes) or len(kid) != KID_SIZE:
            raise SchemaError("revoked key ids are 32 bytes")
        _check_time(since, "revoked-from time")
    payload = wire.revocations_payload(number=number, issued=issued, revoked=revoked)
    return wire.parse_revocations(cose.sign(root, cose.CT_REVOCATIONS, payload).raw)
