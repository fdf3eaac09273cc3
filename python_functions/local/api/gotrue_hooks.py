"""Auth hooks of the local GoTrue stand-in, with `pg-functions://` URIs, called as GoTrue
v2.196 calls them: `[auth.hook.custom_access_token]`, `password_verification_attempt` and
`before_user_created`.

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
* How (`hooks/hookspgfunc`): `select "schema"."function"($1)` with the event as JSON, under
  `set local statement_timeout = 2000` (ms), as GoTrue's database role
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

import datetime
import json
import uuid
from typing import Any

import psycopg

from python_functions.local.config import hook_function

HOOK_TIMEOUT_MS = 2000  # hookspgfunc's `defaultTimeout`
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


def _metadata(name: str, ip_address: str) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")  # as Go's
    return {"uuid": str(uuid.uuid4()), "time": now, "name": name, "ip_address": ip_address}


async def customize_access_token(conn: psycopg.AsyncConnection[Any], uri: str, user_id: str,
                                 claims: dict[str, Any], method: str, ip_address: str
                                 ) -> dict[str, Any]:
    """The claims of the access token, as the hook at `uri` makes them."""
    event = {"metadata": _metadata("customize-access-token", ip_address), "user_id": user_id,
             "claims": claims, "authentication_method": method}
    answer = await _call(conn, uri, event)
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


async def verify_password_attempt(conn: psycopg.AsyncConnection[Any], uri: str,
                                  user_id: str, valid: bool, ip_address: str
                                  ) -> tuple[str, bool] | None:
    """The hook's verdict on a password sign-in: None to go on, else the message to refuse
    it with and whether to end the user's sessions."""
    event = {"metadata": _metadata("password-verification", ip_address), "user_id": user_id,
             "valid": valid}
    answer = await _call_alone(conn, uri, event)
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


async def before_user_created(conn: psycopg.AsyncConnection[Any], uri: str,
                              user: dict[str, Any], ip_address: str) -> None:
    """Let the hook refuse the user about to be made (an error answer), or not."""
    event = {"metadata": _metadata("before-user-created", ip_address), "user": user}
    answer = await _call_alone(conn, uri, event)
    if answer is not None and not isinstance(answer, dict):
        raise HookFailed(500, "Error unmarshaling JSON output.")


async def _call_alone(conn: psycopg.AsyncConnection[Any], uri: str, event: dict[str, Any]
                      ) -> Any:
    """`runPostgresHook` in a transaction of its own, then `hookserrors.Check`: what the
    function wrote stays, even when it answers an error, as in GoTrue."""
    async with conn.transaction():
        answer = await _run(conn, uri, event)
    return _checked(answer)


async def _call(conn: psycopg.AsyncConnection[Any], uri: str, event: dict[str, Any]) -> Any:
    """`runPostgresHook` in the caller's transaction, then `hookserrors.Check`."""
    return _checked(await _run(conn, uri, event))


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
