"""The page-level DTO functions the lists use repeat the one-row DTO helpers' shape (for
speed: one call per page, see migration 20261126000900): both must give the same JSON for
the same rows, nulls and odd values included."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.conftest import User

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
