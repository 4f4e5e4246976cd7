"""GS1 identifiers: GTIN check digits, serial numbers (AI 21), company prefixes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .errors import SchemaError

# GS1 character set 82, the set AI (21) serial numbers are drawn from.
_SERIAL: Final = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_DIGITS: Final = re.compile(r"[0-9]+")


def check_digit(body: str) -> int:
    """The GS1 mod-10 check digit for ``body`` (all digits but the last)."""
    if body.isascii() and body.isdigit():  # the usual case: sum the code points at C speed
        points = body[::-1].encode()  # weights 3, 1, 3, ... from the right
        odd, even = points[0::2], points[1::2]
        total = 3 * (sum(odd) - 48 * len(odd)) + sum(even) - 48 * len(even)
        return (10 - total % 10) % 10
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


_COMPANY_PREFIX: Final = re.compile(r"[0-9]{4,12}")
# GS1 prefixes under which no company prefix is ever allocated (GS1 General Specifications,
# "GS1 prefixes"): a trust entry claiming one would claim numbers no brand owns.
_NOT_COMPANY: Final = (
    ("00000", "GTIN-8s and restricted circulation numbers"),
    ("02", "restricted circulation numbers"),
    ("04", "restricted circulation numbers"),
    ("05", "coupons"),
    ("2", "restricted circulation numbers"),
    ("98", "refund receipts and coupons"),
    ("99", "coupons"),
)


def check_company_prefix(prefix: str) -> str:
    """Return ``prefix`` if it can be a GS1 company prefix (4 to 12 digits, in an open range).

    Raises:
        SchemaError: not 4 to 12 digits, or inside (or covering) a range GS1 keeps for
            GTIN-8s, restricted circulation numbers, coupons or refund receipts.
    """
    if not isinstance(prefix, str) or not _COMPANY_PREFIX.fullmatch(prefix):
        raise SchemaError(f"GS1 company prefix {str(prefix)[:40]!r} must be 4 to 12 digits")
    for start, kept_for in _NOT_COMPANY:
        if prefix.startswith(start) or start.startswith(prefix):
            raise SchemaError(
                f"{prefix} is not a GS1 company prefix: GS1 keeps numbers starting "
                f"{start} for {kept_for}"
            )
    return prefix


@dataclass(frozen=True)
class DigitalLink:
    """What a GS1 Digital Link URI names: a GTIN-14, and the qualifiers and passport id it carries.

    The item's identity is GTIN + serial; a lot (AI 10) or a consumer product variant (AI 22)
    is kept, never put in its place. A link without a serial names a product, not one item.
    """

    gtin: str
    serial: str | None
    pid: bytes | None = None
    lot: str | None = None
    variant: str | None = None


MAX_URI_LENGTH: Final = 2048
# The scheme in one case, as the Digital Link grammar writes it; a host of domain labels
# (punycode for other scripts) or a bracketed IPv6 literal without zone, and a port.
_SCHEMES: Final = ("https://", "http://", "HTTPS://", "HTTP://")
_HOST: Final = re.compile(
    r"(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.|(?=:|$)))+(?::[0-9]{1,5})?"
    r"|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?"
)
# Key qualifiers of a GTIN, in the order the Digital Link URI syntax requires them.
_QUALIFIERS: Final = ("22", "10", "21")
_NAMES: Final = {"22": "consumer product variant", "10": "lot", "21": "serial"}


def digital_link(resolver: str, gtin: str, serial: str, pid: bytes | None = None) -> str:
    """The GS1 Digital Link URI ``https://<resolver>/01/<GTIN-14>/21/<serial>[?pid=<hex>]``.

    Raises:
        SchemaError: an invalid GTIN or serial.
    """
    from urllib.parse import quote  # noqa: PLC0415 - only links need it

    base = resolver if "://" in resolver else f"https://{resolver}"
    path = f"/01/{normalize_gtin(gtin)}/21/{quote(check_serial(serial), safe='')}"
    query = f"?pid={pid.hex()}" if pid is not None else ""
    return base.rstrip("/") + path + query


def parse_digital_link(uri: str) -> DigitalLink:
    """Read GTIN, its qualifiers and an optional passport id from a GS1 Digital Link URI.

    The path is read from the right, as the Digital Link grammar is: the last ``/01/<gtin>``
    followed only by key qualifiers (22, 10, 21 in that order) ends it, and whatever precedes
    it is the resolver's own stem, which may itself contain ``/01/``. Any resolver host and
    stem, 8-14 digit GTINs (normalised to 14 digits), percent-encoded values.

    Raises:
        SchemaError: not an http(s) URI ending in ``/01/<gtin>[/22/..][/10/..][/21/..]``,
            a bad part, or a query parameter given twice.
    """
    from urllib.parse import urlsplit  # noqa: PLC0415 - only links need it

    if not isinstance(uri, str) or len(uri) > MAX_URI_LENGTH:
        raise SchemaError(f"a Digital Link URI is text of at most {MAX_URI_LENGTH} characters")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise SchemaError(f"not a well-formed URI: {uri[:80]!r}") from None
    if not uri.startswith(_SCHEMES) or not parts.netloc:
        raise SchemaError(f"not an http(s) URI: {uri[:80]!r}")
    if not _HOST.fullmatch(parts.netloc):
        raise SchemaError(
            "a Digital Link's host is a domain name or an IP address, with an optional port"
        )
    keys = _key_path(parts.path)
    return DigitalLink(
        normalize_gtin(keys["01"]),
        None if "21" not in keys else check_serial(keys["21"]),
        _query_pid(parts.query),
        None if "10" not in keys else _qualifier(keys["10"], "lot"),
        None if "22" not in keys else _qualifier(keys["22"], "consumer product variant"),
    )


def _key_path(path: str) -> dict[str, str]:
    """The primary key and qualifiers at the end of a Digital Link path, by AI, unescaped."""
    from urllib.parse import unquote  # noqa: PLC0415 - only links need it

    segments = path.split("/")
    pairs: list[tuple[str, str]] = []
    end = len(segments)
    while end >= 3 and (not pairs or pairs[0][0] != "01"):
        pairs.insert(0, (segments[end - 2], segments[end - 1]))
        end -= 2
    if not pairs or pairs[0][0] != "01":
        raise SchemaError("a Digital Link path ends in /01/<GTIN>, then /21/<serial> or others")
    found = [ai for ai, _ in pairs[1:]]
    unknown = [ai for ai in found if ai not in _QUALIFIERS]
    if unknown:
        raise SchemaError(
            f"a Digital Link for a GTIN is qualified by /22/, /10/ or /21/, not /{unknown[0][:8]}/"
        )
    if found != sorted(set(found), key=_QUALIFIERS.index):
        raise SchemaError(
            "a Digital Link's qualifiers come once each, in the order "
            "/22/<variant>, /10/<lot>, /21/<serial>"
        )
    try:
        return {ai: unquote(value, errors="strict") for ai, value in pairs}
    except UnicodeDecodeError:
        raise SchemaError("a Digital Link value is not valid percent-encoded UTF-8") from None


def _qualifier(value: str, name: str) -> str:
    if not _SERIAL.fullmatch(value):
        raise SchemaError(f"{name} {value[:40]!r} must be 1 to 20 characters of GS1 set 82")
    return value


def _query_pid(query: str) -> bytes | None:
    """The ``pid`` parameter, if any; a parameter given twice is refused, whatever it is.

    Readers disagree on which of two values counts (browsers take the first, many servers
    the last), so a link that says two things says nothing.
    """
    from urllib.parse import parse_qsl  # noqa: PLC0415 - only links need it

    seen: set[str] = set()
    pid = None
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key in seen:
            raise SchemaError(f"the Digital Link gives the parameter {key[:40]!r} twice")
        seen.add(key)
        if _DIGITS.fullmatch(key):
            _check_attribute(key, value)
        elif key == "pid":
            if len(value) != 64 or not _HEX.fullmatch(value):
                raise SchemaError("pid in a Digital Link is 64 lowercase hex digits")
            pid = bytes.fromhex(value)
    return pid


_HEX: Final = re.compile(r"[0-9a-f]+")
# Keys and key qualifiers: in a GTIN's link they belong in the path, once.
_PATH_AIS: Final = frozenset({"00", "01", "10", "21", "22", "235", "253", "255", "401", "402"})
_PATH_AIS_4: Final = frozenset({"414", "417", "8003", "8004", "8006", "8010", "8013", "8017"})
_ATTRIBUTE: Final = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,90}")


def _check_attribute(ai: str, value: str) -> None:
    """A query parameter named by digits is a GS1 data attribute: a plausible AI and value.

    The GS1 AI dictionary is not carried here, so an unknown AI is not caught; what is
    refused is what no AI allows: a key or qualifier that belongs in the path, an AI of the
    wrong length, an empty or over-long value, characters outside GS1 set 82 (``%00``, a
    space from ``+``).
    """
    if not 2 <= len(ai) <= 4 or ai in _PATH_AIS or ai in _PATH_AIS_4:
        raise SchemaError(f"the Digital Link's query names AI ({ai[:8]}), which cannot go there")
    if not _ATTRIBUTE.fullmatch(value):
        raise SchemaError(
            f"the Digital Link's AI ({ai}) value must be 1 to 90 characters of GS1 set 82"
        )
