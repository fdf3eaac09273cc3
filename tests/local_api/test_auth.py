"""/auth/v1 answers as GoTrue does for sign-up, sign-in, refresh, user and sign-out, with
passwords stored as GoTrue stores them (bcrypt)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jwt
import psycopg
import pytest
from supabase_auth.errors import AuthApiError

from python_functions.local.api import create_app as create_local_api
from python_functions.local.cluster import free_port
from python_functions.local.config import AuthConfig, auth_config
from python_functions.service.settings import DEV_JWT_SECRET
from supabase import ClientOptions, create_client
from tests.conftest import TEST_ANONYMOUS_DATA, TEST_EMAIL_DOMAIN, one, race
from tests.http_fixtures import ANON_KEY, ServerThread
from tests.local_api.conftest import session_claims

V2024 = {"X-Supabase-Api-Version": "2024-01-01"}


def _email() -> str:
    return f"signup-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"


PASSWORD = "a-good-password"


def _signup(api_http: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return api_http.post("/auth/v1/signup", json={"email": email, "password": password},
                         headers=V2024)


def _auth_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert response.headers["x-supabase-api-version"] == "2024-01-01"
    return body


def test_signup_stores_a_bcrypt_password_and_answers_a_session(
        api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    email = _email()
    response = _signup(api_http, email)
    assert response.status_code == 200, response.text
    session = response.json()
    assert session["token_type"] == "bearer" and session["expires_in"] == 3600
    assert session["refresh_token"] and session["user"]["email"] == email
    claims = session_claims(session["access_token"])
    assert claims["sub"] == session["user"]["id"] and claims["role"] == "authenticated"
    assert claims["exp"] == session["expires_at"]
    assert claims["iss"].endswith("/auth/v1")
    stored = one(admin, "select encrypted_password from auth.users where email = %s", email)
    assert stored.startswith("$2a$10$") and "a-good-password" not in stored
    assert one(admin, "select count(*) from auth.identities i join auth.users u"
                      " on u.id = i.user_id where u.email = %s and i.provider = 'email'",
               email) == 1


def test_signup_twice_is_422_user_already_exists(api_http: httpx.Client) -> None:
    email = _email()
    assert _signup(api_http, email).status_code == 200
    body = _auth_error(_signup(api_http, email.upper()), 422, "user_already_exists")
    assert body["message"] == "User already registered"


def test_a_short_password_is_422_weak_password_with_reasons(api_http: httpx.Client) -> None:
    body = _auth_error(_signup(api_http, _email(), "12345"), 422, "weak_password")
    assert body["weak_password"] == {"reasons": ["length"]}


def test_an_invalid_email_is_400_validation_failed(api_http: httpx.Client) -> None:
    _auth_error(_signup(api_http, "not-an-email"), 400, "validation_failed")
    too_long = _signup(api_http, "x" * 250 + "@example.com")
    assert _auth_error(too_long, 400, "validation_failed")["message"] == (
        "An email address is too long")


def test_password_sign_in_and_the_user_endpoint(api_http: httpx.Client) -> None:
    email = _email()
    _signup(api_http, email).raise_for_status()
    signed_in = api_http.post("/auth/v1/token", params={"grant_type": "password"},
                              json={"email": email, "password": "a-good-password"},
                              headers=V2024)
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["access_token"]
    user = api_http.get("/auth/v1/user", headers={"Authorization": f"Bearer {token}"})
    assert user.status_code == 200, user.text
    assert user.json()["email"] == email and user.json()["last_sign_in_at"]
    assert user.json()["identities"][0]["provider"] == "email"


def test_a_wrong_password_and_an_unknown_user_are_the_same_400(
        api_http: httpx.Client) -> None:
    email = _email()
    _signup(api_http, email).raise_for_status()
    for who, password in ((email, "wrong-password"), (_email(), "a-good-password")):
        response = api_http.post("/auth/v1/token", params={"grant_type": "password"},
                                 json={"email": who, "password": password}, headers=V2024)
        body = _auth_error(response, 400, "invalid_credentials")
        assert body["message"] == "Invalid login credentials"


def test_without_the_api_version_header_errors_have_the_legacy_shape(
        api_http: httpx.Client) -> None:
    response = api_http.post("/auth/v1/token", params={"grant_type": "password"},
                             json={"email": _email(), "password": "x"})
    assert response.status_code == 400
    assert response.json() == {"code": 400, "error_code": "invalid_credentials",
                               "msg": "Invalid login credentials"}


def test_a_refresh_token_is_swapped_once_and_answered_again_as_gotrue_does(
        api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    """Rotation with `supabase start`'s 10 s reuse interval (`tokens/service.go`)."""
    first = _signup(api_http, _email()).json()
    refreshed = _refresh(api_http, first)
    assert refreshed.status_code == 200, refreshed.text
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (jwt.decode(second["access_token"], options={"verify_signature": False})
            ["session_id"] == jwt.decode(first["access_token"],
                                         options={"verify_signature": False})["session_id"])
    # the answer was lost: the same token again gets the session's current one, its child
    again = _refresh(api_http, first)
    assert again.status_code == 200, again.text
    assert again.json()["refresh_token"] == second["refresh_token"]
    # not the current one's parent any more, but within the interval: a new token
    third = _refresh(api_http, second).json()
    within = _refresh(api_http, first)
    assert within.status_code == 200, within.text
    assert within.json()["refresh_token"] not in (second["refresh_token"],
                                                 third["refresh_token"])
    # the second, swapped for the third, is no longer the current one's parent (the token
    # just made from the first is): after the interval it is refused, and the session's
    # tokens are revoked
    admin.execute("update auth.refresh_tokens set updated_at = now() - interval '11 seconds'"
                  " where token = %s", (second["refresh_token"],))
    reused = _refresh(api_http, second)
    assert _auth_error(reused, 400, "refresh_token_already_used")["message"] == (
        "Invalid Refresh Token: Already Used")
    assert one(admin, "select count(*) from auth.refresh_tokens where user_id = %s"
                      " and not revoked", first["user"]["id"]) == 0
    unknown = api_http.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                            json={"refresh_token": "nosuchtoken1"}, headers=V2024)
    _auth_error(unknown, 400, "refresh_token_not_found")


def test_logout_ends_the_session_and_its_refresh_tokens(
        api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    session = _signup(api_http, _email()).json()
    response = api_http.post("/auth/v1/logout", params={"scope": "global"},
                             headers={"Authorization": f"Bearer {session['access_token']}"})
    assert response.status_code == 204
    assert one(admin, "select count(*) from auth.sessions where user_id = %s",
               session["user"]["id"]) == 0
    refresh = api_http.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                            json={"refresh_token": session["refresh_token"]}, headers=V2024)
    _auth_error(refresh, 400, "refresh_token_not_found")


def test_a_signed_out_sessions_token_no_longer_reads_the_user(api_http: httpx.Client) -> None:
    """GoTrue loads the token's session on every signed-in route (`auth.go`): after a global
    sign-out elsewhere, the access token, still valid for PostgREST, no longer reads the user,
    and supabase-js's getUser() learns the session is gone."""
    email = _email()
    session = _signup(api_http, email).json()
    elsewhere = _sign_in(api_http, email).json()
    assert api_http.post("/auth/v1/logout", headers=_bearer(elsewhere)).status_code == 204
    for response in (api_http.get("/auth/v1/user", headers=_bearer(session)),
                     api_http.put("/auth/v1/user", json={"data": {"x": 1}},
                                  headers=_bearer(session)),
                     api_http.post("/auth/v1/logout", headers=_bearer(session))):
        body = _auth_error(response, 403, "session_not_found")
        assert body["message"] == "Session from session_id claim in JWT does not exist"


def test_a_banned_user_is_403_user_banned_on_signed_in_routes(
        api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    session = _signup(api_http, _email()).json()
    admin.execute("update auth.users set banned_until = now() + interval '1 hour'"
                  " where id = %s", (session["user"]["id"],))
    for response in (api_http.get("/auth/v1/user", headers=_bearer(session)),
                     api_http.put("/auth/v1/user", json={"data": {"x": 1}},
                                  headers=_bearer(session))):
        assert _auth_error(response, 403, "user_banned")["message"] == "User is banned"
    assert _auth_error(_refresh(api_http, session), 400, "user_banned")["message"] == (
        "Invalid Refresh Token: User Banned")
    admin.execute("update auth.users set banned_until = now() - interval '1 second'"
                  " where id = %s", (session["user"]["id"],))
    assert api_http.get("/auth/v1/user", headers=_bearer(session)).status_code == 200


def test_the_user_endpoint_without_or_with_a_bad_token(api_http: httpx.Client) -> None:
    _auth_error(api_http.get("/auth/v1/user", headers=V2024), 401, "no_authorization")
    forged = api_http.get("/auth/v1/user", headers={**V2024, "Authorization": "Bearer x.y.z"})
    _auth_error(forged, 403, "bad_jwt")


def test_the_issued_token_calls_the_rpcs(api_http: httpx.Client) -> None:
    session = _signup(api_http, _email()).json()
    response = api_http.post("/rest/v1/rpc/list_sessions", json={}, headers={
        "Authorization": f"Bearer {session['access_token']}", "Content-Profile": "pullups"})
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["pagination"]["total"] == 0


def test_malformed_json_is_400_bad_json(api_http: httpx.Client) -> None:
    response = api_http.post("/auth/v1/signup", content=b"{", headers=V2024)
    _auth_error(response, 400, "bad_json")


def test_concurrent_sign_ups_of_one_address_register_it_once(
        local_api: Any, admin: psycopg.Connection[Any]) -> None:
    email = _email()

    def sign_up(go: Callable[[], object]) -> int:
        with httpx.Client(base_url=local_api.url, timeout=30) as client:
            go()
            return client.post("/auth/v1/signup", json={"email": email, "password": PASSWORD},
                               headers=V2024).status_code

    assert sorted(race(6, sign_up)) == [200, 422, 422, 422, 422, 422]
    assert one(admin, "select count(*) from auth.users where email = %s", email) == 1


def test_concurrent_refreshes_with_one_token_all_keep_the_session(
        local_api: Any, api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    """Tabs of one browser refreshing at once: one swap, and every other request gets the
    token it made, so no tab is signed out (GoTrue locks the session for each refresh)."""
    session = _signup(api_http, _email()).json()

    def refresh(go: Callable[[], object]) -> str:
        with httpx.Client(base_url=local_api.url, timeout=30) as client:
            go()
            response = client.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                                   json={"refresh_token": session["refresh_token"]},
                                   headers=V2024)
            assert response.status_code == 200, response.text
            token: str = response.json()["refresh_token"]
            return token

    assert len(set(race(6, refresh))) == 1
    assert one(admin, "select count(*) from auth.refresh_tokens where user_id = %s",
               session["user"]["id"]) == 2


def test_refresh_tokens_are_twelve_alphanumeric_characters(api_http: httpx.Client) -> None:
    token = _signup(api_http, _email()).json()["refresh_token"]
    assert len(token) == 12 and token.isalnum()


def test_sign_up_without_a_password_is_400(api_http: httpx.Client) -> None:
    response = api_http.post("/auth/v1/signup", json={"email": _email()}, headers=V2024)
    assert _auth_error(response, 400, "validation_failed")["message"] == (
        "Signup requires a valid password")


# -----------------------------------------------------------------------------
# Anonymous sign-ins (supabase-js's signInAnonymously: a sign-up without email or phone)
# -----------------------------------------------------------------------------

def test_anonymous_sign_ins_are_422_while_the_config_has_them_off(
        api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    assert auth_config().anonymous_sign_ins is False  # as `supabase start` has them
    for body in ({}, {"data": TEST_ANONYMOUS_DATA}, {"email": "", "password": PASSWORD},
                 {"email": None, "phone": ""}):
        response = api_http.post("/auth/v1/signup", json=body, headers=V2024)
        assert _auth_error(response, 422, "anonymous_provider_disabled")["message"] == (
            "Anonymous sign-ins are disabled")
    assert one(admin, "select count(*) from auth.users where is_anonymous") == 0


@pytest.fixture
def anonymous_api(database_url: str, service: ServerThread) -> Iterator[httpx.Client]:
    """The local API of a project with `[auth] enable_anonymous_sign_ins = true`."""
    port = free_port()
    app = create_local_api(database_url, DEV_JWT_SECRET, service.url,
                           f"http://127.0.0.1:{port}", auth=AuthConfig(anonymous_sign_ins=True))
    with ServerThread(app, port=port) as server, httpx.Client(
            base_url=server.url, timeout=30, headers={"apikey": ANON_KEY}) as client:
        yield client


def test_with_anonymous_sign_ins_on_a_sign_up_without_email_is_an_anonymous_user(
        anonymous_api: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    signed_up = anonymous_api.post("/auth/v1/signup", json={"data": TEST_ANONYMOUS_DATA},
                                   headers=V2024)
    assert signed_up.status_code == 200, signed_up.text
    session = signed_up.json()
    user = session["user"]
    assert (user["is_anonymous"], user["email"], user["app_metadata"], user["identities"]) == (
        True, "", {}, [])
    assert user["user_metadata"] == TEST_ANONYMOUS_DATA
    assert "email_confirmed_at" not in user and "confirmed_at" not in user  # Go's omitempty
    stored = admin.execute("select email, encrypted_password, is_anonymous, raw_app_meta_data"
                           " from auth.users where id = %s", (user["id"],)).fetchone()
    assert stored == (None, "", True, {})
    claims = session_claims(session["access_token"])
    assert (claims["sub"], claims["role"], claims["is_anonymous"], claims["app_metadata"]) == (
        user["id"], "authenticated", True, {})
    assert [a["method"] for a in claims["amr"]] == ["anonymous"]

    refreshed = anonymous_api.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                                   json={"refresh_token": session["refresh_token"]},
                                   headers=V2024)
    assert refreshed.status_code == 200, refreshed.text
    assert session_claims(refreshed.json()["access_token"])["is_anonymous"]


def test_an_anonymous_user_calls_the_rpcs_but_not_the_ai(anonymous_api: httpx.Client) -> None:
    """Signed in anonymously, a user is `authenticated` to Postgres; the AI service refuses
    it unless AI_ALLOW_ANONYMOUS (every throwaway account would get a quota of its own)."""
    session = anonymous_api.post("/auth/v1/signup", json={"data": TEST_ANONYMOUS_DATA},
                                 headers=V2024).json()
    bearer = {"Authorization": f"Bearer {session['access_token']}"}
    quota = anonymous_api.post("/rest/v1/rpc/ai_quota",
                               headers={**bearer, "Content-Profile": "pullups"})
    assert quota.status_code == 200, quota.text
    assert quota.json()["data"]["remaining"] == 5
    refused = anonymous_api.post("/functions/v1/sessions/ai", json={"maxPullups": 8},
                                 headers=bearer)
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "FORBIDDEN"


# -----------------------------------------------------------------------------
# PUT /user (supabase-js's updateUser)
# -----------------------------------------------------------------------------

def _bearer(session: dict[str, Any]) -> dict[str, str]:
    return {**V2024, "Authorization": f"Bearer {session['access_token']}"}


def _sign_in(api_http: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return api_http.post("/auth/v1/token", params={"grant_type": "password"},
                         json={"email": email, "password": password}, headers=V2024)


def _refresh(api_http: httpx.Client, session: dict[str, Any]) -> httpx.Response:
    return api_http.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                         json={"refresh_token": session["refresh_token"]}, headers=V2024)


def test_update_user_merges_the_metadata_and_a_null_removes_a_key(
        api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    session = api_http.post("/auth/v1/signup", headers=V2024, json={
        "email": _email(), "password": PASSWORD, "data": {"a": 1, "b": 2}}).json()
    updated = api_http.put("/auth/v1/user", headers=_bearer(session),
                           json={"data": {"b": None, "c": {"d": None}}})
    assert updated.status_code == 200, updated.text
    assert updated.json()["user_metadata"] == {"a": 1, "c": {"d": None}}
    assert updated.json()["updated_at"] > session["user"]["updated_at"]
    assert one(admin, "select raw_user_meta_data from auth.users where id = %s",
               session["user"]["id"]) == {"a": 1, "c": {"d": None}}
    # a refreshed token carries the new metadata
    refreshed = _refresh(api_http, session).json()
    assert session_claims(refreshed["access_token"])["user_metadata"] == {
        "a": 1, "c": {"d": None}}


def test_a_new_password_signs_in_and_ends_the_users_other_sessions(
        api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    email = _email()
    this = _signup(api_http, email).json()
    other = _sign_in(api_http, email).json()
    updated = api_http.put("/auth/v1/user", headers=_bearer(this),
                           json={"password": "a-new-password"})
    assert updated.status_code == 200, updated.text
    assert one(admin, "select encrypted_password from auth.users where id = %s",
               this["user"]["id"]).startswith("$2a$10$")
    _auth_error(_refresh(api_http, other), 400, "refresh_token_not_found")
    _auth_error(api_http.get("/auth/v1/user", headers=_bearer(other)), 403, "session_not_found")
    assert _refresh(api_http, this).status_code == 200
    _auth_error(_sign_in(api_http, email), 400, "invalid_credentials")
    assert _sign_in(api_http, email, "a-new-password").status_code == 200


def test_the_same_a_weak_or_a_too_long_password_is_refused_and_nothing_is_written(
        api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    email = _email()
    session = _signup(api_http, email).json()
    before = admin.execute("select encrypted_password, raw_user_meta_data, updated_at"
                           " from auth.users where id = %s", (session["user"]["id"],)).fetchone()
    for password, status, code in ((PASSWORD, 422, "same_password"),
                                   ("12345", 422, "weak_password"),
                                   ("x" * 73, 400, "validation_failed")):
        response = api_http.put("/auth/v1/user", headers=_bearer(session),
                                json={"password": password, "data": {"written": True}})
        _auth_error(response, status, code)
    assert admin.execute("select encrypted_password, raw_user_meta_data, updated_at"
                         " from auth.users where id = %s",
                         (session["user"]["id"],)).fetchone() == before
    assert _sign_in(api_http, email).status_code == 200


def test_update_user_refuses_app_metadata_bad_bodies_and_bad_tokens(
        api_http: httpx.Client) -> None:
    session = _signup(api_http, _email()).json()
    refused = api_http.put("/auth/v1/user", headers=_bearer(session),
                           json={"app_metadata": {"role": "admin"}})
    assert _auth_error(refused, 403, "not_admin")["message"] == (
        "Updating app_metadata requires admin privileges")
    for body in (b"{", b"[]", b'{"data": [1]}', b'{"password": 7}', b'{"email": {}}'):
        response = api_http.put("/auth/v1/user", content=body, headers=_bearer(session))
        _auth_error(response, 400, "bad_json")
    _auth_error(api_http.put("/auth/v1/user", json={}, headers=V2024), 401, "no_authorization")
    forged = api_http.put("/auth/v1/user", json={},
                          headers={**V2024, "Authorization": "Bearer x.y.z"})
    _auth_error(forged, 403, "bad_jwt")
    taken = api_http.put("/auth/v1/user", headers=_bearer(session), json={"email": "nope"})
    _auth_error(taken, 400, "validation_failed")


def test_what_needs_sms_is_422_not_served_locally_and_changes_nothing(
        api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    """A phone is confirmed by SMS, which is not sent here, so the stand-in says so instead
    of pretending (a new email's mail: test_auth_mail.py)."""
    email = _email()
    session = _signup(api_http, email).json()
    for body in ({"phone": "+48123456789", "data": {"written": True}},):
        response = api_http.put("/auth/v1/user", headers=_bearer(session), json=body)
        message = _auth_error(response, 422, "not_served_locally")["message"]
        assert "local stand-in" in message and "supabase start" in message
    assert one(admin, "select email from auth.users where id = %s", session["user"]["id"]) == email
    assert one(admin, "select raw_user_meta_data from auth.users where id = %s",
               session["user"]["id"]) == {}
    # the same address, or none, is no change
    same = api_http.put("/auth/v1/user", headers=_bearer(session),
                        json={"email": email.upper(), "data": {"kept": 1}})
    assert same.status_code == 200, same.text
    assert same.json()["email"] == email and same.json()["user_metadata"] == {"kept": 1}


def test_an_anonymous_user_becomes_permanent_with_an_email_then_a_password(
        anonymous_api: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    session = anonymous_api.post("/auth/v1/signup", json={"data": TEST_ANONYMOUS_DATA},
                                 headers=V2024).json()
    user_id = session["user"]["id"]
    without_email = anonymous_api.put("/auth/v1/user", headers=_bearer(session),
                                      json={"password": PASSWORD})
    assert _auth_error(without_email, 422, "validation_failed")["message"] == (
        "Updating password of an anonymous user without an email or phone is not allowed")
    email = _email()
    with_email = anonymous_api.put("/auth/v1/user", headers=_bearer(session),
                                   json={"email": email})
    assert with_email.status_code == 200, with_email.text
    user = with_email.json()
    assert (user["email"], user["is_anonymous"]) == (email, False)
    assert user["email_confirmed_at"] and user["confirmed_at"]
    assert [(i["provider"], i["identity_data"]["email"], i["identity_data"]["email_verified"])
            for i in user["identities"]] == [("email", email, True)]
    assert admin.execute("select email, is_anonymous from auth.users where id = %s",
                         (user_id,)).fetchone() == (email, False)

    with_password = anonymous_api.put("/auth/v1/user", headers=_bearer(session),
                                      json={"password": PASSWORD})
    assert with_password.status_code == 200, with_password.text
    signed_in = _sign_in(anonymous_api, email)
    assert signed_in.status_code == 200, signed_in.text
    claims = session_claims(signed_in.json()["access_token"])
    assert (claims["sub"], claims["is_anonymous"], claims["email"]) == (user_id, False, email)


def test_anonymous_users_racing_for_one_email_get_it_once(
        anonymous_api: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    sessions = [anonymous_api.post("/auth/v1/signup", json={"data": TEST_ANONYMOUS_DATA},
                                   headers=V2024).json() for _ in range(4)]
    email = _email()

    def claim(go: Callable[[], object]) -> int:
        session = sessions.pop()
        with httpx.Client(base_url=anonymous_api.base_url, timeout=30,
                          headers={"apikey": ANON_KEY}) as http:
            go()
            response = http.put("/auth/v1/user", headers=_bearer(session),
                                json={"email": email})
            if response.status_code == 422:
                _auth_error(response, 422, "email_exists")
            return response.status_code

    assert sorted(race(4, claim)) == [200, 422, 422, 422]
    assert one(admin, "select count(*) from auth.users where email = %s", email) == 1
    assert one(admin, "select count(*) from auth.identities where email = %s", email) == 1


def test_what_gotrue_serves_and_the_stand_in_cannot_is_422_not_served_locally(
        api_http: httpx.Client) -> None:
    for method, path, params in (("POST", "/auth/v1/token", {"grant_type": "id_token"}),
                                 ("POST", "/auth/v1/token", {"grant_type": "web3"})):
        response = api_http.request(method, path, params=params, json={}, headers=V2024)
        assert _auth_error(response, 422, "not_served_locally")["message"].endswith(
            "supabase start serves it."), path
    unknown_grant = api_http.post("/auth/v1/token", params={"grant_type": "magic"}, json={},
                                  headers=V2024)
    assert _auth_error(unknown_grant, 400, "invalid_credentials")["message"] == (
        "unsupported_grant_type")
    for path in ("/auth/v1/user", "/auth/v1/otp", "/auth/v1/recover", "/auth/v1/magiclink",
                 "/auth/v1/resend", "/auth/v1/invite"):
        wrong_method = api_http.delete(path)
        assert (wrong_method.status_code, wrong_method.content) == (405, b""), path
    unknown = api_http.get("/auth/v1/no-such-route")
    assert (unknown.status_code, unknown.text) == (404, "404 page not found")


def test_health_answers_as_gotrue_does(api_http: httpx.Client) -> None:
    health = api_http.get("/auth/v1/health")
    assert health.status_code == 200, health.text
    assert health.json()["name"] == "GoTrue" and set(health.json()) == {
        "version", "name", "description"}
    assert api_http.post("/auth/v1/health").status_code == 405


def test_settings_say_what_signs_users_in_here(api_http: httpx.Client,
                                               anonymous_api: httpx.Client) -> None:
    """`GET /settings`, which a sign-in page reads to show its options: every field of
    GoTrue v2.196's answer, email on, no OAuth provider, anonymous users as configured."""
    settings = api_http.get("/auth/v1/settings")
    assert settings.status_code == 200, settings.text
    body = settings.json()
    assert set(body) == {"external", "disable_signup", "mailer_autoconfirm", "phone_autoconfirm",
                         "sms_provider", "saml_enabled", "saml_private_key_next_configured",
                         "passkeys_enabled"}
    assert len(body["external"]) == 26
    assert {name for name, on in body["external"].items() if on} == {"email"}
    assert (body["disable_signup"], body["mailer_autoconfirm"]) == (False, True)
    assert anonymous_api.get("/auth/v1/settings").json()["external"]["anonymous_users"] is True


def test_verify_otp_checks_its_input_and_its_token_as_gotrue_does(
        local_api: ServerThread, api_http: httpx.Client,
        admin: psycopg.Connection[Any]) -> None:
    """`POST /verify` (supabase-py's `verify_otp`): GoTrue's checks of the request, then its
    search for the token."""
    email = _email()
    assert _signup(api_http, email).status_code == 200
    client = create_client(local_api.url, ANON_KEY, ClientOptions(
        auto_refresh_token=False, persist_session=False, httpx_client=httpx.Client(timeout=10)))
    for params, message in (
            ({"email": email, "token": "123456", "type": "email"},
             "Token has expired or is invalid"),
            ({"email": _email(), "token": "123456", "type": "signup"},  # no such user
             "Token has expired or is invalid"),
            ({"token_hash": "0" * 56, "type": "magiclink"},
             "Email link is invalid or has expired")):
        with pytest.raises(AuthApiError) as refused:
            client.auth.verify_otp(params)  # type: ignore[arg-type]
        assert (refused.value.status, refused.value.code, refused.value.message) == (
            403, "otp_expired", message), params

    def verify(body: dict[str, Any]) -> tuple[int, str, str]:
        answer = api_http.post("/auth/v1/verify", json=body, headers=V2024)
        return answer.status_code, answer.json()["code"], answer.json()["message"]

    for body, expected in (
            ({}, (400, "validation_failed", "Verify requires a verification type")),
            ({"type": "email"},
             (400, "validation_failed", "Verify requires either a token or a token hash")),
            ({"type": "email", "token": "1", "token_hash": "2"},
             (400, "validation_failed", "Verify requires either a token or a token hash")),
            ({"type": "email", "token_hash": "2", "email": email},
             (400, "validation_failed", "Only the token_hash and type should be provided")),
            ({"type": "sms", "token_hash": "2"},
             (400, "validation_failed", "Invalid email verification type")),
            ({"type": "email", "token": "1"}, (400, "validation_failed",
                                               "Only an email address or phone number should"
                                               " be provided on verify")),
            ({"type": "email", "token": "1", "email": "nope"},
             (422, "validation_failed", "Invalid email format")),
            ({"type": "sms", "token": "1", "phone": "+0123"},
             (400, "validation_failed", "Invalid phone number format (E.164 required)")),
            ({"type": "sms", "token": "1", "phone": "+48 123 456 789"},
             (403, "otp_expired", "Token has expired or is invalid")),
            ({"type": 1}, (400, "bad_json", "Could not parse request body as JSON"))):
        assert verify(body) == expected, body

    # a token kept as GoTrue keeps it (its hash, when it was made) is found; a banned
    # user is refused first; then it signs the user in, once (tests/local_api/test_auth_links.py)
    admin.execute("update auth.users set recovery_token = encode(sha224(convert_to(email"
                  " || '654321', 'UTF8')), 'hex'), recovery_sent_at = now() where email = %s",
                  (email,))
    sent = {"type": "recovery", "email": email, "token": "654321"}
    assert verify({**sent, "token": "111111"})[:2] == (403, "otp_expired")
    admin.execute("update auth.users set banned_until = now() + interval '1 hour'"
                  " where email = %s", (email,))
    assert verify(sent)[:2] == (403, "user_banned")
    assert verify({"type": "email", "email": email, "token": "654321"})[:2] == (
        403, "user_banned")
    admin.execute("update auth.users set banned_until = null where email = %s", (email,))
    assert api_http.post("/auth/v1/verify", json=sent, headers=V2024).status_code == 200
    assert verify(sent)[:2] == (403, "otp_expired")
    # another method is 405 (GET, a mail's link: tests/local_api/test_auth_links.py)
    assert api_http.put("/auth/v1/verify", json={}).status_code == 405
