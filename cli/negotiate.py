"""Content negotiation: which of the representations we offer a client's ``Accept`` prefers.

Parsed by werkzeug's ``parse_accept_header`` (RFC 9110 §12.5.1: q-values, ``*/*`` and
``type/*`` ranges, specificity, ``q=0`` as "not acceptable", media types compared without
regard to case); a maintained parser, not one of our own. Among equally acceptable types the
one we list first wins. The header is bounded before anything reads it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from dpp_ledger import passport as pp

MAX_ACCEPT: Final = 4096
"""Bytes of ``Accept`` we read; real clients send well under 1 KiB."""


def best(accept: str | None, offers: Sequence[str]) -> str | None:
    """The offer ``accept`` prefers; the first offer if the header is absent or empty.

    None when the client finds none of ``offers`` acceptable.

    Raises:
        SchemaError: the header is longer than :data:`MAX_ACCEPT`.
    """
    if accept is None or not accept.strip():
        return offers[0]
    if len(accept) > MAX_ACCEPT:
        raise pp.SchemaError(f"the Accept header is longer than {MAX_ACCEPT} characters")
    return parse_accept_header(accept, MIMEAccept).best_match(offers)
