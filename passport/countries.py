"""Country codes in words: ISO 3166-1 alpha-2 to the English short name, for people to read.

The table is package data (``schemas/countries.json``, from Debian's iso-codes); a code it
does not know is shown as it is. Validation stays with the schemas (two capital letters).
"""

from __future__ import annotations

import json
from functools import lru_cache

from .schema import package_data


@lru_cache(maxsize=1)
def _names() -> dict[str, str]:
    names: dict[str, str] = json.loads(package_data("countries.json"))["names"]
    return names


def country_name(code: str) -> str:
    """The country's English short name (``IT`` -> ``Italy``), or ``code`` if unknown."""
    return _names().get(code, code)
