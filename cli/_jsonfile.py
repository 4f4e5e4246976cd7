"""A JSON object read from a user's file: the production or event data a command signs."""

from __future__ import annotations

import json
from typing import Any

from dpp_ledger import passport as pp
from dpp_ledger.ledger.files import MAX_TEXT_FILE, read_bounded


def read_json_object(path: str, what: str) -> dict[str, Any]:
    """A JSON object from a file (bounded, strictly parsed).

    Raises:
        DecodeError: not a JSON object.
    """
    try:
        value = json.loads(read_bounded(path, MAX_TEXT_FILE, what=what))
    except (ValueError, RecursionError) as exc:
        raise pp.DecodeError(f"{what} {path}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise pp.DecodeError(f"{what} {path}: must hold a JSON object")
    return value
