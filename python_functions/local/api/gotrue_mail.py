"""`/auth/v1` routes that send mail: how a user signs in by a link or a code, recovers a
password, confirms a sign-up, or proves it is them before a new password (GoTrue v2.196:
`otp.go`, `magic_link.go`, `recover.go`, `reauthenticate.go`, `signup.go` and `mail.go`).

The mail goes over SMTP where `supabase start` sends it (config.py, `_mail`): to the mail
catcher of `make run` (python_functions/local/mailpit.py, Mailpit's API on port 54324), or
to `[auth.email.smtp]` when enabled. With neither, nothing is sent and every route answers
as if it was, as GoTrue with no SMTP host does.

* `POST /otp` (supabase-js's `signInWithOtp` with an email): `create_user` (true unless
  given) false and no such user is 422 `otp_disabled`; an email and a phone, or a phone's
  `channel` beside an email, 400 `validation_failed`; a phone 400 `phone_provider_disabled`
  (or, with `[auth.sms] enable_signup`, 422 `not_served_locally`); then as `/magiclink`.
* `POST /magiclink`: no address is 422 `validation_failed`; an unknown or unconfirmed address
  signs up (a random password, `data` as its metadata; the before user created hook runs
  for a new one): with confirmations off it is confirmed at once and gets the magic link,
  with them on it gets the sign-up confirmation instead. A confirmed user gets the magic link
  (its hash in `recovery_token`, as GoTrue keeps it). 200 `{}`.
* `POST /recover` (`resetPasswordForEmail`): the recovery link to a known address; 200 `{}`
  for an unknown one too, so the answer does not tell whether it exists.
* `PUT /user` with a permanent user's new `email` (`updateUser({ email })`): a link to the
  new address and, with `[auth.email] double_confirm_changes` (on in the CLI's template), one
  to the current address; either confirms the change when confirmations are off (the CLI's
  template), both are needed when they are on (the first answers GoTrue's "Confirmation link
  accepted..."). An address another user has is 422 `email_exists`.
* `POST /resend` (`resend`): a `signup` confirmation again to an address not confirmed yet
  (`{}` and nothing sent for a confirmed or unknown one, so the answer tells nothing), or a
  pending `email_change`'s links again; a phone's code is 422 `not_served_locally`.
* `POST /invite` (`auth.admin.inviteUserByEmail`, with the service role key): the invitation
  to a new user (no password, `data` as its metadata) or one not confirmed yet, whatever
  `max_frequency`; a confirmed address is 422 `email_exists`. Its link confirms the user,
  who then sets a password with `updateUser`.
* Notifications, when `[auth.email.notification.<name>] enabled` (off in the CLI's
  template): `password_changed` to the user after `PUT /user` sets a password,
  `email_changed` to the old address once a change is confirmed; one that cannot be sent is
  logged and fails nothing, as in GoTrue. The others (a phone, identities, MFA factors)
  concern what is not served here.
* `GET /reauthenticate` (`reauthenticate`): the signed-in user's nonce, by mail, which
  `PUT /user` takes as `nonce` with `[auth.email] secure_password_change`; a user without an
  email 400 `validation_failed`, an unconfirmed one 422 `email_not_confirmed`.
* `POST /signup` with `[auth.email] enable_confirmations`: the user, unconfirmed, and its
  confirmation mail; the answer is the user, without a session. An address already confirmed
  gets a made-up user (a new id, no identities), as GoTrue hides which addresses exist.

Each mail's link is Auth's `/verify` link (`gotrue_links.action_link`) with the code's hash
and the request's `redirect_to` where valid; its code is in the template's `{{ .Token }}`.
A request with a `code_challenge` (supabase-js's PKCE flow, supabase-py's default) also makes
the flow state of the link (`auth.flow_state`), and its hash is kept as `pkce_<hash>`: the
link then redirects with a code, which `grant_type=pkce` exchanges with the verifier
(gotrue.py); a challenge GoTrue refuses is 400 `validation_failed` in its words.
A second mail of the same kind to a user within `[auth.email] max_frequency` is 429
`over_email_send_rate_limit` "For security purposes, you can only request this after N
seconds."; with confirmations on, more than `[auth.rate_limit] email_sent` mails an hour
(30 unless `[auth.email.smtp]` is enabled, when the CLI passes the setting, 2 by default;
counted, as GoTrue's `IntervalLimiter` counts, in hours from the start) is
429 `over_email_send_rate_limit` "email rate limit exceeded", and 0 refuses every mail, as
GoTrue does. A user's row is locked while its mail is sent: racing requests send one mail,
the rest are 429. A mail the SMTP server refuses is 500 `unexpected_failure` ("Error
sending magic link email", ...) and changes nothing.

Templates are `[auth.email.template.<name>]`'s, or this stand-in's own plain wording (GoTrue's
default texts are not copied): each link's mail carries the link, the reauthentication mail
the code; subjects and bodies are rendered by `python_functions.local.go_template`. Not
served: the send email hook (turned on, each mail is 422 `not_served_locally`); no
`auth.one_time_tokens` or `auth.audit_log_entries` rows are written (the stand-in has
neither table).
"""

from __future__ import annotations

import contextlib
import logging
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import aiosmtplib
import psycopg
from psycopg.rows import dict_row
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from python_functions.local import go_template
from python_functions.local.api import gotrue_links
from python_functions.local.api.gotrue import (
    DUPLICATE_EMAIL,
    USER_QUERY,
    AuthError,
    GoTrue,
    add_email_identity,
    check_email,
    claimed_user_id,
    json_object,
    not_served,
    require_admin,
    user_json,
)
from python_functions.local.api.gotrue_admin import insert_unconfirmed_user
from python_functions.local.config import AuthConfig

log = logging.getLogger("python_functions.local.api.gotrue_mail")

SMTP_TIMEOUT_S = 10.0
_AUDIENCE = "authenticated"  # GOTRUE_JWT_AUD as `supabase start` sets it
_CODE_CHALLENGE = re.compile(r"[a-zA-Z._~0-9-]+")

# this stand-in's own wording (name: subject, body); a template of config.toml replaces one
_DEFAULT_TEMPLATES = {
    "confirmation": ("Confirm your address",
                     "<p>Open this link to confirm {{ .Email }} and finish signing up:</p>\n"
                     '<p><a href="{{ .ConfirmationURL }}">Confirm my address</a></p>\n'),
    "invite": ("Your invitation",
               "<p>You are invited to {{ .SiteURL }}. Open this link to accept:</p>\n"
               '<p><a href="{{ .ConfirmationURL }}">Accept the invitation</a></p>\n'),
    "recovery": ("Choose a new password",
                 "<p>Open this link to choose a new password:</p>\n"
                 '<p><a href="{{ .ConfirmationURL }}">Choose a new password</a></p>\n'
                 "<p>If you did not ask for it, nothing changes.</p>\n"),
    "magic_link": ("Your link to sign in",
                   "<p>Open this link to sign in. It works once, for a limited time:</p>\n"
                   '<p><a href="{{ .ConfirmationURL }}">Sign in</a></p>\n'),
    "email_change": ("Confirm your new address",
                     "<p>Open this link to change your address from {{ .Email }} to"
                     " {{ .NewEmail }}:</p>\n"
                     '<p><a href="{{ .ConfirmationURL }}">Confirm the change</a></p>\n'
                     "<p>If you did not ask for it, nothing changes.</p>\n"),
    "password_changed_notification": (
        "Your password was changed",
        "<p>The password of {{ .Email }} was changed. If it was not you, reset it now.</p>\n"),
    "email_changed_notification": (
        "Your address was changed",
        "<p>The address of your account is now {{ .Email }}, no longer {{ .OldEmail }}."
        " If it was not you, tell us now.</p>\n"),
    "reauthentication": ("{{ .Token }} is your code",
                         "<p>Enter this code to confirm it is you:</p>\n"
                         "<p>{{ .Token }}</p>\n"),
}
# what each template's mail is called in GoTrue's errors ("Error sending ... email")
_WHAT = {"confirmation": "confirmation", "invite": "invite", "recovery": "recovery",
         "magic_link": "magic link", "reauthentication": "reauthentication",
         "email_change": "email change",
         "password_changed_notification": "password changed notification",
         "email_changed_notification": "email changed notification"}
# the verification type in each link (`getPath`'s `Type`)
_LINK_TYPE = {"confirmation": "signup", "invite": "invite", "recovery": "recovery",
              "magic_link": "magiclink", "email_change": "email_change"}
# a PKCE flow's state for each template's link: its provider type and authentication method
_FLOWS = {"confirmation": ("email", "email/signup"), "recovery": ("recovery", "recovery"),
          "magic_link": ("magiclink", "magiclink")}
# the user's columns each template's token and its time go to
_COLUMNS = {"confirmation": ("confirmation_token", "confirmation_sent_at"),
            "invite": ("confirmation_token", "confirmation_sent_at"),
            "recovery": ("recovery_token", "recovery_sent_at"),
            "magic_link": ("recovery_token", "recovery_sent_at"),
            "reauthentication": ("reauthentication_token", "reauthentication_sent_at")}


class Mailer:
    """Renders a template and sends it over SMTP, as GoTrue's `templatemailer` and
    `mailmeclient` do (one HTML part, From the admin address and sender name)."""

    def __init__(self, config: AuthConfig, auth_url: str) -> None:
        self.config = config
        self.auth_url = auth_url
        self.templates = dict(_DEFAULT_TEMPLATES)
        given = [*config.email_templates, *(
            (name + "_notification", subject, content)
            for name, subject, content in config.email_notifications)]
        for name, subject, content in given:
            default_subject, default_body = self.templates.get(name, ("", ""))
            self.templates[name] = (subject or default_subject, content or default_body)
        self.notifications = frozenset(name for name, _, _ in config.email_notifications)
        # `ratelimit.IntervalLimiter` of `[auth.rate_limit] email_sent`: the count starts
        # again every hour since the limiter was made
        self._window_start = time.monotonic()
        self._sent_in_window = 0

    def over_rate_limit(self) -> bool:
        """`limiterOpts.Email.Allow`, counted only while confirmations are on
        (`!Mailer.Autoconfirm`); `email_sent = 0` is always over, as GoTrue checks first."""
        if self.config.email_sent_per_hour == 0:
            return True
        if not self.config.email_confirmations:
            return False
        hours = int((time.monotonic() - self._window_start) // 3600)
        if hours > 0:
            self._window_start += hours * 3600
            self._sent_in_window = 0
        if self._sent_in_window < self.config.email_sent_per_hour:
            self._sent_in_window += 1
            return False
        return True

    async def send(self, template: str, user: dict[str, Any], code: str, hashed: str,
                   referrer: str, to: str = "", extra: dict[str, Any] | None = None) -> None:
        """The mail of `template` to the user (or `to`): its link (of the hash), its code,
        and the `extra` fields of its template."""
        data: dict[str, Any] = {"SiteURL": self.config.site_url, "Email": user["email"],
                                "Token": code, "Data": user["raw_user_meta_data"] or {},
                                **(extra or {})}
        if template in _LINK_TYPE:
            data |= {"ConfirmationURL": gotrue_links.action_link(
                self.auth_url, hashed, _LINK_TYPE[template], referrer),
                "TokenHash": hashed, "RedirectTo": referrer}
        subject, body = self.templates[template]
        if not self.config.smtp_host:  # GoTrue's noop client: nothing is sent
            return
        message = EmailMessage()
        message["From"] = self.config.smtp_sender
        message["To"] = to or user["email"]
        # a line break (from a user's metadata, say) would end the header: folded to spaces
        message["Subject"] = " ".join(go_template.render(subject, data, escape=False)
                                      .splitlines())
        message["Date"] = format_datetime(datetime.now(UTC))
        message.set_content(go_template.render(body, data, escape=True), subtype="html")
        started = time.monotonic()
        try:
            await aiosmtplib.send(
                message, hostname=self.config.smtp_host, port=self.config.smtp_port,
                username=self.config.smtp_user or None,
                password=self.config.smtp_pass or None, timeout=SMTP_TIMEOUT_S)
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.warning("auth mail not sent", extra={
                "template": template, "error_type": type(exc).__name__})
            raise AuthError(500, "unexpected_failure",
                            f"Error sending {_WHAT[template]} email") from None
        log.info("auth mail sent", extra={
            "template": template, "elapsed_ms": round((time.monotonic() - started) * 1000, 1)})


class GoTrueMail:
    """The routes that send mail, on the Auth they belong to (its pool, settings, hooks)."""

    def __init__(self, gotrue: GoTrue, auth_url: str) -> None:
        self.gotrue = gotrue
        self.config = gotrue.config
        self.mailer = Mailer(gotrue.config, auth_url)

    def routes(self) -> list[Route]:
        return [Route("/otp", self.otp, methods=["POST"]),
                Route("/magiclink", self.magic_link, methods=["POST"]),
                Route("/recover", self.recover, methods=["POST"]),
                Route("/resend", self.resend, methods=["POST"]),
                Route("/invite", self.invite, methods=["POST"]),
                Route("/reauthenticate", self.reauthenticate, methods=["GET"])]

    # -- routes -------------------------------------------------------------------------

    async def otp(self, request: Request) -> Response:
        """`Otp`: the request's checks, then `/magiclink` for an email."""
        body = json_object(await request.body())
        email, phone = _text(body, "email"), _text(body, "phone")
        if email and phone:
            raise AuthError(400, "validation_failed",
                            "Only an email address or phone number should be provided")
        if email and _text(body, "channel"):
            raise AuthError(400, "validation_failed",
                            "Channel should only be specified with Phone OTP")
        _pkce(body)
        if body.get("create_user", True) is False and email:
            address = _valid_email(email)
            async with self.gotrue.pool.connection() as conn:
                if await self._find(conn, address, request) is None:
                    raise AuthError(422, "otp_disabled", "Signups not allowed for otp")
        if email:
            return await self._magic_link(body, request)
        if phone:
            if not self.config.phone_signup:
                raise AuthError(400, "phone_provider_disabled", "Unsupported phone provider")
            raise not_served("a phone's one-time code (it needs an SMS provider)")
        raise AuthError(400, "validation_failed", "One of email or phone must be set")

    async def magic_link(self, request: Request) -> Response:
        return await self._magic_link(json_object(await request.body()), request)

    async def _magic_link(self, body: dict[str, Any], request: Request) -> Response:
        """`MagicLink`: a sign-up for an address not confirmed yet, else the magic link."""
        if not self.config.email_signup:
            raise AuthError(422, "email_provider_disabled", "Email logins are disabled")
        email = _text(body, "email")
        if not email:
            raise AuthError(422, "validation_failed", "Password recovery requires an email")
        email = _valid_email(email)
        pkce = _pkce(body)
        data = _data(body)
        referrer = gotrue_links.referrer(request, self.config)
        async with self.gotrue.pool.connection() as conn:
            user = await self._find(conn, email, request)
            if user is None or user["email_confirmed_at"] is None:
                user = await self._sign_up(conn, email, secrets.token_urlsafe(33), data,
                                           request, referrer, pkce)
                if user["email_confirmed_at"] is None:  # confirmations on: that mail went
                    return JSONResponse({})
            await self._mail(conn, user["id"], "magic_link", referrer, pkce)
        return JSONResponse({})

    async def recover(self, request: Request) -> Response:
        """`Recover`: the recovery link to a known address; `{}` either way."""
        body = json_object(await request.body())
        email = _text(body, "email")
        if not email:
            raise AuthError(400, "validation_failed", "Password recovery requires an email")
        email = _valid_email(email)
        pkce = _pkce(body)
        referrer = gotrue_links.referrer(request, self.config)
        async with self.gotrue.pool.connection() as conn:
            user = await self._find(conn, email, request)
            if user is not None:
                await self._mail(conn, user["id"], "recovery", referrer, pkce)
        return JSONResponse({})

    async def resend(self, request: Request) -> Response:
        """`Resend` (supabase-js's `resend`): a `signup` confirmation again, to an address not
        confirmed yet, or an `email_change`'s links again, while one is pending; `{}` and no
        mail otherwise, or for an unknown address. A phone's code is 422
        `not_served_locally`."""
        body = json_object(await request.body())
        kind, email, phone = _text(body, "type"), _text(body, "email"), _text(body, "phone")
        pkce = None
        if kind in ("signup", "email_change"):
            pkce = _pkce(body)
        elif kind not in ("sms", "phone_change"):
            raise AuthError(400, "validation_failed",
                            "Missing one of these types: signup, email_change, sms, phone_change")
        if not email and kind == "signup":
            raise AuthError(400, "validation_failed", "Type provided requires an email address")
        if not phone and kind == "sms":
            raise AuthError(400, "validation_failed", "Type provided requires a phone number")
        if email and phone:
            raise AuthError(400, "validation_failed",
                            "Only an email address or phone number should be provided.")
        if phone:
            if not self.config.phone_signup:
                raise AuthError(400, "phone_provider_disabled", "Phone logins are disabled")
            raise not_served("a phone's code (it needs an SMS provider)")
        if not email:
            raise AuthError(400, "validation_failed", "Missing email address or phone number")
        if not self.config.email_signup:
            raise AuthError(400, "email_provider_disabled", "Email logins are disabled")
        email = _valid_email(email)
        referrer = gotrue_links.referrer(request, self.config)
        async with self.gotrue.pool.connection() as conn:
            user = await self._find(conn, email, request)
            if user is None:
                return JSONResponse({})
            if kind == "signup":
                if user["email_confirmed_at"] is None:
                    await self._mail(conn, user["id"], "confirmation", referrer, pkce,
                                     flow_provider="email/signup")
                return JSONResponse({})
            if user["email_change"]:  # the pending change's links again
                async with conn.transaction():
                    await self.email_change(conn, user, user["email_change"], body, request)
        return JSONResponse({})

    async def invite(self, request: Request) -> Response:
        """`Invite` (supabase-js's `auth.admin.inviteUserByEmail`), with the service role
        key: a new user (no password, `data` as its metadata, after the before user created
        hook) or one not confirmed yet gets the invitation; a confirmed one is 422
        `email_exists`. The answer is the user."""
        require_admin(self.gotrue.keys, request)
        body = json_object(await request.body())
        email = _text(body, "email")
        if not email:
            raise AuthError(400, "validation_failed", "An email address is required")
        email = _valid_email(email)
        data = _data(body)
        referrer = gotrue_links.referrer(request, self.config)
        async with self.gotrue.pool.connection() as conn:
            async with self._unconfirmed(conn, email, "", data, request, AuthError(
                    422, "email_exists", DUPLICATE_EMAIL)) as user:
                await self._mail(conn, user["id"], "invite", referrer)
            invited = await self._find(conn, email, request)
        assert invited is not None
        return JSONResponse(user_json(invited))

    async def reauthenticate(self, request: Request) -> Response:
        """`Reauthenticate`, after `requireAuthentication`: the nonce to the user's email."""
        claims = await self.gotrue._authenticated(request)
        async with self.gotrue.pool.connection() as conn:
            user = await self.gotrue._user_row(conn, claimed_user_id(claims))
            if not user["email"] and not user["phone"]:
                raise AuthError(400, "validation_failed", "Reauthentication requires the user"
                                " to have an email or a phone number")
            if not user["email"]:
                raise not_served("a phone's reauthentication code (it needs an SMS provider)")
            if user["email_confirmed_at"] is None:
                raise AuthError(422, "email_not_confirmed", "Please verify your email first.")
            await self._mail(conn, user["id"], "reauthentication", "")
        return JSONResponse({})

    async def sign_up(self, body: dict[str, Any], email: str, password: str,
                      request: Request) -> Response:
        """`POST /signup` of an email and password with confirmations on (gotrue.py checks
        the request first): the unconfirmed user and its confirmation mail."""
        data = _data(body)
        pkce = _pkce(body)
        referrer = gotrue_links.referrer(request, self.config)
        async with self.gotrue.pool.connection() as conn:
            found = await self._find(conn, email, request)
            if found is not None and found["email_confirmed_at"] is not None:
                return JSONResponse(_made_up_user(found, data))
            user = await self._sign_up(conn, email, password, data, request, referrer, pkce)
        return JSONResponse(user_json(user))

    async def email_change(self, conn: psycopg.AsyncConnection[Any], user: dict[str, Any],
                           email: str, body: dict[str, Any], request: Request) -> None:
        """`sendEmailChange`, from `PUT /user` (gotrue.py checks the request and the address
        first, in its transaction): within `max_frequency` of the last 429; else a code for
        the new address and, with `double_confirm_changes`, one for the current address,
        their hashes kept (`pkce_` before them in a PKCE flow, whose flow state is made),
        and a mail to each address with its own link; the user's `new_email` is set. The
        links confirm the change (gotrue.py's `/verify`)."""
        if self.config.send_email_hook:
            raise not_served("the send email hook ([auth.hook.send_email]), which GoTrue"
                             " hands its mail to instead of SMTP")
        pkce = _pkce(body)
        referrer = gotrue_links.referrer(request, self.config)
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            "select id::text, email, raw_user_meta_data,"
            " extract(epoch from now() - email_change_sent_at) as since"
            " from auth.users where id = %s for update", (user["id"],))
        found = await cursor.fetchone()
        assert found is not None
        self._check_frequency(found["since"])
        prefix = "pkce_" if pkce is not None else ""
        code_new = gotrue_links.one_time_code(self.config.email_otp_length)
        hash_new = prefix + gotrue_links.token_hash(email, code_new)
        code_current = hash_current = ""
        if self.config.secure_email_change and found["email"]:
            code_current = gotrue_links.one_time_code(self.config.email_otp_length)
            hash_current = prefix + gotrue_links.token_hash(found["email"], code_current)
        if pkce is not None:
            await _insert_flow_state(conn, user["id"], pkce, "email_change", "email_change")
        if self.mailer.over_rate_limit():
            raise AuthError(429, "over_email_send_rate_limit", "email rate limit exceeded")
        await conn.execute(
            "update auth.users set email_change = %s, email_change_token_new = %s,"
            " email_change_token_current = %s, email_change_sent_at = now(),"
            " email_change_confirm_status = 0 where id = %s",
            (email, hash_new, hash_current, user["id"]))
        extra = {"NewEmail": email}
        await self.mailer.send("email_change", found, code_new, hash_new, referrer, to=email,
                               extra=extra | {"SendingTo": email})
        if hash_current:
            await self.mailer.send("email_change", found, code_current, hash_current,
                                   referrer, to=found["email"],
                                   extra=extra | {"SendingTo": found["email"]})

    async def notify(self, name: str, user: dict[str, Any], to: str = "",
                     extra: dict[str, Any] | None = None) -> None:
        """The `name` notification (`password_changed`, `email_changed`) to the user (or
        `to`), when `[auth.email.notification.<name>]` turns it on. Like GoTrue, a
        notification that cannot be sent (the email rate limit, the SMTP server, the send
        email hook not served here) is logged and fails nothing."""
        if name not in self.mailer.notifications or not (to or user["email"]):
            return
        try:
            if self.config.send_email_hook:
                raise not_served("the send email hook ([auth.hook.send_email])")
            if self.mailer.over_rate_limit():
                raise AuthError(429, "over_email_send_rate_limit", "email rate limit exceeded")
            await self.mailer.send(name + "_notification", user, "", "", "", to=to,
                                   extra=extra)
        except AuthError as failed:
            log.warning("auth notification not sent", extra={
                "template": name, "error_code": failed.code})

    # -- shared ------------------------------------------------------------------------

    async def _find(self, conn: psycopg.AsyncConnection[Any], email: str, request: Request,
                    lock: bool = False) -> dict[str, Any] | None:
        """`FindUserByEmailAndAudience`: the address's user of the request's audience."""
        cursor = conn.cursor(row_factory=dict_row)
        await cursor.execute(
            USER_QUERY + " where lower(u.email) = %s and u.aud = %s and not u.is_sso_user"
            + (" for update of u" if lock else ""),
            (email, request.headers.get("x-jwt-aud") or _AUDIENCE))
        return await cursor.fetchone()

    async def _sign_up(self, conn: psycopg.AsyncConnection[Any], email: str, password: str,
                       data: dict[str, Any], request: Request, referrer: str,
                       pkce: Pkce | None = None) -> dict[str, Any]:
        """`Signup` of an email user not confirmed yet: made if new (after the before user
        created hook), then confirmed at once, or, with confirmations on, sent its
        confirmation mail. The user, as it is then."""
        if not self.config.signup:
            raise AuthError(422, "signup_disabled", "Signups not allowed for this instance")
        async with self._unconfirmed(conn, email, password, data, request, AuthError(
                422, "user_already_exists", "User already registered")) as user:
            if not self.config.email_confirmations:
                await self.gotrue._confirm(conn, user["id"])
            else:
                await self._mail(conn, user["id"], "confirmation", referrer, pkce)
        found = await self._find(conn, email, request)
        assert found is not None
        return found

    def _check_frequency(self, since: Any) -> None:
        """`validateSentWithinFrequencyLimit`: seconds `since` the last such mail (None for
        none) within `[auth.email] max_frequency` are 429, with the seconds left as Go's
        `Duration / time.Second` counts them."""
        frequency = self.config.email_max_frequency_s
        if since is not None and float(since) < frequency:
            raise AuthError(429, "over_email_send_rate_limit",
                            "For security purposes, you can only request this after"
                            f" {int(frequency - float(since))} seconds.")

    @contextlib.asynccontextmanager
    async def _unconfirmed(self, conn: psycopg.AsyncConnection[Any], email: str,
                           password: str, data: dict[str, Any], request: Request,
                           confirmed: AuthError) -> AsyncIterator[dict[str, Any]]:
        """The address's user not confirmed yet, locked in a transaction the caller's work
        joins: made if new (`signupNewUser`, unconfirmed, after the before user created
        hook, which GoTrue calls before its transaction). One confirmed already, also by a
        racing request, is `confirmed`; one that lost the race to make it is a 500."""
        user_id = None
        if await self._find(conn, email, request) is None:
            user_id = str(uuid.uuid4())
            if self.config.before_user_created_hook:
                await self.gotrue._before_user_created(conn, user_id, email, data, request)
        async with conn.transaction():
            if user_id is not None:
                await insert_unconfirmed_user(
                    conn, user_id, request.headers.get("x-jwt-aud") or _AUDIENCE, email,
                    password, data)
                await add_email_identity(conn, user_id, email, verified=False)
            user = await self._find(conn, email, request, lock=True)
            assert user is not None
            if user["email_confirmed_at"] is not None:
                raise confirmed
            yield user

    async def _mail(self, conn: psycopg.AsyncConnection[Any], user_id: str, template: str,
                    referrer: str, pkce: Pkce | None = None,
                    flow_provider: str | None = None) -> None:
        """`sendMagicLink`, `sendPasswordRecovery`, `sendConfirmation`,
        `sendReauthenticationOtp`: within `max_frequency` of the last such mail 429; else a
        new code, its hash kept and the mail sent, in one transaction with the user's row
        locked (a mail that fails leaves the old token). With `pkce`, the flow state of the
        link (`generateFlowState`, its provider type `flow_provider` where the caller names
        another) is made in it too, and the hash kept is `pkce_` and the hash, as the link
        carries it. An invitation (`sendInvite`) is sent whatever the frequency, and marks
        the user invited."""
        if self.config.send_email_hook:
            raise not_served("the send email hook ([auth.hook.send_email]), which GoTrue"
                             " hands its mail to instead of SMTP")
        token_column, sent_column = _COLUMNS[template]
        async with conn.transaction():
            cursor = conn.cursor(row_factory=dict_row)
            await cursor.execute(
                f"select u.id::text, u.email, u.raw_user_meta_data,"
                f" extract(epoch from now() - u.{sent_column}) as since"
                f" from auth.users u where u.id = %s for update", (user_id,))
            user = await cursor.fetchone()
            assert user is not None
            if template != "invite":  # `sendInvite` has no frequency check
                self._check_frequency(user["since"])
            if self.mailer.over_rate_limit():
                raise AuthError(429, "over_email_send_rate_limit", "email rate limit exceeded")
            code = gotrue_links.one_time_code(self.config.email_otp_length)
            hashed = gotrue_links.token_hash(user["email"], code)
            if pkce is not None:  # `addFlowPrefixToToken`
                hashed = "pkce_" + hashed
                provider, method = _FLOWS[template]
                await _insert_flow_state(conn, user_id, pkce, flow_provider or provider,
                                         method)
            invited = ", invited_at = now()" if template == "invite" else ""
            await conn.execute(
                f"update auth.users set {token_column} = %s, {sent_column} = now(){invited}"
                f" where id = %s", (hashed, user_id))
            await self.mailer.send(template, user, code, hashed, referrer)


async def _insert_flow_state(conn: psycopg.AsyncConnection[Any], user_id: str, pkce: Pkce,
                             provider: str, method: str) -> None:
    """`generateFlowState`: the PKCE flow of a link, its code made for the exchange."""
    await conn.execute(
        "insert into auth.flow_state (id, user_id, auth_code, code_challenge_method,"
        " code_challenge, provider_type, provider_access_token, provider_refresh_token,"
        " created_at, updated_at, authentication_method) values (gen_random_uuid(), %s,"
        " gen_random_uuid()::text, %s::auth.code_challenge_method, %s, %s, '', '', now(),"
        " now(), %s)", (user_id, pkce.method, pkce.challenge, provider, method))


def _made_up_user(found: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """`sanitizeUser`: a confirmed address's sign-up answered with a user that is not it."""
    now = datetime.now(UTC)
    made_up = user_json(found | {
        "id": str(uuid.uuid4()), "role": "", "created_at": now, "updated_at": now,
        "confirmation_sent_at": now, "last_sign_in_at": None, "confirmed_at": None,
        "email_confirmed_at": None, "identities": [], "raw_user_meta_data": data,
        "email_change": "", "email_change_sent_at": None,
        "raw_app_meta_data": {"provider": "email", "providers": ["email"]}, "phone": ""})
    return made_up


def _data(body: dict[str, Any]) -> dict[str, Any]:
    """The request's `data`, the new user's metadata."""
    data = body.get("data")
    return data if isinstance(data, dict) else {}


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON")
    return value or ""


def _valid_email(email: str) -> str:
    """`validateEmail`: the address, lower-cased."""
    check_email(email)
    return email.lower()


@dataclass(frozen=True)
class Pkce:
    """A client's code challenge (`code_challenge`, `code_challenge_method`)."""

    challenge: str
    method: str  # "s256" or "plain"


def _pkce(body: dict[str, Any]) -> Pkce | None:
    """`validatePKCEParams`: both or neither, a challenge of 43 to 128 URL-safe characters;
    then `ParseCodeChallengeMethod` (another method fails the request, as GoTrue's 500)."""
    challenge, method = _text(body, "code_challenge"), _text(body, "code_challenge_method")
    if bool(challenge) != bool(method):
        raise AuthError(400, "validation_failed",
                        "PKCE flow requires code_challenge_method and code_challenge")
    if not challenge:
        return None
    if not 43 <= len(challenge) <= 128:
        raise AuthError(400, "validation_failed",
                        "code challenge has to be between 43 and 128 characters")
    if not _CODE_CHALLENGE.fullmatch(challenge):
        raise AuthError(400, "validation_failed", "code challenge can only contain"
                        " alphanumeric characters, hyphens, periods, underscores and tildes")
    if method.lower() not in ("s256", "plain"):
        raise AuthError(500, "unexpected_failure", "Internal Server Error", coded=False)
    return Pkce(challenge, method.lower())
