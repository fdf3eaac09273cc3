"""`/auth/v1`: just enough of Supabase Auth (GoTrue) for local sign-in, on `auth.users`.

A local stand-in for `make run` only: on hosted Supabase or `supabase start` the real Auth
service answers. It mirrors GoTrue as read at v2.196 (supabase/auth, `internal/api/`) for
each route:

* `POST /signup` (`signup.go`): email + password (`checkPasswordStrength`: at most 72 bytes,
  else 400 `validation_failed`; `[auth] minimum_password_length` and `password_requirements`,
  else 422 `weak_password` with every reason, `length` and `characters`); confirmations off,
  as `supabase start` has them, so the answer is a session. An address already registered
  is 422 `user_already_exists`. `[auth] enable_signup = false` makes every sign-up 422
  `signup_disabled`, `[auth.email] enable_signup = false` an email one 400
  `email_provider_disabled` (and a password sign-in 422); with `[auth.email]
  enable_confirmations = true` the user waits, unconfirmed, for the link of its mail
  (gotrue_mail.py; `python_functions/local/config.py` reads the settings).
* `POST /signup` with neither an email nor a phone (`api.go`, `anonymous.go`: supabase-js's
  `signInAnonymously`): 422 `anonymous_provider_disabled` unless supabase/config.toml has
  `[auth] enable_anonymous_sign_ins = true` (off by default, as on `supabase start`); then
  a user without email, password, provider or identity, `is_anonymous`, and its session,
  whose tokens say `is_anonymous: true` and `amr: anonymous`. Both an email and a phone is
  400 `validation_failed`; a phone alone is 400 `phone_provider_disabled` while `[auth.sms]
  enable_signup` is off (as `supabase start` has it), else 422 `not_served_locally` (no SMS).
* `POST /token?grant_type=password` (`token.go`): 400 `invalid_credentials` "Invalid login
  credentials" for an unknown address or a wrong password alike; a password the rules do
  not accept (any more) signs in with `weak_password: {message, reasons}` beside the
  session; a phone is 422 `phone_provider_disabled` (or, with `[auth.sms] enable_signup`,
  `not_served_locally`); an unknown grant type is 400 `invalid_credentials`
  "unsupported_grant_type".
* `POST /token?grant_type=refresh_token` (`tokens/service.go`): a refresh token is swapped
  for a new one (its `parent` recorded), one refresh of a session at a time. Presented again,
  it gets the session's current token if that is its child, a new one within the reuse
  interval, and after it 400 `refresh_token_already_used` (with rotation, the session's
  tokens revoked): supabase-js tabs refreshing at once all keep their session. An unknown
  token is 400 `refresh_token_not_found`, a banned user's 400 `user_banned`.
* `GET /user` (`user.go`): the user of the bearer token, as on every route that needs a
  signed-in user (`requireAuthentication`, `auth.go`): none (or not `Bearer <token>`) is
  401 `no_authorization`; a token that is not the project's, or expired, 403 `bad_jwt` in
  golang-jwt's words (gotrue_jwt.py: any token of the project's keys is taken, whatever
  its role or audience); no `sub` 403 `bad_jwt`, one that is not a UUID 400 `bad_jwt`, a
  deleted user 403 `user_not_found`, an ended session (signed out, or by a new password)
  403 `session_not_found`, a banned user 403 `user_banned`.
* `PUT /user` (`user.go`, supabase-js's `updateUser`): `data` merged into the user
  metadata, a new `password` (the user's other sessions end; with `[auth.email]
  secure_password_change`, from a session signed in within 24 h or with a nonce), an
  anonymous user's `email` (confirmed at once, as with confirmations off); details in
  `update_user`.
* `POST /logout?scope=global|local|others` (`logout.go`): ends sessions (their refresh
  tokens go with them), 204. Access tokens stay valid until they expire, as with GoTrue.
* `/admin/users`: the admin API for users and their (no) MFA factors (gotrue_admin.py).
* `POST /factors` and `/factors/{id}` (`mfa.go`, supabase-js's `auth.mfa`): as GoTrue
  answers them while `[auth.mfa.*] enroll_enabled` is off, as in the CLI's template (422
  `mfa_totp_enroll_not_enabled`, ...; 404 `mfa_factor_not_found`, as no factor exists);
  turned on, enrolling is 422 `not_served_locally`.
* `GET /authorize?provider=` (`external.go`, where supabase-js's `signInWithOAuth` sends the
  browser): 400 `validation_failed` "Unsupported provider: ..." in `API.Provider`'s words
  for a provider that is off (as all are in the CLI's template) or unknown; one turned on
  in `[auth.external.*]` is 422 `not_served_locally`.
* `/user/identities/...` (`identity.go`, supabase-js's `linkIdentity`, `unlinkIdentity`) and
  the OAuth 2.1 server (`/oauth/...`, `/user/oauth/grants`,
  `/.well-known/oauth-authorization-server`): as GoTrue answers them while `[auth]
  enable_manual_linking` and `[auth.oauth_server] enabled` are off, as in the CLI's
  template (404 `manual_linking_disabled`, 404 `feature_disabled`); on, unlinking a user's
  one identity is 422 `single_identity_not_deletable`, and what needs an OAuth provider or
  the OAuth server is 422 `not_served_locally`.
* `POST /verify` (`verify.go`, supabase-js's `verifyOtp`): GoTrue's checks of the request,
  then its search for the token: the code or hash of a link `auth.admin.generateLink` made
  (gotrue_admin.py) signs the user in, once, within `[auth.email] otp_expiry`; else 403
  `otp_expired`. `GET /verify`, the link itself, redirects with the session (or the
  refusal) in the fragment, as GoTrue's implicit flow does; a PKCE link (`pkce_...`) with
  the code of its flow state in the query (`issueAuthCode`), which `POST
  /token?grant_type=pkce` (supabase-js's `exchangeCodeForSession`) trades, with the
  verifier of its challenge and within 5 minutes, for the session, once.
* `/sso/...` (supabase-js's `signInWithSSO`): 404 `saml_provider_disabled`, as the CLI never
  turns SAML on; `/passkeys/...`: 404 `passkey_disabled` unless `[auth.passkey] enabled`;
  `/invite` after its admin check, as every `/admin` route.
* Mail (`POST /otp`, `/magiclink`, `/recover`, `/resend`, `/invite`, `GET
  /reauthenticate`, and `POST /signup` with confirmations on) goes over SMTP to `make run`'s
  mail catcher or `[auth.email.smtp]` (gotrue_mail.py).
* What GoTrue serves and this stand-in cannot (SMS, a permanent user's email change; OAuth
  providers, passkeys turned on, MFA factors, the rest of the admin API; the `id_token` and
  `web3` grants) is 422 `not_served_locally`, naming it;
  another method on a served path is 405 and an unknown path 404, as GoTrue's router
  answers them.
* `GET /settings` (`settings.go`): the email and phone providers, anonymous sign-ins,
  sign-ups and confirmations as configured; no OAuth, SAML or passkeys.
* `GET /.well-known/jwks.json` (`jwks.go`): the public part of each signing key
  (jwt_keys.py), which supabase-js's `getClaims()` checks access tokens with; and
  `GET /.well-known/openid-configuration`, which names it (`jwks_uri`) under the issuer.
* `GET /health` (`HealthCheck`): 200 with GoTrue's name and description, for a monitor.

Access tokens last `[auth] jwt_expiry` seconds (3600 unless set). The Auth hooks, Postgres
functions or HTTP endpoints, are called where GoTrue calls them (`gotrue_hooks.py`): the custom
access token hook makes every access token's claims, the password verification hook sees
each password sign-in of a user with a password who is not banned, the before user created
hook each sign-up before its user is made. A sign-up makes its user and then its session, in
two transactions, as `Signup` does, so a session the access token hook refuses leaves the
user made. Passwords are stored as GoTrue stores them: bcrypt (cost 10) in
`encrypted_password`, made and checked by pgcrypto's `crypt`. Sessions and refresh tokens
live in GoTrue's `auth.sessions` and `auth.refresh_tokens`. Access tokens carry the claims
Supabase Auth issues (`python_functions.service.auth.user_claims`), signed as GoTrue signs
them on `supabase start`: with the signing key (ES256, the CLI's default key, unless
`[auth] signing_keys_path` names others), its `kid` in the header. A bearer token is taken
by its `kid`, or HS256 with the JWT secret (`parseJWTClaims`, gotrue_jwt.py). Errors use
GoTrue's two shapes: `{code, message}` with `X-Supabase-Api-Version: 2024-01-01` when the
request asks for that version (supabase-js does), else `{code, error_code, msg}`.
"""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
import string
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from python_functions.local.api import gotrue_links
from python_functions.local.api.gotrue_hooks import (
    Hook,
    HookFailed,
    before_user_created,
    customize_access_token,
    verify_password_attempt,
)
from python_functions.local.api.gotrue_jwt import GotrueRefusal
from python_functions.local.api.jwt_keys import ProjectKeys
from python_functions.local.config import AuthConfig
from python_functions.service import cors
from python_functions.service.auth import user_claims

if TYPE_CHECKING:
    from python_functions.local.api.gotrue_mail import GoTrueMail

API_VERSION_HEADER = "X-Supabase-Api-Version"
API_VERSION = "2024-01-01"
MAX_PASSWORD_BYTES = 72  # bcrypt reads no further; GoTrue refuses longer passwords
_ALPHANUMERIC = string.ascii_letters + string.digits
_BEARER = re.compile(r"[Bb]earer (\S+)")
_HEX = "[0-9a-fA-F]"
_UUID_TEXT = rf"(?:{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}|{_HEX}{{32}})"
# the forms of a UUID gofrs' `FromString` reads: canonical or 32 digits, bare, braced or URN
_GOFRS_UUID = re.compile(rf"{_UUID_TEXT}|\{{{_UUID_TEXT}\}}|urn:uuid:{_UUID_TEXT}")
_NIL_UUID = "00000000-0000-0000-0000-000000000000"
# `EnrollFactor`'s factor types: the name in its messages, the table of `[auth.mfa]`
_MFA_FACTORS = {"phone": ("Phone", "phone"), "totp": ("TOTP", "totp"),
                "webauthn": ("WebAuthn", "web_authn")}
# The paths served here, then GoTrue v2.196's others (`api.go`): paths and subtrees
log = logging.getLogger("python_functions.local.api.gotrue")

_SERVED = frozenset({"signup", "token", "user", "logout", "settings", "health", "authorize",
                     ".well-known/jwks.json", ".well-known/openid-configuration",
                     "admin/generate_link", "otp", "magiclink", "recover", "resend",
                     "invite"})
# `WellKnownOpenID`'s fixed parts (`jwks.go`; the scopes: `models.SupportedOAuthScopes`)
_OIDC_CLAIMS = ("sub", "aud", "iss", "exp", "iat", "auth_time", "nonce", "email",
                "email_verified", "phone_number", "phone_number_verified", "name", "picture",
                "preferred_username", "updated_at")
_OIDC_SCOPES = ("openid", "profile", "email", "phone", "offline_access")
_GOTRUE_ONLY_TREES = frozenset({"callback", "factors", "admin"})
# `verifyTokenHash`, `verifyUserAndToken`: the `auth.users` columns each type's token is in
_TOKEN_COLUMNS = {
    "email": ("confirmation_token", "recovery_token"),
    "signup": ("confirmation_token",), "invite": ("confirmation_token",),
    "recovery": ("recovery_token",), "magiclink": ("recovery_token",),
    "email_change": ("email_change_token_current", "email_change_token_new"),
}
# when each token column's token was made (its expiry counts from then)
_SENT_AT = {"confirmation_token": "confirmation_sent_at", "recovery_token": "recovery_sent_at",
            "email_change_token_current": "email_change_sent_at",
            "email_change_token_new": "email_change_sent_at",
            "phone_change_token": "phone_change_sent_at"}
_PHONE_TOKEN_COLUMNS = {"sms": ("phone", "confirmation_token"),
                        "phone_change": ("phone_change", "phone_change_token")}
_E164 = re.compile(r"[1-9][0-9]{1,14}")
ADMIN_ROLES = frozenset({"service_role"})  # `supabase start`'s GOTRUE_JWT_ADMIN_ROLES
# `ProviderSettings` of `settings.go`, beside email, phone and anonymous users
_OAUTH_PROVIDERS = ("apple", "azure", "bitbucket", "discord", "facebook", "snapchat", "figma",
                    "fly", "github", "gitlab", "google", "keycloak", "kakao", "linkedin",
                    "linkedin_oidc", "notion", "spotify", "slack", "slack_oidc", "workos",
                    "twitch", "twitter", "zoom")
# the providers `API.Provider` knows (`external.go`), beside `custom:<id>` ones
_SIGN_IN_PROVIDERS = frozenset((*_OAUTH_PROVIDERS, "x", "vercel_marketplace"))
DUPLICATE_EMAIL = "A user with this email address has already been registered"
# gotrue_admin.py's paths
_ADMIN_USER_PATH = re.compile(r"admin/users(/[^/]+(/factors(/[^/]+)?)?)?")
_FACTOR_PATH = re.compile(r"factors(/[^/]+(/challenge|/verify)?)?")
_JWT_AUD = "authenticated"  # GOTRUE_JWT_AUD as `supabase start` sets it
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]+")


def _not_found() -> Response:
    """chi's answer to a path no route matches."""
    return Response("404 page not found", 404, media_type="text/plain")


class AuthError(Exception):
    """An `HTTPError` as GoTrue answers it; `coded`: made with its code, which it then also
    names in `x-sb-error-code` (one made without gets `unexpected_failure` or `unknown` in
    the body only)."""

    def __init__(self, status: int, code: str, message: str, extra: dict[str, Any] | None = None,
                 coded: bool = True) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.coded = coded

    def response(self, request: Request) -> Response:
        headers = {"x-sb-error-code": self.code} if self.coded else {}
        if _wants_2024(request):
            return JSONResponse({"code": self.code, "message": self.message, **self.extra},
                                self.status, {API_VERSION_HEADER: API_VERSION, **headers})
        return JSONResponse({"code": self.status, "error_code": self.code, "msg": self.message,
                             **self.extra}, self.status, headers)


def require_admin(keys: ProjectKeys, request: Request) -> None:
    """`requireAdminCredentials` and `requireAdmin`: a token of the project's keys
    (`parseJWTClaims`) whose role is an admin role (none: 401, a bad one: 403 `bad_jwt`)."""
    if token_claims(keys, request).get("role") not in ADMIN_ROLES:
        raise AuthError(403, "not_admin", "User not allowed")


def not_served(what: str) -> AuthError:
    """What GoTrue does but this stand-in cannot (no SMS, no OAuth here): 422, as
    GoTrue answers a feature turned off (`anonymous_provider_disabled`, ...), so supabase-js
    reports an `AuthApiError` with its code (a 5xx it would report as a retryable network
    error, without the code)."""
    return AuthError(422, "not_served_locally", f"Not served by the local stand-in of Supabase"
                     f" Auth (make run): {what}. supabase start serves it.")


def _hook_response(failed: HookFailed, request: Request) -> Response:
    """A hook's refusal or failure as GoTrue answers it, or, to a client without the
    2024-01-01 version, a Postgres error GoTrue shows as it is (`NewPostgresError`)."""
    if not _wants_2024(request) and failed.legacy is not None:
        return JSONResponse(failed.legacy[1], failed.legacy[0])
    return AuthError(failed.status, failed.code, failed.message,
                     coded=failed.coded).response(request)


def _ip_address(request: Request) -> str:
    """The client's address, as a hook's `metadata.ip_address` gives it."""
    return request.client.host if request.client else ""


def _wants_2024(request: Request) -> bool:
    return request.headers.get(API_VERSION_HEADER, "") >= API_VERSION


# `oauthErrorMap`: the OAuth error a refusal's status stands for in a redirect
# `ParseAuthenticationMethod` of a link's type: the method its flow state was made with
_FLOW_METHODS = {"signup": "email/signup", "invite": "invite", "magiclink": "magiclink",
                 "recovery": "recovery", "email_change": "email_change"}
SINGLE_CONFIRMATION = ("Confirmation link accepted. Please proceed to confirm link sent to"
                       " the other email")  # `singleConfirmationAccepted`
FLOW_STATE_EXPIRY_S = 300  # `defaultFlowStateExpiryDuration`, which the CLI does not change
_OAUTH_ERRORS = {400: "invalid_request", 401: "unauthorized_client", 403: "access_denied",
                 500: "server_error", 503: "temporarily_unavailable"}


def _see_other(location: str) -> Response:
    """`http.Redirect(..., 303)` of a GET: the location, and Go's short HTML body."""
    return Response(f'<a href="{html.escape(location)}">See Other</a>.\n\n', 303,
                    {"Location": location}, media_type="text/html; charset=utf-8")


def _error_redirect(url: str, refused: AuthError, pkce: bool = False) -> str:
    """`prepErrorRedirectURL`: the refusal in the URL's fragment, and for a PKCE flow in
    its query too (with the query it had, sorted as Go's `Values.Encode` writes it). Go
    escapes the encoded fragment again as it writes the URL (`EscapedFragment`), so a
    `%` in it is `%25`."""
    params = {"error_code": refused.code, "error_description": refused.message}
    if (oauth := _OAUTH_ERRORS.get(refused.status)) is not None:
        params["error"] = oauth
    fragment = urlencode(sorted({**params, "sb": ""}.items())).replace("%", "%25")
    return _with_fragment(_with_query(url, params) if pkce else url, fragment)


async def _issue_auth_code(conn: psycopg.AsyncConnection[Any], user_id: str,
                           method: str) -> str:
    """`issueAuthCode`: the code of the user's latest flow state of this method, its issue
    time recorded; none is 400 `flow_state_not_found`, as `verifyGet` words it."""
    found = await (await conn.execute(
        "select id, auth_code from auth.flow_state where user_id = %s and"
        " authentication_method = %s order by created_at desc limit 1 for update",
        (user_id, method))).fetchone()
    if found is None or not found[1]:
        reason = ("No valid flow state found for user." if found is None else
                  "Flow state does not have an auth code (not a PKCE flow).")
        raise AuthError(400, "flow_state_not_found", f"No associated flow state found. {reason}")
    await conn.execute("update auth.flow_state set auth_code_issued_at = now(),"
                       " updated_at = now() where id = %s", (found[0],))
    return str(found[1])


def _message_redirect(url: str, message: str, pkce: bool) -> str:
    """`prepRedirectURL`: the message in the URL's fragment (with `sb`), and for a PKCE flow
    in its query too."""
    fragment = urlencode(sorted({"message": message, "sb": ""}.items())).replace("%", "%25")
    return _with_fragment(_with_query(url, {"message": message}) if pkce else url, fragment)


def _with_query(url: str, params: dict[str, str]) -> str:
    """The URL with `params` set in its query, which Go's `Values.Encode` writes sorted
    (`prepPKCERedirectURL`'s code, a PKCE flow's refusal or message)."""
    scheme, netloc, path, query, fragment = urlsplit(url)
    query = urlencode(sorted({**dict(parse_qsl(query, keep_blank_values=True)),
                              **params}.items()))
    return urlunsplit((scheme, netloc, path, query, fragment))


def _with_fragment(url: str, fragment: str) -> str:
    scheme, netloc, path, query, _ = urlsplit(url)
    return urlunsplit((scheme, netloc, path, query, fragment))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


USER_QUERY = """
select u.id::text, u.aud, u.role, u.email, u.phone, u.email_confirmed_at, u.confirmed_at,
       u.last_sign_in_at, u.deleted_at, u.raw_app_meta_data, u.raw_user_meta_data,
       u.created_at, u.updated_at, u.is_anonymous, u.invited_at, u.confirmation_sent_at,
       u.recovery_sent_at, u.email_change, u.email_change_sent_at,
       coalesce(u.banned_until > now(), false) as banned,
       coalesce((select json_agg(json_build_object(
                  'identity_id', i.id, 'id', i.provider_id, 'user_id', i.user_id,
                  'identity_data', i.identity_data, 'provider', i.provider,
                  'last_sign_in_at', i.last_sign_in_at, 'created_at', i.created_at,
                  'updated_at', i.updated_at, 'email', i.email) order by i.created_at)
                   from auth.identities i where i.user_id = u.id), '[]') as identities
  from auth.users u
"""


def user_json(row: dict[str, Any]) -> dict[str, Any]:
    """A user as GoTrue's `models.User` serialises it (its `omitempty` times left out when
    unset: an anonymous user has no `email_confirmed_at`, a user not soft-deleted no
    `deleted_at`)."""
    user = {
        "id": row["id"], "aud": row["aud"] or "", "role": row["role"] or "",
        "email": row["email"] or "", "phone": row["phone"] or "",
        "app_metadata": row["raw_app_meta_data"] or {},
        "user_metadata": row["raw_user_meta_data"] or {},
        "identities": row["identities"], "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]), "is_anonymous": bool(row["is_anonymous"]),
    }
    for optional in ("email_confirmed_at", "invited_at", "confirmation_sent_at",
                     "confirmed_at", "recovery_sent_at", "email_change_sent_at",
                     "last_sign_in_at", "deleted_at"):
        if row.get(optional) is not None:
            user[optional] = _iso(row[optional])
    if row.get("email_change"):
        user["new_email"] = row["email_change"]
    return user


async def _json_body(request: Request) -> dict[str, Any]:
    return json_object(await request.body())


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON")
    return body


def _credentials(body: dict[str, Any]) -> tuple[str, str, str]:
    """The email (lower-cased), phone and password of a sign-up or sign-in, each "" when
    absent; a value that is not a string is 400 `bad_json`, as GoTrue's decoding answers."""
    email, phone, password = body.get("email"), body.get("phone"), body.get("password")
    if not all(isinstance(value, str | None) for value in (email, phone, password)):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON")
    return (email or "").strip().lower(), (phone or "").strip(), password or ""


def check_email(email: str) -> None:
    """`validateEmail` (`mail.go`): 400 `validation_failed`."""
    if len(email) > 255:
        raise AuthError(400, "validation_failed", "An email address is too long")
    if not _EMAIL.fullmatch(email):
        raise AuthError(400, "validation_failed",
                        "Unable to validate email address: invalid format")


def check_password(password: str, config: AuthConfig) -> None:
    """`checkPasswordStrength` (`password.go`) with `[auth] minimum_password_length` and
    `password_requirements`: over 72 bytes is 400 `validation_failed`; too short or
    missing a required kind of character is 422 `weak_password`, every reason given. Go
    counts a string's bytes, so a length is in UTF-8 bytes here too."""
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise AuthError(400, "validation_failed",
                        f"Password cannot be longer than {MAX_PASSWORD_BYTES} characters")
    if weak := weakness(password, config):
        raise AuthError(422, "weak_password", weak["message"],
                        {"weak_password": {"reasons": weak["reasons"]}})


def weakness(password: str, config: AuthConfig) -> dict[str, Any] | None:
    """`checkPasswordStrength`'s `WeakPasswordError` as GoTrue serialises it, `{message,
    reasons}`, or None for a password the rules accept."""
    reasons, messages = [], []
    if len(password.encode()) < config.minimum_password_length:
        reasons.append("length")
        messages.append(
            f"Password should be at least {config.minimum_password_length} characters.")
    required = config.password_required_characters
    if any(not set(password) & set(kind) for kind in required):
        reasons.append("characters")
        messages.append("Password should contain at least one character of each: "
                        + ", ".join(required) + ".")
    return {"message": " ".join(messages), "reasons": reasons} if reasons else None


async def add_email_identity(conn: psycopg.AsyncConnection[Any], user_id: str, email: str,
                              verified: bool) -> None:
    """The `email` provider's identity of a user, as `NewIdentity` makes it."""
    await conn.execute(
        "insert into auth.identities (provider_id, user_id, identity_data, provider,"
        " last_sign_in_at, created_at, updated_at) values (%s, %s, %s, 'email', now(),"
        " now(), now())",
        (user_id, user_id, json.dumps({"sub": user_id, "email": email,
                                       "email_verified": verified, "phone_verified": False})))


async def set_email_identity(conn: psycopg.AsyncConnection[Any], user_id: str, email: str,
                             verified: bool) -> None:
    """A user's email identity given `email`: updated (`UpdateIdentityData`), or made."""
    updated = await conn.execute(
        "update auth.identities set identity_data = identity_data"
        " || jsonb_build_object('email', %s::text, 'email_verified', %s::boolean),"
        " updated_at = now() where user_id = %s and provider = 'email'",
        (email, verified, user_id))
    if updated.rowcount == 0:
        await add_email_identity(conn, user_id, email, verified=verified)


def merged_metadata(current: dict[str, Any] | None, given: dict[str, Any]) -> str:
    """`UpdateUserMetaData`/`UpdateAppMetaData`: top-level keys, a null removing one."""
    merged = {**(current or {}), **given}
    return json.dumps({k: v for k, v in merged.items() if v is not None})


def bearer_token(request: Request) -> str:
    """The `Authorization: Bearer` token (`extractBearerToken`: `^(?:B|b)earer (\\S+$)`),
    else 401."""
    found = _BEARER.fullmatch(request.headers.get("authorization", ""))
    if found is None:
        raise AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token")
    return found.group(1)


def token_claims(keys: ProjectKeys, request: Request) -> dict[str, Any]:
    """The claims of the request's bearer token as `parseJWTClaims` reads them: any token of
    the project's keys; else 403 `bad_jwt` with golang-jwt's reason."""
    try:
        return keys.gotrue_claims(bearer_token(request))
    except GotrueRefusal as refusal:
        raise AuthError(403, "bad_jwt",
                        f"invalid JWT: unable to parse or verify signature, {refusal}") from None


def gofrs_uuid(text: str) -> str | None:
    """gofrs' `uuid.FromString`, which GoTrue reads ids with: the canonical text of a UUID
    in one of the forms it reads, else None."""
    if not _GOFRS_UUID.fullmatch(text):
        return None
    return str(uuid.UUID(text.removeprefix("urn:uuid:").strip("{}")))


def claimed_user_id(claims: dict[str, Any]) -> str:
    """`maybeLoadUserOrSession`'s reading of `sub`: present, and a UUID."""
    subject = claims.get("sub") or ""
    if not subject:
        raise AuthError(403, "bad_jwt", "invalid claim: missing sub claim")
    user_id = gofrs_uuid(subject)
    if user_id is None:
        raise AuthError(400, "bad_jwt", "invalid claim: sub claim must be a UUID")
    return user_id


class GoTrue:
    def __init__(self, pool: AsyncConnectionPool[Any], keys: ProjectKeys, issuer: str,
                 config: AuthConfig) -> None:
        self.pool = pool
        self.keys = keys
        self.issuer = issuer
        self.config = config
        self.mail: GoTrueMail | None = None  # the routes that send mail (gotrue_mail.py)

    def routes(self, extra: Sequence[Route] = ()) -> list[Route]:
        """GoTrue's routes; `extra` (the admin API's) answer its errors as these do."""
        return [
            *(Route(route.path, self._wrap(route.endpoint), methods=list(route.methods or ()))
              for route in extra),
            Route("/signup", self._wrap(self.signup), methods=["POST"]),
            Route("/token", self._wrap(self.token), methods=["POST"]),
            Route("/user", self._wrap(self.user), methods=["GET"]),
            Route("/user", self._wrap(self.update_user), methods=["PUT"]),
            Route("/logout", self._wrap(self.logout), methods=["POST"]),
            Route("/authorize", self._wrap(self.authorize), methods=["GET"]),
            # subtrees whose middleware runs before their routes are matched (chi's `Use`)
            Route("/user/identities{rest:path}", self._wrap(self.identities),
                  methods=cors.METHODS),
            Route("/user/oauth/grants{rest:path}", self._wrap(self.oauth_grants),
                  methods=cors.METHODS),
            *(Route(tree + below, self._wrap(handler), methods=cors.METHODS)
              for tree, handler in (("/oauth", self.oauth_server), ("/sso", self.sso),
                                    ("/passkeys", self.passkeys))
              for below in ("", "/{rest:path}")),
            Route("/reauthenticate", self._wrap(self.reauthenticate), methods=cors.METHODS),
            Route("/verify", self._wrap(self.verify), methods=["GET", "POST"]),
            Route("/.well-known/oauth-authorization-server", self._wrap(self.oauth_server),
                  methods=["GET"]),
            Route("/factors", self._wrap(self.enroll_factor), methods=["POST"]),
            Route("/factors/{factor_id}", self._wrap(self.factor), methods=["DELETE"]),
            Route("/factors/{factor_id}/challenge", self._wrap(self.factor), methods=["POST"]),
            Route("/factors/{factor_id}/verify", self._wrap(self.factor), methods=["POST"]),
            Route("/.well-known/jwks.json", self.jwks, methods=["GET"]),
            Route("/.well-known/openid-configuration", self.openid_configuration,
                  methods=["GET"]),
            Route("/settings", self.settings, methods=["GET"]),
            Route("/health", self.health, methods=["GET"]),
            Route("/{path:path}", self._wrap(self.elsewhere), methods=cors.METHODS),
        ]

    def _wrap(self, handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                response: Response = await handler(request)
            except AuthError as refused:
                return refused.response(request)
            except HookFailed as failed:
                return _hook_response(failed, request)
            except psycopg.DataError as refused:  # a value Postgres cannot hold (a NUL, ...)
                log.warning("auth request refused by the database",
                            extra={"error_type": type(refused).__name__})
                return AuthError(500, "unexpected_failure", "Internal Server Error",
                                 coded=False).response(request)
            if _wants_2024(request):
                response.headers[API_VERSION_HEADER] = API_VERSION
            return response
        return endpoint

    async def elsewhere(self, request: Request) -> Response:
        """Any other path: one GoTrue serves (mail, SMS, OAuth, MFA, admin, ...) is 422
        `not_served_locally`; a method GoTrue does not take on a served path is 405, and an
        unknown path 404, both without JSON, as GoTrue's router answers them."""
        path = request.path_params["path"].strip("/")
        if path.split("/")[0] == "admin":
            require_admin(self.keys, request)  # `requireAdminCredentials` comes first
            if path.startswith("admin/oauth"):
                return await self.oauth_server(request)
        if path in _SERVED or _ADMIN_USER_PATH.fullmatch(path) or _FACTOR_PATH.fullmatch(path) \
                or path in (".well-known/oauth-authorization-server", "verify"):
            return Response(status_code=405)
        if path.split("/")[0] in _GOTRUE_ONLY_TREES:
            raise not_served("/auth/v1/" + path)
        return _not_found()

    async def settings(self, _request: Request) -> Response:
        """`GET /settings` (`settings.go`): the providers, sign-ups and their confirmation
        as the config turns them on for GoTrue, so an app shows the same sign-in choices as
        on `supabase start`. An OAuth provider or passkeys turned on are reported on,
        though signing in with them is 422 `not_served_locally` here; SAML is always off."""
        enabled = dict(self.config.oauth_providers)
        external = {name: name in enabled for name in _OAUTH_PROVIDERS}
        external |= {"anonymous_users": self.config.anonymous_sign_ins,
                     "email": self.config.email_signup, "phone": self.config.phone_signup}
        return JSONResponse({
            "external": external, "disable_signup": not self.config.signup,
            "mailer_autoconfirm": not self.config.email_confirmations,
            "phone_autoconfirm": False, "sms_provider": "", "saml_enabled": False,
            "saml_private_key_next_configured": False,
            "passkeys_enabled": self.config.passkeys})

    async def health(self, _request: Request) -> Response:
        """`GET /health` (`HealthCheck`): up, with GoTrue's name; the version says what
        answers."""
        return JSONResponse({"version": "local stand-in of v2.196", "name": "GoTrue",
                             "description": "GoTrue is a user registration and"
                                            " authentication API"})

    async def jwks(self, _request: Request) -> Response:
        return JSONResponse(self.keys.jwks(), headers={"Cache-Control": "public, max-age=600"})

    async def openid_configuration(self, _request: Request) -> Response:
        """`GET /.well-known/openid-configuration` (`WellKnownOpenID`): the issuer and where
        its keys are, for libraries that find a JWKS by OIDC discovery. Its OAuth server
        endpoints are GoTrue's, named as it names them, and not served here."""
        base = self.issuer.rstrip("/")
        return JSONResponse({
            "issuer": self.issuer,
            "authorization_endpoint": base + "/oauth/authorize",
            "token_endpoint": base + "/oauth/token",
            "jwks_uri": base + "/.well-known/jwks.json",
            "userinfo_endpoint": base + "/oauth/userinfo",
            "scopes_supported": list(_OIDC_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256", "HS256", "ES256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic",
                                                      "client_secret_post", "none"],
            "claims_supported": list(_OIDC_CLAIMS),
            "code_challenge_methods_supported": ["S256", "plain"],
        }, headers={"Cache-Control": "public, max-age=600"})

    # -- sessions ---------------------------------------------------------------------

    async def _session(self, conn: psycopg.AsyncConnection[Any], user_id: str, *,
                       method: str, ip_address: str, session_id: str | None = None,
                       parent: str | None = None, active: str | None = None
                       ) -> dict[str, Any]:
        """A new session (or a refreshed one) for the user: tokens and the user. `active`:
        the session's current refresh token, answered again instead of a new one. `method`
        and `ip_address` are for the custom access token hook, which makes the access
        token's claims when `[auth.hook.custom_access_token]` is on (gotrue_hooks.py)."""
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
            await conn.execute(  # `AddClaimToSession`
                "insert into auth.mfa_amr_claims (id, session_id, created_at, updated_at,"
                " authentication_method) values (gen_random_uuid(), %s, now(), now(), %s)"
                " on conflict on constraint"
                " mfa_amr_claims_session_id_authentication_method_pkey"
                " do update set updated_at = now()", (session_id, method))
        else:
            await conn.execute("update auth.sessions set refreshed_at = now() at time zone"
                               " 'utc', updated_at = now() where id = %s", (session_id,))
        refresh = active
        if refresh is None:  # as GoTrue makes them: 12 random alphanumeric characters
            refresh = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(12))
            await conn.execute(
                "insert into auth.refresh_tokens (instance_id, token, user_id, revoked,"
                " created_at, updated_at, parent, session_id) values"
                " ('00000000-0000-0000-0000-000000000000', %s, %s, false, now(), now(), %s,"
                " %s)", (refresh, user_id, parent, session_id))
        # `CalculateAALAndAMR`: how the session was signed in, the most recent first
        amr = [{"method": str(method), "timestamp": int(at)} for method, at in await (
            await conn.execute(
                "select authentication_method, extract(epoch from updated_at)::bigint"
                " from auth.mfa_amr_claims where session_id = %s"
                " order by updated_at desc", (session_id,))).fetchall()]
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(USER_QUERY + " where u.id = %s", (user_id,))
        user = await cursor.fetchone()
        assert user is not None
        claims = user_claims(user_id, user["email"], ttl_seconds=self.config.jwt_expiry_s,
                             issuer=self.issuer, session_id=session_id,
                             app_metadata=user["raw_app_meta_data"],
                             user_metadata=user["raw_user_meta_data"],
                             anonymous=bool(user["is_anonymous"]), amr=amr)
        signed = claims
        if self.config.custom_access_token_hook:
            signed = await customize_access_token(
                conn, self._hook("custom_access_token", self.config.custom_access_token_hook),
                user_id, claims, method, ip_address)
        return {
            "access_token": self.keys.sign(signed), "token_type": "bearer",
            "expires_in": self.config.jwt_expiry_s, "expires_at": claims["exp"],
            "refresh_token": refresh, "user": user_json(user),
        }

    # -- routes -----------------------------------------------------------------------

    async def signup(self, request: Request) -> Response:
        body = await _json_body(request)
        if body.get("email") in (None, "") and body.get("phone") in (None, ""):
            return JSONResponse(await self._anonymous_signup(body, request))
        if not self.config.signup:
            raise AuthError(422, "signup_disabled", "Signups not allowed for this instance")
        email, phone, password = _credentials(body)
        if not password:
            raise AuthError(400, "validation_failed", "Signup requires a valid password")
        check_password(password, self.config)
        if email and phone:
            raise AuthError(400, "validation_failed", "Only an email address or phone number"
                            " should be provided on signup.")
        if phone:
            if not self.config.phone_signup:
                raise AuthError(400, "phone_provider_disabled", "Phone signups are disabled")
            raise not_served("a phone sign-up (it needs an SMS provider)")
        if not self.config.email_signup:
            raise AuthError(400, "email_provider_disabled", "Email signups are disabled")
        check_email(email)
        if self.config.email_confirmations:  # no session until the mail's link is opened
            if self.mail is None:
                raise not_served("a sign-up that waits for its confirmation mail")
            return await self.mail.sign_up(body, email, password, request)
        options = body.get("data")
        metadata = options if isinstance(options, dict) else {}
        # the user, then its session, each in its own transaction, as `Signup` makes them: a
        # session refused (by the access token hook) leaves the user made
        user_id = str(uuid.uuid4())
        async with self.pool.connection() as conn:
            if self.config.before_user_created_hook:
                if await (await conn.execute(
                        "select 1 from auth.users where email = %s and not is_sso_user",
                        (email,))).fetchone():
                    raise AuthError(422, "user_already_exists", "User already registered")
                await self._before_user_created(conn, user_id, email, metadata, request)
            async with conn.transaction():
                await self._new_user(conn, user_id, email, password, metadata)
            async with conn.transaction():
                session = await self._session(conn, user_id, method="password",
                                              ip_address=_ip_address(request))
        return JSONResponse(session)

    async def _before_user_created(self, conn: psycopg.AsyncConnection[Any], user_id: str,
                                   email: str, metadata: dict[str, Any], request: Request
                                   ) -> None:
        """The before user created hook on the user about to be made, as `ToUserModel`
        shapes it (no role yet, Go's zero times)."""
        zero = "0001-01-01T00:00:00Z"
        user = {"id": user_id, "aud": "authenticated", "role": "", "email": email,
                "phone": "", "app_metadata": {"provider": "email", "providers": ["email"]}
                if email else {}, "user_metadata": metadata, "identities": [],
                "created_at": zero, "updated_at": zero, "is_anonymous": not email}
        await before_user_created(
            conn, self._hook("before_user_created", self.config.before_user_created_hook),
            user, _ip_address(request))

    async def _new_user(self, conn: psycopg.AsyncConnection[Any], user_id: str, email: str,
                        password: str, metadata: dict[str, Any]) -> None:
        """A confirmed email user with its identity (`signupNewUser`)."""
        try:
            await conn.execute(
                "insert into auth.users (instance_id, id, aud, role, email,"
                " encrypted_password, email_confirmed_at, raw_app_meta_data,"
                " raw_user_meta_data, created_at, updated_at, is_sso_user, is_anonymous)"
                " values ('00000000-0000-0000-0000-000000000000', %s,"
                " 'authenticated', 'authenticated', %s,"
                " extensions.crypt(%s, extensions.gen_salt('bf', 10)), now(),"
                " '{\"provider\": \"email\", \"providers\": [\"email\"]}', %s, now(),"
                " now(), false, false)",
                (user_id, email, password, json.dumps(metadata)))
        except psycopg.errors.UniqueViolation:
            raise AuthError(422, "user_already_exists", "User already registered") from None
        await add_email_identity(conn, user_id, email, verified=False)

    async def _anonymous_signup(self, body: dict[str, Any], request: Request
                                ) -> dict[str, Any]:
        """A sign-up with neither an email nor a phone (`signInAnonymously`): refused unless
        `[auth] enable_anonymous_sign_ins`; else a user without email, password, provider or
        identity, flagged `is_anonymous`, and its session (`anonymous.go`), in one
        transaction (after the before user created hook, which may refuse it): a session the
        access token hook refuses leaves no user, and is 500 "Database error creating
        anonymous user", whatever the hook said."""
        if not self.config.anonymous_sign_ins:
            raise AuthError(422, "anonymous_provider_disabled", "Anonymous sign-ins are disabled")
        if not self.config.signup:
            raise AuthError(422, "signup_disabled", "Signups not allowed for this instance")
        options = body.get("data")
        metadata = options if isinstance(options, dict) else {}
        user_id = str(uuid.uuid4())
        async with self.pool.connection() as conn:
            if self.config.before_user_created_hook:
                await self._before_user_created(conn, user_id, "", metadata, request)
            async with conn.transaction():
                await conn.execute(
                    "insert into auth.users (instance_id, id, aud, role, encrypted_password,"
                    " raw_app_meta_data, raw_user_meta_data, created_at, updated_at,"
                    " is_sso_user, is_anonymous) values"
                    " ('00000000-0000-0000-0000-000000000000', %s, 'authenticated',"
                    " 'authenticated', '', '{}', %s, now(), now(), false, true)",
                    (user_id, json.dumps(metadata)))
                try:
                    return await self._session(conn, user_id, method="anonymous",
                                               ip_address=_ip_address(request))
                except HookFailed:
                    raise HookFailed(500, "Database error creating anonymous user",
                                     "unexpected_failure") from None

    async def token(self, request: Request) -> Response:
        grant = request.query_params.get("grant_type")
        body = await _json_body(request)
        if grant == "password":
            return JSONResponse(await self._password_grant(body, _ip_address(request)))
        if grant == "refresh_token":
            return JSONResponse(await self._refresh_grant(body, _ip_address(request)))
        if grant == "pkce":
            return JSONResponse(await self._pkce_grant(body, _ip_address(request)))
        if grant in ("id_token", "web3"):
            raise not_served(f"the {grant} grant")
        raise AuthError(400, "invalid_credentials", "unsupported_grant_type")

    async def _pkce_grant(self, body: dict[str, Any], ip_address: str) -> dict[str, Any]:
        """`PKCE` (`token.go`, supabase-js's `exchangeCodeForSession`): the code a PKCE link
        issued, and the verifier of its flow's challenge, for the user's session (its `amr`
        the flow's method); the flow state goes, so a code is exchanged once."""
        code, verifier = body.get("auth_code"), body.get("code_verifier")
        if not isinstance(code, str | None) or not isinstance(verifier, str | None):
            raise AuthError(400, "bad_json", "Could not parse request body as JSON")
        if not code or not verifier:
            raise AuthError(400, "validation_failed", "invalid request: both auth code and"
                            " code verifier should be non-empty")
        async with self.pool.connection() as conn, conn.transaction():
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                "select id, user_id::text, code_challenge, code_challenge_method::text,"
                " authentication_method, coalesce(case when authentication_method ="
                " 'magiclink' then auth_code_issued_at end, created_at)"
                " + make_interval(secs => %s) < now() as expired"
                " from auth.flow_state where auth_code = %s for update",
                (FLOW_STATE_EXPIRY_S, code))
            flow = await cursor.fetchone()
            if flow is None or flow["user_id"] is None:
                raise AuthError(404, "flow_state_not_found",
                                "invalid flow state, no valid flow state found")
            if flow["expired"]:
                raise AuthError(422, "flow_state_expired",
                                "invalid flow state, flow state has expired")
            if not gotrue_links.pkce_verified(flow["code_challenge"] or "",
                                              flow["code_challenge_method"] or "", verifier):
                message = ("code challenge method not supported"
                           if flow["code_challenge_method"] not in ("s256", "plain")
                           else "code challenge does not match previously saved code verifier")
                raise AuthError(400, "bad_code_verifier", message)
            session = await self._session(conn, flow["user_id"],
                                          method=flow["authentication_method"],
                                          ip_address=ip_address)
            await conn.execute("delete from auth.flow_state where id = %s", (flow["id"],))
        return session

    async def _password_grant(self, body: dict[str, Any], ip_address: str) -> dict[str, Any]:
        email, phone, password = _credentials(body)
        if email and phone:
            raise AuthError(400, "validation_failed", "Only an email address or phone number"
                            " should be provided on login.")
        if phone:
            if not self.config.phone_signup:  # GoTrue's one switch for the phone provider
                raise AuthError(422, "phone_provider_disabled", "Phone logins are disabled")
            raise not_served("a phone sign-in (phone users need an SMS provider)")
        if not email:
            raise AuthError(400, "validation_failed", "missing email or phone")
        if not self.config.email_signup:  # GoTrue's one switch for the email provider
            raise AuthError(422, "email_provider_disabled", "Email logins are disabled")
        async with self.pool.connection() as conn:
            # GoTrue's order: no such user or no password, then banned (whatever the
            # password), then the password verification hook, then a wrong password, then
            # an unconfirmed email; the session in a transaction of its own
            cursor = await conn.execute(
                "select id::text, coalesce(encrypted_password, '') <> '',"
                " coalesce(banned_until > now(), false),"
                " encrypted_password = extensions.crypt(%s, encrypted_password),"
                " email_confirmed_at is null"
                " from auth.users"
                " where lower(email) = %s and deleted_at is null and not is_sso_user",
                (password, email))
            row = await cursor.fetchone()
            if row is None or not row[1]:
                raise AuthError(400, "invalid_credentials", "Invalid login credentials")
            user_id, _, banned, valid, unconfirmed = row
            if banned:
                raise AuthError(400, "user_banned", "User is banned")
            if self.config.password_verification_hook:
                rejected = await verify_password_attempt(
                    conn, self._hook("password_verification_attempt",
                                     self.config.password_verification_hook),
                    user_id, valid, ip_address)
                if rejected is not None:
                    message, logout = rejected
                    if logout:
                        await conn.execute("delete from auth.sessions where user_id = %s",
                                           (user_id,))
                    raise AuthError(400, "invalid_credentials", message)
            if not valid:
                raise AuthError(400, "invalid_credentials", "Invalid login credentials")
            if unconfirmed:  # made by the admin API without `email_confirm`
                raise AuthError(400, "email_not_confirmed", "Email not confirmed")
            async with conn.transaction():
                session = await self._session(conn, user_id, method="password",
                                              ip_address=ip_address)
        # a password the rules no longer accept (made by the admin API, which checks none,
        # or before they were tightened) signs in, and says so (supabase-js: `weakPassword`)
        if weak := weakness(password, self.config):
            session["weak_password"] = weak
        return session

    async def _refresh_grant(self, body: dict[str, Any], ip_address: str) -> dict[str, Any]:
        """`RefreshTokenGrant` (`tokens/service.go`), with `[auth]
        enable_refresh_token_rotation` and `refresh_token_reuse_interval` of
        supabase/config.toml (the CLI's defaults: on, 10 s), and `[auth.sessions] timebox`
        and `inactivity_timeout` (none by default): a session past either is 400
        `session_expired`. A token is swapped for a new
        one once; presented again, it answers the session's current token if that is its
        child (a client that lost the answer, or tabs refreshing at once), a new one within
        the interval, and after it 400 `refresh_token_already_used`, ending the session's
        tokens."""
        token = body.get("refresh_token")
        if not isinstance(token, str) or not token:
            raise AuthError(400, "validation_failed", "Refresh Token is not provided")
        refused: AuthError | None = None
        async with self.pool.connection() as conn, conn.transaction():
            cursor = await conn.execute(
                "select rt.user_id, rt.session_id::text, coalesce(u.banned_until > now(), false)"
                " from auth.refresh_tokens rt join auth.users u on u.id = rt.user_id::uuid"
                " where rt.token = %s", (token,))
            found = await cursor.fetchone()
            if found is None:
                raise AuthError(400, "refresh_token_not_found",
                                "Invalid Refresh Token: Refresh Token Not Found")
            user_id, session_id, banned = found
            if banned:
                raise AuthError(400, "user_banned", "Invalid Refresh Token: User Banned")
            # one refresh of a session at a time; the token read again, in a statement of its
            # own (a snapshot taken after the lock), once the session is locked
            state = None
            if session_id is not None and await (await conn.execute(
                    "select 1 from auth.sessions where id = %s for update",
                    (session_id,))).fetchone() is not None:
                # `CheckValidity`: past its `not_after`, or `[auth.sessions] timebox` from its
                # start, or `inactivity_timeout` from its last refresh (`LastRefreshedAt`)
                state = await (await conn.execute(
                    "select rt.revoked,"
                    " rt.updated_at > now() - make_interval(secs => %(reuse)s),"
                    " coalesce(now() > s.not_after, false) or %(timebox)s > 0"
                    "   and now() > s.created_at + make_interval(secs => %(timebox)s),"
                    " %(inactivity)s > 0 and now() > coalesce("
                    "   s.refreshed_at at time zone 'utc', greatest(s.created_at, rt.updated_at))"
                    "   + make_interval(secs => %(inactivity)s)"
                    " from auth.refresh_tokens rt join auth.sessions s on s.id = rt.session_id"
                    " where rt.token = %(token)s",
                    {"reuse": self.config.refresh_token_reuse_interval_s,
                     "timebox": self.config.session_timebox_s,
                     "inactivity": self.config.session_inactivity_timeout_s,
                     "token": token})).fetchone()
            if state is None:
                raise AuthError(400, "session_not_found",
                                "Invalid Refresh Token: No Valid Session Found")
            revoked, within_interval, past_timebox, inactive = state
            if past_timebox:
                raise AuthError(400, "session_expired", "Invalid Refresh Token: Session Expired")
            if inactive:
                raise AuthError(400, "session_expired",
                                "Invalid Refresh Token: Session Expired (Inactivity)")
            if revoked:
                current = await (await conn.execute(
                    "select token, parent from auth.refresh_tokens where session_id = %s"
                    " and not revoked order by id desc limit 1", (session_id,))).fetchone()
                if current is not None and current[1] == token:
                    return await self._session(conn, user_id, method="token_refresh",
                                               ip_address=ip_address, session_id=session_id,
                                               active=current[0])
                if not within_interval:
                    if self.config.refresh_token_rotation:
                        await conn.execute(
                            "update auth.refresh_tokens set revoked = true, updated_at = now()"
                            " where session_id = %s and not revoked", (session_id,))
                    refused = AuthError(400, "refresh_token_already_used",
                                        "Invalid Refresh Token: Already Used")
            if refused is None:
                await conn.execute("update auth.refresh_tokens set revoked = true,"
                                   " updated_at = now() where token = %s", (token,))
                return await self._session(conn, user_id, method="token_refresh",
                                           ip_address=ip_address, session_id=session_id,
                                           parent=token)
        raise refused  # after the commit: the session's tokens stay revoked

    def _hook(self, name: str, uri: str) -> Hook:
        """The hook `[auth.hook.<name>]` configures, its secrets with it."""
        return Hook(uri, dict(self.config.hook_secrets).get(name, ()))

    async def _user_row(self, conn: psycopg.AsyncConnection[Any], user_id: Any,
                        lock: bool = False) -> dict[str, Any]:
        cursor = conn.cursor(row_factory=dict_row)
        # `FindUserByID`: a soft-deleted user too (whose sessions are gone)
        await cursor.execute(USER_QUERY + " where u.id = %s"
                             + (" for update of u" if lock else ""), (str(user_id),))
        row = await cursor.fetchone()
        if row is None:
            raise AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
        return row

    async def _signed_in(self, conn: psycopg.AsyncConnection[Any], claims: dict[str, Any],
                         lock: bool = False) -> dict[str, Any]:
        """The user of a verified token, as `maybeLoadUserOrSession` and
        `requireAuthentication` (`auth.go`) load it: a user deleted since is 403
        `user_not_found`, a session ended since (signed out, or by a new password) 403
        `session_not_found`, a banned user 403 `user_banned`."""
        user = await self._user_row(conn, claimed_user_id(claims), lock)
        session = str(claims.get("session_id") or "")
        if session and session != _NIL_UUID:
            session_id = gofrs_uuid(session)
            if session_id is None:
                raise AuthError(403, "bad_jwt",
                                "invalid claim: session_id claim must be a UUID")
            found = await conn.execute("select 1 from auth.sessions where id = %s",
                                       (session_id,))
            if await found.fetchone() is None:
                raise AuthError(403, "session_not_found",
                                "Session from session_id claim in JWT does not exist")
        if user["banned"]:
            raise AuthError(403, "user_banned", "User is banned")
        return user

    async def user(self, request: Request) -> Response:
        claims = token_claims(self.keys, request)
        async with self.pool.connection() as conn:
            return JSONResponse(user_json(await self._signed_in(conn, claims)))

    async def update_user(self, request: Request) -> Response:
        """`PUT /user` (`UserUpdate`, supabase-js's `updateUser`), with `supabase start`'s
        settings (email confirmations off, no current password asked):

        * `data` merges into `user_metadata` (a `null` value removes its key);
        * `password`: the strength rules of sign-up, 422 `same_password` when it is the
          current one; the user's other sessions end (this one stays). With `[auth.email]
          secure_password_change`, a session signed in more than 24 h ago needs the `nonce`
          `/reauthenticate` mails (gotrue_mail.py): none is 400
          `reauthentication_needed`, a wrong or expired one 422 `reauthentication_not_valid`;
        * `email` of an anonymous user: set and confirmed at once, with an email identity,
          and the user is anonymous no more (then `password` may follow); a password for an
          anonymous user without an email is 422 `validation_failed`; an address another
          user has is 422 `email_exists`;
        * `app_metadata` is 403 `not_admin`.

        Not served here (422 `not_served_locally`, nothing changed): a permanent user's new
        email, which GoTrue confirms by mail, and a phone, which needs an SMS provider."""
        claims = token_claims(self.keys, request)
        raw = await request.body()  # read before the user's row is locked
        async with self.pool.connection() as conn, conn.transaction():
            user = await self._signed_in(conn, claims, lock=True)
            body = json_object(raw)
            email, password, data, phone, nonce = (
                body.get("email"), body.get("password"), body.get("data"), body.get("phone"),
                body.get("nonce"))
            if not (isinstance(email, str | None) and isinstance(password, str | None)
                    and isinstance(data, dict | None) and isinstance(phone, str | None)
                    and isinstance(body.get("app_metadata"), dict | None)
                    and isinstance(nonce, str | None)):
                raise AuthError(400, "bad_json", "Could not parse request body as JSON")
            email = email.strip().lower() if email else ""
            if email:
                check_email(email)
            if phone:
                raise not_served("a phone number (it needs an SMS provider)")
            if password is not None:
                check_password(password, self.config)
            if body.get("app_metadata") is not None:
                raise AuthError(403, "not_admin",
                                "Updating app_metadata requires admin privileges")
            changes_email = bool(email) and email != (user["email"] or "")
            if user["is_anonymous"] and password and not email:
                raise AuthError(422, "validation_failed", "Updating password of an anonymous"
                                " user without an email or phone is not allowed")
            if password is not None and self.config.secure_password_change:
                await self._check_reauthentication(conn, user, claims, nonce or "")
            if changes_email and not user["is_anonymous"]:
                if self.mail is None:
                    raise not_served("an email change (GoTrue confirms it by mail)")
                if await (await conn.execute(  # `IsDuplicatedEmail`
                        "select 1 from auth.users where lower(email) = %s and aud = %s"
                        " and not is_sso_user and id <> %s",
                        (email, user["aud"], user["id"]))).fetchone():
                    raise AuthError(422, "email_exists", DUPLICATE_EMAIL)
            if password is not None:
                await self._set_password(conn, user["id"], password, claims.get("session_id"))
                if self.mail is not None:  # `[auth.email.notification.password_changed]`
                    await self.mail.notify("password_changed", user)
            if data is not None:
                await conn.execute(
                    "update auth.users set raw_user_meta_data = %s, updated_at = now()"
                    " where id = %s", (merged_metadata(user["raw_user_meta_data"], data),
                                       user["id"]))
            if changes_email and user["is_anonymous"]:
                await self._confirm_email_change(  # GoTrue's autoconfirm of an anonymous one
                    conn, user["id"], email, AuthError(422, "email_exists", DUPLICATE_EMAIL))
            elif changes_email:  # confirmed by the links mailed (gotrue_mail.py)
                assert self.mail is not None
                await self.mail.email_change(conn, user, email, body, request)
            return JSONResponse(user_json(await self._user_row(conn, user["id"])))

    async def _check_reauthentication(self, conn: psycopg.AsyncConnection[Any],
                                      user: dict[str, Any], claims: dict[str, Any],
                                      nonce: str) -> None:
        """`UserUpdate`'s check of a new password under `UpdatePasswordRequireReauthentication`:
        a session signed in within 24 h needs nothing more; else the nonce must match the
        user's reauthentication token (`verifyReauthentication`: SHA-224 of the email and
        the nonce, within `[auth.email] otp_expiry` of its sending)."""
        session = str(claims.get("session_id") or "")
        if session and session != _NIL_UUID:  # `_signed_in` found it
            cursor = await conn.execute(
                "select created_at > now() - interval '24 hours' from auth.sessions"
                " where id = %s", (gofrs_uuid(session),))
            recent = await cursor.fetchone()
            if recent is not None and recent[0]:
                return
        if not nonce:
            raise AuthError(400, "reauthentication_needed",
                            "Password update requires reauthentication")
        cursor = await conn.execute(
            "select reauthentication_token, reauthentication_sent_at"
            " + make_interval(secs => %s) > now() from auth.users where id = %s",
            (self.config.email_otp_expiry_s, user["id"]))
        token, in_time = await cursor.fetchone() or ("", None)
        invalid = AuthError(422, "reauthentication_not_valid", "Nonce has expired or is invalid")
        if not token or in_time is None:  # none sent by `/reauthenticate`
            raise invalid
        if not user["email"]:  # nor is a phone
            raise AuthError(422, "reauthentication_not_valid",
                            "Reauthentication requires an email or a phone number")
        hashed = gotrue_links.token_hash(user["email"], nonce)
        if not in_time or token not in (hashed, "pkce_" + hashed):
            raise invalid

    async def _set_password(self, conn: psycopg.AsyncConnection[Any], user_id: str,
                            password: str, session_id: Any) -> None:
        """`SetPassword` and `UpdatePassword`: the new bcrypt hash, the pending tokens
        cleared, every other session of the user ended."""
        cursor = await conn.execute(
            "select encrypted_password <> '' and encrypted_password"
            " = extensions.crypt(%s, encrypted_password) from auth.users where id = %s",
            (password, user_id))
        same = await cursor.fetchone()
        if same is not None and same[0]:
            raise AuthError(422, "same_password",
                            "New password should be different from the old password.")
        await conn.execute(
            "update auth.users set encrypted_password = extensions.crypt(%s,"
            " extensions.gen_salt('bf', 10)), confirmation_token = '',"
            " confirmation_sent_at = null, recovery_token = '', recovery_sent_at = null,"
            " email_change_token_current = '', email_change_token_new = '',"
            " email_change_sent_at = null, phone_change_token = '',"
            " phone_change_sent_at = null, reauthentication_token = '',"
            " reauthentication_sent_at = null, updated_at = now() where id = %s",
            (password, user_id))
        await conn.execute("delete from auth.sessions where user_id = %s"
                           " and id::text is distinct from %s",
                           (user_id, None if session_id is None else str(session_id)))

    @staticmethod
    async def _confirm_email_change(conn: psycopg.AsyncConnection[Any], user_id: str,
                                    email: str, taken: AuthError) -> None:
        """`emailChangeVerify`'s end (`ConfirmEmailChange`, and `Confirm` if need be): the
        address set and confirmed, the pending change and its tokens cleared, an email
        identity made (or its address updated), and the user no longer anonymous. An
        address another user has by now (the unique index decides) is `taken`."""
        try:
            await conn.execute(
                "update auth.users set email = %s, email_change = '',"
                " email_change_token_current = '', email_change_token_new = '',"
                " email_change_confirm_status = 0, is_anonymous = false,"
                " email_confirmed_at = coalesce(email_confirmed_at, now()),"
                " updated_at = now() where id = %s", (email, user_id))
        except psycopg.errors.UniqueViolation:
            raise taken from None
        await set_email_identity(conn, user_id, email, verified=True)

    async def _signed_in_user(self, request: Request) -> dict[str, Any]:
        """The claims of a request by a signed-in permanent user: `requireAuthentication`,
        then `requireNotAnonymous` (403 `no_authorization`)."""
        claims = await self._authenticated(request)
        if claims.get("is_anonymous") is True:
            raise AuthError(403, "no_authorization",
                            "Anonymous user not allowed to perform these actions")
        return claims

    async def authorize(self, request: Request) -> Response:
        """`GET /authorize?provider=` (`ExternalProviderRedirect`, where supabase-js's
        `signInWithOAuth` sends the browser): `API.Provider`'s refusal as GoTrue words it,
        400 `validation_failed` "Unsupported provider: " and why (no such provider, or
        `[auth.external.<provider>]` off, as in the CLI's template, or without a secret);
        a provider turned on with what it needs is 422 `not_served_locally`, as no OAuth
        provider is called from here."""
        name = request.query_params.get("provider", "").lower()
        has_secret = dict(self.config.oauth_providers)
        if name.startswith("custom:"):
            reason = "custom OAuth providers are disabled"
        elif name not in _SIGN_IN_PROVIDERS:
            reason = f"Provider {name} could not be found"
        elif name not in has_secret:
            reason = "provider is not enabled"
        elif not has_secret[name]:
            reason = "missing OAuth secret"
        else:
            raise not_served(f"signing in with {name} (an OAuth provider)")
        raise AuthError(400, "validation_failed", f"Unsupported provider: {reason}")

    async def sso(self, request: Request) -> Response:
        """`/sso/...` (supabase-js's `signInWithSSO`, SAML's metadata and assertions):
        behind `requireSAMLEnabled`, which `supabase start` leaves off (the CLI has no SAML
        setting): 404 `saml_provider_disabled` whatever the path and method."""
        raise AuthError(404, "saml_provider_disabled", "SAML 2.0 is disabled")

    async def passkeys(self, request: Request) -> Response:
        """`/passkeys/...` (supabase-js's passkey sign-in and registration): behind
        `requirePasskeyEnabled`, off unless `[auth.passkey] enabled`: 404
        `passkey_disabled` whatever the path and method; on, not served here."""
        if not self.config.passkeys:
            raise AuthError(404, "passkey_disabled", "Passkeys are disabled")
        raise not_served("passkeys (`[auth.passkey] enabled`)")

    async def reauthenticate(self, request: Request) -> Response:
        """`/reauthenticate` in another method than `GET` (which gotrue_mail.py serves):
        405, after the token's check (`requireAuthentication`), as GoTrue's router
        answers it."""
        await self._authenticated(request)
        return Response(status_code=405)

    async def verify(self, request: Request) -> Response:
        """`POST /verify` (`Verify`, supabase-js's `verifyOtp`) as GoTrue checks it
        (`VerifyParams.Validate`, then `verifyTokenHash` or `verifyUserAndToken`), for the
        codes and hashes `auth.admin.generateLink` makes (gotrue_admin.py): a `signup` or
        `invite` confirms the user (an invited one without a password gets a random one), a
        `magiclink` or `recovery` spends the token (and confirms an unconfirmed user),
        `email` is whichever of the two the token is; then a session, as a sign-in's, whose
        token's `amr` says `otp`. A token signs in once, also when requests race with it
        (GoTrue reads and clears it without a lock, so two racing requests may both pass).
        A token not found, spent, or older than `[auth.email] otp_expiry` is 403
        `otp_expired`. An email change's or a phone's token, which only
        another GoTrue on this database can have kept, is 422 `not_served_locally`. `GET`
        is the link itself (`_verify_link`)."""
        if request.method == "GET":
            return await self._verify_link(request)
        body = await _json_body(request)
        fields = {key: body.get(key) for key in ("type", "token", "token_hash", "email",
                                                 "phone", "redirect_to")}
        if not all(isinstance(value, str | None) for value in fields.values()):
            raise AuthError(400, "bad_json", "Could not parse request body as JSON")
        kind, token, token_hash, email, phone, redirect_to = (
            str(value or "") for value in fields.values())
        if not kind:
            raise AuthError(400, "validation_failed", "Verify requires a verification type")
        if bool(token) == bool(token_hash):
            raise AuthError(400, "validation_failed",
                            "Verify requires either a token or a token hash")
        if token_hash:
            if email or phone or redirect_to:
                raise AuthError(400, "validation_failed",
                                "Only the token_hash and type should be provided")
            if kind not in _TOKEN_COLUMNS:
                raise AuthError(400, "validation_failed", "Invalid email verification type")
            user_id, kind = await self._verify_token_hash(kind, token_hash)
            hashed = token_hash
        elif phone and not email:
            phone = phone.removeprefix("+").replace(" ", "")  # `formatPhoneNumber`
            if not _E164.fullmatch(phone):
                raise AuthError(400, "validation_failed",
                                "Invalid phone number format (E.164 required)")
            column, token_column = _PHONE_TOKEN_COLUMNS.get(kind, ("email", ""))
            await self._verify_token(kind, column, phone, (token_column,) if token_column else (),
                                     gotrue_links.token_hash(phone, token),
                                     request)
            raise not_served("verifying a token another Supabase Auth sent")
        elif email and not phone:
            try:
                check_email(email)
            except AuthError:
                raise AuthError(422, "validation_failed", "Invalid email format") from None
            email = email.lower()
            hashed = gotrue_links.token_hash(email, token)
            if kind == "email_change":
                user_id = await self._verify_email_change_token(email, hashed, request)
            else:
                user_id, kind = await self._verify_token(
                    kind, "email", email, _TOKEN_COLUMNS.get(kind, ()), hashed, request)
        else:
            raise AuthError(400, "validation_failed",
                            "Only an email address or phone number should be provided on verify")
        spent = AuthError(403, "otp_expired", "Email link is invalid or has expired"
                          if token_hash else "Token has expired or is invalid")
        signed_in = await self._sign_in_by_token(user_id, kind, spent, request, token=hashed)
        if "access_token" not in signed_in:  # one of an email change's two confirmations
            return JSONResponse({"msg": SINGLE_CONFIRMATION, "code": "200"})
        return JSONResponse(signed_in)

    async def _verify_link(self, request: Request) -> Response:
        """`GET /verify` (`verifyGet`), the link a mail carries (`action_link`): its token
        is a hash (`verifyTokenHash`), spent as by `POST`; then a 303 to the referrer
        (`redirect_to`, if `IsRedirectURLValid`, else the site URL) with the session in the
        fragment (`AsRedirectURL`: `access_token`, `expires_at`, `expires_in`,
        `refresh_token`, `sb`, `token_type`, `type`), as supabase-js's `detectSessionInUrl`
        reads it. A token refused there is a 303 too, the error in the fragment
        (`prepErrorRedirectURL`: `error`, `error_code`, `error_description`, `sb`); a
        missing type or token is 400 JSON. A PKCE link's (`pkce_...`) redirect carries the
        code of the user's flow state in its query instead (`issueAuthCode`,
        `prepPKCERedirectURL`), and a refusal in the query too; no flow state is 400
        `flow_state_not_found`, and the link stays unspent."""
        kind = request.query_params.get("type") or ""
        token = request.query_params.get("token") or ""
        if not kind:
            raise AuthError(400, "validation_failed", "Verify requires a verification type")
        if not token:
            raise AuthError(400, "validation_failed", "Verify requires a token or a token hash")
        pkce = token.startswith("pkce_")
        redirect_to = gotrue_links.referrer(request, self.config)
        try:
            if kind not in _TOKEN_COLUMNS:
                raise AuthError(400, "validation_failed", "Invalid email verification type")
            user_id, kind = await self._verify_token_hash(kind, token)
            spent = AuthError(403, "otp_expired", "Email link is invalid or has expired")
            session = await self._sign_in_by_token(
                user_id, kind, spent, request, token=token,
                flow_method=_FLOW_METHODS[kind] if pkce else None)
        except AuthError as refused:
            return _see_other(_error_redirect(redirect_to, refused, pkce))
        if "code" in session:  # a PKCE link: the code for the exchange (`issueAuthCode`)
            return _see_other(_with_query(redirect_to, {"code": session["code"]}))
        if "access_token" not in session:  # one of an email change's two confirmations
            return _see_other(_message_redirect(redirect_to, SINGLE_CONFIRMATION, pkce))
        fragment = urlencode(sorted({
            "access_token": session["access_token"], "expires_at": str(session["expires_at"]),
            "expires_in": str(session["expires_in"]), "refresh_token": session["refresh_token"],
            "sb": "", "token_type": session["token_type"], "type": kind}.items()))
        return _see_other(f"{redirect_to}#{fragment}")

    async def _sign_in_by_token(self, user_id: str, kind: str, spent: AuthError,
                                request: Request, token: str = "",
                                flow_method: str | None = None) -> dict[str, Any]:
        """What a verified token does (`signupVerify`, `recoverVerify`, `emailChangeVerify`
        of `token`), then the session; `spent`: the refusal when another request spent the
        token first. `flow_method`: a PKCE link's, whose flow state's code is issued instead
        (`{"code": ...}`), all in one transaction (no flow state: the token stays unspent).
        The first of an email change's two confirmations answers `{}`."""
        if kind == "email_change":
            return await self._change_email_by_token(user_id, token, spent, request,
                                                     flow_method)
        if kind not in ("signup", "invite", "magiclink", "recovery"):
            raise not_served("verifying a token another Supabase Auth sent")
        # spent at most once, also by requests racing with the same code: the token is
        # cleared only where it is still there
        async with self.pool.connection() as conn, conn.transaction():
            if kind in ("signup", "invite"):  # `signupVerify`
                await conn.execute(
                    "update auth.users set encrypted_password = extensions.crypt(%s,"
                    " extensions.gen_salt('bf', 10)) where id = %s and invited_at is not null"
                    " and coalesce(encrypted_password, '') = ''",
                    (secrets.token_urlsafe(48), user_id))
                if not await self._confirm(conn, user_id, spending=True):
                    raise spent
                await conn.execute(
                    "update auth.identities i set identity_data = i.identity_data"
                    " || '{\"email_verified\": true}', updated_at = now() from auth.users u"
                    " where u.id = i.user_id and i.user_id = %s and i.email <> ''"
                    " and i.email = u.email", (user_id,))
            else:  # `recoverVerify`
                unconfirmed = await (await conn.execute(
                    "update auth.users set recovery_token = '' where id = %s"
                    " and recovery_token <> '' returning email_confirmed_at is null",
                    (user_id,))).fetchone()
                if unconfirmed is None:
                    raise spent
                if unconfirmed[0]:
                    await self._confirm(conn, user_id)
            if flow_method is not None:
                return {"code": await _issue_auth_code(conn, user_id, flow_method)}
            session = await self._session(conn, user_id, method="otp",
                                          ip_address=_ip_address(request))
        return session

    async def _change_email_by_token(self, user_id: str, token: str, spent: AuthError,
                                     request: Request, flow_method: str | None
                                     ) -> dict[str, Any]:
        """`emailChangeVerify`: with confirmations on and `double_confirm_changes`, the
        first of the two tokens (to the current and the new address) is spent alone and
        answers `{}`; else, or with the second, the new address is the user's (confirmed,
        its email identity updated), and the session (or a PKCE link's code) follows. A
        token already spent, by this or a racing request, is `spent`."""
        async with self.pool.connection() as conn, conn.transaction():
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                "select email, email_change, email_change_confirm_status as status,"
                " email_change_token_current = %(t)s as current,"
                " email_change_token_new = %(t)s as new from auth.users where id = %(id)s"
                " and coalesce(email_change, '') <> '' and %(t)s <> '' and %(t)s in"
                " (email_change_token_current, email_change_token_new) for update",
                {"id": user_id, "t": token})
            user = await cursor.fetchone()
            if user is None:
                raise spent
            if self.config.email_confirmations and self.config.secure_email_change \
                    and user["status"] == 0 and user["email"]:
                column = "email_change_token_current" if user["current"] \
                    else "email_change_token_new"
                await conn.execute(f"update auth.users set email_change_confirm_status = 1,"
                                   f" {column} = '' where id = %s", (user_id,))
                return {}
            await self._confirm_email_change(
                conn, user_id, user["email_change"],
                AuthError(500, "unexpected_failure", "Error confirm email"))
            if flow_method is not None:
                signed_in = {"code": await _issue_auth_code(conn, user_id, flow_method)}
            else:
                signed_in = await self._session(conn, user_id, method="otp",
                                                ip_address=_ip_address(request))
        if self.mail is not None and user["email"]:  # to the old address, after the change
            changed = await self._user_row_now(user_id)
            await self.mail.notify("email_changed", changed, to=user["email"],
                                   extra={"OldEmail": user["email"]})
        return signed_in

    async def _user_row_now(self, user_id: str) -> dict[str, Any]:
        async with self.pool.connection() as conn:
            return await self._user_row(conn, user_id)

    async def _verify_email_change_token(self, email: str, hashed: str, request: Request
                                         ) -> str:
        """`FindUserForEmailChange`: the user whose current address is `email` with that
        current-address token (with `double_confirm_changes`), else whose new address is
        `email` with that new-address token; then `isOtpValid` within `otp_expiry`. Else
        403 `otp_expired`."""
        audience = request.headers.get("x-jwt-aud") or _JWT_AUD
        tokens = "(%(h)s::text, 'pkce_' || %(h)s::text)"
        current = (f"(lower(u.email) = %(e)s and u.email_change_token_current in {tokens}) or "
                   if self.config.secure_email_change else "")
        async with self.pool.connection() as conn:
            found = await (await conn.execute(
                "select u.id::text, coalesce(u.banned_until > now(), false),"
                f" {self._fresh('email_change_token_new')} from auth.users u"
                f" where u.aud = %(aud)s and not u.is_sso_user and ({current}"
                f"(lower(u.email_change) = %(e)s and u.email_change_token_new in {tokens}))"
                " order by (lower(u.email) = %(e)s) desc limit 1",
                {"e": email, "h": hashed, "aud": audience})).fetchone()
        if found is None or not found[2]:
            raise AuthError(403, "otp_expired", "Token has expired or is invalid")
        if found[1]:
            raise AuthError(403, "user_banned", "User is banned")
        return str(found[0])

    @staticmethod
    async def _confirm(conn: psycopg.AsyncConnection[Any], user_id: str,
                       spending: bool = False) -> bool:
        """`User.Confirm`: the confirmation token spent, the email confirmed now, and
        `email_verified` in the user's metadata. `spending`: only while the token is
        still there; whether it was."""
        cursor = await conn.execute(
            "update auth.users set confirmation_token = '', email_confirmed_at = now(),"
            " raw_user_meta_data = coalesce(raw_user_meta_data, '{}')"
            " || '{\"email_verified\": true}' where id = %s"
            + (" and confirmation_token <> ''" if spending else ""), (user_id,))
        return cursor.rowcount > 0

    def _fresh(self, column: str) -> str:
        """SQL: the token in `column` was made within `[auth.email] otp_expiry`."""
        sent_at = _SENT_AT[column]
        return (f"coalesce(u.{sent_at} + make_interval(secs => {self.config.email_otp_expiry_s})"
                " >= now(), false)")

    async def _verify_token_hash(self, kind: str, token_hash: str) -> tuple[str, str]:
        """`verifyTokenHash`: the user whose token of this type the hash is, else 403; a
        token past its expiry is 403 too. The user's id, and the type (`email`: `signup`
        for a confirmation token, `magiclink` for a recovery one)."""
        columns = _TOKEN_COLUMNS[kind]
        condition = " or ".join(f"u.{column} = %(hash)s" for column in columns)
        fresh = ", ".join(self._fresh(column) for column in columns)
        try:
            async with self.pool.connection() as conn:
                cursor = await conn.execute(
                    f"select u.id::text, u.banned_until > now(), u.recovery_token = %(hash)s,"
                    f" {fresh} from auth.users u where ({condition}) and not u.is_sso_user",
                    {"hash": token_hash})
                found = await cursor.fetchone()
        except psycopg.DataError:  # a hash Postgres cannot compare (a NUL in it)
            raise AuthError(500, "unexpected_failure",
                            "Database error finding user from email link") from None
        expired = AuthError(403, "otp_expired", "Email link is invalid or has expired")
        if found is None:
            raise expired
        if found[1]:
            raise AuthError(403, "user_banned", "User is banned")
        is_recovery, freshness = bool(found[2]), found[3:]
        if kind == "email":
            kind = "magiclink" if is_recovery else "signup"
            fresh = freshness[1] if is_recovery else freshness[0]
        else:
            fresh = freshness[0]
        if not fresh:
            raise expired
        return str(found[0]), kind

    async def _verify_token(self, kind: str, column: str, value: str,
                            token_columns: tuple[str, ...], hashed: str,
                            request: Request) -> tuple[str, str]:
        """`verifyUserAndToken`: the user of that address (of the request's audience), and
        a token of theirs of this type that the hash is and that is not past its expiry
        (`isOtpValid`); else 403 `otp_expired`. The user's id, and the type (`email`:
        `signup` for the confirmation token, else `magiclink`)."""
        invalid = AuthError(403, "otp_expired", "Token has expired or is invalid")
        audience = request.headers.get("x-jwt-aud") or _JWT_AUD  # `requestAud`
        valid = [f"u.{name} in (%(hash)s::text, 'pkce_' || %(hash)s::text)"
                 + (f" and {self._fresh(name)}" if column == "email" else "")
                 for name in token_columns] or ["false"]
        where = "lower(u.email) = %(value)s and u.aud = %(aud)s" if column == "email" \
            else f"u.{column} = %(value)s and u.aud = %(aud)s"
        async with self.pool.connection() as conn:
            cursor = await conn.execute(
                f"select u.id::text, coalesce(u.banned_until > now(), false),"
                f" {', '.join(f'coalesce({v}, false)' for v in valid)}"
                f" from auth.users u where {where} and not u.is_sso_user",
                {"value": value, "aud": audience, "hash": hashed})
            found = await cursor.fetchone()
        matches = [bool(match) for match in found[2:]] if found is not None else []
        if found is None:
            raise invalid
        if found[1]:
            raise AuthError(403, "user_banned", "User is banned")
        if not any(matches):
            raise invalid
        if kind == "email":
            kind = "signup" if matches[0] else "magiclink"
        return str(found[0]), kind

    async def _authenticated(self, request: Request) -> dict[str, Any]:
        """`requireAuthentication`: the verified claims of a signed-in user's token."""
        claims = token_claims(self.keys, request)
        async with self.pool.connection() as conn:
            await self._signed_in(conn, claims)
        return claims

    async def identities(self, request: Request) -> Response:
        """`/user/identities/...` (`identity.go`): after `requireAuthentication`,
        `requireManualLinkingEnabled` (off in the CLI's template: 404
        `manual_linking_disabled`, whatever the path and method). On: `GET /authorize`
        (`LinkIdentity`, supabase-js's `linkIdentity`) is an OAuth provider's sign-in, not
        served here; `DELETE /{id}` is `unlink_identity`; another method 405."""
        claims = await self._authenticated(request)
        rest = request.path_params["rest"]
        if rest and not rest.startswith("/"):  # `/user/identitiesX`: another route's
            return _not_found()
        if not self.config.manual_linking:
            raise AuthError(404, "manual_linking_disabled", "Manual linking is disabled")
        if "/" in rest[1:] or rest in ("", "/"):
            return _not_found()
        if request.method == "GET" and rest == "/authorize":
            raise not_served("linking an OAuth identity (`[auth] enable_manual_linking`)")
        if request.method != "DELETE":
            return Response(status_code=405)
        return await self.unlink_identity(claims, rest[1:], request)

    async def unlink_identity(self, claims: dict[str, Any], identity_id: str,
                              request: Request) -> Response:
        """`DELETE /user/identities/{id}` (`DeleteIdentity`, supabase-js's
        `unlinkIdentity`): the id must be a UUID and the token's audience the request's
        (`requestAud`: `X-JWT-AUD`, else the token's own); then a user must keep one
        identity. Every user here has one at most (email), so the answer is 422
        `single_identity_not_deletable`; a user with more (made by another GoTrue on this
        database) is 422 `not_served_locally`."""
        if gofrs_uuid(identity_id) is None:
            raise AuthError(404, "validation_failed", "identity_id must be an UUID")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        requested = request.headers.get("x-jwt-aud") or (
            audiences[0] if audiences and audiences[0] else _JWT_AUD)
        if not audiences or requested != audiences[0]:
            raise AuthError(403, "unexpected_audience",
                            "Token audience doesn't match request audience")
        async with self.pool.connection() as conn:
            cursor = await conn.execute("select count(*) from auth.identities where user_id"
                                        " = %s", (claimed_user_id(claims),))
            identities = (await cursor.fetchone() or (0,))[0]
        if identities <= 1:
            raise AuthError(422, "single_identity_not_deletable",
                            "User must have at least 1 identity after unlinking")
        raise not_served("unlinking one of several identities")

    async def oauth_grants(self, request: Request) -> Response:
        """`/user/oauth/grants` (the OAuth server's grants of the user): after
        `requireAuthentication`, `oauth_server`'s check."""
        await self._authenticated(request)
        rest = request.path_params["rest"]
        if rest and not rest.startswith("/"):  # `/user/oauth/grantsX`: another route's
            return _not_found()
        return await self.oauth_server(request)

    async def oauth_server(self, request: Request) -> Response:
        """GoTrue as an OAuth 2.1 server (`/oauth/...`, its metadata at
        `/.well-known/oauth-authorization-server`), behind `requireOAuthServerEnabled`: off
        in the CLI's template, 404 `feature_disabled` whatever the path and method; on, not
        served here."""
        if not self.config.oauth_server:
            raise AuthError(404, "feature_disabled", "OAuth server is disabled")
        raise not_served("the OAuth 2.1 server (`[auth.oauth_server] enabled`)")

    async def enroll_factor(self, request: Request) -> Response:
        """`POST /factors` (`EnrollFactor`, `mfa.go`): a factor type whose `[auth.mfa.<type>]
        enroll_enabled` is off, as in the CLI's template, is 422 as GoTrue answers it
        (supabase-js's `mfa.enroll()`); one turned on is 422 `not_served_locally`, as no
        factor is kept here."""
        claims = await self._signed_in_user(request)
        session = str(claims.get("session_id") or "")
        if not session or session == _NIL_UUID:
            raise AuthError(500, "unexpected_failure", "A valid session and a registered user"
                            " are required to enroll a factor")
        factor_type = (await _json_body(request)).get("factor_type")
        if factor_type is not None and not isinstance(factor_type, str):
            raise AuthError(400, "bad_json", "Could not parse request body as JSON")
        if factor_type not in _MFA_FACTORS:
            raise AuthError(400, "validation_failed",
                            "factor_type needs to be totp, phone, or webauthn")
        name, table = _MFA_FACTORS[factor_type]
        if factor_type not in self.config.mfa_enroll:
            raise AuthError(422, f"mfa_{factor_type}_enroll_not_enabled",
                            f"MFA enroll is disabled for {name}")
        raise not_served(f"MFA factors ([auth.mfa.{table}] enroll_enabled)")

    async def factor(self, request: Request) -> Response:
        """`/factors/{id}` (`loadFactor`, `admin.go`): the challenge, the verification and
        the removal of one of the user's factors; no factor is ever enrolled here, so each
        is 404 `mfa_factor_not_found` (an id that is not a UUID 404 `validation_failed`)."""
        await self._signed_in_user(request)
        if gofrs_uuid(request.path_params["factor_id"]) is None:
            raise AuthError(404, "validation_failed", "factor_id must be an UUID")
        raise AuthError(404, "mfa_factor_not_found", "Factor not found")

    async def logout(self, request: Request) -> Response:
        claims = token_claims(self.keys, request)
        async with self.pool.connection() as conn:
            user = await self._signed_in(conn, claims)  # `requireAuthentication`, first
            scope = request.query_params.get("scope", "global")
            if scope not in ("global", "local", "others"):
                raise AuthError(400, "validation_failed",
                                "Unsupported logout scope " + json.dumps(scope))
            condition = {"global": "true", "local": "id::text = %(session)s",
                         "others": "id::text <> %(session)s"}[scope]
            await conn.execute(
                "delete from auth.sessions where user_id = %(user)s and " + condition,
                {"user": user["id"], "session": str(claims.get("session_id"))})
        return Response(status_code=204)
