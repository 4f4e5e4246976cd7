"""Delegation certificates and revocation lists: who may sign what for a brand, and until when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from typing import Final

from .cose import Sign1
from .events import EventType
from .keys import kid_of


class Role(StrEnum):
    """What a delegate does for its brand."""

    FACTORY = "factory"
    RETAILER = "retailer"
    OUTLET = "outlet"
    REPAIRER = "repairer"
    AUTHENTICATOR = "authenticator"


_E = EventType
# The event types a role may ever be granted, and those it gets when none are named.
ROLE_PERMITS: Final[Mapping[Role, frozenset[EventType]]] = {
    Role.FACTORY: frozenset({_E.PRODUCTION}),
    Role.RETAILER: frozenset({_E.SALE, _E.REPAIR, _E.AUTHENTICATION, _E.STOLEN, _E.RECOVERED}),
    Role.OUTLET: frozenset({_E.OUTLET, _E.SALE, _E.STOLEN, _E.RECOVERED}),
    Role.REPAIRER: frozenset({_E.REPAIR, _E.END_OF_LIFE}),
    Role.AUTHENTICATOR: frozenset({_E.AUTHENTICATION}),
}
ROLE_DEFAULTS: Final[Mapping[Role, frozenset[EventType]]] = {
    Role.FACTORY: frozenset({_E.PRODUCTION}),
    Role.RETAILER: frozenset({_E.SALE}),
    Role.OUTLET: frozenset({_E.OUTLET, _E.SALE}),
    Role.REPAIRER: frozenset({_E.REPAIR}),
    Role.AUTHENTICATOR: frozenset({_E.AUTHENTICATION}),
}


@dataclass(frozen=True)
class Certificate:
    """A brand root's grant to a delegate key: its name, role, event types and validity window."""

    record: Sign1
    subject: bytes
    name: str
    role: Role
    types: frozenset[EventType]
    nbf: int
    exp: int

    @property
    def issuer(self) -> bytes:
        """Key id of the root key that signed the certificate."""
        return self.record.kid

    @cached_property
    def subject_kid(self) -> bytes:
        """Key id of the delegate key."""
        return kid_of(self.subject)

    def in_window(self, time: int) -> bool:
        """Whether ``time`` lies in ``[nbf, exp)``."""
        return self.nbf <= time < self.exp


@dataclass(frozen=True)
class RevocationList:
    """A brand root's list of revoked delegate keys, each revoked from a given time."""

    record: Sign1
    number: int
    issued: int
    revoked: Mapping[bytes, int]

    @property
    def issuer(self) -> bytes:
        """Key id of the root key that signed the list."""
        return self.record.kid

    def revoked_from(self, kid: bytes) -> int | None:
        """The time from which ``kid`` is revoked, or None if it is not on the list."""
        return self.revoked.get(kid)
