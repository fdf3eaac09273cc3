"""One log line per request, as plain ASGI middleware (Starlette's `BaseHTTPMiddleware`
runs each request through an extra task and memory streams: about as much work again as the
framework's own). It gives each request its `RequestStats` (the id echoed in `X-Request-Id`,
a caller's own if it is safe to log) and logs ids, the route's template, the status and the
duration: never the path, the body or a header's value."""

from __future__ import annotations

import logging
import re
import time

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from python_functions.service.deps import RequestStats

log = logging.getLogger("python_functions.service.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class AccessLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_stats = RequestStats()
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                offered = value.decode("latin-1")
                if _REQUEST_ID.fullmatch(offered):
                    request_stats.request_id = offered
                break
        scope.setdefault("state", {})["stats"] = request_stats
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Request-Id"] = request_stats.request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            # the route's template (the router records it in the scope), never the raw path
            # or an odd method: both are the client's text
            route = getattr(scope.get("route"), "path", None) or "(unmatched)"
            method = scope.get("method", "")
            log.info("request", extra={
                "request_id": request_stats.request_id,
                "method": method if method in _KNOWN_METHODS else "(other)",
                "route": route, "status": status, "user_id": request_stats.user_id,
                "duration_ms": round((time.monotonic() - request_stats.started) * 1000, 1),
                **request_stats.extra})
