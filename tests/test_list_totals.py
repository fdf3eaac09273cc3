"""Every list RPC counts at most `core.total_cap()` rows past `page_offset`: the total is
exact up to there, and past it a lower bound flagged by `total_capped`. A user with a long
history then costs about what anyone else costs (`make bench BENCH_ARGS=workouts` measures it)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User, one

# Each list RPC, the SQL giving a user (%s) `n` (%s) rows it lists, and its pagination.
LISTS: dict[str, tuple[str, str]] = {
    "pullups.list_sessions": (
        "insert into pullups.sessions (user_id, status, session_date, sets)"
        " select %s, 'completed', date '2020-01-01' + g, '{1,1,1,1,1}'"
        " from generate_series(1, %s) g",
        "meta.pagination"),
    "workouts.list_sessions": (
        "with p as (insert into workouts.plans (user_id, name) values (%(u)s, 'Plan')"
        " returning id, user_id)"
        " insert into workouts.training_sessions (user_id, plan_id, date, session, ended_at)"
        " select p.user_id, p.id, date '2020-01-01' + g, '{}', now()"
        " from p, generate_series(1, %(n)s) g",
        "pagination"),
    "workouts.list_plans": (
        "insert into workouts.plans (user_id, name) select %s, 'Plan ' || g"
        " from generate_series(1, %s) g",
        "pagination"),
    "flashcards.list_flashcards": (
        "insert into flashcards.flashcards (user_id, front, back, source)"
        " select %s, 'front ' || g, 'back', 'manual' from generate_series(1, %s) g",
        "pagination"),
    "flashcards.list_ai_sessions": (
        "insert into flashcards.ai_generation_sessions (user_id, input_text, input_hash,"
        " model, status, finished_at) select %s, repeat('x', 1000), repeat('0', 64), 'm',"
        " 'completed', now() from generate_series(1, %s) g",
        "pagination"),
}


def _pagination(body: dict[str, Any], where: str) -> Any:
    for key in where.split("."):
        body = body[key]
    return body


@pytest.fixture
def cap(admin: psycopg.Connection[Any]) -> int:
    value = one(admin, "select core.total_cap()")
    assert isinstance(value, int) and value > 0
    return value


# A filter every inserted row matches: the filtered count is a query of its own.
FILTERS: dict[str, dict[str, Any]] = {
    "pullups.list_sessions": {"status": ["completed"], "date_from": "2020-01-01"},
    "workouts.list_sessions": {"completed": True},
    "workouts.list_plans": {"include_archived": True},
    "flashcards.list_flashcards": {"search": "front"},
}


@pytest.mark.parametrize(("function", "filters"), [
    *((f, {}) for f in LISTS), *FILTERS.items()],
    ids=[*(f"{f}-unfiltered" for f in LISTS), *(f"{f}-filtered" for f in FILTERS)])
def test_total_is_capped_past_the_cap_and_exact_up_to_it(
    function: str, filters: dict[str, Any], api: Api, alice: User,
    admin: psycopg.Connection[Any], cap: int
) -> None:
    insert, where = LISTS[function]
    rows = cap + 1
    params = {"u": alice.id, "n": rows} if "%(u)s" in insert else (alice.id, rows)
    admin.execute(insert, params)

    first = api(function, alice, page_size=5, **filters)
    assert first.status == 200, first.body
    assert _pagination(first.body, where) == {
        "limit": 5, "offset": 0, "total": cap, "total_capped": True}
    # one row further in, every remaining row is within the cap: exact again
    next_page = api(function, alice, page_size=5, page_offset=1, **filters)
    assert _pagination(next_page.body, where) == {
        "limit": 5, "offset": 1, "total": rows, "total_capped": False}
