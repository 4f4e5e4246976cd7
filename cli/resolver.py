"""The resolver's routes as a Starlette app: pages, bundles, proofs, and guarded imports.

``GET /01/{gtin}/21/{serial}`` and ``GET /passports/{pid}`` answer by ``Accept`` (q-values
honoured): the passport page (text/html), the bundle (application/vnd.dpp.bundle+cbor), the
report (application/json) or the GS1 linkset (application/linkset+json); see ``linkset``.
Auditors get ``/log/checkpoint`` and proofs. ``POST /bundles`` imports, only when enabled, and
within the upload caps (see ``uploads.py``). The ledger is opened read-only unless imports
are on; a busy, full or read-only ledger is a 503 with Retry-After.
"""

from __future__ import annotations

import threading

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from dpp_ledger import passport as pp
from dpp_ledger.ledger import (
    AmbiguousError,
    BusyError,
    CloneError,
    ForkError,
    Ledger,
    NotFoundError,
)
from dpp_ledger.ledger.storage import Location
from dpp_ledger.passport import gs1, wire
from dpp_ledger.passport.bundle import BUNDLE_MEDIA_TYPE
from dpp_ledger.passport.errors import StorageError

from . import linkset, negotiate, page, schemaorg
from .env import decimal
from .uploads import RETRY_AFTER_S, Full, TooLarge, UploadGate

MAX_SIZE_PROOF = 2**40
MAX_UPLOADS = 4
MAX_UPLOAD_BYTES = 48 * 1024 * 1024


class _Ledgers(threading.local):
    """One SQLite connection per server thread (a connection is not shared across threads)."""

    ledger: Ledger | None = None


class Resolver:
    """The request handlers, over one ledger file (opened read-only unless imports are on)."""

    def __init__(
        self, path: Location, *, gate: UploadGate | None, log_key: pp.SigningKey | None
    ) -> None:
        self.path = path
        self.gate = gate
        self.log_key = log_key
        self.local = _Ledgers()

    def ledger(self) -> Ledger:
        """This thread's connection to the ledger."""
        if self.local.ledger is None:
            # Pages only read: without imports the ledger opens read-only (on PostgreSQL, each
            # transaction READ ONLY), and a page never waits for a writer's lock.
            self.local.ledger = Ledger.open(self.path, read_only=self.gate is None, pooled=True)
            origin = self.local.ledger.checkpoints.origin
            if self.log_key is not None and origin is not None:
                self.local.ledger.checkpoints.set_log(origin, self.log_key)
        return self.local.ledger

    def home(self, request: Request) -> Response:
        """GET /: what this resolver is and how to use it."""
        return HTMLResponse(page.home_page("/trust.json"), headers=page.HEADERS)

    def trust_file(self, request: Request) -> Response:
        """GET /trust.json: the brand roots and log keys this resolver's ledger trusts."""
        return Response(
            self.ledger().trust().to_json(),
            media_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="trust.json"'},
        )

    def by_identifier(self, request: Request) -> Response:
        """GET /01/{gtin}/21/{serial}: the item a GS1 Digital Link names."""
        params = request.path_params
        try:
            gtin = gs1.normalize_gtin(params["gtin"])
            serial = gs1.check_serial(params["serial"])
            pid = _query_pid(request)
        except pp.DppError as error:
            return _problem(request, 400, "Malformed identifier", str(error))
        try:
            if pid is not None:  # the link names the passport: no ambiguity possible
                row = self.ledger().passport(pid)
                if (row.gtin, row.serial) != (gtin, serial):
                    return _problem(
                        request,
                        409,
                        "This code names another item",
                        f"The code names passport {pid.hex()[:16]}, which belongs to GTIN "
                        f"{row.gtin} serial {row.serial}, not to GTIN {gtin} serial {serial} "
                        "on this label. A label whose code names another item is a sign of a "
                        "copied label: do not rely on it, and contact the brand.",
                    )
                found = pid
            else:
                found = self.ledger().find(gtin, serial)
        except NotFoundError:
            return _problem(
                request,
                404,
                "Unknown item",
                f"No passport for GTIN {gtin} serial {serial} in this ledger.",
            )
        except AmbiguousError:
            return _problem(
                request,
                409,
                "Several items",
                f"Several brands issued GTIN {gtin} serial {serial}: follow a link "
                "that carries the passport id.",
            )
        return _answer(request, self.ledger(), found)

    def by_pid(self, request: Request) -> Response:
        """GET /passports/{pid}."""
        try:
            pid = _pid(request.path_params["pid"])
            self.ledger().passport(pid)
        except NotFoundError as error:
            return _problem(request, 404, "Unknown passport", str(error))
        except pp.DppError as error:
            return _problem(request, 400, "Malformed passport id", str(error))
        return _answer(request, self.ledger(), pid)

    def bundle_file(self, request: Request) -> Response:
        """GET /passports/{pid}/bundle.dpp: the bundle, as a download."""
        try:
            pid = _pid(request.path_params["pid"])
            data = self.ledger().export(pid)
        except pp.DppError as error:
            return PlainTextResponse(str(error), status_code=404)
        response = Response(
            data,
            media_type=BUNDLE_MEDIA_TYPE,
            headers={
                "Content-Disposition": f'attachment; filename="passport-{pid.hex()[:16]}.dpp"'
            },
        )
        return linkset.decorate(response, request, self.ledger(), pid)

    def checkpoint(self, request: Request) -> Response:
        """GET /log/checkpoint: the newest signed checkpoint."""
        note = self.ledger().checkpoints.latest()
        if note is None:
            return PlainTextResponse("no checkpoint signed yet", status_code=404)
        return PlainTextResponse(note)

    def consistency(self, request: Request) -> Response:
        """GET /log/proof/consistency?old=&new=."""
        try:
            old = _size(_param(request, "old"))
            new = _size(_param(request, "new"))
            proof = self.ledger().log.consistency(old, new)
        except pp.DppError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"old": old, "new": new, "proof": [h.hex() for h in proof]})

    def inclusion(self, request: Request) -> Response:
        """GET /log/proof/inclusion/{event hash}[?size=]."""
        try:
            event = _pid(request.path_params["hash"])
            index = self.ledger().log_index(event)
            asked = _param(request, "size")
            size = _size(str(self.ledger().log.size()) if asked is None else asked)
            path = self.ledger().log.inclusion(index, size)
        except NotFoundError as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        except pp.DppError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"index": index, "size": size, "path": [h.hex() for h in path]})

    async def import_bundle(self, request: Request) -> Response:
        """POST /bundles: verify and import a bundle (only when enabled, within the gate)."""
        if self.gate is None:
            return JSONResponse({"error": "this server does not accept imports"}, status_code=403)
        declared = request.headers.get("content-length")
        size = None if declared is None else decimal(declared)
        too_large = _refusal(413, f"a bundle is at most {self.gate.max_upload} bytes here")
        if declared is not None and (size is None or size > self.gate.max_upload):
            return too_large
        try:
            with self.gate.admit() as upload:
                data = await self.gate.read(upload, size, request.stream())
                return await run_in_threadpool(lambda: _import(self.ledger(), data))
        except Full:
            return _refusal(503, "the server is busy with other uploads: retry", RETRY_AFTER_S)
        except TooLarge:
            return too_large
        except ClientDisconnect:  # gone before sending its whole body: no one to answer
            return Response(status_code=400)


def create_app(
    path: Location,
    *,
    accept_imports: bool = False,
    log_key: pp.SigningKey | None = None,
    max_uploads: int = MAX_UPLOADS,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> Starlette:
    """The resolver over the ledger at ``path`` (a file, or a ``postgresql://`` URL).

    With ``accept_imports``, at most ``max_uploads`` bundles are read at once, holding at
    most ``max_upload_bytes`` together.
    """
    largest = min(wire.MAX_BUNDLE_SIZE, max_upload_bytes)
    gate = UploadGate(max_uploads, max_upload_bytes, largest) if accept_imports else None
    r = Resolver(path, gate=gate, log_key=log_key)
    return Starlette(
        exception_handlers={StorageError: _unavailable, 404: _not_found, 405: _not_allowed},
        routes=[
            Route("/", r.home),
            Route("/trust.json", r.trust_file),
            Route("/01/{gtin}/21/{serial:path}", r.by_identifier),
            Route("/passports/{pid}", r.by_pid),
            Route("/passports/{pid}/bundle.dpp", r.bundle_file),
            Route("/log/checkpoint", r.checkpoint),
            Route("/log/proof/consistency", r.consistency),
            Route("/log/proof/inclusion/{hash}", r.inclusion),
            Route("/bundles", r.import_bundle, methods=["POST"]),
            *linkset.routes(r),
        ],
    )


def _import(ledger: Ledger, data: bytes) -> Response:
    try:
        result = ledger.import_bundle(data)
    except pp.DecodeError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    except (ForkError, CloneError) as error:
        return JSONResponse({"error": str(error)}, status_code=409)
    except StorageError as error:
        return _storage_problem(error)
    except pp.DppError as error:
        return JSONResponse({"error": str(error)}, status_code=422)
    return JSONResponse(
        {
            "pid": result.pid.hex(),
            "new_events": result.new_events,
            "outcome": str(result.report.outcome),
        }
    )


def _refusal(status: int, text: str, retry_after: int | None = None) -> Response:
    """A JSON error, answered before the upload is read.

    The rest of the upload is dropped as it comes (the body deadline bounds how long): closing
    with it unread would reset the connection before the client reads the answer.
    """
    headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
    return JSONResponse({"error": text}, status_code=status, headers=headers)


def _storage_problem(error: StorageError) -> Response:
    """503 with Retry-After: a busy ledger soon, a full or read-only disk after someone acts."""
    wait = RETRY_AFTER_S if isinstance(error, BusyError) else 60
    return JSONResponse({"error": str(error)}, status_code=503, headers={"Retry-After": str(wait)})


async def _unavailable(request: Request, error: Exception) -> Response:
    """Any route: the ledger could not be read or written now."""
    assert isinstance(error, StorageError)  # noqa: S101 - registered for StorageError only
    return _storage_problem(error)


async def _not_found(request: Request, error: Exception) -> Response:
    """Any path no route answers: a page that says what this server is, not bare text."""
    return _problem(
        request,
        404,
        "Nothing here",
        f"This resolver has nothing at {request.url.path[:200]}. It answers the QR codes on "
        "products: scan one, or open / for how it works.",
    )


async def _not_allowed(request: Request, error: Exception) -> Response:
    return _problem(request, 405, "Not allowed", f"{request.method[:20]} is not answered here.")


def _pid(text: str) -> bytes:
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise pp.SchemaError("a passport id is 64 lowercase hex digits")
    return bytes.fromhex(text)


def _query_pid(request: Request) -> bytes | None:
    value = _param(request, "pid")
    return None if value is None else _pid(value)


def _param(request: Request, name: str) -> str | None:
    """The query parameter ``name``; a query that gives any parameter twice is refused.

    Readers disagree on which of two values counts (browsers take the first, Starlette the
    last): a link that says two things says nothing.
    """
    keys = [key for key, _ in request.query_params.multi_items()]
    if len(keys) != len(set(keys)):
        twice = next(key for key in keys if keys.count(key) > 1)
        raise pp.SchemaError(f"the query gives the parameter {twice[:40]!r} twice")
    return request.query_params.get(name)


def _size(text: str | None) -> int:
    size = decimal(text)
    if size is None or size > MAX_SIZE_PROOF:
        raise pp.SchemaError(f"a tree size is a decimal number of at most {MAX_SIZE_PROOF}")
    return size


# What an item's URL offers, in the order that wins a tie (a browser's */* gets the page).
_OFFERS = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/json": "json",
    BUNDLE_MEDIA_TYPE: "bundle",
    linkset.LINKSET_MEDIA_TYPE: "linkset",
}


def _wants(request: Request, *, safe: bool = False) -> str:
    """``html``, ``json``, ``bundle`` or ``linkset``: what ``Accept`` prefers, by q-value.

    A client that accepts none of them gets the page, as it would with no ``Accept``.

    Raises:
        SchemaError: an over-long ``Accept`` header (unless ``safe``: then ``json``).
    """
    try:
        media = negotiate.best(request.headers.get("accept"), list(_OFFERS))
    except pp.SchemaError:
        if safe:
            return "json"
        raise
    return _OFFERS.get(media or "text/html", "html")


def _answer(request: Request, ledger: Ledger, pid: bytes) -> Response:
    try:
        asked = _param(request, "linkType")
        if asked is not None:
            return linkset.by_link_type(request, ledger, pid, asked)
        wanted = _wants(request)
    except pp.DppError as error:
        return _problem(request, 400, "Bad request", str(error))
    if wanted == "linkset":
        return linkset.linkset_response(request, ledger, pid)
    if wanted == "bundle":
        response: Response = Response(ledger.export(pid), media_type=BUNDLE_MEDIA_TYPE)
        return linkset.decorate(response, request, ledger, pid)
    report = ledger.verify(pid)
    product = dict(ledger.chain(pid)[0].data)
    if wanted == "json":
        response = JSONResponse(
            {
                "report": report.to_dict(),
                "product": product,
                "checkpoint": ledger.checkpoints.latest(),
            }
        )
        return linkset.decorate(response, request, ledger, pid)
    base = linkset.base_url(request)
    facts = schemaorg.product(report, product, base, pid) if report else None
    html = page.passport_page(report, product, f"/passports/{pid.hex()}/bundle.dpp", facts)
    return linkset.decorate(HTMLResponse(html, headers=page.HEADERS), request, ledger, pid)


def _problem(request: Request, status: int, title: str, text: str) -> Response:
    if _wants(request, safe=True) == "html":
        return HTMLResponse(
            page.message_page(title, text), status_code=status, headers=page.HEADERS
        )
    return JSONResponse({"error": text}, status_code=status)
