"""A fast acceptor for the JSON Schema keywords the project's schemas use.

jsonschema is the reference: it names what is wrong. It is also slow (hundreds of µs for a
product's data), so each schema is compiled once into one straight-line Python function that
only *accepts*; anything it does not accept goes to jsonschema for its verdict and message.
Straight-line code matters: a tree of closures cost about a microsecond per keyword, and the
acceptor runs on every event issued or verified.

The generated source comes from the packaged schemas only, never from input; every value taken
from a schema (property names, patterns, enums, bounds) reaches the function as a bound
constant, not as source text. A schema using a keyword this module does not know fails at
compile time, so the two can never silently disagree on vocabulary; a property test checks that
they agree on instances.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

Check = Callable[[object], bool]
# "sealable" annotates an event schema with the fields that may be sealed (schema.sealable).
_IGNORED: Final = frozenset({"$schema", "$id", "title", "description", "$defs", "sealable"})
_STRING: Final = frozenset({"minLength", "maxLength", "pattern"})
_ARRAY: Final = frozenset({"minItems", "maxItems", "items"})
_NUMBER: Final = frozenset({"minimum", "maximum"})
_OBJECT: Final = frozenset({"properties", "required", "additionalProperties"})
_KNOWN: Final = _IGNORED | _STRING | _ARRAY | _NUMBER | _OBJECT | {"type", "enum", "const"}
# The negated type test of each JSON type, as source over the value's name.
_NOT_TYPE: Final = {
    "object": "type({v}) is not dict",
    "array": "type({v}) is not list and type({v}) is not tuple",
    "string": "type({v}) is not str",
    "integer": "type({v}) is not int",
    "boolean": "type({v}) is not bool",
}
_MISSING: Final = object()


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


def compile_schema(schema: Mapping[str, Any]) -> Check:
    """A function that returns True only for instances the schema certainly accepts.

    Raises:
        ValueError: the schema uses a keyword or form this compiler does not support.
    """
    writer = _Writer()
    writer.emit(schema, "v0", 1)
    source = "def accept(v0):\n" + "\n".join(writer.lines) + "\n    return True\n"
    namespace: dict[str, Any] = dict(writer.constants, _MISSING=_MISSING)
    exec(compile(source, "<schema acceptor>", "exec"), namespace)  # noqa: S102 - see module doc
    accept: Check = namespace["accept"]
    return accept


class _Writer:
    """Emits the body of an acceptor: ``if <not accepted>: return False`` lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.constants: dict[str, object] = {}
        self.names = 0

    def constant(self, value: object) -> str:
        name = f"c{len(self.constants)}"
        self.constants[name] = value
        return name

    def variable(self) -> str:
        self.names += 1
        return f"v{self.names}"

    def refuse_if(self, condition: str, depth: int) -> None:
        self.lines.append(f"{'    ' * depth}if {condition}: return False")

    def emit(self, schema: Mapping[str, Any], v: str, depth: int) -> None:
        unknown = set(schema) - _KNOWN
        if "additionalProperties" in schema and "properties" not in schema:
            unknown.add("additionalProperties without properties")
        if schema.get("additionalProperties", False) not in (True, False):
            unknown.add("additionalProperties other than true or false")
        if unknown:
            raise ValueError(f"unsupported keywords {sorted(unknown)}")
        declared = schema.get("type")
        if declared is not None:
            if declared not in _NOT_TYPE:
                raise ValueError(f"unsupported type {declared!r}")
            self.refuse_if(_NOT_TYPE[declared].format(v=v), depth)
        if "enum" in schema:
            self.refuse_if(f"not {self.constant(_one_of(schema['enum']))}({v})", depth)
        if "const" in schema:
            self.refuse_if(f"not {self.constant(_one_of([schema['const']]))}({v})", depth)
        for kind, keywords, body in (
            ("string", _STRING, self._string),
            ("integer", _NUMBER, self._number),
            ("array", _ARRAY, self._array),
            ("object", _OBJECT, self._object),
        ):
            if not keywords & set(schema):
                continue
            if declared == kind:
                body(schema, v, depth)
            elif declared is None:  # the keywords apply to values of their kind only
                negated = _NOT_TYPE[kind].format(v=v)
                self.lines.append(f"{'    ' * depth}if not ({negated}):")
                mark = len(self.lines)
                body(schema, v, depth + 1)
                if len(self.lines) == mark:
                    self.lines.append(f"{'    ' * (depth + 1)}pass")

    def _bounds(self, measure: str, low: object, high: object, depth: int) -> None:
        if low is not None:
            self.refuse_if(f"{measure} < {self.constant(low)}", depth)
        if high is not None:
            self.refuse_if(f"{measure} > {self.constant(high)}", depth)

    def _string(self, schema: Mapping[str, Any], v: str, depth: int) -> None:
        self._bounds(f"len({v})", schema.get("minLength"), schema.get("maxLength"), depth)
        if "pattern" in schema:
            pattern: str = schema["pattern"]
            search = self.constant(re.compile(pattern).search)
            self.lines.append(f"{'    ' * depth}m = {search}({v})")
            self.refuse_if("m is None", depth)
            if pattern.endswith("$"):  # ECMA-262: "$" is the end of the text, not before "\n"
                self.refuse_if(f"m.end() != len({v})", depth)

    def _number(self, schema: Mapping[str, Any], v: str, depth: int) -> None:
        self._bounds(v, schema.get("minimum"), schema.get("maximum"), depth)

    def _array(self, schema: Mapping[str, Any], v: str, depth: int) -> None:
        self._bounds(f"len({v})", schema.get("minItems"), schema.get("maxItems"), depth)
        if "items" in schema:
            item = self.variable()
            self.lines.append(f"{'    ' * depth}for {item} in {v}:")
            mark = len(self.lines)
            self.emit(schema["items"], item, depth + 1)
            if len(self.lines) == mark:
                self.lines.append(f"{'    ' * (depth + 1)}pass")

    def _object(self, schema: Mapping[str, Any], v: str, depth: int) -> None:
        if "required" in schema:
            self.refuse_if(
                f"not {v}.keys() >= {self.constant(frozenset(schema['required']))}", depth
            )
        properties: Mapping[str, Any] = schema.get("properties", {})
        if schema.get("additionalProperties", True) is False:
            self.refuse_if(f"not {self.constant(frozenset(properties))}.issuperset({v})", depth)
        for name, sub in properties.items():
            item = self.variable()
            self.lines.append(f"{'    ' * depth}{item} = {v}.get({self.constant(name)}, _MISSING)")
            self.lines.append(f"{'    ' * depth}if {item} is not _MISSING:")
            mark = len(self.lines)
            self.emit(sub, item, depth + 1)
            if len(self.lines) == mark:
                self.lines.append(f"{'    ' * (depth + 1)}pass")


def _one_of(options: list[Any]) -> Check:
    """Equal to one option, with its JSON type (``True`` is not ``1``)."""
    choices = tuple(options)
    if all(type(o) is str for o in choices):
        strings = frozenset(choices)
        return lambda v: type(v) is str and v in strings
    return lambda v: any(v == o and type(v) is type(o) for o in choices)
