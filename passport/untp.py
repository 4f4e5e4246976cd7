"""A verified passport as a UN/CEFACT UNTP Digital Product Passport credential (W3C VC 2.0).

The product, its identifiers, materials, circularity and repair information come from the
signed production data; the issuer is the brand, named by its root key (``did:key``); the
history is one link per signed event, each the ``eventID`` of its EPCIS event and the SHA-256
of its signed original. The same inputs always give the same credential, so a verifier can
rebuild it from the passport and compare (see :mod:`passport.credential`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from .bundle import Bundle
from .epcis import require_verified
from .errors import TrustError
from .events import Event
from .report import Report, format_time
from .trust import TrustedRoot
from .uris import did_key, item_uri, ni_sha256, passport_urn

VC_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
UNTP_DPP_CONTEXT: Final = "https://test.uncefact.org/vocabulary/untp/dpp/0.6.1/"
UNTP_VERSION: Final = "0.6.1"
VC_MEDIA_TYPE: Final = "application/vc"
GTIN_SCHEME: Final = {
    "type": ["IdentifierScheme"],
    "id": "https://id.gs1.org/01/",
    "name": "Global Trade Item Number (GTIN)",
}
EPCIS_OBJECT_EVENT: Final = "https://ref.gs1.org/epcis/ObjectEvent"


def credential(bundle: Bundle, report: Report, root: TrustedRoot, *, issued: int) -> dict[str, Any]:
    """The UNTP DigitalProductPassport credential of a verified passport, as of its last event.

    ``root`` is the trusted root that issued the passport (``report.brand_key``); ``issued``
    (Unix seconds) is the credential's ``validFrom``: the caller's clock.

    Raises:
        DppError: the report is not a valid verification of this bundle, or ``root`` is not
            the root it found (the first failure's own error).
    """
    require_verified(bundle, report)
    if root.key.kid != report.brand_key:
        raise TrustError(f"{root.describe()} did not issue passport {bundle.events[0].pid.hex()}")
    return build(bundle.events, root, issued=issued)


def credential_id(pid: bytes, head: bytes) -> str:
    """The credential's ``id``: the passport and the last event it describes."""
    return f"urn:dpp:credential:{pid.hex()}:{head.hex()}"


def build(events: Sequence[Event], root: TrustedRoot, *, issued: int) -> dict[str, Any]:
    """The credential for the chain ``events`` (verified by the caller), issued by ``root``."""
    data = events[0].data
    issuer = did_key(root.key.raw)
    subject: dict[str, Any] = {
        "type": ["ProductPassport"],
        "id": passport_urn(events[0].pid),
        "product": _product(data, issuer, root.brand),
        "granularityLevel": "item",
    }
    if data.get("materials"):
        subject["materialsProvenance"] = [_material(m) for m in data["materials"]]
    circularity = _circularity(data)
    if circularity:
        subject["circularityScorecard"] = circularity
    subject["traceabilityInformation"] = [
        {
            "type": ["TraceabilityPerformance"],
            "valueChainProcess": "item history: every signed passport event",
            "traceabilityEvent": [_history_link(e) for e in events],
        }
    ]
    return {
        "@context": [VC_CONTEXT, UNTP_DPP_CONTEXT],
        "type": ["DigitalProductPassport", "VerifiableCredential"],
        "id": credential_id(events[0].pid, events[-1].hash),
        "issuer": {"type": ["CredentialIssuer"], "id": issuer, "name": root.brand},
        "validFrom": format_time(issued),
        "credentialSubject": subject,
    }


def _product(data: Mapping[str, Any], issuer: str, label: str) -> dict[str, Any]:
    gtin, serial = data["gtin"], data["serial"]
    product: dict[str, Any] = {
        "type": ["Product"],
        "id": item_uri(gtin, serial),
        "name": data.get("model") or f"GTIN {gtin}",
        "registeredId": gtin,
        "idScheme": dict(GTIN_SCHEME),
        "serialNumber": serial,
        "producedByParty": {"id": issuer, "name": data.get("brand") or label},
    }
    if "made_on" in data:
        product["productionDate"] = data["made_on"]
    if "made_in" in data:
        product["countryOfProduction"] = data["made_in"]
    traits = {name: data[name] for name in ("category", "site", "care") if name in data}
    if traits:
        product["characteristics"] = {"type": ["Characteristics"], **traits}
    return product


def _material(material: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "type": ["Material"],
        "name": material["material"],
        "massFraction": material["share"] / 100,
    }
    if "origin" in material:
        out["originCountry"] = material["origin"]
    return out


def _circularity(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "recycled_content" in data:
        out["recycledContent"] = data["recycled_content"] / 100
    repair = data.get("repairability") or {}
    if repair:
        words = [
            f"repairability score {repair['score']}/100" if "score" in repair else "",
            f"spare parts for {repair['spare_parts_years']} years"
            if "spare_parts_years" in repair
            else "",
            str(repair.get("instructions", "")),
        ]
        out["repairInformation"] = {
            "type": ["Link"],
            "linkName": "; ".join(w for w in words if w),
        }
        if "score" in repair:
            out["repairabilityScore"] = repair["score"]
        if "spare_parts_years" in repair:
            out["sparePartsYears"] = repair["spare_parts_years"]
    return {"type": ["CircularityPerformance"], **out} if out else {}


def _history_link(event: Event) -> dict[str, Any]:
    return {
        "type": ["SecureLink", "Link"],
        "linkURL": ni_sha256(event.hash),
        "linkName": f"event {event.seq}: {event.type}, {format_time(event.time)}",
        "linkType": EPCIS_OBJECT_EVENT,
        "hashDigest": event.hash.hex(),
        "hashMethod": "SHA-256",
        "encryptionMethod": "none",
    }
