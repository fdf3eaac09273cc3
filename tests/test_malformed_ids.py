"""A malformed id is 400 VALIDATION_ERROR whatever plan Postgres picks for the lookup.

Checked inside the WHERE clause, the id was parsed at planning time in a custom plan (400)
but per row in a generic one, which plpgsql may switch to after a few calls on a
connection: for a user without rows, nothing was parsed and the answer was 404. The test
forces that plan (generic, sequential scan) on its own connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User, assert_error

CALLS = [
    ("pullups.get_session", {"session_id": "not-a-uuid"}, "session_id"),
    ("pullups.fail_session", {"session_id": "not-a-uuid"}, "session_id"),
    ("workouts.get_session", {"id": "not-a-uuid"}, "id"),
    ("workouts.complete_session", {"id": "not-a-uuid"}, "id"),
    ("workouts.get_plan", {"id": "not-a-uuid"}, "id"),
    ("flashcards.get_ai_session", {"session_id": "not-a-uuid"}, "session_id"),
]


@pytest.fixture
def generic_plans(database_url: str) -> Iterator[Api]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("set plan_cache_mode = force_generic_plan")
        conn.execute("set enable_indexscan = off")
        conn.execute("set enable_bitmapscan = off")
        yield Api(conn)


@pytest.mark.parametrize(("function", "args", "field"), CALLS,
                         ids=[c[0] for c in CALLS])
def test_a_malformed_id_is_400_under_a_generic_plan(
        generic_plans: Api, make_user: Any, function: str,
        args: dict[str, Any], field: str) -> None:
    user: User = make_user("nobody")  # no rows at all
    body = assert_error(generic_plans(function, user, **args), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == field
