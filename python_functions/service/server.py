"""How the service (and the local API, and the offline provider) are served: uvicorn, with
uvloop and the httptools parser where installed (h11 and asyncio otherwise), plus three
rules at the socket:

- A malformed HTTP request gets the shared error body (JSON), not uvicorn's plain text.
- A client has `header_timeout_s` to send a request's headers, on a new connection and on a
  kept-alive one once the next request has begun; silence in between is cut with 408
  (uvicorn has no such limit; without it a slow client holds a connection forever). Slow
  bodies are the app's: `BodySizeLimit`.
- A kept-alive connection with no request begun is idle, never 408: uvicorn closes it,
  silently, after `keep_alive_s` (75 s by default, longer than the idle time of the
  clients and proxies in front: undici 4 s, httpx 5 s, aiohttp 15 s, load balancers and
  nginx 60 s). The side that closes an idle connection first should be the client: when
  the server does, a request sent at that moment gets no answer, and nobody resends a
  POST (uvicorn's own 5 s equals httpx's: a soak run had one request without an answer).
- Every accepted TCP connection has TCP_NODELAY: with several workers uvicorn serves from a
  socket it bound itself, where the performance issue saw kept-alive responses wait on the
  client's delayed ACK (7.5 -> 52 ms at one connection); with it, `make bench` measures 2
  workers at one connection near 1 worker, not 7 times slower (the README's benchmark
  section gives the runs).

The protocols override a few methods each of uvicorn's `H11Protocol` and
`HttpToolsProtocol` (0.30 and later).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from python_functions.service.errors import error_body

HAS_HTTPTOOLS = importlib.util.find_spec("httptools") is not None
HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


def _raw_response(status: int, reason: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
            f"content-length: {len(payload)}\r\nconnection: close\r\n\r\n").encode() + payload


def no_delay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY on the connection's socket (a no-op for a Unix socket)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):  # the peer may be gone already
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Rules:
    """The rules above, for either parser. Expects uvicorn's protocol attributes `loop`,
    `transport` and `cycle` (a new cycle exists once a request's headers are in)."""

    header_timeout_s: float = 30.0
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    _served = False  # a response went out: the connection is kept alive between requests

    def _connected(self, transport: asyncio.Transport) -> None:
        no_delay(transport)
        self._arm_header_deadline()

    def _request_begun(self) -> bool:
        """Whether bytes of a request whose headers are not complete have arrived."""
        raise NotImplementedError

    def _arm_header_deadline(self) -> None:
        self._waiting_for = self.cycle
        self._header_deadline: asyncio.TimerHandle | None = self.loop.call_later(
            self.header_timeout_s, self._headers_too_slow)

    def _disarm_header_deadline(self) -> None:
        if getattr(self, "_header_deadline", None) is not None:
            assert self._header_deadline is not None
            self._header_deadline.cancel()
            self._header_deadline = None

    def _response_done(self) -> None:
        self._served = True
        if not self.transport.is_closing():
            self._disarm_header_deadline()
            self._arm_header_deadline()

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self.transport.is_closing() or self.cycle is not self._waiting_for:
            return
        if self._served and not self._request_begun():
            # idle between requests: uvicorn's keep-alive timer closes it; look again later
            # in case a request begins and stalls
            self._arm_header_deadline()
            return
        self.transport.write(_raw_response(408, "Request Timeout", error_body(
            "REQUEST_TIMEOUT",
            f"The request headers did not arrive within {self.header_timeout_s:g} s")))
        self.transport.close()

    def _malformed(self) -> None:
        self.transport.write(_raw_response(400, "Bad Request", error_body(
            "BAD_REQUEST", "Malformed HTTP request")))
        self.transport.close()


class H11ServiceProtocol(_Rules, H11Protocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._connected(transport)

    def _request_begun(self) -> bool:
        return bool(self.conn.trailing_data[0])  # received, not yet a request

    def handle_events(self) -> None:
        super().handle_events()
        if self.cycle is not self._waiting_for:
            self._disarm_header_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._response_done()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._malformed()


ServiceProtocol: type[asyncio.Protocol] = H11ServiceProtocol

if HAS_HTTPTOOLS:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class HttpToolsServiceProtocol(_Rules, HttpToolsProtocol):
        _message_begun = False  # the parser has seen the start of a request, not its end

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._connected(transport)

        def _request_begun(self) -> bool:
            return self._message_begun

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._message_begun = True

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            self._message_begun = False
            self._disarm_header_deadline()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._response_done()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_deadline()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            self._malformed()

    ServiceProtocol = HttpToolsServiceProtocol


def set_header_timeout(seconds: float) -> None:
    """The header deadline of this process's protocol (worker processes, which get the
    protocol class by name)."""
    _Rules.header_timeout_s = seconds


def protocol(header_timeout_s: float) -> type[asyncio.Protocol]:
    """The protocol class with this header deadline (uvicorn takes a class, not options)."""
    if header_timeout_s == _Rules.header_timeout_s:
        return ServiceProtocol  # importable by name, as worker processes need
    return type("ServiceProtocol", (ServiceProtocol,), {"header_timeout_s": header_timeout_s})


def config(app: Any, host: str, port: int, header_timeout_s: float = 30.0,
           keep_alive_s: int = 75, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, http=protocol(header_timeout_s),
                          loop="uvloop" if HAS_UVLOOP else "asyncio", log_config=None,
                          access_log=False, server_header=False,
                          timeout_keep_alive=keep_alive_s, **options)
