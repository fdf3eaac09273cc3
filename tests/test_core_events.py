"""core.events: written through the definer writer only; nobody but the owner rewrites it."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User, assert_error


def _log(api: Api, user: User) -> int:
    response = api.service("core.log_event", p_app="pullups", p_event_type="session_started",
                           p_user_id=user.id, p_entity_type="session",
                           p_entity_id=user.id, p_data={"k": "v"})
    assert response.status == 200, response.body
    event_id: int = response.body
    return event_id


def test_service_role_appends_through_the_writer(
    api: Api, alice: User, admin: psycopg.Connection[Any]
) -> None:
    event_id = _log(api, alice)
    row = admin.execute("select app, event_type, user_id::text, data from core.events"
                        " where id = %s", (event_id,)).fetchone()
    assert row == ("pullups", "session_started", alice.id, {"k": "v"})


def test_users_cannot_write_events(api: Api, alice: User) -> None:
    assert_error(api("core.log_event", alice, p_app="pullups", p_event_type="forged",
                     p_user_id=alice.id), 403, "42501")


@pytest.mark.parametrize("role", ["authenticated", "service_role"])
@pytest.mark.parametrize("statement", [
    "update core.events set data = '{}'",
    "delete from core.events",
    "truncate core.events",
    "insert into core.events (app, event_type) values ('pullups', 'forged')",
])
def test_events_cannot_be_rewritten_by_api_roles(
    api: Api, alice: User, admin: psycopg.Connection[Any], role: str, statement: str
) -> None:
    _log(api, alice)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), admin.transaction():
        admin.execute("select set_config('role', %s, true),"
                      " set_config('request.jwt.claims', %s, true)",
                      (role, json.dumps({"role": role, "sub": alice.id})))
        admin.execute(statement)
    assert admin.execute("select count(*) from core.events").fetchone() == (1,)


def test_append_only_trigger_guards_even_a_granted_role(
    api: Api, alice: User, admin: psycopg.Connection[Any]
) -> None:
    """A grant added by mistake still cannot rewrite history: the trigger refuses too."""
    _log(api, alice)
    admin.execute("grant update, delete on core.events to service_role")
    try:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"), \
                admin.transaction():
            admin.execute("set local role service_role")
            admin.execute("delete from core.events")
    finally:
        admin.execute("revoke update, delete on core.events from service_role")


def test_owner_may_still_erase(api: Api, alice: User, admin: psycopg.Connection[Any]) -> None:
    _log(api, alice)
    admin.execute("delete from core.events where user_id = %s", (alice.id,))
    assert admin.execute("select count(*) from core.events").fetchone() == (0,)
