"""JSON Schemas of event data and of the trust store, loaded from the ``schemas`` package.

The schemas are package data, read once at import like code; nothing here reads a user's file.
Checks JSON Schema cannot express (GTIN check digits, real calendar dates) follow the schema.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from importlib import resources
from typing import Any, Final

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from . import gs1
from ._fastschema import compile_schema, inline
from .errors import SchemaError

SCHEMA_PACKAGE: Final = "schemas"


def _load_all() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = {}
    for entry in resources.files(SCHEMA_PACKAGE).iterdir():
        if entry.name.endswith(".json"):
            loaded[entry.name.removesuffix(".json")] = json.loads(entry.read_text("utf-8"))
    return loaded


_SCHEMAS: Final = _load_all()
_REGISTRY: Final = Registry().with_resources(
    (schema["$id"], Resource.from_contents(schema)) for schema in _SCHEMAS.values()
)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _ecma_pattern(
    validator: object, pattern: str, instance: object, schema: object
) -> Iterator[ValidationError]:
    """``pattern`` with ECMA-262 semantics: ``$`` ends the string, never a final newline.

    Python's ``$`` also matches before a trailing newline, so "A1" plus a newline would pass.
    """
    if not isinstance(instance, str):
        return
    match = _compiled(pattern).search(instance)
    if match is None or (pattern.endswith("$") and match.end() != len(instance)):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


_Validator: Final = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})
_VALIDATORS: Final = {
    name: _Validator(schema, registry=_REGISTRY) for name, schema in _SCHEMAS.items()
}
_DEFS_PREFIX: Final = "urn:dpp:schema:v1:defs#/$defs/"
# Fast acceptors, compiled once; jsonschema stays the judge of anything they do not accept.
_ACCEPT: Final = {
    name: compile_schema(inline(schema, _SCHEMAS["defs"]["$defs"], _DEFS_PREFIX))
    for name, schema in _SCHEMAS.items()
    if name != "defs"
}


def schema(name: str) -> Mapping[str, Any]:
    """The JSON Schema called ``name`` (an event type, ``defs`` or ``truststore``)."""
    return _SCHEMAS[name]


def validate(name: str, instance: object, *, what: str) -> None:
    """Check ``instance`` against schema ``name``.

    Raises:
        SchemaError: the first (most relevant) mismatch, with its location.
    """
    validator = _VALIDATORS.get(name)
    if validator is None:
        raise SchemaError(f"{what}: no schema called {name!r}")
    accept = _ACCEPT.get(name)
    if accept is not None and accept(instance):
        return
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise SchemaError(f"{what}: {where.lstrip('.') or 'data'}: {error.message}")


def validate_event_data(event_type: str, data: Mapping[str, Any], *, what: str) -> None:
    """Check an event's data against its type's schema and the checks a schema cannot make.

    Raises:
        SchemaError: the data does not fit its event type.
    """
    validate(event_type, data, what=what)
    sealed = data.get("sealed")
    if sealed is not None and list(sealed) != sorted(set(sealed)):
        raise SchemaError(f"{what}: sealed: the digests must be sorted and distinct")
    if event_type == "production":
        try:
            gs1.normalize_gtin(data["gtin"])
            gs1.check_serial(data["serial"])
        except SchemaError as exc:
            raise SchemaError(f"{what}: {exc}") from None
        if "made_on" in data:
            _check_date(data["made_on"], what)
        shares = sum(m["share"] for m in data.get("materials", ()))
        if shares > 100:
            raise SchemaError(f"{what}: material shares add up to {shares}%, more than 100%")


def sealable(event_type: str) -> frozenset[str]:
    """The fields of ``event_type`` that may be sealed to an audience (its schema's "sealable").

    Required fields (the GS1 identifier, owners) are never among them: a passport without
    them would not say what it is or whose it is.
    """
    found = _SCHEMAS.get(event_type, {}).get("sealable", ())
    return frozenset(found)


def _check_date(text: str, what: str) -> None:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        raise SchemaError(f"{what}: made_on {text!r} is not a calendar date") from None


ESPR_FIELDS: Final = (
    "brand",
    "model",
    "materials",
    "made_in",
    "made_on",
    "recycled_content",
    "repairability",
    "care",
)


def missing_product_fields(data: Mapping[str, Any]) -> tuple[str, ...]:
    """Production fields an ESPR passport should carry but ``data`` leaves out."""
    return tuple(name for name in ESPR_FIELDS if name not in data)
