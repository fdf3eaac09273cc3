"""The one-row reads (`pullups.get_session`, `workouts.get_session`, `workouts.get_plan`) let
the tables' RLS policy pick the caller's rows: the owner gets the row, anyone else 404, and
a caller the policy cannot name is 401 UNAUTHORIZED, never a raw Postgres error: no `sub`,
or a `sub` that is not a UUID (as a third-party auth provider's token has), whether or not
the id names a row (where it does, the policy's `auth.uid()` fails its cast). The service
role, which bypasses RLS, may not call them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import SERVICE_ROLE_CLAIMS, Api, User, assert_error

READS = [("pullups.get_session", "session_id"), ("workouts.get_session", "id"),
         ("workouts.get_plan", "id")]
NOWHERE = "00000000-0000-4000-8000-00000000dead"


@pytest.fixture
def rows(api: Api, alice: User, today: dt.date) -> dict[str, str]:
    """Alice's pull-up session, workout plan and workout session, by read."""
    session = api("pullups.create_session", alice, session_date=today.isoformat(),
                  sets=[5, 5, 5, 5, 5])
    assert session.status == 201, session.body
    plan = api("workouts.create_plan", alice, name="Push",
               plan={"days": [{"name": "Push", "exercises": []}]})
    assert plan.status == 201, plan.body
    started = api("workouts.start_session", alice, plan_id=plan.body["id"],
                  date=today.isoformat(), session={
                      "plan_name": "Push", "day_name": "Push", "exercises": []})
    assert started.status == 201, started.body
    return {"pullups.get_session": session.body["data"]["session"]["id"],
            "workouts.get_session": started.body["id"], "workouts.get_plan": plan.body["id"]}


def _id(arg: str, value: str) -> dict[str, Any]:
    return {arg: value}


def _claims(user: User, sub: str | None) -> dict[str, Any]:
    """The user's claims with another `sub`, or none."""
    claims = {k: v for k, v in user.claims.items() if k != "sub"}
    return claims if sub is None else claims | {"sub": sub}


@pytest.mark.parametrize(("function", "arg"), READS, ids=[r[0] for r in READS])
def test_the_owner_reads_the_row_and_another_user_gets_404(
        api: Api, alice: User, bob: User, rows: dict[str, str], function: str,
        arg: str) -> None:
    assert api(function, alice, **_id(arg, rows[function])).status == 200
    assert_error(api(function, bob, **_id(arg, rows[function])), 404, "NOT_FOUND")


@pytest.mark.parametrize(("function", "arg"), READS, ids=[r[0] for r in READS])
@pytest.mark.parametrize("sub", ["user_2abcDEF", None, f"{{{NOWHERE}}}x"],
                         ids=["third-party sub", "no sub", "not a uuid"])
@pytest.mark.parametrize("target", ["a row", "no row"])
def test_a_caller_rls_cannot_name_is_401(
        api: Api, alice: User, rows: dict[str, str], function: str, arg: str,
        sub: str | None, target: str) -> None:
    row_id = rows[function] if target == "a row" else NOWHERE
    assert_error(api(function, claims=_claims(alice, sub), **_id(arg, row_id)), 401,
                 "UNAUTHORIZED")


@pytest.mark.parametrize(("function", "arg"), READS, ids=[r[0] for r in READS])
def test_without_a_caller_a_malformed_id_is_401_first(
        api: Api, alice: User, function: str, arg: str) -> None:
    assert_error(api(function, claims=_claims(alice, None), **_id(arg, "not-a-uuid")), 401,
                 "UNAUTHORIZED")
    assert_error(api(function, alice, **_id(arg, "not-a-uuid")), 400, "VALIDATION_ERROR")


def test_reads_keep_no_owner_filter_of_their_own(
        api: Api, admin: psycopg.Connection[Any], alice: User, rows: dict[str, str],
        make_user: Callable[..., User]) -> None:
    """RLS is what stands between a caller and another's row: with the policy widened (as
    an app sharing rows would), the read follows it."""
    carol = make_user("carol")
    admin.execute("create policy shared_read on workouts.plans for select"
                  " to authenticated using (true)")
    try:
        assert api("workouts.get_plan", carol, id=rows["workouts.get_plan"]).status == 200
    finally:
        admin.execute("drop policy shared_read on workouts.plans")
    assert_error(api("workouts.get_plan", carol, id=rows["workouts.get_plan"]), 404,
                 "NOT_FOUND")


@pytest.mark.parametrize(("function", "arg"), READS, ids=[r[0] for r in READS])
def test_the_service_role_cannot_call_them(
        api: Api, alice: User, rows: dict[str, str], function: str, arg: str) -> None:
    """service_role bypasses RLS, which is these reads' only owner check: it must not be
    able to call them, with or without a user's `sub`."""
    for claims in (SERVICE_ROLE_CLAIMS, SERVICE_ROLE_CLAIMS | {"sub": alice.id}):
        assert_error(api(function, claims=claims, **_id(arg, rows[function])), 403, "42501")
