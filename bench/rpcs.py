"""Each client RPC's server time against the minimal SQL returning the same data, and the
client CPU of one `rpc.call` against sending the same statements through bare libpq.

Every client RPC (`flashcards.review_candidates` reviewing ten candidates in one call;
`workouts.start_session` twice, on a plan trained before and on a plan's first session).

Server time is read from Postgres' own clock: every trial is one pipeline
`BEGIN; <context>; select clock_timestamp(); <statement>; select clock_timestamp(); ROLLBACK`
(one Sync), so the network is outside the two clock readings and writes leave nothing
behind; libpq writes the whole pipeline at the Sync, so no reading waits for the client.
The same trial with nothing between the readings gives the clock's own cost, subtracted.
The RPC's statement is the one `rpc.call` sends (its JSON arguments, the
response GUCs read back); the minimal SQL is a hand-written query building the same JSON
from the same rows, run as the same role for reads (RLS applies to both) and as the table
owner for writes (the UPDATE/INSERT, its event row and any other row the RPC changes, as
a plan its first session marks, without any check) and for
`pullups.ai_quota` (it reads core's private tables through a security definer function).
Both are prepared; trials alternate call and minimal, over rounds, so drift hits both alike.

A statement's time depends on what ran just before it, so the same pair is also timed in a
row (each statement's trials after its own, the clock's likewise, over rounds), and the
table gives both. Interleaved, a write and its minimal SQL are both slower than in a row, by
about the same amount: what the RPC adds is about the same either way, but over a larger
floor, so the writes' ratios come out lower interleaved.
"""

from __future__ import annotations

import json
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq

from bench.common import throwaway_database, write_results
from python_functions.db import rpc
from python_functions.service.auth import user_claims

ROUNDS = 5
# The client CPU is process time, noisy on a shared 2-core machine: more, cheaper rounds
# (1,000 calls each way, under a second), each in the reverse order of the last.
CLIENT_ROUNDS = 21
TRIALS = 150  # per round, per statement

PULLUPS_DTO = """jsonb_build_object(
  'id', s.id, 'status', s.status, 'sessionDate', s.session_date, 'sets', to_jsonb(s.sets),
  'totalReps', s.total_reps, 'rpe', s.rpe, 'isAiGenerated', s.is_ai_generated,
  'isModified', s.is_modified, 'aiComment', s.ai_comment, 'notes', s.notes,
  'startedAt', s.started_at, 'finishedAt', s.finished_at, 'createdAt', s.created_at,
  'updatedAt', s.updated_at)"""

WORKOUTS_RESPONSE = """jsonb_build_object(
  'id', s.id, 'plan_id', s.plan_id, 'date', s.date, 'session', s.session,
  'started_at', s.started_at, 'ended_at', s.ended_at, 'completed', s.ended_at is not null,
  'created_at', s.created_at, 'updated_at', s.updated_at)"""

WORKOUTS_SUMMARY = """jsonb_build_object(
  'id', s.id, 'plan_id', s.plan_id, 'date', s.date, 'plan_name', s.session ->> 'plan_name',
  'day_name', s.session ->> 'day_name', 'started_at', s.started_at, 'ended_at', s.ended_at,
  'completed', s.ended_at is not null, 'created_at', s.created_at,
  'updated_at', s.updated_at)"""

PLAN_RESPONSE = """jsonb_build_object(
  'id', p.id, 'name', p.name, 'description', p.description, 'plan', p.plan,
  'archived', p.archived, 'has_sessions', p.has_sessions, 'created_at', p.created_at,
  'updated_at', p.updated_at)"""

AI_SESSION_SUMMARY = """jsonb_build_object(
  'id', g.id, 'model', g.model, 'status', g.status, 'error_code', g.error_code,
  'input_length', char_length(g.input_text), 'candidates_count', g.candidates_count,
  'accepted_unedited_count', g.accepted_unedited_count,
  'accepted_edited_count', g.accepted_edited_count, 'rejected_count', g.rejected_count,
  'duration_ms', g.duration_ms, 'created_at', g.created_at, 'finished_at', g.finished_at)"""

CARD_DTO = """jsonb_build_object(
  'id', c.id, 'front', c.front, 'back', c.back, 'source', c.source,
  'session_id', c.session_id, 'candidate_id', c.candidate_id, 'created_at', c.created_at,
  'updated_at', c.updated_at)"""

SNAPSHOT = {
    "plan_name": "Push / Pull", "day_name": "Push", "date": "2026-11-20",
    "exercises": [{"name": f"Exercise {i}", "sets": [
        {"planned_reps": 8, "planned_weight": 60, "actual_reps": 8, "actual_weight": 60,
         "rest_seconds": 120, "completed": True} for _ in range(3)]} for i in range(4)],
}

HISTORY = 200  # sessions / cards of the benchmark user


@dataclass(frozen=True)
class Case:
    schema: str
    function: str
    write: bool
    args: dict[str, Any]
    minimal: str  # %(user)s and the argument names as parameters
    caller: str = "user"  # the key of populate()'s answer naming who calls
    # a read of tables its caller cannot read itself (behind a security definer function):
    # its minimal SQL runs as the table owner, as the writes' do
    private: bool = False
    situation: str = ""  # tells two cases of one RPC apart

    @property
    def name(self) -> str:
        name = f"{self.schema}.{self.function}"
        return f"{name} ({self.situation})" if self.situation else name


def populate(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """One user with HISTORY pull-up sessions (one planned), workout sessions (one in
    progress), two workout plans (one without sessions), cards, five flashcard generation
    sessions (the newest with ten candidates) and two used pull-up AI quota slots; a second
    user without a workout in progress, to start one, with a plan never used and one with
    a finished session, and with a pull-up session in progress."""
    user, starter = str(uuid.uuid4()), str(uuid.uuid4())
    conn.execute("insert into auth.users (id, email) values (%s, 'bench@example.com'),"
                 " (%s, 'starter@example.com')", (user, starter))
    conn.execute(
        "insert into pullups.sessions (user_id, status, session_date, sets, rpe, finished_at)"
        " select %s, 'completed', current_date - g, '{5,5,5,5,5}', 7, now() - g * interval '1 day'"
        " from generate_series(1, %s) g", (user, HISTORY - 1))
    planned = conn.execute(
        "insert into pullups.sessions (user_id, status, session_date, sets)"
        " values (%s, 'planned', current_date + 2, '{5,5,5,5,5}') returning id::text",
        (user,)).fetchone()
    plans: dict[str, str] = {}
    for owner in (user, starter):
        row = conn.execute("insert into workouts.plans (user_id, name) values (%s, 'Plan')"
                           " returning id::text", (owner,)).fetchone()
        assert row
        plans[owner] = row[0]
    conn.execute(
        "insert into workouts.training_sessions (user_id, plan_id, date, session, started_at,"
        " ended_at) select %(u)s, %(p)s, current_date - g, %(s)s::jsonb,"
        " now() - g * interval '1 day', now() - g * interval '1 day' + interval '1 hour'"
        " from generate_series(1, %(n)s) g",
        {"u": user, "p": plans[user], "s": json.dumps(SNAPSHOT),
         "n": HISTORY - 1})
    running = conn.execute(
        "insert into workouts.training_sessions (user_id, plan_id, date, session)"
        " values (%s, %s, current_date, %s::jsonb) returning id::text",
        (user, plans[user], json.dumps(SNAPSHOT))).fetchone()
    spare = conn.execute("insert into workouts.plans (user_id, name) values (%s, 'Spare')"
                         " returning id::text", (user,)).fetchone()
    used = conn.execute("insert into workouts.plans (user_id, name, has_sessions)"
                        " values (%s, 'Used', true) returning id::text", (starter,)).fetchone()
    assert used
    conn.execute(
        "insert into workouts.training_sessions (user_id, plan_id, date, session, started_at,"
        " ended_at) values (%s, %s, current_date - 1, %s::jsonb, now() - interval '1 day',"
        " now() - interval '23 hours')", (starter, used[0], json.dumps(SNAPSHOT)))
    training = conn.execute(
        "insert into pullups.sessions (user_id, status, session_date, sets, started_at)"
        " values (%s, 'in_progress', current_date, '{5,5,5,5,5}', now()) returning id::text",
        (starter,)).fetchone()
    conn.execute(
        "insert into flashcards.flashcards (user_id, front, back, source, created_at)"
        " select %s, 'front ' || g, 'back ' || g, 'manual', now() - g * interval '1 hour'"
        " from generate_series(1, %s) g", (user, HISTORY))
    generations = [r[0] for r in conn.execute(
        "insert into flashcards.ai_generation_sessions (user_id, input_text, input_hash, model,"
        " status, candidates_count, duration_ms, created_at, finished_at)"
        " select %s, repeat('Fotosynteza. ', 100), repeat('0', 64), 'local/rules', 'completed',"
        " 10, 900, now() - g * interval '1 day', now() - g * interval '1 day'"
        " from generate_series(0, 4) g returning id::text", (user,))]
    candidates = [r[0] for r in conn.execute(
        "insert into flashcards.candidates (session_id, user_id, position, front, back, prompt)"
        " select %s, %s, g, 'front ' || g, 'back ' || g, 'passage ' || g"
        " from generate_series(1, 10) g returning id::text", (generations[0], user))]
    conn.execute(  # two AI generations of today count against the pull-up quota
        "insert into core.quota_reservations (bucket, user_id, state, reserved_at, expires_at,"
        " settled_at) select 'pullups.ai', %s, 'success', now() - g * interval '1 hour',"
        " now() - g * interval '1 hour' + interval '3 minutes', now() - g * interval '1 hour'"
        " from generate_series(1, 2) g", (user,))
    cards = [r[0] for r in conn.execute(
        "select id::text from flashcards.flashcards where user_id = %s"
        " order by created_at desc limit 3", (user,))]
    conn.execute("vacuum analyze")
    assert planned and running and spare and training
    return {"user": user, "starter": starter, "planned": planned[0], "running": running[0],
            "starter_plan": plans[starter], "used_plan": used[0], "plan": plans[user],
            "spare_plan": spare[0],
            "training": training[0], "card": cards[0], "other_cards": ",".join(cards[1:]),
            "generation": generations[0], "candidates": ",".join(candidates)}


def cases(ids: dict[str, str]) -> list[Case]:
    today = time.strftime("%Y-%m-%d")
    snapshot = dict(SNAPSHOT, date=today)
    # what a client sends while training: the stored snapshot with one more set logged
    logged = json.loads(json.dumps(snapshot))
    logged["exercises"][3]["sets"][2].update(actual_reps=9, completed=True)
    return [
        Case("pullups", "get_session", False, {"session_id": ids["planned"]}, f"""
            select jsonb_build_object('data', jsonb_build_object('session', {PULLUPS_DTO}),
                                      'meta', '{{}}'::jsonb)::text
              from pullups.sessions s
             where s.id = %(session_id)s::uuid and s.user_id = %(user)s::uuid"""),
        Case("pullups", "list_sessions", False, {}, f"""
            select jsonb_build_object(
              'data', jsonb_build_object('sessions', coalesce((
                 select jsonb_agg({PULLUPS_DTO} order by s.session_date desc,
                                  s.created_at desc, s.id)
                   from (select * from pullups.sessions s where s.user_id = %(user)s::uuid
                          order by s.session_date desc, s.created_at desc, s.id limit 20) s),
                 '[]'::jsonb)),
              'meta', jsonb_build_object('pagination', jsonb_build_object(
                 'limit', 20, 'offset', 0, 'total', least(c.n, 1000),
                 'total_capped', c.n > 1000)))::text
              from (select count(*) as n from (select from pullups.sessions s
                     where s.user_id = %(user)s::uuid limit 1001) capped) c"""),
        Case("workouts", "get_session", False, {"id": ids["running"]}, f"""
            select {WORKOUTS_RESPONSE}::text from workouts.training_sessions s
             where s.id = %(id)s::uuid and s.user_id = %(user)s::uuid"""),
        Case("workouts", "list_sessions", False, {}, f"""
            select jsonb_build_object(
              'data', coalesce((
                 select jsonb_agg({WORKOUTS_SUMMARY} order by s.started_at desc, s.id desc)
                   from (select * from workouts.training_sessions s
                          where s.user_id = %(user)s::uuid
                          order by s.started_at desc, s.id desc limit 20) s), '[]'::jsonb),
              'pagination', jsonb_build_object('limit', 20, 'offset', 0,
                 'total', least(c.n, 1000), 'total_capped', c.n > 1000))::text
              from (select count(*) as n from (select from workouts.training_sessions s
                     where s.user_id = %(user)s::uuid limit 1001) capped) c"""),
        Case("flashcards", "list_flashcards", False, {}, f"""
            select jsonb_build_object(
              'data', coalesce((
                 select jsonb_agg({CARD_DTO} order by c.created_at desc, c.id desc)
                   from (select * from flashcards.flashcards c
                          where c.user_id = %(user)s::uuid and c.deleted_at is null
                          order by c.created_at desc, c.id desc limit 20) c), '[]'::jsonb),
              'pagination', jsonb_build_object('limit', 20, 'offset', 0,
                 'total', least(n.n, 1000), 'total_capped', n.n > 1000))::text
              from (select count(*) as n from (select from flashcards.flashcards c
                     where c.user_id = %(user)s::uuid and c.deleted_at is null limit 1001)
                    capped) n
            """),
        Case("pullups", "create_session", True,
             {"session_date": today, "sets": [5, 6, 7, 8, 9], "status": "completed", "rpe": 7},
             f"""
            with s as (
              insert into pullups.sessions (user_id, status, session_date, sets, rpe)
              values (%(user)s::uuid, 'completed', %(session_date)s::date,
                      array(select jsonb_array_elements_text(%(sets)s::jsonb)::smallint),
                      %(rpe)s::int)
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'pullups', 'session_created', s.user_id, 'session', s.id,
                     jsonb_build_object('status', s.status, 'logged', true) from s)
            select jsonb_build_object('data', jsonb_build_object('session', {PULLUPS_DTO}),
                                      'meta', jsonb_build_object('warnings', '[]'::jsonb))::text
              from s"""),
        Case("pullups", "update_session", True,
             {"session_id": ids["planned"], "sets": [6, 6, 6, 6, 6], "rpe": 8}, f"""
            with s as (
              update pullups.sessions s
                 set sets = array(select jsonb_array_elements_text(%(sets)s::jsonb)::smallint),
                     rpe = %(rpe)s::int
               where s.id = %(session_id)s::uuid and s.user_id = %(user)s::uuid
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'pullups', 'session_updated', s.user_id, 'session', s.id,
                     jsonb_build_object('status', s.status) from s)
            select jsonb_build_object('data', jsonb_build_object('session', {PULLUPS_DTO}),
                                      'meta', '{{}}'::jsonb)::text
              from s"""),
        # the usual start: the plan has been trained before
        Case("workouts", "start_session", True,
             {"plan_id": ids["used_plan"], "date": today, "session": snapshot},
             caller="starter", minimal=f"""
            with s as (
              insert into workouts.training_sessions (user_id, plan_id, date, session)
              values (%(user)s::uuid, %(plan_id)s::uuid, %(date)s::date, %(session)s::jsonb)
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'workouts', 'session_started', s.user_id, 'training_session', s.id,
                     jsonb_build_object('plan_id', s.plan_id, 'date', s.date) from s)
            select {WORKOUTS_RESPONSE}::text from s"""),
        # a plan's first session also marks the plan (has_sessions, seed 004's step 2)
        Case("workouts", "start_session", True,
             {"plan_id": ids["starter_plan"], "date": today, "session": snapshot},
             caller="starter", situation="a plan's first", minimal=f"""
            with s as (
              insert into workouts.training_sessions (user_id, plan_id, date, session)
              values (%(user)s::uuid, %(plan_id)s::uuid, %(date)s::date, %(session)s::jsonb)
              returning *),
            p as (
              update workouts.plans p set has_sessions = true where p.id = %(plan_id)s::uuid),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'workouts', 'session_started', s.user_id, 'training_session', s.id,
                     jsonb_build_object('plan_id', s.plan_id, 'date', s.date) from s)
            select {WORKOUTS_RESPONSE}::text from s"""),
        Case("workouts", "update_session", True,
             {"id": ids["running"], "session": logged}, f"""
            with s as (
              update workouts.training_sessions s set session = %(session)s::jsonb
               where s.id = %(id)s::uuid and s.user_id = %(user)s::uuid
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'workouts', 'session_updated', s.user_id, 'training_session', s.id,
                     jsonb_build_object('plan_id', s.plan_id) from s)
            select {WORKOUTS_RESPONSE}::text from s"""),
        # the rest of the client API
        Case("pullups", "ai_quota", False, {}, """
            select jsonb_build_object(
                     'data', jsonb_build_object(
                       'limit', p.max_count, 'used', q.used,
                       'remaining', greatest(p.max_count - q.used, 0), 'resetsAt', q.next),
                     'meta', '{}'::jsonb)::text
              from core.quota_policies p
             cross join lateral (
               select count(*)::integer as used, min(f.frees_at) as next
                 from core.quota_reservations r
                cross join lateral (
                  select case
                    when r.state = 'success' or (r.state = 'failure' and p.failures_count)
                      then r.reserved_at + p.window_length
                    when r.state = 'pending' and r.expires_at > now()
                      then least(r.expires_at, r.reserved_at + p.window_length)
                  end as frees_at) f
                where r.bucket = p.bucket and r.user_id = %(user)s::uuid
                  and r.reserved_at > now() - p.window_length and f.frees_at > now()) q
             where p.bucket = 'pullups.ai'""", private=True),
        Case("pullups", "start_session", True, {"session_id": ids["planned"]}, f"""
            with s as (
              update pullups.sessions s set status = 'in_progress', started_at = now()
               where s.id = %(session_id)s::uuid and s.user_id = %(user)s::uuid
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'pullups', 'session_started', s.user_id, 'session', s.id,
                     jsonb_build_object('status', s.status) from s)
            select jsonb_build_object('data', jsonb_build_object('session', {PULLUPS_DTO}),
                                      'meta', jsonb_build_object('warnings', '[]'::jsonb))::text
              from s"""),
        Case("pullups", "complete_session", True,
             {"session_id": ids["training"], "sets": [8, 8, 7, 7, 6], "rpe": 8}, f"""
            with s as (
              update pullups.sessions s
                 set status = 'completed', finished_at = now(), rpe = %(rpe)s::int,
                     sets = array(select jsonb_array_elements_text(%(sets)s::jsonb)::smallint)
               where s.id = %(session_id)s::uuid and s.user_id = %(user)s::uuid
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'pullups', 'session_completed', s.user_id, 'session', s.id,
                     jsonb_build_object('status', s.status, 'totalReps', s.total_reps,
                                        'rpe', s.rpe) from s)
            select jsonb_build_object('data', jsonb_build_object('session', {PULLUPS_DTO}),
                                      'meta', '{{}}'::jsonb)::text
              from s""", caller="starter"),
        Case("pullups", "fail_session", True,
             {"session_id": ids["training"], "reason": "tired"}, f"""
            with s as (
              update pullups.sessions s set status = 'failed', finished_at = now()
               where s.id = %(session_id)s::uuid and s.user_id = %(user)s::uuid
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'pullups', 'session_failed', s.user_id, 'session', s.id,
                     jsonb_build_object('status', s.status, 'reason', %(reason)s::text) from s)
            select jsonb_build_object('data', jsonb_build_object('session', {PULLUPS_DTO}),
                                      'meta', '{{}}'::jsonb)::text
              from s""", caller="starter"),
        Case("pullups", "delete_session", True, {"session_id": ids["planned"]}, """
            with s as (
              delete from pullups.sessions s
               where s.id = %(session_id)s::uuid and s.user_id = %(user)s::uuid
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'pullups', 'session_deleted', s.user_id, 'session', s.id,
                     jsonb_build_object('status', s.status) from s)
            select null::text"""),
        Case("workouts", "complete_session", True, {"id": ids["running"]}, f"""
            with s as (
              update workouts.training_sessions s set ended_at = greatest(now(), s.started_at)
               where s.id = %(id)s::uuid and s.user_id = %(user)s::uuid
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'workouts', 'session_completed', s.user_id, 'training_session', s.id,
                     jsonb_build_object(
                       'plan_id', s.plan_id,
                       'duration_seconds', floor(extract(epoch from s.ended_at - s.started_at)),
                       'sets_completed', (select count(*)
                                            from jsonb_array_elements(s.session -> 'exercises') x,
                                                 jsonb_array_elements(x -> 'sets') st
                                           where (st ->> 'completed')::boolean)) from s)
            select {WORKOUTS_RESPONSE}::text from s"""),
        Case("workouts", "get_plan", False, {"id": ids["plan"]}, f"""
            select {PLAN_RESPONSE}::text from workouts.plans p
             where p.id = %(id)s::uuid and p.user_id = %(user)s::uuid"""),
        Case("workouts", "list_plans", False, {}, f"""
            select jsonb_build_object(
              'data', coalesce((
                 select jsonb_agg({PLAN_RESPONSE} order by p.created_at desc, p.id desc)
                   from (select * from workouts.plans p
                          where p.user_id = %(user)s::uuid and not p.archived
                          order by p.created_at desc, p.id desc limit 20) p), '[]'::jsonb),
              'pagination', jsonb_build_object('limit', 20, 'offset', 0,
                 'total', least(c.n, 1000), 'total_capped', c.n > 1000))::text
              from (select count(*) as n from (select from workouts.plans p
                     where p.user_id = %(user)s::uuid and not p.archived limit 1001) capped) c"""),
        Case("workouts", "create_plan", True,
             {"name": "Upper / Lower", "description": "Four days",
              "plan": {"days": [{"name": "Upper", "exercises": []}]}}, f"""
            with p as (
              insert into workouts.plans (user_id, name, description, plan)
              values (%(user)s::uuid, %(name)s, %(description)s, %(plan)s::jsonb)
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'workouts', 'plan_created', p.user_id, 'plan', p.id, '{{}}'::jsonb from p)
            select {PLAN_RESPONSE}::text from p"""),
        Case("workouts", "update_plan", True, {"id": ids["plan"], "name": "Renamed"}, f"""
            with p as (
              update workouts.plans p set name = %(name)s
               where p.id = %(id)s::uuid and p.user_id = %(user)s::uuid
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'workouts', 'plan_updated', p.user_id, 'plan', p.id,
                     jsonb_build_object('name', true, 'description', false, 'plan', false)
                from p)
            select {PLAN_RESPONSE}::text from p"""),
        Case("workouts", "delete_plan", True, {"id": ids["spare_plan"]}, """
            with p as (
              delete from workouts.plans p
               where p.id = %(id)s::uuid and p.user_id = %(user)s::uuid
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'workouts', 'plan_deleted', p.user_id, 'plan', p.id, '{}'::jsonb from p)
            select null::text"""),
        Case("flashcards", "get_ai_session", False, {"session_id": ids["generation"]}, f"""
            select jsonb_build_object('data', jsonb_build_object(
                     'session', {AI_SESSION_SUMMARY},
                     'input_text', g.input_text,
                     'candidates', coalesce((
                       select jsonb_agg(jsonb_build_object(
                                'id', c.id, 'position', c.position, 'front', c.front,
                                'back', c.back, 'prompt', c.prompt, 'status', c.status,
                                'flashcard_id', c.flashcard_id, 'reviewed_at', c.reviewed_at)
                              order by c.position)
                         from flashcards.candidates c where c.session_id = g.id),
                       '[]'::jsonb)))::text
              from flashcards.ai_generation_sessions g
             where g.id = %(session_id)s::uuid and g.user_id = %(user)s::uuid"""),
        Case("flashcards", "list_ai_sessions", False, {}, f"""
            select jsonb_build_object(
              'data', coalesce((
                 select jsonb_agg({AI_SESSION_SUMMARY} order by g.created_at desc, g.id)
                   from (select * from flashcards.ai_generation_sessions g
                          where g.user_id = %(user)s::uuid
                          order by g.created_at desc, g.id limit 20) g), '[]'::jsonb),
              'pagination', jsonb_build_object('limit', 20, 'offset', 0,
                 'total', least(n.n, 1000), 'total_capped', n.n > 1000))::text
              from (select count(*) as n from (select from flashcards.ai_generation_sessions g
                     where g.user_id = %(user)s::uuid limit 1001) capped) n"""),
        Case("flashcards", "review_candidates", True, {
            "session_id": ids["generation"],
            "actions": [{"candidate_id": c, "action": "accept"}
                        for c in ids["candidates"].split(",")]}, f"""
            with c as (
              select c.* from flashcards.candidates c
               where c.session_id = %(session_id)s::uuid
                 and c.id in (select (a ->> 'candidate_id')::uuid
                                from jsonb_array_elements(%(actions)s::jsonb) a)),
            f as (
              insert into flashcards.flashcards (user_id, front, back, source, session_id,
                                                 candidate_id)
              select %(user)s::uuid, c.front, c.back, 'ai', c.session_id, c.id from c
              returning *),
            marked as (
              update flashcards.candidates c
                 set status = 'accepted', flashcard_id = f.id, reviewed_at = now()
                from f where c.id = f.candidate_id),
            g as (
              update flashcards.ai_generation_sessions g
                 set accepted_unedited_count = g.accepted_unedited_count
                                               + (select count(*) from f)
               where g.id = %(session_id)s::uuid and g.user_id = %(user)s::uuid
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'flashcards', 'candidates_reviewed', g.user_id, 'ai_generation_session',
                     g.id, jsonb_build_object('accepted', (select count(*) from f),
                                              'edited', 0, 'rejected', 0) from g)
            select jsonb_build_object(
                     'data', jsonb_build_object(
                       'flashcards', (select jsonb_agg({CARD_DTO}) from f c),
                       'session', {AI_SESSION_SUMMARY}),
                     'meta', jsonb_build_object('accepted', (select count(*) from f),
                                                'edited', 0, 'rejected', 0))::text
              from g"""),
        Case("flashcards", "create_flashcards", True,
             {"items": [{"front": f"front {i}", "back": f"back {i}"} for i in range(3)]}, f"""
            with c as (
              insert into flashcards.flashcards (user_id, front, back, source)
              select %(user)s::uuid, i.front, i.back, 'manual'
                from jsonb_to_recordset(%(items)s::jsonb) as i(front text, back text)
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'flashcards', 'flashcards_created', %(user)s::uuid, null, null,
                     jsonb_build_object('count', count(*), 'source', 'manual') from c)
            select jsonb_build_object('data', jsonb_agg({CARD_DTO}))::text from c"""),
        Case("flashcards", "update_flashcard", True, {"id": ids["card"], "front": "edited"},
             f"""
            with c as (
              update flashcards.flashcards c set front = %(front)s, updated_at = now()
               where c.id = %(id)s::uuid and c.user_id = %(user)s::uuid
                 and c.deleted_at is null
              returning *),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'flashcards', 'flashcard_updated', c.user_id, 'flashcard', c.id,
                     jsonb_build_object('source', c.source) from c)
            select jsonb_build_object('data', {CARD_DTO})::text from c"""),
        Case("flashcards", "delete_flashcards", True,
             {"ids": ids["other_cards"].split(",")}, """
            with c as (
              update flashcards.flashcards c set deleted_at = now(), updated_at = now()
               where c.id = any (array(select jsonb_array_elements_text(%(ids)s::jsonb)::uuid))
                 and c.user_id = %(user)s::uuid and c.deleted_at is null
              returning c.id),
            e as (
              insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
              select 'flashcards', 'flashcards_deleted', %(user)s::uuid, null, null,
                     jsonb_build_object('count', count(*)) from c having count(*) > 0)
            select jsonb_build_object('data', jsonb_build_object('deleted', count(*)))::text
              from c"""),
    ]



def case_user(case: Case, ids: dict[str, str]) -> str:
    """Who calls the case (`workouts.start_session` needs a user without a workout in
    progress, completing or failing a pull-up session one with a session in progress)."""
    return ids[case.caller]

CLOCK = "select (extract(epoch from clock_timestamp()) * 1000000)::bigint"
MINIMAL_CONTEXT = ("select set_config('request.jwt.claims', %(claims)s, true),"
                   " set_config('role', %(role)s, true)")

# SQL with %(name)s placeholders and a dict, or with $n placeholders (what rpc sends) and
# the values in order
Step = tuple[str | bytes, dict[str, Any] | Sequence[bytes | None] | None]


class RawPipeline:
    """Trials through libpq itself: it buffers a pipeline's messages until the Sync and
    writes them at once, so the server has the whole trial before its first clock reading
    (psycopg's pipeline sends each statement as it is queued, and a reading could then
    include waiting for the client)."""

    def __init__(self, dsn: str) -> None:
        self._pg = pq.PGconn.connect(dsn.encode())
        assert self._pg.status == pq.ConnStatus.OK, self._pg.get_error_message()
        self._prepared: dict[str, tuple[bytes, list[str]]] = {}
        for text in ("begin", "rollback", CLOCK):
            self._prepare(text)
        self._pg.enter_pipeline_mode()

    def _prepare(self, sql_text: str) -> tuple[bytes, list[str]]:
        if sql_text not in self._prepared:
            positional, order = _positional(sql_text)
            name = f"s{len(self._prepared)}".encode()
            self._pg.prepare(name, positional.encode())  # before pipeline mode: blocking
            self._prepared[sql_text] = (name, order)
        return self._prepared[sql_text]

    def add(self, *steps: Step) -> None:
        """Prepare statements before the first trial."""
        self._pg.exit_pipeline_mode()
        for text, _ in steps:
            self._prepare(text.decode() if isinstance(text, bytes) else text)
        self._pg.enter_pipeline_mode()

    def _send(self, step: Step) -> None:
        text, params = step
        name, order = self._prepared[text.decode() if isinstance(text, bytes) else text]
        if params is not None and not isinstance(params, dict):
            self._pg.send_query_prepared(name, params)
            return
        values = [None if (params or {}).get(k) is None else str((params or {})[k]).encode()
                  for k in order]
        self._pg.send_query_prepared(name, values)

    def run(self, *steps: Step) -> list[pq.abc.PGresult]:
        """The steps' results, sent as one pipeline with one Sync."""
        for step in steps:
            self._send(step)
        self._pg.pipeline_sync()
        results = []
        while (result := self._pg.get_result()) is None or (
                result.status != pq.ExecStatus.PIPELINE_SYNC):
            if result is None:
                continue
            assert result.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK), (
                result.error_message.decode())
            results.append(result)
        return results

    def trial(self, context: Step, statement: Step | None) -> float:
        """Microseconds between two clock readings around `statement`, in one rolled-back
        transaction."""
        results = self.run(("begin", None), context, (CLOCK, None),
                           *([statement] if statement else []), (CLOCK, None),
                           ("rollback", None))
        readings = [int(r.get_value(0, 0) or 0) for r in results
                    if r.nfields == 1 and r.fname(0) == b"int8"]
        return float(readings[-1] - readings[0])

    def in_a_row(self, context: Step, statement: Step | None, trials: int,
                 warmup: int = 20) -> float:
        """The median of `trials` trials of one statement in a row, after `warmup` untimed
        ones: each timed after itself, as consecutive calls of one RPC on a connection
        are."""
        for _ in range(warmup):
            self.trial(context, statement)
        return statistics.median(self.trial(context, statement) for _ in range(trials))

    def close(self) -> None:
        self._pg.finish()


def _server_times(dsn: str, ids: dict[str, str]) -> list[dict[str, Any]]:
    results = []
    raw = RawPipeline(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        owner = conn.execute("select current_user").fetchone()
        assert owner
        for case in cases(ids):
            user = case_user(case, ids)
            case_claims = user_claims(user, None)
            sent = rpc.statements(conn, case.schema, case.function, case.args, case_claims)
            call_context, call = sent.context, sent.call
            minimal_context = (MINIMAL_CONTEXT, {
                "claims": json.dumps(case_claims),
                "role": owner[0] if case.write or case.private else "authenticated"})
            minimal = (case.minimal, {"user": user} | {
                k: json.dumps(v) if isinstance(v, list | dict) else v
                for k, v in case.args.items()})
            # same answer, apart from what the clock puts in it
            raw.add(call_context, call, minimal_context, minimal)
            got = answer(raw, call_context, call)
            want = answer(raw, minimal_context, minimal)
            assert shape(got) == shape(want), (case.name, got, want)
            rounds: dict[str, list[float]] = {"call": [], "minimal": [], "ratio": []}
            for _ in range(ROUNDS):
                samples: dict[str, list[float]] = {"call": [], "minimal": [], "clock": []}
                for _ in range(TRIALS):
                    samples["call"].append(raw.trial(call_context, call))
                    samples["minimal"].append(raw.trial(minimal_context, minimal))
                    samples["clock"].append(raw.trial(minimal_context, None))
                clock = statistics.median(samples["clock"])
                call_us = statistics.median(samples["call"]) - clock
                minimal_us = statistics.median(samples["minimal"]) - clock
                rounds["call"].append(call_us)
                rounds["minimal"].append(minimal_us)
                rounds["ratio"].append(call_us / minimal_us)
            # the same pair, each statement timed after itself (as on a connection serving
            # one RPC after another), the clock likewise; the rounds take the drift
            in_a_row: dict[str, list[float]] = {"call": [], "minimal": [], "ratio": []}
            for _ in range(ROUNDS):
                call_row = raw.in_a_row(call_context, call, TRIALS)
                minimal_row = raw.in_a_row(minimal_context, minimal, TRIALS)
                clock = raw.in_a_row(minimal_context, None, TRIALS)
                in_a_row["call"].append(call_row - clock)
                in_a_row["minimal"].append(minimal_row - clock)
                in_a_row["ratio"].append((call_row - clock) / (minimal_row - clock))
            results.append({"rpc": case.name, "kind": "write" if case.write else "read",
                            **{k: _spread(v) for k, v in rounds.items()},
                            "in_a_row": {k: _spread(v) for k, v in in_a_row.items()}})
    raw.close()
    return results


def answer(raw: RawPipeline, context: Step, statement: Step) -> Any:
    """The statement's JSON answer, in a rolled-back transaction."""
    results = raw.run(("begin", None), context, statement, ("rollback", None))
    return json.loads(results[2].get_value(0, 0) or b"null")


def shape(value: Any) -> Any:
    """The keys and list lengths of an answer (ids and times differ between runs)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


# ---------------------------------------------------------------------------------------
# Client CPU of one call
# ---------------------------------------------------------------------------------------

def _cpu_us(action: Callable[[], Any], calls: int) -> float:
    for _ in range(50):
        action()
    started = time.process_time()
    for _ in range(calls):
        action()
    return (time.process_time() - started) / calls * 1e6


def _client_cpu(dsn: str, ids: dict[str, str]) -> dict[str, Any]:
    """CPU of `rpc.call(get_session)` against the bare minimum a client must do for the
    same request: build the same parameters, send both statements through libpq in one
    pipeline with one Sync, read the rows back and parse the JSON body."""
    claims = user_claims(ids["user"], None)
    args = {"session_id": ids["planned"]}
    with psycopg.connect(dsn, autocommit=True) as conn:
        sent = rpc.statements(conn, "pullups", "get_session", args, claims)
        raw = RawPipeline(dsn)
        raw.add(sent.context, sent.call)
        context_sql, context_params = sent.context
        call_sql, _ = sent.call
        assert context_params is not None and not isinstance(context_params, dict)

        def bare() -> None:
            params = list(context_params)
            params[rpc.CONTEXT_KEYS.index("claims")] = json.dumps(claims).encode()
            _, answer = raw.run((context_sql, params), (call_sql, (json.dumps(args).encode(),)))
            assert json.loads(answer.get_value(0, 0) or b"null") is not None

        def through_rpc() -> None:
            assert rpc.call(conn, "pullups", "get_session", args, claims).status == 200

        rounds: dict[str, list[float]] = {"rpc_call": [], "bare_libpq": [], "ratio": []}
        for i in range(CLIENT_ROUNDS):
            if i % 2:
                floor, ours = _cpu_us(bare, 1000), _cpu_us(through_rpc, 1000)
            else:
                ours, floor = _cpu_us(through_rpc, 1000), _cpu_us(bare, 1000)
            rounds["rpc_call"].append(ours)
            rounds["bare_libpq"].append(floor)
            rounds["ratio"].append(ours / floor)
        raw.close()
    return {k: _spread(v) for k, v in rounds.items()}


def _positional(statement: str) -> tuple[str, list[str]]:
    """`%(name)s` placeholders as libpq's `$n`, and the names in order."""
    order: list[str] = []
    out = statement
    while "%(" in out:
        start = out.index("%(")
        end = out.index(")s", start)
        name = out[start + 2:end]
        if name not in order:
            order.append(name)
        out = out.replace(f"%({name})s", f"${order.index(name) + 1}")
    return out, order


def main() -> None:
    with throwaway_database() as dsn:
        with psycopg.connect(dsn, autocommit=True) as admin:
            ids = populate(admin)
        print("rpcs: server time per RPC against its minimal SQL ...", flush=True)
        server = _server_times(dsn, ids)
        print("rpcs: client CPU of rpc.call ...", flush=True)
        client = _client_cpu(dsn, ids)
    lines = ["| RPC | kind | call µs | minimal SQL µs | ratio (min-max) "
             "| in a row: call µs | minimal SQL µs | ratio (min-max) | goal |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in server:
        goal = "1.5x" if r["kind"] == "write" else "2x"
        row = r["in_a_row"]
        lines.append(
            f"| `{r['rpc']}` | {r['kind']} | {r['call']['median']} | {r['minimal']['median']}"
            f" | {r['ratio']['median']:.2f}x ({r['ratio']['min']:.2f}-{r['ratio']['max']:.2f})"
            f" | {row['call']['median']} | {row['minimal']['median']}"
            f" | {row['ratio']['median']:.2f}x"
            f" ({row['ratio']['min']:.2f}-{row['ratio']['max']:.2f}) | <= {goal} |")
    lines += ["", "| client CPU per call | µs (min-max) |", "|---|---:|",
              f"| `rpc.call` (`pullups.get_session`) | {client['rpc_call']['median']}"
              f" ({client['rpc_call']['min']}-{client['rpc_call']['max']}) |",
              f"| bare libpq, same statements, one pipeline | {client['bare_libpq']['median']}"
              f" ({client['bare_libpq']['min']}-{client['bare_libpq']['max']}) |",
              f"| ratio (goal <= 2x) | {client['ratio']['median']:.2f}x"
              f" ({client['ratio']['min']:.2f}-{client['ratio']['max']:.2f}) |"]
    table = "\n".join(lines)
    note = (f"Server time from Postgres' clock around each statement (medians of {TRIALS} "
            f"interleaved trials per round, {ROUNDS} rounds; the table gives the median "
            f"round and the ratio's min-max over rounds); \"in a row\": the same, each "
            f"statement's {TRIALS} trials in a row after 20 untimed ones (timed after itself, "
            "as consecutive calls of one RPC on a connection are, instead of after the other "
            f"statement); a user with {HISTORY} sessions and cards. See bench/rpcs.py for the "
            "minimal SQL of each RPC. Client CPU: process time of 1,000 calls each way per "
            f"round, {CLIENT_ROUNDS} rounds, each in the reverse order of the last; the "
            "medians (min-max) over the rounds of each, and of each round's ratio.")
    path = write_results("rpcs", {"server": server, "client": client}, f"{note}\n\n{table}")
    print(table)
    print(f"written to {path}")
