"""Regression tests for problems found in review: each once let bad input through."""

from __future__ import annotations

import time

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.passport import cbor, gs1, wire
from dpp_ledger.passport.report import Outcome
from tests.world import PRODUCT, T0, YEAR, World, forge, raw_bundle

W = World()


def test_a_serial_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(pp.SchemaError):
        pp.issue(W.factory, {**PRODUCT, "serial": "MX-000123\n"}, time=T0)
    event = forge(
        W.factory, seq=0, type="production", time=T0, data={**PRODUCT, "serial": "MX-000123\n"}
    )
    report = pp.verify(raw_bundle([event], [W.certs["factory"].record.raw]), W.trust, now=T0 + 1)
    assert report.outcome is Outcome.INVALID
    assert report.failures[0].name == "data"


@pytest.mark.parametrize("field", ["model", "made_in", "made_on"])
def test_no_pattern_accepts_a_trailing_newline(field: str) -> None:
    with pytest.raises(pp.SchemaError):
        pp.issue(W.factory, {**PRODUCT, field: str(PRODUCT[field]) + "\n"}, time=T0)


@pytest.mark.parametrize("shape", ["arrays", "ints", "maps"])
def test_a_flood_of_tiny_items_is_refused_fast(shape: str) -> None:
    count = 4_000_000
    item = {"arrays": b"\x80", "ints": b"\x00", "maps": b"\xa0"}[shape]
    data = b"\x9a" + count.to_bytes(4, "big") + item * count
    started = time.perf_counter()
    with pytest.raises(pp.DecodeError, match="more items than the limit"):
        wire.parse_bundle(data)
    assert time.perf_counter() - started < 5  # generous; the point is no multi-GB build


def test_a_large_well_formed_input_still_decodes() -> None:
    value = {"blob": b"x" * 200_000, "list": list(range(1000))}
    assert cbor.decode(cbor.encode(value)) == value


def test_a_revoked_authenticator_cannot_vouch() -> None:
    revocations = pp.revoke(W.brand, number=1, issued=T0, revoked={W.authenticator.kid: T0})
    events = W.then(W.sold(), W.authenticator, "authentication", {"verdict": "genuine"})
    report = W.verify(W.bundle(events, revocations=(revocations,)))
    assert report.outcome is Outcome.INVALID
    assert "revoked" in report.failures[0].detail


def test_an_uncertified_authentication_is_a_warning() -> None:
    events = W.then(W.sold(), W.carol, "authentication", {"verdict": "genuine", "method": "AI"})
    report = W.verify(W.bundle(events, owners=[W.alice, W.bob, W.carol]))
    assert report.outcome is Outcome.WARNINGS
    assert "independent_authentication" in report.flags


def test_history_names_the_brand_the_trust_store_knows() -> None:
    rival_item = {**PRODUCT, "gtin": "04000000000017", "brand": "Maison Example"}
    rival_item["gtin"] = rival_item["gtin"][:-1] + str(gs1.check_digit(rival_item["gtin"][:-1]))
    events = W.issue(rival_item, signer=W.rival_factory)
    report = W.verify(W.bundle(events))
    assert report.brand == "Rival"
    assert report.history[0].summary.startswith("Passport issued by Rival:")
    assert "brand_mismatch" in report.flags
    assert report.outcome is Outcome.WARNINGS


def test_a_kept_list_from_a_root_no_longer_trusted_is_ignored() -> None:
    stale = pp.revoke(W.rival, number=1, issued=T0, revoked={})
    only_maison = pp.TrustStore.of([r for r in W.trust.roots if r.brand != "Rival"])
    report = pp.verify(
        pp.bundle_to_bytes(W.bundle(W.sold(), certs=["factory", "boutique"])),
        only_maison,
        now=T0 + YEAR,
        known_revocations=[stale],
    )
    assert report.outcome is Outcome.VALID, report.failures


def test_two_lists_with_one_number_are_flagged() -> None:
    one = pp.revoke(W.brand, number=3, issued=T0, revoked={})
    other = pp.revoke(W.brand, number=3, issued=T0 + 1, revoked={W.repairer.kid: T0})
    report = W.verify(W.bundle(W.sold(), revocations=(one,)), known_revocations=[other])
    revocations = next(c for c in report.checks if c.name == "revocations")
    assert "two different revocation lists numbered 3" in revocations.detail


@pytest.mark.parametrize(
    "uri",
    [
        "https://id.example/01/03614270000423/21/%ff",
        "https://[::1/01/03614270000423/21/A",
        "https://id.example/01/03614270000423/21/AB%0A",
        "ftp://id.example/01/03614270000423/21/A",
        "https://id.example/01/03614270000423/21/A?pid=XYZ",
        "https://id.example/" + "x" * 3000,
    ],
)
def test_bad_digital_links_raise_only_project_errors(uri: str) -> None:
    with pytest.raises(pp.SchemaError):
        gs1.parse_digital_link(uri)


@pytest.mark.parametrize(
    "text", ["[" * 100_000, b"\xff\xfe", '{"v": 1, "roots": [], "n": ' + "9" * 5000 + "}"]
)
def test_bad_trust_stores_raise_only_trust_errors(text: str | bytes) -> None:
    with pytest.raises(pp.TrustError):
        pp.TrustStore.from_json(text)


def test_verify_refuses_a_nonsense_clock() -> None:
    with pytest.raises(pp.SchemaError, match="verification time"):
        pp.verify(b"", W.trust, now=10**20)
