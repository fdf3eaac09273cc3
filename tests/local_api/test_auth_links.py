"""Email links without mail: supabase-py's `auth.admin.generate_link` makes the code and the
link a mail would carry, as GoTrue v2.196's `adminGenerateLink` does (gotrue_admin.py), and
`auth.verify_otp` signs the user in with either (gotrue.py's `verify`), as a test or a seed
script does it on `supabase start` without reading Mailpit."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

import httpx
import jwt
import psycopg
import pytest
from supabase_auth.errors import AuthApiError

from python_functions.local.api import gotrue_links
from python_functions.local.config import AuthConfig
from supabase import Client, ClientOptions, create_client
from tests.conftest import TEST_EMAIL_DOMAIN, one
from tests.http_fixtures import ANON_KEY, SERVICE_ROLE_KEY, ServerThread

PASSWORD = "a-good-password"
V2024 = {"X-Supabase-Api-Version": "2024-01-01"}
SITE_URL = "http://127.0.0.1:3000"  # supabase/config.toml's [auth] site_url


def _email(tag: str = "link") -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"


def _client(local_api: ServerThread, key: str = ANON_KEY) -> Client:
    return create_client(local_api.url, key, ClientOptions(
        auto_refresh_token=False, persist_session=False, httpx_client=httpx.Client(timeout=10)))


@pytest.fixture
def supabase_admin(local_api: ServerThread) -> Any:
    return _client(local_api, SERVICE_ROLE_KEY).auth.admin


def _amr(access_token: str) -> list[str]:
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return [entry["method"] for entry in claims["amr"]]


def _refused(call: Any) -> tuple[int, str | None, str]:
    with pytest.raises(AuthApiError) as refused:
        call()
    return refused.value.status, refused.value.code, refused.value.message


def test_a_magic_link_code_signs_the_user_in_once(
        local_api: ServerThread, supabase_admin: Any, admin: psycopg.Connection[Any]) -> None:
    email = _email()
    supabase_admin.create_user({"email": email, "password": PASSWORD, "email_confirm": True})
    link = supabase_admin.generate_link({"type": "magiclink", "email": email.upper()})
    made = link.properties
    assert made.verification_type == "magiclink" and made.redirect_to == SITE_URL
    assert len(made.email_otp) == 6 and made.email_otp.isdigit()
    assert made.hashed_token == gotrue_links.token_hash(email, made.email_otp)
    assert made.action_link == (f"{local_api.url}/auth/v1/verify?token={made.hashed_token}"
                                f"&type=magiclink&redirect_to={SITE_URL}")
    assert link.user.email == email and link.user.recovery_sent_at is not None
    assert one(admin, "select recovery_token from auth.users where email = %s",
               email) == made.hashed_token

    client = _client(local_api)
    signed_in = client.auth.verify_otp({"email": email, "token": made.email_otp,
                                        "type": "email"})
    assert signed_in.session is not None and signed_in.user is not None
    assert signed_in.user.email == email and _amr(signed_in.session.access_token) == ["otp"]
    # the session is a user's like any other: the apps' RPCs take it
    quota: Any = client.schema("pullups").rpc("ai_quota", {}).execute().data
    assert quota["data"]["limit"] == 5
    # spent: the same code, or its hash, is refused
    assert _refused(lambda: client.auth.verify_otp(
        {"email": email, "token": made.email_otp, "type": "magiclink"})) == (
        403, "otp_expired", "Token has expired or is invalid")
    assert _refused(lambda: client.auth.verify_otp(
        {"token_hash": made.hashed_token, "type": "magiclink"})) == (
        403, "otp_expired", "Email link is invalid or has expired")
    # a new link's hash signs in as well
    fresh = supabase_admin.generate_link({"type": "magiclink", "email": email}).properties
    by_hash = _client(local_api).auth.verify_otp({"token_hash": fresh.hashed_token,
                                                  "type": "email"})
    assert by_hash.user is not None and by_hash.user.email == email


def test_a_signup_link_confirms_its_user_by_the_code(
        local_api: ServerThread, supabase_admin: Any, api_http: httpx.Client,
        admin: psycopg.Connection[Any]) -> None:
    email = _email("signup")
    link = supabase_admin.generate_link({"type": "signup", "email": email,
                                         "password": PASSWORD,
                                         "options": {"data": {"full_name": "Ada"}}})
    assert link.properties.verification_type == "signup"
    assert link.user.email_confirmed_at is None and link.user.confirmation_sent_at is not None
    assert link.user.user_metadata == {"full_name": "Ada"}

    def sign_in() -> httpx.Response:
        return api_http.post("/auth/v1/token", params={"grant_type": "password"},
                             json={"email": email, "password": PASSWORD}, headers=V2024)

    assert sign_in().json()["code"] == "email_not_confirmed"
    verified = _client(local_api).auth.verify_otp({
        "token_hash": link.properties.hashed_token, "type": "signup"})
    assert verified.user is not None and verified.user.email_confirmed_at is not None
    assert verified.user.user_metadata == {"full_name": "Ada", "email_verified": True}
    assert one(admin, "select (identity_data->>'email_verified')::boolean from"
               " auth.identities where user_id = %s", verified.user.id) is True
    assert sign_in().status_code == 200
    # a confirmed user gets no signup (or invite) link
    for kind in ("signup", "invite"):
        assert _refused(lambda kind=kind: supabase_admin.generate_link(
            {"type": kind, "email": email, "password": PASSWORD})) == (
            422, "email_exists", "A user with this email address has already been registered")


def test_a_magic_link_for_an_unknown_address_signs_them_up(
        local_api: ServerThread, supabase_admin: Any) -> None:
    email = _email("newcomer")
    link = supabase_admin.generate_link({"type": "magiclink", "email": email})
    assert link.properties.verification_type == "signup"
    assert "type=signup" in link.properties.action_link
    assert link.user.email_confirmed_at is None
    verified = _client(local_api).auth.verify_otp(
        {"email": email, "token": link.properties.email_otp, "type": "email"})
    assert verified.user is not None and verified.user.email_confirmed_at is not None


def test_an_invite_gives_the_invited_user_a_session(
        local_api: ServerThread, supabase_admin: Any, admin: psycopg.Connection[Any]) -> None:
    email = _email("invited")
    link = supabase_admin.generate_link({"type": "invite", "email": email,
                                         "options": {"data": {"team": "a"}}})
    assert link.user.invited_at is not None and link.user.email_confirmed_at is None
    assert one(admin, "select encrypted_password is null from auth.users where id = %s",
               link.user.id) is True
    verified = _client(local_api).auth.verify_otp(
        {"token_hash": link.properties.hashed_token, "type": "invite"})
    assert verified.session is not None and verified.user is not None
    assert verified.user.email_confirmed_at is not None
    # signed up with a random password, which the app then asks the user to replace
    assert one(admin, "select encrypted_password like '$2a$10$%%' from auth.users"
               " where id = %s", link.user.id) is True


def test_a_recovery_link_is_for_a_known_address_only(
        local_api: ServerThread, supabase_admin: Any) -> None:
    assert _refused(lambda: supabase_admin.generate_link(
        {"type": "recovery", "email": _email("nobody")})) == (
        404, "user_not_found", "User with this email not found")
    email = _email("forgetful")
    supabase_admin.create_user({"email": email, "password": PASSWORD, "email_confirm": True})
    made = supabase_admin.generate_link({"type": "recovery", "email": email}).properties
    assert "type=recovery" in made.action_link
    verified = _client(local_api).auth.verify_otp(
        {"email": email, "token": made.email_otp, "type": "recovery"})
    assert verified.session is not None
    assert _amr(verified.session.access_token) == ["otp"]


def test_a_refreshed_session_keeps_how_it_was_signed_in(
        local_api: ServerThread, supabase_admin: Any, admin: psycopg.Connection[Any]) -> None:
    """`amr` comes from the session's `auth.mfa_amr_claims` (`CalculateAALAndAMR`), with the
    time of the sign-in, not of the refresh."""
    email = _email("refresh")
    supabase_admin.create_user({"email": email, "password": PASSWORD, "email_confirm": True})
    made = supabase_admin.generate_link({"type": "magiclink", "email": email}).properties
    client = _client(local_api)
    signed_in = client.auth.verify_otp({"token_hash": made.hashed_token, "type": "magiclink"})
    assert signed_in.session is not None
    first = jwt.decode(signed_in.session.access_token, options={"verify_signature": False})
    admin.execute("update auth.mfa_amr_claims set updated_at = updated_at - interval '1 hour'"
                  " where session_id = %s", (first["session_id"],))
    refreshed = client.auth.refresh_session(signed_in.session.refresh_token).session
    assert refreshed is not None
    claims = jwt.decode(refreshed.access_token, options={"verify_signature": False})
    assert claims["amr"] == [{"method": "otp", "timestamp": first["amr"][0]["timestamp"] - 3600}]
    password = _client(local_api).auth.sign_in_with_password(
        {"email": email, "password": PASSWORD}).session
    assert password is not None and _amr(password.access_token) == ["password"]


@pytest.mark.parametrize("kind", ["magiclink", "signup"])
def test_requests_racing_with_one_code_sign_in_once(
        supabase_admin: Any, api_http: httpx.Client, kind: str) -> None:
    email = _email(f"race-{kind}")
    if kind == "magiclink":
        supabase_admin.create_user({"email": email, "password": PASSWORD,
                                    "email_confirm": True})
    made = supabase_admin.generate_link({"type": kind, "email": email,
                                         "password": PASSWORD}).properties

    def verify(_: int) -> int:
        return api_http.post("/auth/v1/verify", headers=V2024, json={
            "type": "email", "email": email, "token": made.email_otp}).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = sorted(pool.map(verify, range(8)))
    assert statuses == [200] + [403] * 7


def test_signup_links_racing_for_one_new_address_make_one_user(
        api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    """Eight requests for the same new address: one user. One that lost the race to insert
    it answers as GoTrue's `signupNewUser` does (500 "Database error saving new user"), in
    GoTrue's shape; the others find the user and make it a new code."""
    email = _email("race-signup")
    service = {"Authorization": f"Bearer {SERVICE_ROLE_KEY}", **V2024}

    def generate(_: int) -> tuple[int, str]:
        answer = api_http.post("/auth/v1/admin/generate_link", headers=service, json={
            "type": "signup", "email": email, "password": PASSWORD})
        return answer.status_code, answer.json().get("message", "")

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(generate, range(8)))
    assert (200, "") in answers
    assert set(answers) <= {(200, ""), (500, "Database error saving new user")}, answers
    assert one(admin, "select count(*) from auth.users where email = %s", email) == 1


def test_a_code_past_otp_expiry_is_refused(
        local_api: ServerThread, supabase_admin: Any, admin: psycopg.Connection[Any]) -> None:
    """`[auth.email] otp_expiry` (3600 s, the CLI's template): `isOtpExpired`."""
    email = _email("late")
    supabase_admin.create_user({"email": email, "password": PASSWORD, "email_confirm": True})
    made = supabase_admin.generate_link({"type": "magiclink", "email": email}).properties
    admin.execute("update auth.users set recovery_sent_at = now() - interval '3601 seconds'"
                  " where email = %s", (email,))
    client = _client(local_api)
    assert _refused(lambda: client.auth.verify_otp(
        {"email": email, "token": made.email_otp, "type": "magiclink"}))[:2] == (
        403, "otp_expired")
    assert _refused(lambda: client.auth.verify_otp(
        {"token_hash": made.hashed_token, "type": "magiclink"}))[:2] == (403, "otp_expired")
    admin.execute("update auth.users set recovery_sent_at = now() - interval '3500 seconds'"
                  " where email = %s", (email,))
    assert client.auth.verify_otp({"token_hash": made.hashed_token,
                                   "type": "magiclink"}).session is not None


def test_an_email_change_link_changes_the_address_and_its_code_does_too(
        local_api: ServerThread, supabase_admin: Any, admin: psycopg.Connection[Any]) -> None:
    """`email_change_current` and `email_change_new` (the CLI's template turns secure email
    changes on): each makes its side's token of a change; with confirmations off either one
    confirms it. The new side's `hashed_token` is the current address's hash, as GoTrue
    answers it, so its code is checked with the new address."""
    email, new = _email("change"), _email("changed")
    created = supabase_admin.create_user({"email": email, "password": PASSWORD,
                                          "email_confirm": True})
    made = supabase_admin.generate_link({"type": "email_change_current", "email": email,
                                         "new_email": new})
    assert made.properties.verification_type == "email_change_current"
    assert made.user.new_email == new
    link = made.properties.action_link
    assert "type=email_change&" in link
    assert one(admin, "select email_change_token_current from auth.users where id = %s",
               created.user.id) == made.properties.hashed_token
    with httpx.Client(follow_redirects=False) as browser:
        assert _fragment(browser.get(link).headers["location"])["type"] == "email_change"
    assert one(admin, "select email from auth.users where id = %s", created.user.id) == new
    newer = _email("newer")
    code = supabase_admin.generate_link({"type": "email_change_new", "email": new,
                                         "new_email": newer}).properties.email_otp
    changed = _client(local_api).auth.verify_otp({"email": newer, "token": code,
                                                  "type": "email_change"})
    assert changed.user is not None and changed.user.email == newer


def test_generate_link_refuses_as_gotrue_does(
        supabase_admin: Any, api_http: httpx.Client) -> None:
    service = {"Authorization": f"Bearer {SERVICE_ROLE_KEY}", **V2024}

    def generate(body: Any, headers: dict[str, str] = service) -> tuple[int, str, str]:
        answer = api_http.post("/auth/v1/admin/generate_link", json=body, headers=headers)
        return answer.status_code, answer.json().get("code"), answer.json().get("msg") or \
            answer.json().get("message")

    email = _email("refused")
    supabase_admin.create_user({"email": email, "password": PASSWORD, "email_confirm": True})
    for body, expected in (
            ({"type": "magiclink"}, (400, "validation_failed", "An email address is required")),
            ({"type": "magiclink", "email": "nope"},
             (400, "validation_failed", "Unable to validate email address: invalid format")),
            ({"type": "bogus", "email": email},
             (400, "validation_failed", "Invalid email action link type requested: bogus")),
            ({"type": "signup", "email": _email("nopass")},
             (400, "validation_failed", "Signup requires a valid password")),
            ({"type": "email_change_new", "email": email, "new_email": "nope"},
             (400, "validation_failed", "Unable to validate email address: invalid format")),
            ({"type": 1, "email": email},
             (400, "bad_json", "Could not parse request body as JSON"))):
        assert generate(body) == expected, body
    taken = _email("taken")
    supabase_admin.create_user({"email": taken, "password": PASSWORD})
    assert generate({"type": "email_change_new", "email": email, "new_email": taken}) == (
        422, "email_exists", "A user with this email address has already been registered")
    assert generate({"type": "magiclink", "email": email},
                    {"Authorization": f"Bearer {ANON_KEY}", **V2024})[:2] == (
        403, "not_admin")
    assert api_http.get("/auth/v1/admin/generate_link", headers=service).status_code == 405


def test_the_link_redirects_where_gotrue_allows(supabase_admin: Any) -> None:
    email = _email("redirect")
    supabase_admin.create_user({"email": email, "password": PASSWORD, "email_confirm": True})
    for wanted, kept in (("http://127.0.0.1:3000/welcome?next=a&b=c", True),
                         ("http://localhost:5173/callback", False),  # another host
                         ("https://evil.example/", False)):
        made = supabase_admin.generate_link({
            "type": "magiclink", "email": email,
            "options": {"redirect_to": wanted}}).properties
        assert made.redirect_to == (wanted if kept else SITE_URL), wanted
    # a referrer holding & = or # is escaped in the link, as GoTrue's `encodeRedirectURL` does
    assert made.action_link.endswith("&redirect_to=http://127.0.0.1:3000")
    welcome = supabase_admin.generate_link({
        "type": "magiclink", "email": email,
        "options": {"redirect_to": "http://127.0.0.1:3000/welcome?next=a"}}).properties
    assert welcome.action_link.endswith(
        "&redirect_to=http%3A%2F%2F127.0.0.1%3A3000%2Fwelcome%3Fnext%3Da")


@pytest.mark.parametrize(("url", "patterns", "valid"), [
    ("http://127.0.0.1:3000/a", (), True),            # the site's scheme, host and port
    ("http://127.0.0.1:4000/a", (), True),            # a loopback host's port may differ
    ("https://127.0.0.1:3000/a", (), True),           # a loopback IP address
    ("http://example.com/a", (), False),
    ("http://2130706433/", (), False),                # a decimal host
    ("http://exa_mple.com/", ("http://**",), False),  # not a regular host name
    ("https://app.example.com/cb", ("https://*.example.com/**",), True),
    ("https://a.b.example.com/cb", ("https://*.example.com/**",), False),  # * stops at .
    ("https://a.b.example.com/cb", ("https://**.example.com/**",), True),
    ("https://app.example.com/x/y", ("https://app.example.com/*",), False),  # * stops at /
    ("https://app.example.com/x#frag", ("https://app.example.com/x",), True),
    ("https://beta.example.com/", ("https://{alpha,beta}.example.com/",), True),
    ("https://app1.example.com/", ("https://app[0-9].example.com/",), True),
    ("https://appx.example.com/", ("https://app[!x].example.com/",), False),
    ("myapp://callback", ("myapp://callback",), True),
])
def test_redirect_urls_are_judged_as_gotrue_judges_them(
        url: str, patterns: tuple[str, ...], valid: bool) -> None:
    config = dataclasses.replace(AuthConfig(), additional_redirect_urls=patterns)
    assert gotrue_links.redirect_url_valid(url, config) is valid


def _fragment(location: str) -> dict[str, str]:
    return dict(parse_qsl(location.partition("#")[2], keep_blank_values=True))


def test_the_action_link_redirects_with_the_session_in_its_fragment(
        local_api: ServerThread, supabase_admin: Any) -> None:
    """`GET /verify` (`verifyGet`): what a browser opening the mail's link gets, read by
    supabase-js's `detectSessionInUrl`; here handed to supabase-py's `set_session`."""
    email = _email("browser")
    supabase_admin.create_user({"email": email, "password": PASSWORD, "email_confirm": True})
    made = supabase_admin.generate_link({
        "type": "magiclink", "email": email,
        "options": {"redirect_to": "http://127.0.0.1:3000/welcome"}}).properties
    with httpx.Client(timeout=10, follow_redirects=False) as browser:
        opened = browser.get(made.action_link)
        assert opened.status_code == 303
        location = opened.headers["location"]
        assert location.startswith("http://127.0.0.1:3000/welcome#")
        session = _fragment(location)
        assert set(session) == {"access_token", "expires_at", "expires_in", "refresh_token",
                                "sb", "token_type", "type"}
        assert (session["type"], session["token_type"], session["sb"]) == (
            "magiclink", "bearer", "")
        assert _amr(session["access_token"]) == ["otp"]
        client = _client(local_api)
        client.auth.set_session(session["access_token"], session["refresh_token"])
        quota: Any = client.schema("pullups").rpc("ai_quota", {}).execute().data
        assert quota["data"]["remaining"] == 5
        # opened again: the error, in the fragment, as GoTrue words it
        again = browser.get(made.action_link)
        assert again.status_code == 303
        assert again.headers["location"] == (
            "http://127.0.0.1:3000/welcome#error=access_denied&error_code=otp_expired"
            "&error_description=Email+link+is+invalid+or+has+expired&sb=")
        # a type no link has: refused after the redirect's target is known
        odd = browser.get(f"{local_api.url}/auth/v1/verify",
                          params={"token": made.hashed_token, "type": "sms"})
        assert _fragment(odd.headers["location"]) == {
            "error": "invalid_request", "error_code": "validation_failed",
            "error_description": "Invalid email verification type", "sb": ""}
        assert odd.headers["location"].startswith(SITE_URL + "#")
        # no token or no type: JSON, as GoTrue checks them first
        for params, message in (({"type": "magiclink"}, "Verify requires a token or a token hash"),
                                ({"token": "abc"}, "Verify requires a verification type")):
            bare = browser.get(f"{local_api.url}/auth/v1/verify", params=params)
            assert (bare.status_code, bare.json()["msg"]) == (400, message)
        # a PKCE link's refusal is in the query too (`prepErrorRedirectURL`)
        pkce = browser.get(f"{local_api.url}/auth/v1/verify",
                           params={"token": "pkce_abc", "type": "magiclink"})
        assert pkce.status_code == 303
        assert pkce.headers["location"] == (
            f"{SITE_URL}?error=access_denied&error_code=otp_expired"
            "&error_description=Email+link+is+invalid+or+has+expired#error=access_denied"
            "&error_code=otp_expired&error_description=Email+link+is+invalid+or+has+expired"
            "&sb=")


def test_a_token_postgres_cannot_hold_is_gotrues_500_not_a_bare_one(
        local_api: ServerThread, supabase_admin: Any, api_http: httpx.Client) -> None:
    """Found by Schemathesis over GoTrue's openapi.yaml: a NUL in a token hash. GoTrue's
    lookup fails in Postgres and answers 500 "Database error finding user from email link";
    the link's answer is that refusal in the redirect; any other value Postgres refuses is
    a 500 in GoTrue's shape."""
    posted = api_http.post("/auth/v1/verify", headers=V2024,
                           json={"type": "magiclink", "token_hash": "ab\u0000cd"})
    assert posted.status_code == 500
    assert (posted.json()["code"], posted.json()["message"]) == (
        "unexpected_failure", "Database error finding user from email link")
    with httpx.Client(timeout=10, follow_redirects=False) as browser:
        opened = browser.get(f"{local_api.url}/auth/v1/verify",
                             params={"token": "ab\x00cd", "type": "magiclink"})
    assert opened.status_code == 303
    assert _fragment(opened.headers["location"]) == {
        "error": "server_error", "error_code": "unexpected_failure",
        "error_description": "Database error finding user from email link", "sb": ""}
    listed = api_http.get("/auth/v1/admin/users", params={"filter": "a\x00b"},
                          headers={"Authorization": f"Bearer {SERVICE_ROLE_KEY}", **V2024})
    assert listed.status_code == 500
    assert listed.json()["code"] == "unexpected_failure"
    assert listed.headers["content-type"] == "application/json"
