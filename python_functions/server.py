"""How the service is served: uvicorn with its h11 protocol, plus two rules at the socket.

- A malformed HTTP request gets the shared error body (JSON), not uvicorn's plain text.
- A client has `header_timeout_s` to send a request's headers, on a new connection and on a
  kept-alive one; silence in between is cut with 408 (uvicorn has no such limit; without
  it a slow client holds a connection forever). Slow bodies are the app's: `BodySizeLimit`.

Both override one method each of uvicorn's `H11Protocol` (0.30 and later).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


def _raw_response(status: int, reason: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n").encode() + payload


class ServiceProtocol(H11Protocol):
    header_timeout_s = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_deadline()

    def _arm_header_deadline(self) -> None:
        self._waiting_for = self.cycle  # a new cycle means the headers are in
        self._header_deadline: asyncio.TimerHandle | None = self.loop.call_later(
            self.header_timeout_s, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not self._waiting_for:
            self._disarm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._disarm_header_deadline()
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing() or self.cycle is not self._waiting_for:
            return
        self.transport.write(_raw_response(408, "Request Timeout", {
            "code": "REQUEST_TIMEOUT",
            "message": f"The request headers did not arrive within {self.header_timeout_s:g} s",
            "details": None, "hint": None}))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        self.transport.write(_raw_response(400, "Bad Request", {
            "code": "BAD_REQUEST", "message": "Malformed HTTP request", "details": None,
            "hint": None}))
        self.transport.close()


def protocol(header_timeout_s: float) -> type[ServiceProtocol]:
    """The protocol class with this header deadline (uvicorn takes a class, not options)."""
    return type("ServiceProtocol", (ServiceProtocol,), {"header_timeout_s": header_timeout_s})


def config(app: Any, host: str, port: int, header_timeout_s: float = 30.0,
           **options: Any) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, http=protocol(header_timeout_s),
                          log_config=None, access_log=False, server_header=False, **options)
