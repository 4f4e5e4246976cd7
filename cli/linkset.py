"""What makes ``dpp serve`` a GS1-conformant resolver: linksets, link types, redirects.

For each item, one link per representation (RFC 9264 linkset, ``application/linkset+json``),
under GS1 Web Vocabulary 1.16 link types: the passport page (``gs1:pip``, also
``gs1:defaultLink``), the passport itself (``gs1:dpp``: the UNTP credential, then the signed
bundle), the EPCIS events (``gs1:traceability``), the credential again as sustainability and
repair information (``gs1:sustainabilityInfo``, for clients that predate ``gs1:dpp``), and the
verification report (``dpp:verificationReport``, our own namespace: GS1 has no such type).
``?linkType=linkset`` answers the linkset, ``?linkType=<type>`` redirects (307) to that link;
``/.well-known/gs1resolver`` describes the resolver. Every item response names its linkset in
a ``Link`` header and says ``Vary: Accept``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Protocol

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from dpp_ledger import passport as pp
from dpp_ledger.ledger import Ledger, NotFoundError
from dpp_ledger.passport import epcis, gs1, untp
from dpp_ledger.passport.bundle import BUNDLE_MEDIA_TYPE
from dpp_ledger.passport.uris import VOCAB

from . import negotiate
from .exports import document

LINKSET_MEDIA_TYPE: Final = "application/linkset+json"
GS1_VOCAB: Final = "https://ref.gs1.org/voc/"
# Older resolvers write GS1 link types under these; WebVoc 1.16 declares them equivalent.
GS1_ALIASES: Final = ("https://gs1.org/voc/", "https://www.gs1.org/voc/", "http://gs1.org/voc/")
PREFIXES: Final = {"gs1:": GS1_VOCAB, "dpp:": VOCAB}
LINKSET_VALUES: Final = ("linkset", "all")


@dataclass(frozen=True)
class LinkType:
    """A link type we answer: its CURIE, and how the well-known description presents it."""

    curie: str
    title: str
    description: str

    @property
    def iri(self) -> str:
        """The link relation as a linkset writes it: the full IRI."""
        prefix, name = self.curie.split(":", 1)
        return PREFIXES[f"{prefix}:"] + name


LINK_TYPES: Final = (
    LinkType("gs1:defaultLink", "Default link", "The passport page."),
    LinkType("gs1:pip", "Product information page", "The passport page: verdict, item, history."),
    LinkType(
        "gs1:dpp",
        "Digital product passport",
        "The UNTP DigitalProductPassport credential, then the signed bundle to verify offline.",
    ),
    LinkType("gs1:traceability", "Traceability information", "The item's EPCIS 2.0 events."),
    LinkType(
        "gs1:sustainabilityInfo",
        "Sustainability and recycling",
        "The UNTP credential: materials, recycled content, repairability.",
    ),
    LinkType(
        "dpp:verificationReport",
        "Verification report",
        "This resolver's verification of the passport, check by check (JSON).",
    ),
)


@dataclass(frozen=True)
class Target:
    """One link target: where, its media type, and a title."""

    href: str
    type: str
    title: str

    def to_dict(self) -> dict[str, str]:
        """The target object of an RFC 9264 JSON linkset."""
        return {"href": self.href, "type": self.type, "title": self.title}


def targets(base: str, pid: bytes) -> dict[str, list[Target]]:
    """Each link type's targets for passport ``pid`` on the resolver at ``base``."""
    at = f"{base}/passports/{pid.hex()}"
    page = Target(at, "text/html", "Passport page")
    credential = Target(f"{at}/untp.json", untp.VC_MEDIA_TYPE, "UNTP passport credential")
    bundle = Target(f"{at}/bundle.dpp", BUNDLE_MEDIA_TYPE, "Signed passport bundle")
    return {
        "gs1:defaultLink": [page],
        "gs1:pip": [page],
        "gs1:dpp": [credential, bundle],
        "gs1:traceability": [Target(f"{at}/epcis.jsonld", epcis.EPCIS_MEDIA_TYPE, "EPCIS events")],
        "gs1:sustainabilityInfo": [credential],
        "dpp:verificationReport": [Target(f"{at}/report.json", "application/json", "Report")],
    }


def linkset(anchor: str, base: str, pid: bytes) -> dict[str, Any]:
    """The RFC 9264 JSON linkset of an item: its anchor and one relation per link type."""
    found = targets(base, pid)
    context: dict[str, Any] = {"anchor": anchor}
    for link_type in LINK_TYPES:
        context[link_type.iri] = [t.to_dict() for t in found[link_type.curie]]
    return {"linkset": [context]}


def link_type(value: str) -> LinkType | None:
    """The link type a ``linkType`` value names (a CURIE, or its IRI in any GS1 namespace)."""
    for known in LINK_TYPES:
        if value in (known.curie, known.iri):
            return known
        name = known.curie.removeprefix("gs1:")
        if name != known.curie and value in (alias + name for alias in GS1_ALIASES):
            return known
    return None


def well_known(base: str) -> dict[str, Any]:
    """``/.well-known/gs1resolver``: name, root, primary keys and link types of this resolver."""
    return {
        "name": "dpp-ledger passport resolver",
        "resolverRoot": base,
        "supportedPrimaryKeys": ["01"],
        "supportedLinkType": [{"namespace": ns, "prefix": p} for p, ns in PREFIXES.items()],
        "linkTypeDefaultCanBeAll": False,
        "supportsLanguageVariants": False,
        "supportsSemanticInterpretation": False,
        "validatesAIcombinations": True,
        "activeLinkTypes": {
            "en": {
                t.curie: {"title": t.title, "description": t.description, "url": t.iri}
                for t in LINK_TYPES
            }
        },
    }


def base_url(request: Request) -> str:
    """The resolver's root as this request reached it, without a final slash."""
    return str(request.base_url).rstrip("/")


def anchor(request: Request, ledger: Ledger, pid: bytes) -> str:
    """The item's Digital Link on this resolver."""
    row = ledger.passport(pid)
    return gs1.digital_link(base_url(request), row.gtin, row.serial)


def decorate(response: Response, request: Request, ledger: Ledger, pid: bytes) -> Response:
    """Name the item's linkset in a ``Link`` header; say the answer varies with ``Accept``."""
    target = f"{anchor(request, ledger, pid)}?linkType=linkset"
    response.headers["Link"] = f'<{target}>; rel="linkset"; type="{LINKSET_MEDIA_TYPE}"'
    response.headers["Vary"] = "Accept"
    return response


def linkset_response(request: Request, ledger: Ledger, pid: bytes) -> Response:
    """The item's linkset, as ``application/linkset+json``."""
    document = linkset(anchor(request, ledger, pid), base_url(request), pid)
    response = JSONResponse(document, media_type=LINKSET_MEDIA_TYPE)
    return decorate(response, request, ledger, pid)


def by_link_type(request: Request, ledger: Ledger, pid: bytes, value: str) -> Response:
    """``?linkType=``: the linkset, or a 307 to that type's target the client accepts best.

    Raises:
        SchemaError: an over-long ``Accept`` header.
    """
    if value.lower() in LINKSET_VALUES:
        return linkset_response(request, ledger, pid)
    chosen = link_type(value)
    if chosen is None:
        names = ", ".join(t.curie for t in LINK_TYPES)
        response = JSONResponse(
            {"error": f"no link of type {value[:80]!r} for this item; it has {names}, linkset"},
            status_code=404,
        )
        return decorate(response, request, ledger, pid)
    offered = targets(base_url(request), pid)[chosen.curie]
    media = negotiate.best(request.headers.get("accept"), [t.type for t in offered])
    target = next((t for t in offered if t.type == media), offered[0])
    return decorate(RedirectResponse(target.href, status_code=307), request, ledger, pid)


class Ledgers(Protocol):
    """What the representation routes need of the resolver: this thread's ledger."""

    def ledger(self) -> Ledger:
        """The ledger connection of the calling thread."""


def routes(resolver: Ledgers) -> list[Route]:
    """The resolver's routes for the standards' representations and its description."""
    return [
        Route("/.well-known/gs1resolver", lambda r: JSONResponse(well_known(base_url(r)))),
        Route("/passports/{pid}/epcis.jsonld", _view(resolver, "epcis")),
        Route("/passports/{pid}/untp.json", _view(resolver, "untp")),
        Route("/passports/{pid}/report.json", _view(resolver, "report")),
    ]


def _view(resolver: Ledgers, fmt: str) -> Any:
    def handler(request: Request) -> Response:
        text = request.path_params["pid"]
        if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
            return JSONResponse({"error": "a passport id is 64 lowercase hex digits"}, 400)
        pid, ledger = bytes.fromhex(text), resolver.ledger()
        try:
            bundle, trust = ledger.bundle(pid), ledger.trust()
            now = ledger.clock()
            report = pp.verify(bundle, trust, now=now, known_revocations=ledger.revocations())
            view = document(fmt, bundle, report, trust, now)
        except NotFoundError as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        except pp.DppError as error:  # a passport that no longer verifies has no such view
            response = JSONResponse({"error": str(error)}, status_code=422)
            return decorate(response, request, ledger, pid)
        media = {"epcis": epcis.EPCIS_MEDIA_TYPE, "untp": untp.VC_MEDIA_TYPE}
        response = JSONResponse(view, media_type=media.get(fmt, "application/json"))
        return decorate(response, request, ledger, pid)

    return handler
