"""Abandoned AI attempts are closed for everyone: by `core.close_abandoned_attempts()` (for
pg_cron and operators) and by the service on its own, without waiting for the same user."""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg

from python_functions.app import create_app
from python_functions.settings import Settings
from tests.conftest import Api, User, one
from tests.flashcards.conftest import study_text
from tests.http_fixtures import ServerThread


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
    api: Api, admin: psycopg.Connection[Any], alice: User, service_settings: Settings
) -> None:
    generation, session = _abandon(api, admin, alice)
    settings = service_settings.model_copy(update={"sweep_interval_seconds": 0.1})
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
