"""What a file most likely is, from its first bytes: said when a command is given the wrong one.

Only for messages: nothing is ever decided or parsed from a guess.
"""

from __future__ import annotations

from typing import Final

_MAGIC: Final = (
    (b"\x89PNG\r\n\x1a\n", "a PNG picture"),
    (b"\xff\xd8\xff", "a JPEG picture"),
    (b"GIF8", "a GIF picture"),
    (b"BM", "a BMP picture"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
)
_PICTURES: Final = frozenset(kind for _, kind in _MAGIC if kind.endswith("picture"))


def kind_of(data: bytes) -> str | None:
    """``a PNG picture``, ``a JSON document``, ``text``... or None if nothing is recognised."""
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "a WebP picture"
    head = data[:4096].lstrip()
    if head[:1] in (b"{", b"["):
        return "a JSON document"
    try:
        data[:4096].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "a text file" if data else None


def is_picture(kind: str | None) -> bool:
    """Whether ``kind`` (from :func:`kind_of`) is a picture."""
    return kind in _PICTURES or kind == "a WebP picture"
