"""/auth/v1/admin/users answers as GoTrue v2.196's admin API does (gotrue_admin.py), through
supabase-py's `auth.admin` with the service role key, as a seed script or a test calls it."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from typing import Any

import httpx
import psycopg
import pytest
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError

from supabase import Client, ClientOptions, create_client
from tests.conftest import TEST_EMAIL_DOMAIN, one
from tests.http_fixtures import ANON_KEY, SERVICE_ROLE_KEY, ServerThread

V2024 = {"X-Supabase-Api-Version": "2024-01-01"}
PASSWORD = "a-good-password"


def _email(tag: str = "admin") -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"


def _client(local_api: ServerThread, key: str) -> Client:
    return create_client(local_api.url, key, ClientOptions(
        auto_refresh_token=False, persist_session=False, httpx_client=httpx.Client(timeout=10)))


@pytest.fixture
def supabase_admin(local_api: ServerThread) -> Any:
    return _client(local_api, SERVICE_ROLE_KEY).auth.admin


def _sign_in(api_http: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return api_http.post("/auth/v1/token", params={"grant_type": "password"},
                         json={"email": email, "password": password}, headers=V2024)


def _code(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json().get("code", "")


def test_create_user_makes_a_user_who_signs_in_once_confirmed(
        supabase_admin: Any, api_http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    email = _email()
    created = supabase_admin.create_user({
        "email": email.upper(), "password": PASSWORD, "email_confirm": True,
        "user_metadata": {"full_name": "Ada"}, "app_metadata": {"plan": "pro"}}).user
    assert created.email == email and created.email_confirmed_at is not None
    assert created.user_metadata == {"full_name": "Ada"}
    assert created.app_metadata == {"provider": "email", "providers": ["email"], "plan": "pro"}
    assert [i.provider for i in created.identities or []] == ["email"]
    assert _sign_in(api_http, email).status_code == 200
    stored = one(admin, "select encrypted_password from auth.users where id = %s", created.id)
    assert stored.startswith("$2a$10$")
    # without `email_confirm` the address is unconfirmed, and GoTrue refuses the sign-in
    pending = supabase_admin.create_user({"email": _email(), "password": PASSWORD}).user
    assert pending.email_confirmed_at is None
    assert _code(_sign_in(api_http, pending.email)) == (400, "email_not_confirmed")
    # an id of the caller's choosing, and no password at all (a random one)
    chosen = str(uuid.uuid4())
    assert supabase_admin.create_user({"email": _email(), "id": chosen}).user.id == chosen


def test_create_user_refuses_what_gotrue_refuses(supabase_admin: Any) -> None:
    email = _email()
    supabase_admin.create_user({"email": email, "password": PASSWORD})
    for attributes, status, code in (
            ({"email": email}, 422, "email_exists"),
            ({"password": PASSWORD}, 400, "validation_failed"),
            ({"email": "not-an-email"}, 400, "validation_failed"),
            ({"email": _email(), "id": "nope"}, 400, "validation_failed"),
            ({"email": _email(), "password": PASSWORD, "password_hash": "$2a$10$x"}, 400,
             "validation_failed"),
            ({"email": _email(), "ban_duration": "forever"}, 400, "validation_failed"),
            ({"phone": "+48123456789"}, 422, "not_served_locally")):
        with pytest.raises(AuthApiError) as refused:
            supabase_admin.create_user(attributes)
        assert (refused.value.status, refused.value.code) == (status, code), attributes


def test_only_an_admin_role_may_call_the_admin_api(
        local_api: ServerThread, api_http: httpx.Client) -> None:
    signed_up = api_http.post("/auth/v1/signup", json={"email": _email(), "password": PASSWORD},
                              headers=V2024).json()
    for key, status, code in ((ANON_KEY, 403, "not_admin"),
                              (signed_up["access_token"], 403, "not_admin"),
                              (SERVICE_ROLE_KEY[:-2] + "xx", 403, "bad_jwt")):
        answer = api_http.get("/auth/v1/admin/users",
                              headers={"Authorization": f"Bearer {key}", **V2024})
        assert _code(answer) == (status, code), key
    assert _code(api_http.get("/auth/v1/admin/users", headers=V2024)) == (
        401, "no_authorization")
    with pytest.raises(AuthApiError) as refused:  # the anon key as supabase-js's admin
        _client(local_api, ANON_KEY).auth.admin.list_users()
    assert refused.value.code == "not_admin"
    # the rest of the admin API is not served; another method on a served path is 405
    service = {"Authorization": f"Bearer {SERVICE_ROLE_KEY}", **V2024}
    assert _code(api_http.get("/auth/v1/admin/audit", headers=service)) == (
        422, "not_served_locally")
    assert api_http.patch("/auth/v1/admin/users", json={}, headers=service).status_code == 405


def test_list_users_pages_newest_first_with_gotrues_headers(
        supabase_admin: Any, api_http: httpx.Client) -> None:
    tag = f"page-{uuid.uuid4().hex[:6]}"
    ids = [supabase_admin.create_user({"email": _email(tag), "password": PASSWORD}).user.id
           for _ in range(3)]
    service = {"Authorization": f"Bearer {SERVICE_ROLE_KEY}", **V2024}
    first = api_http.get("/auth/v1/admin/users", params={"page": "1", "per_page": "2",
                                                         "filter": tag}, headers=service)
    assert first.status_code == 200, first.text
    assert first.json()["aud"] == "authenticated"
    assert [u["id"] for u in first.json()["users"]] == ids[::-1][:2]
    assert first.headers["x-total-count"] == "3"
    assert first.headers["link"] == (
        f'</admin/users?filter={tag}&page=2&per_page=2>; rel="next", '
        f'</admin/users?filter={tag}&page=2&per_page=2>; rel="last"')
    second = api_http.get("/auth/v1/admin/users", params={"page": "2", "per_page": "2",
                                                          "filter": tag}, headers=service)
    assert [u["id"] for u in second.json()["users"]] == [ids[0]]
    assert "next" not in second.headers["link"]
    bad = api_http.get("/auth/v1/admin/users", params={"page": "-1"}, headers=service)
    assert _code(bad) == (400, "validation_failed")
    assert bad.json()["message"] == (
        'Bad Pagination Parameters: strconv.ParseUint: parsing "-1": invalid syntax')
    listed = supabase_admin.list_users(page=1, per_page=1000)
    assert set(ids) <= {user.id for user in listed}


def test_list_users_pages_past_int64_as_gotrue_and_pop_compute_them(
        supabase_admin: Any, api_http: httpx.Client) -> None:
    """Schemathesis, with GoTrue's own openapi.yaml, found a 500 without a body here: pages
    past what Postgres' bigint holds. GoTrue parses each as a uint64, pop pages by Go's
    int of it and multiplies as an int64, and `calculateTotalPages` divides by the size."""
    supabase_admin.create_user({"email": _email("pages"), "password": PASSWORD})
    service = {"Authorization": f"Bearer {SERVICE_ROLE_KEY}", **V2024}

    def listed(page: str, per_page: str) -> httpx.Response:
        return api_http.get("/auth/v1/admin/users", params={"page": page,
                                                            "per_page": per_page},
                            headers=service)

    over = listed("1", str(2 ** 64))
    assert _code(over) == (400, "validation_failed")
    assert over.json()["message"] == ('Bad Pagination Parameters: strconv.ParseUint: parsing'
                                      ' "18446744073709551616": value out of range')
    # what Schemathesis sent: an offset that wraps to 3,382,591,654,372,519,936, past the end
    found = listed("68568", "918256889104453632")
    assert (found.status_code, found.json()["users"]) == (200, [])
    # an offset that wraps negative: Postgres refuses it, and GoTrue says so
    refused = listed("3", str(2 ** 62))
    assert _code(refused) == (500, "unexpected_failure")
    assert refused.json()["message"] == "Database error finding users"
    # one that wraps to 0 is the first page; a size past 2**63 is negative to pop: 20
    assert listed("5", str(2 ** 62)).json()["users"] != []
    assert listed("1", str(2 ** 63 + 5)).json()["users"] != []
    # a size of 0: pop takes 20, then GoTrue's page count divides by 0 and its recoverer
    # answers the panic
    zero = listed("1", "0")
    assert zero.status_code == 500
    assert zero.json()["message"] == "Internal Server Error"


def test_get_and_update_a_user_by_id(supabase_admin: Any, api_http: httpx.Client) -> None:
    email = _email()
    user = supabase_admin.create_user({"email": email, "password": PASSWORD,
                                       "email_confirm": True,
                                       "user_metadata": {"a": 1, "b": 2}}).user
    assert supabase_admin.get_user_by_id(user.id).user.email == email
    with pytest.raises(AuthApiError) as refused:
        supabase_admin.get_user_by_id(str(uuid.uuid4()))
    assert (refused.value.status, refused.value.code) == (404, "user_not_found")
    not_an_id = api_http.get("/auth/v1/admin/users/nope", headers={  # supabase-py checks ids
        "Authorization": f"Bearer {SERVICE_ROLE_KEY}", **V2024})
    assert _code(not_an_id) == (404, "validation_failed")
    # the forms of an id gofrs' `FromString` reads (Postgres reads no URN itself)
    for form in ("urn:uuid:" + user.id, "{" + user.id + "}", uuid.UUID(user.id).hex.upper()):
        found = api_http.get(f"/auth/v1/admin/users/{form}", headers={
            "Authorization": f"Bearer {SERVICE_ROLE_KEY}", **V2024})
        assert (found.status_code, found.json().get("id")) == (200, user.id), form

    session = _sign_in(api_http, email).json()
    updated = supabase_admin.update_user_by_id(user.id, {
        "user_metadata": {"b": None, "c": 3}, "app_metadata": {"plan": "pro"},
        "password": "another-password", "role": "authenticated"}).user
    assert updated.user_metadata == {"a": 1, "c": 3}  # merged, a null removes its key
    assert updated.app_metadata["plan"] == "pro"
    # a new password ends every session of the user
    refreshed = api_http.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                              json={"refresh_token": session["refresh_token"]}, headers=V2024)
    assert refreshed.status_code == 400, refreshed.text
    assert _code(_sign_in(api_http, email)) == (400, "invalid_credentials")
    assert _sign_in(api_http, email, "another-password").status_code == 200
    with pytest.raises(AuthWeakPasswordError) as weak:
        supabase_admin.update_user_by_id(user.id, {"password": "12345"})
    assert weak.value.reasons == ["length"]

    supabase_admin.update_user_by_id(user.id, {"ban_duration": "1h30m"})
    assert _code(_sign_in(api_http, email, "another-password")) == (400, "user_banned")
    # GoTrue tells a ban before it checks the password
    assert _code(_sign_in(api_http, email, "a-wrong-password")) == (400, "user_banned")
    supabase_admin.update_user_by_id(user.id, {"ban_duration": "none"})
    assert _sign_in(api_http, email, "another-password").status_code == 200

    moved = _email()
    renamed = supabase_admin.update_user_by_id(user.id, {"email": moved,
                                                         "email_confirm": True}).user
    assert renamed.email == moved
    assert _sign_in(api_http, moved, "another-password").status_code == 200


def test_the_admin_api_lists_no_factor_and_finds_none_to_remove(
        supabase_admin: Any, api_http: httpx.Client) -> None:
    user = supabase_admin.create_user({"email": _email(), "password": PASSWORD,
                                       "email_confirm": True}).user
    # GoTrue's eager load gives an empty slice, sent as [] (supabase-py reads a list)
    assert supabase_admin.mfa.list_factors({"user_id": user.id}) == []
    with pytest.raises(AuthApiError) as refused:
        supabase_admin.mfa.delete_factor({"user_id": user.id, "id": str(uuid.uuid4())})
    assert (refused.value.status, refused.value.code) == (404, "mfa_factor_not_found")
    service = {"Authorization": f"Bearer {SERVICE_ROLE_KEY}", **V2024}
    # `loadUser` before `loadFactor`, and each id read as gofrs reads it
    for path, expected in ((f"{uuid.uuid4()}/factors", (404, "user_not_found")),
                           ("nope/factors", (404, "validation_failed")),
                           (f"{uuid.uuid4()}/factors/nope", (404, "user_not_found")),
                           (f"{user.id}/factors/nope", (404, "validation_failed")),
                           (f"{user.id}/factors/{{{uuid.uuid4()}}}",
                            (404, "mfa_factor_not_found"))):
        for method in ("GET",) if path.endswith("/factors") else ("PUT", "DELETE"):
            answer = api_http.request(method, f"/auth/v1/admin/users/{path}", json={},
                                      headers=service)
            assert _code(answer) == expected, (method, path)
    assert _code(api_http.get(f"/auth/v1/admin/users/{user.id}/factors", headers={
        "Authorization": f"Bearer {ANON_KEY}", **V2024})) == (403, "not_admin")
    assert api_http.post(f"/auth/v1/admin/users/{user.id}/factors", json={},
                         headers=service).status_code == 405


def test_delete_user_removes_the_user_and_their_rows_and_their_token_reads_nothing(
        supabase_admin: Any, api_http: httpx.Client, admin: psycopg.Connection[Any],
        today: dt.date) -> None:
    email = _email()
    user = supabase_admin.create_user({"email": email, "password": PASSWORD,
                                       "email_confirm": True}).user
    token = _sign_in(api_http, email).json()["access_token"]
    as_user = {"Authorization": f"Bearer {token}", "Content-Profile": "pullups"}
    created = api_http.post("/rest/v1/rpc/create_session", json={
        "session_date": today.isoformat(), "sets": [5, 5, 4, 4, 3]}, headers=as_user)
    assert created.status_code == 201, created.text

    supabase_admin.delete_user(user.id)
    assert one(admin, "select count(*) from auth.users where id = %s", user.id) == 0
    assert one(admin, "select count(*) from pullups.sessions where user_id = %s", user.id) == 0
    assert _code(api_http.get("/auth/v1/user", headers={"Authorization": f"Bearer {token}",
                                                        **V2024})) == (403, "user_not_found")
    again = api_http.post("/rest/v1/rpc/create_session", json={
        "session_date": today.isoformat(), "sets": [5]}, headers=as_user)
    assert again.status_code == 401, again.text
    with pytest.raises(AuthApiError) as gone:
        supabase_admin.delete_user(user.id)
    assert (gone.value.status, gone.value.code) == (404, "user_not_found")


def _obfuscated(user_id: str, value: str) -> str:
    """GoTrue's `obfuscateValue`: base64url, unpadded, of SHA-256 of the id and the value."""
    digest = hashlib.sha256((user_id + value).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def test_a_soft_delete_keeps_the_row_and_its_data_but_nothing_that_signs_in_or_identifies(
        supabase_admin: Any, api_http: httpx.Client, admin: psycopg.Connection[Any],
        today: dt.date) -> None:
    email = _email()
    user = supabase_admin.create_user({"email": email, "password": PASSWORD,
                                       "email_confirm": True,
                                       "user_metadata": {"full_name": "Ada"}}).user
    provider_id = user.identities[0].id
    session = _sign_in(api_http, email).json()
    bearer = {"Authorization": f"Bearer {session['access_token']}", **V2024}
    created = api_http.post("/rest/v1/rpc/create_session", json={
        "session_date": today.isoformat(), "sets": [5, 5, 4, 4, 3]},
        headers={**bearer, "Content-Profile": "pullups"})
    assert created.status_code == 201, created.text

    supabase_admin.delete_user(user.id, should_soft_delete=True)
    kept = supabase_admin.get_user_by_id(user.id).user
    assert kept.deleted_at is not None
    assert (kept.email, kept.phone) == (_obfuscated(user.id, email),
                                        _obfuscated(user.id, "")[:15])
    assert (kept.user_metadata, kept.app_metadata) == ({}, {})
    assert [(i.id, i.identity_data) for i in kept.identities] == [
        (_obfuscated(user.id, f"email:{provider_id}"), {})]
    assert _code(_sign_in(api_http, email)) == (400, "invalid_credentials")
    assert _code(api_http.get("/auth/v1/user", headers=bearer)) == (403, "session_not_found")
    refreshed = api_http.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                              json={"refresh_token": session["refresh_token"]}, headers=V2024)
    assert _code(refreshed) == (400, "refresh_token_not_found")
    # the row stays, and with it every row of theirs in the apps' tables
    assert one(admin, "select count(*) from pullups.sessions where user_id = %s", user.id) == 1
    supabase_admin.delete_user(user.id, should_soft_delete=True)  # once more: nothing more
    assert supabase_admin.get_user_by_id(user.id).user.deleted_at == kept.deleted_at
    supabase_admin.delete_user(user.id)  # a hard delete after it goes all the way
    assert one(admin, "select count(*) from auth.users where id = %s", user.id) == 0
