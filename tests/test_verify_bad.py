"""Every refused bundle: the report is invalid, names the failing check and says why.

A refusal is never a traceback and never a partial result: no owner, no head.
"""

from __future__ import annotations

import re

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.passport import wire
from dpp_ledger.passport.report import Outcome, Status
from tests.world import DAY, GTIN, PRODUCT, RIVAL_GTIN, T0, YEAR, World, forge, key, raw_bundle

W = World()


def _assert_refused(report: pp.Report, check: str, match: str) -> None:
    assert report.outcome is Outcome.INVALID
    assert not report
    failures = report.failures
    assert len(failures) == 1, failures
    assert failures[0].name == check, failures[0]
    assert re.search(match, failures[0].detail), failures[0].detail
    names = [c.name for c in report.checks]
    assert all(
        c.status is Status.SKIP for c in report.checks[names.index(check) + 1 :] if c.name != "log"
    )
    assert report.owner is None
    assert report.head is None
    with pytest.raises(pp.DppError):
        report.raise_for_outcome()


def _chain_bytes(*extra: bytes, base: list[pp.Event] | None = None, **kwargs: object) -> bytes:
    events = base if base is not None else W.sold()
    certs = [c.record.raw for c in W.certs.values()]
    keys = [W.alice.public_key.raw, W.bob.public_key.raw]
    return raw_bundle([e.raw for e in events] + list(extra), certs, keys, **kwargs)  # type: ignore[arg-type]


SOLD = W.sold()
HEAD = SOLD[-1]
OTHER = W.issue({**PRODUCT, "serial": "OTHER-1"})
LATER = HEAD.time + DAY


def _next(signer: pp.SigningKey, type: str, data: dict, **fields: object) -> bytes:
    values = {"seq": HEAD.seq + 1, "time": LATER, "pid": HEAD.pid, "prev": HEAD.hash, **fields}
    return forge(signer, type=type, data=data, **values)  # type: ignore[arg-type]


BOB_RESALE = {"to": W.carol.kid.hex()}

DECODE_CASES = [
    ("seq-negative", _next(W.bob, "resale", BOB_RESALE, seq=-1), "seq -1 out of range"),
    ("seq-2^63", _next(W.bob, "resale", BOB_RESALE, seq=2**63), "out of range"),
    ("time-negative", _next(W.bob, "resale", BOB_RESALE, time=-1), "time -1 out of range"),
    ("time-year-10000", _next(W.bob, "resale", BOB_RESALE, time=253402300800), "out of range"),
    ("unknown-type", _next(W.bob, "gift", BOB_RESALE), "unknown event type"),
    ("pid-missing", _next(W.bob, "resale", BOB_RESALE, pid=None), "pid must be 32 bytes"),
    ("prev-short", _next(W.bob, "resale", BOB_RESALE, prev=b"x"), "prev must be 32 bytes"),
    ("data-not-map", _next(W.bob, "resale", [1]), "data must be a map"),  # type: ignore[arg-type]
    ("data-bytes", _next(W.bob, "resale", {"to": b"\x00" * 32}), "not JSON"),
    ("data-int-key", _next(W.bob, "resale", {1: "x"}), "not text"),  # type: ignore[dict-item]
]


@pytest.mark.parametrize(
    ("extra", "match"), [c[1:] for c in DECODE_CASES], ids=[c[0] for c in DECODE_CASES]
)
def test_undecodable_events(extra: bytes, match: str) -> None:
    report = pp.verify(_chain_bytes(extra), W.trust, now=T0 + YEAR)
    _assert_refused(report, "decoding", match)
    assert isinstance(report.failures[0].error, pp.DecodeError)


CHAIN_CASES = [
    (
        "seq-gap",
        _next(W.bob, "resale", BOB_RESALE, seq=HEAD.seq + 2),
        "skips to 4 where 3 was expected",
    ),
    (
        "seq-duplicate",
        _next(W.bob, "resale", BOB_RESALE, seq=HEAD.seq, prev=SOLD[-2].hash),
        "repeats 2",
    ),
    ("wrong-prev", _next(W.bob, "resale", BOB_RESALE, prev=bytes(32)), "prev does not match"),
    (
        "spliced-from-other-passport",
        _next(W.bob, "resale", BOB_RESALE, pid=OTHER[0].pid),
        "belongs to passport",
    ),
    (
        "time-backwards",
        _next(W.bob, "resale", BOB_RESALE, time=HEAD.time - 1),
        "before the previous",
    ),
    ("year-9999", _next(W.bob, "resale", BOB_RESALE, time=253402300799), "in the future"),
    ("second-production", _next(W.factory, "production", PRODUCT), "only the first event"),
]


@pytest.mark.parametrize(
    ("extra", "match"), [c[1:] for c in CHAIN_CASES], ids=[c[0] for c in CHAIN_CASES]
)
def test_broken_chains(extra: bytes, match: str) -> None:
    report = pp.verify(_chain_bytes(extra), W.trust, now=LATER + DAY)
    _assert_refused(report, "chain", match)


def test_chain_must_start_with_production() -> None:
    sale = forge(
        W.boutique,
        seq=0,
        type="sale",
        time=T0,
        data={"owner": W.alice.kid.hex(), "channel": "boutique"},
    )
    report = pp.verify(raw_bundle([sale], [W.certs["boutique"].record.raw]), W.trust, now=T0 + 1)
    _assert_refused(report, "chain", "starts with a production event")


def test_an_event_spliced_whole_from_another_chain_breaks_it() -> None:
    other = W.then(OTHER, W.boutique, "sale", {"owner": W.carol.kid.hex(), "channel": "boutique"})
    report = pp.verify(
        raw_bundle(
            [SOLD[0].raw, other[1].raw],
            [W.certs["factory"].record.raw, W.certs["boutique"].record.raw],
            [W.carol.public_key.raw],
        ),
        W.trust,
        now=T0 + YEAR,
    )
    _assert_refused(report, "chain", "belongs to passport")


def test_bad_signature() -> None:
    record = bytearray(HEAD.raw)
    record[-1] ^= 1
    report = pp.verify(
        _chain_bytes(base=[*SOLD[:-1], wire.parse_event(bytes(record))]), W.trust, now=T0 + YEAR
    )
    _assert_refused(report, "signatures", "event 2 .resale.: signature does not verify")


def test_unknown_signer() -> None:
    stranger = key("stranger")
    extra = _next(stranger, "resale", BOB_RESALE)
    report = pp.verify(_chain_bytes(extra), W.trust, now=T0 + YEAR)
    _assert_refused(report, "signatures", "not a trusted root, a certified delegate or a key")


def test_event_data_outside_its_schema() -> None:
    extra = _next(W.bob, "resale", {**BOB_RESALE, "buyer_email": "bob@example.com"})
    report = pp.verify(_chain_bytes(extra), W.trust, now=T0 + YEAR)
    _assert_refused(report, "data", "Additional properties are not allowed")


def test_bad_gtin_check_digit() -> None:
    bad = {**PRODUCT, "gtin": GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)}
    report = pp.verify(
        raw_bundle(
            [forge(W.factory, seq=0, type="production", time=T0, data=bad)],
            [W.certs["factory"].record.raw],
        ),
        W.trust,
        now=T0 + 1,
    )
    _assert_refused(report, "data", "wrong check digit")


# -- authority -----------------------------------------------------------------------------


def _cert(**window: int) -> pp.Certificate:
    return pp.delegate(
        W.brand,
        W.boutique.public_key,
        name="Boutique Paris",
        role="retailer",
        **{"nbf": T0 - YEAR, "exp": T0 + YEAR, **window},
    )


def _sale_bundle(
    cert: pp.Certificate, revocations: tuple[pp.RevocationList, ...] = ()
) -> pp.Bundle:
    events = W.then(
        W.issue(), W.boutique, "sale", {"owner": W.alice.kid.hex(), "channel": "boutique"}
    )
    return pp.Bundle(
        tuple(events), (W.certs["factory"], cert), (W.alice.public_key.raw,), revocations
    )


@pytest.mark.parametrize(
    ("cert", "match"),
    [
        (_cert(exp=T0 + DAY // 2), "valid from .* until 2026-01-01T12:00:00Z, not at 2026-01-02"),
        (_cert(nbf=T0 + 2 * DAY), "valid from 2026-01-03"),
        (
            pp.delegate(
                W.brand,
                W.boutique.public_key,
                name="Boutique Paris",
                role="retailer",
                types=["repair"],
                nbf=T0 - YEAR,
                exp=T0 + YEAR,
            ),
            "may not sign sale",
        ),
    ],
    ids=["expired", "not-yet-valid", "out-of-scope"],
)
def test_delegate_not_entitled(cert: pp.Certificate, match: str) -> None:
    _assert_refused(W.verify(_sale_bundle(cert)), "authority", match)


def test_revoked_delegate() -> None:
    revoked = pp.revoke(
        W.brand, number=1, issued=T0 + 2 * DAY, revoked={W.boutique.kid: T0 + DAY // 2}
    )
    _assert_refused(
        W.verify(_sale_bundle(_cert(), (revoked,))),
        "authority",
        "revoked by Maison Example from 2026-01-01T12:00:00Z",
    )


def test_revocation_after_the_event_keeps_history_valid() -> None:
    revoked = pp.revoke(
        W.brand, number=1, issued=T0 + 3 * DAY, revoked={W.boutique.kid: T0 + 2 * DAY}
    )
    report = W.verify(_sale_bundle(_cert(), (revoked,)))
    assert report.outcome is Outcome.VALID, report.failures


def test_a_lower_numbered_revocation_list_cannot_roll_back_a_known_one() -> None:
    old = pp.revoke(W.brand, number=1, issued=T0, revoked={})
    new = pp.revoke(W.brand, number=2, issued=T0 + 2 * DAY, revoked={W.boutique.kid: T0})
    report = W.verify(_sale_bundle(_cert(), (old,)), known_revocations=[new])
    _assert_refused(report, "authority", "revoked by Maison Example")
    revocations = next(c for c in report.checks if c.name == "revocations")
    assert revocations.status is Status.WARN
    assert "older than list 2 already known (rollback)" in revocations.detail


def test_two_revocation_lists_from_one_root() -> None:
    one = pp.revoke(W.brand, number=1, issued=T0, revoked={})
    two = pp.revoke(W.brand, number=2, issued=T0, revoked={})
    _assert_refused(
        W.verify(_sale_bundle(_cert(), (one, two))), "revocations", "two revocation lists"
    )


def test_revocation_list_from_an_untrusted_key() -> None:
    bogus = pp.revoke(key("stranger"), number=9, issued=T0, revoked={})
    _assert_refused(
        W.verify(_sale_bundle(_cert(), (bogus,))),
        "revocations",
        "not signed by a trusted brand root",
    )


def test_resale_signed_by_a_former_owner() -> None:
    events = W.then(SOLD, W.alice, "resale", {"to": W.carol.kid.hex()})
    _assert_refused(
        W.verify(W.bundle(events)),
        "authority",
        f"signed by {W.alice.kid.hex()[:8]}, not by the current owner",
    )


def test_production_for_a_gtin_outside_the_brand_prefixes() -> None:
    events = W.issue({**PRODUCT, "gtin": RIVAL_GTIN})
    _assert_refused(W.verify(W.bundle(events)), "authority", "outside the GS1 prefixes")


def test_a_trusted_small_brand_cannot_mint_for_another_house() -> None:
    events = W.issue(signer=W.rival_factory)  # Maison Example's GTIN, Rival's factory
    _assert_refused(W.verify(W.bundle(events)), "authority", "outside the GS1 prefixes of 'Rival'")


def test_a_delegate_of_another_brand_cannot_sell() -> None:
    events = W.then(
        W.issue(), W.rival_factory, "sale", {"owner": W.alice.kid.hex(), "channel": "boutique"}
    )
    _assert_refused(
        W.verify(W.bundle(events)), "authority", "holds no certificate from 'Maison Example'"
    )


def test_re_delegation_is_ignored_and_its_events_refused() -> None:
    sub = pp.delegate(
        W.boutique,
        W.carol.public_key,
        name="Sub shop",
        role="retailer",
        nbf=T0 - YEAR,
        exp=T0 + YEAR,
    )
    events = W.then(W.issue(), W.carol, "sale", {"owner": W.alice.kid.hex(), "channel": "boutique"})
    bundle = pp.Bundle(
        tuple(events), (W.certs["factory"], sub), (W.carol.public_key.raw, W.alice.public_key.raw)
    )
    report = W.verify(bundle)
    _assert_refused(report, "authority", "holds no certificate")
    certs = next(c for c in report.checks if c.name == "certificates")
    assert certs.status is Status.WARN
    assert "delegates cannot delegate" in certs.detail


def test_a_tampered_certificate() -> None:
    raw = bytearray(W.certs["boutique"].record.raw)
    raw[-5] ^= 0x10
    data = _chain_bytes()
    data = data.replace(W.certs["boutique"].record.raw, bytes(raw))
    _assert_refused(
        pp.verify(data, W.trust, now=T0 + YEAR),
        "certificates",
        "Boutique Paris.*signature does not verify",
    )


def test_production_by_an_uncertified_key() -> None:
    stranger = key("stranger")
    report = pp.verify(
        raw_bundle(
            [forge(stranger, seq=0, type="production", time=T0, data=PRODUCT)],
            keys=[stranger.public_key.raw],
        ),
        W.trust,
        now=T0 + 1,
    )
    _assert_refused(report, "authority", "neither a trusted brand root nor certified")


# -- state rules ---------------------------------------------------------------------------


def test_a_stolen_item_cannot_be_resold() -> None:
    events = W.then(SOLD, W.bob, "stolen")
    events = W.then(events, W.bob, "resale", {"to": W.carol.kid.hex()})
    _assert_refused(W.verify(W.bundle(events)), "state", "reported stolen; its resale is invalid")


def test_nothing_after_end_of_life() -> None:
    events = W.then(SOLD, W.bob, "end_of_life", {"fate": "destroyed"})
    events = W.then(events, W.bob, "repair", {"work": "glue"})
    _assert_refused(W.verify(W.bundle(events)), "state", "nothing may follow")


def test_a_second_sale_is_a_double_sale() -> None:
    events = W.then(SOLD, W.boutique, "sale", {"owner": W.carol.kid.hex(), "channel": "boutique"})
    _assert_refused(W.verify(W.bundle(events)), "state", "already sold")


def test_an_outlet_item_cannot_be_sold_as_boutique() -> None:
    events = W.then(W.issue(), W.outlet, "outlet")
    events = W.then(events, W.outlet, "sale", {"owner": W.carol.kid.hex(), "channel": "boutique"})
    _assert_refused(W.verify(W.bundle(events)), "state", "does not match the item's outlet channel")


@pytest.mark.parametrize(
    ("signer", "type", "data", "check", "match"),
    [
        ("bob", "recovered", {}, "state", "was not reported stolen"),
        ("outlet", "outlet", {}, "state", "only unsold stock"),
        ("bob", "resale", {"to": W.bob.kid.hex()}, "state", "already owns"),
        ("carol", "stolen", {}, "authority", "nor is it the current owner"),
    ],
    ids=["recovered-not-stolen", "outlet-after-sale", "resale-to-self", "stolen-by-stranger"],
)
def test_state_rules(signer: str, type: str, data: dict, check: str, match: str) -> None:
    events = W.then(SOLD, getattr(W, signer), type, data)
    _assert_refused(W.verify(W.bundle(events, owners=[W.alice, W.bob, W.carol])), check, match)


def test_resale_before_any_sale() -> None:
    events = W.then(W.issue(), W.alice, "resale", {"to": W.bob.kid.hex()})
    _assert_refused(W.verify(W.bundle(events)), "state", "no owner yet")


# -- keys and trust ------------------------------------------------------------------------


def test_small_order_owner_key_in_the_bundle() -> None:
    identity = (1).to_bytes(32, "little")
    data = _chain_bytes().replace(W.bob.public_key.raw, identity)
    _assert_refused(pp.verify(data, W.trust, now=T0 + YEAR), "keys", "small order")


def test_a_key_no_event_names() -> None:
    bundle = W.bundle(SOLD)
    extra = pp.Bundle(bundle.events, bundle.certs, (*bundle.keys, W.carol.public_key.raw))
    _assert_refused(W.verify(extra), "keys", "neither a signer nor an owner")


def test_a_key_listed_twice() -> None:
    bundle = W.bundle(SOLD)
    twice = pp.Bundle(bundle.events, bundle.certs, (*bundle.keys, bundle.keys[0]))
    _assert_refused(W.verify(twice), "keys", "listed twice")


def test_empty_trust_store() -> None:
    report = pp.verify(pp.bundle_to_bytes(W.bundle(SOLD)), pp.TrustStore(()), now=T0 + YEAR)
    _assert_refused(report, "trust", "trust store is empty")


def test_a_brand_the_verifier_does_not_trust() -> None:
    only_rival = pp.TrustStore.of([r for r in W.trust.roots if r.brand == "Rival"])
    report = pp.verify(pp.bundle_to_bytes(W.bundle(SOLD)), only_rival, now=T0 + YEAR)
    assert report.outcome is Outcome.INVALID
    assert report.failures[0].name == "signatures"
