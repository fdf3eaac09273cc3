"""Helpers for the workout plans tests."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User


@contextmanager
def as_user(admin: psycopg.Connection[Any], user: User) -> Iterator[psycopg.Connection[Any]]:
    """A transaction running as PostgREST runs a table request for this user."""
    with admin.transaction():
        admin.execute("select set_config('role', 'authenticated', true),"
                      " set_config('request.jwt.claims', %s, true)", (json.dumps(user.claims),))
        yield admin


def snapshot(date: str = "2026-11-20", reps: int = 8, completed: bool = False,
             exercises: int = 2) -> dict[str, Any]:
    return {
        "plan_name": "Push / Pull",
        "day_name": "Push",
        "date": date,
        "exercises": [
            {"name": f"Exercise {i}", "sets": [
                {"planned_reps": reps, "planned_weight": 60, "actual_reps": None,
                 "actual_weight": None, "rest_seconds": 120, "completed": completed}
                for _ in range(3)]}
            for i in range(exercises)
        ],
    }


@pytest.fixture
def make_plan(admin: psycopg.Connection[Any]) -> Callable[..., str]:
    """Create a plan the way supabase-js does: a table insert as the user, under RLS."""

    def factory(user: User, name: str = "Push / Pull", archived: bool = False) -> str:
        with as_user(admin, user) as conn:
            row = conn.execute(
                "insert into workouts.plans (name, plan, archived)"
                " values (%s, '{\"days\": [{\"name\": \"Push\", \"exercises\": []}]}', %s)"
                " returning id::text", (name, archived)).fetchone()
        assert row is not None
        return str(row[0])

    return factory


@pytest.fixture
def start(api: Api) -> Callable[..., dict[str, Any]]:
    """Start a session from a plan (asserting 201) and return the SessionResponse."""

    def factory(user: User, plan_id: str, date: str = "2026-11-20",
                **overrides: Any) -> dict[str, Any]:
        response = api("workouts.start_session", user, plan_id=plan_id, date=date,
                       session=snapshot(date, **overrides))
        assert response.status == 201, response.body
        body: dict[str, Any] = response.body
        return body

    return factory


def finished_history(api: Api, user: User, plan_ids: list[str],
                     dates: list[dt.date]) -> list[dict[str, Any]]:
    """One completed session per (plan, date), oldest first."""
    sessions = []
    for plan_id, date in zip(plan_ids, dates, strict=True):
        started = api("workouts.start_session", user, plan_id=plan_id, date=date.isoformat(),
                      session=snapshot(date.isoformat()))
        assert started.status == 201, started.body
        done = api("workouts.complete_session", user, id=started.body["id"])
        assert done.status == 200, done.body
        sessions.append(done.body)
    return sessions
