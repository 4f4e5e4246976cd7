"""The bundle: everything needed to verify one passport offline, as one value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from .certs import Certificate, RevocationList
from .events import Event

if TYPE_CHECKING:
    from .sealing import Box

BUNDLE_MEDIA_TYPE: Final = "application/vnd.dpp.bundle+cbor"
BUNDLE_SUFFIX: Final = ".dpp"


@dataclass(frozen=True)
class LogProof:
    """An inclusion proof of one event in a transparency log (RFC 9162 §2.1.3)."""

    index: int
    path: tuple[bytes, ...]


@dataclass(frozen=True)
class LogEntry:
    """A signed checkpoint (signed-note text) and one inclusion proof per event, in chain order."""

    checkpoint: str
    proofs: tuple[LogProof, ...]


@dataclass(frozen=True)
class Bundle:
    """Events in chain order, the certificates and owner keys they need, newest revocation lists.

    ``disclosures`` are the sealed boxes of the events' restricted values (none once erased).
    """

    events: tuple[Event, ...]
    certs: tuple[Certificate, ...] = ()
    keys: tuple[bytes, ...] = ()
    revocations: tuple[RevocationList, ...] = ()
    log: LogEntry | None = field(default=None)
    disclosures: tuple[Box, ...] = ()

    @property
    def pid(self) -> bytes | None:
        """The passport id, from the first event, if there is one."""
        return self.events[0].pid if self.events else None
