"""The service's edge: whatever bytes arrive, the answer is the shared body with the right
status, the token is checked first, and the client's own text is not echoed back."""

from __future__ import annotations

import gzip
import json
import socket
import time

import httpx
import pytest

from python_functions.service.app import create_app
from python_functions.service.settings import Settings
from tests.conftest import User
from tests.http_fixtures import ServerThread, assert_service_error, token_for


def _read_until_closed(client: socket.socket) -> str:
    """Everything the server sends before it closes the connection (a reply may arrive in
    several segments)."""
    data = b""
    while chunk := client.recv(4096):
        data += chunk
    return data.decode()


ROUTES = ("/sessions/ai", "/ai-sessions", "/ai/recipes/draft", "/functions/v1/ai-sessions")


@pytest.mark.parametrize("route", ROUTES)
def test_without_a_token_any_body_is_401(http: httpx.Client, route: str) -> None:
    for body in (b"{", b"\xff\xfe", b"[" * 30_000, json.dumps({"x": 1}).encode()):
        response = http.post(route, content=body, headers={"Content-Type": "application/json"})
        assert_service_error(response, 401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("body", "encoding"), [
    (b'{"maxPullups": 5,', None),                       # malformed
    (b'{"maxPullups": 5, "model": "\xc3\x28"}', None),  # not UTF-8
    (b'{"maxPullups": "\xff\xfe"}', None),              # invalid UTF-8 inside a string
    (gzip.compress(b'{"maxPullups": 5}', mtime=0), "gzip"),  # compressed: not accepted
    (b"[" * 30_000 + b"]" * 30_000, None),              # 30,000 deep
    (b'{"maxPullups": ' + b"9" * 4300 + b"}", None),    # a 4,300-digit number
])
def test_unreadable_bodies_are_400_validation_error_on_body(
    http: httpx.Client, alice: User, body: bytes, encoding: str | None
) -> None:
    headers = {"Authorization": f"Bearer {token_for(alice)}",
               "Content-Type": "application/json"}
    if encoding:
        headers["Content-Encoding"] = encoding
    response = http.post("/sessions/ai", content=body, headers=headers)
    details = assert_service_error(response, 400, "VALIDATION_ERROR")["details"]
    assert details["field"] in ("body", "maxPullups"), details


def test_malformed_json_names_the_body_and_the_position(http: httpx.Client,
                                                        alice: User) -> None:
    response = http.post("/ai-sessions", content=b'{"model": "local/rules", }', headers={
        "Authorization": f"Bearer {token_for(alice)}", "Content-Type": "application/json"})
    details = assert_service_error(response, 400, "VALIDATION_ERROR")["details"]
    assert details["field"] == "body"
    assert details["errors"][0]["position"] == 25


def test_unknown_keys_are_not_echoed_back(http: httpx.Client, alice: User) -> None:
    odd = "k\u0000<script>" + "x" * 100
    response = http.post("/sessions/ai", json={"maxPullups": 5, odd: 1},
                         headers={"Authorization": f"Bearer {token_for(alice)}"})
    body = assert_service_error(response, 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == "body"
    assert "script" not in response.text


def test_unknown_paths_stay_404_without_a_token(http: httpx.Client) -> None:
    assert_service_error(http.post("/nothing/here"), 404, "NOT_FOUND")


def test_a_body_that_stops_arriving_gets_408_and_frees_the_connection(
    service_settings: Settings, alice: User
) -> None:
    """A slow client (half a body, then silence) cannot hold a worker forever."""
    settings = service_settings.model_copy(update={"body_read_timeout_seconds": 0.5})
    with ServerThread(create_app(settings)) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(
            b"POST /sessions/ai HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token_for(alice).encode() + b"\r\n"
            b"Content-Length: 100\r\n\r\n" + b'{"maxPull')
        started = time.monotonic()
        answer = _read_until_closed(client)
        assert answer.startswith("HTTP/1.1 408"), answer
        assert '"code": "REQUEST_TIMEOUT"' in answer
        assert time.monotonic() - started < 5
        with httpx.Client(base_url=server.url) as other:  # still serving
            assert other.get("/health").status_code == 200


def test_a_malformed_http_request_gets_the_shared_json_body(service: ServerThread) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as client:
        client.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        answer = _read_until_closed(client)
    head, _, body = answer.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400") and "content-type: application/json" in head
    assert json.loads(body) == {"code": "BAD_REQUEST", "message": "Malformed HTTP request",
                                "details": None, "hint": None,
                                "error": "Malformed HTTP request"}


PARSERS = pytest.mark.parametrize("h11", [False, True], ids=["httptools", "h11"])


def _read_one_response(client: socket.socket) -> str:
    """One response on a kept-alive connection (its head and content-length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = client.recv(4096)
        assert chunk, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += client.recv(4096)
    return head.decode()


@PARSERS
def test_an_idle_kept_alive_connection_is_not_cut_by_the_header_deadline(
        service_settings: Settings, h11: bool) -> None:
    with ServerThread(create_app(service_settings), header_timeout_s=0.3, keep_alive_s=30,
                      h11=h11) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        for _ in range(2):
            client.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _read_one_response(client).startswith("HTTP/1.1 200")
            time.sleep(0.7)  # idle through two header deadlines: still open, no 408


@PARSERS
def test_an_idle_kept_alive_connection_is_closed_silently_after_keep_alive(
        service_settings: Settings, h11: bool) -> None:
    with ServerThread(create_app(service_settings), header_timeout_s=0.3, keep_alive_s=1,
                      h11=h11) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_one_response(client).startswith("HTTP/1.1 200")
        idle_since = time.monotonic()
        assert _read_until_closed(client) == ""  # closed, nothing sent
        assert time.monotonic() - idle_since < 4  # after keep_alive_s, not uvicorn's 5 s


@PARSERS
def test_headers_that_never_finish_get_408(service_settings: Settings, h11: bool) -> None:
    with ServerThread(create_app(service_settings), header_timeout_s=0.5, h11=h11) as server:
        for prefix in (b"", b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"):  # new, kept alive
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
                client.sendall(prefix + b"POST /sessions/ai HTTP/1.1\r\nHost: x\r\nX-Slo")
                started = time.monotonic()
                answer = _read_until_closed(client)
                assert "408 Request Timeout" in answer, answer
                assert '"code": "REQUEST_TIMEOUT"' in answer
                assert time.monotonic() - started < 5
