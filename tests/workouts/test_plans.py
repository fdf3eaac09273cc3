"""Plans are plain owner CRUD through RLS; user_id and has_sessions are not client-writable."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import User
from tests.workouts.conftest import as_user

MakePlan = Callable[..., str]


def test_insert_defaults_the_owner_and_reads_back(
    alice: User, admin: psycopg.Connection[Any], make_plan: MakePlan
) -> None:
    plan_id = make_plan(alice, name="Legs")
    with as_user(admin, alice) as conn:
        row = conn.execute("select user_id::text, name, has_sessions, archived"
                           " from workouts.plans where id = %s", (plan_id,)).fetchone()
    assert row == (alice.id, "Legs", False, False)


def test_owner_updates_and_deletes(alice: User, admin: psycopg.Connection[Any],
                                   make_plan: MakePlan) -> None:
    plan_id = make_plan(alice)
    with as_user(admin, alice) as conn:
        conn.execute("update workouts.plans set name = 'Renamed', archived = true"
                     " where id = %s", (plan_id,))
        assert conn.execute("select name from workouts.plans").fetchone() == ("Renamed",)
        conn.execute("delete from workouts.plans where id = %s", (plan_id,))
        assert conn.execute("select count(*) from workouts.plans").fetchone() == (0,)


def test_other_users_cannot_see_change_or_delete_a_plan(
    alice: User, bob: User, admin: psycopg.Connection[Any], make_plan: MakePlan
) -> None:
    plan_id = make_plan(alice)
    with as_user(admin, bob) as conn:
        assert conn.execute("select count(*) from workouts.plans").fetchone() == (0,)
        updated = conn.execute("update workouts.plans set name = 'mine' where id = %s",
                               (plan_id,))
        deleted = conn.execute("delete from workouts.plans where id = %s", (plan_id,))
        assert (updated.rowcount, deleted.rowcount) == (0, 0)
    assert admin.execute("select name from workouts.plans").fetchone() == ("Push / Pull",)


@pytest.mark.parametrize(("statement", "params"), [
    ("insert into workouts.plans (name, user_id) values ('x', %s)", "other"),
    ("insert into workouts.plans (name, has_sessions) values ('x', true)", None),
    ("update workouts.plans set has_sessions = true", None),
    ("update workouts.plans set user_id = %s", "other"),
])
def test_user_id_and_has_sessions_are_not_client_writable(
    alice: User, bob: User, admin: psycopg.Connection[Any], make_plan: MakePlan,
    statement: str, params: str | None,
) -> None:
    make_plan(alice)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), as_user(admin, alice) as conn:
        conn.execute(statement, (bob.id,) if params else None)


@pytest.mark.parametrize("plan", ['{"days": "monday"}', '[]', '{"weeks": []}'])
def test_plan_document_needs_a_days_array(alice: User, admin: psycopg.Connection[Any],
                                          plan: str) -> None:
    with pytest.raises(psycopg.errors.CheckViolation), as_user(admin, alice) as conn:
        conn.execute("insert into workouts.plans (name, plan) values ('x', %s)", (plan,))


def test_anon_cannot_read_plans(admin: psycopg.Connection[Any], alice: User,
                                make_plan: MakePlan) -> None:
    make_plan(alice)
    with pytest.raises(psycopg.errors.InsufficientPrivilege), admin.transaction():
        admin.execute("set local role anon")
        admin.execute("select * from workouts.plans")
