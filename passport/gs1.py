"""GS1 identifiers: GTIN check digits, serial numbers (AI 21), company prefixes."""

from __future__ import annotations

import re
from typing import Final

from .errors import SchemaError

# GS1 character set 82, the set AI (21) serial numbers are drawn from.
_SERIAL: Final = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_DIGITS: Final = re.compile(r"[0-9]+")


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (all digits but the last)."""
    total = sum(int(c) * (3 if i % 2 == 0 else 1) for i, c in enumerate(reversed(body)))
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
