"""`/auth/v1`: just enough of Supabase Auth (GoTrue) for local sign-in, on `auth.users`.

A local stand-in for `make run` only: on hosted Supabase or `supabase start` the real Auth
service answers. It mirrors GoTrue as read at v2.196 (supabase/auth, `internal/api/`) for
each route:

* `POST /signup` (`signup.go`): email + password (at least 6 characters, else 422
  `weak_password` with `reasons: ["length"]`); confirmations off, as `supabase start` has
  them, so the answer is a session. An address already registered is 422
  `user_already_exists`.
* `POST /signup` with neither an email nor a phone (`api.go`, `anonymous.go`: supabase-js's
  `signInAnonymously`): 422 `anonymous_provider_disabled` unless supabase/config.toml has
  `[auth] enable_anonymous_sign_ins = true` (off by default, as on `supabase start`); then
  a user without email, password, provider or identity, `is_anonymous`, and its session,
  whose tokens say `is_anonymous: true` and `amr: anonymous`. Phone sign-ups are not served
  (a phone without an email is 400 `validation_failed`).
* `POST /token?grant_type=password` (`token.go`): 400 `invalid_credentials` "Invalid login
  credentials" for an unknown address or a wrong password alike.
* `POST /token?grant_type=refresh_token`: a refresh token is used once and replaced (its
  `parent` recorded); an unknown or used one is 400 `refresh_token_not_found`.
* `GET /user` (`user.go`): the user of the bearer token; none is 401 `no_authorization`, a
  bad one 403 `bad_jwt`, a deleted user 403 `user_not_found`.
* `POST /logout?scope=global|local|others` (`logout.go`): ends sessions (their refresh
  tokens go with them), 204. Access tokens stay valid until they expire, as with GoTrue.
* `GET /.well-known/jwks.json`: no asymmetric keys here (tokens are HS256).

Passwords are stored as GoTrue stores them: bcrypt (cost 10) in `encrypted_password`, made
and checked by pgcrypto's `crypt`. Sessions and refresh tokens live in GoTrue's
`auth.sessions` and `auth.refresh_tokens`. Access tokens carry the claims Supabase Auth
issues (`python_functions.service.auth.user_claims`), signed HS256 with the project's JWT secret.
Errors use GoTrue's two shapes: `{code, message}` with `X-Supabase-Api-Version: 2024-01-01`
when the request asks for that version (supabase-js does), else `{code, error_code, msg}`.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from python_functions.service.auth import InvalidToken, mint_token, user_claims, verify_token

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION = "2024-01-01"
ACCESS_TOKEN_TTL_S = 3600
MIN_PASSWORD_LENGTH = 6
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further; GoTrue refuses longer passwords
_ALPHANUMERIC = string.ascii_letters + string.digits
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


class AuthError(Exception):
    def __init__(self, status: int, code: str, message: str, extra: dict[str, Any] | None = None
                 ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}

    def response(self, request: Request) -> Response:
        if _wants_2024(request):
            return JSONResponse({"code": self.code, "message": self.message, **self.extra},
                                self.status, {API_VERSION_HEADER: API_VERSION,
                                              "x-sb-error-code": self.code})
        return JSONResponse({"code": self.status, "error_code": self.code, "msg": self.message,
                             **self.extra}, self.status, {"x-sb-error-code": self.code})


def _wants_2024(request: Request) -> bool:
    return request.headers.get(API_VERSION_HEADER, "") >= API_VERSION


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


_USER_QUERY = """
select u.id::text, u.aud, u.role, u.email, u.email_confirmed_at, u.confirmed_at,
       u.last_sign_in_at, u.raw_app_meta_data, u.raw_user_meta_data, u.created_at,
       u.updated_at, u.is_anonymous, u.banned_until,
       coalesce((select json_agg(json_build_object(
                  'identity_id', i.id, 'id', i.provider_id, 'user_id', i.user_id,
                  'identity_data', i.identity_data, 'provider', i.provider,
                  'last_sign_in_at', i.last_sign_in_at, 'created_at', i.created_at,
                  'updated_at', i.updated_at, 'email', i.email) order by i.created_at)
                   from auth.identities i where i.user_id = u.id), '[]') as identities
  from auth.users u
"""


def _user_json(row: dict[str, Any]) -> dict[str, Any]:
    """A user as GoTrue's `models.User` serialises it."""
    return {
        "id": row["id"], "aud": row["aud"] or "", "role": row["role"] or "",
        "email": row["email"] or "", "email_confirmed_at": _iso(row["email_confirmed_at"]),
        "phone": "", "confirmed_at": _iso(row["confirmed_at"]),
        "last_sign_in_at": _iso(row["last_sign_in_at"]),
        "app_metadata": row["raw_app_meta_data"] or {},
        "user_metadata": row["raw_user_meta_data"] or {},
        "identities": row["identities"], "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]), "is_anonymous": bool(row["is_anonymous"]),
    }


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON")
    return body


def _credentials(body: dict[str, Any]) -> tuple[str, str]:
    email, password = body.get("email"), body.get("password")
    if not isinstance(email, str) or not email.strip():
        raise AuthError(400, "validation_failed", "missing email or phone")
    if not isinstance(password, str):
        raise AuthError(400, "validation_failed", "Signup requires a valid password")
    return email.strip().lower(), password


class GoTrue:
    def __init__(self, pool: AsyncConnectionPool[Any], secret: str, issuer: str,
                 anonymous_sign_ins: bool = False) -> None:
        self.pool = pool
        self.secret = secret
        self.issuer = issuer
        self.anonymous_sign_ins = anonymous_sign_ins

    def routes(self) -> list[Route]:
        return [
            Route("/signup", self._wrap(self.signup), methods=["POST"]),
            Route("/token", self._wrap(self.token), methods=["POST"]),
            Route("/user", self._wrap(self.user), methods=["GET"]),
            Route("/logout", self._wrap(self.logout), methods=["POST"]),
            Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
        ]

    def _wrap(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await handler(request)
            except AuthError as refused:
                return refused.response(request)
            if _wants_2024(request):
                response.headers[API_VERSION_HEADER] = API_VERSION
            return response
        return endpoint

    async def jwks(self, _request: Request) -> Response:
        return JSONResponse({"keys": []})

    # -- sessions ---------------------------------------------------------------------

    async def _session(self, conn: psycopg.AsyncConnection[Any], user_id: str,
                       session_id: str | None = None, parent: str | None = None
                       ) -> dict[str, Any]:
        """A new session (or a refreshed one) for the user: tokens and the user."""
        if session_id is None:
            cursor = await conn.execute(
                "insert into auth.sessions (id, user_id, created_at, updated_at, aal)"
                " values (gen_random_uuid(), %s, now(), now(), 'aal1') returning id::text",
                (user_id,))
            row = await cursor.fetchone()
            assert row is not None
            session_id = str(row[0])
            await conn.execute("update auth.users set last_sign_in_at = now(),"
                               " updated_at = now() where id = %s", (user_id,))
        else:
            await conn.execute("update auth.sessions set refreshed_at = now() at time zone"
                               " 'utc', updated_at = now() where id = %s", (session_id,))
        # as GoTrue makes them: 12 random alphanumeric characters
        refresh = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(12))
        await conn.execute(
            "insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at,"
            " updated_at, parent, session_id) values"
            " ('00000000-0000-0000-0000-000000000000', %s, %s, false, now(), now(), %s, %s)",
            (refresh, user_id, parent, session_id))
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(_USER_QUERY + " where u.id = %s", (user_id,))
        user = await cursor.fetchone()
        assert user is not None
        claims = user_claims(user_id, user["email"], ttl_seconds=ACCESS_TOKEN_TTL_S,
                             issuer=self.issuer, session_id=session_id,
                             app_metadata=user["raw_app_meta_data"],
                             user_metadata=user["raw_user_meta_data"],
                             anonymous=bool(user["is_anonymous"]))
        return {
            "access_token": mint_token(claims, self.secret), "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_TTL_S, "expires_at": claims["exp"],
            "refresh_token": refresh, "user": _user_json(user),
        }

    # -- routes -----------------------------------------------------------------------

    async def signup(self, request: Request) -> Response:
        body = await _json_body(request)
        if body.get("email") in (None, "") and body.get("phone") in (None, ""):
            return JSONResponse(await self._anonymous_signup(body))
        email, password = _credentials(body)
        if not _EMAIL.fullmatch(email) or len(email) > 255:
            raise AuthError(400, "validation_failed",
                            "Unable to validate email address: invalid format")
        if len(password) < MIN_PASSWORD_LENGTH:
            raise AuthError(422, "weak_password",
                            f"Password should be at least {MIN_PASSWORD_LENGTH} characters.",
                            {"weak_password": {"reasons": ["length"]}})
        if len(password.encode()) > MAX_PASSWORD_BYTES:
            raise AuthError(422, "validation_failed",
                            f"Password cannot be longer than {MAX_PASSWORD_BYTES} characters")
        options = body.get("data")
        metadata = options if isinstance(options, dict) else {}
        async with self.pool.connection() as conn, conn.transaction():
            try:
                cursor = await conn.execute(
                    "insert into auth.users (instance_id, id, aud, role, email,"
                    " encrypted_password, email_confirmed_at, raw_app_meta_data,"
                    " raw_user_meta_data, created_at, updated_at, is_sso_user, is_anonymous)"
                    " values ('00000000-0000-0000-0000-000000000000', gen_random_uuid(),"
                    " 'authenticated', 'authenticated', %s,"
                    " extensions.crypt(%s, extensions.gen_salt('bf', 10)), now(),"
                    " '{\"provider\": \"email\", \"providers\": [\"email\"]}', %s, now(),"
                    " now(), false, false) returning id::text",
                    (email, password, json.dumps(metadata)))
            except psycopg.errors.UniqueViolation:
                raise AuthError(422, "user_already_exists", "User already registered") from None
            row = await cursor.fetchone()
            assert row is not None
            user_id = str(row[0])
            await conn.execute(
                "insert into auth.identities (provider_id, user_id, identity_data, provider,"
                " last_sign_in_at, created_at, updated_at) values (%s, %s, %s, 'email', now(),"
                " now(), now())",
                (user_id, user_id, json.dumps({"sub": user_id, "email": email,
                                               "email_verified": False,
                                               "phone_verified": False})))
            session = await self._session(conn, user_id)
        return JSONResponse(session)

    async def _anonymous_signup(self, body: dict[str, Any]) -> dict[str, Any]:
        """A sign-up with neither an email nor a phone (`signInAnonymously`): refused unless
        `[auth] enable_anonymous_sign_ins`; else a user without email, password, provider or
        identity, flagged `is_anonymous`, and its session (`anonymous.go`)."""
        if not self.anonymous_sign_ins:
            raise AuthError(422, "anonymous_provider_disabled", "Anonymous sign-ins are disabled")
        options = body.get("data")
        metadata = options if isinstance(options, dict) else {}
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "insert into auth.users (instance_id, id, aud, role, encrypted_password,"
                " raw_app_meta_data, raw_user_meta_data, created_at, updated_at, is_sso_user,"
                " is_anonymous) values ('00000000-0000-0000-0000-000000000000',"
                " gen_random_uuid(), 'authenticated', 'authenticated', '', '{}', %s, now(),"
                " now(), false, true) returning id::text", (json.dumps(metadata),))
            row = await cursor.fetchone()
            assert row is not None
            return await self._session(conn, str(row[0]))

    async def token(self, request: Request) -> Response:
        grant = request.query_params.get("grant_type")
        body = await _json_body(request)
        if grant == "password":
            return JSONResponse(await self._password_grant(body))
        if grant == "refresh_token":
            return JSONResponse(await self._refresh_grant(body))
        raise AuthError(400, "validation_failed", "unsupported_grant_type")

    async def _password_grant(self, body: dict[str, Any]) -> dict[str, Any]:
        email, password = _credentials(body)
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "select id::text, banned_until > now() from auth.users"
                " where lower(email) = %s and deleted_at is null and not is_sso_user"
                " and encrypted_password = extensions.crypt(%s, encrypted_password)",
                (email, password))
            row = await cursor.fetchone()
            if row is None:
                raise AuthError(400, "invalid_credentials", "Invalid login credentials")
            if row[1]:
                raise AuthError(400, "user_banned", "User is banned")
            return await self._session(conn, str(row[0]))

    async def _refresh_grant(self, body: dict[str, Any]) -> dict[str, Any]:
        token = body.get("refresh_token")
        if not isinstance(token, str) or not token:
            raise AuthError(400, "validation_failed", "Refresh Token is not provided")
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "update auth.refresh_tokens set revoked = true, updated_at = now()"
                " where token = %s and not revoked returning user_id, session_id::text",
                (token,))
            row = await cursor.fetchone()
            if row is None or row[1] is None:
                raise AuthError(400, "refresh_token_not_found",
                                "Invalid Refresh Token: Refresh Token Not Found")
            return await self._session(conn, str(row[0]), session_id=str(row[1]), parent=token)

    def _claims(self, request: Request) -> dict[str, Any]:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthError(401, "no_authorization",
                            "This endpoint requires a valid Bearer token")
        try:
            return verify_token(token.strip(), self.secret)
        except InvalidToken:
            raise AuthError(403, "bad_jwt", "invalid JWT: unable to parse or verify signature,"
                            " token is expired or not a user token") from None

    async def user(self, request: Request) -> Response:
        claims = self._claims(request)
        async with self.pool.connection() as conn:
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(_USER_QUERY + " where u.id = %s and u.deleted_at is null",
                                 (claims["sub"],))
            row = await cursor.fetchone()
        if row is None:
            raise AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
        return JSONResponse(_user_json(row))

    async def logout(self, request: Request) -> Response:
        claims = self._claims(request)
        scope = request.query_params.get("scope", "global")
        if scope not in ("global", "local", "others"):
            raise AuthError(400, "validation_failed",
                            "Unsupported logout scope " + json.dumps(scope))
        session = claims.get("session_id")
        condition = {"global": "true", "local": "id::text = %(session)s",
                     "others": "id::text <> %(session)s"}[scope]
        async with self.pool.connection() as conn:
            await conn.execute(
                "delete from auth.sessions where user_id = %(user)s and " + condition,
                {"user": claims["sub"], "session": str(session)})
        return Response(status_code=204)
