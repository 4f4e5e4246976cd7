"""The fast schema acceptor agrees with jsonschema, the reference, on every instance tried."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpp_ledger.passport import _fastschema, schema
from tests.world import PRODUCT, World

W = World()
SAMPLES: dict[str, dict[str, Any]] = {
    "production": PRODUCT,
    "sale": {
        "owner": "ab" * 32,
        "channel": "boutique",
        "receipt": "cd" * 32,
        "price": {"amount": 120000, "currency": "EUR"},
    },
    "outlet": {"note": "end of season"},
    "resale": {"to": "ab" * 32, "platform": "a site", "price": {"amount": 1, "currency": "EUR"}},
    "repair": {"work": "new handle", "parts": ["handle", "rivet"]},
    "authentication": {"verdict": "genuine", "method": "visual", "report": "ef" * 32},
    "stolen": {"reference": "case 1"},
    "recovered": {"reference": "case 1"},
    "end_of_life": {"fate": "recycled", "facility": "plant"},
    "truststore": {"v": 1, "roots": [{"brand": "B", "key": "ab" * 32, "gs1_prefixes": ["1234"]}]},
}

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.text(max_size=30)
    | st.sampled_from(["ab" * 32, "FR", "2026-01-01", "x\n", "", "genuine", "boutique"]),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["material", "share", "origin", "score", "amount", "currency", "x"])
            | st.text(max_size=8),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def _reference(name: str, instance: object) -> bool:
    return not list(schema._VALIDATORS[name].iter_errors(instance))


@st.composite
def _mutated(draw: st.DrawFn, name: str) -> object:
    value: Any = {**SAMPLES[name]}
    for _ in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(["set", "drop", "nested"]))
        keys = list(value)
        if action == "drop" and keys:
            value.pop(draw(st.sampled_from(keys)))
        elif action == "nested" and keys:
            key = draw(st.sampled_from(keys))
            inner = value[key]
            if isinstance(inner, dict) and inner:
                inner = {**inner, draw(st.sampled_from(list(inner))): draw(json_values)}
            elif isinstance(inner, list) and inner:
                inner = [*inner[:-1], draw(json_values)]
            value[key] = inner
        else:
            value[draw(st.sampled_from([*keys, "extra"]) if keys else st.just("x"))] = draw(
                json_values
            )
    return value


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_samples_are_accepted_by_both(name: str) -> None:
    assert schema._ACCEPT[name](SAMPLES[name])
    assert _reference(name, SAMPLES[name])


@pytest.mark.parametrize("name", sorted(SAMPLES))
@given(data=st.data())
def test_the_fast_acceptor_agrees_with_jsonschema(name: str, data: st.DataObject) -> None:
    instance = data.draw(_mutated(name) | json_values)
    assert schema._ACCEPT[name](instance) == _reference(name, instance), instance


@pytest.mark.parametrize(
    "keyword",
    [
        {"oneOf": []},
        {"format": "date"},
        {"type": "number"},
        {"$ref": "https://elsewhere.example/x.json"},
        {"additionalProperties": {"type": "string"}, "properties": {}},
    ],
)
def test_unknown_vocabulary_fails_at_compile_time(keyword: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="unsupported"):
        _fastschema.compile_schema(_fastschema.inline(keyword, {}, "urn:x#/"))
