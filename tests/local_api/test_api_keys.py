"""The publishable and secret keys (`sb_publishable_…`, `sb_secret_…`) on the local API, as
`supabase start`'s gateway takes them: they stand for the anon and service_role JWTs, sent
as `apikey` and as the bearer, as supabase-js and supabase-py send them until a user signs
in; a user's access token goes through as it is."""

from __future__ import annotations

import uuid

import httpx
import pytest

from python_functions.service.settings import LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY
from tests.conftest import TEST_EMAIL_DOMAIN, User
from tests.http_fixtures import ANON_KEY, SERVICE_ROLE_KEY, ServerThread, token_for
from tests.local_api.conftest import pgrst_error


def _keyed(key: str, bearer: str | None = None) -> dict[str, str]:
    """A client's headers with this project key: as `apikey`, and as the bearer unless a
    user's token is given."""
    return {"apikey": key, "Authorization": f"Bearer {bearer or key}"}


@pytest.fixture
def api(local_api: ServerThread) -> httpx.Client:
    return httpx.Client(base_url=local_api.url, timeout=30)


@pytest.mark.parametrize(("new", "legacy"), [(LOCAL_PUBLISHABLE_KEY, ANON_KEY),
                                             (LOCAL_SECRET_KEY, SERVICE_ROLE_KEY)],
                         ids=["publishable", "secret"])
def test_a_new_key_is_answered_as_the_legacy_key_of_its_role(
        api: httpx.Client, alice: User, new: str, legacy: str) -> None:
    for path, profile in (("/rest/v1/rpc/list_sessions", "pullups"),
                          ("/rest/v1/rpc/begin_draft", "recipes")):
        args = {"user_id": alice.id} if profile == "recipes" else {}
        answers = [api.post(path, json=args, headers={**_keyed(key), "Content-Profile": profile})
                   for key in (new, legacy)]
        assert answers[0].status_code == answers[1].status_code, [a.text for a in answers]
        first, second = (answer.json() for answer in answers)
        assert first.keys() == second.keys() and first.get("code") == second.get("code")
    admin = [api.get("/auth/v1/admin/users", headers=_keyed(key)) for key in (new, legacy)]
    assert admin[0].status_code == admin[1].status_code == (
        200 if new == LOCAL_SECRET_KEY else 403), admin[0].text
    assert admin[0].json().keys() == admin[1].json().keys()
    assert admin[0].json().get("error_code") == admin[1].json().get("error_code")


def test_the_publishable_key_alone_is_anon_and_client_rpcs_are_401(api: httpx.Client) -> None:
    response = api.post("/rest/v1/rpc/list_sessions", json={}, headers={
        **_keyed(LOCAL_PUBLISHABLE_KEY), "Content-Profile": "pullups"})
    pgrst_error(response, 401, "42501")


def test_a_users_token_goes_through_beside_the_publishable_key(
        api: httpx.Client, alice: User) -> None:
    response = api.post("/rest/v1/rpc/list_sessions", json={}, headers={
        **_keyed(LOCAL_PUBLISHABLE_KEY, token_for(alice)), "Content-Profile": "pullups"})
    assert response.status_code == 200, response.text
    me = api.get("/auth/v1/user", headers=_keyed(LOCAL_PUBLISHABLE_KEY, token_for(alice)))
    # the user's own token reached GoTrue: its made-up session is the one thing it refuses
    assert me.status_code == 403 and me.json()["error_code"] == "session_not_found", me.text


def test_an_unknown_key_of_the_new_kind_is_refused(api: httpx.Client) -> None:
    unknown = LOCAL_SECRET_KEY[:-4] + "AAAA"
    response = api.post("/rest/v1/rpc/list_sessions", json={}, headers={
        **_keyed(unknown), "Content-Profile": "pullups"})
    pgrst_error(response, 401, "PGRST301")
    admin = api.get("/auth/v1/admin/users", headers=_keyed(unknown))  # no bearer left
    assert admin.status_code == 401 and admin.json()["error_code"] == "no_authorization", \
        admin.text


def test_sign_up_and_sign_in_with_the_publishable_key(api: httpx.Client) -> None:
    email = f"keys-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"
    credentials = {"email": email, "password": "a-long-enough-password"}
    signed_up = api.post("/auth/v1/signup", json=credentials,
                         headers=_keyed(LOCAL_PUBLISHABLE_KEY))
    assert signed_up.status_code == 200, signed_up.text
    signed_in = api.post("/auth/v1/token", params={"grant_type": "password"},
                         json=credentials, headers=_keyed(LOCAL_PUBLISHABLE_KEY))
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["access_token"]
    me = api.get("/auth/v1/user", headers=_keyed(LOCAL_PUBLISHABLE_KEY, token))
    assert me.status_code == 200 and me.json()["email"] == email, me.text
