"""supabase-py, the other official client, against the local API: its auth client signs up
and in, its PostgREST client calls RPCs with the user's session and raises PostgREST's
errors as `APIError`."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
import pytest
from postgrest.exceptions import APIError
from supabase_auth.errors import AuthApiError
from supabase_functions.errors import FunctionsHttpError

from python_functions.local.stack import RECIPE_TEXT
from python_functions.service.settings import LOCAL_PUBLISHABLE_KEY, LOCAL_SECRET_KEY
from supabase import ClientOptions, create_client
from tests.conftest import TEST_EMAIL_DOMAIN
from tests.http_fixtures import ANON_KEY, ServerThread

PASSWORD = "a-long-enough-password"


def _client(local_api: ServerThread, key: str = ANON_KEY):  # type: ignore[no-untyped-def]
    return create_client(local_api.url, key, ClientOptions(
        auto_refresh_token=False, persist_session=False, httpx_client=httpx.Client(timeout=10)))


def test_sign_up_sign_in_and_call_rpcs_as_the_user(local_api: ServerThread) -> None:
    email = f"py-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"
    signed_up = _client(local_api).auth.sign_up({"email": email, "password": PASSWORD})
    assert signed_up.session is not None and signed_up.user is not None
    assert signed_up.user.email == email

    supabase = _client(local_api)
    signed_in = supabase.auth.sign_in_with_password({"email": email, "password": PASSWORD})
    assert signed_in.user is not None and signed_in.user.id == signed_up.user.id
    assert supabase.auth.get_user().user.email == email

    pullups = supabase.schema("pullups")
    created = pullups.rpc("create_session", {
        "session_date": dt.date.today().isoformat(), "sets": [5, 5, 4, 4, 3]}).execute()
    session = created.data["data"]["session"]
    listed = pullups.rpc("list_sessions", {"page_size": 5}).execute()
    assert [s["id"] for s in listed.data["data"]["sessions"]] == [session["id"]]

    with pytest.raises(APIError) as raised:
        pullups.rpc("get_session", {"session_id": str(uuid.uuid4())}).execute()
    assert raised.value.code == "NOT_FOUND"
    with pytest.raises(APIError) as raised:
        supabase.schema("pullups_private").rpc("create_session", {}).execute()
    assert raised.value.code == "PGRST106"
    supabase.auth.sign_out()


def test_a_wrong_password_is_an_auth_api_error(local_api: ServerThread) -> None:
    with pytest.raises(AuthApiError) as raised:
        _client(local_api).auth.sign_in_with_password(
            {"email": f"nobody@{TEST_EMAIL_DOMAIN}", "password": "wrong-password"})
    assert raised.value.status == 400
    assert raised.value.code == "invalid_credentials"


def test_an_anonymous_sign_in_is_refused_while_the_config_has_them_off(
        local_api: ServerThread) -> None:
    with pytest.raises(AuthApiError) as raised:
        _client(local_api).auth.sign_in_anonymously()
    assert raised.value.status == 422
    assert raised.value.code == "anonymous_provider_disabled"


def test_update_user_changes_the_metadata_and_the_password(local_api: ServerThread) -> None:
    email = f"py-update-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"
    supabase = _client(local_api)
    supabase.auth.sign_up({"email": email, "password": PASSWORD})
    updated = supabase.auth.update_user({"data": {"level": 3}, "password": "another-password"})
    assert updated.user.user_metadata == {"level": 3}
    with pytest.raises(AuthApiError) as raised:
        _client(local_api).auth.sign_in_with_password({"email": email, "password": PASSWORD})
    assert raised.value.code == "invalid_credentials"
    signed_in = _client(local_api).auth.sign_in_with_password(
        {"email": email, "password": "another-password"})
    assert signed_in.user is not None and signed_in.user.user_metadata == {"level": 3}
    # a new email waits for the links mailed to it (tests/local_api/test_auth_mail.py)
    moving = supabase.auth.update_user({"email": f"moved-{email}"})
    assert moving.user.email == email and moving.user.new_email == f"moved-{email}"


def test_tables_read_the_users_rows_and_refuse_what_the_role_may_not_write(
        local_api: ServerThread) -> None:
    email = f"py-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"
    supabase = _client(local_api)
    supabase.auth.sign_up({"email": email, "password": PASSWORD})
    flashcards = supabase.schema("flashcards")
    flashcards.rpc("create_flashcards", {"items": [
        {"front": "one", "back": "1"}, {"front": "two", "back": "2"}]}).execute()
    read = (flashcards.table("flashcards").select("front", count="exact")
            .order("front", desc=True).limit(1).execute())
    assert read.data == [{"front": "two"}] and read.count == 2
    single = flashcards.table("flashcards").select("back").eq("front", "one").single().execute()
    assert single.data == {"back": "1"}
    with pytest.raises(APIError) as raised:  # cards are written through the RPCs only
        flashcards.table("flashcards").insert({"front": "x", "back": "y"}).execute()
    assert raised.value.code == "42501"
    plans = supabase.schema("workouts").table("plans")
    inserted = plans.insert({"name": "Legs"}).execute()  # supabase-py asks for the rows
    assert [row["name"] for row in inserted.data] == ["Legs"]
    plans.delete().eq("id", inserted.data[0]["id"]).execute()
    assert plans.select("id").execute().data == []



def test_functions_invoke_answers_the_ai_routes_and_raises_their_errors_with_the_message(
        local_api: ServerThread) -> None:
    """supabase-py's `functions.invoke`, through the local API's /functions/v1 to the AI
    service: the answer as JSON, and an error as `FunctionsHttpError` with its status and
    the service's message (supabase-py reads it from the body's `error`)."""
    email = f"py-ai-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"
    supabase = _client(local_api)
    supabase.auth.sign_up({"email": email, "password": PASSWORD})
    generated = supabase.functions.invoke("sessions/ai", {
        "body": {"startNow": False, "maxPullups": 8}, "responseType": "json"})
    assert isinstance(generated, dict)
    assert generated["data"]["session"]["isAiGenerated"] is True
    assert generated["meta"]["quota"]["used"] == 1

    with pytest.raises(FunctionsHttpError) as raised:  # the session just generated is open
        supabase.functions.invoke("sessions/ai", {"body": {"startNow": False}})
    assert raised.value.status == 409
    assert raised.value.message == "You already have a planned or in-progress session"

    recipe = {"source": "text", "text": RECIPE_TEXT.read_text(),
              "output_format": "pycha_recipe_draft_v1", "language": "pl"}
    drafted = supabase.functions.invoke("ai/recipes/draft", {
        "body": recipe, "responseType": "json"})
    assert isinstance(drafted, dict) and drafted["draft"]["name"] == "Placki ziemniaczane"
    with pytest.raises(FunctionsHttpError) as raised:
        supabase.functions.invoke("ai/recipes/draft", {
            "body": recipe | {"text": "Just a shopping list: milk, bread."}})
    assert raised.value.status == 422
    assert "recipe" in raised.value.message, raised.value.to_dict()


def test_the_publishable_and_secret_keys_work_as_supabase_py_sends_them(
        local_api: ServerThread) -> None:
    """A project's new keys in place of the legacy JWTs: supabase-py sends one as `apikey`
    and as the bearer until a user signs in."""
    supabase = _client(local_api, LOCAL_PUBLISHABLE_KEY)
    with pytest.raises(APIError) as raised:  # no user yet: anon
        supabase.schema("pullups").rpc("list_sessions", {}).execute()
    assert raised.value.code == "42501"
    email = f"py-keys-{uuid.uuid4().hex[:8]}@{TEST_EMAIL_DOMAIN}"
    signed_up = supabase.auth.sign_up({"email": email, "password": PASSWORD})
    assert signed_up.user is not None
    generated = supabase.functions.invoke("sessions/ai", {
        "body": {"startNow": False, "maxPullups": 8}, "responseType": "json"})
    assert isinstance(generated, dict) and generated["meta"]["quota"]["used"] == 1
    listed = supabase.schema("pullups").rpc("list_sessions", {}).execute()
    assert [s["id"] for s in listed.data["data"]["sessions"]] == [
        generated["data"]["session"]["id"]]

    admin = _client(local_api, LOCAL_SECRET_KEY).auth.admin
    assert admin.get_user_by_id(signed_up.user.id).user.email == email
    with pytest.raises(AuthApiError) as refused:
        _client(local_api, LOCAL_PUBLISHABLE_KEY).auth.admin.get_user_by_id(signed_up.user.id)
    assert refused.value.status == 403
