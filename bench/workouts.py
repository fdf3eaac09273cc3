"""workouts RPCs through the PostgREST-faithful caller vs a bare `select 1` round trip.

For each table size (1k and 1M training_sessions over 10k users): medians of
`start_session` + `complete_session` (one user's whole workout, two RPCs), divided by the
median `select 1` of the same run. The lists' scaling is `bench/lists.py`.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import psycopg

from bench.common import summary, throwaway_database, timed_ms, write_results
from python_functions.db import rpc
from python_functions.service.auth import user_claims

USERS = 10_000
SNAPSHOT = {
    "plan_name": "Push / Pull", "day_name": "Push", "date": "2026-11-20",
    "exercises": [{"name": f"Exercise {i}", "sets": [
        {"planned_reps": 8, "planned_weight": 60, "actual_reps": 8, "actual_weight": 60,
         "rest_seconds": 120, "completed": True} for _ in range(3)]} for i in range(4)],
}


def _populate(conn: psycopg.Connection[Any], rows: int) -> None:
    conn.execute("truncate auth.users, workouts.plans, workouts.training_sessions, core.events"
                 " cascade")
    conn.execute("insert into auth.users (id, email) select gen_random_uuid(),"
                 " 'u' || g || '@example.com' from generate_series(1, %s) g", (USERS,))
    conn.execute("insert into workouts.plans (user_id, name) select id, 'plan' from auth.users")
    # rows spread evenly: user k gets rows/USERS sessions (at least one per user for 1M)
    conn.execute(
        """
        insert into workouts.training_sessions (user_id, plan_id, date, session, started_at,
                                                ended_at)
        select p.user_id, p.id, date '2020-01-01' + (g / %(users)s)::int,
               %(snapshot)s::jsonb,
               timestamptz '2020-01-01' + (g / %(users)s) * interval '1 day',
               timestamptz '2020-01-01' + (g / %(users)s) * interval '1 day' + interval '1 hour'
          from generate_series(0, %(rows)s - 1) g
          join (select user_id, id, row_number() over (order by user_id) - 1 as k
                  from workouts.plans) p on p.k = g %% %(users)s
        """,
        {"users": USERS, "rows": rows, "snapshot": json.dumps(SNAPSHOT)},
    )
    conn.execute("vacuum analyze workouts.training_sessions")


def _run_size(dsn: str, rows: int) -> dict[str, Any]:
    with psycopg.connect(dsn, autocommit=True) as admin:
        started = time.perf_counter()
        _populate(admin, rows)
        load_s = round(time.perf_counter() - started, 1)
        users = admin.execute("select user_id::text, id::text from workouts.plans"
                              " order by user_id limit 2000").fetchall()
    with psycopg.connect(dsn, autocommit=True) as conn:
        rotation = itertools.cycle(users)

        def select_one() -> None:
            conn.execute("select 1").fetchone()

        def workout() -> None:
            user_id, plan_id = next(rotation)
            claims = user_claims(user_id, None)
            started = rpc.call(conn, "workouts", "start_session",
                               {"plan_id": plan_id, "date": "2026-11-20", "session": SNAPSHOT},
                               claims)
            assert started.status == 201, started.body
            done = rpc.call(conn, "workouts", "complete_session", {"id": started.body["id"]},
                            claims)
            assert done.status == 200, done.body

        baseline = summary(timed_ms(select_one, 2000))
        start_complete = summary(timed_ms(workout, 400))
    base = baseline["median_ms"]
    return {
        "rows": rows, "users": USERS, "load_seconds": load_s,
        "select_1": baseline, "start_plus_complete": start_complete,
        "ratio_start_plus_complete": round(start_complete["median_ms"] / base, 1),
    }


def main(sizes: list[int]) -> None:
    results = []
    with throwaway_database() as dsn:
        for rows in sizes:
            print(f"workouts: {rows:,} training_sessions over {USERS:,} users ...", flush=True)
            results.append(_run_size(dsn, rows))
    lines = ["| rows | select 1 | start+complete | ratio |", "|---:|---:|---:|---:|"]
    for r in results:
        lines.append(
            f"| {r['rows']:,} | {r['select_1']['median_ms']} ms"
            f" | {r['start_plus_complete']['median_ms']} ms | {r['ratio_start_plus_complete']}x |")
    table = "\n".join(lines)
    note = ("Medians through the PostgREST-faithful caller (one transaction per RPC, role and "
            "claims set per call), same connection, same run. start+complete is two RPCs.")
    path = write_results("workouts", {"sizes": results}, f"{note}\n\n{table}")
    print(table)
    print(f"written to {path}")
