"""Property tests: round trips, and any change to a signed record is caught.

Bounded for the suite; run longer with ``HYPOTHESIS_PROFILE=long`` (see README).
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

import dpp_ledger.passport as pp
from dpp_ledger.passport import cose, wire
from dpp_ledger.passport.report import Outcome
from tests.world import DAY, GTIN, T0, World

W = World()
SOLD = W.sold()
BUNDLE = pp.bundle_to_bytes(W.bundle(SOLD))

serials = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-./_",
    min_size=1,
    max_size=20,
)
labels = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x2FFF, exclude_categories=("Cs", "Cc")),
    min_size=1,
    max_size=40,
)


@given(serials, labels, st.integers(0, 100), st.integers(0, 2**33))
def test_issue_parse_round_trip(serial: str, model: str, recycled: int, time: int) -> None:
    data = {"gtin": GTIN, "serial": serial, "model": model, "recycled_content": recycled}
    event = pp.issue(W.factory, data, time=time)
    parsed = pp.parse_event(event.raw)
    assert parsed.data == data
    assert (parsed.seq, parsed.time, parsed.type, parsed.pid) == (0, time, "production", event.hash)
    parsed.record.verify(W.factory.public_key)


@given(st.data())
def test_any_mutation_of_a_signed_event_is_rejected(data: st.DataObject) -> None:
    event = data.draw(st.sampled_from(SOLD))
    raw = bytearray(event.raw)
    kind = data.draw(st.sampled_from(["flip", "set", "insert", "delete"]))
    position = data.draw(st.integers(0, len(raw) - 1))
    if kind == "flip":
        raw[position] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "set":
        value = data.draw(st.integers(0, 255).filter(lambda v: v != raw[position]))
        raw[position] = value
    elif kind == "insert":
        raw.insert(position, data.draw(st.integers(0, 255)))
    else:
        del raw[position]
    try:
        mutated = wire.parse_event(bytes(raw))
    except pp.DecodeError:
        return
    key = W.trust.root(mutated.signer)
    signer = (
        key.key
        if key
        else {k.kid: k.public_key for k in (W.factory, W.boutique, W.alice, W.bob)}.get(
            mutated.signer
        )
    )
    if signer is None:
        return  # the kid itself was changed: no key to check against, so nothing verifies
    try:
        mutated.record.verify(signer)
    except pp.SignatureError:
        return
    raise AssertionError(f"a mutated event still verifies: {kind} at {position}")


@given(st.binary(max_size=300))
def test_random_bytes_never_escape_as_exceptions(data: bytes) -> None:
    report = pp.verify(data, W.trust, now=T0 + DAY)
    assert report.outcome is Outcome.INVALID


ORIGINAL = pp.verify(BUNDLE, W.trust, now=T0 + 10 * DAY)


@given(st.integers(0, len(BUNDLE) - 1), st.binary(min_size=1, max_size=8))
def test_garbage_in_a_bundle_never_passes_for_valid(position: int, garbage: bytes) -> None:
    """Invalid, or (a certificate made unrecognisable and so ignored) the same story, warned."""
    data = BUNDLE[:position] + garbage + BUNDLE[position + len(garbage) :]
    if data == BUNDLE:
        return
    report = pp.verify(data, W.trust, now=T0 + 10 * DAY)
    if report.outcome is not Outcome.INVALID:
        assert report.outcome is Outcome.WARNINGS
        assert [w.name for w in report.warnings] == ["certificates"]
        assert (report.history, report.owner, report.pid) == (
            ORIGINAL.history,
            ORIGINAL.owner,
            ORIGINAL.pid,
        )


def test_cose_records_are_signed_over_their_exact_protected_bytes() -> None:
    record = cose.parse(SOLD[1].raw, content_type=cose.CT_EVENT)
    assert cose.sig_structure(record.protected, record.payload).startswith(b"\x84\x6aSignature1")
