"""`/auth/v1/admin/users`: GoTrue's admin API for users (v2.196, `internal/api/admin.go`),
what supabase-js's `auth.admin` calls with the service role key: `createUser`,
`listUsers`, `getUserById`, `updateUserById` and `deleteUser`, as a seed script or a test
uses them. A local stand-in for `make run`, beside gotrue.py, on the same `auth` tables.

* Every route needs a token of an admin role (`requireAdmin`: `service_role`, as
  `supabase start` sets `JWT_ADMIN_ROLES`): none is 401 `no_authorization`, a bad one 403
  `bad_jwt` in golang-jwt's words (gotrue_jwt.py), another role (a user's token, the anon
  key) 403 `not_admin`.
* `POST /admin/users` (`adminUserCreate`): an email (validated; taken: 422 `email_exists`),
  a `password` (no strength rule here, as in GoTrue; none: a random one) or a bcrypt
  `password_hash`, `email_confirm`, `user_metadata`, `app_metadata` (over `provider` and
  `providers`), `id`, `role`, `ban_duration` (Go's duration syntax, or `none`); 200 and the
  user. Its email identity is made as at sign-up. Until `email_confirm`, a password sign-in
  is 400 `email_not_confirmed`, as GoTrue has it.
* `GET /admin/users?page=&per_page=&filter=` (`adminUsers`): newest first, 50 a page,
  `filter` matching the email or the `full_name` metadata; `X-Total-Count` and GoTrue's
  `Link` (`rel="next"`, `rel="last"`), from which supabase-js reads `nextPage`, `lastPage`
  and `total`.
* `GET /admin/users/{id}` (`adminUserGet`): 404 `user_not_found`; an id that is not a UUID
  404 `validation_failed`.
* `PUT /admin/users/{id}` (`adminUserUpdate`): `password` (sign-up's strength rules; every
  session of the user ends), `email` (set as given, `email_confirm` confirms it; an
  anonymous user confirmed so is anonymous no more), `email_confirm`, `role`,
  `app_metadata` and `user_metadata` (merged, a null removing its key), `ban_duration`.
* `DELETE /admin/users/{id}` (`adminUserDelete`): the user and, by the foreign keys'
  cascades, their identities, sessions and every row of theirs in the apps' tables; 200
  `{}`. The user's tokens then read no user (gotrue.py: 403 `user_not_found`; the apps'
  writes: 401). With `should_soft_delete` (supabase-js `deleteUser(id, true)`), GoTrue's
  soft delete instead: the row stays, `deleted_at` set, its email, phone and identities'
  provider ids replaced by hashes of the id (`obfuscateValue`), its password, tokens and
  metadata cleared, its sessions ended (its tokens: 403 `session_not_found`); the apps'
  rows stay; once more is nothing more.

* `GET /admin/users/{id}/factors` (`adminUserGetFactors`, supabase-js's
  `auth.admin.mfa.listFactors`): `[]`, as no factor is enrolled here; `PUT` and `DELETE
  /admin/users/{id}/factors/{factor_id}` (`deleteFactor`): 404 `mfa_factor_not_found`.
  The user is found first (404 `user_not_found`), as in GoTrue's `loadUser`.

* `POST /admin/generate_link` (`adminGenerateLink`, supabase-js's `auth.admin.generateLink`):
  the link and the code a mail of that `type` would carry, without sending one, so a test
  or a seed script signs a user in by `verifyOtp` (gotrue.py) with `email_otp` or
  `hashed_token`: `magiclink` and `recovery` for a user of that email (a magic link for an
  unknown email signs them up, with a random password: `verification_type` `signup`; a
  recovery for one is 404 `user_not_found`), `signup` (a new, unconfirmed user with that
  `password` and `data`; an unconfirmed one's `data` merged; a confirmed one 422
  `email_exists`) and `invite` (a new user without a password, `invited_at` set; a
  confirmed one 422 `email_exists`). The code is `[auth.email] otp_length` digits, kept
  as GoTrue keeps it (its SHA-224 with the address, in `recovery_token` or
  `confirmation_token`, with the time it was made); `action_link` is Auth's `/verify`
  link, `redirect_to` the referrer (gotrue_links.py). Without the before user created
  hook, as the other admin routes here; `email_change_current` and `email_change_new` (the
  first 400 with `[auth.email] double_confirm_changes` off; `new_email` valid, 422
  `email_exists` when another user has it) make that side's token of a change to
  `new_email`, whose `email_change` link confirms it (the new side's token is the hash with
  the new address, though `hashed_token` is the one with the current, as GoTrue answers);
  another type 400 `validation_failed`.

Not served (422 `not_served_locally`): a phone (no SMS here), the rest of `/admin` (SSO,
OAuth providers, passkeys, audit).
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from python_functions.local.api import gotrue_links
from python_functions.local.api.gotrue import (
    DUPLICATE_EMAIL,
    MAX_PASSWORD_BYTES,
    USER_QUERY,
    AuthError,
    add_email_identity,
    check_email,
    check_password,
    gofrs_uuid,
    json_object,
    merged_metadata,
    not_served,
    require_admin,
    set_email_identity,
    user_json,
)
from python_functions.local.api.jwt_keys import ProjectKeys
from python_functions.local.config import AuthConfig

PER_PAGE = 50  # `defaultPerPage`
_UINT64 = 2 ** 64


def _go_int(value: int) -> int:
    """Go's `int(v)` of a uint64 (an int64 on 64-bit machines): wrapped past 2**63."""
    return value - _UINT64 if value >= 2 ** 63 else value
_GO_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0,
            "m": 60.0, "h": 3600.0}


def ban_seconds(text: str) -> float:
    """`ban_duration` in seconds: `none` is 0, else Go's `time.ParseDuration` syntax
    (`"24h"`, `"1h30m"`, `"-1.5h"`); else 400 `validation_failed` with Go's words."""
    if text == "none":
        return 0.0
    sign, body = (-1.0, text[1:]) if text.startswith("-") else (1.0, text.lstrip("+"))
    parts = _GO_DURATION_PART.findall(body)
    if body and "".join(number + unit for number, unit in parts) == body and all(
            number not in ("", ".") for number, _ in parts):
        return sign * sum(float(number) * _SECONDS[unit] for number, unit in parts)
    reason = ("missing unit in duration" if re.fullmatch(r"[0-9.]+", body)
              else "invalid duration")
    raise AuthError(400, "validation_failed",
                    f"invalid format for ban duration: time: {reason} {json.dumps(text)}")


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON")
    return value


def _object(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is not None and not isinstance(value, dict):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON")
    return value


def _valid_email(email: str) -> str:
    """`validateEmail`: the address, lower-cased; 400 `validation_failed` without one or
    for one that does not validate."""
    if not email:
        raise AuthError(400, "validation_failed", "An email address is required")
    check_email(email)
    return email.lower()


async def insert_unconfirmed_user(conn: psycopg.AsyncConnection[Any], user_id: str,
                                  audience: str, email: str, password: str,
                                  data: dict[str, Any]) -> None:
    """`signupNewUser` of a user a link confirms later (generateLink's, a mail's): its
    password if it has one. One the database refuses (it lost a race for the address, or
    its metadata holds what `jsonb` cannot, a NUL) is GoTrue's 500 "Database error saving
    new user"."""
    try:
        await conn.execute(
            "insert into auth.users (instance_id, id, aud, role, email,"
            " encrypted_password, raw_app_meta_data, raw_user_meta_data,"
            " created_at, updated_at, is_sso_user, is_anonymous) values"
            " ('00000000-0000-0000-0000-000000000000', %s, %s, 'authenticated',"
            " %s, case when %s <> '' then extensions.crypt(%s,"
            " extensions.gen_salt('bf', 10)) end,"
            " '{\"provider\": \"email\", \"providers\": [\"email\"]}', %s,"
            " now(), now(), false, false)",
            (user_id, audience, email, password, password, json.dumps(data)))
    except (psycopg.errors.UniqueViolation, psycopg.DataError):
        raise AuthError(500, "unexpected_failure",
                        "Database error saving new user") from None


class GoTrueAdmin:
    """The admin routes, on the local API's pool and JWT keys."""

    def __init__(self, pool: AsyncConnectionPool[Any], keys: ProjectKeys, config: AuthConfig,
                 auth_url: str) -> None:
        self.pool = pool
        self.keys = keys
        self.config = config  # for a new password's strength, as on sign-up
        self.auth_url = auth_url  # API_EXTERNAL_URL: where a link's /verify is

    def routes(self) -> list[Route]:
        return [
            Route("/admin/users", self.list_users, methods=["GET"]),
            Route("/admin/users", self.create_user, methods=["POST"]),
            Route("/admin/users/{user_id}", self.get_user, methods=["GET"]),
            Route("/admin/users/{user_id}", self.update_user, methods=["PUT"]),
            Route("/admin/users/{user_id}", self.delete_user, methods=["DELETE"]),
            Route("/admin/users/{user_id}/factors", self.list_factors, methods=["GET"]),
            Route("/admin/users/{user_id}/factors/{factor_id}", self.factor,
                  methods=["PUT", "DELETE"]),
            Route("/admin/generate_link", self.generate_link, methods=["POST"]),
        ]

    async def _find(self, conn: psycopg.AsyncConnection[Any], user_id: str,
                    lock: bool = False) -> dict[str, Any]:
        """`loadUser`: the user the path names (an id in a form gofrs reads)."""
        canonical = gofrs_uuid(str(user_id))
        if canonical is None:
            raise AuthError(404, "validation_failed", "user_id must be an UUID")
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(USER_QUERY + " where u.id = %s" + (" for update of u" if lock
                                                                 else ""), (canonical,))
        row = await cursor.fetchone()
        if row is None:
            raise AuthError(404, "user_not_found", "User not found")
        return row

    async def get_user(self, request: Request) -> Response:
        require_admin(self.keys, request)
        async with self.pool.connection() as conn:
            return JSONResponse(user_json(await self._find(conn, request.path_params["user_id"])))

    async def list_users(self, request: Request) -> Response:
        require_admin(self.keys, request)
        query = request.query_params
        for name in ("page", "per_page"):  # `paginate`: each a uint64, if given
            given = query.get(name) or ""
            if given and not (given.isascii() and given.isdigit()):
                reason = "invalid syntax"
            elif given and int(given) >= _UINT64:
                reason = "value out of range"
            else:
                continue
            raise AuthError(400, "validation_failed", "Bad Pagination Parameters: strconv."
                            f"ParseUint: parsing {json.dumps(given)}: {reason}")
        page, per_page = int(query.get("page") or 1), int(query.get("per_page") or PER_PAGE)
        # pop's `Paginate(int(page), int(perPage))`: Go's int of a uint64 wraps past 2**63,
        # `NewPaginator` makes a page below 1 the first and a size below 1 twenty, and the
        # offset is their product as an int64 wraps it
        pop_page, pop_size = _go_int(page), _go_int(per_page)
        pop_page, pop_size = pop_page if pop_page >= 1 else 1, pop_size if pop_size >= 1 else 20
        offset = _go_int((pop_page - 1) * pop_size % _UINT64)
        if offset < 0:  # Postgres refuses a negative OFFSET
            raise AuthError(500, "unexpected_failure", "Database error finding users")
        search = query.get("filter") or ""
        condition = " where u.aud = 'authenticated'"
        args: list[Any] = []
        if search:
            condition += (" and (u.email ilike %s or u.raw_user_meta_data->>'full_name'"
                          " ilike %s)")
            args += [f"%{search}%"] * 2
        async with self.pool.connection() as conn:
            total_cursor = await conn.execute("select count(*) from auth.users u" + condition,
                                              args)
            total_row = await total_cursor.fetchone()
            total = int(total_row[0]) if total_row else 0
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(USER_QUERY + condition + " order by u.created_at desc, u.id"
                                 " limit %s offset %s", [*args, pop_size, offset])
            users = [user_json(row) for row in await cursor.fetchall()]
        if per_page == 0:  # `calculateTotalPages` divides by it: Go panics, the recoverer 500s
            raise AuthError(500, "unexpected_failure", "Internal Server Error", coded=False)
        pages = -(-total // per_page)  # `calculateTotalPages`, of the page size as given
        return JSONResponse({"users": users, "aud": "authenticated"}, headers={
            "X-Total-Count": str(total), "Link": _page_links(request, page, pages)})

    async def create_user(self, request: Request) -> Response:
        require_admin(self.keys, request)
        body = json_object(await request.body())
        email, phone = _text(body, "email").strip().lower(), _text(body, "phone")
        password, password_hash = body.get("password"), _text(body, "password_hash")
        user_metadata, app_metadata = (_object(body, "user_metadata"),
                                       _object(body, "app_metadata"))
        if not email and not phone:
            raise AuthError(400, "validation_failed",
                            "Cannot create a user without either an email or phone")
        if email:
            check_email(email)
        if phone:
            raise not_served("a phone number (it needs an SMS provider)")
        if not isinstance(password, str | None):
            raise AuthError(400, "bad_json", "Could not parse request body as JSON")
        if password is not None and password_hash:
            raise AuthError(400, "validation_failed",
                            "Only a password or a password hash should be provided")
        if password is not None and len(password.encode()) > MAX_PASSWORD_BYTES:
            raise AuthError(400, "validation_failed",
                            "bcrypt: password length exceeds 72 bytes")
        if not password and not password_hash:
            password = secrets.token_urlsafe(48)
        user_id = str(uuid.uuid4())
        if given_id := _text(body, "id"):
            try:
                parsed = uuid.UUID(given_id)
            except ValueError:
                raise AuthError(400, "validation_failed",
                                "ID must conform to the uuid v4 format") from None
            if parsed.int == 0:
                raise AuthError(400, "validation_failed", "ID cannot be a nil uuid")
            user_id = str(parsed)
        ban = ban_seconds(_text(body, "ban_duration")) if body.get("ban_duration") else None
        app = merged_metadata({"provider": "email", "providers": ["email"]}, app_metadata or {})
        async with self.pool.connection() as conn, conn.transaction():
            try:
                await conn.execute(
                    "insert into auth.users (instance_id, id, aud, role, email,"
                    " encrypted_password, email_confirmed_at, raw_app_meta_data,"
                    " raw_user_meta_data, banned_until, created_at, updated_at, is_sso_user,"
                    " is_anonymous) values ('00000000-0000-0000-0000-000000000000', %s,"
                    " %s, %s, %s, coalesce(%s, extensions.crypt(%s, extensions.gen_salt("
                    "'bf', 10))), case when %s then now() end, %s, %s,"
                    " case when %s > 0 then now() + make_interval(secs => %s) end, now(),"
                    " now(), false, false)",
                    (user_id, _text(body, "aud") or "authenticated",
                     _text(body, "role") or "authenticated", email, password_hash or None,
                     password, bool(body.get("email_confirm")), app,
                     json.dumps(user_metadata or {}), ban or 0, ban or 0))
            except psycopg.errors.UniqueViolation as taken:  # the address, or the id
                if taken.diag.constraint_name == "users_pkey":
                    raise AuthError(500, "unexpected_failure",
                                    "Database error creating new user") from None
                raise AuthError(422, "email_exists", DUPLICATE_EMAIL) from None
            await add_email_identity(conn, user_id, email,
                                     verified=bool(body.get("email_confirm")))
            return JSONResponse(user_json(await self._find(conn, user_id)))

    async def update_user(self, request: Request) -> Response:
        require_admin(self.keys, request)
        raw = await request.body()
        async with self.pool.connection() as conn, conn.transaction():
            user = await self._find(conn, request.path_params["user_id"], lock=True)
            body = json_object(raw)
            email, password = _text(body, "email").strip().lower(), body.get("password")
            user_metadata, app_metadata = (_object(body, "user_metadata"),
                                           _object(body, "app_metadata"))
            confirm = bool(body.get("email_confirm"))
            if email:
                check_email(email)
            if _text(body, "phone"):
                raise not_served("a phone number (it needs an SMS provider)")
            ban = (ban_seconds(_text(body, "ban_duration")) if body.get("ban_duration")
                   else None)
            if not isinstance(password, str | None):
                raise AuthError(400, "bad_json", "Could not parse request body as JSON")
            if password is not None:
                check_password(password, self.config)
            user_id = user["id"]
            if role := _text(body, "role"):
                await conn.execute("update auth.users set role = %s where id = %s",
                                   (role, user_id))
            if confirm:
                await conn.execute("update auth.users set email_confirmed_at = coalesce("
                                   "email_confirmed_at, now()) where id = %s", (user_id,))
            if password is not None:  # `UpdatePassword` with no session kept: all end
                await conn.execute(
                    "update auth.users set encrypted_password = extensions.crypt(%s,"
                    " extensions.gen_salt('bf', 10)) where id = %s", (password, user_id))
                await conn.execute("delete from auth.sessions where user_id = %s", (user_id,))
            if email:
                await self._set_email(conn, user, email, confirm)
            if app_metadata is not None:
                await conn.execute(
                    "update auth.users set raw_app_meta_data = %s where id = %s",
                    (merged_metadata(user["raw_app_meta_data"], app_metadata), user_id))
            if user_metadata is not None:
                await conn.execute(
                    "update auth.users set raw_user_meta_data = %s where id = %s",
                    (merged_metadata(user["raw_user_meta_data"], user_metadata), user_id))
            if ban is not None:
                await conn.execute(
                    "update auth.users set banned_until = case when %s > 0 then now()"
                    " + make_interval(secs => %s) end where id = %s", (ban, ban, user_id))
            await conn.execute("update auth.users set updated_at = now() where id = %s",
                               (user_id,))
            return JSONResponse(user_json(await self._find(conn, user_id)))

    async def generate_link(self, request: Request) -> Response:
        """`POST /admin/generate_link` (the module's docstring says what it makes)."""
        require_admin(self.keys, request)
        body = json_object(await request.body())
        kind, email, new_email = _text(body, "type"), _text(body, "email"), \
            _text(body, "new_email")
        password, redirect_to = _text(body, "password"), _text(body, "redirect_to")
        data = _object(body, "data") or {}
        email = _valid_email(email)
        referrer = gotrue_links.referrer(request, self.config)
        if gotrue_links.redirect_url_valid(redirect_to, self.config):
            referrer = redirect_to
        audience = request.headers.get("x-jwt-aud") or "authenticated"  # `requestAud`
        async with self.pool.connection() as conn, conn.transaction():
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                "select u.id::text, u.email_confirmed_at is not null as confirmed,"
                " u.raw_user_meta_data from auth.users u where lower(u.email) = %s"
                " and u.aud = %s and not u.is_sso_user for update", (email, audience))
            user = await cursor.fetchone()
            if user is None and kind == "magiclink":  # a magic link for no one signs up
                kind, password = "signup", secrets.token_urlsafe(48)
            elif user is None and kind in ("recovery", "email_change_current",
                                           "email_change_new"):
                raise AuthError(404, "user_not_found", "User with this email not found")
            if kind == "signup" and user is None:  # `validateSignupParams`
                if not password:
                    raise AuthError(400, "validation_failed", "Signup requires a valid password")
                check_password(password, self.config)
            code = gotrue_links.one_time_code(self.config.email_otp_length)
            hashed = gotrue_links.token_hash(email, code)
            if kind in ("magiclink", "recovery"):
                assert user is not None
                user_id = user["id"]
                await conn.execute("update auth.users set recovery_token = %s,"
                                   " recovery_sent_at = now() where id = %s", (hashed, user_id))
            elif kind in ("invite", "signup"):
                if user is not None and user["confirmed"]:
                    raise AuthError(422, "email_exists", DUPLICATE_EMAIL)
                if user is None:
                    user_id = str(uuid.uuid4())
                    await insert_unconfirmed_user(conn, user_id, audience, email, password,
                                                  data)
                    await add_email_identity(conn, user_id, email, verified=False)
                else:
                    user_id = user["id"]
                    if kind == "signup":
                        await conn.execute(
                            "update auth.users set raw_user_meta_data = %s where id = %s",
                            (merged_metadata(user["raw_user_meta_data"], data), user_id))
                await conn.execute(
                    "update auth.users set confirmation_token = %s, confirmation_sent_at ="
                    " now(), invited_at = case when %s then now() else invited_at end"
                    " where id = %s", (hashed, kind == "invite", user_id))
            elif kind in ("email_change_current", "email_change_new"):
                if kind == "email_change_current" and not self.config.secure_email_change:
                    raise AuthError(400, "validation_failed", "Enable secure email change to"
                                    " generate link for current email")
                new_email = _valid_email(new_email)
                if await (await conn.execute(  # `IsDuplicatedEmail`
                        "select 1 from auth.users where lower(email) = %s and aud = %s"
                        " and not is_sso_user and id <> %s",
                        (new_email, audience, user["id"] if user else None))).fetchone():
                    raise AuthError(422, "email_exists", DUPLICATE_EMAIL)
                assert user is not None
                user_id = user["id"]
                # the new address's token is its own hash, though the answer's
                # `hashed_token` is the current address's, as GoTrue answers it
                column, link_token = ("email_change_token_current", hashed) \
                    if kind == "email_change_current" else (
                    "email_change_token_new", gotrue_links.token_hash(new_email, code))
                await conn.execute(
                    f"update auth.users set email_change = %s, email_change_sent_at = now(),"
                    f" email_change_confirm_status = 0, {column} = %s where id = %s",
                    (new_email, link_token, user_id))
            else:
                raise AuthError(400, "validation_failed",
                                f"Invalid email action link type requested: {kind}")
            found = user_json(await self._find(conn, user_id))
        return JSONResponse({
            **found,
            "action_link": gotrue_links.action_link(
                self.auth_url, link_token, "email_change", referrer)
            if kind.startswith("email_change") else gotrue_links.action_link(
                self.auth_url, hashed, kind, referrer),
            "email_otp": code, "hashed_token": hashed, "verification_type": kind,
            "redirect_to": referrer})

    @staticmethod
    async def _set_email(conn: psycopg.AsyncConnection[Any], user: dict[str, Any], email: str,
                         confirm: bool) -> None:
        """The address set as given, its email identity updated (or made), and an anonymous
        user whose address is confirmed anonymous no more."""
        try:
            await conn.execute(
                "update auth.users set email = %s, is_anonymous = is_anonymous and not %s"
                " where id = %s", (email, confirm, user["id"]))
        except psycopg.errors.UniqueViolation:  # another user's: GoTrue checks nothing first
            raise AuthError(500, "unexpected_failure", "Error updating user") from None
        await set_email_identity(conn, user["id"], email, verified=confirm)

    async def delete_user(self, request: Request) -> Response:
        require_admin(self.keys, request)
        raw = await request.body()
        body = json_object(raw) if raw.strip() else {}
        async with self.pool.connection() as conn, conn.transaction():
            user = await self._find(conn, request.path_params["user_id"], lock=True)
            if not body.get("should_soft_delete"):
                await conn.execute("delete from auth.users where id = %s", (user["id"],))
            elif user["deleted_at"] is None:  # soft-deleted already: nothing more to do
                for statement in _SOFT_DELETE:
                    await conn.execute(statement, {"id": user["id"]})
        return JSONResponse({})

    async def list_factors(self, request: Request) -> Response:
        """`adminUserGetFactors`: the user's factors, `[]` for every user here, as no factor
        is enrolled by this Auth (gotrue.py) and the stand-in keeps no `auth.mfa_factors`
        (GoTrue's eager load makes an empty slice, which it sends as `[]`, not `null`)."""
        require_admin(self.keys, request)
        async with self.pool.connection() as conn:
            await self._find(conn, request.path_params["user_id"])
        return JSONResponse([])

    async def factor(self, request: Request) -> Response:
        """`adminUserUpdateFactor` and `adminUserDeleteFactor` after `loadUser` and
        `loadFactor`: no factor is enrolled here, so each is 404 `mfa_factor_not_found`."""
        require_admin(self.keys, request)
        async with self.pool.connection() as conn:
            await self._find(conn, request.path_params["user_id"])
        if gofrs_uuid(request.path_params["factor_id"]) is None:
            raise AuthError(404, "validation_failed", "factor_id must be an UUID")
        raise AuthError(404, "mfa_factor_not_found", "Factor not found")


def _obfuscated(user_id: str, value: str, length: int | None = None) -> str:
    """`obfuscateValue`: base64url (unpadded) of SHA-256 of the user's id and the value, the
    first `length` characters of it (a phone's 15)."""
    digest = ("translate(rtrim(encode(sha256(convert_to("
              f"{user_id}::text || coalesce({value}, ''), 'UTF8')), 'base64'), '='), '+/', '-_')")
    return f"left({digest}, {length})" if length else digest


# `SoftDeleteUser`, `SoftDeleteUserIdentities` and `Logout` (models/user.go): the user's
# email, phone and pending changes replaced by values that identify nobody, its password,
# tokens and metadata cleared, each identity's data cleared and its provider id replaced,
# its sessions (and their refresh tokens) ended; the row and every row of theirs in the
# apps' tables stay.
_SOFT_DELETE = (f"""
update auth.users u
   set email = {_obfuscated("u.id", "u.email")},
       phone = {_obfuscated("u.id", "u.phone", 15)},
       email_change = {_obfuscated("u.id", "u.email_change")},
       phone_change = {_obfuscated("u.id", "u.phone_change", 15)},
       encrypted_password = null, confirmation_token = '', recovery_token = '',
       email_change_token_current = '', email_change_token_new = '', phone_change_token = '',
       raw_user_meta_data = '{{}}', raw_app_meta_data = '{{}}',
       deleted_at = now(), updated_at = now()
 where u.id = %(id)s""", f"""
update auth.identities i
   set identity_data = '{{}}',
       provider_id = {_obfuscated("i.user_id", "i.provider || ':' || i.provider_id")},
       updated_at = now()
 where i.user_id = %(id)s""", "delete from auth.sessions where user_id = %(id)s")


def _page_links(request: Request, page: int, pages: int) -> str:
    """`addPaginationHeaders`: the next page while there is one, and the last; the query
    keys in Go's order (sorted), `page` among them, the path as GoTrue sees it."""
    query = dict(parse_qsl(request.url.query, keep_blank_values=True))

    def link(number: int, rel: str) -> str:
        given = {**query, "page": str(number)}
        return f'</admin/users?{urlencode(sorted(given.items()))}>; rel="{rel}"'

    return (link(page + 1, "next") + ", " if pages > page else "") + link(pages, "last")
