"""Seed 004's Sessions resource as the workouts RPCs, through the PostgREST-faithful caller."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User, assert_error, race_rpc
from tests.workouts.conftest import as_user, snapshot

Start = Callable[..., dict[str, Any]]
MakePlan = Callable[..., str]


def _events(admin: psycopg.Connection[Any], entity_id: str) -> list[tuple[str, dict[str, Any]]]:
    rows = admin.execute("select event_type, data from core.events where app = 'workouts'"
                         " and entity_id = %s order by id", (entity_id,)).fetchall()
    return [(r[0], r[1]) for r in rows]


def test_start_update_complete(
    api: Api, alice: User, make_plan: MakePlan, admin: psycopg.Connection[Any]
) -> None:
    plan_id = make_plan(alice)
    started = api("workouts.start_session", alice, plan_id=plan_id, date="2026-11-20",
                  session=snapshot())
    assert started.status == 201
    session = started.body
    assert (session["plan_id"], session["date"], session["ended_at"], session["completed"]) == (
        plan_id, "2026-11-20", None, False)
    assert session["session"] == snapshot()

    progress = snapshot(completed=True)
    progress["exercises"][0]["sets"][0] |= {"actual_reps": 7, "actual_weight": 62.5}
    updated = api("workouts.update_session", alice, id=session["id"], session=progress)
    assert updated.status == 200
    assert updated.body["session"]["exercises"][0]["sets"][0]["actual_weight"] == 62.5

    done = api("workouts.complete_session", alice, id=session["id"])
    assert done.status == 200
    assert done.body["completed"] is True and done.body["ended_at"] is not None
    assert done.body["session"] == updated.body["session"]  # kept when none is given

    events = _events(admin, session["id"])
    assert [e for e, _ in events] == ["session_started", "session_updated", "session_completed"]
    assert events[0][1] == {"plan_id": plan_id, "date": "2026-11-20"}
    assert events[1][1] == {"plan_id": plan_id}
    assert events[2][1]["sets_completed"] == 6
    has_sessions = admin.execute("select has_sessions from workouts.plans where id = %s",
                                 (plan_id,)).fetchone()
    assert has_sessions == (True,)


def test_complete_with_a_final_snapshot(api: Api, alice: User, make_plan: MakePlan,
                                        start: Start) -> None:
    session = start(alice, make_plan(alice))
    final = snapshot(reps=5, completed=True)
    done = api("workouts.complete_session", alice, id=session["id"], session=final)
    assert done.body["session"] == final


def test_second_start_is_409(api: Api, alice: User, make_plan: MakePlan, start: Start) -> None:
    plan_id = make_plan(alice)
    first = start(alice, plan_id)
    body = assert_error(api("workouts.start_session", alice, plan_id=plan_id, date="2026-11-21",
                            session=snapshot("2026-11-21")), 409, "ACTIVE_SESSION_CONFLICT")
    assert body["message"] == "An in-progress session already exists"
    assert body["details"] == {"active_session_id": first["id"]}


def test_a_completed_session_frees_the_slot(api: Api, alice: User, make_plan: MakePlan,
                                            start: Start) -> None:
    plan_id = make_plan(alice)
    first = start(alice, plan_id)
    api("workouts.complete_session", alice, id=first["id"])
    start(alice, plan_id, date="2026-11-21")


def test_twenty_concurrent_starts_give_one_201(
    alice: User, make_plan: MakePlan, database_url: str, admin: psycopg.Connection[Any]
) -> None:
    plan_id = make_plan(alice)
    responses = race_rpc(database_url, 20, "workouts.start_session",
                         {"plan_id": plan_id, "date": "2026-11-20", "session": snapshot()},
                         alice.claims)
    assert Counter(r.status for r in responses) == {201: 1, 409: 19}
    assert admin.execute("select count(*) from workouts.training_sessions").fetchone() == (1,)
    assert admin.execute("select count(*) from core.events").fetchone() == (1,)


@pytest.mark.parametrize("action", ["update_session", "complete_session"])
def test_changing_a_completed_session_is_400(api: Api, alice: User, make_plan: MakePlan,
                                             start: Start, action: str) -> None:
    session = start(alice, make_plan(alice))
    api("workouts.complete_session", alice, id=session["id"])
    body = assert_error(api(f"workouts.{action}", alice, id=session["id"], session=snapshot()),
                        400, "SESSION_COMPLETED")
    assert body["message"] == "Cannot update completed session"


def test_completed_session_is_immutable_even_for_direct_sql(
    api: Api, alice: User, make_plan: MakePlan, start: Start, admin: psycopg.Connection[Any]
) -> None:
    session = start(alice, make_plan(alice))
    api("workouts.complete_session", alice, id=session["id"])
    with pytest.raises(psycopg.Error, match="SESSION_COMPLETED"):
        admin.execute("update workouts.training_sessions set session = '{}' where id = %s",
                      (session["id"],))


def test_deleting_a_plan_keeps_its_history(
    api: Api, alice: User, make_plan: MakePlan, start: Start, admin: psycopg.Connection[Any]
) -> None:
    plan_id = make_plan(alice)
    session = start(alice, plan_id)
    api("workouts.complete_session", alice, id=session["id"])
    with as_user(admin, alice) as conn:
        conn.execute("delete from workouts.plans where id = %s", (plan_id,))
    kept = api("workouts.get_session", alice, id=session["id"])
    assert kept.status == 200
    assert kept.body["plan_id"] is None and kept.body["session"]["plan_name"] == "Push / Pull"


def test_another_users_plan_looks_missing(api: Api, alice: User, bob: User,
                                          make_plan: MakePlan) -> None:
    bobs_plan = make_plan(bob)
    foreign = assert_error(api("workouts.start_session", alice, plan_id=bobs_plan,
                               date="2026-11-20", session=snapshot()), 400, "PLAN_NOT_FOUND")
    missing = assert_error(api("workouts.start_session", alice,
                               plan_id="00000000-0000-4000-8000-000000000000",
                               date="2026-11-20", session=snapshot()), 400, "PLAN_NOT_FOUND")
    assert foreign["message"] == missing["message"] == "Plan not found or access denied"


def test_archived_plan_cannot_start_a_session(api: Api, alice: User, make_plan: MakePlan) -> None:
    plan_id = make_plan(alice, archived=True)
    assert_error(api("workouts.start_session", alice, plan_id=plan_id, date="2026-11-20",
                     session=snapshot()), 400, "PLAN_NOT_FOUND")


@pytest.mark.parametrize("action", ["get_session", "update_session", "complete_session"])
def test_another_users_session_is_404(api: Api, alice: User, bob: User, make_plan: MakePlan,
                                      start: Start, action: str) -> None:
    session = start(alice, make_plan(alice))
    args: dict[str, Any] = {"id": session["id"]}
    if action == "update_session":
        args["session"] = snapshot()
    assert_error(api(f"workouts.{action}", bob, **args), 404, "NOT_FOUND")
    assert api("workouts.get_session", alice, id=session["id"]).body["ended_at"] is None


@pytest.mark.parametrize(("function", "args"), [
    ("start_session", {"plan_id": "00000000-0000-4000-8000-000000000000",
                       "date": "2026-11-20", "session": snapshot()}),
    ("list_sessions", {}),
    ("get_session", {"id": "00000000-0000-4000-8000-000000000000"}),
])
def test_anon_is_401(api: Api, function: str, args: dict[str, Any]) -> None:
    assert_error(api(f"workouts.{function}", **args), 401, "42501")


def test_direct_writes_to_sessions_are_refused(
    api: Api, alice: User, make_plan: MakePlan, start: Start, admin: psycopg.Connection[Any]
) -> None:
    plan_id = make_plan(alice)
    session = start(alice, plan_id)
    for statement, params in (
        ("insert into workouts.training_sessions (user_id, plan_id, date, session)"
         " values (%s, %s, '2026-11-20', '{}')", (alice.id, plan_id)),
        ("update workouts.training_sessions set ended_at = now() where id = %s",
         (session["id"],)),
        ("delete from workouts.training_sessions where id = %s", (session["id"],)),
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), as_user(admin, alice) as conn:
            conn.execute(statement, params)
    assert api("workouts.get_session", alice, id=session["id"]).body["ended_at"] is None


def test_unknown_keys_in_the_snapshot_are_dropped(api: Api, alice: User,
                                                  make_plan: MakePlan) -> None:
    document = snapshot() | {"extra": "dropped"}
    document["exercises"][0]["sets"][0]["rpe"] = 9
    response = api("workouts.start_session", alice, plan_id=make_plan(alice),
                   date="2026-11-20", session=document)
    assert response.body["session"] == snapshot()


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    document: Any = snapshot()
    target = document
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return dict(document)


@pytest.mark.parametrize(("document", "path"), [
    (_broken(["plan_name"], KeyError), "session.plan_name"),
    (_broken(["plan_name"], ""), "session.plan_name"),
    (_broken(["plan_name"], "x" * 201), "session.plan_name"),
    (_broken(["day_name"], 5), "session.day_name"),
    (_broken(["date"], "2026-11-21"), "session.date"),
    (_broken(["exercises"], KeyError), "session.exercises"),
    (_broken(["exercises"], {"name": "x"}), "session.exercises"),
    (_broken(["exercises", 1, "name"], None), "session.exercises[1].name"),
    (_broken(["exercises", 0, "sets"], "3x8"), "session.exercises[0].sets"),
    (_broken(["exercises", 0, "sets", 2, "planned_reps"], -1),
     "session.exercises[0].sets[2].planned_reps"),
    (_broken(["exercises", 0, "sets", 2, "planned_reps"], 7.5),
     "session.exercises[0].sets[2].planned_reps"),
    (_broken(["exercises", 0, "sets", 1, "planned_weight"], "60kg"),
     "session.exercises[0].sets[1].planned_weight"),
    (_broken(["exercises", 0, "sets", 0, "actual_weight"], -2.5),
     "session.exercises[0].sets[0].actual_weight"),
    (_broken(["exercises", 0, "sets", 0, "rest_seconds"], 3601),
     "session.exercises[0].sets[0].rest_seconds"),
    (_broken(["exercises", 0, "sets", 0, "completed"], "yes"),
     "session.exercises[0].sets[0].completed"),
    (snapshot(exercises=51), "session.exercises"),
    ([1, 2, 3], "session"),
])
def test_invalid_session_shape_is_400_with_the_path(
    api: Api, alice: User, make_plan: MakePlan, admin: psycopg.Connection[Any],
    document: Any, path: str,
) -> None:
    body = assert_error(api("workouts.start_session", alice, plan_id=make_plan(alice),
                            date="2026-11-20", session=document), 400, "VALIDATION_ERROR")
    assert body["details"]["path"] == path
    assert admin.execute("select count(*) from workouts.training_sessions").fetchone() == (0,)


def test_oversized_snapshot_is_400(api: Api, alice: User, make_plan: MakePlan) -> None:
    document = snapshot()
    document["padding"] = "x" * 300_000
    body = assert_error(api("workouts.start_session", alice, plan_id=make_plan(alice),
                            date="2026-11-20", session=document), 400, "VALIDATION_ERROR")
    assert body["details"]["path"] == "session"


@pytest.mark.parametrize(("args", "path"), [
    ({"plan_id": "nope"}, "plan_id"), ({"date": "20-11-2026"}, "date"),
])
def test_malformed_ids_and_dates_are_400(api: Api, alice: User, make_plan: MakePlan,
                                         args: dict[str, str], path: str) -> None:
    call: dict[str, Any] = {"plan_id": make_plan(alice), "date": "2026-11-20",
                            "session": snapshot()} | args
    body = assert_error(api("workouts.start_session", alice, **call), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == path


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_date_outside_the_sane_window_is_400(api: Api, alice: User, make_plan: MakePlan,
                                               day: str) -> None:
    response = api("workouts.start_session", alice, plan_id=make_plan(alice), date=day,
                   session=snapshot(day))
    assert assert_error(response, 400, "VALIDATION_ERROR")["details"]["field"] == "date"


def test_a_snapshot_that_grows_past_256_kib_when_normalised_is_refused(
    api: Api, alice: User, make_plan: MakePlan, admin: psycopg.Connection[Any]
) -> None:
    """2,500 terse sets are ~90 KB as given; spelled out in full they would be ~320 KB."""
    terse = {"plan_name": "P", "day_name": "D", "date": "2026-11-20", "exercises": [
        {"name": f"E{i}", "sets": [{"planned_reps": 1, "completed": False}] * 50}
        for i in range(50)]}
    assert len(json.dumps(terse)) < 128 * 1024
    response = api("workouts.start_session", alice, plan_id=make_plan(alice),
                   date="2026-11-20", session=terse)
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["details"]["path"] == "session"
    assert admin.execute("select count(*) from workouts.training_sessions").fetchone() == (0,)


def test_racing_completes_of_one_session_complete_it_once(
    alice: User, make_plan: MakePlan, start: Start, database_url: str,
    admin: psycopg.Connection[Any],
) -> None:
    session = start(alice, make_plan(alice))
    responses = race_rpc(database_url, 8, "workouts.complete_session", {"id": session["id"]},
                         alice.claims)
    assert Counter(r.status for r in responses) == {200: 1, 400: 7}
    assert {r.body["code"] for r in responses if not r.ok} == {"SESSION_COMPLETED"}
    assert [e for e, _ in _events(admin, session["id"])].count("session_completed") == 1
