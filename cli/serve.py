"""``dpp serve``: the resolver a QR code's link opens, over this home's ledger.

The routes live in ``resolver.py``; what keeps the server up against slow clients and
floods (read deadlines, a connection cap, one-line warnings) in ``guard.py``. Read-only by
default; every request is bounded; no personal data is ever shown.
"""

from __future__ import annotations

import errno
import logging

import click

from .env import LOG_KEY, Home, UsageProblem
from .guard import Limits
from .main import dpp
from .resolver import MAX_UPLOAD_BYTES, MAX_UPLOADS, Resolver, create_app
from .workers import serve_forked

__all__ = ["MAX_UPLOADS", "MAX_UPLOAD_BYTES", "Resolver", "create_app", "serve"]


@dpp.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--accept-imports",
    is_flag=True,
    help="Accept POST /bundles (the log key's passphrase is needed to sign checkpoints).",
)
@click.option(
    "--max-connections",
    default=Limits.max_connections,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Connections kept at once; more are answered 503 with Retry-After and closed.",
)
@click.option(
    "--header-timeout",
    default=Limits.header_timeout,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds a request's head may take to arrive.",
)
@click.option(
    "--body-timeout",
    default=Limits.body_timeout,
    show_default=True,
    type=click.FloatRange(0.1, 3600),
    help="Seconds a request's body may take to arrive.",
)
@click.option(
    "--min-body-rate",
    default=Limits.min_body_rate,
    show_default=True,
    type=click.IntRange(0, 2**30),
    help="Bytes per second a request's body must average after its first 5 s.",
)
@click.option(
    "--max-uploads",
    default=MAX_UPLOADS,
    show_default=True,
    type=click.IntRange(1, 1024),
    help="With --accept-imports: uploads read at once; more are answered 503.",
)
@click.option(
    "--max-upload-bytes",
    default=MAX_UPLOAD_BYTES,
    show_default=True,
    type=click.IntRange(1, 2**40),
    help="With --accept-imports: bytes all uploads in flight may hold together.",
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Server processes sharing the port (each with its own connections to the ledger).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
    help="info: one Common Log Format line per request on stderr; warning: problems only.",
)
@click.pass_obj
def serve(
    home: Home,
    host: str,
    port: int,
    log_level: str,
    accept_imports: bool,
    max_connections: int,
    header_timeout: float,
    body_timeout: float,
    min_body_rate: int,
    max_uploads: int,
    max_upload_bytes: int,
    workers: int,
) -> None:
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
    A request whose head or body arrives too slowly (past its timeout, or a body under
    --min-body-rate) is closed (408); a connection over
    --max-connections, an upload over the upload caps and a busy ledger are answered 503
    with Retry-After. Warnings are one line each, repeats counted.
    It speaks plain HTTP: put it behind a TLS reverse proxy (nginx, Caddy, a load balancer)
    that forwards to --host/--port, and give the proxy's public https URL to `dpp resolver`.
    Each request is logged in the Common Log Format on stderr (--log-level info).
    \b
    Examples:
      dpp serve --port 8000
      dpp serve --host 127.0.0.1 --port 8000 --log-level warning   # behind a proxy
      dpp serve --workers 4     # four processes, e.g. on a PostgreSQL ledger
    """
    from .guard import bind, run

    if not home.exists():
        raise UsageProblem(f"no ledger in {home.path}: run `dpp init` (or pass --home DIR)")
    key = home.signing_key(LOG_KEY) if accept_imports and home.keystore.exists(LOG_KEY) else None
    try:
        listener = bind(host, port)
    except OSError as error:
        taken = error.errno == errno.EADDRINUSE
        raise UsageProblem(
            f"cannot listen on {host}:{port}: "
            + (
                "the port is already in use (another `dpp serve`?): stop it, or give another --port"
                if taken
                else (error.strerror or str(error))
            )
        ) from None
    shown = f"with {workers} workers " if workers > 1 else ""
    click.echo(f"Serving {home.path} {shown}on http://{host}:{port} (Ctrl-C to stop)", err=True)
    limits = Limits(header_timeout, body_timeout, max_connections, min_body_rate)

    def serve_here() -> None:
        # Each worker makes its own app, so its ledger connections are its own.
        app = create_app(
            home.ledger_location,
            accept_imports=accept_imports,
            log_key=key,
            max_uploads=max_uploads,
            max_upload_bytes=max_upload_bytes,
        )
        run(app, listener, limits, getattr(logging, log_level.upper()))

    if workers == 1:
        serve_here()
    else:
        serve_forked(serve_here, workers)
