"""A fast acceptor for the JSON Schema keywords the project's schemas use.

jsonschema is the reference: it names what is wrong. It is also slow (hundreds of µs for a
product's data), so schemas are compiled once into small closures that only *accept*; anything
they do not accept goes to jsonschema for its verdict and message. A schema using a keyword this
module does not know fails at compile time, so the two can never silently disagree on
vocabulary; a property test checks that they agree on instances.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

Check = Callable[[object], bool]
_IGNORED: Final = frozenset({"$schema", "$id", "title", "description", "$defs"})


def inline(node: Any, defs: Mapping[str, Any], prefix: str) -> Any:
    """``node`` with every ``$ref`` to ``prefix + name`` replaced by that definition."""
    if isinstance(node, dict):
        if "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith(prefix):
                raise ValueError(f"unsupported $ref {ref!r}")
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return {**inline(defs[ref.removeprefix(prefix)], defs, prefix), **siblings}
        return {k: inline(v, defs, prefix) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v, defs, prefix) for v in node]
    return node


def _type_check(name: str) -> Check:
    kinds: dict[str, Check] = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list | tuple),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if name not in kinds:
        raise ValueError(f"unsupported type {name!r}")
    return kinds[name]


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """A function that returns True only for instances the schema certainly accepts.

    Raises:
        ValueError: the schema uses a keyword or form this compiler does not support.
    """
    checks: list[Check] = []
    known = set(_IGNORED) | {"additionalProperties"}
    for keyword, builder in _BUILDERS.items():
        if keyword in schema:
            known.add(keyword)
            checks.append(builder(schema))
    for low, high, measure, applies in _BOUNDS:
        if low in schema or high in schema:
            known |= {low, high}
            checks.append(_bounds(schema.get(low), schema.get(high), measure, applies))
    unknown = set(schema) - known
    if "additionalProperties" in schema and "properties" not in schema:
        unknown.add("additionalProperties without properties")
    if unknown:
        raise ValueError(f"unsupported keywords {sorted(unknown)}")
    return lambda value: all(check(value) for check in checks)


def _properties(schema: Mapping[str, Any]) -> Check:
    props = {name: compile_schema(sub) for name, sub in schema["properties"].items()}
    closed = schema.get("additionalProperties", True) is False
    if schema.get("additionalProperties", False) not in (True, False):
        raise ValueError("unsupported additionalProperties: only true or false")

    def check(value: object) -> bool:
        if not isinstance(value, dict):
            return True
        for key, item in value.items():
            sub = props.get(key)
            if sub is None:
                if closed:
                    return False
            elif not sub(item):
                return False
        return True

    return check


def _required(schema: Mapping[str, Any]) -> Check:
    names = tuple(schema["required"])
    return lambda v: not isinstance(v, dict) or all(n in v for n in names)


def _items(schema: Mapping[str, Any]) -> Check:
    sub = compile_schema(schema["items"])
    return lambda v: not isinstance(v, list | tuple) or all(sub(i) for i in v)


def _pattern(schema: Mapping[str, Any]) -> Check:
    pattern: str = schema["pattern"]
    compiled = re.compile(pattern)
    anchored = pattern.endswith("$")

    def check(value: object) -> bool:
        if not isinstance(value, str):
            return True
        match = compiled.search(value)
        return match is not None and (not anchored or match.end() == len(value))

    return check


def _bounds(
    low: int | None,
    high: int | None,
    measure: Callable[[Any], int],
    applies: Callable[[object], bool],
) -> Check:
    def check(value: object) -> bool:
        if not applies(value):
            return True
        size = measure(value)
        return (low is None or size >= low) and (high is None or size <= high)

    return check


def _is_string(value: object) -> bool:
    return isinstance(value, str)


def _is_array(value: object) -> bool:
    return isinstance(value, list | tuple)


def _is_number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _identity(value: Any) -> int:
    return int(value)


def _enum(schema: Mapping[str, Any]) -> Check:
    options = tuple(schema["enum"])
    return lambda v: any(v == o and type(v) is type(o) for o in options)


def _const(schema: Mapping[str, Any]) -> Check:
    constant = schema["const"]
    return lambda v: v == constant and type(v) is type(constant)


_BUILDERS: Final[dict[str, Callable[[Mapping[str, Any]], Check]]] = {
    "type": lambda s: _type_check(s["type"]),
    "properties": _properties,
    "required": _required,
    "items": _items,
    "pattern": _pattern,
    "enum": _enum,
    "const": _const,
}
_BOUNDS: Final[tuple[tuple[str, str, Callable[[Any], int], Callable[[object], bool]], ...]] = (
    ("minLength", "maxLength", len, _is_string),
    ("minItems", "maxItems", len, _is_array),
    ("minimum", "maximum", _identity, _is_number),
)
