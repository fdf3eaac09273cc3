"""The writes of a training session (migrations 20261126001400, 20261126002000 and
20261126002100), the candidate review (20261126002200) and the plan and card writes
(20261126002300) finish the common case in one statement and hand anything else to the
step-by-step `<name>_checked` function they replaced. Both must give the same result: for the
same request on the same data, the fast path answers, stores, logs and sets headers exactly
as the checked path does, and requests it cannot finish (an unusual but valid argument, a
failed rule) reach the checked path.

Which path ran is read from Postgres' own per-transaction function counters
(`track_functions`), so these tests need the stand-in's superuser."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from tests.conftest import User, calls_this_transaction
from tests.workouts.conftest import snapshot

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")
ETAG = re.compile(r'^"[0-9a-f-]{36}\.\d+"$')


@dataclass(frozen=True)
class Written:
    status: int
    body: Any
    headers: Any
    # calls of <name>_checked: 0 when the fast path finished; -1 for an API error (a
    # function that raises is not counted; only the checked path raises these)
    checked_calls: int


def _stable(value: Any) -> Any:
    """The value with what differs between users and runs (ids, clock times, ETags)
    replaced by placeholders."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, str):
        for name, pattern in (("<uuid>", UUID), ("<time>", TIMESTAMP), ("<etag>", ETAG)):
            if pattern.match(value):
                return name
    return value


def _argument(value: Any) -> Any:
    return Jsonb(value) if isinstance(value, dict | list) else value


def write(bootstrap_url: str, user: User, function: str, checked: bool = False,
          **args: Any) -> Written:
    """Call the RPC as PostgREST would (role authenticated, the user's claims), or its
    `_checked` function directly, and count the checked function's calls."""
    schema, _, name = function.partition(".")
    checked_name = f"{schema}_private.{name}_checked"
    target = checked_name if checked else function
    named = ", ".join(f"{k} := %({k})s" for k in args)
    with psycopg.connect(bootstrap_url) as conn:
        conn.execute("set track_functions = 'pl'")
        conn.execute("select set_config('request.jwt.claims', %s, true)",
                     (json.dumps(user.claims),))
        if not checked:
            conn.execute("set local role authenticated")
        try:
            row = conn.execute(
                f"select {target}({named})::text, current_setting('response.headers', true),"
                " current_setting('response.status', true)",
                {k: _argument(v) for k, v in args.items()}).fetchone()
        except psycopg.Error as exc:
            assert exc.sqlstate == "PGRST", exc  # an API error, nothing raw
            conn.rollback()
            detail = json.loads(exc.diag.message_detail or "{}")
            return Written(detail["status"], json.loads(exc.diag.message_primary or "{}"),
                           None, -1)
        assert row is not None
        conn.execute("reset role")
        calls = calls_this_transaction(conn, checked_name)
        conn.commit()
    body, headers, status = row
    return Written(int(status or 200), json.loads(body or "null"), json.loads(headers or "null"),
                   calls)


def stored(admin: psycopg.Connection[Any], user: User) -> Any:
    """The user's rows the writes touch and the events they logged, placeholders for ids
    and times."""
    rows = admin.execute(
        "select jsonb_build_object("
        " 'sessions', (select jsonb_agg(to_jsonb(s) - 'user_id' order by s.created_at)"
        "   from pullups.sessions s where s.user_id = %(u)s),"
        " 'training', (select jsonb_agg(to_jsonb(t) - 'user_id' order by t.created_at)"
        "   from workouts.training_sessions t where t.user_id = %(u)s),"
        " 'plans', (select jsonb_agg(to_jsonb(p) - 'user_id' order by p.created_at, p.name)"
        "   from workouts.plans p where p.user_id = %(u)s),"
        " 'generations', (select jsonb_agg(to_jsonb(g) - 'user_id' - 'input_text'"
        "   order by g.created_at) from flashcards.ai_generation_sessions g"
        "   where g.user_id = %(u)s),"
        " 'candidates', (select jsonb_agg(to_jsonb(c) - 'user_id' order by c.position)"
        "   from flashcards.candidates c where c.user_id = %(u)s),"
        " 'cards', (select jsonb_agg(to_jsonb(f) - 'user_id' - 'search_vector'"
        "   order by f.front, f.back) from flashcards.flashcards f where f.user_id = %(u)s),"
        " 'events', (select jsonb_agg(jsonb_build_object('app', e.app, 'type', e.event_type,"
        "   'entity', e.entity_type, 'data', e.data) order by e.id)"
        "   from core.events e where e.user_id = %(u)s))", {"u": user.id}).fetchone()
    assert rows is not None
    return _stable(rows[0])


Arrange = Callable[[psycopg.Connection[Any], User], dict[str, Any]]
TODAY = dt.date.today()


def _history(admin: psycopg.Connection[Any], user: User) -> None:
    """A session finished two hours ago and one logged today: both warnings apply."""
    admin.execute(
        "insert into pullups.sessions (user_id, status, session_date, sets, rpe, finished_at)"
        " values (%(u)s, 'completed', current_date, '{5,5,5,5,5}', 7, now() - interval '2 h'),"
        " (%(u)s, 'failed', current_date - 1, '{1,0,0,0,0}', 9, null)", {"u": user.id})


def _planned(admin: psycopg.Connection[Any], user: User, ai: bool = False) -> str:
    row = admin.execute(
        "insert into pullups.sessions (user_id, status, session_date, sets, is_ai_generated,"
        " ai_comment) values (%s, 'planned', current_date + 1, '{4,4,4,4,4}', %s, 'go')"
        " returning id::text", (user.id, ai)).fetchone()
    assert row is not None
    return str(row[0])


def _planned_today(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
    """A session planned for today after both kinds of history: both warnings apply."""
    _history(admin, user)
    row = admin.execute(
        "insert into pullups.sessions (user_id, status, session_date, sets)"
        " values (%s, 'planned', current_date, '{4,4,4,4,4}') returning id::text",
        (user.id,)).fetchone()
    assert row is not None
    return {"session_id": str(row[0])}


def _training(admin: psycopg.Connection[Any], user: User, ai: bool = False,
              status: str = "in_progress") -> str:
    row = admin.execute(
        "insert into pullups.sessions (user_id, status, session_date, sets, is_ai_generated,"
        " rpe, started_at, finished_at) values (%s, %s, current_date, '{4,4,4,4,4}', %s, 6,"
        " now() - interval '20 minutes',"
        " case when %s in ('completed', 'failed') then now() end) returning id::text",
        (user.id, status, ai, status)).fetchone()
    assert row is not None
    return str(row[0])


def _generating(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
    """A planned session while an AI generation of the user is pending."""
    admin.execute("insert into pullups.generations (user_id, model) values (%s, 'local/rules')",
                  (user.id,))
    return {"session_id": _planned(admin, user)}


def _generation(admin: psycopg.Connection[Any], user: User, status: str = "completed"
                ) -> tuple[str, list[str]]:
    """A generation session of the user with four pending candidates: its id and theirs."""
    row = admin.execute(
        "insert into flashcards.ai_generation_sessions (user_id, input_text, input_hash, model,"
        " status, candidates_count, finished_at) values (%s, repeat('Fotosynteza. ', 100),"
        " repeat('0', 64), 'local/rules', %s, 4, case when %s = 'completed' then now() end)"
        " returning id::text", (user.id, status, status)).fetchone()
    assert row is not None
    candidates = [str(r[0]) for r in admin.execute(
        "insert into flashcards.candidates (session_id, user_id, position, front, back, prompt)"
        " select %s, %s, g, 'Pytanie ' || g, 'Odpowiedź ' || g, 'fragment ' || g"
        " from generate_series(1, 4) g returning id::text", (row[0], user.id))]
    return str(row[0]), candidates


def _review(*actions: dict[str, Any], status: str = "completed", reviewed: bool = False
            ) -> Arrange:
    """Arrange a generation session and review its candidates: each action names its
    candidate by position (`at`, -1: one not in the session); `reviewed`: the first was
    rejected before."""
    def arrange(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
        session_id, candidates = _generation(admin, user, status)
        if reviewed:
            admin.execute("update flashcards.candidates set status = 'rejected',"
                          " reviewed_at = now() where id = %s", (candidates[0],))
        return {"session_id": session_id, "actions": [
            {k: v for k, v in a.items() if k != "at"}
            | {"candidate_id": candidates[a["at"]] if a["at"] >= 0 else str(uuid.uuid4())}
            for a in actions]}
    return arrange


def _etag(admin: psycopg.Connection[Any], session_id: str) -> str:
    row = admin.execute("select pullups_private.session_etag(s) from pullups.sessions s"
                        " where s.id = %s", (session_id,)).fetchone()
    assert row is not None
    return str(row[0])


def _plan(admin: psycopg.Connection[Any], user: User) -> str:
    row = admin.execute("insert into workouts.plans (user_id, name) values (%s, 'Plan')"
                        " returning id::text", (user.id,)).fetchone()
    assert row is not None
    return str(row[0])


def _in_progress(admin: psycopg.Connection[Any], user: User) -> str:
    row = admin.execute(
        "insert into workouts.training_sessions (user_id, plan_id, date, session)"
        " values (%s, %s, %s, %s) returning id::text",  # the snapshot's date: one clock
        (user.id, _plan(admin, user), TODAY, Jsonb(snapshot(TODAY.isoformat())))).fetchone()
    assert row is not None
    return str(row[0])


def _odd_snapshot() -> dict[str, Any]:
    """Valid, but not in the stored shape: missing numbers, an unknown key, no date."""
    value = snapshot(TODAY.isoformat(), reps=10, completed=True)
    del value["date"]
    value["note"] = "dropped"
    del value["exercises"][0]["sets"][0]["actual_weight"]
    return value


def _create_with_history(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
    _history(admin, user)
    return {"session_date": TODAY.isoformat(), "sets": [5, 6, 7, 8, 9], "status": "completed",
            "rpe": 7, "notes": "zażółć"}


def _update_ai_plan(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
    session_id = _planned(admin, user, ai=True)
    return {"session_id": session_id, "sets": [6, 6, 6, 6, 7], "rpe": 8, "notes": "",
            "session_date": TODAY.isoformat(), "if_match": _etag(admin, session_id)}


PLAN = {"days": [{"name": "Góra", "exercises": [{"name": "Wiosłowanie", "sets": 3}]}]}


def _used_plan(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
    """The plan of a workout in progress."""
    row = admin.execute("select plan_id::text from workouts.training_sessions where id = %s",
                        (_in_progress(admin, user),)).fetchone()
    assert row is not None
    return {"id": str(row[0])}


def _card(admin: psycopg.Connection[Any], user: User, source: str = "manual",
          front: str = "Stolica Polski?", deleted: bool = False) -> str:
    """A card of the user; an `ai` one comes from a candidate of a generation session."""
    session_id, candidates = _generation(admin, user) if source != "manual" else (None, [None])
    row = admin.execute(
        "insert into flashcards.flashcards (user_id, front, back, source, session_id,"
        " candidate_id, deleted_at) values (%s, %s, 'Warszawa', %s, %s, %s,"
        " case when %s then now() end) returning id::text",
        (user.id, front, source, session_id, candidates[0], deleted)).fetchone()
    assert row is not None
    return str(row[0])


def _own_and_others(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
    """Three cards of the user: two of them named (one twice, in capitals), a deleted one,
    and an id of no card of the user's."""
    mine = [_card(admin, user, front=f"Karta {i}") for i in range(3)]
    deleted = _card(admin, user, front="Usunięta", deleted=True)
    return {"ids": [mine[0], mine[1], str(uuid.uuid4()), mine[0].upper(), deleted]}


def _gone(arrange: Arrange) -> Arrange:
    """Arrange, then delete the user's account: the JWT outlives it."""
    def arrange_then_delete(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
        args = arrange(admin, user)
        admin.execute("delete from auth.users where id = %s", (user.id,))
        return args
    return arrange_then_delete


CASES: dict[str, tuple[str, Arrange]] = {
    "create completed, both warnings": ("pullups.create_session", _create_with_history),
    "create planned": ("pullups.create_session", lambda a, u: {
        "session_date": (TODAY + dt.timedelta(days=1)).isoformat(), "sets": [3, 3, 3, 3, 3]}),
    # each month's own last days (20261128000000_fast_path_dates.sql)
    "create on the 31st": ("pullups.create_session", lambda a, u: {
        "session_date": "2026-10-31", "sets": [1, 2, 3, 4, 5], "status": "completed"}),
    "create on the 30th": ("pullups.create_session", lambda a, u: {
        "session_date": "2026-09-30", "sets": [1, 2, 3, 4, 5], "status": "failed"}),
    "start on the 29th": ("workouts.start_session", lambda a, u: {
        "plan_id": _plan(a, u), "date": "2026-10-29", "session": snapshot("2026-10-29")}),
    "update an AI plan, with its ETag": ("pullups.update_session", _update_ai_plan),
    "update notes only": ("pullups.update_session", lambda a, u: {
        "session_id": _planned(a, u), "notes": "easy"}),
    "start": ("workouts.start_session", lambda a, u: {
        "plan_id": _plan(a, u), "date": TODAY.isoformat(),
        "session": snapshot(TODAY.isoformat())}),
    "start with a snapshot to normalise": ("workouts.start_session", lambda a, u: {
        "plan_id": _plan(a, u).upper(), "date": TODAY.isoformat(), "session": _odd_snapshot()}),
    "update a snapshot": ("workouts.update_session", lambda a, u: {
        "id": _in_progress(a, u), "session": snapshot(TODAY.isoformat(), completed=True)}),
    "complete a workout": ("workouts.complete_session", lambda a, u: {
        "id": _in_progress(a, u)}),
    "complete a workout with its final snapshot": ("workouts.complete_session", lambda a, u: {
        "id": _in_progress(a, u), "session": snapshot(TODAY.isoformat(), completed=True)}),
    "complete a workout with a snapshot to normalise": ("workouts.complete_session",
                                                        lambda a, u: {
        "id": _in_progress(a, u), "session": _odd_snapshot()}),
    "review: accept all": ("flashcards.review_candidates", _review(
        *({"at": i, "action": "accept"} for i in range(4)))),
    "review: accept, edit both ways, reject": ("flashcards.review_candidates", _review(
        {"at": 2, "action": "accept"},
        {"at": 0, "action": "edit", "front": "  Co to jest chlorofil?  "},
        {"at": 3, "action": "edit", "back": "Zielony barwnik"},
        {"at": 1, "action": "reject"})),
    "start, both warnings": ("pullups.start_session", _planned_today),
    "start, no warning": ("pullups.start_session", lambda a, u: {
        "session_id": _planned(a, u)}),
    "complete with sets and RPE": ("pullups.complete_session", lambda a, u: {
        "session_id": _training(a, u), "sets": [8, 8, 7, 7, 6], "rpe": 8}),
    "complete an AI session as planned": ("pullups.complete_session", lambda a, u: {
        "session_id": _training(a, u, ai=True)}),
    "complete an AI session with other sets": ("pullups.complete_session", lambda a, u: {
        "session_id": _training(a, u, ai=True), "sets": [4, 4, 4, 4, 5]}),
    "fail with a reason": ("pullups.fail_session", lambda a, u: {
        "session_id": _training(a, u), "reason": "  zażółć  "}),
    "fail without a reason": ("pullups.fail_session", lambda a, u: {
        "session_id": _training(a, u, ai=True)}),
    "delete a planned session": ("pullups.delete_session", lambda a, u: {
        "session_id": _planned(a, u)}),
    "delete a session in progress": ("pullups.delete_session", lambda a, u: {
        "session_id": _training(a, u)}),
    "create a plan": ("workouts.create_plan", lambda a, u: {
        "name": "  Góra / Dół  ", "description": "Cztery dni", "plan": PLAN}),
    "create a plan with a name only": ("workouts.create_plan", lambda a, u: {"name": "Push"}),
    "update every field of a plan": ("workouts.update_plan", lambda a, u: {
        "id": _plan(a, u), "name": " Renamed ", "description": "Nowy opis", "plan": PLAN,
        "archived": True}),
    "update a plan, clearing its description": ("workouts.update_plan", lambda a, u: {
        "id": _plan(a, u).upper(), "description": ""}),
    "delete a plan": ("workouts.delete_plan", lambda a, u: {"id": _plan(a, u)}),
    "delete a plan a workout used": ("workouts.delete_plan", _used_plan),
    "create cards, in their order": ("flashcards.create_flashcards", lambda a, u: {
        "items": [{"front": "  Zeta ", "back": "ostatnia"}, {"front": "Alfa", "back": " a "},
                  {"front": "Mu", "back": "x" * 500}]}),
    "edit an AI card's front": ("flashcards.update_flashcard", lambda a, u: {
        "id": _card(a, u, "ai"), "front": "  Nowe pytanie  "}),
    "edit an AI card to the same text": ("flashcards.update_flashcard", lambda a, u: {
        "id": _card(a, u, "ai"), "back": " Warszawa "}),
    "edit both sides of a manual card": ("flashcards.update_flashcard", lambda a, u: {
        "id": _card(a, u), "front": "F", "back": "B"}),
    "delete cards, some not the caller's": ("flashcards.delete_flashcards", _own_and_others),
}


@pytest.mark.parametrize("case", CASES)
def test_the_fast_path_finishes_the_common_case_as_the_checked_path_would(
        case: str, admin: psycopg.Connection[Any], bootstrap_url: str,
        make_user: Callable[..., User]) -> None:
    function, arrange = CASES[case]
    fast_user, checked_user = make_user("fast"), make_user("checked")
    fast = write(bootstrap_url, fast_user, function, **arrange(admin, fast_user))
    checked = write(bootstrap_url, checked_user, function, checked=True,
                    **arrange(admin, checked_user))
    assert fast.checked_calls == 0, "the fast path handed the common case on"
    assert fast.status == checked.status and fast.status in (200, 201)
    assert _stable(fast.body) == _stable(checked.body)
    assert _stable(fast.headers) == _stable(checked.headers)
    assert stored(admin, fast_user) == stored(admin, checked_user)


def _second_planned(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
    _planned(admin, user)
    return {"session_date": TODAY.isoformat(), "sets": [1, 1, 1, 1, 1]}


def _update_finished_workout(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
    session_id = _in_progress(admin, user)
    admin.execute("update workouts.training_sessions set ended_at = now() where id = %s",
                  (session_id,))
    return {"id": session_id, "session": snapshot(TODAY.isoformat())}


def _second_workout(admin: psycopg.Connection[Any], user: User) -> dict[str, Any]:
    _in_progress(admin, user)
    return {"plan_id": _plan(admin, user), "date": TODAY.isoformat(),
            "session": snapshot(TODAY.isoformat())}


UNFINISHED: dict[str, tuple[str, Arrange, int]] = {
    "sets spelled 5.0": ("pullups.update_session", lambda a, u: {
        "session_id": _planned(a, u), "sets": [5.0, 5, 5, 5, 5]}, 200),
    "a stale ETag": ("pullups.update_session", lambda a, u: {
        "session_id": _planned(a, u), "rpe": 5, "if_match": '"stale"'}, 409),
    "no such session": ("pullups.update_session", lambda a, u: {
        "session_id": "00000000-0000-4000-8000-000000000000", "rpe": 5}, 404),
    "February 29th (a leap year's)": ("pullups.create_session", lambda a, u: {
        "session_date": "2024-02-29", "sets": [1, 2, 3, 4, 5], "status": "completed"}, 201),
    "a second planned session": ("pullups.create_session", _second_planned, 409),
    "a finished workout": ("workouts.update_session", _update_finished_workout, 400),
    "a second workout": ("workouts.start_session", _second_workout, 409),
    "complete a finished workout": ("workouts.complete_session", lambda a, u: {
        "id": _update_finished_workout(a, u)["id"]}, 400),
    "complete a workout with an invalid snapshot": ("workouts.complete_session",
                                                    lambda a, u: {
        "id": _in_progress(a, u), "session": {"exercises": "none"}}, 400),
    "review: a candidate reviewed before": ("flashcards.review_candidates", _review(
        {"at": 1, "action": "accept"}, {"at": 0, "action": "accept"}, reviewed=True), 409),
    "review: one candidate twice": ("flashcards.review_candidates", _review(
        {"at": 1, "action": "accept"}, {"at": 1, "action": "reject"}), 400),
    "review: a candidate not in the session": ("flashcards.review_candidates", _review(
        {"at": 1, "action": "accept"}, {"at": -1, "action": "accept"}), 404),
    "review: a session still pending": ("flashcards.review_candidates", _review(
        {"at": 0, "action": "accept"}, status="pending"), 422),
    "review: an edit of neither side": ("flashcards.review_candidates", _review(
        {"at": 0, "action": "edit"}), 400),
    "review: an edit to a blank front": ("flashcards.review_candidates", _review(
        {"at": 0, "action": "accept"}, {"at": 1, "action": "edit", "front": "   "}), 400),
    "review: an unknown action": ("flashcards.review_candidates", _review(
        {"at": 0, "action": "keep"}), 400),
    "start a session in progress": ("pullups.start_session", lambda a, u: {
        "session_id": _training(a, u)}, 422),
    "start while generating": ("pullups.start_session", _generating, 409),
    "start another's session": ("pullups.start_session", lambda a, u: {
        "session_id": "00000000-0000-4000-8000-000000000000"}, 404),
    "complete with sets spelled 5.0": ("pullups.complete_session", lambda a, u: {
        "session_id": _training(a, u), "sets": [5.0, 5, 5, 5, 5]}, 200),
    "complete without a rep": ("pullups.complete_session", lambda a, u: {
        "session_id": _training(a, u), "sets": [0, 0, 0, 0, 0]}, 400),
    "complete with RPE 11": ("pullups.complete_session", lambda a, u: {
        "session_id": _training(a, u), "rpe": 11}, 400),
    "complete a planned session": ("pullups.complete_session", lambda a, u: {
        "session_id": _planned(a, u)}, 422),
    "fail a planned session": ("pullups.fail_session", lambda a, u: {
        "session_id": _planned(a, u)}, 422),
    "fail with a reason too long": ("pullups.fail_session", lambda a, u: {
        "session_id": _training(a, u), "reason": "x" * 501}, 400),
    "delete a finished session": ("pullups.delete_session", lambda a, u: {
        "session_id": _training(a, u, status="completed")}, 403),
    "delete: not a session id": ("pullups.delete_session", lambda a, u: {
        "session_id": "not-a-uuid"}, 400),
    "create a plan without a name": ("workouts.create_plan", lambda a, u: {
        "name": None, "description": "Bez nazwy"}, 400),
    "create a plan with a blank name": ("workouts.create_plan", lambda a, u: {
        "name": "   "}, 400),
    "create a plan without days": ("workouts.create_plan", lambda a, u: {
        "name": "Plan", "plan": {"weeks": []}}, 400),
    "create a plan for an account that is gone": ("workouts.create_plan", _gone(
        lambda a, u: {"name": "Plan"}), 401),
    "update a plan: no such plan": ("workouts.update_plan", lambda a, u: {
        "id": str(uuid.uuid4()), "name": "Renamed"}, 404),
    "update a plan: not a plan id": ("workouts.update_plan", lambda a, u: {
        "id": "plan-1", "name": "Renamed"}, 400),
    "update a plan: a name too long": ("workouts.update_plan", lambda a, u: {
        "id": _plan(a, u), "name": "x" * 201}, 400),
    "update a plan: a description too long": ("workouts.update_plan", lambda a, u: {
        "id": _plan(a, u), "description": "x" * 2001}, 400),
    "delete a plan: no such plan": ("workouts.delete_plan", lambda a, u: {
        "id": str(uuid.uuid4())}, 404),
    "delete a plan of an account that is gone": ("workouts.delete_plan", _gone(
        lambda a, u: {"id": _plan(a, u)}), 401),
    "create cards: an item not an object": ("flashcards.create_flashcards", lambda a, u: {
        "items": [{"front": "a", "back": "b"}, "c"]}, 400),
    "create cards: a front not a string": ("flashcards.create_flashcards", lambda a, u: {
        "items": [{"front": 5, "back": "b"}]}, 400),
    "create cards: a back too long": ("flashcards.create_flashcards", lambda a, u: {
        "items": [{"front": "a", "back": "x" * 501}]}, 400),
    "create cards: 101 items": ("flashcards.create_flashcards", lambda a, u: {
        "items": [{"front": "a", "back": "b"}] * 101}, 400),
    "create cards: none": ("flashcards.create_flashcards", lambda a, u: {"items": []}, 400),
    "create cards: not an array": ("flashcards.create_flashcards", lambda a, u: {
        "items": {"front": "a", "back": "b"}}, 400),
    "create cards for an account that is gone": ("flashcards.create_flashcards", _gone(
        lambda a, u: {"items": [{"front": "a", "back": "b"}]}), 401),
    "edit a card: neither side": ("flashcards.update_flashcard", lambda a, u: {
        "id": _card(a, u)}, 400),
    "edit a card to a blank back": ("flashcards.update_flashcard", lambda a, u: {
        "id": _card(a, u), "back": "   "}, 400),
    "edit a deleted card": ("flashcards.update_flashcard", lambda a, u: {
        "id": _card(a, u, deleted=True), "front": "F"}, 404),
    "edit a card: not a card id": ("flashcards.update_flashcard", lambda a, u: {
        "id": "card-1", "front": "F"}, 400),
    "delete cards: none of them the caller's": ("flashcards.delete_flashcards", lambda a, u: {
        "ids": [str(uuid.uuid4()), _card(a, u, deleted=True)]}, 200),
    "delete cards: a number among the ids": ("flashcards.delete_flashcards", lambda a, u: {
        "ids": [_card(a, u), 5]}, 400),
    "delete cards: not an array": ("flashcards.delete_flashcards", lambda a, u: {
        "ids": {"id": _card(a, u)}}, 400),
    "delete cards for an account that is gone": ("flashcards.delete_flashcards", _gone(
        lambda a, u: {"ids": [_card(a, u)]}), 401),
}


@pytest.mark.parametrize("case", UNFINISHED)
def test_what_the_fast_path_cannot_finish_goes_to_the_checked_path(
        case: str, admin: psycopg.Connection[Any], bootstrap_url: str,
        make_user: Callable[..., User]) -> None:
    function, arrange, status = UNFINISHED[case]
    fast_user, checked_user = make_user("fast"), make_user("checked")
    fast = write(bootstrap_url, fast_user, function, **arrange(admin, fast_user))
    checked = write(bootstrap_url, checked_user, function, checked=True,
                    **arrange(admin, checked_user))
    assert (fast.status, checked.status) == (status, status)
    assert fast.checked_calls == (1 if status < 300 else -1)
    assert _stable(fast.body) == _stable(checked.body)
    assert stored(admin, fast_user) == stored(admin, checked_user)
