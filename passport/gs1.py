"""GS1 identifiers: GTIN check digits, serial numbers (AI 21), company prefixes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from .errors import SchemaError

# GS1 character set 82, the set AI (21) serial numbers are drawn from.
_SERIAL: Final = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_DIGITS: Final = re.compile(r"[0-9]+")


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (all digits but the last)."""
    digits = body[::-1]  # weights 3, 1, 3, ... from the right
    total = 3 * sum(map(int, digits[0::2])) + sum(map(int, digits[1::2]))
    return (10 - total % 10) % 10


def normalize_gtin(gtin: str) -> str:
    """Return the GTIN-14 form of an 8, 12, 13 or 14 digit GTIN (left-padded with zeros).

    Raises:
        SchemaError: not digits, a wrong length, or a wrong check digit.
    """
    if not isinstance(gtin, str) or not _DIGITS.fullmatch(gtin) or len(gtin) not in (8, 12, 13, 14):
        raise SchemaError(f"GTIN {gtin!r} must be 8, 12, 13 or 14 digits")
    if check_digit(gtin[:-1]) != int(gtin[-1]):
        raise SchemaError(f"GTIN {gtin}: wrong check digit (expected {check_digit(gtin[:-1])})")
    return gtin.zfill(14)


def check_serial(serial: str) -> str:
    """Return ``serial`` if it is a valid AI (21) serial number.

    Raises:
        SchemaError: empty, longer than 20 characters, or outside GS1 character set 82.
    """
    if not isinstance(serial, str) or not _SERIAL.fullmatch(serial):
        raise SchemaError(
            f"serial {serial!r} must be 1 to 20 characters of GS1 set 82 "
            "(letters, digits and !\"%&'()*+,-./:;<=>?_)"
        )
    return serial


def prefix_covers(prefix: str, gtin14: str) -> bool:
    """Whether a GS1 company prefix covers a GTIN-14 (matched after the indicator digit)."""
    return gtin14[1 : 1 + len(prefix)] == prefix


@dataclass(frozen=True)
class DigitalLink:
    """What a GS1 Digital Link URI names: GTIN-14, serial, and the passport id if it carries one."""

    gtin: str
    serial: str
    pid: bytes | None = None


MAX_URI_LENGTH: Final = 2048


def digital_link(resolver: str, gtin: str, serial: str, pid: bytes | None = None) -> str:
    """The GS1 Digital Link URI ``https://<resolver>/01/<GTIN-14>/21/<serial>[?pid=<hex>]``.

    Raises:
        SchemaError: an invalid GTIN or serial.
    """
    base = resolver if "://" in resolver else f"https://{resolver}"
    path = f"/01/{normalize_gtin(gtin)}/21/{quote(check_serial(serial), safe='')}"
    query = f"?pid={pid.hex()}" if pid is not None else ""
    return base.rstrip("/") + path + query


def parse_digital_link(uri: str) -> DigitalLink:
    """Read GTIN, serial and optional passport id from a GS1 Digital Link URI.

    Accepts any resolver host and path prefix, 8-14 digit GTINs (normalised to 14 digits),
    and a percent-encoded serial.

    Raises:
        SchemaError: not an http(s) URI with ``/01/<gtin>/21/<serial>``, or a bad part.
    """
    if not isinstance(uri, str) or len(uri) > MAX_URI_LENGTH:
        raise SchemaError(f"a Digital Link URI is text of at most {MAX_URI_LENGTH} characters")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise SchemaError(f"not a well-formed URI: {uri[:80]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SchemaError(f"not an http(s) URI: {uri[:80]!r}")
    segments = parts.path.split("/")
    try:
        at = segments.index("01")
        gtin, ai, serial = segments[at + 1], segments[at + 2], segments[at + 3]
    except (ValueError, IndexError):
        raise SchemaError("a Digital Link names /01/<GTIN>/21/<serial>") from None
    if ai != "21":
        raise SchemaError("a Digital Link names /01/<GTIN>/21/<serial>")
    pid = None
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "pid":
            if len(value) != 64 or value != value.lower():
                raise SchemaError("pid in a Digital Link is 64 lowercase hex digits")
            try:
                pid = bytes.fromhex(value)
            except ValueError:
                raise SchemaError("pid in a Digital Link is 64 lowercase hex digits") from None
    try:
        serial = unquote(serial, errors="strict")
    except UnicodeDecodeError:
        raise SchemaError(
            "the serial in a Digital Link is not valid percent-encoded UTF-8"
        ) from None
    return DigitalLink(normalize_gtin(gtin), check_serial(serial), pid)
