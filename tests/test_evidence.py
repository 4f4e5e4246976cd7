"""Fork and clone evidence from two bundles of one item."""

from __future__ import annotations

import dpp_ledger.passport as pp
from dpp_ledger.passport.evidence import ConflictKind, find_conflicts
from tests.world import PRODUCT, T0, YEAR, World, key

W = World()
NOW = T0 + YEAR


def test_a_double_sale_is_a_fork_with_both_signed_events() -> None:
    made = W.issue()
    to_alice = W.then(made, W.boutique, "sale", {"owner": W.alice.kid.hex(), "channel": "boutique"})
    to_carol = W.then(made, W.boutique, "sale", {"owner": W.carol.kid.hex(), "channel": "boutique"})
    found = find_conflicts(W.bundle(to_alice), W.bundle(to_carol), W.trust, now=NOW)
    assert len(found) == 1
    evidence = found[0]
    assert evidence.kind is ConflictKind.FORK
    assert {evidence.first.raw, evidence.second.raw} == {to_alice[1].raw, to_carol[1].raw}
    assert "seq 1" in evidence.detail
    # Each side on its own verifies: only together do they prove the double sale.
    assert W.verify(W.bundle(to_alice))
    assert W.verify(W.bundle(to_carol))


def test_only_the_first_divergence_is_reported() -> None:
    made = W.issue()
    a = W.then(
        W.then(made, W.boutique, "sale", {"owner": W.alice.kid.hex(), "channel": "boutique"}),
        W.alice,
        "resale",
        {"to": W.bob.kid.hex()},
    )
    b = W.then(
        W.then(made, W.boutique, "sale", {"owner": W.carol.kid.hex(), "channel": "boutique"}),
        W.carol,
        "resale",
        {"to": W.bob.kid.hex()},
    )
    found = find_conflicts(W.bundle(a), W.bundle(b), W.trust, now=NOW)
    assert [e.first.seq for e in found] == [1]


def test_same_bundle_twice_and_a_longer_copy_are_no_conflict() -> None:
    sold = W.sold()
    assert find_conflicts(W.bundle(sold), W.bundle(sold), W.trust, now=NOW) == ()
    assert find_conflicts(W.bundle(sold[:2]), W.bundle(sold), W.trust, now=NOW) == ()


def test_a_forged_copy_is_not_evidence_against_anyone() -> None:
    made = W.issue()
    real = W.then(made, W.boutique, "sale", {"owner": W.alice.kid.hex(), "channel": "boutique"})
    raw = bytearray(real[1].raw)
    raw[-1] ^= 1
    forged = [made[0], pp.parse_event(bytes(raw))]
    # The flipped signature bit changes the hash, so it differs, yet proves nothing.
    assert find_conflicts(W.bundle(real), W.bundle(forged), W.trust, now=NOW) == ()


def test_two_passports_for_one_identifier_are_a_clone() -> None:
    first = W.issue()
    second = W.issue({**PRODUCT, "model": "Sac 25 (copy)"}, signer=W.brand)
    found = find_conflicts(W.bundle(first), W.bundle(second), W.trust, now=NOW)
    assert len(found) == 1
    assert found[0].kind is ConflictKind.CLONE
    assert "Maison Example" in found[0].detail
    assert PRODUCT["serial"] in found[0].detail


def test_different_serials_are_not_a_clone() -> None:
    other = W.issue({**PRODUCT, "serial": "MX-000124"})
    assert find_conflicts(W.bundle(W.issue()), W.bundle(other), W.trust, now=NOW) == ()


def test_a_stranger_cannot_frame_a_passport_with_a_fork() -> None:
    sold = W.sold()
    stranger = key("framer")
    fake = pp.sign_event(
        stranger, "resale", {"to": stranger.kid.hex()}, time=sold[-1].time, after=sold[1]
    )
    framed = pp.Bundle(
        (*sold[:2], fake), W.bundle(sold).certs, (W.alice.public_key.raw, stranger.public_key.raw)
    )
    assert find_conflicts(W.bundle(sold), framed, W.trust, now=NOW) == ()


def test_a_retailer_cannot_make_clone_evidence() -> None:
    fake = W.issue(signer=W.boutique)  # a retailer key may not sign production
    assert find_conflicts(W.bundle(W.issue()), W.bundle(fake), W.trust, now=NOW) == ()


def test_clone_evidence_with_a_factory_serving_two_brands() -> None:
    both = pp.delegate(
        W.rival,
        W.factory.public_key,
        name="Shared works",
        role="factory",
        nbf=T0 - YEAR,
        exp=T0 + YEAR,
    )
    first = W.bundle(W.issue())
    second = pp.Bundle(
        tuple(W.issue({**PRODUCT, "model": "copy"})), (*W.bundle(W.issue()).certs, both)
    )
    found = find_conflicts(first, second, W.trust, now=NOW)
    assert [e.kind for e in found] == ["clone"]
