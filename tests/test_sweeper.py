"""Abandoned AI attempts are closed for everyone: by `core.close_abandoned_attempts()` (for
pg_cron and operators) and by the service on its own, without waiting for the same user."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import psycopg
import pytest
from pydantic import ValidationError

from python_functions.service.app import create_app
from python_functions.service.settings import Settings
from tests.conftest import Api, User, one
from tests.flashcards.conftest import study_text
from tests.http_fixtures import LocalAi, ServerThread, token_for


def _abandon(api: Api, admin: psycopg.Connection[Any], user: User) -> tuple[str, str]:
    """A pull-up generation and a flashcards session left pending by a crashed request."""
    generation = api.service("pullups.begin_generation", user_id=user.id, model="local/rules",
                             max_pullups=5).body["generationId"]
    session = api.service("flashcards.begin_ai_session", user_id=user.id,
                          input_text=study_text(1200), model="local/rules").body["sessionId"]
    admin.execute("update pullups.generations set created_at = now() - interval '10 minutes'")
    admin.execute("update flashcards.ai_generation_sessions"
                  " set created_at = now() - interval '10 minutes'")
    return generation, session


def test_the_sweep_closes_every_abandoned_attempt_and_frees_the_slots(
    api: Api, admin: psycopg.Connection[Any], alice: User, bob: User
) -> None:
    _abandon(api, admin, alice)
    fresh = api.service("pullups.begin_generation", user_id=bob.id, model="local/rules",
                        max_pullups=5).body["generationId"]  # still running: left alone
    closed = api.service("core.close_abandoned_attempts")
    assert closed.status == 200 and closed.body == {"pullups": 1, "flashcards": 1}
    assert one(admin, "select array_agg(status::text order by created_at)"
                      " from pullups.generations") == ["error", "pending"]
    assert one(admin, "select status::text from pullups.generations where id = %s",
               fresh) == "pending"
    assert one(admin, "select status::text, error_code from"
                      " flashcards.ai_generation_sessions") == ("failed", "ABANDONED")
    assert api("pullups.ai_quota", alice).body["data"]["used"] == 0
    assert api.service("core.close_abandoned_attempts").body == {"pullups": 0, "flashcards": 0}


def test_users_cannot_run_the_sweep(api: Api, alice: User) -> None:
    assert api("core.close_abandoned_attempts", alice).status == 403


def test_the_service_sweeps_on_its_own(
    api: Api, admin: psycopg.Connection[Any], alice: User, service_settings: Settings,
    database_url: str
) -> None:
    generation, session = _abandon(api, admin, alice)
    # the sweep needs the direct transport (core is not exposed through PostgREST)
    settings = service_settings.model_copy(update={"sweep_interval_seconds": 0.1,
                                                   "database_url": database_url})
    with ServerThread(create_app(settings)) as server:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if one(admin, "select status::text from pullups.generations where id = %s",
                   generation) != "pending":
                break
            time.sleep(0.05)
        assert httpx.get(f"{server.url}/health").status_code == 200
    assert one(admin, "select status::text from pullups.generations where id = %s",
               generation) == "error"
    assert one(admin, "select status::text from flashcards.ai_generation_sessions"
                      " where id = %s", session) == "failed"


def test_a_policy_that_would_abandon_live_attempts_is_refused(
    admin: psycopg.Connection[Any]
) -> None:
    """Provider and OCR timeouts are capped at 120 s (settings); a TTL under 3 minutes could
    close a live attempt and let the same user run two at once."""
    with pytest.raises(psycopg.errors.CheckViolation):
        admin.execute("update core.quota_policies set reservation_ttl = interval '1 minute'"
                      " where bucket = 'pullups.ai'")
    with pytest.raises(ValidationError):
        Settings(pullups_ai_timeout_seconds=150)


@pytest.mark.parametrize(("route", "body", "status"), [
    ("/sessions/ai", {"maxPullups": 5}, 408),
    ("/ai-sessions", {"input_text": study_text(1100), "model": "local/rules"}, 504),
])
def test_an_attempt_closed_under_a_live_request_is_answered_as_a_timeout(
    service: ServerThread, local_provider: LocalAi, api: Api,
    admin: psycopg.Connection[Any], alice: User, route: str, body: dict[str, Any],
    status: int,
) -> None:
    local_provider.fault({"mode": "delay", "seconds": 1.0})
    result: list[httpx.Response] = []
    worker = threading.Thread(target=lambda: result.append(httpx.post(
        f"{service.url}{route}", json=body, timeout=30,
        headers={"Authorization": f"Bearer {token_for(alice)}"})))
    worker.start()
    deadline = time.monotonic() + 10
    while one(admin, "select (select count(*) from pullups.generations)"
                     " + (select count(*) from flashcards.ai_generation_sessions)") == 0:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    admin.execute("update pullups.generations set created_at = now() - interval '1 hour'")
    admin.execute("update flashcards.ai_generation_sessions"
                  " set created_at = now() - interval '1 hour'")
    assert sum(api.service("core.close_abandoned_attempts").body.values()) == 1
    worker.join()
    answer = result[0]
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == "GENERATION_CLOSED"
    assert one(admin, "select count(*) from core.ai_calls") == 1  # its call still recorded


def test_a_client_that_hangs_up_still_gets_its_attempt_closed_and_recorded(
    service: ServerThread, local_provider: LocalAi, admin: psycopg.Connection[Any],
    alice: User,
) -> None:
    """The handler runs to its end when the client goes away mid-generation (deliberately:
    the provider was paid), so the attempt is closed and its call recorded."""
    local_provider.fault({"mode": "delay", "seconds": 1.0})
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{service.url}/sessions/ai", json={"maxPullups": 5}, timeout=0.3,
                   headers={"Authorization": f"Bearer {token_for(alice)}"})
    deadline = time.monotonic() + 15
    while one(admin, "select count(*) from pullups.generations where status = 'pending'"):
        assert time.monotonic() < deadline, "the attempt stayed pending"
        time.sleep(0.05)
    assert one(admin, "select status::text from pullups.generations") == "success"
    assert one(admin, "select count(*) from core.ai_calls") == 1


def test_through_postgrest_the_service_leaves_the_sweep_to_pg_cron(
    api: Api, admin: psycopg.Connection[Any], alice: User, service_settings: Settings,
    transport: str
) -> None:
    if transport != "postgrest":
        pytest.skip("the PostgREST transport only")
    generation, _ = _abandon(api, admin, alice)
    settings = service_settings.model_copy(update={"sweep_interval_seconds": 0.05})
    with ServerThread(create_app(settings)) as server:
        time.sleep(0.5)  # ten sweep intervals
        assert httpx.get(f"{server.url}/health").status_code == 200
    assert one(admin, "select status::text from pullups.generations where id = %s",
               generation) == "pending"
