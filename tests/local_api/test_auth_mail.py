"""Auth's mail on `make run`: supabase-py's `sign_in_with_otp`, `reset_password_for_email`,
`reauthenticate` and a sign-up with confirmations on send their mail over SMTP to the mail
catcher, which a test reads through Mailpit's API, as on `supabase start`; the link in the
mail, or its code, signs the user in (GoTrue v2.196's `otp.go`, `magic_link.go`,
`recover.go`, `reauthenticate.go`, `signup.go`, `mail.go`)."""

from __future__ import annotations

import logging
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import jwt
import psycopg
import pytest
from supabase_auth.errors import AuthApiError

from python_functions.local.api.gotrue_mail import Mailer
from python_functions.local.cluster import free_port
from python_functions.local.config import AuthConfig
from supabase import Client, ClientOptions, create_client
from tests.conftest import TEST_EMAIL_DOMAIN, one
from tests.http_fixtures import ANON_KEY, SERVICE_ROLE_KEY, MailCatcher, ServerThread
from tests.local_api.test_auth_config import configured
from tests.local_api.test_auth_links import SITE_URL

__all__ = ["configured"]

PASSWORD = "a-good-password"
V2024 = {"X-Supabase-Api-Version": "2024-01-01"}
_LINK = re.compile(r'href="([^"]+)"')


def _email(tag: str = "mail") -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"


def _client(server: ServerThread, key: str = ANON_KEY) -> Client:
    return create_client(server.url, key, ClientOptions(
        auto_refresh_token=False, persist_session=False, flow_type="implicit",
        httpx_client=httpx.Client(timeout=10)))


def _refused(call: Any) -> tuple[int, str | None, str]:
    with pytest.raises(AuthApiError) as refused:
        call()
    return refused.value.status, refused.value.code, refused.value.message


def _mail_to(catcher: MailCatcher, email: str) -> list[dict[str, Any]]:
    """The messages to `email`, newest first, as Mailpit's search lists them."""
    found = httpx.get(f"{catcher.url}/api/v1/search", params={"query": f"to:{email}"})
    assert found.status_code == 200, found.text
    messages: list[dict[str, Any]] = found.json()["messages"]
    return messages


def _only_mail(catcher: MailCatcher, email: str) -> dict[str, Any]:
    """The one message to `email`, in full (Mailpit's `GET /api/v1/message/{ID}`)."""
    messages = _mail_to(catcher, email)
    assert len(messages) == 1, messages
    message: dict[str, Any] = httpx.get(
        f"{catcher.url}/api/v1/message/{messages[0]['ID']}").json()
    return message


def _link(message: dict[str, Any]) -> str:
    links = _LINK.findall(message["HTML"])
    assert len(links) == 1, message["HTML"]
    return links[0].replace("&amp;", "&")


def _opened(link: str) -> dict[str, str]:
    """What the browser gets when it opens the link: the fragment of GoTrue's redirect."""
    response = httpx.get(link)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(SITE_URL + "#"), location
    return dict(parse_qsl(urlsplit(location).fragment))


def test_a_magic_link_by_mail_signs_the_user_in_once(
        local_api: ServerThread, mail_catcher: MailCatcher,
        admin: psycopg.Connection[Any]) -> None:
    email = _email()
    _client(local_api, SERVICE_ROLE_KEY).auth.admin.create_user(
        {"email": email, "password": PASSWORD, "email_confirm": True})
    _client(local_api).auth.sign_in_with_otp({"email": email.upper()})
    message = _only_mail(mail_catcher, email)
    assert message["From"] == {"Name": "Admin", "Address": "admin@email.com"}
    assert message["To"] == [{"Name": "", "Address": email}]
    assert message["Subject"] == "Your link to sign in"
    link = _link(message)
    hashed = one(admin, "select recovery_token from auth.users where email = %s", email)
    assert link == (f"{local_api.url}/auth/v1/verify?token={hashed}&type=magiclink"
                    f"&redirect_to={SITE_URL}")
    assert link in message["Text"]  # the text Mailpit makes of the HTML names it too
    session = _opened(link)
    assert session["type"] == "magiclink" and session["access_token"]
    client = _client(local_api)
    client.auth.set_session(session["access_token"], session["refresh_token"])
    user = client.auth.get_user()
    assert user is not None and user.user.email == email
    again = httpx.get(link, follow_redirects=False).headers["location"]
    assert "error_code=otp_expired" in again  # spent


def _pkce_client(server: ServerThread) -> Client:
    """supabase-py as an app has it: the PKCE flow, its default."""
    return create_client(server.url, ANON_KEY, ClientOptions(
        auto_refresh_token=False, persist_session=False, httpx_client=httpx.Client(timeout=10)))


def _code(link: str, redirect_to: str = SITE_URL) -> str:
    """The code a PKCE link's redirect carries in its query (`prepPKCERedirectURL`)."""
    response = httpx.get(link)
    assert response.status_code == 303, response.text
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_to, location
    return dict(parse_qsl(location.query))["code"]


def test_a_pkce_magic_link_gives_a_code_the_clients_verifier_exchanges_once(
        local_api: ServerThread, mail_catcher: MailCatcher,
        admin: psycopg.Connection[Any]) -> None:
    """supabase-py's default flow: `sign_in_with_otp` sends a code challenge, the mail's link
    redirects with a code, and `exchange_code_for_session` trades it with the verifier the
    client kept (`grant_type=pkce`) for a session whose `amr` says `magiclink`."""
    email = _email("pkce")
    client = _pkce_client(local_api)
    client.auth.sign_in_with_otp({"email": email})
    link = _link(_only_mail(mail_catcher, email))
    assert "token=pkce_" in link
    assert one(admin, "select count(*) from auth.flow_state f join auth.users u on"
               " u.id = f.user_id where u.email = %s and f.authentication_method ="
               " 'magiclink' and f.code_challenge_method = 's256'", email) == 1
    code = _code(link)
    exchanged = client.auth.exchange_code_for_session({"auth_code": code})
    assert exchanged.session is not None and exchanged.user is not None
    assert exchanged.user.email == email
    claims = jwt.decode(exchanged.session.access_token, options={"verify_signature": False})
    assert [entry["method"] for entry in claims["amr"]] == ["magiclink"]
    # a code is exchanged once; the link was spent
    assert _refused(lambda: client.auth.exchange_code_for_session({
        "auth_code": code, "code_verifier": "x" * 43})) == (
        404, "flow_state_not_found", "invalid flow state, no valid flow state found")
    assert "error_code=otp_expired" in httpx.get(link).headers["location"]


def test_a_pkce_recovery_code_needs_its_verifier_and_expires(
        local_api: ServerThread, mail_catcher: MailCatcher, api_http: httpx.Client,
        admin: psycopg.Connection[Any]) -> None:
    email = _email("pkce-reset")
    _client(local_api).auth.sign_up({"email": email, "password": PASSWORD})
    client = _pkce_client(local_api)
    client.auth.reset_password_for_email(email, {"redirect_to": SITE_URL + "/reset"})
    code = _code(_link(_only_mail(mail_catcher, email)), SITE_URL + "/reset")

    def exchange(verifier: str) -> httpx.Response:
        return api_http.post("/auth/v1/token", params={"grant_type": "pkce"}, headers=V2024,
                             json={"auth_code": code, "code_verifier": verifier})

    assert exchange("not-the-verifier").json() == {
        "code": "bad_code_verifier",
        "message": "code challenge does not match previously saved code verifier"}
    assert exchange("").json() == {
        "code": "validation_failed",
        "message": "invalid request: both auth code and code verifier should be non-empty"}
    admin.execute("update auth.flow_state set created_at = now() - interval '301 seconds'"
                  " where auth_code = %s", (code,))
    expired = exchange("x" * 43)
    assert (expired.status_code, expired.json()["code"]) == (422, "flow_state_expired")
    admin.execute("update auth.flow_state set created_at = now() where auth_code = %s",
                  (code,))
    session = client.auth.exchange_code_for_session({"auth_code": code})
    assert session.session is not None
    claims = jwt.decode(session.session.access_token, options={"verify_signature": False})
    assert [entry["method"] for entry in claims["amr"]] == ["recovery"]


def test_a_pkce_link_without_its_flow_state_redirects_with_the_refusal_and_stays_unspent(
        local_api: ServerThread, mail_catcher: MailCatcher,
        admin: psycopg.Connection[Any]) -> None:
    email = _email("pkce-lost")
    _pkce_client(local_api).auth.sign_in_with_otp({"email": email})
    link = _link(_only_mail(mail_catcher, email))
    saved = admin.execute("delete from auth.flow_state f using auth.users u where"
                          " u.id = f.user_id and u.email = %s returning f.*", (email,)).fetchall()
    assert len(saved) == 1
    location = httpx.get(link).headers["location"]
    assert location.startswith(SITE_URL + "?error=invalid_request&error_code="
                               "flow_state_not_found&error_description=No+associated+flow")
    assert one(admin, "select recovery_token like 'pkce_%%' from auth.users where email = %s",
               email)


def test_an_address_beyond_ascii_gets_its_mail(
        local_api: ServerThread, mail_catcher: MailCatcher) -> None:
    """Mailpit takes SMTPUTF8, so Auth's mail reaches an address such as `zażółć@…`."""
    email = _email("zażółć")
    _client(local_api).auth.sign_in_with_otp({"email": email})
    message = _only_mail(mail_catcher, email)
    assert message["To"] == [{"Name": "", "Address": email}]
    assert _opened(_link(message))["type"] == "magiclink"


def test_sign_in_with_otp_signs_a_new_address_up_unless_told_not_to(
        local_api: ServerThread, mail_catcher: MailCatcher,
        admin: psycopg.Connection[Any]) -> None:
    """Confirmations off (the CLI's template): the new user is confirmed at once and gets
    the magic link; with `should_create_user` false an unknown address is refused."""
    email = _email("new")
    client = _client(local_api)
    assert _refused(lambda: client.auth.sign_in_with_otp(
        {"email": email, "options": {"should_create_user": False}})) == (
        422, "otp_disabled", "Signups not allowed for otp")
    assert one(admin, "select count(*) from auth.users where email = %s", email) == 0
    assert _mail_to(mail_catcher, email) == []
    client.auth.sign_in_with_otp({"email": email, "options": {"data": {"name": "Ola"}}})
    user = admin.execute("select email_confirmed_at is not null, raw_user_meta_data,"
                         " encrypted_password <> '' from auth.users where email = %s",
                         (email,)).fetchone()
    assert user is not None and user[0] and user[1]["name"] == "Ola" and user[2]
    session = _opened(_link(_only_mail(mail_catcher, email)))
    assert session["type"] == "magiclink"


def test_the_code_of_a_template_that_shows_it_signs_in_by_verify_otp(
        configured: Any, mail_catcher: MailCatcher) -> None:
    """`[auth.email.template.magic_link]` with `{{ .Token }}`: the code in the mail, and
    the user's metadata, rendered (escaped in the body, as html/template escapes them)."""
    template = ("magic_link", "Code {{ .Token }} {{ .Data.name }}",
                "<p>{{ .Token }} for {{ .Data.name }}</p><p>{{- .Email -}}</p>")
    with configured(email_templates=(template,)) as (server, _):
        email = _email("code")
        client = _client(server)
        client.auth.sign_in_with_otp({"email": email, "options": {"data": {"name": "<Ada>"}}})
        message = _only_mail(mail_catcher, email)
        code, name = message["Subject"].removeprefix("Code ").split(" ", 1)
        assert name == "<Ada>"  # a subject is not HTML: as text/template renders it
        assert len(code) == 6 and code.isdigit()
        assert message["HTML"].strip() == f"<p>{code} for &lt;Ada&gt;</p><p>{email}</p>"
        signed_in = client.auth.verify_otp({"email": email, "token": code, "type": "email"})
        assert signed_in.user is not None and signed_in.user.email == email
        # a line break in the metadata cannot end the subject's header
        broken = _email("broken")
        client.auth.sign_in_with_otp({"email": broken,
                                      "options": {"data": {"name": "Ada\r\nBcc: x@y.z"}}})
        subject = _only_mail(mail_catcher, broken)["Subject"]
        assert subject.endswith(" Ada Bcc: x@y.z") and "\n" not in subject


def test_a_second_mail_within_max_frequency_is_429_and_racing_requests_send_one(
        configured: Any, mail_catcher: MailCatcher, admin: psycopg.Connection[Any]) -> None:
    with configured(email_max_frequency_s=60.0) as (server, api):
        email = _email("often")

        def ask() -> httpx.Response:
            return api.post("/auth/v1/otp", json={"email": email}, headers=V2024)

        assert ask().status_code == 200
        second = ask()
        assert second.status_code == 429, second.text
        assert second.json() == {
            "code": "over_email_send_rate_limit",
            "message": "For security purposes, you can only request this after 59 seconds."}
        assert len(_mail_to(mail_catcher, email)) == 1

        def race(address: str) -> list[tuple[int, str | None]]:
            with ThreadPoolExecutor(8) as pool:
                answers = list(pool.map(lambda _: api.post(
                    "/auth/v1/otp", json={"email": address}, headers=V2024), range(8)))
            return sorted((a.status_code, a.json().get("code")) for a in answers)

        known = _email("race")
        _client(server, SERVICE_ROLE_KEY).auth.admin.create_user(
            {"email": known, "password": PASSWORD, "email_confirm": True})
        assert race(known) == [(200, None)] + [(429, "over_email_send_rate_limit")] * 7
        assert len(_mail_to(mail_catcher, known)) == 1
        # a new address: one sign-up wins; the others lose its insert (GoTrue's 500), find
        # it confirmed, or find its mail just sent
        new = _email("race-new")
        answers = race(new)
        assert answers[0] == (200, None) and (200, None) not in answers[1:], answers
        assert {a for a in answers[1:]} <= {(500, "unexpected_failure"),
                                             (422, "user_already_exists"),
                                             (429, "over_email_send_rate_limit")}, answers
        assert one(admin, "select count(*) from auth.users where email = %s", new) == 1
        assert len(_mail_to(mail_catcher, new)) == 1


def test_a_recovery_mail_goes_to_a_known_address_only_and_its_link_lets_the_password_change(
        local_api: ServerThread, mail_catcher: MailCatcher) -> None:
    client = _client(local_api)
    unknown = _email("nobody")
    client.auth.reset_password_for_email(unknown)  # 200 all the same: nothing to tell
    assert _mail_to(mail_catcher, unknown) == []
    email = _email("forgot")
    client.auth.sign_up({"email": email, "password": PASSWORD})
    client.auth.reset_password_for_email(email, {"redirect_to": "http://127.0.0.1:3000/reset"})
    message = _only_mail(mail_catcher, email)
    assert message["Subject"] == "Choose a new password"
    response = httpx.get(_link(message))
    assert response.headers["location"].startswith("http://127.0.0.1:3000/reset#")
    session = dict(parse_qsl(urlsplit(response.headers["location"]).fragment))
    assert session["type"] == "recovery"
    recovering = _client(local_api)
    recovering.auth.set_session(session["access_token"], session["refresh_token"])
    recovering.auth.update_user({"password": "a-new-good-password"})
    signed_in = _client(local_api).auth.sign_in_with_password(
        {"email": email, "password": "a-new-good-password"})
    assert signed_in.session is not None


def test_the_reauthentication_code_by_mail_lets_an_old_session_change_its_password(
        configured: Any, mail_catcher: MailCatcher, admin: psycopg.Connection[Any]) -> None:
    with configured(secure_password_change=True) as (server, _):
        email = _email("reauth")
        client = _client(server)
        session = client.auth.sign_up({"email": email, "password": PASSWORD}).session
        assert session is not None
        admin.execute("update auth.sessions set created_at = now() - interval '25 hours'"
                      " where user_id = %s", (session.user.id,))
        assert _refused(lambda: client.auth.update_user({"password": "another-password"}))[:2] \
            == (400, "reauthentication_needed")
        client.auth.reauthenticate()
        message = _only_mail(mail_catcher, email)
        code = message["Subject"].removesuffix(" is your code")
        assert code.isdigit() and code in message["Text"]
        client.auth.update_user({"password": "another-password", "nonce": code})
        assert one(admin, "select encrypted_password = extensions.crypt('another-password',"
                   " encrypted_password) from auth.users where email = %s", email)


def test_with_confirmations_on_a_sign_up_waits_for_the_link_in_its_mail(
        configured: Any, mail_catcher: MailCatcher, admin: psycopg.Connection[Any]) -> None:
    with configured(email_confirmations=True) as (server, api):
        email = _email("confirm")
        client = _client(server)
        signed_up = client.auth.sign_up({"email": email, "password": PASSWORD,
                                         "options": {"data": {"plan": "free"}}})
        assert signed_up.session is None and signed_up.user is not None
        assert signed_up.user.email_confirmed_at is None
        assert signed_up.user.confirmation_sent_at is not None
        assert _refused(lambda: _client(server).auth.sign_in_with_password(
            {"email": email, "password": PASSWORD}))[:2] == (400, "email_not_confirmed")
        message = _only_mail(mail_catcher, email)
        assert message["Subject"] == "Confirm your address"
        session = _opened(_link(message))
        assert session["type"] == "signup"
        assert _client(server).auth.sign_in_with_password(
            {"email": email, "password": PASSWORD}).session is not None
        # a confirmed address signs up again: a user that is not it, and no mail
        again = api.post("/auth/v1/signup", json={"email": email, "password": PASSWORD},
                         headers=V2024)
        assert again.status_code == 200, again.text
        assert again.json()["id"] != signed_up.user.id and again.json()["identities"] == []
        assert len(_mail_to(mail_catcher, email)) == 1
        assert api.get("/auth/v1/settings").json()["mailer_autoconfirm"] is False
        assert api.post("/auth/v1/signup", json={"email": _email(), "password": "12345"},
                        headers=V2024).json()["code"] == "weak_password"  # checked before
    with configured(email_confirmations=True, email_sent_per_hour=1) as (server, api):
        client = _client(server)
        client.auth.sign_up({"email": _email("first"), "password": PASSWORD})
        refused = api.post("/auth/v1/signup", json={"email": (late := _email("late")),
                                                    "password": PASSWORD}, headers=V2024)
        assert (refused.status_code, refused.json()) == (429, {
            "code": "over_email_send_rate_limit", "message": "email rate limit exceeded"})
        assert one(admin, "select count(*) from auth.users where email = %s", late) == 0


def test_resend_mails_a_new_confirmation_link_and_the_first_one_no_longer_works(
        configured: Any, mail_catcher: MailCatcher) -> None:
    with configured(email_confirmations=True, email_max_frequency_s=0.0) as (server, api):
        email = _email("resend")
        client = _client(server)
        client.auth.sign_up({"email": email, "password": PASSWORD})
        first = _link(_only_mail(mail_catcher, email))
        client.auth.resend({"type": "signup", "email": email})
        messages = _mail_to(mail_catcher, email)
        assert len(messages) == 2
        second = _link(httpx.get(f"{mail_catcher.url}/api/v1/message/"
                                 f"{messages[0]['ID']}").json())
        assert "error_code=otp_expired" in httpx.get(first).headers["location"]
        assert _opened(second)["type"] == "signup"
        # confirmed now, or unknown: answered alike, and nothing is sent
        for address in (email, _email("nobody")):
            client.auth.resend({"type": "signup", "email": address})
        assert len(_mail_to(mail_catcher, email)) == 2
        for body, message in (
                ({"type": "magiclink", "email": email},
                 "Missing one of these types: signup, email_change, sms, phone_change"),
                ({"type": "signup"}, "Type provided requires an email address"),
                ({"type": "email_change"}, "Missing email address or phone number")):
            refused = api.post("/auth/v1/resend", json=body, headers=V2024)
            assert (refused.status_code, refused.json()) == (
                400, {"code": "validation_failed", "message": message}), body
        sms = api.post("/auth/v1/resend", json={"type": "sms", "phone": "+48600100200"},
                       headers=V2024)
        assert (sms.status_code, sms.json()["code"]) == (400, "phone_provider_disabled")


def test_an_invitation_by_mail_confirms_the_invited_user_who_then_sets_a_password(
        local_api: ServerThread, mail_catcher: MailCatcher,
        admin: psycopg.Connection[Any]) -> None:
    email = _email("invited")
    supabase_admin = _client(local_api, SERVICE_ROLE_KEY).auth.admin
    invited = supabase_admin.invite_user_by_email(email, {"data": {"team": "blue"}})
    assert invited.user.invited_at is not None and invited.user.email_confirmed_at is None
    assert invited.user.user_metadata == {"team": "blue"}
    message = _only_mail(mail_catcher, email)
    assert message["Subject"] == "Your invitation"
    session = _opened(_link(message))
    assert session["type"] == "invite"
    client = _client(local_api)
    client.auth.set_session(session["access_token"], session["refresh_token"])
    client.auth.update_user({"password": "an-invited-password"})
    assert _client(local_api).auth.sign_in_with_password(
        {"email": email, "password": "an-invited-password"}).session is not None
    # confirmed now: no second invitation
    assert _refused(lambda: supabase_admin.invite_user_by_email(email))[:2] == (
        422, "email_exists")
    assert len(_mail_to(mail_catcher, email)) == 1
    assert one(admin, "select count(*) from auth.users where email = %s", email) == 1


def _signed_in(server: ServerThread, email: str) -> Client:
    """A confirmed user with a password, signed in on a client of its own."""
    _client(server, SERVICE_ROLE_KEY).auth.admin.create_user(
        {"email": email, "password": PASSWORD, "email_confirm": True})
    client = _client(server)
    client.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    return client


def _message(catcher: MailCatcher, summary: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = httpx.get(f"{catcher.url}/api/v1/message/{summary['ID']}").json()
    return found


def test_an_email_change_mails_both_addresses_and_either_link_confirms_it(
        local_api: ServerThread, mail_catcher: MailCatcher,
        admin: psycopg.Connection[Any]) -> None:
    """Confirmations off and `double_confirm_changes` on, as in the CLI's template: a link
    to the new address and one to the current, and the first opened changes the address."""
    old, new = _email("old"), _email("new")
    client = _signed_in(local_api, old)
    asked = client.auth.update_user({"email": new})
    assert asked.user.email == old and asked.user.new_email == new
    assert asked.user.email_change_sent_at is not None
    to_new, to_old = _only_mail(mail_catcher, new), _only_mail(mail_catcher, old)
    assert to_new["Subject"] == to_old["Subject"] == "Confirm your new address"
    assert f"from {old} to {new}" in to_new["Text"]
    session = _opened(_link(to_new))
    assert session["type"] == "email_change"
    user = admin.execute("select u.email, coalesce(u.email_change, ''),"
                         " i.identity_data->>'email'"
                         " from auth.users u join auth.identities i on i.user_id = u.id"
                         " where u.id = %s", (asked.user.id,)).fetchone()
    assert user == (new, "", new)
    assert "error_code=otp_expired" in httpx.get(_link(to_old)).headers["location"]
    # the address another user has is refused before anything is sent
    other = _email("other")
    _signed_in(local_api, other)
    assert _refused(lambda: client.auth.update_user({"email": other}))[:2] == (
        422, "email_exists")
    assert len(_mail_to(mail_catcher, other)) == 0


def test_with_confirmations_on_an_email_change_needs_both_links(
        configured: Any, mail_catcher: MailCatcher, admin: psycopg.Connection[Any]) -> None:
    with configured(email_confirmations=True) as (server, _):
        old, new = _email("both-old"), _email("both-new")
        client = _signed_in(server, old)
        client.auth.update_user({"email": new})
        first = httpx.get(_link(_only_mail(mail_catcher, old))).headers["location"]
        assert first == (f"{SITE_URL}#message=Confirmation+link+accepted.+Please+proceed+to"
                         "+confirm+link+sent+to+the+other+email&sb=")
        assert one(admin, "select email from auth.users where email_change = %s", new) == old
        assert _opened(_link(_only_mail(mail_catcher, new)))["type"] == "email_change"
        assert one(admin, "select count(*) from auth.users where email = %s", new) == 1


def test_an_email_changes_code_confirms_it_by_verify_otp_and_resend_sends_new_ones(
        configured: Any, mail_catcher: MailCatcher) -> None:
    template = ("email_change", "{{ .Token }} for {{ .SendingTo }}", "<p>{{ .Token }}</p>")
    with configured(email_templates=(template,), email_max_frequency_s=0.0) as (server, _):
        old, new = _email("code-old"), _email("code-new")
        client = _signed_in(server, old)
        client.auth.update_user({"email": new})
        client.auth.resend({"type": "email_change", "email": old})
        latest = _mail_to(mail_catcher, new)
        assert len(latest) == 2 and latest[0]["Subject"].endswith(f" for {new}")
        stale = latest[1]["Subject"].split()[0]
        assert _refused(lambda: _client(server).auth.verify_otp(
            {"email": new, "token": stale, "type": "email_change"}))[:2] == (
            403, "otp_expired")
        code = latest[0]["Subject"].split()[0]
        changed = _client(server).auth.verify_otp(
            {"email": new, "token": code, "type": "email_change"})
        assert changed.user is not None and changed.user.email == new


def test_notifications_turned_on_tell_of_a_new_password_and_of_a_new_address(
        configured: Any, mail_catcher: MailCatcher) -> None:
    """`[auth.email.notification.password_changed]` and `email_changed` (off in the CLI's
    template): the first to the user, the second to the address the account had."""
    notifications = (("email_changed", "Moved to {{ .Email }}", ""),
                     ("password_changed", "", ""))
    with configured(email_notifications=notifications) as (server, _):
        old, new = _email("told-old"), _email("told-new")
        client = _signed_in(server, old)
        client.auth.update_user({"password": "a-changed-password"})
        assert _only_mail(mail_catcher, old)["Subject"] == "Your password was changed"
        client.auth.update_user({"email": new})
        _opened(_link(_only_mail(mail_catcher, new)))
        told = [m["Subject"] for m in _mail_to(mail_catcher, old)]
        assert told[0] == f"Moved to {new}" and len(told) == 3  # the change's link too
    with configured() as (server, _):  # off: nothing more than the links
        quiet = _email("quiet")
        _signed_in(server, quiet).auth.update_user({"password": "a-changed-password"})
        assert _mail_to(mail_catcher, quiet) == []


def test_no_log_line_names_the_address_or_the_code_of_a_mail(
        local_api: ServerThread, mail_catcher: MailCatcher,
        caplog: pytest.LogCaptureFixture) -> None:
    email = _email("private")
    with caplog.at_level(logging.DEBUG):
        _client(local_api).auth.sign_in_with_otp({"email": email})
        link = _link(_only_mail(mail_catcher, email))
    token = dict(parse_qsl(urlsplit(link).query))["token"]
    logged = [record.getMessage() + repr(record.__dict__) for record in caplog.records]
    assert logged, "the mail was logged (its size, its template)"
    assert not [line for line in logged if email in line or token in line]


def test_the_email_rate_limit_counts_as_gotrues_interval_limiter() -> None:
    """`ratelimit.IntervalLimiter`: `email_sent` mails in each hour since the limiter was
    made, only while confirmations are on; 0 refuses every mail, confirmations or not."""
    limited = Mailer(AuthConfig(email_confirmations=True, email_sent_per_hour=2), "")
    assert [limited.over_rate_limit() for _ in range(3)] == [False, False, True]
    limited._window_start -= 3601  # an hour later (the limiter's own clock)
    assert [limited.over_rate_limit() for _ in range(3)] == [False, False, True]
    unlimited = Mailer(AuthConfig(email_sent_per_hour=1), "")
    assert not any(unlimited.over_rate_limit() for _ in range(5))
    assert Mailer(AuthConfig(email_sent_per_hour=0), "").over_rate_limit()


def test_a_mail_the_smtp_server_refuses_is_500_and_leaves_the_token_as_it_was(
        configured: Any, admin: psycopg.Connection[Any]) -> None:
    with configured(smtp_port=free_port()) as (server, api):  # nothing listens there
        email = _email("down")
        _client(server, SERVICE_ROLE_KEY).auth.admin.create_user(
            {"email": email, "password": PASSWORD, "email_confirm": True})
        response = api.post("/auth/v1/otp", json={"email": email}, headers=V2024)
        assert (response.status_code, response.json()) == (500, {
            "code": "unexpected_failure", "message": "Error sending magic link email"})
        assert admin.execute("select recovery_token, recovery_sent_at from auth.users"
                             " where email = %s", (email,)).fetchone() == (None, None)


def test_with_no_smtp_host_nothing_is_sent_and_each_route_answers_as_if_it_was(
        configured: Any, mail_catcher: MailCatcher) -> None:
    with configured(smtp_host="") as (server, _):
        email = _email("noop")
        _client(server).auth.sign_in_with_otp({"email": email})
        assert _mail_to(mail_catcher, email) == []


def test_with_the_send_email_hook_on_a_mail_is_not_served_and_nothing_changes(
        configured: Any, mail_catcher: MailCatcher, admin: psycopg.Connection[Any]) -> None:
    """GoTrue hands its mail to `[auth.hook.send_email]` instead of SMTP; that hook is not
    called here, so the mail is refused rather than sent another way."""
    with configured(send_email_hook=True) as (server, api):
        email = _email("hook")
        _client(server, SERVICE_ROLE_KEY).auth.admin.create_user(
            {"email": email, "password": PASSWORD, "email_confirm": True})
        refused = api.post("/auth/v1/otp", json={"email": email}, headers=V2024)
        assert (refused.status_code, refused.json()["code"]) == (422, "not_served_locally")
        assert "send email hook" in refused.json()["message"]
        assert one(admin, "select recovery_sent_at from auth.users where email = %s",
                   email) is None
        assert _mail_to(mail_catcher, email) == []


def test_metadata_postgres_cannot_hold_is_gotrues_500_and_makes_no_user(
        api_http: httpx.Client, mail_catcher: MailCatcher,
        admin: psycopg.Connection[Any]) -> None:
    """Found by Schemathesis with GoTrue's openapi.yaml: a NUL in `data` (jsonb holds none)
    is `signupNewUser`'s 500 "Database error saving new user", and nothing is left."""
    email = _email("nul")
    refused = api_http.post("/auth/v1/otp", headers=V2024,
                            json={"email": email, "data": {"name": "a\u0000b"}})
    assert (refused.status_code, refused.json()) == (500, {
        "code": "unexpected_failure", "message": "Database error saving new user"})
    assert one(admin, "select count(*) from auth.users where email = %s", email) == 0
    assert _mail_to(mail_catcher, email) == []


@pytest.mark.parametrize(("body", "status", "code", "message"), [
    ({"email": "a@b.co", "phone": "+48600100200"}, 400, "validation_failed",
     "Only an email address or phone number should be provided"),
    ({"email": "a@b.co", "channel": "sms"}, 400, "validation_failed",
     "Channel should only be specified with Phone OTP"),
    ({"email": "not-an-address"}, 400, "validation_failed",
     "Unable to validate email address: invalid format"),
    ({"email": "a@b.co", "code_challenge": "x" * 43}, 400, "validation_failed",
     "PKCE flow requires code_challenge_method and code_challenge"),
    ({"phone": "+48600100200"}, 400, "phone_provider_disabled", "Unsupported phone provider"),
    ({}, 400, "validation_failed", "One of email or phone must be set"),
    ({"email": 5}, 400, "bad_json", "Could not parse request body as JSON"),
])
def test_a_bad_otp_request_is_refused_as_gotrue_refuses_it(
        api_http: httpx.Client, body: dict[str, Any], status: int, code: str,
        message: str) -> None:
    response = api_http.post("/auth/v1/otp", json=body, headers=V2024)
    assert (response.status_code, response.json()) == (status, {"code": code,
                                                                "message": message})


@pytest.mark.parametrize(("challenge", "message"), [
    ("x" * 42, "code challenge has to be between 43 and 128 characters"),
    ("x" * 129, "code challenge has to be between 43 and 128 characters"),
    ("x" * 42 + "/", "code challenge can only contain alphanumeric characters, hyphens,"
     " periods, underscores and tildes"),
])
def test_a_code_challenge_gotrue_would_not_take_is_400_and_sends_nothing(
        api_http: httpx.Client, mail_catcher: MailCatcher, challenge: str, message: str) -> None:
    email = _email("challenge")
    for path in ("/auth/v1/otp", "/auth/v1/recover", "/auth/v1/magiclink"):
        refused = api_http.post(path, headers=V2024, json={
            "email": email, "code_challenge": challenge, "code_challenge_method": "s256"})
        assert (refused.status_code, refused.json()) == (
            400, {"code": "validation_failed", "message": message}), path
    assert _mail_to(mail_catcher, email) == []


def test_a_missing_address_is_answered_before_anything_is_sent(
        api_http: httpx.Client) -> None:
    for path, status in (("/auth/v1/magiclink", 422), ("/auth/v1/recover", 400)):
        missing = api_http.post(path, json={}, headers=V2024)
        assert (missing.status_code, missing.json()) == (status, {
            "code": "validation_failed", "message": "Password recovery requires an email"})


# -----------------------------------------------------------------------------
# The mail catcher, as Mailpit's API answers
# -----------------------------------------------------------------------------

def test_the_mail_catcher_lists_searches_shows_and_deletes_as_mailpit_does(
        local_api: ServerThread, mail_catcher: MailCatcher) -> None:
    email = _email("catcher")
    client = _client(local_api)
    client.auth.sign_up({"email": email, "password": PASSWORD})
    client.auth.reset_password_for_email(email)
    api = httpx.Client(base_url=mail_catcher.url)
    listed = api.get("/api/v1/messages", params={"limit": 1})
    assert listed.headers["content-type"] == "application/json"
    body = listed.json()
    assert set(body) == {"total", "unread", "count", "messages_count", "start", "tags",
                         "messages"}
    assert body["count"] == 1 and body["total"] >= 1
    assert set(body["messages"][0]) == {
        "ID", "MessageID", "Read", "From", "To", "Cc", "Bcc", "ReplyTo", "Subject", "Created",
        "Tags", "Size", "Attachments", "Snippet"}
    found = _mail_to(mail_catcher, email)
    assert [m["Subject"] for m in found] == ["Choose a new password"]
    assert found[0]["MessageID"].endswith("@mailpit") and found[0]["Read"] is False
    latest = api.get("/api/v1/message/latest", params={"query": f"to:{email}"}).json()
    assert set(latest) == {  # `storage.Message` of v1.22.3
        "ID", "MessageID", "From", "To", "Cc", "Bcc", "ReplyTo", "ReturnPath", "Subject",
        "ListUnsubscribe", "Date", "Tags", "Text", "HTML", "Size", "Inline", "Attachments"}
    assert latest["ID"] == found[0]["ID"] and latest["ReturnPath"] == "admin@email.com"
    assert _mail_to(mail_catcher, email)[0]["Read"] is True  # shown: read
    assert api.get(f"/api/v1/message/{latest['ID']}/raw").text.startswith("Return-Path: ")
    assert api.get(f"/view/{latest['ID']}.html").text == latest["HTML"]
    assert api.get(f"/api/v1/message/{latest['ID']}/headers").json()["To"] == [email]
    assert (api.get("/api/v1/message/nope").status_code,
            api.get("/api/v1/message/nope").text) == (404, "404 page not found")
    assert (api.get("/api/v1/search").status_code, api.get("/api/v1/search").text) == (
        400, "Error: no search query")
    excluded = api.get("/api/v1/search", params={"query": f"to:{email} -subject:password"})
    assert excluded.json()["messages_count"] == 0
    assert api.request("DELETE", "/api/v1/messages", json={"IDs": [latest["ID"]]}).text == "ok"
    assert _mail_to(mail_catcher, email) == []
    assert api.get("/readyz").status_code == 200 and email not in api.get("/").text
