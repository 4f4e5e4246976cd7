"""Deterministic CBOR: RFC 8949 §4.2.1 encoding and strict decoding."""

from __future__ import annotations

import tracemalloc

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpp_ledger.passport import cbor
from dpp_ledger.passport.errors import DecodeError, EncodeError
from tests.fuzz.harness import shared_value_bomb, string_reference_bomb


def test_maps_mixing_key_types_are_refused() -> None:
    # RFC 8949 bytewise order puts 1, 100, -19; cbor2's length-first canonical order puts
    # 1, -19, 100. The formats never mix key types in one map, so neither order is guessed.
    assert (
        cbor2.dumps({-19: "a", 100: "b", 1: "c"}, canonical=True).hex() == "a301616332616118646162"
    )
    with pytest.raises(EncodeError, match="mixes key types"):
        cbor.encode({-19: "a", 100: "b", 1: "c"})
    with pytest.raises(EncodeError, match="mixes key types"):
        cbor.encode({"a": 1, 1: 2})
    rfc_order = bytes.fromhex("a301616318646162326161")
    with pytest.raises(DecodeError, match="mixes key types"):
        cbor.decode(rfc_order)


@pytest.mark.parametrize(
    "keys",
    [
        [1, 100, 24, 23, 256, 65536, 2**32],
        [-1, -24, -25, -256, -300],
        ["b", "a", "aa", "ab", "é", "x" * 30],
        [b"\x01", b"", b"\x00\x00"],
    ],
    ids=["unsigned", "negative", "text", "bytes"],
)
def test_one_key_type_sorts_bytewise_by_encoding(keys: list[object]) -> None:
    encoded = cbor.encode(dict.fromkeys(keys, 0))
    decoded = list(cbor.decode(encoded))  # type: ignore[call-overload]
    assert decoded == sorted(keys, key=cbor2.dumps)


def test_text_keys_sort_by_encoded_bytes() -> None:
    encoded = cbor.encode({"type": 1, "v": 1, "seq": 0, "data": {}, "pid": b""})
    assert list(cbor.decode(encoded)) == ["v", "pid", "seq", "data", "type"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, "00"),
        (23, "17"),
        (24, "1818"),
        (255, "18ff"),
        (256, "190100"),
        (65536, "1a00010000"),
        (2**32, "1b0000000100000000"),
        (-1, "20"),
        (-24, "37"),
        (-25, "3818"),
        (b"", "40"),
        ("", "60"),
        ("a", "6161"),
        ([], "80"),
        ({}, "a0"),
        (True, "f5"),
        (False, "f4"),
        (None, "f6"),
        (2**64 - 1, "1bffffffffffffffff"),
        (-(2**64), "3bffffffffffffffff"),
    ],
    ids=str,
)
def test_shortest_forms(value: object, expected: str) -> None:
    assert cbor.encode(value).hex() == expected
    assert cbor.decode(bytes.fromhex(expected)) == value


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (1.5, "floating-point"),
        (float("nan"), "floating-point"),
        ({1.0: 1}, "not an integer"),
        (2**64, "64-bit"),
        (-(2**64) - 1, "64-bit"),
        ({(1,): 1}, "not an integer"),
        ({1, 2}, "set"),
        ([[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]], "nested deeper"),
    ],
    ids=["float", "nan", "float-key", "too-big", "too-small", "array-key", "set", "deep"],
)
def test_encode_refuses_values_outside_the_subset(value: object, match: str) -> None:
    with pytest.raises(EncodeError, match=match):
        cbor.encode(value)


BAD = [
    ("empty", "", "empty input"),
    ("trailing", "0000", "trailing bytes"),
    ("duplicate-key", "a2616101616102", "duplicate map key"),
    ("unsorted-keys", "a2616201616102", "out of deterministic order"),
    (
        "mixed-key-types",
        "a3016161326162186461 63".replace(" ", ""),
        "mixes key types",
    ),
    ("non-shortest-int", "1817", "non-shortest"),
    ("non-shortest-len", "5800", "non-shortest"),
    ("non-shortest-64", "1b0000000000000001", "non-shortest"),
    ("indefinite-bytes", "5f42010243030405ff", "indefinite-length"),
    ("indefinite-array", "9f01ff", "indefinite-length"),
    ("indefinite-map", "bf616101ff", "indefinite-length"),
    ("half-float", "f93c00", "floating-point"),
    ("nan", "f97e00", "floating-point"),
    ("double", "fb3ff0000000000000", "floating-point"),
    ("undefined", "f7", "simple value"),
    ("simple-16", "f0", "simple value"),
    ("datetime-tag", "c11a514b67b0", "tag 1"),
    ("bignum-tag", "c249010000000000000000", "tag 2"),
    ("self-describe", "d9d9f700", "tag 55799"),
    ("cose-tag-here", "d28400a0f640", "tag 18"),
    ("bytes-2^32", "5affffffff00", "truncated"),
    ("bytes-2^63", "5b800000000000000000", "truncated"),
    ("array-2^63", "9b7fffffffffffffff00", "truncated"),
    ("map-2^32", "baffffffff00", "truncated"),
    ("truncated-head", "19 01".replace(" ", ""), "truncated"),
    ("bad-utf8", "62c328", "UTF-8"),
    ("reserved-info", "1c", "reserved"),
    ("lone-break", "ff", "break"),
    ("array-key", "a18000", "not an integer"),
]


@pytest.mark.parametrize(
    ("hexdata", "match"), [(h, m) for _, h, m in BAD], ids=[name for name, _, _ in BAD]
)
def test_decode_refuses_with_a_clear_reason(hexdata: str, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        cbor.decode(bytes.fromhex(hexdata))


def test_nesting_100000_deep_is_refused_quickly() -> None:
    with pytest.raises(DecodeError, match="nested deeper than 16"):
        cbor.decode(b"\x81" * 100_000 + b"\x00")


def test_nesting_16_deep_is_fine_and_17_is_not() -> None:
    assert cbor.decode(b"\x81" * 16 + b"\x00") is not None
    with pytest.raises(DecodeError, match="nested deeper"):
        cbor.decode(b"\x81" * 17 + b"\x00")


def test_size_bound() -> None:
    with pytest.raises(DecodeError, match="more than the limit"):
        cbor.decode(cbor.encode(b"x" * 100), max_size=50)


def test_not_bytes() -> None:
    with pytest.raises(DecodeError, match="expected bytes"):
        cbor.decode("a0")  # type: ignore[arg-type]


def test_allowed_tag_round_trips() -> None:
    value = cbor.Tag(18, [b"", {}, b"", b""])
    data = cbor.encode(value)
    assert cbor.decode(data, tags=frozenset({18})) == cbor.Tag(18, (b"", {}, b"", b""))


values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(st.integers(0, 2**64 - 1), inner, max_size=5)
        | st.dictionaries(st.integers(-(2**64), -1), inner, max_size=5)
        | st.dictionaries(st.text(max_size=8), inner, max_size=5)
        | st.dictionaries(st.binary(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)


def _depth(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    return 0


@given(values)
def test_round_trip(value: object) -> None:
    data = cbor.encode(value)
    assert cbor.decode(data) == value
    assert cbor.encode(cbor.decode(data)) == data


@given(st.binary(max_size=64))
def test_random_bytes_decode_or_raise_decode_error(data: bytes) -> None:
    try:
        value = cbor.decode(data)
    except DecodeError:
        return
    assert cbor.encode(value) == data


@given(values, st.data())
def test_any_accepted_input_is_the_deterministic_encoding(
    value: object, data: st.DataObject
) -> None:
    encoded = bytearray(cbor.encode(value))
    position = data.draw(st.integers(0, len(encoded) - 1))
    encoded[position] ^= 1 << data.draw(st.integers(0, 7))
    try:
        decoded = cbor.decode(bytes(encoded))
    except DecodeError:
        return
    assert cbor.encode(decoded) == bytes(encoded)


@given(values)
def test_the_fast_encoder_writes_what_cbor2_canonical_writes(value: object) -> None:
    # The fast path keeps insertion order over its own sorted copy; cbor2 sorts in C.
    assert cbor.encode(value) == cbor2.dumps(value, canonical=True)


@given(values, st.data())
def test_the_fast_decoder_accepts_exactly_what_the_scanner_accepts(
    value: object, data: st.DataObject
) -> None:
    # diagnose() is an independent byte-level reading of the rules, without cbor2.
    encoded = bytearray(cbor.encode(value))
    for _ in range(data.draw(st.integers(0, 2))):
        position = data.draw(st.integers(0, len(encoded) - 1))
        encoded[position] = data.draw(st.integers(0, 255))
    try:
        cbor.decode(bytes(encoded))
        accepted = True
    except DecodeError:
        accepted = False
    assert accepted == (cbor.diagnose(bytes(encoded)) is None), bytes(encoded).hex()


# -- bounded decoding: nothing but the linear scan runs before an input is in the subset --------


@pytest.mark.parametrize(
    ("data", "tag"),
    [
        (bytes.fromhex("d81c8201d81d00"), 28),  # 28([1, 29(0)])
        (bytes.fromhex("d81d00"), 29),
        (bytes.fromhex("d9010082616161d81900"), 256),  # 256(["a", 25(0)])
        (bytes.fromhex("d81900"), 25),
        (bytes.fromhex("c5821b7fffffffffffffff01"), 5),  # bigfloat 1 * 2**(2**63-1)
        (bytes.fromhex("c249010000000000000000"), 2),  # bignum
        (bytes.fromhex("d823626128"), 35),  # regular expression "a("
        (bytes.fromhex("d9d9f700"), 55799),  # self-described CBOR
        (bytes.fromhex("c074323032362d31322d30335431303a30303a30305a"), 0),
    ],
)
def test_every_tag_but_the_allowed_ones_is_refused_before_cbor2_reads_it(
    data: bytes, tag: int
) -> None:
    with pytest.raises(DecodeError, match=f"tag {tag} at offset 0 is not allowed"):
        cbor.decode(data)
    with pytest.raises(DecodeError, match=f"tag {tag} at offset 0 is not allowed"):
        cbor.decode(data, tags=frozenset({18}))


@pytest.mark.parametrize(
    ("bomb", "tag", "at"),
    [(shared_value_bomb(), 28, 1), (string_reference_bomb(), 256, 0)],
    ids=["shared values", "string references"],
)
def test_reference_bombs_are_refused_in_linear_memory(bomb: bytes, tag: int, at: int) -> None:
    # cbor2 builds either in microseconds; walking or re-encoding what it built does not end
    # (8**14 items) or takes gigabytes (15,000 copies of 4 KiB).
    assert len(bomb) < 64 * 1024
    with pytest.raises(DecodeError, match=f"tag {tag} at offset {at} is not allowed"):
        cbor.decode(bomb)
    assert _decode_cost(bomb) <= _BYTES_PER_INPUT_BYTE * len(bomb) + _FIXED_BYTES


def _decode_cost(data: bytes) -> int:
    """Peak bytes allocated while ``data`` is decoded or refused."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        cbor.decode(data, tags=frozenset({18}))
    except DecodeError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


# Worst case of a well-formed decode: every byte an empty map or array (a 64-byte object).
_BYTES_PER_INPUT_BYTE = 200
_FIXED_BYTES = 64 * 1024

cbor_heads = st.lists(
    st.one_of(
        st.sampled_from(
            [b"\x80", b"\xa0", b"\x81", b"\x82", b"\xa1", b"\xd2", b"\xd8\x1c", b"\xd8\x1d"]
        ),
        st.sampled_from([b"\xd8\x19", b"\xd9\x01\x00", b"\xc5", b"\xf6", b"\x00", b"\x61a"]),
        st.binary(min_size=1, max_size=3),
    ),
    max_size=400,
).map(b"".join)


@given(cbor_heads)
def test_decoding_costs_memory_linear_in_the_input(data: bytes) -> None:
    if data:
        assert _decode_cost(data) <= _BYTES_PER_INPUT_BYTE * len(data) + _FIXED_BYTES


@pytest.mark.parametrize(
    "make",
    [
        lambda n: b"\x9a" + n.to_bytes(4, "big") + b"\x80" * n,  # n empty arrays
        lambda n: b"\x9a" + n.to_bytes(4, "big") + b"\xa0" * n,  # n empty maps
        lambda n: (b"\x81" * 15 + b"\x80") * 1 + b"",  # deep, for the fixed part
        lambda n: b"\x9a" + n.to_bytes(4, "big") + b"\xd8\x1c\x80" * (n // 3),  # shareables
    ],
    ids=["arrays", "maps", "deep", "shared"],
)
def test_the_worst_inputs_cost_memory_linear_in_their_size(make: object) -> None:
    for n in (1_000, 10_000, 60_000):
        data = make(n)  # type: ignore[operator]
        assert _decode_cost(data) <= _BYTES_PER_INPUT_BYTE * len(data) + _FIXED_BYTES


@given(cbor_heads)
def test_the_linear_scan_refuses_only_what_the_diagnosis_names(data: bytes) -> None:
    if not data:
        return
    for tags in (frozenset(), frozenset({18})):
        clean = cbor._clean(data, tags, cbor.DEFAULT_MAX_ITEMS)
        problem = cbor.diagnose(data, tags, max_items=cbor.DEFAULT_MAX_ITEMS)
        if not clean:
            assert problem is not None, data.hex()
