"""Helpers for the pull-up trainer tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User


@pytest.fixture
def create(api: Api, today: dt.date) -> Callable[..., dict[str, Any]]:
    """Create a session through the RPC and return its SessionDTO (asserting 201)."""

    def factory(user: User, status: str = "planned", days: int = 0,
                sets: list[int] | None = None, **extra: Any) -> dict[str, Any]:
        response = api("pullups.create_session", user, status=status,
                       session_date=(today + dt.timedelta(days=days)).isoformat(),
                       sets=sets or [5, 5, 4, 4, 3], **extra)
        assert response.status == 201, response.body
        session: dict[str, Any] = response.body["data"]["session"]
        return session

    return factory


@pytest.fixture
def in_progress(
    api: Api, create: Callable[..., dict[str, Any]]
) -> Callable[[User], dict[str, Any]]:
    """A session of the user's that is in progress."""

    def factory(user: User) -> dict[str, Any]:
        session = create(user)
        response = api("pullups.start_session", user, session_id=session["id"])
        assert response.status == 200, response.body
        started: dict[str, Any] = response.body["data"]["session"]
        return started

    return factory


def events_for(admin: psycopg.Connection[Any], session_id: str) -> list[tuple[str, dict[str, Any]]]:
    rows = admin.execute(
        "select event_type, data from core.events where app = 'pullups' and entity_id = %s"
        " order by id", (session_id,)).fetchall()
    return [(r[0], r[1]) for r in rows]
