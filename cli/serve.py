"""``dpp serve``: the resolver a QR code's link opens, over this home's ledger.

``GET /01/{gtin}/21/{serial}`` and ``GET /passports/{pid}`` answer by ``Accept`` (q-values
honoured): the passport page (text/html), the bundle (application/vnd.dpp.bundle+cbor), the
report (application/json) or the GS1 linkset (application/linkset+json); see ``linkset``.
Auditors get ``/log/checkpoint`` and proofs. ``POST /bundles`` imports, only when enabled.
Read-only by default; every request is bounded; no personal data is ever shown.
"""

from __future__ import annotations

import threading
from pathlib import Path

import click
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

import passport as pp
from ledger import AmbiguousError, CloneError, ForkError, Ledger, NotFoundError
from passport import gs1, wire
from passport.bundle import BUNDLE_MEDIA_TYPE

from . import linkset, negotiate, page, schemaorg
from .env import LOG_KEY, Home, UsageProblem, decimal
from .main import dpp

MAX_SIZE_PROOF = 2**40


class _Ledgers(threading.local):
    """One SQLite connection per server thread (a connection is not shared across threads)."""

    ledger: Ledger | None = None


class Resolver:
    """The request handlers, over one ledger file."""

    def __init__(self, path: Path, *, accept_imports: bool, log_key: pp.SigningKey | None) -> None:
        self.path = path
        self.accept_imports = accept_imports
        self.log_key = log_key
        self.local = _Ledgers()

    def ledger(self) -> Ledger:
        """This thread's connection to the ledger."""
        if self.local.ledger is None:
            self.local.ledger = Ledger.open(self.path)
            origin = self.local.ledger.checkpoints.origin
            if self.log_key is not None and origin is not None:
                self.local.ledger.checkpoints.set_log(origin, self.log_key)
        return self.local.ledger

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
                    raise NotFoundError("the passport id in the link is another item's")
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
        """POST /bundles: verify and import a bundle (only when enabled)."""
        if not self.accept_imports:
            return JSONResponse({"error": "this server does not accept imports"}, status_code=403)
        try:
            data = await _bounded_body(request, wire.MAX_BUNDLE_SIZE)
        except ClientDisconnect:  # gone before sending its whole body: no one to answer
            return Response(status_code=400)
        if data is None:
            return JSONResponse(
                {"error": f"a bundle is at most {wire.MAX_BUNDLE_SIZE} bytes"}, status_code=413
            )
        return await run_in_threadpool(lambda: _import(self.ledger(), data))


def create_app(
    path: Path, *, accept_imports: bool = False, log_key: pp.SigningKey | None = None
) -> Starlette:
    """The resolver over the ledger file at ``path``."""
    r = Resolver(path, accept_imports=accept_imports, log_key=log_key)
    return Starlette(
        routes=[
            Route("/01/{gtin}/21/{serial:path}", r.by_identifier),
            Route("/passports/{pid}", r.by_pid),
            Route("/passports/{pid}/bundle.dpp", r.bundle_file),
            Route("/log/checkpoint", r.checkpoint),
            Route("/log/proof/consistency", r.consistency),
            Route("/log/proof/inclusion/{hash}", r.inclusion),
            Route("/bundles", r.import_bundle, methods=["POST"]),
            *linkset.routes(r),
        ]
    )


def _import(ledger: Ledger, data: bytes) -> Response:
    try:
        result = ledger.import_bundle(data)
    except pp.DecodeError as error:
        return JSONResponse({"error": str(error)}, status_code=400)
    except (ForkError, CloneError) as error:
        return JSONResponse({"error": str(error)}, status_code=409)
    except pp.DppError as error:
        return JSONResponse({"error": str(error)}, status_code=422)
    return JSONResponse(
        {
            "pid": result.pid.hex(),
            "new_events": result.new_events,
            "outcome": str(result.report.outcome),
        }
    )


async def _bounded_body(request: Request, limit: int) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared is not None and ((size := decimal(declared)) is None or size > limit):
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


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


@dpp.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--accept-imports",
    is_flag=True,
    help="Accept POST /bundles (the log key's passphrase is needed to sign checkpoints).",
)
@click.pass_obj
def serve(home: Home, host: str, port: int, accept_imports: bool) -> None:
    """Serve this ledger's passports to phones, platforms and auditors (read-only by default).

    \b
    Routes:
      GET  /01/{gtin}/21/{serial}        the passport page (or bundle, or JSON, by Accept)
      GET  /passports/{pid}              the same, by passport id
      GET  /log/checkpoint               the newest signed checkpoint
      GET  /log/proof/consistency?old=&new=
      GET  /log/proof/inclusion/{event hash}
      GET  /01/{gtin}/21/{serial}?linkType=linkset   the item's GS1 linkset (RFC 9264)
      GET  /01/{gtin}/21/{serial}?linkType=gs1:dpp   307 to that link (gs1:pip,
                                         gs1:traceability, gs1:sustainabilityInfo, ...)
      GET  /passports/{pid}/epcis.jsonld | untp.json | report.json
      GET  /.well-known/gs1resolver      what this resolver answers
      POST /bundles                      import a bundle (with --accept-imports)
    \b
    Example:
      dpp serve --port 8000
    """
    import uvicorn

    if not home.exists():
        raise UsageProblem(f"no ledger in {home.path}: run `dpp init` (or pass --home DIR)")
    key = home.signing_key(LOG_KEY) if accept_imports and home.keystore.exists(LOG_KEY) else None
    app = create_app(home.ledger_path, accept_imports=accept_imports, log_key=key)
    click.echo(f"Serving {home.path} on http://{host}:{port} (Ctrl-C to stop)", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")
