"""A verified passport as a GS1 EPCIS 2.0 JSON-LD ``EPCISDocument``: one ObjectEvent per event.

The passport stays the source of truth; this is a view of it for the systems a brand already
runs. Each EPCIS event names its signed original (``eventID``, ``dpp:eventHash``,
``dpp:passportId``) so a receiver can fetch it and verify it. Parties appear only as key
fingerprints; nothing a person typed (repair notes, case references, prices, receipts) is
copied. Choices of CBV 2.0 business steps and dispositions: see the README's mapping table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .bundle import Bundle
from .errors import ChainError
from .events import Event, EventType
from .report import Report, format_time
from .uris import VOCAB, item_uri, ni_sha256

EPCIS_CONTEXT: Final = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
EPCIS_MEDIA_TYPE: Final = "application/ld+json"
SCHEMA_VERSION: Final = "2.0"


@dataclass(frozen=True)
class Step:
    """How one passport event reads in EPCIS: action, CBV business step and disposition."""

    action: str
    biz_step: str | None
    disposition: str | None


_E = EventType
MAPPING: Final[Mapping[EventType, Step]] = {
    _E.PRODUCTION: Step("ADD", "commissioning", "active"),
    _E.SALE: Step("OBSERVE", "retail_selling", "retail_sold"),
    _E.OUTLET: Step("OBSERVE", "shipping", "in_transit"),
    _E.RESALE: Step("OBSERVE", "accepting", None),
    _E.REPAIR: Step("OBSERVE", "repairing", "available"),
    _E.AUTHENTICATION: Step("OBSERVE", "inspecting", None),
    _E.STOLEN: Step("OBSERVE", None, "stolen"),
    _E.RECOVERED: Step("OBSERVE", None, "available"),
    _E.END_OF_LIFE: Step("DELETE", "decommissioning", "disposed"),
}
"""The default step of each event type; the data refines some (see :func:`step_for`)."""

_VERDICTS: Final = {"genuine": "conformant", "not_genuine": "non_conformant"}
_FATES: Final = {
    "destroyed": Step("DELETE", "destroying", "destroyed"),
    "recycled": Step("DELETE", "decommissioning", "disposed"),
    "upcycled": Step("DELETE", "decommissioning", "inactive"),
}


def step_for(event: Event) -> Step:
    """The EPCIS action, business step and disposition for ``event``."""
    step = MAPPING[event.type]
    if event.type is EventType.AUTHENTICATION:
        return Step(step.action, step.biz_step, _VERDICTS.get(str(event.data.get("verdict"))))
    if event.type is EventType.END_OF_LIFE:
        return _FATES.get(str(event.data.get("fate")), step)
    return step


def epcis_document(bundle: Bundle, report: Report, *, created: int) -> dict[str, Any]:
    """The EPCIS 2.0 ``EPCISDocument`` of a verified passport, one ObjectEvent per event.

    ``created`` (Unix seconds) is the document's ``creationDate``: the caller's clock.

    Raises:
        DppError: the report is not a valid verification of this bundle (the first
            failure's own error), so nothing unverified is ever exported.
    """
    require_verified(bundle, report)
    first = bundle.events[0].data
    epc = item_uri(first["gtin"], first["serial"])
    owners = _owners(bundle.events, report)
    events = [_event(event, epc, owners[i], owners[i + 1]) for i, event in enumerate(bundle.events)]
    return {
        "@context": [EPCIS_CONTEXT, {"dpp": VOCAB}],
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": format_time(created),
        "epcisBody": {"eventList": events},
    }


def require_verified(bundle: Bundle, report: Report) -> None:
    """Refuse a bundle whose report is not a valid verification of it.

    Raises:
        DppError: the error behind the report's first failure, or a plain one if the report
            describes another passport or an earlier head.
    """
    report.raise_for_outcome()
    if not bundle.events or report.pid != bundle.pid or report.head != bundle.events[-1].hash:
        raise ChainError("the report is not a verification of this bundle")


def _owners(events: tuple[Event, ...], report: Report) -> list[bytes | None]:
    """The owner key id before each event and after the last: the brand's root, then owners."""
    owner: bytes | None = report.brand_key
    owners = [owner]
    for event in events:
        field = {EventType.SALE: "owner", EventType.RESALE: "to"}.get(event.type)
        if field is not None:
            owner = bytes.fromhex(event.data[field])
        owners.append(owner)
    return owners


def _event(event: Event, epc: str, before: bytes | None, after: bytes | None) -> dict[str, Any]:
    step = step_for(event)
    out: dict[str, Any] = {
        "type": "ObjectEvent",
        "eventID": ni_sha256(event.hash),
        "eventTime": format_time(event.time),
        "eventTimeZoneOffset": "+00:00",
        "epcList": [epc],
        "action": step.action,
    }
    if step.biz_step is not None:
        out["bizStep"] = step.biz_step
    if step.disposition is not None:
        out["disposition"] = step.disposition
    if event.type is EventType.STOLEN:
        out["persistentDisposition"] = {"set": ["stolen"]}
    elif event.type is EventType.RECOVERED:
        out["persistentDisposition"] = {"unset": ["stolen"]}
    if before != after and before is not None and after is not None:
        out["sourceList"] = [{"type": "owning_party", "source": ni_sha256(before)}]
        out["destinationList"] = [{"type": "owning_party", "destination": ni_sha256(after)}]
    out.update(
        {
            "dpp:passportId": event.pid.hex(),
            "dpp:eventHash": event.hash.hex(),
            "dpp:seq": event.seq,
            "dpp:eventType": str(event.type),
            "dpp:signer": event.signer.hex(),
        }
    )
    return out
