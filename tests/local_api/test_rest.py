"""/rest/v1/rpc answers as PostgREST does (each case cites the behaviour it mirrors in
python_functions/local/api/rest.py)."""

from __future__ import annotations

import datetime as dt
import json
import time
from typing import Any

import httpx
import psycopg
import pytest

from python_functions.local.config import exposed_schemas
from python_functions.service.auth import mint_token
from python_functions.service.settings import DEV_JWT_SECRET
from tests.conftest import User
from tests.http_fixtures import SERVICE_ROLE_KEY, token_for
from tests.local_api.conftest import pgrst_error


def _as(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(user)}"}


def _create(api_http: httpx.Client, user: User) -> dict[str, Any]:
    response = api_http.post("/rest/v1/rpc/create_session", json={
        "session_date": dt.date.today().isoformat(), "sets": [5, 5, 4, 4, 3]},
        headers={**_as(user), "Content-Profile": "pullups"})
    assert response.status_code == 201, response.text
    session: dict[str, Any] = response.json()["data"]["session"]
    return session


def test_post_calls_the_function_in_the_content_profile_schema(
        api_http: httpx.Client, alice: User) -> None:
    created = api_http.post("/rest/v1/rpc/create_session", json={
        "session_date": dt.date.today().isoformat(), "sets": [5, 5, 4, 4, 3]},
        headers={**_as(alice), "Content-Profile": "pullups"})
    assert created.status_code == 201, created.text
    assert created.headers["content-profile"] == "pullups"
    assert created.headers["content-type"].startswith("application/json")
    session = created.json()["data"]["session"]
    got = api_http.get("/rest/v1/rpc/get_session", params={"session_id": session["id"]},
                       headers={**_as(alice), "Accept-Profile": "pullups"})
    assert got.status_code == 200, got.text
    assert got.json()["data"]["session"]["id"] == session["id"]


def test_get_passes_query_parameters_as_typed_arguments(
        api_http: httpx.Client, alice: User) -> None:
    for days in range(3):  # finished sessions, one a day
        api_http.post("/rest/v1/rpc/create_session", json={
            "session_date": (dt.date.today() - dt.timedelta(days=days + 1)).isoformat(),
            "sets": [5, 5, 4, 4, 3], "status": "completed"},
            headers={**_as(alice), "Content-Profile": "pullups"}).raise_for_status()
    page = api_http.get("/rest/v1/rpc/list_sessions", params={"page_size": "2"},
                        headers={**_as(alice), "Accept-Profile": "pullups"})
    assert page.status_code == 200, page.text
    assert page.json()["meta"]["pagination"] == (
        {"limit": 2, "offset": 0, "total": 3, "total_capped": False}
    )


def test_get_leaves_out_the_reserved_parameters_and_those_without_a_value(
        api_http: httpx.Client, alice: User) -> None:
    """supabase-js's `.rpc(fn, args, {get: true}).select().limit(5).order('id')` puts
    select, limit and order in the query: PostgREST does not take them for arguments."""
    for days in range(2):
        api_http.post("/rest/v1/rpc/create_session", json={
            "session_date": (dt.date.today() - dt.timedelta(days=days + 1)).isoformat(),
            "sets": [5, 5, 4, 4, 3], "status": "completed"},
            headers={**_as(alice), "Content-Profile": "pullups"}).raise_for_status()
    headers = {**_as(alice), "Accept-Profile": "pullups"}
    page = api_http.get("/rest/v1/rpc/list_sessions?page_size=1&select=*&limit=5&order=id.asc"
                        "&sessions.offset=2&or=(a.eq.1)&columns=x&on_conflict=y&flag",
                        headers=headers)
    assert page.status_code == 200, page.text
    assert page.json()["meta"]["pagination"] == (
        {"limit": 1, "offset": 0, "total": 2, "total_capped": False})
    # a value, even empty, makes an argument; the last of a repeated name counts
    pgrst_error(api_http.get("/rest/v1/rpc/ai_quota?flag=", headers=headers), 404, "PGRST202")
    repeated = api_http.get("/rest/v1/rpc/list_sessions?page_size=5;page_size=1",
                            headers=headers)
    assert repeated.json()["meta"]["pagination"]["limit"] == 1


def test_get_of_a_function_that_writes_is_405_read_only(
        api_http: httpx.Client, alice: User) -> None:
    planned = _create(api_http, alice)
    response = api_http.get("/rest/v1/rpc/start_session", params={"session_id": planned["id"]},
                            headers={**_as(alice), "Accept-Profile": "pullups"})
    pgrst_error(response, 405, "25006")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_other_methods_are_405_pgrst101(api_http: httpx.Client, alice: User,
                                        method: str) -> None:
    response = api_http.request(method, "/rest/v1/rpc/list_sessions",
                                headers={**_as(alice), "Content-Profile": "pullups"})
    body = pgrst_error(response, 405, "PGRST101")
    assert body["message"] == f"Cannot use the {method} method on RPC"
    assert response.headers["proxy-status"] == "PostgREST; error=PGRST101"


def test_an_unexposed_schema_is_406_pgrst106_naming_the_exposed_ones(
        api_http: httpx.Client, alice: User) -> None:
    for method, header in (("POST", "Content-Profile"), ("GET", "Accept-Profile")):
        response = api_http.request(method, "/rest/v1/rpc/close_abandoned",
                                    headers={**_as(alice), header: "pullups_private"})
        body = pgrst_error(response, 406, "PGRST106")
        assert body["message"] == "Invalid schema: pullups_private"
        assert body["hint"] == ("Only the following schemas are exposed:"
                                " pullups, workouts, flashcards, recipes")


def test_without_a_profile_the_first_exposed_schema_is_used(
        api_http: httpx.Client, alice: User) -> None:
    response = api_http.post("/rest/v1/rpc/list_sessions", json={}, headers=_as(alice))
    assert response.status_code == 200, response.text
    assert response.headers["content-profile"] == "pullups"


def test_an_unknown_function_is_404_pgrst202(api_http: httpx.Client, alice: User) -> None:
    response = api_http.post("/rest/v1/rpc/no_such_function", json={"a": 1},
                             headers={**_as(alice), "Content-Profile": "workouts"})
    body = pgrst_error(response, 404, "PGRST202")
    assert body["message"] == (
        "Could not find the function workouts.no_such_function(a) in the schema cache")
    # `NoRpc`'s details: a JSON POST may also mean one unnamed json/jsonb parameter
    assert body["details"] == (
        "Searched for the function workouts.no_such_function with parameter a or with a"
        " single unnamed json/jsonb parameter, but no matches were found in the schema cache.")
    two = api_http.get("/rest/v1/rpc/no_such_function", params={"a": "1", "b": "2"},
                       headers={**_as(alice), "Accept-Profile": "workouts"})
    assert pgrst_error(two, 404, "PGRST202")["details"] == (
        "Searched for the function workouts.no_such_function with parameters a, b, but no"
        " matches were found in the schema cache.")
    none = api_http.get("/rest/v1/rpc/no_such_function",
                        headers={**_as(alice), "Accept-Profile": "workouts"})
    nothing = pgrst_error(none, 404, "PGRST202")
    assert nothing["message"] == ("Could not find the function workouts.no_such_function"
                                  " without parameters in the schema cache")
    assert nothing["details"] == (
        "Searched for the function workouts.no_such_function without parameters, but no"
        " matches were found in the schema cache.")


def test_a_misspelled_argument_is_404_pgrst202_with_the_parameters_as_hint(
        api_http: httpx.Client, alice: User) -> None:
    response = api_http.post("/rest/v1/rpc/get_session", json={"sessionid": "x"},
                             headers={**_as(alice), "Content-Profile": "pullups"})
    body = pgrst_error(response, 404, "PGRST202")
    assert body["hint"] == "Perhaps you meant to call the function pullups.get_session(session_id)"


@pytest.mark.parametrize(("content", "message"), [
    (b"{", "Empty or invalid json"), (b" ", "Empty or invalid json"),
    (b"[1, 2]", "All object keys must match"),
    (b'[{"page_size": 1}, {"page": 1}]', "All object keys must match")])
def test_a_body_that_is_neither_an_object_nor_an_array_of_alike_objects_is_400_pgrst102(
        api_http: httpx.Client, alice: User, content: bytes, message: str) -> None:
    response = api_http.post("/rest/v1/rpc/list_sessions", content=content, headers={
        **_as(alice), "Content-Profile": "pullups", "Content-Type": "application/json"})
    assert pgrst_error(response, 400, "PGRST102")["message"] == message


@pytest.mark.parametrize("content", [b"", b"null", b'"text"', b"7", b"[]", b"[{}, {}]"])
def test_a_body_without_arguments_calls_the_function_without_them(
        api_http: httpx.Client, alice: User, content: bytes) -> None:
    """PostgREST reads any JSON value but an object or an array as an empty array."""
    response = api_http.post("/rest/v1/rpc/list_sessions", content=content, headers={
        **_as(alice), "Content-Profile": "pullups", "Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["pagination"]["offset"] == 0


def test_an_array_of_objects_calls_the_function_with_the_first(
        api_http: httpx.Client, alice: User) -> None:
    response = api_http.post(
        "/rest/v1/rpc/list_sessions", json=[{"page_size": 1}, {"page_size": 2}],
        headers={**_as(alice), "Content-Profile": "pullups"})
    assert response.status_code == 200, response.text
    assert response.json()["meta"]["pagination"]["limit"] == 1


def test_an_unsupported_content_type_is_400_pgrst102(api_http: httpx.Client,
                                                      alice: User) -> None:
    response = api_http.post("/rest/v1/rpc/list_sessions", content=b"<a/>", headers={
        **_as(alice), "Content-Profile": "pullups", "Content-Type": "application/xml"})
    body = pgrst_error(response, 400, "PGRST102")
    assert body["message"] == "Content-Type not acceptable: application/xml"


def test_form_encoded_arguments_are_accepted_as_strings(api_http: httpx.Client,
                                                        alice: User) -> None:
    response = api_http.post("/rest/v1/rpc/list_sessions", content=b"page_size=1", headers={
        **_as(alice), "Content-Profile": "pullups",
        "Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200, response.text


def test_the_anon_key_alone_is_role_anon_and_client_rpcs_are_401(
        api_http: httpx.Client) -> None:
    response = api_http.post("/rest/v1/rpc/list_sessions", json={},
                             headers={"Content-Profile": "pullups"})
    pgrst_error(response, 401, "42501")
    assert response.headers["www-authenticate"] == "Bearer"


def test_the_service_role_key_reaches_service_only_rpcs(api_http: httpx.Client,
                                                        alice: User) -> None:
    response = api_http.post("/rest/v1/rpc/begin_draft", json={"user_id": alice.id},
                             headers={"apikey": SERVICE_ROLE_KEY,
                                      "Authorization": f"Bearer {SERVICE_ROLE_KEY}",
                                      "Content-Profile": "recipes"})
    assert response.status_code in (200, 201), response.text
    user = api_http.post("/rest/v1/rpc/begin_draft", json={"user_id": alice.id}, headers={
        **_as(alice), "Content-Profile": "recipes"})
    pgrst_error(user, 403, "42501")


def test_no_api_key_at_all_is_the_gateways_401(local_api: Any) -> None:
    response = httpx.post(f"{local_api.url}/rest/v1/rpc/list_sessions", json={})
    assert response.status_code == 401
    assert response.json()["message"] == "No API key found in request"


def _jwt_error(response: httpx.Response, code: str, message: str) -> None:
    body = pgrst_error(response, 401, code)
    assert body["message"] == message
    assert response.headers["www-authenticate"] == (
        f'Bearer error="invalid_token", error_description="{message}"')


def test_an_expired_jwt_is_401_pgrst303(api_http: httpx.Client, alice: User) -> None:
    past = int(time.time()) - 120
    token = token_for(alice, iat=past - 3600, exp=past)
    response = api_http.post("/rest/v1/rpc/list_sessions", json={},
                             headers={"Authorization": f"Bearer {token}"})
    _jwt_error(response, "PGRST303", "JWT expired")


def test_a_jwt_within_the_30_second_skew_is_accepted(api_http: httpx.Client,
                                                     alice: User) -> None:
    token = token_for(alice, exp=int(time.time()) - 5)
    response = api_http.post("/rest/v1/rpc/list_sessions", json={},
                             headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def test_a_forged_jwt_is_401_pgrst301(api_http: httpx.Client, alice: User) -> None:
    forged = mint_token(dict(alice.claims), "another-secret-of-at-least-32-characters!!")
    response = api_http.post("/rest/v1/rpc/list_sessions", json={},
                             headers={"Authorization": f"Bearer {forged}"})
    _jwt_error(response, "PGRST301", "No suitable key or wrong key type")
    assert response.json()["details"] == "None of the keys was able to decode the JWT"


def test_a_jwt_without_three_parts_is_401_pgrst301(api_http: httpx.Client) -> None:
    response = api_http.post("/rest/v1/rpc/list_sessions", json={},
                             headers={"Authorization": "Bearer abc.def"})
    _jwt_error(response, "PGRST301", "Expected 3 parts in JWT; got 2")


def test_a_non_numeric_exp_is_401_pgrst303(api_http: httpx.Client, alice: User) -> None:
    token = mint_token({**alice.claims, "exp": "tomorrow"}, DEV_JWT_SECRET)
    response = api_http.post("/rest/v1/rpc/list_sessions", json={},
                             headers={"Authorization": f"Bearer {token}"})
    _jwt_error(response, "PGRST303", "The JWT 'exp' claim must be a number")


def test_another_users_row_is_404_with_the_shared_body(
        api_http: httpx.Client, alice: User, bob: User) -> None:
    created = _create(api_http, alice)
    response = api_http.post("/rest/v1/rpc/get_session", json={"session_id": created["id"]},
                             headers={**_as(bob), "Content-Profile": "pullups"})
    assert response.status_code == 404, response.text
    assert set(response.json()) == {"code", "message", "details", "hint"}


def test_head_answers_the_status_and_headers_without_a_body(
        api_http: httpx.Client, alice: User) -> None:
    response = api_http.head("/rest/v1/rpc/list_sessions",
                             headers={**_as(alice), "Accept-Profile": "pullups"})
    assert response.status_code == 200
    assert response.content == b""


def test_cors_preflight_allows_what_supabase_js_sends(api_http: httpx.Client) -> None:
    response = api_http.options("/rest/v1/rpc/list_sessions", headers={
        "Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, x-client-info, apikey, content-type,"
                                          " content-profile"})
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == "*"
    allowed = {h.strip().lower() for h in
               response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "x-client-info", "apikey", "content-type"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]


def test_content_range_counts_the_rows_and_prefer_count_adds_the_total(
        api_http: httpx.Client, alice: User) -> None:
    headers = {**_as(alice), "Accept-Profile": "pullups"}
    plain = api_http.get("/rest/v1/rpc/ai_quota", headers=headers)
    assert plain.headers["content-range"] == "0-0/*"
    assert "preference-applied" not in plain.headers
    counted = api_http.get("/rest/v1/rpc/ai_quota", headers={**headers,
                                                             "Prefer": "count=exact"})
    assert counted.headers["content-range"] == "0-0/1"
    assert counted.headers["preference-applied"] == "count=exact"


def test_prefer_handling_strict_refuses_unknown_preferences_and_max_affected(
        api_http: httpx.Client, alice: User) -> None:
    """`Preferences.hs` and `Plan.callReadPlan`: lenient (the default) ignores what it does
    not know; strict refuses it, and `max-affected` on a function that returns no set."""
    headers = {**_as(alice), "Accept-Profile": "pullups"}
    lenient = api_http.get("/rest/v1/rpc/ai_quota", headers=[
        *headers.items(), ("Prefer", "count=planned, nonsense"), ("Prefer", "count=exact"),
        ("Prefer", "timezone=Europe/Warsaw")])
    assert lenient.status_code == 200, lenient.text
    # the first count given
    assert lenient.headers["preference-applied"] == "count=planned, timezone=Europe/Warsaw"
    assert lenient.headers["content-range"] == "0-0/1"
    strict = api_http.get("/rest/v1/rpc/ai_quota", headers={
        **headers, "Prefer": "handling=strict, count=exact, timezone=UTC, tx=rollback"})
    assert strict.status_code == 200, strict.text
    assert strict.headers["preference-applied"] == "count=exact, handling=strict, timezone=UTC"
    refused = api_http.get("/rest/v1/rpc/ai_quota", headers={
        **headers, "Prefer": "handling=strict,nonsense, return=everything"})
    body = pgrst_error(refused, 400, "PGRST122")
    assert (body["message"], body["details"]) == (
        "Invalid preferences given with handling=strict",
        "Invalid preferences: nonsense, return=everything")
    assert refused.headers["proxy-status"] == "PostgREST; error=PGRST122"
    capped = api_http.get("/rest/v1/rpc/ai_quota", headers={
        **headers, "Prefer": "handling=strict, max-affected=1"})
    assert pgrst_error(capped, 400, "PGRST128")["message"] == (
        "Function must return SETOF or TABLE when max-affected preference is used with"
        " handling=strict")
    assert api_http.get("/rest/v1/rpc/ai_quota", headers={
        **headers, "Prefer": "max-affected=1"}).status_code == 200  # lenient: ignored
    unknown = api_http.get("/rest/v1/rpc/no_such_function", headers={
        **headers, "Prefer": "handling=strict, nonsense"})
    pgrst_error(unknown, 404, "PGRST202")  # the function is looked up first


def test_prefer_timezone_sets_the_zone_the_answers_timestamps_are_given_in(
        api_http: httpx.Client, alice: User) -> None:
    """`PreQuery`: `set_config('timezone', ...)` for the transaction, after the role's
    settings; an unknown zone is Postgres' error, which PostgREST answers 400."""
    session = _create(api_http, alice)
    headers = {**_as(alice), "Accept-Profile": "pullups"}
    params = {"session_id": session["id"]}
    in_utc = api_http.get("/rest/v1/rpc/get_session", params=params, headers=headers)
    assert in_utc.json()["data"]["session"]["createdAt"].endswith("+00:00")
    in_india = api_http.get("/rest/v1/rpc/get_session", params=params, headers={
        **headers, "Prefer": "timezone=Asia/Kolkata"})
    assert in_india.status_code == 200, in_india.text
    assert in_india.headers["preference-applied"] == "timezone=Asia/Kolkata"
    created = in_india.json()["data"]["session"]["createdAt"]
    assert created.endswith("+05:30")
    assert dt.datetime.fromisoformat(created) == dt.datetime.fromisoformat(
        in_utc.json()["data"]["session"]["createdAt"])
    unknown = api_http.get("/rest/v1/rpc/get_session", params=params, headers={
        **headers, "Prefer": "timezone=Nowhere/Atlantis"})
    body = pgrst_error(unknown, 400, "22023")
    assert "preference-applied" not in unknown.headers
    assert "Nowhere/Atlantis" in body["message"]


# -----------------------------------------------------------------------------
# The answer's media type (Plan/Negotiate.hs, MediaType.hs)
# -----------------------------------------------------------------------------

def _quota(api_http: httpx.Client, user: User, accept: str | None) -> httpx.Response:
    headers = {**_as(user), "Accept-Profile": "pullups"}
    if accept is not None:
        headers["Accept"] = accept
    return api_http.get("/rest/v1/rpc/ai_quota", headers=headers)


def test_an_object_accept_answers_the_same_body_under_its_media_type(
        api_http: httpx.Client, alice: User) -> None:
    """supabase-js's `.single()`: a function's one value, as with application/json."""
    plain = _quota(api_http, alice, "application/json")
    single = _quota(api_http, alice, "application/vnd.pgrst.object+json")
    assert single.status_code == 200, single.text
    assert single.headers["content-type"] == "application/vnd.pgrst.object+json; charset=utf-8"
    assert single.json() == plain.json()
    assert plain.headers["content-type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize("accept", ["application/vnd.pgrst.object+json;nulls=stripped",
                                    "application/vnd.pgrst.array+json;nulls=stripped"])
def test_nulls_stripped_drops_the_null_fields_at_every_depth(
        api_http: httpx.Client, alice: User, accept: str) -> None:
    plain = _quota(api_http, alice, None).json()
    assert plain["data"]["resetsAt"] is None  # a new day's quota frees nothing yet
    stripped = _quota(api_http, alice, accept)
    assert stripped.status_code == 200, stripped.text
    assert stripped.headers["content-type"] == accept + "; charset=utf-8"
    expected = {**plain, "data": {k: v for k, v in plain["data"].items() if v is not None}}
    assert stripped.json() == expected
    # the array type without nulls=stripped is plain JSON, nulls kept
    response = _quota(api_http, alice, "application/vnd.pgrst.array+json")
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.json()["data"]["resetsAt"] is None


def test_csv_is_the_rows_of_postgrests_csv_with_the_scalar_column(
        api_http: httpx.Client, alice: User) -> None:
    """supabase-js's `.csv()`: PostgREST's `asCsvF`, a header of column names and a row's
    text per line; a function returning jsonb has one column, `pgrst_scalar`."""
    plain = _quota(api_http, alice, None).json()
    response = _quota(api_http, alice, "text/csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-range"] == "0-0/*"
    header, row = response.text.split("\n")
    assert header == "pgrst_scalar"
    assert row.startswith('"{""') and row.endswith('}"')  # a record's quoting of jsonb text
    assert json.loads(row[1:-1].replace('""', '"')) == plain


def test_csv_of_a_write_runs_it_once(api_http: httpx.Client, alice: User) -> None:
    response = api_http.post("/rest/v1/rpc/create_session", json={
        "session_date": dt.date.today().isoformat(), "sets": [5, 5, 4, 4, 3]},
        headers={**_as(alice), "Content-Profile": "pullups", "Accept": "text/csv"})
    assert response.status_code == 201, response.text
    assert response.text.startswith("pgrst_scalar\n")
    listed = api_http.get("/rest/v1/rpc/list_sessions", headers={
        **_as(alice), "Accept-Profile": "pullups"}).json()
    assert listed["meta"]["pagination"]["total"] == 1


@pytest.mark.parametrize(("accept", "named"), [
    ("application/xml", "application/xml"),
    ("application/*", "application/*"),
    ("text/plain;charset=utf-8, application/geo+json;q=0.5",
     "text/plain, application/geo+json"),
    # supabase-js's `.explain()`: db-plan-enabled is off, as on Supabase
    ('application/vnd.pgrst.plan+json; for="application/json"; options=analyze|verbose',
     'application/vnd.pgrst.plan+json; for="application/json"; options=analyze|verbose'),
])
def test_an_accept_with_no_type_postgrest_answers_with_is_406_pgrst107(
        api_http: httpx.Client, alice: User, accept: str, named: str) -> None:
    response = _quota(api_http, alice, accept)
    body = pgrst_error(response, 406, "PGRST107")
    assert body["message"] == f"None of these media types are available: {named}"
    assert response.headers["proxy-status"] == "PostgREST; error=PGRST107"
    # PostgREST looks the function up first: an unknown one is 404 whatever is accepted
    unknown = api_http.get("/rest/v1/rpc/no_such_function", headers={
        **_as(alice), "Accept-Profile": "pullups", "Accept": accept})
    pgrst_error(unknown, 404, "PGRST202")


def test_the_accepted_types_are_tried_by_q_value_then_specificity(
        api_http: httpx.Client, alice: User) -> None:
    for accept, content_type in (
        ("application/xml;q=0.1, text/csv;q=0.9, application/json;q=0.5", "text/csv"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "application/json"),
        ("*/*, application/vnd.pgrst.object+json", "application/vnd.pgrst.object+json"),
        ("text/csv, application/json", "text/csv"),
    ):
        response = _quota(api_http, alice, accept)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == content_type + "; charset=utf-8", accept


def test_every_error_names_its_code_in_proxy_status_and_no_profile(
        api_http: httpx.Client, alice: User, bob: User) -> None:
    """PostgREST >= 13: its own codes, a SQLSTATE, and a raised PGRST body's code alike."""
    created = _create(api_http, alice)
    others = api_http.post("/rest/v1/rpc/get_session", json={"session_id": created["id"]},
                           headers={**_as(bob), "Content-Profile": "pullups"})
    assert others.status_code == 404
    assert others.headers["proxy-status"] == "PostgREST; error=NOT_FOUND"
    writes_on_get = api_http.get("/rest/v1/rpc/start_session",
                                 params={"session_id": created["id"]},
                                 headers={**_as(alice), "Accept-Profile": "pullups"})
    assert writes_on_get.headers["proxy-status"] == "PostgREST; error=25006"
    for refused in (others, writes_on_get):
        assert "content-profile" not in refused.headers
        assert refused.headers["content-type"] == "application/json; charset=utf-8"
    head = api_http.head("/rest/v1/rpc/get_session", params={"session_id": created["id"]},
                         headers={**_as(bob), "Accept-Profile": "pullups"})
    assert (head.status_code, head.content) == (404, b"")
    assert head.headers["proxy-status"] == "PostgREST; error=NOT_FOUND"


def test_no_exposed_function_returns_a_set(database_url: str) -> None:
    """The local API answers a singular Accept with the function's one value; PostgREST's
    PGRST116 (a set of other than one row) is not mirrored, so no RPC may return a set."""
    with psycopg.connect(database_url) as conn:
        sets = conn.execute(
            "select p.oid::regprocedure::text from pg_proc p"
            " where p.pronamespace::regnamespace::text = any(%s) and p.proretset",
            (exposed_schemas(),)).fetchall()
    assert sets == []


def test_a_void_function_is_204_with_its_range_and_without_type_or_profile(
        api_http: httpx.Client, alice: User) -> None:
    """`Response.actionResponse`: a function returning void answers 204 with the range of its
    one row (and the count when asked), and neither `Content-Type` nor `Content-Profile`."""
    for prefer, content_range in ((None, "0-0/*"), ("count=exact", "0-0/1")):
        planned = _create(api_http, alice)
        headers = {**_as(alice), "Content-Profile": "pullups"}
        if prefer:
            headers["Prefer"] = prefer
        response = api_http.post("/rest/v1/rpc/delete_session",
                                 json={"session_id": planned["id"]}, headers=headers)
        assert (response.status_code, response.content) == (204, b"")
        assert response.headers["content-range"] == content_range
        assert "content-type" not in response.headers
        assert "content-profile" not in response.headers
        assert response.headers.get("preference-applied") == prefer
