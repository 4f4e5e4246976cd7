"""Bundle bytes from outside: every truncation, every flipped bit, every malformed shape.

The property a user relies on: any change to a valid bundle makes it invalid, with a reason,
and nothing but the project's own report (never an exception) comes back.
"""

from __future__ import annotations

import re

import pytest

import dpp_ledger.passport as pp
from dpp_ledger.passport import cbor, wire
from dpp_ledger.passport.report import Outcome
from tests.world import T0, YEAR, World

W = World()
SMALL = pp.bundle_to_bytes(
    W.bundle(
        W.then(
            W.issue({"gtin": W.issue()[0].data["gtin"], "serial": "S1"}),
            W.boutique,
            "sale",
            {"owner": W.alice.kid.hex(), "channel": "boutique"},
        ),
        certs=["factory", "boutique"],
    )
)
NOW = T0 + YEAR


def _verify(data: bytes) -> pp.Report:
    return pp.verify(data, W.trust, now=NOW)


def test_the_reference_bundle_is_valid() -> None:
    assert _verify(SMALL).outcome is Outcome.VALID


def test_every_truncation_is_refused_at_decoding() -> None:
    for end in range(len(SMALL)):
        report = _verify(SMALL[:end])
        assert report.outcome is Outcome.INVALID, end
        assert report.failures[0].name == "decoding", end
        assert isinstance(report.failures[0].error, pp.DecodeError)


def test_every_flipped_bit_is_refused() -> None:
    reasons = set()
    for position in range(len(SMALL)):
        for bit in range(8):
            mutated = bytearray(SMALL)
            mutated[position] ^= 1 << bit
            report = _verify(bytes(mutated))
            assert report.outcome is Outcome.INVALID, (position, bit)
            reasons.add(report.failures[0].name)
    assert {"decoding", "signatures"} <= reasons


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty input"),
        (SMALL + b"\x00", "trailing bytes"),
        (b"\x81" * 100_000 + b"\x00", "nested deeper"),
        (bytes.fromhex("5b7fffffffffffffff00"), "truncated"),
        (bytes.fromhex("bb7fffffffffffffff00"), "truncated"),
        (
            cbor.encode({"v": 1, "events": [], "certs": [], "keys": [], "revocations": []}),
            "no events",
        ),
        (
            cbor.encode({"v": 2, "events": [], "certs": [], "keys": [], "revocations": []}),
            "version 2",
        ),
        (
            cbor.encode({"v": 1, "events": [b"\xa0"], "certs": [], "keys": [], "revocations": []}),
            "not a COSE_Sign1",
        ),
        (
            cbor.encode({"v": 1, "events": ["x"], "certs": [], "keys": [], "revocations": []}),
            "must be a byte string",
        ),
        (cbor.encode({"v": 1, "events": [], "certs": []}), "missing field 'keys'"),
        (
            cbor.encode({"v": 1, "events": [], "certs": [], "keys": [], "revocations": [], "x": 1}),
            "unknown field 'x'",
        ),
        (cbor.encode([1, 2]), "expected a map"),
        (
            cbor.encode(
                {"v": 1, "events": [b""], "certs": [], "keys": [b"\x00"], "revocations": []}
            ),
            "empty input|keys",
        ),
        (bytes.fromhex("bf6176 01ff".replace(" ", "")), "indefinite-length"),
        (bytes.fromhex("f97e00"), "floating-point"),
        (bytes.fromhex("c11a514b67b0"), "tag 1"),
    ],
    ids=[
        "empty",
        "trailing",
        "deep",
        "bstr-2^63",
        "map-2^63",
        "no-events",
        "version-2",
        "event-not-cose",
        "event-text",
        "missing-keys",
        "unknown-field",
        "array",
        "bad-key",
        "indefinite",
        "nan",
        "tag",
    ],
)
def test_malformed_bundles(data: bytes, match: str) -> None:
    report = _verify(data)
    assert report.outcome is Outcome.INVALID
    assert report.failures[0].name == "decoding"
    assert re.search(match, report.failures[0].detail), report.failures[0].detail
    with pytest.raises(pp.DecodeError):
        wire.parse_bundle(data)


def test_bundle_size_is_bounded() -> None:
    with pytest.raises(pp.DecodeError, match="more than the limit"):
        wire.parse_bundle(b"\x00" * (wire.MAX_BUNDLE_SIZE + 1))


def test_verify_accepts_parsed_bundles_too() -> None:
    assert pp.verify(wire.parse_bundle(SMALL), W.trust, now=NOW).outcome is Outcome.VALID
