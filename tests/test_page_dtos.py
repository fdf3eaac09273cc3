"""Where a hot read repeats a one-row DTO helper's shape for speed, both must give the same
JSON for the same rows, nulls and odd values included: the page-level DTO functions of the
lists (one call per page, migration 20261126000900), the two get_session reads, which
build their answer inline (migration 20261126001200), and the two plan reads (migration
20261126001900)."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from tests.conftest import Api, User

SESSIONS = [
    "('planned', current_date + 1, '{5,5,5,5,5}', null::int, null, null, false,"
    " null::timestamptz)",
    "('completed', current_date - 3, '{9,8,7,6,5}', 7, 'Polish: zażółć', 'ok', true, now())",
    "('failed', current_date - 2, '{0,0,0,0,0}', 10, '', 'tired', false, now())",
]


def test_session_dtos_match_session_dto_row_by_row(admin: psycopg.Connection[Any],
                                                   alice: User) -> None:
    admin.execute(
        "insert into pullups.sessions (user_id, status, session_date, sets, rpe, notes,"
        " ai_comment, is_ai_generated, finished_at) select %s, s.status::pullups.session_status,"
        " s.day, s.sets::smallint[], s.rpe, s.notes, s.comment, s.ai, s.finished"
        " from (values " + ", ".join(SESSIONS) + ")"
        " as s (status, day, sets, rpe, notes, comment, ai, finished)", (alice.id,))
    page, rows = admin.execute(
        "select pullups_private.session_dtos(array_agg(s order by s.session_date)),"
        " jsonb_agg(pullups_private.session_dto(s) order by s.session_date)"
        " from pullups.sessions s where s.user_id = %s", (alice.id,)).fetchone() or (None, None)
    assert page is not None and page == rows and len(page) == len(SESSIONS)
    empty = admin.execute("select pullups_private.session_dtos('{}')").fetchone()
    assert empty == ([],)


def test_card_dtos_match_card_dto_row_by_row(admin: psycopg.Connection[Any],
                                             alice: User) -> None:
    admin.execute(
        "insert into flashcards.flashcards (user_id, front, back, source) values"
        " (%s, 'glukoza', 'C6H12O6 \"quoted\"', 'manual'),"
        " (%s, 'front', repeat('b', 500), 'manual')", (alice.id, alice.id))
    page, rows = admin.execute(
        "select flashcards_private.card_dtos(array_agg(c order by c.front)),"
        " jsonb_agg(flashcards_private.card_dto(c) order by c.front)"
        " from flashcards.flashcards c where c.user_id = %s", (alice.id,)).fetchone() or (
            None, None)
    assert page is not None and page == rows and len(page) == 2
    empty = admin.execute("select flashcards_private.card_dtos('{}')").fetchone()
    assert empty == ([],)


def test_pullups_get_session_answers_what_session_envelope_builds(
        admin: psycopg.Connection[Any], api: Api, alice: User) -> None:
    admin.execute(
        "insert into pullups.sessions (user_id, status, session_date, sets, rpe, notes,"
        " ai_comment, is_ai_generated, finished_at) select %s, s.status::pullups.session_status,"
        " s.day, s.sets::smallint[], s.rpe, s.notes, s.comment, s.ai, s.finished"
        " from (values " + ", ".join(SESSIONS) + ")"
        " as s (status, day, sets, rpe, notes, comment, ai, finished)", (alice.id,))
    rows = admin.execute(
        "select s.id::text, pullups_private.session_envelope(s), pullups_private.session_etag(s)"
        " from pullups.sessions s where s.user_id = %s", (alice.id,)).fetchall()
    assert len(rows) == len(SESSIONS)
    for session_id, envelope, etag in rows:
        got = api("pullups.get_session", alice, session_id=session_id)
        assert got.status == 200 and got.body == envelope
        assert got.header("ETag") == etag and got.header("Cache-Control") == "no-store"


def test_workouts_get_session_answers_what_session_response_builds(
        admin: psycopg.Connection[Any], api: Api, alice: User) -> None:
    plan = admin.execute("insert into workouts.plans (user_id, name) values (%s, 'Plan')"
                         " returning id", (alice.id,)).fetchone()
    assert plan is not None
    admin.execute(
        "insert into workouts.training_sessions (user_id, plan_id, date, session, started_at,"
        " ended_at) values"
        " (%(u)s, %(p)s, current_date - 1, %(s)s::jsonb, now() - interval '2 hours',"
        "  now() - interval '1 hour'),"
        " (%(u)s, null, current_date, %(s)s::jsonb, now(), null)",
        {"u": alice.id, "p": plan[0], "s": json.dumps({
            "plan_name": "Zażółć \"gęślą\"", "day_name": "A", "date": "2026-11-20",
            "exercises": [{"name": "Squat", "sets": [
                {"planned_reps": 5, "planned_weight": 62.5, "actual_reps": None,
                 "actual_weight": None, "rest_seconds": 90, "completed": False}]}]})})
    rows = admin.execute(
        "select s.id::text, workouts_private.session_response(s)"
        " from workouts.training_sessions s where s.user_id = %s", (alice.id,)).fetchall()
    assert len(rows) == 2
    for session_id, response in rows:
        got = api("workouts.get_session", alice, id=session_id)
        assert got.status == 200 and got.body == response


def test_plan_reads_answer_what_plan_response_builds(
        admin: psycopg.Connection[Any], api: Api, alice: User) -> None:
    admin.execute(
        "insert into workouts.plans (user_id, name, description, plan, archived, has_sessions,"
        " created_at) values"
        " (%(u)s, 'Zażółć \"gęślą\"', null, %(p)s::jsonb, false, true, now() - interval '2 days'),"
        " (%(u)s, 'Push', '', '{\"days\": []}', false, false, now() - interval '1 day'),"
        " (%(u)s, 'Old', 'archived', '{\"days\": []}', true, false, now())",
        {"u": alice.id, "p": json.dumps({"days": [{"name": "A", "exercises": [
            {"name": "Squat", "sets": 5, "reps": 5, "weight": 62.5}]}]})})
    rows = admin.execute(
        "select p.id::text, workouts_private.plan_response(p) from workouts.plans p"
        " where p.user_id = %s order by p.created_at desc, p.id desc", (alice.id,)).fetchall()
    assert len(rows) == 3
    for plan_id, response in rows:
        got = api("workouts.get_plan", alice, id=plan_id)
        assert got.status == 200 and got.body == response
    every = api("workouts.list_plans", alice, include_archived=True)
    assert every.status == 200 and every.body["data"] == [r for _, r in rows]
    current = api("workouts.list_plans", alice)
    assert current.status == 200 and current.body["data"] == [
        r for _, r in rows if not r["archived"]]
