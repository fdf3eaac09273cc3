"""The warnings of a session about to be trained (REST_PERIOD, MULTIPLE_SAME_DAY): the same
answers as the definition they replaced (the latest end of all finished sessions, migration
20261126001300), also where pullups.create_session and start_session compute them inline
(migrations 20261126001600, 20261126002000), and the same cost for any history."""

from __future__ import annotations

import itertools
import json
from typing import Any

import psycopg
import pytest

from tests.conftest import User, calls_this_transaction

# The replaced definition, as the reference: REST_PERIOD when the latest end (finished_at,
# else the start of session_date) of the finished sessions up to the target is within 24 h.
REFERENCE = """
with target as (
    select case when %(date)s::date = current_date then now()
                else %(date)s::date::timestamptz end as at),
  last_finished as (
    select max(coalesce(s.finished_at, s.session_date::timestamptz)) as at
      from pullups.sessions s, target t
     where s.user_id = %(user)s and s.status in ('completed', 'failed')
       and s.id is distinct from %(exclude)s
       and coalesce(s.finished_at, s.session_date::timestamptz) <= t.at)
select coalesce(jsonb_agg(w.code order by w.ord), '[]'::jsonb) from (
  select 1 as ord, 'REST_PERIOD' as code from last_finished l, target t
   where l.at > t.at - interval '24 hours'
  union all
  select 2, 'MULTIPLE_SAME_DAY'
   where exists (select from pullups.sessions s where s.user_id = %(user)s
                   and s.session_date = %(date)s::date and s.id is distinct from %(exclude)s)
) w
"""

CURRENT = """
select coalesce(jsonb_agg(w ->> 'code'), '[]'::jsonb)
  from jsonb_array_elements(pullups_private.session_warnings(
         %(user)s, %(date)s::date, %(exclude)s)) w
"""

# one session each: status, session_date (days from today), finished_at (hours from now)
STATUSES = ("completed", "failed", "planned", "in_progress")
DAYS = (-3, -2, -1, 0, 1)
FINISHED = (None, -49, -25, -23, -1, 0, 2)


@pytest.mark.parametrize("status", STATUSES)
def test_warnings_answer_what_the_replaced_definition_did(
        admin: psycopg.Connection[Any], alice: User, status: str) -> None:
    for day, finished in itertools.product(DAYS, FINISHED):
        with admin.transaction(force_rollback=True):
            session = admin.execute(
                "insert into pullups.sessions (user_id, status, session_date, sets, finished_at)"
                " values (%s, %s, current_date + %s, '{5,5,5,5,5}',"
                " now() + %s * interval '1 hour') returning id",
                (alice.id, status, day, finished)).fetchone()
            assert session is not None
            for target, exclude in itertools.product((-2, -1, 0, 1, 2), (None, session[0])):
                args = {"user": alice.id, "exclude": exclude, "date": admin.execute(
                    "select current_date + %s", (target,)).fetchone()[0]}  # type: ignore[index]
                want = admin.execute(REFERENCE, args).fetchone()
                got = admin.execute(CURRENT, args).fetchone()
                assert got == want, (status, day, finished, target, exclude)


@pytest.mark.parametrize("status", STATUSES)
def test_a_created_session_is_warned_as_the_replaced_definition_did(
        bootstrap_url: str, alice: User, status: str) -> None:
    """create_session's one statement (its fast path: the checked one calls
    session_warnings) answers the reference's warnings for a completed session logged on
    each day the reference is asked about, over the same histories."""
    with psycopg.connect(bootstrap_url) as conn:  # a superuser: counts function calls
        conn.execute("set track_functions = 'pl'")
        for day, finished in itertools.product(DAYS, FINISHED):
            with conn.transaction(force_rollback=True):
                conn.execute(
                    "insert into pullups.sessions (user_id, status, session_date, sets,"
                    " finished_at) values (%s, %s, current_date + %s, '{5,5,5,5,5}',"
                    " now() + %s * interval '1 hour')", (alice.id, status, day, finished))
                leap_days = 0  # the one date the fast path leaves to the checked one
                for target in (-2, -1, 0, 1):  # a completed session is at most a day ahead
                    date = conn.execute("select current_date + %s", (target,)).fetchone()
                    assert date is not None
                    leap_days += (date[0].month, date[0].day) == (2, 29)
                    args = {"user": alice.id, "exclude": None, "date": date[0]}
                    want = conn.execute(REFERENCE, args).fetchone()
                    with conn.transaction(force_rollback=True):
                        conn.execute("select set_config('request.jwt.claims', %s, true),"
                                     " set_config('role', 'authenticated', true)",
                                     (json.dumps(alice.claims),))
                        created = conn.execute(
                            "select pullups.create_session(session_date := %s,"
                            " sets := '[1, 1, 1, 1, 1]', status := 'completed')",
                            (date[0].isoformat(),)).fetchone()
                    assert created is not None and want is not None
                    got = [w["code"] for w in created[0]["meta"]["warnings"]]
                    assert got == want[0], (status, day, finished, target)
                # the fast path answered (20261128000000_fast_path_dates.sql: any other day)
                assert calls_this_transaction(
                    conn, "pullups_private.create_session_checked") == leap_days


@pytest.mark.parametrize("status", ["completed", "failed"])
def test_a_started_session_is_warned_as_the_replaced_definition_did(
        bootstrap_url: str, alice: User, status: str) -> None:
    """start_session's one statement (migration 20261126002000; the checked path calls
    session_warnings) answers the reference's warnings, the started session excluded, for a
    session planned on each day the reference is asked about, over the same histories (of a
    finished session: a planned or running one would be the user's one active session)."""
    with psycopg.connect(bootstrap_url) as conn:  # a superuser: counts function calls
        conn.execute("set track_functions = 'pl'")
        for day, finished in itertools.product(DAYS, FINISHED):
            with conn.transaction(force_rollback=True):
                conn.execute(
                    "insert into pullups.sessions (user_id, status, session_date, sets,"
                    " finished_at) values (%s, %s, current_date + %s, '{5,5,5,5,5}',"
                    " now() + %s * interval '1 hour')", (alice.id, status, day, finished))
                for target in (-1, 0, 1, 2):
                    with conn.transaction(force_rollback=True):
                        planned = conn.execute(
                            "insert into pullups.sessions (user_id, session_date, sets)"
                            " values (%s, current_date + %s, '{4,4,4,4,4}')"
                            " returning id, session_date", (alice.id, target)).fetchone()
                        assert planned is not None
                        want = conn.execute(REFERENCE, {"user": alice.id, "exclude": planned[0],
                                                        "date": planned[1]}).fetchone()
                        conn.execute("select set_config('request.jwt.claims', %s, true),"
                                     " set_config('role', 'authenticated', true)",
                                     (json.dumps(alice.claims),))
                        started = conn.execute("select pullups.start_session(session_id := %s)",
                                               (str(planned[0]),)).fetchone()
                        conn.execute("reset role")
                        assert started is not None and want is not None
                        got = [w["code"] for w in started[0]["meta"]["warnings"]]
                        assert got == want[0], (status, day, finished, target)
                # the fast path answered
                assert calls_this_transaction(conn, "pullups_private.start_session_checked") == 0


def test_a_long_history_is_not_read_to_warn(admin: psycopg.Connection[Any],
                                            alice: User) -> None:
    admin.execute(
        "insert into pullups.sessions (user_id, status, session_date, sets, finished_at)"
        " select %s, 'completed', current_date - g, '{5,5,5,5,5}',"
        " case when g %% 2 = 0 then now() - g * interval '10 hours' end"
        " from generate_series(1, 3000) g", (alice.id,))
    admin.execute("analyze pullups.sessions")
    read = ("select coalesce(sum(seq_tup_read + coalesce(idx_tup_fetch, 0)), 0)"
            " from pg_stat_xact_user_tables where relid = 'pullups.sessions'::regclass")
    with admin.transaction(force_rollback=True):
        for _ in range(7):  # past plpgsql's five custom plans: the generic one too
            before = admin.execute(read).fetchone()
            warnings = admin.execute(
                "select pullups_private.session_warnings(%s, current_date)",
                (alice.id,)).fetchone()
            after = admin.execute(read).fetchone()
            assert before is not None and after is not None and warnings is not None
            assert [w["code"] for w in warnings[0]] == ["REST_PERIOD"]
            assert after[0] - before[0] <= 5, after[0] - before[0]
