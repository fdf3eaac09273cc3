"""Auth hooks of the local GoTrue stand-in, Postgres functions (`pg-functions://`) or HTTP
endpoints, called as GoTrue v2.196 calls them: `[auth.hook.custom_access_token]`,
`password_verification_attempt` and `before_user_created`.

* Where:
  - the custom access token hook (`tokens/service.go`, `GenerateAccessToken`): on every
    access token, in the transaction that makes the session or refreshes it, so a failure
    leaves no session;
  - the password verification hook (`token.go`): at each password sign-in of a user who
    has a password and is not banned, right or wrong, before that is answered; `{"decision":
    "reject", "message", "should_logout_user"}` makes it 400 `invalid_credentials` with the
    message (GoTrue's own without one), ending the user's sessions if asked;
  - the before user created hook (`hooks.go`): before a sign-up (email or anonymous) makes
    its user, with the user about to be made (`models.User`, its id the one it gets); only
    an error answer counts, and it refuses the sign-up.
* How, over HTTP (`hooks/hookshttp`): a POST of the event as JSON (compact, as Go writes
  it), with `webhook-id`, `webhook-timestamp` and `webhook-signature` (a Standard Webhooks
  signature for each secret, joined with ", "); up to three attempts within 5 s in all, 2 s
  apart after one that could not connect, another at once after a 429 or 503 with
  `Retry-After`. The answer: 204 is none; 200 or 202 must be `application/json` (else 400
  `hook_payload_invalid_content_type`) of at most 200 KB (else 422
  `hook_payload_over_size_limit`); 400, 401 and any other status are 500
  `unexpected_failure` in GoTrue's words; the deadline is 422 `hook_timeout`, three
  attempts that could not connect 422 `hook_timeout_after_retry`. `host.docker.internal`,
  which GoTrue takes for `http://`, is this machine under `make run` (no containers).
* How, in Postgres (`hooks/hookspgfunc`): `select "schema"."function"($1)` with the event
  as JSON, under `set local statement_timeout = 2000` (ms), as GoTrue's database role
  (`supabase_auth_admin`, its `search_path` `auth`): the function needs `grant execute` to
  it, and it reads tables with that role's grants and names them with their schema, as on
  Supabase.
* The events (`hooks/v0hooks`): `metadata: {uuid, time, name, ip_address}` and, for the
  custom access token hook (`customize-access-token`), `user_id, claims,
  authentication_method` (`password`, `anonymous` or `token_refresh`); for the password
  verification hook (`password-verification`) `user_id, valid`; for the before user
  created hook (`before-user-created`) `user`.
* Their answers: `{"error": {"http_code", "message"}}` with a message refuses with that
  status (500 without one; supabase-js reads code `unknown` below 500), for every hook.
  Otherwise the custom access token hook's `claims` are the token's claims, checked
  against GoTrue's `MinimumViableTokenSchema` (500 with each fault, as
  `validateTokenClaims` words them). The answer's `expires_in` and
  `expires_at` stay GoTrue's own, whatever `exp` the hook set.
* A failing call (an error raised, a missing grant, the timeout) is 500
  `unexpected_failure` "Error running hook URI: <uri>"; without the 2024-01-01 API version
  an error raised with `RAISE` or a `PTnnn` code answers as GoTrue's `NewPostgresError`.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime
import hashlib
import hmac
import json
import time
import urllib.parse
import uuid
from typing import Any

import httpx
import psycopg

from python_functions.local.config import hook_function

HOOK_TIMEOUT_MS = 2000  # hookspgfunc's `defaultTimeout`
# hookshttp's: the deadline of a call (all its attempts), the attempts, the wait after one
# that could not connect, and the most of an answer it reads
HTTP_HOOK_TIMEOUT_S = 5.0
HTTP_HOOK_ATTEMPTS = 3
HTTP_HOOK_BACKOFF_S = 2.0
HTTP_HOOK_ANSWER_LIMIT = 200 * 1024
# `DefaultPasswordHookRejectionMessage`
REJECTION_MESSAGE = "Further password verification attempts will be rejected."

# `MinimumViableTokenSchema`: the claims a hook must leave, and the types of those it sets
REQUIRED_CLAIMS = ("aud", "exp", "iat", "sub", "email", "phone", "role", "aal", "session_id",
                   "is_anonymous")
CLAIM_TYPES: dict[str, tuple[str, ...]] = {
    "aud": ("string", "array"), "exp": ("integer",), "jti": ("string",),
    "iat": ("integer",), "iss": ("string",), "nbf": ("integer",), "sub": ("string",),
    "email": ("string",), "phone": ("string",), "app_metadata": ("object",),
    "user_metadata": ("object",), "role": ("string",), "aal": ("string",),
    "amr": ("array",), "session_id": ("string",), "client_id": ("string",),
}
# `getHttpStatusCodeFromPostgresErrorCode`: errors a legacy-version answer shows as they are
_PUBLIC_SQLSTATES = frozenset({"P0001", "23000", "23001", "23502", "23503", "23505", "23514",
                               "23P01"})


class HookFailed(Exception):
    """A hook that refused or failed: the answer GoTrue gives, in both API versions."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 legacy: tuple[int, dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.coded = code is not None  # as gotrue.AuthError's: a hook's own answer has none
        self.code = code or ("unexpected_failure" if status == 500 else "unknown")
        self.message = message
        self.legacy = legacy  # (status, body) where an older client gets a Postgres error


@dataclasses.dataclass(frozen=True)
class Hook:
    """A hook's `uri` and, for an HTTP one, its `secrets` ("v1,whsec_<base64>" each)."""

    uri: str
    secrets: tuple[str, ...] = ()

    @property
    def over_http(self) -> bool:
        return self.uri.startswith(("http:", "https:"))  # as `dispatch` tells them apart


def _metadata(name: str, ip_address: str) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")  # as Go's
    return {"uuid": str(uuid.uuid4()), "time": now, "name": name, "ip_address": ip_address}


async def customize_access_token(conn: psycopg.AsyncConnection[Any], hook: Hook,
                                 user_id: str, claims: dict[str, Any], method: str,
                                 ip_address: str) -> dict[str, Any]:
    """The claims of the access token, as the hook makes them."""
    event = {"metadata": _metadata("customize-access-token", ip_address), "user_id": user_id,
             "claims": claims, "authentication_method": method}
    answer = await _call(conn, hook, event)
    # SQL null, or `"claims": null`: no claims, which GoTrue then checks as such
    if answer is None or (isinstance(answer, dict) and answer.get("claims", {}) is None):
        raise HookFailed(500, "output claims do not conform to the expected schema: \n"
                         "- (root): Invalid type. Expected: object, given: null\n")
    if not isinstance(answer, dict) or "claims" not in answer:
        raise HookFailed(500, "output claims field is missing")
    if not isinstance(answer["claims"], dict):
        raise HookFailed(500, "Error unmarshaling JSON output.")
    customized: dict[str, Any] = answer["claims"]
    if faults := _claim_faults(customized):
        raise HookFailed(500, "output claims do not conform to the expected schema: \n"
                         + "".join(f"- {fault}\n" for fault in faults))
    return customized


async def verify_password_attempt(conn: psycopg.AsyncConnection[Any], hook: Hook,
                                  user_id: str, valid: bool, ip_address: str
                                  ) -> tuple[str, bool] | None:
    """The hook's verdict on a password sign-in: None to go on, else the message to refuse
    it with and whether to end the user's sessions."""
    event = {"metadata": _metadata("password-verification", ip_address), "user_id": user_id,
             "valid": valid}
    answer = await _call_alone(conn, hook, event)
    if answer is None:
        return None
    if not isinstance(answer, dict):
        raise HookFailed(500, "Error unmarshaling JSON output.")
    # as Go decodes them: a field missing or null keeps its zero value
    decision, message, logout = (default if answer.get(key) is None else answer[key]
                                 for key, default in (("decision", ""), ("message", ""),
                                                      ("should_logout_user", False)))
    if not (isinstance(decision, str) and isinstance(message, str)
            and isinstance(logout, bool)):
        raise HookFailed(500, "Error unmarshaling JSON output.")
    if decision != "reject":
        return None
    return message or REJECTION_MESSAGE, logout


async def before_user_created(conn: psycopg.AsyncConnection[Any], hook: Hook,
                              user: dict[str, Any], ip_address: str) -> None:
    """Let the hook refuse the user about to be made (an error answer), or not."""
    event = {"metadata": _metadata("before-user-created", ip_address), "user": user}
    answer = await _call_alone(conn, hook, event)
    if answer is not None and not isinstance(answer, dict):
        raise HookFailed(500, "Error unmarshaling JSON output.")


async def _call_alone(conn: psycopg.AsyncConnection[Any], hook: Hook, event: dict[str, Any]
                      ) -> Any:
    """The hook's answer, then `hookserrors.Check`; a function runs in a transaction of its
    own (`runPostgresHook`): what it wrote stays, even when it answers an error, as in
    GoTrue."""
    if hook.over_http:
        return _checked(await _post(hook, event))
    async with conn.transaction():
        answer = await _run(conn, hook.uri, event)
    return _checked(answer)


async def _call(conn: psycopg.AsyncConnection[Any], hook: Hook, event: dict[str, Any]) -> Any:
    """The hook's answer (a function's in the caller's transaction), then
    `hookserrors.Check`."""
    if hook.over_http:
        return _checked(await _post(hook, event))
    return _checked(await _run(conn, hook.uri, event))


async def _run(conn: psycopg.AsyncConnection[Any], uri: str, event: dict[str, Any]) -> Any:
    """The function's answer to the event; a failed call is `HookFailed`."""
    try:
        await conn.execute(f"set local statement_timeout = {HOOK_TIMEOUT_MS}")
        await conn.execute("set local role supabase_auth_admin")
        await conn.execute("set local search_path = auth")  # that role's own setting
        # the event untyped, as GoTrue sends it: a function of `jsonb` or `json` takes it
        # (the name checked by config.py: a plain Postgres name, quoted)
        cursor = await conn.execute(f"select {hook_function(uri)}(%s)",
                                    (json.dumps(event),))
        row = await cursor.fetchone()
        await conn.execute("reset role")
        await conn.execute("set local search_path to default")
        await conn.execute("set local statement_timeout to default")
    except psycopg.Error as failed:
        raise _failure(uri, failed) from None
    return row[0] if row else None


_RETRY = object()  # an answer that asks for another attempt
_JSON_TYPE = "application/json"


async def _post(hook: Hook, event: dict[str, Any]) -> str | None:
    """`runHTTPHook` (`hookshttp`): the event POSTed to the hook, signed with each secret
    as Standard Webhooks sign (`webhook-id`, `webhook-timestamp`, `webhook-signature`); the
    answer's text, None for a 204, or `HookFailed` as GoTrue answers each fault."""
    payload = _go_json(event)
    url, host = _reachable(hook.uri)
    try:
        async with asyncio.timeout(HTTP_HOOK_TIMEOUT_S), httpx.AsyncClient(
                timeout=HTTP_HOOK_TIMEOUT_S) as client:
            for attempt in range(HTTP_HOOK_ATTEMPTS):
                message_id, now = str(uuid.uuid4()), int(time.time())
                headers = {"Content-Type": _JSON_TYPE, "webhook-id": message_id,
                           "webhook-timestamp": str(now),
                           "webhook-signature": ", ".join(
                               _signature(secret, message_id, now, payload)
                               for secret in hook.secrets),
                           "Accept-Encoding": "identity", **({"Host": host} if host else {})}
                try:
                    async with client.stream("POST", url, content=payload,
                                             headers=headers) as answer:
                        outcome = await _answer(answer, hook.uri)
                except httpx.TimeoutException:
                    raise TimeoutError from None
                except httpx.TransportError:  # not reached: wait, then try again
                    if attempt == HTTP_HOOK_ATTEMPTS - 1:
                        raise HookFailed(422, "Failed to reach hook after maximum retries",
                                         "hook_timeout_after_retry") from None
                    await asyncio.sleep(HTTP_HOOK_BACKOFF_S)
                    continue
                if outcome is not _RETRY:
                    return outcome if isinstance(outcome, str) else None
    except TimeoutError:
        raise HookFailed(422, "Failed to reach hook within maximum time of"
                         f" {HTTP_HOOK_TIMEOUT_S:f} seconds", "hook_timeout") from None
    raise HookFailed(500, "Service currently unavailable due to hook", "unexpected_failure")


async def _answer(answer: httpx.Response, uri: str) -> object:
    """The text of a hook's answer, None for none (204), `_RETRY`, or `HookFailed`."""
    status = answer.status_code
    if status == 204:
        return None
    if status in (200, 202):
        content_type = answer.headers.get("content-type", "")
        if not content_type:
            raise HookFailed(400, "Invalid Content-Type: Missing Content-Type header",
                             "hook_payload_invalid_content_type")
        media_type = content_type.partition(";")[0].strip().lower()
        if "/" not in media_type:  # `mime.ParseMediaType`'s fault for it
            raise HookFailed(400, "Invalid Content-Type header: mime: expected slash after"
                             " first token", "hook_payload_invalid_content_type")
        if media_type != _JSON_TYPE:
            raise HookFailed(400, "Invalid JSON response. Received content-type:"
                             f" {content_type}", "hook_payload_invalid_content_type")
        body = bytearray()
        try:
            async for chunk in answer.aiter_raw():
                body += chunk
                if len(body) > HTTP_HOOK_ANSWER_LIMIT:
                    raise HookFailed(422, "Payload size exceeded size limit of"
                                     f" {HTTP_HOOK_ANSWER_LIMIT} bytes",
                                     "hook_payload_over_size_limit")
        except httpx.TransportError:  # cut off while read: no HTTP error of GoTrue's own
            raise HookFailed(500, f"Error running hook URI: {uri}",
                             "unexpected_failure") from None
        return body.decode("utf-8", "replace")
    if status in (429, 503):
        if answer.headers.get("retry-after"):
            return _RETRY
        raise HookFailed(500, "Service currently unavailable due to hook", "unexpected_failure")
    reason = {400: "Invalid payload sent to hook",
              401: "Hook requires authorization token"}.get(
        status, f"Unexpected status code returned from hook: {status}")
    raise HookFailed(500, reason, "unexpected_failure")


def _go_json(event: dict[str, Any]) -> bytes:
    """The event as Go's `json.Marshal` writes it: compact, with <, >, & and the line and
    paragraph separators escaped."""
    text = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text.encode()


def _signature(secret: str, message_id: str, timestamp: int, payload: bytes) -> str:
    """A Standard Webhooks signature: HMAC-SHA256 with the secret's key (base64 after
    `v1,whsec_`) over `{id}.{timestamp}.{payload}`."""
    key = base64.b64decode(secret.removeprefix("v1,").removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + payload
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _reachable(uri: str) -> tuple[str, str | None]:
    """Where to send a hook's request, and the Host header to send: `host.docker.internal`
    is this machine under `make run`, whose services are not in containers (the request
    still names it as its host)."""
    parts = urllib.parse.urlsplit(uri)
    if parts.hostname != "host.docker.internal":
        return uri, None
    local = parts.netloc.replace("host.docker.internal", "127.0.0.1")
    return urllib.parse.urlunsplit(parts._replace(netloc=local)), parts.netloc


def _checked(answer: Any) -> Any:
    """The answer as JSON, unless it is an error (`hookserrors.Check`)."""
    if isinstance(answer, str):  # a function returning text: GoTrue reads its bytes as JSON
        try:
            answer = json.loads(answer)
        except ValueError:
            raise HookFailed(500, "Error unmarshaling JSON output.") from None
    error = answer.get("error") if isinstance(answer, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str) and error["message"] \
            and isinstance(error.get("http_code", 0), int):
        raise HookFailed(error.get("http_code") or 500, error["message"])
    return answer


def _failure(uri: str, failed: psycopg.Error) -> HookFailed:
    sqlstate = failed.sqlstate or ""
    legacy = None
    status = (500 if sqlstate in _PUBLIC_SQLSTATES
              else int(sqlstate[2:]) if sqlstate.startswith("PT") and sqlstate[2:].isdigit()
              else None)
    if status:
        diag = failed.diag
        body = {"code": sqlstate, "message": diag.message_primary or str(failed)}
        body |= {key: value for key, value in (("hint", diag.message_hint),
                                               ("detail", diag.message_detail)) if value}
        legacy = (status, body)
    return HookFailed(500, f"Error running hook URI: {uri}", "unexpected_failure", legacy)


def _claim_faults(claims: dict[str, Any]) -> list[str]:
    """What `validateTokenClaims` finds wrong, in gojsonschema's words."""
    faults = [f"(root): {name} is required" for name in REQUIRED_CLAIMS if name not in claims]
    for name, expected in CLAIM_TYPES.items():
        if name in claims and (given := _json_type(claims[name])) not in expected:
            faults.append(f"{name}: Invalid type. Expected: {'/'.join(expected)},"
                          f" given: {given}")
    if isinstance(claims.get("amr"), list):
        faults += [f"amr.{i}: Must validate at least one schema (anyOf)"
                   for i, entry in enumerate(claims["amr"]) if not isinstance(entry, str | dict)]
    return faults


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
