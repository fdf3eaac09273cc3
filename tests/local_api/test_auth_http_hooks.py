"""Auth hooks with an HTTP(S) URI on `make run`, called as GoTrue v2.196 calls them
(`hooks/hookshttp`): the event POSTed as JSON, signed with each of the hook's secrets as
Standard Webhooks sign, within 5 s for all attempts; the answer read as GoTrue reads it, each
fault answered in its words. The hook is an HTTP server on a local port whose answers each
test scripts; the Standard Webhooks library (`standardwebhooks`) is the judge of the
signatures, and the Supabase CLI of which settings are readable."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from standardwebhooks.webhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from python_functions.local.api import gotrue_hooks
from python_functions.local.cluster import free_port
from tests.conftest import one
from tests.http_fixtures import ServerThread
from tests.local_api.conftest import session_claims
from tests.local_api.test_auth_config import (
    _email,
    _error,
    _sign_in,
    _signup,
    cli_template,
    configured,
    read_alike,
)

__all__ = ["cli_template", "configured"]  # fixtures shared with test_auth_config.py

SECRET = "v1,whsec_" + base64.b64encode(b"an http hook's secret, 32 bytes!").decode()
OTHER_SECRET = "v1,whsec_" + base64.b64encode(b"a second secret while rotating it").decode()
Answer = Callable[[dict[str, Any]], Response]


@dataclass
class HookServer:
    """A hook on a local port: each request is recorded (headers, body) and answered by
    `answer(event)`, or after `delay_s`."""

    server: ServerThread
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answer: Answer = lambda event: _json(event)
    delay_s: float = 0.0

    @property
    def uri(self) -> str:
        return self.server.url + "/hook"

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.requests]


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value), status, media_type="application/json")


@pytest.fixture
def hook_server() -> Iterator[HookServer]:
    state: list[HookServer] = []

    async def receive(request: Request) -> Response:
        hook = state[0]
        body = await request.body()
        hook.requests.append((dict(request.headers), body))
        if hook.delay_s:
            await asyncio.sleep(hook.delay_s)
        return hook.answer(json.loads(body))

    with ServerThread(Starlette(routes=[Route("/hook", receive, methods=["POST"])])) as server:
        state.append(HookServer(server))
        yield state[0]


def _with_role_claim(event: dict[str, Any]) -> Response:
    """What Supabase's guide has a custom access token hook do: a claim added."""
    return _json({"claims": {**event["claims"], "user_role": "coach"}})


# -----------------------------------------------------------------------------
# Reading [auth.hook.*] with an HTTP URI, as the Supabase CLI reads it
# -----------------------------------------------------------------------------

@pytest.mark.parametrize(("table", "cli_reads", "expected"), [
    (f'[auth.hook.custom_access_token]\nenabled = true\nuri = "https://example.com/hook"\n'
     f'secrets = "{SECRET}"', True,
     {"custom_access_token_hook": "https://example.com/hook",
      "hook_secrets": (("custom_access_token", (SECRET,)),)}),
    (f'[auth.hook.before_user_created]\nenabled = true\n'
     f'uri = "http://host.docker.internal:54321/functions/v1/hook"\n'
     f'secrets = "{SECRET}|{OTHER_SECRET}"', True,
     {"before_user_created_hook": "http://host.docker.internal:54321/functions/v1/hook",
      "hook_secrets": (("before_user_created", (SECRET, OTHER_SECRET)),)}),
    ('[auth.hook.password_verification_attempt]\nenabled = true\n'
     'uri = "https://example.com/hook"\nsecrets = "v1,not-a-secret"', False,
     "secrets must be"),
    (f'[auth.hook.custom_access_token]\nenabled = true\nuri = "http://example.com/hook"\n'
     f'secrets = "{SECRET}"', True, "GoTrue takes http:// for a local host only"),
])
def test_an_http_hook_setting_is_read_as_the_cli_reads_it(
        cli_template: str, tmp_path: Path, table: str, cli_reads: bool,
        expected: dict[str, Any] | str) -> None:
    read_alike(cli_template + "\n" + table + "\n", tmp_path, cli_reads, expected)


# -----------------------------------------------------------------------------
# The call
# -----------------------------------------------------------------------------

def test_the_custom_access_token_hook_is_posted_the_event_signed_as_standard_webhooks_sign(
        configured: Any, hook_server: HookServer) -> None:
    hook_server.answer = _with_role_claim
    email = _email()
    with configured(custom_access_token_hook=hook_server.uri,
                    hook_secrets=(("custom_access_token", (SECRET,)),)) as (_, api):
        signed_up = _signup(api, email).json()
    assert session_claims(signed_up["access_token"])["user_role"] == "coach"
    (headers, body), = hook_server.requests
    assert headers["content-type"] == "application/json"
    assert headers["accept-encoding"] == "identity"
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    event = Webhook(SECRET.removeprefix("v1,")).verify(body, headers)
    assert event["metadata"]["name"] == "customize-access-token"
    assert event["authentication_method"] == "password"
    assert event["claims"]["email"] == email
    assert event["user_id"] == signed_up["user"]["id"]
    assert b" " not in body  # compact, as Go's json.Marshal writes it
    forged = {**headers, "webhook-signature": headers["webhook-signature"][:-4] + "AAA="}
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(SECRET.removeprefix("v1,")).verify(body, forged)


def test_each_secret_signs_the_request_while_one_is_rotated(
        configured: Any, hook_server: HookServer) -> None:
    """GoTrue joins the signatures with ", ": each verifies with its own secret."""
    with configured(before_user_created_hook=hook_server.uri,
                    hook_secrets=(("before_user_created", (SECRET, OTHER_SECRET)),)) as (_, api):
        assert _signup(api, _email()).status_code == 200
    (headers, body), = hook_server.requests
    signatures = headers["webhook-signature"].split(", ")
    assert len(signatures) == 2
    for secret, signature in zip((SECRET, OTHER_SECRET), signatures, strict=True):
        Webhook(secret.removeprefix("v1,")).verify(body, {**headers,
                                                          "webhook-signature": signature})
    assert len({h["webhook-id"] for h, _ in hook_server.requests}) == 1


def test_host_docker_internal_is_this_machine_under_make_run(
        configured: Any, hook_server: HookServer) -> None:
    hook_server.answer = _with_role_claim
    uri = hook_server.uri.replace("127.0.0.1", "host.docker.internal")
    with configured(custom_access_token_hook=uri,
                    hook_secrets=(("custom_access_token", (SECRET,)),)) as (_, api):
        signed_up = _signup(api, _email()).json()
    assert session_claims(signed_up["access_token"])["user_role"] == "coach"
    assert hook_server.requests[0][0]["host"] == f"host.docker.internal:{hook_server.server.port}"


def test_the_password_and_sign_up_hooks_decide_over_http(
        configured: Any, hook_server: HookServer, admin: psycopg.Connection[Any]) -> None:
    email = _email()
    with configured() as (_, api):
        assert _signup(api, email).status_code == 200
    hook_server.answer = lambda event: _json(
        {"decision": "reject", "message": "Locked for an hour"} if not event["valid"] else {})
    with configured(password_verification_hook=hook_server.uri,
                    hook_secrets=(("password_verification_attempt", (SECRET,)),)) as (_, api):
        assert _sign_in(api, email).status_code == 200
        refused = _error(_sign_in(api, email, "wrong-password"), 400, "invalid_credentials")
        assert refused["message"] == "Locked for an hour"
    hook_server.answer = lambda event: _json(
        {"error": {"http_code": 403, "message": "Sign-ups are closed"}})
    blocked = _email()
    with configured(before_user_created_hook=hook_server.uri,
                    hook_secrets=(("before_user_created", (SECRET,)),)) as (_, api):
        assert _error(_signup(api, blocked), 403, "unknown")["message"] == (
            "Sign-ups are closed")
    assert one(admin, "select count(*) from auth.users where email = %s", blocked) == 0
    assert [e["metadata"]["name"] for e in hook_server.events()] == [
        "password-verification", "password-verification", "before-user-created"]


# -----------------------------------------------------------------------------
# Its faults, in GoTrue's words, and no session made
# -----------------------------------------------------------------------------

def _big(_: dict[str, Any]) -> Response:
    return Response(b'{"claims": "' + b"x" * 205_000 + b'"}', media_type="application/json")


@pytest.mark.parametrize(("answer", "status", "code", "message", "attempts"), [
    (lambda e: _json({"error": {"http_code": 429, "message": "Slow down"}}), 429, "unknown",
     "Slow down", 1),
    (lambda e: _json({}, 400), 500, "unexpected_failure", "Invalid payload sent to hook", 1),
    (lambda e: _json({}, 401), 500, "unexpected_failure", "Hook requires authorization token",
     1),
    (lambda e: _json({}, 418), 500, "unexpected_failure",
     "Unexpected status code returned from hook: 418", 1),
    (lambda e: _json({}, 503), 500, "unexpected_failure",
     "Service currently unavailable due to hook", 1),
    (lambda e: Response("{}", 503, headers={"Retry-After": "1"}), 500, "unexpected_failure",
     "Service currently unavailable due to hook", 3),
    (lambda e: Response("{}", 200), 400, "hook_payload_invalid_content_type",
     "Invalid Content-Type: Missing Content-Type header", 1),
    (lambda e: Response("{}", 200, media_type="text/plain"), 400,
     "hook_payload_invalid_content_type",
     "Invalid JSON response. Received content-type: text/plain; charset=utf-8", 1),
    (_big, 422, "hook_payload_over_size_limit",
     "Payload size exceeded size limit of 204800 bytes", 1),
    (lambda e: Response("{not json", 200, media_type="application/json"), 500,
     "unexpected_failure", "Error unmarshaling JSON output.", 1),
    (lambda e: Response(status_code=204), 500, "unexpected_failure",
     "output claims do not conform to the expected schema: \n"
     "- (root): Invalid type. Expected: object, given: null\n", 1),
], ids=["an error answer", "400", "401", "418", "503", "503 with Retry-After",
        "no content type", "not JSON's content type", "over 200 KB", "not JSON", "204"])
def test_a_failing_hook_is_answered_in_gotrues_words_and_makes_no_session(
        configured: Any, hook_server: HookServer, admin: psycopg.Connection[Any],
        answer: Answer, status: int, code: str, message: str, attempts: int) -> None:
    email = _email()
    with configured() as (_, api):
        assert _signup(api, email).status_code == 200
    sessions = one(admin, "select count(*) from auth.sessions")
    hook_server.answer = answer
    with configured(custom_access_token_hook=hook_server.uri,
                    hook_secrets=(("custom_access_token", (SECRET,)),)) as (_, api):
        assert _error(_sign_in(api, email), status, code)["message"] == message
    assert len(hook_server.requests) == attempts
    assert one(admin, "select count(*) from auth.sessions") == sessions


@pytest.fixture
def quick_deadlines(monkeypatch: pytest.MonkeyPatch) -> None:
    """GoTrue's deadline and backoff shortened, as its own tests shorten them (`WithTimeout`,
    `WithBackoff`), so that these tests wait a second, not five."""
    monkeypatch.setattr(gotrue_hooks, "HTTP_HOOK_TIMEOUT_S", 1.0)
    monkeypatch.setattr(gotrue_hooks, "HTTP_HOOK_BACKOFF_S", 0.3)


@pytest.mark.usefixtures("quick_deadlines")
def test_a_hook_that_cannot_be_reached_is_tried_three_times(configured: Any) -> None:
    email = _email()
    with configured() as (_, api):
        assert _signup(api, email).status_code == 200
    closed = f"http://127.0.0.1:{free_port()}/hook"
    with configured(custom_access_token_hook=closed,
                    hook_secrets=(("custom_access_token", (SECRET,)),)) as (_, api):
        body = _error(_sign_in(api, email), 422, "hook_timeout_after_retry")
    assert body["message"] == "Failed to reach hook after maximum retries"


@pytest.mark.usefixtures("quick_deadlines")
def test_a_hook_slower_than_the_deadline_times_out(configured: Any,
                                                  hook_server: HookServer) -> None:
    email = _email()
    with configured() as (_, api):
        assert _signup(api, email).status_code == 200
    hook_server.delay_s = 1.5
    with configured(custom_access_token_hook=hook_server.uri,
                    hook_secrets=(("custom_access_token", (SECRET,)),)) as (_, api):
        body = _error(_sign_in(api, email), 422, "hook_timeout")
    assert body["message"] == "Failed to reach hook within maximum time of 1.000000 seconds"
