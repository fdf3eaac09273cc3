"""Request body size limit, enforced while the body streams in (Content-Length can lie or
be absent): past the limit the request ends with 413 PAYLOAD_TOO_LARGE before any handler
or JSON parser sees it. One limit for every route, raised per path where a route's valid
input needs more (10,000 characters of study text, an image)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from python_functions.service.errors import error_body


def _too_large_body(limit: int) -> bytes:
    return json.dumps(error_body("PAYLOAD_TOO_LARGE", f"Request body over {limit} bytes",
                                 {"maxBytes": limit})).encode()


def _too_slow_body(seconds: float) -> bytes:
    return json.dumps(error_body(
        "REQUEST_TIMEOUT", f"The request body did not arrive within {seconds:g} s")).encode()


class BodySizeLimit:
    """The size limit, and a read timeout: a client that stops sending its body mid-way
    (slowly or not at all) gets 408 REQUEST_TIMEOUT after `read_timeout_s` of silence
    instead of holding a worker forever."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 route_limits: Mapping[str, int] | None = None,
                 read_timeout_s: float = 30.0) -> None:
        self.app = app
        self.default_max_bytes = max_bytes
        self.route_limits = dict(route_limits or {})
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.route_limits.get(scope.get("path", ""), self.default_max_bytes)
        await _LimitedRequest(self.app, limit, self.read_timeout_s)(scope, receive, send)


class _LimitedRequest:
    def __init__(self, app: ASGIApp, max_bytes: int, read_timeout_s: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout_s = read_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        started = rejected = complete = False

        async def limited_receive() -> Message:
            # past the limit or the time: answer 413/408 ourselves and tell the app the
            # client left
            nonlocal received, rejected, complete
            if rejected:
                return {"type": "http.disconnect"}
            if complete:  # the body is in: what comes now is the disconnect, whenever
                return await receive()
            try:
                async with asyncio.timeout(self.read_timeout_s):  # no task, unlike wait_for
                    message = await receive()
            except TimeoutError:
                rejected = True
                if not started:
                    await self._answer(send, 408, _too_slow_body(self.read_timeout_s))
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
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
        await self._answer(send, 413, _too_large_body(self.max_bytes))

    async def _answer(self, send: Send, status: int, body: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": [
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
            # in place: the access log reads the matched route from this same scope
            scope["path"] = path[len(FUNCTIONS_PREFIX):]
            scope["raw_path"] = scope["path"].encode()
        await self.app(scope, receive, send)
