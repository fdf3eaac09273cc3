"""One ceiling on AI attempts per user across every app (bucket ai.calls): failures that an
app's own quota gives back still cost the provider, so they count here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import User, one
from tests.flashcards.conftest import study_text
from tests.http_fixtures import LocalAi, assert_service_error, token_for
from tests.recipes.conftest import PLACKI


@pytest.fixture
def ceiling_of_four(admin: psycopg.Connection[Any]) -> Any:
    admin.execute("update core.quota_policies set max_count = 4 where bucket = 'ai.calls'")
    yield
    admin.execute("update core.quota_policies set max_count = 30 where bucket = 'ai.calls'")


def test_attempts_of_every_app_and_outcome_count_against_one_ceiling(
    ceiling_of_four: Any, generate: Callable[..., httpx.Response], http: httpx.Client,
    alice: User, bob: User, local_provider: LocalAi, admin: psycopg.Connection[Any],
) -> None:
    def create_ai_session(user: User, text: str) -> httpx.Response:
        return http.post("/ai-sessions", json={"input_text": text, "model": "local/rules"},
                         headers={"Authorization": f"Bearer {token_for(user)}"})

    def draft(user: User, text: str) -> httpx.Response:
        return http.post("/ai/recipes/draft", json={
            "source": "text", "text": text, "output_format": "pycha_recipe_draft_v1"},
            headers={"Authorization": f"Bearer {token_for(user)}"})

    local_provider.fault({"mode": "status", "status": 500})
    assert generate(alice, maxPullups=5).status_code == 502   # failed: pullups gives it back
    assert create_ai_session(alice, study_text(1100)).status_code == 201
    assert draft(alice, PLACKI).status_code == 200
    assert generate(alice, maxPullups=5).status_code == 201
    limited = create_ai_session(alice, study_text(1100))
    body = assert_service_error(limited, 429, "RATE_LIMITED")
    assert "across all apps" in body["message"] and int(limited.headers["Retry-After"]) >= 1
    assert_service_error(draft(alice, PLACKI), 429, "RATE_LIMITED")
    # the refused requests took nothing: their own buckets are rolled back with them
    assert one(admin, "select count(*) from flashcards.ai_generation_sessions") == 1
    assert one(admin, "select count(*) from core.quota_reservations"
                      " where bucket = 'recipes.draft'") == 1
    assert create_ai_session(bob, study_text(1100)).status_code == 201  # per user
