"""A passport issued, extended and verified in memory, through every event type."""

from __future__ import annotations

import dpp_ledger.passport as pp
from dpp_ledger.passport.report import Outcome, Status
from tests.world import DAY, GTIN, T0, World


def test_a_sold_and_resold_item_verifies(world: World) -> None:
    report = world.verify(world.bundle(world.sold()))
    assert report.outcome is Outcome.VALID, report.failures
    assert report
    assert [c.name for c in report.checks] == [
        "decoding",
        "trust",
        "certificates",
        "revocations",
        "keys",
        "signatures",
        "chain",
        "data",
        "authority",
        "ownership",
        "state",
        "log",
        "disclosures",
    ]
    assert report.owner == world.bob.kid
    assert report.brand == "Maison Example"
    assert (report.gtin, report.serial) == (GTIN, "MX-000123")
    assert report.channel == "boutique"
    assert [h.type for h in report.history] == ["production", "sale", "resale"]
    assert report.history[0].actor == "Atelier Firenze (factory of Maison Example)"
    assert "Boutique Paris" in report.history[1].actor
    assert report.history[2].actor == f"owner {world.alice.kid.hex()[:8]}"
    assert report.pid == world.sold()[0].hash
    assert report.head == world.sold()[-1].hash


def test_the_passport_id_is_the_hash_of_the_first_event(world: World) -> None:
    events = world.sold()
    assert all(e.pid == events[0].hash for e in events)
    assert events[1].prev == events[0].hash
    assert events[2].prev == events[1].hash


def test_bundle_round_trip_keeps_every_byte(world: World) -> None:
    bundle = world.bundle(world.sold())
    data = pp.bundle_to_bytes(bundle)
    again = pp.parse_bundle(data)
    assert pp.bundle_to_bytes(again) == data
    assert [e.raw for e in again.events] == [e.raw for e in bundle.events]
    assert again.events[2].data == {"to": world.bob.kid.hex()}


def test_outlet_item_is_genuine_and_says_so(world: World) -> None:
    events = world.then(world.issue(), world.outlet, "outlet")
    events = world.then(
        events, world.outlet, "sale", {"owner": world.carol.kid.hex(), "channel": "outlet"}
    )
    report = world.verify(world.bundle(events))
    assert report.outcome is Outcome.VALID, report.failures
    assert report.channel == "outlet"
    assert "outlet" in report.flags
    assert "stays genuine" in report.history[1].summary
    assert "genuine" in report.history[2].summary


def test_repairs_authentication_theft_recovery_and_end_of_life(world: World) -> None:
    events = world.sold()
    events = world.then(
        events, world.repairer, "repair", {"work": "new handle", "parts": ["handle"]}
    )
    events = world.then(
        events,
        world.authenticator,
        "authentication",
        {"verdict": "genuine", "method": "visual inspection"},
    )
    events = world.then(events, world.bob, "stolen", {"reference": "case 2026-118"})
    stolen = world.verify(world.bundle(events))
    assert stolen.outcome is Outcome.WARNINGS
    assert "stolen" in stolen.flags
    events = world.then(events, world.bob, "recovered")
    events = world.then(events, world.bob, "end_of_life", {"fate": "recycled"})
    report = world.verify(world.bundle(events))
    assert report.outcome is Outcome.WARNINGS, report.failures
    assert report.flags == {"end_of_life"}
    assert report.history[3].actor == "Atelier Repair (repairer of Maison Example)"
    assert report.history[-1].summary == "End of life: recycled"


def test_independent_repair_is_recorded_with_a_warning(world: World) -> None:
    events = world.then(world.sold(), world.carol, "repair", {"work": "stitching"})
    report = world.verify(world.bundle(events, owners=[world.alice, world.bob, world.carol]))
    assert report.outcome is Outcome.WARNINGS, report.failures
    assert "independent_repair" in report.flags
    assert report.history[-1].actor.startswith("independent repairer")


def test_owner_declared_repair_is_independent(world: World) -> None:
    events = world.then(world.sold(), world.bob, "repair", {"work": "new lining"})
    report = world.verify(world.bundle(events))
    assert report.outcome is Outcome.WARNINGS
    assert "independent repairer" in report.history[-1].actor


def test_failed_authentication_is_a_warning(world: World) -> None:
    events = world.then(
        world.sold(), world.authenticator, "authentication", {"verdict": "not_genuine"}
    )
    report = world.verify(world.bundle(events))
    assert report.outcome is Outcome.WARNINGS
    assert "authentication_not_genuine" in report.flags


def test_a_brand_root_may_sign_any_brand_event(world: World) -> None:
    events = world.issue(signer=world.brand)
    events = world.then(
        events, world.brand, "sale", {"owner": world.alice.kid.hex(), "channel": "online"}
    )
    report = world.verify(world.bundle(events))
    assert report.outcome is Outcome.VALID, report.failures
    assert report.history[0].actor == "Maison Example (brand)"


def test_gtin_and_serial_alone_make_a_valid_passport(world: World) -> None:
    events = world.issue({"gtin": GTIN, "serial": "7"})
    report = world.verify(world.bundle(events))
    assert report.outcome is Outcome.VALID
    assert report.owner is None
    assert pp.schema.missing_product_fields({"gtin": GTIN, "serial": "7"})[:2] == ("brand", "model")


def test_missing_owner_key_warns_that_ownership_cannot_be_proven(world: World) -> None:
    report = world.verify(world.bundle(world.sold(), owners=[world.alice]))
    assert report.outcome is Outcome.WARNINGS
    check = next(c for c in report.checks if c.name == "ownership")
    assert check.status is Status.WARN
    assert "cannot prove ownership" in check.detail


def test_report_to_dict_is_json_ready(world: World) -> None:
    import json

    report = world.verify(world.bundle(world.sold()))
    view = json.loads(json.dumps(report.to_dict()))
    assert view["outcome"] == "valid"
    assert view["owner"] == world.bob.kid.hex()
    assert view["history"][0]["when"] == "2026-01-01T00:00:00Z"
    assert view["history"][0]["time"] == T0
    assert view["history"][2]["time"] - view["history"][1]["time"] == DAY
