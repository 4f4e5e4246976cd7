"""The UNTP passport credential secured as COSE_Sign1 (W3C VC-JOSE-COSE), and its verification.

A secured credential is ``application/vc+cose``: a COSE_Sign1 whose payload is the credential's
JSON bytes, protected header ``{1: -19, 3: "application/vc", 4: kid, 16: "application/vc+cose"}``
(Ed25519 as everywhere here; typ per RFC 9596). It is recognised by its first byte, CBOR tag 18,
where a bundle starts with a map.

Verifying it against the passport it names, in order: 1. read it strictly; 2. the passport
verifies; 3. the signer is the root that issued the passport, or a delegate that root certified,
valid and not revoked when the credential was issued; 4. the signature; 5. the credential is the
one the passport's events up to the head it names give, field for field (the issuer's name
aside: a name is the issuer's label, its key is its identity).
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from . import cose
from .bundle import Bundle
from .certs import RevocationList
from .epcis import require_verified
from .errors import AuthorityError, CredentialError, DecodeError, TrustError
from .events import Event
from .keyring import Keyring
from .keys import PublicKey, SigningKey
from .report import Report, format_time
from .trust import TrustedRoot, TrustStore
from .untp import VC_MEDIA_TYPE, build, credential_id
from .uris import passport_urn

SECURED_MEDIA_TYPE: Final = "application/vc+cose"
MAX_CREDENTIAL_SIZE: Final = 2 * 1024 * 1024
COSE_SIGN1_FIRST_BYTE: Final = bytes([0xC0 | cose.COSE_SIGN1_TAG])


@dataclass(frozen=True)
class SignedCredential:
    """A secured credential as read: its COSE_Sign1 record and the credential it carries."""

    record: cose.Sign1
    credential: Mapping[str, Any]


@dataclass(frozen=True)
class CredentialCheck:
    """What a verified credential was found to be."""

    pid: bytes
    events: int  # how many of the passport's events it describes (its head is the last)
    signer: str
    issued: int


def credential_bytes(credential: Mapping[str, Any]) -> bytes:
    """The credential as compact UTF-8 JSON, the form it is signed and written in."""
    text = json.dumps(credential, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.encode("utf-8")


def sign_credential(key: SigningKey, credential: Mapping[str, Any]) -> bytes:
    """Secure ``credential`` as ``application/vc+cose`` under ``key``."""
    record = cose.sign(key, VC_MEDIA_TYPE, credential_bytes(credential), typ=SECURED_MEDIA_TYPE)
    return record.raw


def looks_secured(data: bytes) -> bool:
    """Whether ``data`` starts as a COSE_Sign1 does (a bundle starts with a CBOR map)."""
    return cose.starts_as_sign1(data)


def read_credential(data: bytes, *, what: str = "credential") -> SignedCredential:
    """Read a secured credential strictly (the signature is not checked here).

    Raises:
        DecodeError: not a COSE_Sign1 with the VC-JOSE-COSE headers, too large, or a payload
            that is not one JSON object in UTF-8 (duplicate keys, NaN and the like refused).
    """
    record = cose.parse(
        data,
        content_type=VC_MEDIA_TYPE,
        typ=SECURED_MEDIA_TYPE,
        what=what,
        max_size=MAX_CREDENTIAL_SIZE,
    )
    try:
        value = json.loads(
            record.payload.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise DecodeError(f"{what}: the payload is not a JSON credential ({exc})") from None
    if not isinstance(value, dict):
        raise DecodeError(f"{what}: the payload is not a JSON object")
    return SignedCredential(record, value)


def check_credential(
    signed: SignedCredential,
    bundle: Bundle,
    report: Report,
    trust: TrustStore,
    *,
    now: int,
    skew: int = 300,
    known_revocations: Iterable[RevocationList] = (),
) -> CredentialCheck:
    """Check a secured credential against the verified passport it names (steps: module doc).

    Raises:
        DppError: the passport itself does not verify (its own error).
        CredentialError: it names another passport or an event the bundle lacks, its time
            is not a time or is in the future, or a field differs from the passport's.
        SignatureError: the signature does not verify.
        AuthorityError: the signer is not the issuing root nor a delegate it certified, valid
            and unrevoked when the credential was issued.
    """
    require_verified(bundle, report)
    credential = signed.credential
    events = _named_events(credential, bundle)
    issued = _issued(credential, events, now + skew)
    root = trust.root(report.brand_key or b"")
    if root is None:  # the report is valid, so its root is trusted
        raise TrustError("the passport's issuing root is not in the trust store")
    keyring = Keyring(trust)
    keyring.add_certificates(bundle.certs)
    keyring.add_revocations(bundle.revocations, tuple(known_revocations))
    signer = _authority(signed.record, root, keyring, issued)
    expected = build(events, root, issued=issued)
    expected["issuer"] = {**expected["issuer"], "name": _issuer_name(credential)}
    difference = _first_difference(credential, expected, "")
    if difference is not None:
        raise CredentialError(f"the credential says otherwise than the passport at {difference}")
    return CredentialCheck(events[0].pid, len(events), signer, issued)


def _named_events(credential: Mapping[str, Any], bundle: Bundle) -> tuple[Event, ...]:
    """The passport's events up to the head the credential's ``id`` names."""
    pid = bundle.events[0].pid
    subject = credential.get("credentialSubject")
    named = subject.get("id") if isinstance(subject, dict) else None
    if named != passport_urn(pid):
        raise CredentialError(
            f"the credential names {str(named)[:90]!r}, not this bundle's passport {pid.hex()}"
        )
    for count, event in enumerate(bundle.events, start=1):
        if credential.get("id") == credential_id(pid, event.hash):
            return bundle.events[:count]
    raise CredentialError(
        f"the credential's id {str(credential.get('id'))[:160]!r} names no event of this passport"
    )


def _issued(credential: Mapping[str, Any], events: tuple[Event, ...], latest: int) -> int:
    text = credential.get("validFrom")
    try:
        moment = datetime.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise CredentialError(f"validFrom {str(text)[:40]!r} is not a UTC time") from None
    issued = int(moment.replace(tzinfo=datetime.UTC).timestamp())
    if format_time(issued) != text:
        raise CredentialError(f"validFrom {text!r} is not a UTC time")
    if issued < events[-1].time or issued > latest:
        raise CredentialError(
            f"validFrom {text} is before the last event it describes, or in the future"
        )
    return issued


def _authority(record: cose.Sign1, root: TrustedRoot, keyring: Keyring, issued: int) -> str:
    """Check signer and signature; the signer as people read it."""
    if record.kid == root.key.kid:
        record.verify(root.key)
        return f"{root.brand} (brand root)"
    other = keyring.trust.root(record.kid)
    if other is not None:
        raise AuthorityError(
            f"signed by the root key of {other.describe()}, but {root.describe()} issued "
            "the passport"
        )
    certs = [c for c in keyring.certs.get(record.kid, []) if c.issuer == root.key.kid]
    if not certs:
        raise AuthorityError(
            f"signer {record.kid.hex()[:16]}… holds no certificate from {root.describe()} "
            "in the bundle: a credential is signed by the brand or a delegate it certified"
        )
    reasons = []
    for cert in certs:
        since = keyring.revoked_from(cert)
        if not cert.in_window(issued):
            reasons.append(f"'{cert.name}' was not certified at {format_time(issued)}")
        elif since is not None and issued >= since:
            reasons.append(f"'{cert.name}' was revoked from {format_time(since)}")
        else:
            record.verify(PublicKey.from_bytes(cert.subject))
            return f"{cert.name} ({cert.role} of {root.brand})"
    raise AuthorityError("; ".join(reasons))


def _issuer_name(credential: Mapping[str, Any]) -> Any:
    issuer = credential.get("issuer")
    return issuer.get("name") if isinstance(issuer, dict) else None


def _first_difference(found: object, expected: object, path: str) -> str | None:
    """The path of the first place where ``found`` and ``expected`` differ, if any."""
    if isinstance(expected, dict) and isinstance(found, dict):
        return _dict_difference(found, expected, path)
    if isinstance(expected, list) and isinstance(found, list):
        if len(found) != len(expected):
            return f"{path} (length)"
        for i, (a, b) in enumerate(zip(found, expected, strict=True)):
            deeper = _first_difference(a, b, f"{path}[{i}]")
            if deeper is not None:
                return deeper
        return None
    if type(found) is not type(expected) or found != expected:
        return path or "the top level"
    return None


def _dict_difference(found: dict[Any, Any], expected: dict[Any, Any], path: str) -> str | None:
    for key in sorted(set(expected) | set(found), key=str):
        where = f"{path}.{key}".lstrip(".")[:200]
        if key not in found or key not in expected:
            return where
        deeper = _first_difference(found[key], expected[key], where)
        if deeper is not None:
            return deeper
    return None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key[:40]!r} is given twice")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")
