"""POST /sessions/ai (seed 000): the service on a real port, real Postgres, the local
provider over HTTP with scripted faults."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from python_functions.local.cluster import free_port
from python_functions.local.models import pullup_session
from python_functions.service.app import create_app
from tests.conftest import Api, User, assert_error, one, race
from tests.http_fixtures import LocalAi, ServerThread, assert_service_error, token_for

Generate = Callable[..., httpx.Response]


def _finish_all_sessions(admin: psycopg.Connection[Any], user: User) -> None:
    """Close the user's active session the way the app would (start, then complete)."""
    admin.execute("update pullups.sessions set status = 'in_progress' where user_id = %s"
                  " and status = 'planned'", (user.id,))
    admin.execute("update pullups.sessions set status = 'completed', finished_at = now()"
                  " where user_id = %s and status = 'in_progress'", (user.id,))


def test_success_stores_session_generation_call_and_events(
    generate: Generate, alice: User, admin: psycopg.Connection[Any], api: Api
) -> None:
    response = generate(alice, maxPullups=10, model="local/rules")
    assert response.status_code == 201, response.text
    body = response.json()
    session, generation = body["data"]["session"], body["data"]["generation"]
    expected = pullup_session({"maxPullups": 10, "history": []})
    assert session["sets"] == expected["sets"] == [6, 7, 8, 7, 6]
    assert session["aiComment"] == expected["aiComment"]
    assert (session["status"], session["isAiGenerated"], session["isModified"]) == (
        "planned", True, False)
    assert (generation["status"], generation["sessionId"], generation["model"]) == (
        "success", session["id"], "local/rules")
    assert body["meta"]["quota"]["used"] == 1 and body["meta"]["quota"]["remaining"] == 4
    assert body["meta"]["warnings"] == []
    stored = api("pullups.get_session", alice, session_id=session["id"])
    assert stored.body["data"]["session"] == session
    call = one(admin, "select status, attempt, provider, input_chars > 0, prompt_tokens > 0"
                       " from core.ai_calls where request_id = %s", generation["id"])
    assert call == ("success", 1, "openai-compatible", True, True)
    events = [r[0] for r in admin.execute(
        "select event_type from core.events where user_id = %s order by id", (alice.id,))]
    assert events == ["session_created", "ai_generation_succeeded"]


def test_history_drives_the_progression(
    generate: Generate, alice: User, api: Api
) -> None:
    for sets, status in (([6, 6, 5, 5, 4], "completed"), ([7, 6, 6, 5, 5], "completed")):
        assert api("pullups.create_session", alice, session_date="2026-11-20", sets=sets,
                   status=status, rpe=7).status == 201
    response = generate(alice)
    assert response.status_code == 201, response.text
    # best recent set 7, last session easy (rpe 7): step up to 8 -> 60-80 % pyramid
    assert response.json()["data"]["session"]["sets"] == [5, 6, 6, 6, 5]


def test_start_now_creates_an_in_progress_session(generate: Generate, alice: User,
                                                  admin: psycopg.Connection[Any]) -> None:
    response = generate(alice, maxPullups=8, startNow=True)
    assert response.status_code == 201
    session = response.json()["data"]["session"]
    assert session["status"] == "in_progress" and session["startedAt"] is not None
    events = [r[0] for r in admin.execute(
        "select event_type from core.events where entity_id = %s order by id", (session["id"],))]
    assert events == ["session_created", "session_started"]


def test_missing_max_pullups_for_a_new_user_is_400(generate: Generate, alice: User,
                                                   admin: psycopg.Connection[Any]) -> None:
    body = assert_service_error(generate(alice), 400, "MISSING_MAX_PULLUPS")
    assert body["details"] == {"field": "maxPullups"}
    assert one(admin, "select count(*) from pullups.generations") == 0
    assert one(admin, "select count(*) from core.quota_reservations") == 0


def test_quota_reached_is_403(generate: Generate, alice: User, api: Api,
                              admin: psycopg.Connection[Any]) -> None:
    for _ in range(5):
        reservation = api.service("core.quota_reserve", p_bucket="pullups.ai",
                                  p_user_id=alice.id).body
        api.service("core.quota_settle", p_reservation_id=reservation, p_success=True)
    body = assert_service_error(generate(alice, maxPullups=5), 403, "AI_LIMIT_REACHED")
    assert body["details"]["remaining"] == 0 and body["details"]["resetsAt"]
    assert one(admin, "select count(*) from pullups.generations") == 0


def test_five_real_generations_then_403(generate: Generate, alice: User,
                                        admin: psycopg.Connection[Any]) -> None:
    for _ in range(5):
        assert generate(alice, maxPullups=5).status_code == 201
        _finish_all_sessions(admin, alice)
    assert_service_error(generate(alice, maxPullups=5), 403, "AI_LIMIT_REACHED")


def test_timeout_is_408_and_leaves_a_timeout_generation(
    generate: Generate, alice: User, local_provider: LocalAi, admin: psycopg.Connection[Any],
    api: Api,
) -> None:
    local_provider.fault({"mode": "delay", "seconds": 3})
    body = assert_service_error(generate(alice, maxPullups=5), 408, "AI_TIMEOUT")
    generation_id = body["details"]["generation"]["id"]
    assert body["details"]["generation"]["status"] == "timeout"
    assert one(admin, "select status::text from pullups.generations where id = %s",
                generation_id) == "timeout"
    assert one(admin, "select error_code from pullups.generation_error_logs"
                       " where generation_id = %s", generation_id) == "AI_TIMEOUT"
    assert one(admin, "select status from core.ai_calls where request_id = %s",
                generation_id) == "timeout"
    assert one(admin, "select count(*) from pullups.sessions") == 0
    assert api("pullups.ai_quota", alice).body["data"]["used"] == 0  # not consumed
    assert one(admin, "select event_type from core.events order by id desc limit 1") == (
        "ai_generation_failed")


def test_invalid_output_is_retried_once_then_502(
    generate: Generate, alice: User, local_provider: LocalAi, admin: psycopg.Connection[Any],
) -> None:
    local_provider.fault({"mode": "invalid_output"}, {"mode": "not_json"})
    body = assert_service_error(generate(alice, maxPullups=5), 502, "AI_INVALID_OUTPUT")
    generation_id = body["details"]["generation"]["id"]
    calls = admin.execute("select attempt, status, error_code from core.ai_calls"
                          " where request_id = %s order by attempt", (generation_id,)).fetchall()
    assert calls == [(1, "invalid_output", "AI_INVALID_OUTPUT"),
                     (2, "invalid_output", "AI_INVALID_OUTPUT")]
    assert one(admin, "select status::text from pullups.generations") == "error"
    assert body["details"]["quota"]["used"] == 0


@pytest.mark.parametrize("first", [{"mode": "invalid_output"}, {"mode": "not_json"},
                                   {"mode": "refusal"}])
def test_one_bad_answer_is_repaired_by_the_retry(
    generate: Generate, alice: User, local_provider: LocalAi, admin: psycopg.Connection[Any],
    first: dict[str, Any],
) -> None:
    local_provider.fault(first)
    response = generate(alice, maxPullups=5)
    assert response.status_code == 201, response.text
    statuses = [r[0] for r in admin.execute(
        "select status from core.ai_calls order by attempt").fetchall()]
    assert statuses == ["invalid_output", "success"]


@pytest.mark.parametrize(("fault", "provider_status"), [
    ({"mode": "status", "status": 500}, 500),
    ({"mode": "status", "status": 503}, 503),
    ({"mode": "status", "status": 429}, 429),
    ({"mode": "status", "status": 402}, 402),
    ({"mode": "error_in_200"}, 502),
    ({"mode": "malformed_body"}, 200),
])
def test_provider_failures_are_502(
    generate: Generate, alice: User, local_provider: LocalAi, admin: psycopg.Connection[Any],
    api: Api, fault: dict[str, Any], provider_status: int,
) -> None:
    local_provider.fault(fault)
    body = assert_service_error(generate(alice, maxPullups=5), 502, "AI_PROVIDER_ERROR")
    assert "scripted" not in body["message"] and "overloaded" not in body["message"]
    row = one(admin, "select error_code, provider_status from pullups.generation_error_logs")
    assert row == ("AI_PROVIDER_ERROR", provider_status)
    assert api("pullups.ai_quota", alice).body["data"]["used"] == 0


def test_ten_concurrent_requests_give_one_201(
    service: Any, alice: User, admin: psycopg.Connection[Any], local_provider: LocalAi,
    api: Api,
) -> None:
    local_provider.clear()
    token = token_for(alice)

    def post(go: Callable[[], object]) -> httpx.Response:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            go()
            return client.post("/sessions/ai", json={"maxPullups": 9},
                               headers={"Authorization": f"Bearer {token}"})

    responses = race(10, post)
    assert Counter(r.status_code for r in responses) == {201: 1, 409: 9}
    assert {r.json()["code"] for r in responses if r.status_code != 201} <= {
        "GENERATION_IN_PROGRESS", "ACTIVE_SESSION_CONFLICT"}
    assert one(admin, "select count(*) from pullups.sessions") == 1
    assert one(admin, "select count(*) from pullups.generations") == 1
    assert one(admin, "select status::text from pullups.generations") == "success"
    assert api("pullups.ai_quota", alice).body["data"]["used"] == 1


def test_active_session_is_409(generate: Generate, alice: User, api: Api, today: dt.date) -> None:
    planned = api("pullups.create_session", alice, session_date=today.isoformat(),
                  sets=[1, 1, 1, 1, 1])
    assert planned.status == 201, planned.body
    assert_service_error(generate(alice, maxPullups=5), 409, "ACTIVE_SESSION_CONFLICT")


def test_no_session_can_be_created_or_started_while_the_ai_works(
    generate: Generate, alice: User, api: Api, local_provider: LocalAi,
    admin: psycopg.Connection[Any], today: dt.date,
) -> None:
    """Otherwise create, generate, delete, repeat would be free provider calls (the
    generation's conflict gives its quota slot back)."""
    local_provider.fault({"mode": "delay", "seconds": 0.8})
    result: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: result.append(generate(alice, maxPullups=5)))
    worker.start()
    for _ in range(100):  # wait until the generation is pending
        if one(admin, "select count(*) from pullups.generations") == 1:
            break
        threading.Event().wait(0.01)
    assert_error(api("pullups.create_session", alice, session_date=today.isoformat(),
                     sets=[1, 1, 1, 1, 1]), 409, "GENERATION_IN_PROGRESS")
    # logging a finished workout is still fine
    logged = api("pullups.create_session", alice, session_date=today.isoformat(),
                 sets=[1, 1, 1, 1, 1], status="completed")
    assert logged.status == 201
    worker.join()
    assert result[0].status_code == 201, result[0].text
    assert api("pullups.ai_quota", alice).body["data"]["used"] == 1


def test_a_session_that_appears_while_the_ai_works_is_409_and_releases_the_slot(
    generate: Generate, alice: User, api: Api, local_provider: LocalAi,
    admin: psycopg.Connection[Any], today: dt.date,
) -> None:
    """Not through the RPCs (they refuse), but e.g. an operator's insert: the AI's session
    is not stored and the quota slot is given back."""
    local_provider.fault({"mode": "delay", "seconds": 0.8})
    result: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: result.append(generate(alice, maxPullups=5)))
    worker.start()
    for _ in range(100):
        if one(admin, "select count(*) from pullups.generations") == 1:
            break
        threading.Event().wait(0.01)
    admin.execute("insert into pullups.sessions (user_id, session_date, sets)"
                  " values (%s, %s, '{1,1,1,1,1}')", (alice.id, today))
    worker.join()
    assert_service_error(result[0], 409, "ACTIVE_SESSION_CONFLICT")
    assert one(admin, "select status::text from pullups.generations") == "error"
    assert api("pullups.ai_quota", alice).body["data"]["used"] == 0


def test_a_crashed_request_frees_its_slot_after_the_ttl(
    generate: Generate, alice: User, api: Api, admin: psycopg.Connection[Any],
) -> None:
    crashed = api.service("pullups.begin_generation", user_id=alice.id, model="local/rules",
                          max_pullups=5)
    assert crashed.status == 200  # ... and the request dies before finish_generation
    assert_service_error(generate(alice, maxPullups=5), 409, "GENERATION_IN_PROGRESS")
    admin.execute("update pullups.generations set created_at = now() - interval '3 minutes'")
    admin.execute("update core.quota_reservations set reserved_at = now() - interval '3 minutes',"
                  " expires_at = now() - interval '1 minute'")
    assert api("pullups.ai_quota", alice).body["data"]["used"] == 0
    response = generate(alice, maxPullups=5)
    assert response.status_code == 201, response.text
    old = one(admin, "select g.status::text, l.error_code from pullups.generations g"
                      " join pullups.generation_error_logs l on l.generation_id = g.id"
                      " where g.id = %s", crashed.body["generationId"])
    assert old == ("error", "ABANDONED")
    assert response.json()["meta"]["quota"]["used"] == 1


def test_users_cannot_call_the_service_only_rpcs(api: Api, alice: User) -> None:
    assert_error(api("pullups.begin_generation", alice, user_id=alice.id, model="local/rules",
                     max_pullups=5), 403, "42501")
    assert_error(api("pullups.finish_generation", alice, user_id=alice.id,
                     generation_id=alice.id, outcome={"status": "success"}), 403, "42501")


@pytest.mark.parametrize("body", [
    {"maxPullups": 0}, {"maxPullups": 61}, {"maxPullups": "10"}, {"maxPullups": 7.5},
    {"startNow": "yes"}, {"model": "gpt-5-ultra"}, {"model": ""}, {"unexpected": 1},
])
def test_invalid_bodies_are_400(generate: Generate, alice: User, body: dict[str, Any],
                                admin: psycopg.Connection[Any]) -> None:
    assert_service_error(generate(alice, **body), 400, "VALIDATION_ERROR")
    assert one(admin, "select count(*) from pullups.generations") == 0


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"null"])
def test_malformed_json_is_400(http: httpx.Client, alice: User, raw: bytes) -> None:
    response = http.post("/sessions/ai", content=raw, headers={
        "Authorization": f"Bearer {token_for(alice)}", "Content-Type": "application/json"})
    assert_service_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("chunked", [False, True])
def test_oversized_body_is_413_before_anything_runs(
    http: httpx.Client, alice: User, admin: psycopg.Connection[Any], chunked: bool
) -> None:
    payload = b'{"maxPullups": 5, "model": "' + b"x" * 70_000 + b'"}'
    content: Any = iter([payload[:1000], payload[1000:]]) if chunked else payload
    response = http.post("/sessions/ai", content=content, headers={
        "Authorization": f"Bearer {token_for(alice)}", "Content-Type": "application/json"})
    body = assert_service_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert body["details"] == {"maxBytes": 65536}
    assert one(admin, "select count(*) from pullups.generations") == 0


def test_validation_errors_name_the_field(generate: Generate, alice: User) -> None:
    body = assert_service_error(generate(alice, maxPullups=99), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == "maxPullups"
    assert body["details"]["errors"][0]["field"] == "maxPullups"
    assert "99" not in str(body)  # the input is never echoed back


def test_unknown_route_and_method(http: httpx.Client) -> None:
    assert_service_error(http.get("/nope"), 404, "NOT_FOUND")
    assert_service_error(http.get("/sessions/ai"), 405, "METHOD_NOT_ALLOWED")


def test_health_and_openapi(http: httpx.Client) -> None:
    health = http.get("/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["database"] == "ok"
    assert health.json()["provider"]["reachable"] is True
    spec = http.get("/openapi.json").json()
    assert "/sessions/ai" in spec["paths"]


def test_health_says_when_the_provider_does_not_answer(service_settings: Any) -> None:
    """Configured is not enough: a provider that does not answer makes the service degraded
    (still 200: everything but the AI answers works)."""
    settings = service_settings.model_copy(
        update={"ai_base_url": f"http://127.0.0.1:{free_port()}/v1"})
    with ServerThread(create_app(settings)) as server:
        health = httpx.get(f"{server.url}/health", timeout=30)
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    assert health.json()["provider"]["reachable"] is False
