"""Pull-up session lifecycle: create, start, complete, edit, delete, and the rules around them."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User, assert_error, race, race_rpc
from tests.pullups.conftest import events_for

Factory = Callable[..., dict[str, Any]]


def test_planned_session_goes_through_start_and_complete(
    api: Api, alice: User, today: dt.date, admin: psycopg.Connection[Any]
) -> None:
    created = api("pullups.create_session", alice, session_date=today.isoformat(),
                  sets=[6, 5, 5, 4, 4], notes="before work")
    assert created.status == 201
    session = created.body["data"]["session"]
    assert session["status"] == "planned" and session["totalReps"] == 24
    assert set(session) == {"id", "status", "sessionDate", "sets", "totalReps", "rpe",
                            "isAiGenerated", "isModified", "aiComment", "notes", "startedAt",
                            "finishedAt", "createdAt", "updatedAt"}
    started = api("pullups.start_session", alice, session_id=session["id"])
    assert started.body["data"]["session"]["status"] == "in_progress"
    assert started.body["data"]["session"]["startedAt"] is not None
    done = api("pullups.complete_session", alice, session_id=session["id"],
               sets=[6, 6, 5, 5, 5], rpe=8)
    assert done.status == 200
    final = done.body["data"]["session"]
    assert (final["status"], final["sets"], final["rpe"], final["totalReps"]) == (
        "completed", [6, 6, 5, 5, 5], 8, 27)
    assert [e for e, _ in events_for(admin, session["id"])] == [
        "session_created", "session_started", "session_completed"]


def test_complete_keeps_stored_sets_when_none_given(
    api: Api, alice: User, in_progress: Factory
) -> None:
    session = in_progress(alice)
    done = api("pullups.complete_session", alice, session_id=session["id"])
    assert done.body["data"]["session"]["sets"] == session["sets"]


def test_complete_with_no_reps_is_400_invalid_sets(
    api: Api, alice: User, in_progress: Factory
) -> None:
    session = in_progress(alice)
    assert_error(api("pullups.complete_session", alice, session_id=session["id"],
                     sets=[0, 0, 0, 0, 0]), 400, "INVALID_SETS")


@pytest.mark.parametrize(("action", "needs"), [
    ("start_session", "planned"), ("complete_session", "in_progress")])
def test_transition_from_wrong_status_is_422(
    api: Api, alice: User, in_progress: Factory, action: str, needs: str
) -> None:
    session = in_progress(alice)
    if action == "complete_session":
        assert api("pullups.fail_session", alice, session_id=session["id"]).ok
    body = assert_error(api(f"pullups.{action}", alice, session_id=session["id"]),
                        422, "INVALID_STATUS")
    assert body["details"]["requiredStatus"] == needs


def test_second_active_session_is_409(api: Api, alice: User, create: Factory,
                                      today: dt.date) -> None:
    first = create(alice)
    response = api("pullups.create_session", alice, session_date=today.isoformat(),
                   sets=[1, 1, 1, 1, 1])
    body = assert_error(response, 409, "ACTIVE_SESSION_CONFLICT")
    assert body["details"]["activeSessionId"] == first["id"]


def test_logging_a_past_workout_does_not_take_the_active_slot(
    api: Api, alice: User, create: Factory
) -> None:
    create(alice)
    logged = create(alice, status="completed", days=-2, rpe=7)
    assert logged["status"] == "completed"
    create(alice, status="failed", days=-1, sets=[3, 2, 0, 0, 0])


def test_racing_creates_give_exactly_one_201(
    alice: User, database_url: str, today: dt.date, admin: psycopg.Connection[Any]
) -> None:
    responses = race_rpc(database_url, 20, "pullups.create_session",
                         {"session_date": today.isoformat(), "sets": [5, 5, 5, 5, 5]},
                         alice.claims)
    assert Counter(r.status for r in responses) == {201: 1, 409: 19}
    assert {r.body["code"] for r in responses if not r.ok} == {"ACTIVE_SESSION_CONFLICT"}
    assert admin.execute("select count(*) from pullups.sessions").fetchone() == (1,)
    assert admin.execute("select count(*) from core.events").fetchone() == (1,)


def _racing(database_url: str, user: User, calls: list[tuple[str, dict[str, Any]]]
            ) -> list[tuple[str, int, str | None]]:
    """The calls at once, each on its own connection: (function, status, error code)."""
    pending = iter(calls)
    lock = threading.Lock()

    def call(go: Callable[[], object]) -> tuple[str, int, str | None]:
        with lock:
            function, args = next(pending)
        with psycopg.connect(database_url, autocommit=True) as conn:
            go()
            response = Api(conn)(function, user, **args)
        return function, response.status, None if response.ok else response.body["code"]

    return race(len(calls), call)


@pytest.mark.parametrize(("function", "status", "loser", "event"), [
    ("pullups.start_session", 200, (422, "INVALID_STATUS"), "session_started"),
    ("pullups.delete_session", 204, (404, "NOT_FOUND"), "session_deleted"),
])
def test_racing_transitions_of_a_planned_session_happen_once(
    alice: User, database_url: str, admin: psycopg.Connection[Any], create: Factory,
    function: str, status: int, loser: tuple[int, str], event: str,
) -> None:
    session_id = create(alice)["id"]
    results = _racing(database_url, alice, [(function, {"session_id": session_id})] * 8)
    assert Counter((s, c) for _, s, c in results) == {(status, None): 1, loser: 7}
    assert [e for e, _ in events_for(admin, session_id)].count(event) == 1


def test_racing_complete_and_fail_finish_a_session_once(
    alice: User, database_url: str, admin: psycopg.Connection[Any],
    in_progress: Callable[[User], dict[str, Any]],
) -> None:
    session_id = in_progress(alice)["id"]
    results = _racing(database_url, alice, [
        ("pullups.complete_session", {"session_id": session_id, "rpe": 7}),
        ("pullups.fail_session", {"session_id": session_id})] * 4)
    winners = [(f, s) for f, s, c in results if c is None]
    assert len(winners) == 1 and winners[0][1] == 200
    assert Counter(c for _, _, c in results if c is not None) == {"INVALID_STATUS": 7}
    finished = [e for e, _ in events_for(admin, session_id)
                if e in ("session_completed", "session_failed")]
    assert finished == ["session_completed" if winners[0][0].endswith("complete_session")
                        else "session_failed"]


@pytest.mark.parametrize(("args", "field"), [
    ({"sets": [1, 2, 3, 4]}, "sets"),
    ({"sets": [1, 2, 3, 4, 61]}, "sets"),
    ({"sets": [1, 2, 3, 4, -1]}, "sets"),
    ({"sets": [1, 2, 3, 4, 2.5]}, "sets"),
    ({"sets": [1, 2, 3, 4, "5"]}, "sets"),
    ({"sets": {"a": 1}}, "sets"),
    ({"session_date": "2026-13-45"}, "session_date"),
    ({"session_date": "tomorrow"}, "session_date"),
    ({"status": "in_progress"}, "status"),
    ({"rpe": 11}, "rpe"),
    ({"rpe": 0}, "rpe"),
    ({"notes": "n" * 2001}, "notes"),
    ({"days": 31}, "session_date"),
    ({"days": -5}, "session_date"),
    ({"days": 3, "status": "completed"}, "session_date"),
])
def test_create_rejects_bad_input_with_the_field(
    api: Api, alice: User, today: dt.date, admin: psycopg.Connection[Any],
    args: dict[str, Any], field: str,
) -> None:
    call: dict[str, Any] = {"session_date": today.isoformat(), "sets": [5, 5, 5, 5, 5]}
    days = args.pop("days", None)
    if days is not None:
        call["session_date"] = (today + dt.timedelta(days=days)).isoformat()
    call |= args
    body = assert_error(api("pullups.create_session", alice, **call), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == field
    assert admin.execute("select count(*) from pullups.sessions").fetchone() == (0,)


def test_create_completed_with_no_reps_is_invalid_sets(api: Api, alice: User,
                                                       today: dt.date) -> None:
    assert_error(api("pullups.create_session", alice, session_date=today.isoformat(),
                     sets=[0, 0, 0, 0, 0], status="completed"), 400, "INVALID_SETS")


def test_rpe_of_wrong_type_is_400(api: Api, alice: User, today: dt.date) -> None:
    response = api("pullups.create_session", alice, session_date=today.isoformat(),
                   sets=[1, 1, 1, 1, 1], rpe="hard")
    assert response.status == 400


def test_rest_period_warning(api: Api, alice: User, create: Factory, today: dt.date,
                             in_progress: Factory) -> None:
    finished = in_progress(alice)
    assert api("pullups.complete_session", alice, session_id=finished["id"]).ok
    response = api("pullups.create_session", alice, session_date=today.isoformat(),
                   sets=[5, 5, 5, 5, 5])
    codes = [w["code"] for w in response.body["meta"]["warnings"]]
    assert codes == ["REST_PERIOD", "MULTIPLE_SAME_DAY"]


def test_rest_period_not_raised_after_a_rest_day(api: Api, alice: User, create: Factory,
                                                 today: dt.date) -> None:
    create(alice, status="completed", days=-2)
    response = api("pullups.create_session", alice, session_date=today.isoformat(),
                   sets=[5, 5, 5, 5, 5])
    assert response.body["meta"]["warnings"] == []


def test_multiple_same_day_warning_alone(api: Api, alice: User, create: Factory,
                                         today: dt.date) -> None:
    create(alice)  # planned for today; no finished session, so no rest warning
    logged = api("pullups.create_session", alice, session_date=today.isoformat(),
                 sets=[5, 5, 5, 5, 5], status="completed")
    assert [w["code"] for w in logged.body["meta"]["warnings"]] == ["MULTIPLE_SAME_DAY"]


def test_update_planned_session_and_ai_modified_flag(
    api: Api, alice: User, create: Factory, admin: psycopg.Connection[Any]
) -> None:
    session = create(alice)
    admin.execute("update pullups.sessions set is_ai_generated = true where id = %s",
                  (session["id"],))
    updated = api("pullups.update_session", alice, session_id=session["id"], notes="felt good")
    assert updated.body["data"]["session"]["isModified"] is False
    updated = api("pullups.update_session", alice, session_id=session["id"],
                  sets=[9, 9, 9, 9, 9])
    dto = updated.body["data"]["session"]
    assert (dto["sets"], dto["isModified"], dto["notes"]) == ([9] * 5, True, "felt good")
    cleared = api("pullups.update_session", alice, session_id=session["id"], notes="")
    assert cleared.body["data"]["session"]["notes"] is None


def test_update_with_stale_if_match_is_409(api: Api, alice: User, create: Factory) -> None:
    session = create(alice)
    etag = api("pullups.get_session", alice, session_id=session["id"]).header("ETag")
    first = api("pullups.update_session", alice, session_id=session["id"], notes="one",
                if_match=etag)
    assert first.status == 200
    assert_error(api("pullups.update_session", alice, session_id=session["id"], notes="two",
                     if_match=etag), 409, "VERSION_CONFLICT")


def test_finished_session_is_immutable_through_rpcs(
    api: Api, alice: User, create: Factory
) -> None:
    session = create(alice, status="completed", days=-1)
    assert_error(api("pullups.update_session", alice, session_id=session["id"], notes="x"),
                 403, "SESSION_IMMUTABLE")
    assert_error(api("pullups.delete_session", alice, session_id=session["id"]),
                 403, "SESSION_IMMUTABLE")


def test_finished_session_is_immutable_even_for_direct_sql(
    alice: User, create: Factory, admin: psycopg.Connection[Any]
) -> None:
    session = create(alice, status="completed", days=-1)
    with pytest.raises(psycopg.Error) as raised:
        admin.execute("update pullups.sessions set sets = '{9,9,9,9,9}' where id = %s",
                      (session["id"],))
    assert json.loads(raised.value.diag.message_primary or "")["code"] == "SESSION_IMMUTABLE"


def test_direct_table_writes_by_clients_are_refused(
    alice: User, create: Factory, admin: psycopg.Connection[Any]
) -> None:
    session = create(alice)
    claims = json.dumps(alice.claims)
    for statement in (
        "update pullups.sessions set status = 'completed'",
        "insert into pullups.sessions (user_id, session_date, sets)"
        f" values ('{alice.id}', current_date, '{{1,1,1,1,1}}')",
        "delete from pullups.sessions",
        "insert into pullups.generations (user_id, model) values"
        f" ('{alice.id}', 'x')",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), admin.transaction():
            admin.execute("select set_config('role', 'authenticated', true),"
                          " set_config('request.jwt.claims', %s, true)", (claims,))
            admin.execute(statement)
    row = admin.execute("select status::text from pullups.sessions where id = %s",
                        (session["id"],)).fetchone()
    assert row == ("planned",)


def test_rls_hides_other_users_rows(
    alice: User, bob: User, create: Factory, admin: psycopg.Connection[Any]
) -> None:
    create(alice)
    with admin.transaction():
        admin.execute("select set_config('role', 'authenticated', true),"
                      " set_config('request.jwt.claims', %s, true)", (json.dumps(bob.claims),))
        assert admin.execute("select count(*) from pullups.sessions").fetchone() == (0,)
        admin.execute("select set_config('request.jwt.claims', %s, true)",
                      (json.dumps(alice.claims),))
        assert admin.execute("select count(*) from pullups.sessions").fetchone() == (1,)


def test_delete_active_session_is_204_and_logged(
    api: Api, alice: User, create: Factory, admin: psycopg.Connection[Any]
) -> None:
    session = create(alice)
    response = api("pullups.delete_session", alice, session_id=session["id"])
    assert (response.status, response.body) == (204, None)
    assert admin.execute("select count(*) from pullups.sessions").fetchone() == (0,)
    assert events_for(admin, session["id"])[-1][0] == "session_deleted"
    create(alice)  # the active slot is free again


@pytest.mark.parametrize(("function", "args", "started"), [
    ("pullups.start_session", {}, False),
    ("pullups.update_session", {"rpe": 5}, False),
    ("pullups.delete_session", {}, False),
    ("pullups.complete_session", {"sets": [6, 6, 6, 6, 6]}, True),
    ("pullups.fail_session", {"reason": "x"}, True),
])
def test_another_users_session_cannot_be_written(
    api: Api, alice: User, bob: User, create: Factory, in_progress: Factory,
    admin: psycopg.Connection[Any], function: str, args: dict[str, Any], started: bool,
) -> None:
    session = in_progress(alice) if started else create(alice)
    before = admin.execute("select to_jsonb(s) from pullups.sessions s where s.id = %s",
                           (session["id"],)).fetchone()
    events = events_for(admin, session["id"])
    assert_error(api(function, bob, session_id=session["id"], **args), 404, "NOT_FOUND")
    after = admin.execute("select to_jsonb(s) from pullups.sessions s where s.id = %s",
                          (session["id"],)).fetchone()
    assert after == before and events_for(admin, session["id"]) == events


def test_get_session_of_another_user_is_404(api: Api, alice: User, bob: User,
                                            create: Factory) -> None:
    session = create(alice)
    assert_error(api("pullups.get_session", bob, session_id=session["id"]), 404, "NOT_FOUND")
    ok = api("pullups.get_session", alice, session_id=session["id"])
    assert ok.status == 200 and ok.header("Cache-Control") == "no-store"


def test_ai_quota_reports_settled_reservations(api: Api, alice: User) -> None:
    assert api("pullups.ai_quota", alice).body == {
        "data": {"limit": 5, "used": 0, "remaining": 5, "resetsAt": None}, "meta": {}}
    ok = api.service("core.quota_reserve", p_bucket="pullups.ai", p_user_id=alice.id).body
    failed = api.service("core.quota_reserve", p_bucket="pullups.ai", p_user_id=alice.id).body
    assert api("pullups.ai_quota", alice).body["data"]["used"] == 2  # both in flight
    api.service("core.quota_settle", p_reservation_id=ok, p_success=True)
    api.service("core.quota_settle", p_reservation_id=failed, p_success=False)
    quota = api("pullups.ai_quota", alice).body["data"]
    assert (quota["used"], quota["remaining"]) == (1, 4)
    assert quota["resetsAt"] is not None
    assert_error(api("pullups.ai_quota"), 401, "42501")


def test_sets_are_whole_numbers_in_any_json_spelling(api: Api, alice: User,
                                                     today: dt.date) -> None:
    created = api("pullups.create_session", alice, session_date=today.isoformat(),
                  sets=[5.0, 50e-1, 5, 6.00, 4])
    assert created.status == 201, created.body
    assert created.body["data"]["session"]["sets"] == [5, 5, 5, 6, 4]


@pytest.mark.parametrize("day", ["0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31"])
def test_dates_outside_the_sane_window_are_400(api: Api, alice: User, day: str) -> None:
    body = assert_error(api("pullups.create_session", alice, session_date=day,
                            sets=[5, 5, 5, 5, 5], status="completed"), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == "session_date"
    listed = api("pullups.list_sessions", alice, date_from=day)
    assert assert_error(listed, 400, "VALIDATION_ERROR")["details"]["field"] == "date_from"


def test_a_deleted_accounts_token_cannot_write(api: Api, alice: User, today: dt.date,
                                               admin: psycopg.Connection[Any]) -> None:
    """Its JWT stays valid until it expires; the write is 401, not a raw 23503."""
    admin.execute("delete from auth.users where id = %s", (alice.id,))
    for function, args in (
        ("pullups.create_session", {"session_date": today.isoformat(), "sets": [5] * 5}),
        ("flashcards.create_flashcards", {"items": [{"front": "f", "back": "b"}]}),
        ("pullups.ai_quota", {}),
    ):
        response = api(function, alice, **args)
        assert assert_error(response, 401, "UNAUTHORIZED")
        assert response.header("WWW-Authenticate") == "Bearer"
