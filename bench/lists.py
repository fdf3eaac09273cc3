"""The first page of each history list as the tables grow: the same user (100 rows) in a
table of 1,000 rows and in one of 1,000,000, and a user with 5,000 rows in the large one;
and the same for a write that looks at the user's history (`pullups.create_session`, whose
warnings ask about the last finished session).

Two clusters run side by side, one per size, so every trial of the small table is
interleaved with the large table's (same machine load, same moment). Server time comes from
Postgres' clock around the RPC's call statement, as in `bench/rpcs.py` (`RawPipeline`).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from bench.common import throwaway_database, write_results
from bench.rpcs import CLOCK, MINIMAL_CONTEXT, SNAPSHOT, RawPipeline, Step
from python_functions.db import rpc
from python_functions.service.auth import user_claims

SIZES = {"small": 1_000, "large": 1_000_000}
PER_USER = 100  # rows of every ordinary user, the probe among them
HEAVY = 5_000  # rows of the heavy user (large table only)
ROUNDS = 5
TRIALS = 100  # per round, per measurement


@dataclass(frozen=True)
class Listing:
    schema: str
    function: str
    rows: str  # INSERT giving each user in `users` (a temp table) %(n)s rows


@dataclass(frozen=True)
class Probe:
    """An RPC called for the probe and the heavy user, in rolled-back trials."""

    schema: str
    function: str
    args: dict[str, Any]
    label: str

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.function}"


LISTINGS = [
    Listing("pullups", "list_sessions", """
        insert into pullups.sessions (user_id, status, session_date, sets, rpe, finished_at)
        select u.id, 'completed', date '2000-01-01' + g, '{5,5,5,5,5}', 7,
               timestamptz '2000-01-01' + g * interval '1 day'
          from users u, generate_series(1, %(n)s) g"""),
    Listing("workouts", "list_sessions", """
        insert into workouts.training_sessions (user_id, plan_id, date, session, started_at,
                                                ended_at)
        select u.id, u.plan_id, date '2000-01-01' + g, %(snapshot)s::jsonb,
               timestamptz '2000-01-01' + g * interval '1 day',
               timestamptz '2000-01-01' + g * interval '1 day' + interval '1 hour'
          from users u, generate_series(1, %(n)s) g"""),
    Listing("flashcards", "list_flashcards", """
        insert into flashcards.flashcards (user_id, front, back, source, created_at)
        select u.id, 'front ' || g, 'back ' || g, 'manual',
               timestamptz '2000-01-01' + g * interval '1 hour'
          from users u, generate_series(1, %(n)s) g"""),
]


# the lists' first pages, and a write that reads the user's history
PROBES = [Probe(listing.schema, listing.function, {}, "first page") for listing in LISTINGS] + [
    Probe("pullups", "create_session",
          {"session_date": time.strftime("%Y-%m-%d"), "sets": [5, 5, 5, 5, 5],
           "status": "completed"}, "a completed session today"),
]


def _add_users(conn: psycopg.Connection[Any], count: int, rows_each: int) -> list[str]:
    """`count` users with a plan and `rows_each` rows in every listed table."""
    conn.execute("create temp table users (id uuid, plan_id uuid) on commit drop")
    conn.execute("insert into users (id) select gen_random_uuid() from generate_series(1, %s)",
                 (count,))
    conn.execute("insert into auth.users (id, email) select id, id || '@example.com' from users")
    conn.execute("with p as (insert into workouts.plans (user_id, name)"
                 " select id, 'Plan' from users returning id, user_id)"
                 " update users u set plan_id = p.id from p where p.user_id = u.id")
    for listing in LISTINGS:
        conn.execute(listing.rows, {"n": rows_each, "snapshot": json.dumps(SNAPSHOT)})
    return [str(r[0]) for r in conn.execute("select id from users order by id")]


def _populate(dsn: str, rows: int, heavy: bool) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        probe = _add_users(conn, rows // PER_USER, PER_USER)[0]
        conn.commit()
        users = {"probe": probe}
        if heavy:
            users["heavy"] = _add_users(conn, 1, HEAVY)[0]
            conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("vacuum analyze")
    return users


class Database:
    """One sized cluster: its pipeline and the prepared call of each listing for a user."""

    def __init__(self, dsn: str, users: dict[str, str]) -> None:
        self.raw = RawPipeline(dsn)
        self.users = users
        self._dsn = dsn

    def call(self, probe: Probe, user: str) -> tuple[Step, Step]:
        claims = user_claims(self.users[user], None)
        with psycopg.connect(self._dsn, autocommit=True) as conn:
            sent = rpc.statements(conn, probe.schema, probe.function, probe.args, claims)
        self.raw.add(sent.context, sent.call)
        # it answers (in a rolled-back transaction: the trials must find the same rows)
        answer = self.raw.run(("begin", None), sent.context, sent.call, ("rollback", None))
        body = json.loads(answer[2].get_value(0, 0) or b"null")
        assert isinstance(body, dict) and "code" not in body, body
        return sent.context, sent.call

    def clock(self) -> Step:
        step: Step = (MINIMAL_CONTEXT, {"claims": "{}", "role": "authenticated"})
        self.raw.add(step, (CLOCK, None))
        return step


def _spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2)}


def _measure(small: Database, large: Database, probe: Probe) -> dict[str, Any]:
    trials = {"small_probe": (small, small.call(probe, "probe")),
              "large_probe": (large, large.call(probe, "probe")),
              "large_heavy": (large, large.call(probe, "heavy"))}
    clocks = {id(small): small.clock(), id(large): large.clock()}
    rounds: dict[str, list[float]] = {k: [] for k in
                                      (*trials, "probe_ratio", "heavy_ratio")}
    for _ in range(ROUNDS):
        samples: dict[str, list[float]] = {k: [] for k in trials}
        clock_samples: dict[int, list[float]] = {k: [] for k in clocks}
        for _ in range(TRIALS):
            for key, (db, (context, call)) in trials.items():
                samples[key].append(db.raw.trial(context, call))
            for db in (small, large):
                clock_samples[id(db)].append(db.raw.trial(clocks[id(db)], None))
        clock = {k: statistics.median(v) for k, v in clock_samples.items()}
        us = {key: statistics.median(samples[key]) - clock[id(db)]
              for key, (db, _) in trials.items()}
        for key, value in us.items():
            rounds[key].append(value)
        rounds["probe_ratio"].append(us["large_probe"] / us["small_probe"])
        rounds["heavy_ratio"].append(us["large_heavy"] / us["small_probe"])
    return {"rpc": probe.name, "label": probe.label,
            **{k: _spread(v) for k, v in rounds.items()}}


@contextmanager
def _databases() -> Iterator[tuple[Database, Database]]:
    with ExitStack() as stack:
        dsns = {name: stack.enter_context(throwaway_database()) for name in SIZES}
        built = {}
        for name, rows in SIZES.items():
            print(f"lists: {rows:,} rows per table ...", flush=True)
            started = time.perf_counter()
            users = _populate(dsns[name], rows, heavy=name == "large")
            print(f"lists: loaded in {time.perf_counter() - started:.0f} s", flush=True)
            built[name] = Database(dsns[name], users)
        yield built["small"], built["large"]
        for db in built.values():
            db.raw.close()


def main() -> None:
    results = []
    with _databases() as (small, large):
        for probe in PROBES:
            print(f"lists: {probe.name} ...", flush=True)
            results.append(_measure(small, large, probe))

    def ratio(r: dict[str, float]) -> str:
        return f"{r['median']:.2f}x ({r['min']:.2f}-{r['max']:.2f})"

    lines = ["| RPC | 100 rows, 1k table µs | 100 rows, 1M table µs | ratio"
             " | 5,000 rows, 1M table µs | ratio to the 1k table |",
             "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        lines.append(f"| `{r['rpc']}`, {r['label']} | {r['small_probe']['median']}"
                     f" | {r['large_probe']['median']} | {ratio(r['probe_ratio'])}"
                     f" | {r['large_heavy']['median']} | {ratio(r['heavy_ratio'])} |")
    note = (f"Server time of each RPC's call statement (the lists without arguments: the"
            " first page of 20; the write rolled back),"
            f" medians of {TRIALS} interleaved trials per round, {ROUNDS} rounds; the ratio"
            " is the median round's, min-max over rounds. Two clusters side by side: every"
            f" table {SIZES['small']:,} rows in one, {SIZES['large']:,} in the other"
            f" ({PER_USER} per user), plus one user with {HEAVY:,} in the large one."
            " Goal: every ratio <= 1.3x.")
    table = "\n".join(lines)
    path = write_results("lists", {"lists": results}, f"{note}\n\n{table}")
    print(table)
    print(f"written to {path}")
