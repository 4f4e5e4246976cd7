"""Property tests of restricted data: a sealed value is never in clear, and never shown unless
it is exactly what its own event signed.

Bounded for the suite; run longer with ``HYPOTHESIS_PROFILE=long`` (see README).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

import dpp_ledger.passport as pp
from dpp_ledger.passport.report import Access
from tests.world import DAY, PRODUCT, T0, World

W = World()
AUTHORITIES = [W.audiences["authorities"]]
REPAIRERS = [W.audiences["repairers"]]

# Values long enough that finding one by chance in random bytes is out of the question.
sites = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs", "Cc")),
    min_size=12,
    max_size=120,
)
instructions = st.text(min_size=12, max_size=400).filter(lambda t: t.strip() != "")


def _sealed_chain(site: str, info: str, kem: pp.Kem) -> tuple[list[pp.Event], tuple[pp.Box, ...]]:
    made, boxes = pp.sign_sealed(
        W.factory,
        "production",
        {**PRODUCT, "site": site, "repair_information": info},
        seal_to={"site": AUTHORITIES, "repair_information": REPAIRERS},
        time=T0,
        after=None,
        kem=kem,
    )
    sale, more = pp.sign_sealed(
        W.boutique,
        "sale",
        {
            "owner": W.alice.kid.hex(),
            "channel": "boutique",
            "price": {"amount": 245_000, "currency": "EUR"},
        },
        seal_to={"price": AUTHORITIES},
        time=T0 + DAY,
        after=made,
    )
    return [made, sale], (*boxes, *more)


def _bytes(events: list[pp.Event], boxes: tuple[pp.Box, ...]) -> bytes:
    return pp.bundle_to_bytes(dataclasses.replace(W.bundle(events), disclosures=boxes))


def _verify(data: bytes, *keys: pp.RecipientSecret) -> pp.Report:
    return pp.verify(data, W.trust, now=T0 + 30 * DAY, open_with=keys)


def _needles(value: Any) -> list[bytes]:
    text = value.encode("utf-8")
    return [text, pp.wire.cbor.encode(value)]


# The same chain with other sealed values, with the same KEM, and its report: whatever they
# hold is there whatever is sealed (the brand, the GTIN, the other fields, the KEM's name, the
# report's own words), so a generated value found in them ("Maison Examp", "certificates",
# "mlkem768-x25") says nothing about sealing.
def _control(kem: pp.Kem) -> tuple[bytes, str]:
    events, boxes = _sealed_chain("control site", "control notes", kem)
    data = _bytes(events, boxes)
    return b"".join(e.raw for e in events) + data, str(_verify(data).to_dict())


CONTROLS = {kem: _control(kem) for kem in pp.Kem}


@given(sites, instructions, st.sampled_from(list(pp.Kem)))
def test_no_sealed_value_is_in_clear_in_a_payload_or_a_bundle_without_keys(
    site: str, info: str, kem: pp.Kem
) -> None:
    needles = (*_needles(site), *_needles(info))
    control, control_report = CONTROLS[kem]
    assume(not any(needle in control for needle in needles))
    assume(site not in control_report and info not in control_report)
    events, boxes = _sealed_chain(site, info, kem)
    data = _bytes(events, boxes)
    for needle in needles:
        assert all(needle not in e.raw for e in events)
        assert needle not in data
    report = _verify(data)
    assert report.outcome is pp.Outcome.VALID, report.failures
    assert {r.access for r in report.restricted} == {Access.RESTRICTED}
    assert site not in str(report.to_dict())
    assert info not in str(report.to_dict())
    opened = _verify(data, W.authority)
    assert {r.field: r.value for r in opened.restricted if r.access is Access.VERIFIED} == {
        "site": site,
        "price": {"amount": 245_000, "currency": "EUR"},
    }


FIXED_EVENTS, FIXED_BOXES = _sealed_chain(
    "Laboratorio Via Maggio 7", "Open the base seam.", pp.Kem.X25519
)
FIXED = _bytes(FIXED_EVENTS, FIXED_BOXES)
# The disclosures map is the bundle's last field (its key sorts last): every byte from here on
# belongs to it.
BOXES_START = len(pp.bundle_to_bytes(W.bundle(FIXED_EVENTS))) - 1


@given(st.integers(BOXES_START, len(FIXED) - 1), st.integers(1, 255))
def test_one_changed_byte_in_the_boxes_never_yields_a_shown_value(where: int, mask: int) -> None:
    changed = bytearray(FIXED)
    changed[where] ^= mask
    report = _verify(bytes(changed), W.authority, W.repair_shop)
    shown = {r.field: r.value for r in report.restricted if r.access is Access.VERIFIED}
    # A changed byte in a box never opens; what other boxes show is still their own value.
    assert report.outcome is pp.Outcome.INVALID or len(shown) < 3
    original: dict[str, Any] = {
        "site": "Laboratorio Via Maggio 7",
        "repair_information": "Open the base seam.",
        "price": {"amount": 245_000, "currency": "EUR"},
    }
    assert all(original[field] == value for field, value in shown.items())


@given(st.data())
def test_boxes_swapped_between_events_never_open(data: st.DataObject) -> None:
    made, sale = FIXED_EVENTS
    box = data.draw(st.sampled_from(FIXED_BOXES))
    other = sale if box.event == made.hash else made
    moved = dataclasses.replace(box, event=other.hash)
    if data.draw(st.booleans()):  # also claim a digest the other event does sign
        moved = dataclasses.replace(
            moved,
            digest=data.draw(
                st.sampled_from(sorted(bytes.fromhex(d) for d in other.data["sealed"]))
            ),
        )
    rest = tuple(b for b in FIXED_BOXES if b is not box)
    report = _verify(_bytes(FIXED_EVENTS, (*rest, moved)), W.authority, W.repair_shop)
    assert report.outcome is pp.Outcome.INVALID
    assert report.restricted == ()
