"""One line per request, in the Common Log Format, on the ``dpp_ledger.cli.serve.access`` logger.

``host - - [03/Dec/2026:10:08:39 +0000] "GET /01/... HTTP/1.1" 200 5123``: what web servers
and log tools have read for decades. Behind a reverse proxy, the host is the proxy's
address (the proxy's own log has the client's). Query strings are logged as sent; they never
carry a secret here (passport ids and tree sizes are public).
"""

from __future__ import annotations

import datetime
import logging
from typing import Any, Final

LOG: Final = logging.getLogger("dpp_ledger.cli.serve.access")

Scope = dict[str, Any]
Message = dict[str, Any]


class AccessLog:
    """ASGI middleware: logs each HTTP request once its response has been sent."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        """Pass the request on, counting the status and body bytes of its response."""
        if scope["type"] != "http" or not LOG.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        sent = {"status": 0, "bytes": 0}

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start":
                sent["status"] = message["status"]
            elif message["type"] == "http.response.body":
                sent["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, counting)
        finally:
            LOG.info(line(scope, sent["status"] or 500, sent["bytes"]))


def line(scope: Scope, status: int, size: int, now: datetime.datetime | None = None) -> str:
    """The Common Log Format line of one request."""
    client = scope.get("client")
    host = client[0] if client else "-"
    moment = (now or datetime.datetime.now(datetime.UTC)).strftime("%d/%b/%Y:%H:%M:%S %z")
    target = scope.get("raw_path", scope.get("path", "").encode()).decode("latin-1")
    query = scope.get("query_string", b"")
    if query:
        target += "?" + query.decode("latin-1")
    request = (
        f"{scope.get('method', '-')} {_printable(target)} HTTP/{scope.get('http_version', '1.1')}"
    )
    return f'{host} - - [{moment}] "{request}" {status} {size or "-"}'


def _printable(text: str) -> str:
    """Control characters and quotes escaped, so one request is one line that parses."""
    return "".join(c if c.isprintable() and c != '"' else f"\\x{ord(c):02x}" for c in text)
