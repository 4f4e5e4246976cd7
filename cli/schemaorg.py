"""The schema.org ``Product`` a passport page embeds as JSON-LD, for search engines and shops.

Only for a passport that verifies: what a forged or revoked one claims is not offered to
anyone's index. ``hasDigitalProductPassport`` (schema.org, equivalent to ``gs1:dpp``) links
the UNTP credential; ``subjectOf`` (the long-established property) lists the machine-readable
documents about the item: the credential, the signed bundle, the EPCIS events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dpp_ledger import passport as pp
from dpp_ledger.passport import epcis, gs1, untp
from dpp_ledger.passport.bundle import BUNDLE_MEDIA_TYPE


def product(report: pp.Report, data: Mapping[str, Any], base: str, pid: bytes) -> dict[str, Any]:
    """The item as a schema.org ``Product`` (an ``IndividualProduct``: it has a serial)."""
    at = f"{base}/passports/{pid.hex()}"
    documents = [
        ("UNTP digital product passport credential", f"{at}/untp.json", untp.VC_MEDIA_TYPE),
        ("Signed passport bundle, to verify offline", f"{at}/bundle.dpp", BUNDLE_MEDIA_TYPE),
        ("EPCIS 2.0 events", f"{at}/epcis.jsonld", epcis.EPCIS_MEDIA_TYPE),
    ]
    facts: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": ["Product", "IndividualProduct"],
        "@id": gs1.digital_link(base, data["gtin"], data["serial"]),
        "name": data.get("model") or f"GTIN {data['gtin']}",
        "gtin": data["gtin"],
        "serialNumber": data["serial"],
        "brand": {"@type": "Brand", "name": data.get("brand") or report.brand},
        "hasDigitalProductPassport": f"{at}/untp.json",
        "subjectOf": [
            {"@type": "DigitalDocument", "name": name, "url": url, "encodingFormat": media}
            for name, url, media in documents
        ],
    }
    if data.get("materials"):
        facts["material"] = [m["material"] for m in data["materials"]]
    if data.get("category"):
        facts["category"] = data["category"]
    return facts
