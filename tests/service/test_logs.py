"""The service's logs carry ids, statuses and timings, never user content or secrets."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable

import httpx

from python_functions.apps.pullups import SYSTEM_PROMPT
from python_functions.service import logs
from tests.conftest import User
from tests.http_fixtures import LocalAi, LogCapture, token_for


def test_logs_hold_no_prompt_output_body_or_token(
    generate: Callable[..., httpx.Response], alice: User, local_provider: LocalAi,
    service_logs: LogCapture,
) -> None:
    ok = generate(alice, maxPullups=37)
    assert ok.status_code == 201
    local_provider.fault({"mode": "invalid_output"}, {"mode": "invalid_output"})
    generate(alice, maxPullups=37)  # fails: the active session now exists, or the output
    lines = service_logs.lines
    assert lines, "the service logged nothing"
    records = [json.loads(line) for line in lines]
    requests = [r for r in records if r.get("event") == "request"]
    assert any(r.get("user_id") == alice.id and r.get("status") == 201 for r in requests)
    assert all({"request_id", "route", "status", "duration_ms"} <= set(r) for r in requests)
    text = "\n".join(lines)
    session = ok.json()["data"]["session"]
    forbidden = [
        SYSTEM_PROMPT[:40], "<context>", '"maxPullups": 37', "history",
        session["aiComment"], json.dumps(session["sets"]), token_for(alice)[:30],
        "Authorization", "Bearer",
    ]
    for needle in forbidden:
        assert needle not in text, needle


def test_request_id_is_echoed_only_when_short_and_plain(
    http: httpx.Client, service_logs: LogCapture
) -> None:
    assert http.get("/health", headers={"X-Request-Id": "trace-42"}).headers[
        "X-Request-Id"] == "trace-42"
    hostile = "x" * 5000
    response = http.get("/health", headers={"X-Request-Id": hostile})
    assert response.headers["X-Request-Id"] != hostile
    assert len(response.headers["X-Request-Id"]) == 32
    assert not any(hostile in line for line in service_logs.lines)


def test_unmatched_paths_and_odd_methods_are_not_logged_as_sent(
    http: httpx.Client, service_logs: LogCapture
) -> None:
    secret = "my-email-is-someone%40example.com"
    assert http.get(f"/users/{secret}/profile").status_code == 404
    assert http.request("PROPFIND", "/sessions/ai").status_code in (404, 405)
    # a method no HTTP parser knows is a malformed request: 400, before any route
    assert http.request("BREW", "/sessions/ai").status_code in (400, 404, 405)
    records = [json.loads(line) for line in service_logs.lines]
    requests = [r for r in records if r.get("event") == "request"]
    assert not [line for line in service_logs.lines
                if secret in line or "BREW" in line or "PROPFIND" in line]
    assert {"route": "(unmatched)", "method": "GET"} in [
        {"route": r["route"], "method": r["method"]} for r in requests]
    assert any(r["method"] == "(other)" for r in requests)


def test_a_route_called_under_functions_v1_is_logged_by_its_template(
    http: httpx.Client, alice: User, service_logs: LogCapture
) -> None:
    response = http.get("/functions/v1/health", headers={"X-Request-Id": "under-prefix"})
    assert response.status_code == 200
    records = [json.loads(line) for line in service_logs.lines]
    logged = [r for r in records if r.get("request_id") == "under-prefix"]
    assert [(r["route"], r["status"]) for r in logged][-1:] == [("/health", 200)]


def test_a_crash_is_logged_by_its_type_and_place_never_its_message() -> None:
    """What uvicorn logs for a request that raised ("Exception in ASGI application", with the
    exception): its type and the file and line it came from; not its message, which may
    quote the request, nor the traceback."""
    def handler(secret: str) -> None:
        raise ValueError(f"could not parse {secret}")

    try:
        handler("alice@example.com")
    except ValueError:
        record = logging.getLogger("uvicorn.error").makeRecord(
            "uvicorn.error", logging.ERROR, __file__, 1, "Exception in ASGI application\n",
            (), sys.exc_info())
    line = logs.JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["error_type"] == "ValueError"
    assert entry["error_at"].startswith("test_logs.py:")
    assert "alice@example.com" not in line and "Traceback" not in line
