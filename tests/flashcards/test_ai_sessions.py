"""POST /ai-sessions (seed 001): the service on a real port, real Postgres, the offline
provider over HTTP with scripted faults."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import Api, User, one, race
from tests.flashcards.conftest import STUDY_TEXT_PL, study_text
from tests.http_fixtures import LocalAi, LogCapture, assert_service_error, token_for

Create = Callable[..., httpx.Response]


def test_candidates_are_generated_stored_and_returned_with_ids(
    create_ai_session: Create, alice: User, admin: psycopg.Connection[Any], api: Api
) -> None:
    response = create_ai_session(alice, study_text(2000))
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "candidates"}
    assert 5 <= len(body["candidates"]) <= 15
    assert body["candidates"][0]["front"] == "What is Photosynthesis?"
    assert all(set(c) == {"id", "front", "back", "prompt"} for c in body["candidates"])
    stored = admin.execute("select id::text, front, back, prompt from flashcards.candidates"
                           " where session_id = %s order by position", (body["id"],)).fetchall()
    assert [dict(zip(("id", "front", "back", "prompt"), r, strict=True)) for r in stored] == (
        body["candidates"])
    session = api("flashcards.get_ai_session", alice, session_id=body["id"]).body["data"]
    assert session["session"]["status"] == "completed"
    assert session["session"]["candidates_count"] == len(body["candidates"])
    assert session["input_text"] == study_text(2000)
    assert one(admin, "select status, provider from core.ai_calls where request_id = %s",
                body["id"]) == ("success", "openai-compatible")
    assert one(admin, "select event_type from core.events where entity_id = %s",
                body["id"]) == "generation_session_created"


def test_polish_text_gives_polish_cards(create_ai_session: Create, alice: User) -> None:
    response = create_ai_session(alice, study_text(1200, STUDY_TEXT_PL))
    assert response.status_code == 201, response.text
    fronts = [c["front"] for c in response.json()["candidates"]]
    assert "Czym jest Fotosynteza?" in fronts


@pytest.mark.parametrize(("text", "status"), [
    (study_text(999), 400),
    (study_text(1000), 201),
    (study_text(10_000), 201),
    (study_text(10_001), 400),
    (" " * 40 + study_text(1000) + "\n\t " * 30, 201),   # padding is not counted
    ("  " + study_text(999) + " " * 500, 400),
    (" " * 2000, 400),
    (study_text(1000, STUDY_TEXT_PL), 201),     # characters, not bytes (1,07x bytes)
    (study_text(999, STUDY_TEXT_PL) + "\u00a0" * 5, 400),
])
def test_input_length_is_counted_in_characters_after_trimming(
    create_ai_session: Create, alice: User, admin: psycopg.Connection[Any], text: str,
    status: int,
) -> None:
    response = create_ai_session(alice, text)
    assert response.status_code == status, response.text
    if status == 400:
        body = assert_service_error(response, 400, "VALIDATION_ERROR")
        assert body["details"]["field"] == "input_text"
        assert one(admin, "select count(*) from flashcards.ai_generation_sessions") == 0
    else:
        assert one(admin, "select char_length(input_text) from"
                           " flashcards.ai_generation_sessions") == len(text.strip())


@pytest.mark.parametrize(("body", "field"), [
    ({"model": "local/rules"}, "input_text"),
    ({"input_text": study_text(1200)}, "model"),
    ({"input_text": 1200, "model": "local/rules"}, "input_text"),
    ({"input_text": study_text(1200), "model": ["local/rules"]}, "model"),
    ({"input_text": study_text(1200), "model": "local/rules", "extra": 1}, "extra"),
])
def test_missing_or_wrongly_typed_fields_are_400(http: httpx.Client, alice: User,
                                                 body: dict[str, Any], field: str) -> None:
    response = http.post("/ai-sessions", json=body,
                         headers={"Authorization": f"Bearer {token_for(alice)}"})
    assert assert_service_error(response, 400, "VALIDATION_ERROR")["details"]["field"] == field


def test_unknown_model_is_400(create_ai_session: Create, alice: User) -> None:
    body = assert_service_error(create_ai_session(alice, model="gpt-9"), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == "model" and "local/rules" in body["hint"]


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"input_text": "x", }', b""])
def test_malformed_json_is_400(http: httpx.Client, alice: User, raw: bytes) -> None:
    response = http.post("/ai-sessions", content=raw, headers={
        "Authorization": f"Bearer {token_for(alice)}", "Content-Type": "application/json"})
    assert_service_error(response, 400, "VALIDATION_ERROR")


def test_without_a_valid_token_is_401(http: httpx.Client, alice: User,
                                      admin: psycopg.Connection[Any]) -> None:
    body = {"input_text": study_text(1200), "model": "local/rules"}
    assert_service_error(http.post("/ai-sessions", json=body), 401, "UNAUTHORIZED")
    forged = token_for(alice)[:-4] + "AAAA"
    assert_service_error(http.post("/ai-sessions", json=body,
                                   headers={"Authorization": f"Bearer {forged}"}),
                         401, "UNAUTHORIZED")
    expired = token_for(alice, exp=1)
    assert_service_error(http.post("/ai-sessions", json=body,
                                   headers={"Authorization": f"Bearer {expired}"}),
                         401, "UNAUTHORIZED")
    assert one(admin, "select count(*) from flashcards.ai_generation_sessions") == 0


def test_the_eleventh_generation_in_an_hour_is_429_with_retry_after(
    create_ai_session: Create, alice: User, bob: User
) -> None:
    for _ in range(10):
        assert create_ai_session(alice).status_code == 201
    limited = create_ai_session(alice)
    body = assert_service_error(limited, 429, "RATE_LIMITED")
    assert 1 <= int(limited.headers["Retry-After"]) <= 3600
    assert body["details"]["limit"] == 10 and body["details"]["resetsAt"]
    assert create_ai_session(bob).status_code == 201  # per user


def test_twenty_concurrent_generations_against_a_limit_of_ten(
    service: Any, alice: User, admin: psycopg.Connection[Any], local_provider: LocalAi
) -> None:
    local_provider.clear()
    token = token_for(alice)
    body = {"input_text": study_text(1100), "model": "local/rules"}

    def post(go: Callable[[], object]) -> httpx.Response:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            go()
            return client.post("/ai-sessions", json=body,
                               headers={"Authorization": f"Bearer {token}"})

    responses = race(20, post)
    assert Counter(r.status_code for r in responses) == {201: 10, 429: 10}
    assert one(admin, "select count(*) from flashcards.ai_generation_sessions") == 10
    assert one(admin, "select count(*) from core.quota_reservations"
                       " where bucket = 'flashcards.ai'") == 10


@pytest.mark.parametrize(("faults", "status", "code"), [
    ([{"mode": "status", "status": 500}], 502, "AI_PROVIDER_ERROR"),
    ([{"mode": "status", "status": 429}], 502, "AI_PROVIDER_ERROR"),
    ([{"mode": "error_in_200"}], 502, "AI_PROVIDER_ERROR"),
    ([{"mode": "invalid_output"}, {"mode": "refusal"}], 502, "AI_INVALID_OUTPUT"),
    ([{"mode": "delay", "seconds": 3}], 504, "AI_TIMEOUT"),
])
def test_a_provider_fault_leaves_a_failed_session_and_the_quota_counted(
    create_ai_session: Create, alice: User, local_provider: LocalAi,
    admin: psycopg.Connection[Any], faults: list[dict[str, Any]], status: int, code: str,
) -> None:
    local_provider.fault(*faults)
    body = assert_service_error(create_ai_session(alice), status, code)
    session_id = body["details"]["sessionId"]
    assert one(admin, "select status::text, error_code, candidates_count from"
                       " flashcards.ai_generation_sessions where id = %s",
                session_id) == ("failed", code, 0)
    assert one(admin, "select count(*) from flashcards.candidates") == 0
    assert one(admin, "select count(*) from core.ai_calls where request_id = %s",
                session_id) == len(faults)
    # every request counts against the rate limit, failures included
    assert one(admin, "select count(*) from core.quota_reservations where bucket ="
                       " 'flashcards.ai' and state = 'failure'") == 1
    assert one(admin, "select event_type from core.events where entity_id = %s",
                session_id) == "generation_session_failed"


def test_one_bad_answer_is_repaired_by_the_retry(
    create_ai_session: Create, alice: User, local_provider: LocalAi,
    admin: psycopg.Connection[Any],
) -> None:
    local_provider.fault({"mode": "invalid_output"})
    assert create_ai_session(alice).status_code == 201
    assert [r[0] for r in admin.execute(
        "select status from core.ai_calls order by attempt").fetchall()] == [
        "invalid_output", "success"]


def test_the_input_text_reaches_no_log_event_or_call_record(
    create_ai_session: Create, alice: User, admin: psycopg.Connection[Any],
    local_provider: LocalAi, service_logs: LogCapture,
) -> None:
    marker = "Zanzibarquokka"
    text = study_text(1500).replace("Chlorophyll", marker)
    assert create_ai_session(alice, text).status_code == 201
    local_provider.fault({"mode": "status", "status": 500})
    assert create_ai_session(alice, text).status_code == 502
    for table in ("core.events", "core.ai_calls"):
        rows = admin.execute(f"select t::text from {table} t").fetchall()
        assert rows and not [r for r in rows if marker in r[0] or "Photosynthesis" in r[0]]
    assert not [line for line in service_logs.lines if marker in line]
    sizes = admin.execute("select input_chars from core.ai_calls").fetchall()
    assert all(size > 1500 for (size,) in sizes)  # sizes, yes


def test_the_body_limit_is_raised_for_a_long_text_in_escaped_json(
    http: httpx.Client, alice: User
) -> None:
    """10,000 non-ASCII characters sent \\u-escaped (as JSON.stringify may not, but other
    clients do) are 60 KB: still a valid request, never a 413."""
    raw = json.dumps({"input_text": study_text(10_000, STUDY_TEXT_PL), "model": "local/rules"},
                     ensure_ascii=True).encode()
    assert len(raw) > 64 * 1024 or b"\\u" in raw
    response = http.post("/ai-sessions", content=raw, headers={
        "Authorization": f"Bearer {token_for(alice)}", "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    too_big = http.post("/ai-sessions", content=b" " * (200 * 1024), headers={
        "Authorization": f"Bearer {token_for(alice)}", "Content-Type": "application/json"})
    assert_service_error(too_big, 413, "PAYLOAD_TOO_LARGE")


def test_users_cannot_call_the_service_only_rpcs(api: Api, alice: User) -> None:
    begun = api("flashcards.begin_ai_session", alice, user_id=alice.id,
                input_text=study_text(1200), model="local/rules")
    assert begun.status == 403
    finished = api("flashcards.finish_ai_session", alice, user_id=alice.id,
                   session_id=alice.id, outcome={"status": "success"})
    assert finished.status == 403


def test_the_route_answers_where_supabase_js_functions_invoke_calls_it(
    http: httpx.Client, alice: User
) -> None:
    """`supabase.functions.invoke('ai-sessions', {body})` posts to /functions/v1/ai-sessions."""
    headers = {"Authorization": f"Bearer {token_for(alice)}"}
    body = {"input_text": study_text(1200), "model": "local/rules"}
    assert http.post("/functions/v1/ai-sessions", json=body, headers=headers).status_code == 201
    too_short = http.post("/functions/v1/ai-sessions", json=body | {"input_text": "x"},
                          headers=headers)
    assert_service_error(too_short, 400, "VALIDATION_ERROR")
    assert http.post("/functions/v1/sessions/ai", json={"maxPullups": 5},
                     headers=headers).status_code == 201


@pytest.mark.parametrize("usage", [
    {"prompt_tokens": 10.0, "completion_tokens": 5, "cost": 0.001},
    {"prompt_tokens": -5, "completion_tokens": 3_000_000_000, "cost": -0.01},
    {"prompt_tokens": "ten", "completion_tokens": None, "cost": 1e7},
    {"prompt_tokens": True, "completion_tokens": 1.5, "cost": "free"},
    "garbage",
    [1, 2],
])
def test_an_odd_usage_block_never_fails_a_valid_answer(
    create_ai_session: Create, generate: Callable[..., httpx.Response], alice: User,
    bob: User, local_provider: LocalAi, admin: psycopg.Connection[Any], usage: Any,
) -> None:
    local_provider.fault({"mode": "usage", "usage": usage}, {"mode": "usage", "usage": usage})
    assert create_ai_session(alice).status_code == 201
    assert generate(bob, maxPullups=5).status_code == 201
    rows = admin.execute("select prompt_tokens, completion_tokens, cost_usd::float"
                         " from core.ai_calls order by created_at").fetchall()
    assert len(rows) == 2
    expected = (10, 5, 0.001) if isinstance(usage, dict) and usage["cost"] == 0.001 else (
        None, None, None)
    assert rows == [expected, expected]


@pytest.mark.parametrize("bad", ["\u0000", "\ud800"])
def test_text_postgres_cannot_store_is_400_not_500(http: httpx.Client, alice: User,
                                                    bad: str) -> None:
    raw = json.dumps({"input_text": study_text(1200)[:600] + bad + study_text(600),
                      "model": "local/rules"})  # ensure_ascii: the surrogate as \ud800
    response = http.post("/ai-sessions", content=raw, headers={
        "Authorization": f"Bearer {token_for(alice)}", "Content-Type": "application/json"})
    body = assert_service_error(response, 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == "input_text"
