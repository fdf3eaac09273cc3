"""What the service passes on from an RPC error, judged on real answers of the database."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from python_functions.service.errors import ApiError
from tests.conftest import Api, User
from tests.http_fixtures import assert_service_error


def test_a_documented_rpc_error_goes_to_the_client_as_it_is(api: Api, alice: User) -> None:
    refused = api.service("flashcards.begin_ai_session", user_id=alice.id, input_text="short",
                          model="local/rules")
    error = ApiError.from_rpc(refused.status, refused.body, refused.headers)
    assert (error.status, error.code) == (400, "VALIDATION_ERROR")
    assert error.details["field"] == "input_text"


def test_an_rpc_error_reaches_the_client_without_the_database_answers_own_headers(
        generate: Callable[..., httpx.Response], alice: User) -> None:
    """On the PostgREST transport the RPC's answer is an HTTP message with headers of its
    own (Content-Length, Date, Server, Proxy-Status): the service's answer has its own, and
    passes on only those its functions set (a 429's Retry-After: the flashcards tests)."""
    assert generate(alice, maxPullups=8, startNow=False).status_code == 201
    refused = generate(alice, maxPullups=8, startNow=False)  # that session is open
    assert_service_error(refused, 409, "ACTIVE_SESSION_CONFLICT")
    assert "proxy-status" not in refused.headers
    for name in ("content-length", "content-type", "date", "server"):
        assert len(refused.headers.get_list(name)) <= 1, refused.headers
    assert refused.headers["content-length"] == str(len(refused.content))


def test_a_raw_postgres_error_becomes_a_bare_500(api: Api, alice: User) -> None:
    failed = api.service("flashcards.finish_ai_session", user_id=alice.id,
                         session_id="not-a-uuid", outcome={"status": "success"})
    assert failed.status == 400 and failed.body["code"] == "22P02"  # a raw SQLSTATE
    error = ApiError.from_rpc(failed.status, failed.body, failed.headers)
    assert error.body() == {"code": "INTERNAL", "message": "Internal server error",
                            "details": None, "hint": None, "error": "Internal server error"}


@pytest.mark.parametrize("outcome", [
    {"status": "success", "durationMs": "abc", "calls": "not a list"},
    {"status": "error", "durationMs": 10**12, "providerStatus": "x",
     "calls": [{"status": "weird", "attempt": 99, "latency_ms": -1, "prompt_tokens": 1.5,
                "cost_usd": "free", "model": "m" * 500, "source": "Bad Source!"}]},
])
def test_finish_closes_the_attempt_whatever_the_outcome_holds(
    api: Api, alice: User, admin: psycopg.Connection[Any], outcome: dict[str, Any]
) -> None:
    """A finish_* that cannot take a field stores null for it; it never leaves the attempt
    pending and never fails as a whole."""
    begun = api.service("pullups.begin_generation", user_id=alice.id, model="local/rules",
                        max_pullups=5)
    finished = api.service("pullups.finish_generation", user_id=alice.id,
                           generation_id=begun.body["generationId"], outcome=outcome)
    assert finished.status in (200, 201), finished.body
    assert admin.execute("select status::text <> 'pending' from pullups.generations"
                         ).fetchone() == (True,)
    if isinstance(outcome["calls"], list):
        assert admin.execute("select status, attempt, latency_ms, prompt_tokens, cost_usd,"
                             " char_length(model), source from core.ai_calls").fetchone() == (
            "error", 10, 0, None, None, 200, None)


def test_a_session_that_cannot_be_stored_closes_as_store_failed(
    api: Api, alice: User, admin: psycopg.Connection[Any]
) -> None:
    """Storing the AI's session fails (here: a check the output passes in SQL but not in
    the table, forced by an operator's constraint); the attempt still closes."""
    admin.execute("alter table pullups.sessions add constraint test_no_sevens"
                  " check (not (7 = any (sets)))")
    try:
        begun = api.service("pullups.begin_generation", user_id=alice.id, model="local/rules",
                            max_pullups=5)
        finished = api.service("pullups.finish_generation", user_id=alice.id,
                               generation_id=begun.body["generationId"], outcome={
                                   "status": "success", "sets": [7, 7, 7, 7, 7],
                                   "aiComment": "c", "durationMs": 5})
    finally:
        admin.execute("alter table pullups.sessions drop constraint test_no_sevens")
    assert finished.status == 200
    assert finished.body["data"]["error"] == {"code": "STORE_FAILED"}
    assert admin.execute("select status::text from pullups.generations").fetchone() == (
        "error",)


def test_an_unknown_function_is_a_bare_500_too(api: Api) -> None:
    missing = api.service("flashcards.no_such_rpc", user_id=str(uuid.uuid4()))
    assert missing.body["code"] == "PGRST202"
    assert ApiError.from_rpc(missing.status, missing.body, missing.headers).status == 500
