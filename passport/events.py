"""Passport events: the model of one signed, hash-linked entry in an item's history."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Any, Final

from .cose import Sign1

FORMAT_VERSION: Final = 1
MAX_SEQ: Final = 2**31 - 1
# Times are Unix seconds; anything from year 10000 on is not a time but an attack on parsers.
MAX_TIME: Final = 253402300799


class EventType(StrEnum):
    """The kinds of event a passport records (design: Event types)."""

    PRODUCTION = "production"
    SALE = "sale"
    OUTLET = "outlet"
    RESALE = "resale"
    REPAIR = "repair"
    AUTHENTICATION = "authentication"
    STOLEN = "stolen"
    RECOVERED = "recovered"
    END_OF_LIFE = "end_of_life"


@dataclass(frozen=True)
class Event:
    """One event as signed: its exact COSE_Sign1 record and the payload fields read from it.

    ``chain_pid`` and ``prev`` are None in the first event, whose own hash is the passport id.
    """

    record: Sign1
    seq: int
    type: EventType
    time: int
    data: Mapping[str, Any]
    chain_pid: bytes | None = None
    prev: bytes | None = None

    @cached_property
    def hash(self) -> bytes:
        """SHA-256 of the event's exact COSE_Sign1 bytes."""
        return self.record.digest

    @property
    def pid(self) -> bytes:
        """The passport id: the hash of the first event of the chain."""
        return self.chain_pid if self.chain_pid is not None else self.hash

    @property
    def raw(self) -> bytes:
        """The event's exact COSE_Sign1 bytes, as stored and hashed."""
        return self.record.raw

    @property
    def signer(self) -> bytes:
        """Key id of the key that signed the event (from the protected header)."""
        return self.record.kid

    def label(self) -> str:
        """Short name for messages, e.g. ``event 3 (resale)``."""
        return f"event {self.seq} ({self.type})"
