"""JSON Schemas of event data and of the trust store, loaded from the ``schemas`` package.

The schemas are package data, read once at import like code; nothing here reads a user's file.
Checks JSON Schema cannot express (GTIN check digits, real calendar dates) follow the schema.
"""

from __future__ import annotations

import datetime
import json
import pkgutil
import re
from collections.abc import Callable, Iterator, Mapping
from functools import cache, lru_cache
from importlib import import_module
from typing import TYPE_CHECKING, Any, Final

from . import gs1
from ._fastschema import compile_schema, inline
from .errors import SchemaError

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

SCHEMA_PACKAGE: Final = f"{__package__.rpartition('.')[0]}.schemas"


def package_data(name: str) -> bytes:
    """The bytes of file ``name`` of the schemas package (read like code, not user input).

    Raises:
        SchemaError: the package lacks the file (a broken installation).
    """
    data = pkgutil.get_data(SCHEMA_PACKAGE, name)
    if data is None:
        raise SchemaError(f"the {SCHEMA_PACKAGE} package has no {name}: reinstall dpp-ledger")
    return data


def _load_all() -> dict[str, dict[str, Any]]:
    loaded: dict[str, dict[str, Any]] = {}
    for name in import_module(SCHEMA_PACKAGE).JSON_FILES:
        document = json.loads(package_data(f"{name}.json"))
        if "$schema" in document:  # beside the schemas: data tables (countries.json)
            loaded[name] = document
    return loaded


_SCHEMAS: Final = _load_all()


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _ecma_pattern(
    validator: object, pattern: str, instance: object, schema: object
) -> Iterator[ValidationError]:
    """``pattern`` with ECMA-262 semantics: ``$`` ends the string, never a final newline.

    Python's ``$`` also matches before a trailing newline, so "A1" plus a newline would pass.
    """
    from jsonschema.exceptions import ValidationError  # noqa: PLC0415 - see _validator

    if not isinstance(instance, str):
        return
    match = _compiled(pattern).search(instance)
    if match is None or (pattern.endswith("$") and match.end() != len(instance)):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _validator(name: str) -> Validator:
    """The validator for schema ``name``, built the first time data fails to pass.

    jsonschema (with its format checkers) takes tens of milliseconds to import and is needed
    only to say what is wrong: valid data passes the fast acceptors alone, so verifying a
    valid bundle never loads it.
    """
    from jsonschema import Draft202012Validator, validators  # noqa: PLC0415
    from referencing import Registry, Resource  # noqa: PLC0415

    registry: Registry[Any] = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in _SCHEMAS.values()
    )
    # validators.extend is untyped in types-jsonschema.
    extended = validators.extend(Draft202012Validator, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]
    found: Validator = extended(_SCHEMAS[name], registry=registry)
    return found


_DEFS_PREFIX: Final = "urn:dpp:schema:v1:defs#/$defs/"


@cache
def _acceptor(name: str) -> Callable[[object], bool]:
    """The fast acceptor of schema ``name``, compiled the first time it is needed.

    jsonschema stays the judge of anything it does not accept. One at a time: a verification
    of a bundle uses three or four of the schemas, and start-up should not compile them all.
    """
    return compile_schema(inline(_SCHEMAS[name], _SCHEMAS["defs"]["$defs"], _DEFS_PREFIX))


def schema(name: str) -> Mapping[str, Any]:
    """The JSON Schema called ``name`` (an event type, ``defs`` or ``truststore``)."""
    return _SCHEMAS[name]


def validate(name: str, instance: object, *, what: str) -> None:
    """Check ``instance`` against schema ``name``.

    Raises:
        SchemaError: the first (most relevant) mismatch, with its location.
    """
    if name not in _SCHEMAS:
        raise SchemaError(f"{what}: no schema called {name!r}")
    if name != "defs" and _acceptor(name)(instance):
        return
    from jsonschema.exceptions import best_match  # noqa: PLC0415 - see _validator

    checked: Any = instance  # jsonschema takes any decoded JSON; its stubs say less
    error = best_match(_validator(name).iter_errors(checked))
    if error is not None:
        where = "".join(
            f"[{p}]" if isinstance(p, int) else f".{_cut(str(p))}" for p in error.absolute_path
        )
        raise SchemaError(f"{what}: {where.lstrip('.') or 'data'}: {readable(error)}")


MAX_SHOWN: Final = 40  # characters of a value shown in a message
_ASIDE: Final = re.compile(r"\s*\([^)]*\)(?=\.?$)")  # a closing remark for developers
MAX_MESSAGE: Final = 240
_MORE: Final = f"{{{MAX_SHOWN + 1},}}"  # a repetition of more than MAX_SHOWN
_LONG_TEXT: Final = re.compile(
    rf"'(?:[^'\\]|\\.){_MORE}'" + rf'|"(?:[^"\\]|\\.){_MORE}"' + rf"|\d{_MORE}"
)


def readable(error: ValidationError) -> str:
    """The error's message with every long value cut to a readable length, named by its size.

    jsonschema quotes the whole offending value; a 100,000-character string must not come
    back in full on one line of a terminal.
    """
    message = error.message
    if error.validator == "pattern":
        # A regular expression means nothing to most readers: say what the field is.
        description = error.schema.get("description") if isinstance(error.schema, dict) else None
        if not isinstance(description, str) or not description:
            return f"{_summary(error.instance)} is not in the form this field takes"
        expected = _ASIDE.sub("", description).rstrip(".")
        return f"{_summary(error.instance)} does not fit: expected {expected}"
    shown = repr(error.instance)
    if len(shown) > MAX_SHOWN:
        message = message.replace(shown, _summary(error.instance))
    message = _LONG_TEXT.sub(lambda found: _cut(found.group()), message)
    if len(message) > MAX_MESSAGE:
        message = f"{message[: MAX_MESSAGE - 60]} … {message[-50:]}"
    return message


def _summary(value: object) -> str:
    if isinstance(value, str):
        return _cut(repr(value))
    if isinstance(value, list | dict):
        kind = "list" if isinstance(value, list) else "map"
        return f"a {kind} of {len(value):,} {'entry' if len(value) == 1 else 'entries'}"
    return _cut(repr(value))


def _cut(text: str) -> str:
    """A quoted string or a number, shortened to ``MAX_SHOWN`` characters and its size said."""
    if len(text) <= MAX_SHOWN:
        return text
    if text[0] in "'\"" and text[-1] == text[0]:
        return f"{text[:MAX_SHOWN]}…{text[0]} ({len(text) - 2:,} characters)"
    unit = "digits" if text.isdigit() else "characters"
    return f"{text[:MAX_SHOWN]}… ({len(text):,} {unit})"


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
