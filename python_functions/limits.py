"""Request body size limit, enforced while the body streams in (Content-Length can lie or
be absent): past the limit the request ends with 413 PAYLOAD_TOO_LARGE before any handler
or JSON parser sees it. One limit for every route, raised per path where a route's valid
input needs more (10,000 characters of study text, an image)."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _too_large_body(limit: int) -> bytes:
    return json.dumps({"code": "PAYLOAD_TOO_LARGE",
                       "message": f"Request body over {limit} bytes",
                       "details": {"maxBytes": limit}, "hint": None}).encode()


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int,
                 route_limits: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.route_limits = dict(route_limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.route_limits.get(scope.get("path", ""), self.default_max_bytes)
        await _LimitedRequest(self.app, limit)(scope, receive, send)


class _LimitedRequest:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        started = rejected = False

        async def limited_receive() -> Message:
            # past the limit: answer 413 ourselves and tell the app the client left
            nonlocal received, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    rejected = True
                    if not started:
                        await self._reject(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return  # the 413 is out; whatever the app still says is dropped
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, limited_receive, guarded_send)

    async def _reject(self, send: Send) -> None:
        body = _too_large_body(self.max_bytes)
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


FUNCTIONS_PREFIX = "/functions/v1"


class FunctionsPrefix:
    """Serve every route also under `/functions/v1/...`, the path supabase-js
    `functions.invoke(name)` calls, by dropping that prefix before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(FUNCTIONS_PREFIX + "/"):
            scope = dict(scope, path=path[len(FUNCTIONS_PREFIX):],
                         raw_path=path[len(FUNCTIONS_PREFIX):].encode())
        await self.app(scope, receive, send)
