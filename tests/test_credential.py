"""The UNTP credential secured as COSE_Sign1 (VC-JOSE-COSE): who may sign it, what must match."""

from __future__ import annotations

import json
from typing import Any

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.passport import cbor, cose
from dpp_ledger.passport.credential import (
    MAX_CREDENTIAL_SIZE,
    SECURED_MEDIA_TYPE,
    check_credential,
    credential_bytes,
    looks_secured,
    read_credential,
    sign_credential,
)
from dpp_ledger.passport.untp import VC_MEDIA_TYPE, credential
from tests.world import DAY, T0, YEAR, World

W = World()
SOLD = W.sold()
BUNDLE = W.bundle(SOLD)
REPORT = W.verify(BUNDLE)
ROOT = W.trust.root(W.brand.kid)
assert ROOT is not None
ISSUED = SOLD[-1].time + DAY
NOW = ISSUED + DAY
CREDENTIAL = credential(BUNDLE, REPORT, ROOT, issued=ISSUED)


def _check(data: bytes, bundle: pp.Bundle = BUNDLE, **kwargs: Any) -> Any:
    report = W.verify(bundle, now=NOW)
    return check_credential(read_credential(data), bundle, report, W.trust, now=NOW, **kwargs)


def _changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(credential_bytes(CREDENTIAL))
    holder = copy
    for key in path[:-1]:
        holder = holder[key]
    holder[path[-1]] = value
    return copy


def test_a_credential_signed_by_the_factory_or_the_brand_verifies() -> None:
    data = sign_credential(W.factory, CREDENTIAL)
    assert looks_secured(data)
    assert not looks_secured(pp.bundle_to_bytes(BUNDLE))
    signed = read_credential(data)
    assert signed.credential == CREDENTIAL
    found = _check(data)
    assert (found.pid, found.events, found.issued) == (SOLD[0].pid, 3, ISSUED)
    assert found.signer == "Atelier Firenze (factory of Maison Example)"
    assert _check(sign_credential(W.brand, CREDENTIAL)).signer == "Maison Example (brand root)"


def test_the_headers_are_those_vc_jose_cose_names() -> None:
    record = read_credential(sign_credential(W.factory, CREDENTIAL)).record
    header = cbor.decode(record.protected, what="header")
    assert header == {1: -19, 3: VC_MEDIA_TYPE, 4: W.factory.kid, 16: SECURED_MEDIA_TYPE}
    assert json.loads(record.payload) == CREDENTIAL


def test_a_credential_of_an_earlier_head_still_matches_the_longer_passport() -> None:
    early = W.bundle(SOLD[:2])
    old = credential(early, W.verify(early), ROOT, issued=SOLD[1].time)
    assert _check(sign_credential(W.factory, old)).events == 2


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("credentialSubject", "product", "name"), "Sac 30", "product.name"),
        (("credentialSubject", "product", "serialNumber"), "MX-9", "serialNumber"),
        (("issuer", "id"), "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH", "issuer.id"),
        (("credentialSubject", "granularityLevel"), "model", "granularityLevel"),
        (("credentialSubject", "id"), "urn:dpp:passport:" + "0" * 64, "names 'urn:dpp"),
        (("id",), "urn:dpp:credential:x", "names no event"),
        (("validFrom",), "2026-01-05T00:00:00+01:00", "not a UTC time"),
        (("validFrom",), "2099-01-01T00:00:00Z", "in the future"),
        (("validFrom",), "2025-01-01T00:00:00Z", "before the last event"),
    ],
    ids=lambda v: str(v)[:24],
)
def test_a_credential_that_says_otherwise_is_refused(
    path: tuple[str, ...], value: Any, message: str
) -> None:
    forged = sign_credential(W.factory, _changed(path, value))
    with pytest.raises(pp.DppError, match=message):
        _check(forged)


def test_the_issuer_name_is_a_label_the_verifier_may_not_share() -> None:
    relabelled = sign_credential(W.factory, _changed(("issuer", "name"), "Maison E."))
    assert _check(relabelled).events == 3


def test_a_credential_for_another_item_is_refused() -> None:
    other = W.then(
        W.issue({**SOLD[0].data, "serial": "OTHER-1"}),
        W.boutique,
        "sale",
        {"owner": W.alice.kid.hex(), "channel": "boutique"},
    )
    with pytest.raises(pp.CredentialError, match="not this bundle's passport"):
        _check(sign_credential(W.factory, CREDENTIAL), W.bundle(other))


@pytest.mark.parametrize(
    ("signer", "error", "message"),
    [
        ("alice", pp.AuthorityError, "holds no certificate from 'Maison Example'"),
        ("rival", pp.AuthorityError, "root key of 'Rival'"),
        ("rival_factory", pp.AuthorityError, "holds no certificate from 'Maison Example'"),
        ("carol", pp.AuthorityError, "holds no certificate"),
    ],
)
def test_only_the_issuing_root_or_its_delegates_may_sign(
    signer: str, error: type[pp.DppError], message: str
) -> None:
    with pytest.raises(error, match=message):
        _check(sign_credential(getattr(W, signer), CREDENTIAL))


def test_a_revoked_or_expired_delegate_may_not_sign() -> None:
    revoked = pp.revoke(W.brand, number=1, issued=ISSUED, revoked={W.factory.kid: ISSUED - 1})
    bundle = W.bundle(SOLD, revocations=(revoked,))
    # The passport itself stays valid: the factory signed event 0 before its revocation.
    with pytest.raises(pp.AuthorityError, match="revoked from"):
        _check(sign_credential(W.factory, CREDENTIAL), bundle)
    late = credential(BUNDLE, REPORT, ROOT, issued=T0 + 6 * YEAR)
    with pytest.raises(pp.AuthorityError, match="was not certified at"):
        check_credential(
            read_credential(sign_credential(W.factory, late)),
            BUNDLE,
            W.verify(BUNDLE, now=T0 + 6 * YEAR),
            W.trust,
            now=T0 + 6 * YEAR,
        )


def test_a_changed_byte_breaks_the_signature() -> None:
    data = bytearray(sign_credential(W.factory, CREDENTIAL))
    data[-1] ^= 1
    with pytest.raises(pp.SignatureError):
        _check(bytes(data))


def test_an_invalid_passport_gives_no_credential_a_pass() -> None:
    revoked = pp.revoke(W.brand, number=1, issued=ISSUED, revoked={W.boutique.kid: T0})
    bundle = W.bundle(SOLD, revocations=(revoked,))
    with pytest.raises(pp.AuthorityError, match="revoked by Maison Example"):
        _check(sign_credential(W.factory, CREDENTIAL), bundle)


def _record(payload: bytes, *, content_type: str = VC_MEDIA_TYPE, typ: str | None = None) -> bytes:
    return cose.sign(W.factory, content_type, payload, typ=typ).raw


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xa0", "COSE_Sign1"),
        (SOLD[0].raw, "content type"),
        (_record(b"{}"), "unexpected|typ"),
        (_record(b"{}", typ="application/vc+jwt"), "typ"),
        (_record(b"{}", content_type="application/json", typ=SECURED_MEDIA_TYPE), "content type"),
        (_record(b"[1]", typ=SECURED_MEDIA_TYPE), "not a JSON object"),
        (_record(b'{"a":1,"a":2}', typ=SECURED_MEDIA_TYPE), "given twice"),
        (_record(b'{"a":NaN}', typ=SECURED_MEDIA_TYPE), "not a JSON number"),
        (_record(b'{"a":"\xff"}', typ=SECURED_MEDIA_TYPE), "not a JSON credential"),
        (_record(b"[" * 100_000, typ=SECURED_MEDIA_TYPE), "not a JSON"),
        (sign_credential(W.factory, CREDENTIAL) + b"\0", "trailing|extra|bytes"),
        (b"\xd2" + b"\0" * MAX_CREDENTIAL_SIZE, "larger|size|bytes"),
    ],
    ids=[
        "empty",
        "a-map",
        "an-event",
        "no-typ",
        "other-typ",
        "other-content-type",
        "array",
        "duplicate-key",
        "nan",
        "not-utf8",
        "deep",
        "trailing",
        "too-large",
    ],
)
def test_unreadable_credentials_are_refused_in_one_line(data: bytes, message: str) -> None:
    with pytest.raises(pp.DecodeError, match=message) as caught:
        read_credential(data)
    assert "\n" not in str(caught.value)


def test_a_typ_header_is_refused_where_the_format_has_none() -> None:
    event_with_typ = cose.sign(W.factory, cose.CT_EVENT, SOLD[0].record.payload, typ="x").raw
    with pytest.raises(pp.DecodeError, match="unexpected protected header parameter 16"):
        pp.parse_event(event_with_typ)
