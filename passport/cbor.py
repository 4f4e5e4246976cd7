"""Deterministic CBOR (RFC 8949 §4.2.1) for the project's wire formats.

The only place where raw bytes become Python values and back. Encoding sorts map keys by their
encoded bytes, uses shortest forms and definite lengths. Decoding is strict: the input must be
exactly the deterministic encoding of what it decodes to ("decode, re-encode, compare bytes"),
within a size and depth bound, using only the types the formats need: integers, byte and text
strings, arrays, maps, booleans, null, and the tags a caller allows. Anything else is a
:class:`DecodeError` naming the first problem and its byte offset.

The keys of one map share one major type (unsigned integers, negative integers, byte strings
or text), as in every format of the project. Within one major type, RFC 8949 §4.2.1 bytewise
order and cbor2's length-first ``canonical`` order coincide (shortest forms make a longer
encoding a larger one), so the fast C encoder produces exactly the deterministic bytes. Mixed
maps, where the two orders differ, are refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final, cast

import cbor2

from .errors import DecodeError, EncodeError

MAX_DEPTH: Final = 16
DEFAULT_MAX_SIZE: Final = 1 << 20
DEFAULT_MAX_ITEMS: Final = 100_000
_UINT_LIMIT: Final = 1 << 64

Tag = cbor2.CBORTag
# What decoded maps and arrays are (cbor2 freezes those inside a tag), for fast isinstance.
MAPS: Final = (dict, cbor2.frozendict)
ARRAYS: Final = (list, tuple)


def encode_checked(value: object) -> bytes:
    """Encode a structure built in this package from already-checked parts (no second walk).

    For the envelopes the project assembles itself (COSE headers, Sig_structure, the tagged
    record), whose only variable parts are byte strings, text and integers it made, and whose
    maps the caller builds in deterministic key order (kept as given: no sorting pass).
    """
    return cbor2.dumps(value)


def encode(value: object) -> bytes:
    """Encode ``value`` as deterministic CBOR.

    Raises:
        EncodeError: a value of a type the formats do not use (float, set, ...), an integer
            outside the 64-bit range, a map mixing key types, or nesting deeper than
            ``MAX_DEPTH``.
    """
    return encode_copy(value)[0]


def encode_copy(value: object) -> tuple[bytes, object]:
    """Encode ``value`` as :func:`encode` does, and return a fresh copy of it as well.

    The copy is what decoding the bytes would give (new lists and maps, in deterministic
    order), without decoding them: for a record whose fields must not change after signing.

    Raises:
        EncodeError: as :func:`encode`.
    """
    ordered = _canonical(value, 1)
    try:
        if ordered is not _SLOW:
            # Maps of the copy are already in deterministic order: no sorting pass.
            return cbor2.dumps(ordered), ordered
        _check(value, 1, "$", _ENCODABLE_TAGS)
        data = cbor2.dumps(value, canonical=True)
    except UnicodeEncodeError:
        raise EncodeError("text that is not valid Unicode (a lone surrogate)") from None
    return data, cbor2.loads(data)


def decode(
    data: bytes,
    *,
    what: str = "CBOR item",
    max_size: int = DEFAULT_MAX_SIZE,
    max_items: int = DEFAULT_MAX_ITEMS,
    tags: frozenset[int] = frozenset(),
) -> object:
    """Decode ``data`` strictly; ``what`` names the input in error messages.

    Raises:
        DecodeError: the input is empty, too large, malformed, not deterministic, or uses a type
            or tag outside the subset (the message names the first problem and its offset).
    """
    if type(data) is not bytes:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise DecodeError(f"{what}: expected bytes, got {type(data).__name__}")
        data = bytes(data)
    if not data:
        raise DecodeError(f"{what}: empty input")
    if len(data) > max_size:
        raise DecodeError(f"{what}: {len(data)} bytes, more than the limit of {max_size}")
    if not _clean(data, tags, max_items):
        # cbor2 resolves shared values (tags 28/29), string references (25/256) and other
        # semantic tags while it decodes, before anything here could look: a few hundred
        # bytes of them build structures exponential in size. Nothing reaches cbor2 that
        # this linear scan did not pass; the slower diagnosis names the problem.
        problem = diagnose(data, tags, max_items=max_items)
        raise DecodeError(f"{what}: {problem or 'outside the deterministic CBOR subset'}")
    try:
        value = cbor2.loads(data)
        if _fits(value, 1, tags):
            # Maps are in input order, already checked to be the deterministic order.
            again = cbor2.dumps(value)
        else:
            _check(value, 1, "$", tags)
            again = cbor2.dumps(value, canonical=True)
    except (cbor2.CBORError, EncodeError, ValueError, TypeError, RecursionError) as exc:
        raise DecodeError(f"{what}: {diagnose(data, tags) or _reason(exc)}") from exc
    if again != data:
        raise DecodeError(f"{what}: {diagnose(data, tags) or 'not in deterministic encoding'}")
    return value


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


_ENCODABLE_TAGS: Final = frozenset({18})
_SCALARS: Final = (str, bytes, bool, type(None))


def _fits(value: object, depth: int, tags: frozenset[int]) -> bool:  # noqa: PLR0911, PLR0912 - flat switch
    """True if ``value`` is certainly in the subset, with every map in deterministic key order.

    The fast path of the strict decoder, run on every record: exact types only, no paths
    built. False means "ask :func:`_check`": anything unusual (subclasses, integer map keys,
    non-ASCII keys, keys out of order, errors) goes to the slow walk, which accepts or names
    the problem, and to the canonical re-encoding, which settles the order.
    """
    kind = type(value)
    if kind is str or kind is bytes or kind is bool or value is None:
        return True
    if kind is int:
        return -_UINT_LIMIT <= value < _UINT_LIMIT  # type: ignore[operator]
    if depth > MAX_DEPTH:
        return False
    if kind is list or kind is tuple:
        items: Iterable[object] = value  # type: ignore[assignment]
    elif kind is dict or kind is _FROZEN_MAP:  # cbor2 freezes maps inside tags
        mapping: dict[Any, object] = value  # type: ignore[assignment]
        if len(mapping) > 1 and not _in_order(tuple(mapping)):
            return False
        if len(mapping) == 1 and type(next(iter(mapping))) not in _PLAIN_KEYS:
            return False
        items = mapping.values()
    elif kind is Tag:
        tag: Tag = value  # type: ignore[assignment]
        return tag.tag in tags and _fits(tag.value, depth + 1, tags)
    else:
        return False
    for item in items:
        item_kind = type(item)
        if item_kind is str or item_kind is bytes:
            continue
        if item_kind is int:
            if -_UINT_LIMIT <= item < _UINT_LIMIT:  # type: ignore[operator]
                continue
            return False
        if not _fits(item, depth + 1, tags):
            return False
    return True


def _in_order(keys: tuple[Any, ...]) -> bool:
    """Whether map keys (all text or all bytes) are in deterministic order.

    Shorter keys first, then by content (for ASCII text, characters are bytes). The same few
    key layouts recur in every record, so layouts found in order are remembered.
    """
    if keys in _ORDERED:
        return True
    kinds = set(map(type, keys))
    if kinds == _STR_KEYS:
        if not all(map(str.isascii, keys)):
            return False
    elif kinds != _BYTES_KEYS:
        return False
    if list(keys) != sorted(sorted(keys), key=len):
        return False
    if len(keys) <= _MAX_REMEMBERED_KEYS:  # layouts, not big maps of key ids
        if len(_ORDERED) >= _MAX_ORDERED:
            _ORDERED.clear()
        _ORDERED.add(keys)
    return True


_MAX_ORDERED: Final = 1024
_MAX_REMEMBERED_KEYS: Final = 32
_ORDERED: set[tuple[Any, ...]] = set()


def _canonical(value: object, depth: int) -> object:  # noqa: PLR0911 - flat switch
    """A copy of ``value`` with every map in deterministic key order, or ``_SLOW`` if unsure.

    The fast path of the encoder: cbor2 keeps insertion order cheaply but sorts slowly.
    """
    kind = type(value)
    if kind is str or kind is bytes or kind is bool or value is None:
        return value
    if kind is int:
        return value if -_UINT_LIMIT <= value < _UINT_LIMIT else _SLOW  # type: ignore[operator]
    if depth > MAX_DEPTH:
        return _SLOW
    if kind is list:
        out = [_canonical(item, depth + 1) for item in value]  # type: ignore[attr-defined]
        return _SLOW if _SLOW in out else out
    if kind is dict:
        mapping: dict[Any, object] = value  # type: ignore[assignment]
        order = _order_of(tuple(mapping))
        if order is None:
            return _SLOW
        ordered = {key: _canonical(mapping[key], depth + 1) for key in order}
        return _SLOW if _SLOW in ordered.values() else ordered
    return _SLOW


def _order_of(keys: tuple[Any, ...]) -> tuple[str, ...] | None:
    """The deterministic order of ASCII text keys, or None for other keys (slow path)."""
    order = _ORDERS.get(keys)
    if order is not None:
        return order
    if set(map(type, keys)) - _STR_KEYS or not all(map(str.isascii, keys)):
        return None
    order = tuple(sorted(sorted(keys), key=len))
    if len(keys) <= _MAX_REMEMBERED_KEYS:
        if len(_ORDERS) >= _MAX_ORDERED:
            _ORDERS.clear()
        _ORDERS[keys] = order
    return order


_ORDERS: dict[tuple[Any, ...], tuple[str, ...]] = {}
_SLOW: Final = object()
_FROZEN_MAP: Final = cbor2.frozendict


_STR_KEYS: Final = {str}
_BYTES_KEYS: Final = {bytes}
_PLAIN_KEYS: Final = (str, bytes)


def _key_kind(key: object, path: str) -> int:
    """The CBOR major type a map key encodes to (0, 1, 2 or 3)."""
    if isinstance(key, str):
        return 3
    if isinstance(key, bytes):
        return 2
    if isinstance(key, int) and not isinstance(key, bool):
        if not -_UINT_LIMIT <= key < _UINT_LIMIT:
            raise EncodeError(f"integer map key at {path} is outside the 64-bit range")
        return 0 if key >= 0 else 1
    raise EncodeError(f"map key {key!r} at {path} is not an integer or a string")


def _check(value: object, depth: int, path: str, tags: frozenset[int]) -> None:  # noqa: PLR0912 - one flat type switch, for speed
    """Refuse anything outside the subset (types, ranges, tags, depth, mixed map keys)."""
    kind = type(value)
    if kind is str or kind is bytes or kind is bool or value is None:
        return  # the common leaves first: this walk runs on every decoded record
    if isinstance(value, int):
        if not -_UINT_LIMIT <= value < _UINT_LIMIT:
            raise EncodeError(f"integer at {path} is outside the 64-bit range")
        return
    if isinstance(value, _SCALARS):
        return
    if depth > MAX_DEPTH:
        raise EncodeError(f"nested deeper than {MAX_DEPTH} levels at {path}")
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, depth + 1, f"{path}[{i}]", tags)
        return
    if kind is dict or isinstance(value, Mapping):
        mapping = cast(Mapping[object, object], value)
        if (
            not all(type(key) is str for key in mapping)
            and len({_key_kind(key, path) for key in mapping}) > 1
        ):
            raise EncodeError(f"map at {path} mixes key types: keys share one major type")
        for key, item in mapping.items():
            _check(item, depth + 1, f"{path}.{key}", tags)
        return
    if isinstance(value, Tag):
        if value.tag not in tags:
            raise EncodeError(f"tag {value.tag} at {path} is not allowed here")
        _check(value.value, depth + 1, f"{path}<{value.tag}>", tags)
        return
    if isinstance(value, float):
        raise EncodeError(f"floating-point number at {path}: the formats use integers only")
    raise EncodeError(f"value of type {type(value).__name__} at {path} is not supported")


def _clean(data: bytes, tags: frozenset[int], budget: int) -> bool:  # noqa: PLR0911, PLR0912, PLR0915 - one flat loop, for speed
    """Whether ``data`` is one item of at most ``budget`` heads, within the structural subset.

    A linear walk over item heads with an explicit stack (no recursion, no values built):
    definite lengths that fit the input, nesting to ``MAX_DEPTH``, tags only from ``tags``,
    no floats or simple values but false, true and null, nothing after the item. It runs on
    every decode, so it only answers yes or no; :func:`diagnose` names what is wrong, and
    the re-encoding in :func:`decode` settles shortest forms, key order and UTF-8.

    Leaves whose size the head alone gives (integers, short strings, false, true, null) take
    one table lookup. An offset past the end is caught at the next head read or at the end,
    and the head count at the end: every head takes at least one byte, so the walk is linear
    in the input whatever it declares.
    """
    size = len(data)
    pos = 0
    pending = 1  # items still to read in the innermost open container
    stack: list[int] = []  # what remains to read in each enclosing container
    leaf = _LEAF_SIZE
    while True:
        while not pending:
            if not stack:
                return pos == size and budget >= 0
            pending = stack.pop()
        if pos >= size:
            return False
        head = data[pos]
        step = leaf[head]
        if step:
            pos += step
            budget -= 1
            pending -= 1
            continue
        if (head == 0x58 or head == 0x78) and pos + 1 < size:  # noqa: PLR1714 - two ints, fastest
            pos += 2 + data[pos + 1]  # a byte or text string of 24 to 255 bytes
            budget -= 1
            pending -= 1
            continue
        info = head & 31
        if info < 24:
            argument = info
            pos += 1
        elif info < 28:
            width = 1 << (info - 24)
            argument = int.from_bytes(data[pos + 1 : pos + 1 + width], "big")
            pos += 1 + width
            if pos > size:
                return False
        else:
            return False  # reserved, or an indefinite length
        budget -= 1
        if budget < 0:
            return False
        pending -= 1
        major = head >> 5
        if major < 4:  # a string longer than 255 bytes (integers and short strings are leaves)
            pos += argument
            if pos > size:
                return False
            continue
        if major == 7:
            return False  # a float or another simple value (false, true and null are leaves)
        if len(stack) >= MAX_DEPTH:
            return False
        if major == 4:
            if argument > size - pos:
                return False
            stack.append(pending)
            pending = argument
        elif major == 5:
            if 2 * argument > size - pos:
                return False
            stack.append(pending)
            pending = 2 * argument
        else:
            if argument not in tags:
                return False
            stack.append(pending)
            pending = 1


def _leaf_sizes() -> bytes:
    """For each head byte: the whole size of an item that head alone sizes, else 0."""
    sizes = bytearray(256)
    for head in range(256):
        major, info = head >> 5, head & 31
        if major < 2 and info < 28:  # an integer: its head and argument bytes
            sizes[head] = 1 if info < 24 else 1 + (1 << (info - 24))
        elif major in (2, 3) and info < 24:  # a string of up to 23 bytes
            sizes[head] = 1 + info
        elif major == 7 and 20 <= info <= 22:  # false, true, null
            sizes[head] = 1
    return bytes(sizes)


_LEAF_SIZE: Final = _leaf_sizes()


class _MalformedError(Exception):
    pass


def diagnose(
    data: bytes, tags: frozenset[int] = frozenset(), *, max_items: int | None = None
) -> str | None:
    """Name the first way ``data`` departs from the deterministic subset, or None if it does not.

    Pure Python, bounded by ``max_items``: run on large inputs before the fast decoder (so a
    flood of tiny items is refused before it is built) and to explain a failed fast check.
    """
    scanner = _Scanner(data, tags, len(data) if max_items is None else max_items)
    try:
        end = scanner.item(0, 1)
    except _MalformedError as problem:
        return str(problem)
    if end != len(data):
        return f"{len(data) - end} trailing bytes after the item, at offset {end}"
    return None


class _Scanner:
    """A strict, non-allocating walk over CBOR heads: depth- and item-bounded."""

    def __init__(self, data: bytes, tags: frozenset[int], budget: int) -> None:
        self.data = data
        self.tags = tags
        self.budget = budget

    def head(self, pos: int) -> tuple[int, int, int, int]:
        """Read one item head at ``pos``: (major type, additional info, argument, next offset)."""
        data = self.data
        if pos >= len(data):
            raise _MalformedError(
                f"truncated: input ends at offset {pos} where an item should start"
            )
        self.budget -= 1
        if self.budget < 0:
            raise _MalformedError(f"more items than the limit, at offset {pos}")
        major, info = data[pos] >> 5, data[pos] & 31
        if info < 24:
            return major, info, info, pos + 1
        if info == 31:
            if major == 7:
                raise _MalformedError(f"unexpected 'break' byte at offset {pos}")
            raise _MalformedError(
                f"indefinite-length item at offset {pos}: only definite lengths allowed"
            )
        if info > 27:
            raise _MalformedError(f"reserved additional information {info} at offset {pos}")
        size = 1 << (info - 24)
        if pos + 1 + size > len(data):
            raise _MalformedError(f"truncated: the head at offset {pos} needs {size} more bytes")
        argument = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
        if major != 7 and argument < (24 if info == 24 else 1 << (8 * (size // 2))):
            raise _MalformedError(f"non-shortest encoding of the argument at offset {pos}")
        return major, info, argument, pos + 1 + size

    def item(self, pos: int, depth: int) -> int:
        """Check the item at ``pos`` and return the offset after it."""
        start = pos
        major, info, arg, pos = self.head(pos)
        if major in (0, 1):
            return pos
        if major in (2, 3):
            return self.string(start, pos, arg, text=major == 3)
        if major == 7:
            return _simple(start, pos, info, arg)
        if depth > MAX_DEPTH:
            raise _MalformedError(f"nested deeper than {MAX_DEPTH} levels at offset {start}")
        if major == 6:
            if arg not in self.tags:
                raise _MalformedError(f"tag {arg} at offset {start} is not allowed here")
            return self.item(pos, depth + 1)
        if major == 4:
            if arg > len(self.data) - pos:
                raise _MalformedError(
                    f"truncated: array at offset {start} declares {arg} items, "
                    f"{len(self.data) - pos} bytes remain"
                )
            for _ in range(arg):
                pos = self.item(pos, depth + 1)
            return pos
        return self.map(start, pos, arg, depth)

    def string(self, start: int, pos: int, length: int, *, text: bool) -> int:
        """Check a byte or text string's length (and UTF-8) and return the offset after it."""
        if length > len(self.data) - pos:
            raise _MalformedError(
                f"truncated: string at offset {start} declares {length} bytes, "
                f"{len(self.data) - pos} remain"
            )
        if text:
            try:
                self.data[pos : pos + length].decode("utf-8")
            except UnicodeDecodeError:
                raise _MalformedError(f"text string at offset {start} is not valid UTF-8") from None
        return pos + length

    def map(self, start: int, pos: int, count: int, depth: int) -> int:
        """Check a map: keys are integers or strings, unique and in deterministic order."""
        data = self.data
        if 2 * count > len(data) - pos:
            raise _MalformedError(
                f"truncated: map at offset {start} declares {count} entries, too few bytes remain"
            )
        previous = b""
        for _ in range(count):
            key_start = pos
            if pos < len(data) and data[pos] >> 5 not in (0, 1, 2, 3):
                raise _MalformedError(f"map key at offset {pos} is not an integer or a string")
            pos = self.item(pos, depth + 1)
            key = data[key_start:pos]
            if previous and key[0] >> 5 != previous[0] >> 5:
                raise _MalformedError(
                    f"map at offset {start} mixes key types at offset {key_start}"
                )
            if key == previous:
                raise _MalformedError(f"duplicate map key at offset {key_start}")
            if key < previous:
                raise _MalformedError(f"map keys out of deterministic order at offset {key_start}")
            previous = key
            pos = self.item(pos, depth + 1)
        return pos


def _simple(start: int, pos: int, info: int, arg: int) -> int:
    if info in (20, 21, 22):
        return pos
    if info in (25, 26, 27):
        raise _MalformedError(
            f"floating-point number at offset {start}: the formats use integers only"
        )
    raise _MalformedError(f"simple value {arg} at offset {start} is not allowed")
