"""What each layer of an RPC costs, on functions that do nothing else: PostgREST's call
shape, a plpgsql function with its pinned search_path, the private security definer function
behind the exposed wrapper, and the prologue every RPC starts with (the claims parsed, the
caller and the id checked as UUIDs); then `workouts.delete_plan` against a definer function
holding nothing but its minimal SQL, with and without that prologue.

Server time as `bench rpcs` takes it (Postgres' clock around the statement, one rolled-back
pipeline per trial), every variant called through `rpc.statements` as a client's RPC is, the
variants interleaved, 5 rounds of 200 trials; each row gives its median round and what it
adds to the row it builds on.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

import psycopg

from bench.common import throwaway_database, write_results
from bench.rpcs import CLOCK, MINIMAL_CONTEXT, RawPipeline, Step, cases, populate
from python_functions.db import rpc
from python_functions.service.auth import user_claims

ROUNDS = 5
TRIALS = 200
HOW = ("Server time from Postgres' clock around each statement, as `bench rpcs` takes it, every"
       f" variant called as a client's RPC is (`rpc.statements`), interleaved, each trial right"
       f" after an untimed run of the same transaction; medians of {TRIALS}"
       f" trials per round, {ROUNDS} rounds: the median round and the min-max over rounds."
       " \"adds\": what the row adds to the one it builds on (for the layers: the row named in"
       " bench/layers.py).")

USER_PATTERN = "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
ID_PATTERN = "'^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'"
CLAIMS = "nullif(current_setting('request.jwt.claims', true), '')"
ANSWER = "return '{\"a\": 1}'::jsonb;"
MINIMAL_DELETE = """
    with deleted as (
      delete from workouts.plans p where p.id = {id} and p.user_id = {user}
      returning p.id, p.user_id
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'workouts', 'plan_deleted', d.user_id, 'plan', d.id, '{{}}'::jsonb from deleted d
    )
    select d.id into v_deleted from deleted d;"""


def _function(name: str, body: str, *, args: str = "id text", returns: str = "jsonb",
              definer: bool = False, declare: str = "") -> str:
    security = "security definer" if definer else "security invoker"
    return (f"create function bench_layers.{name}({args}) returns {returns} language plpgsql"
            f" volatile {security} set search_path = '' as $$"
            f" declare {declare} begin {body} end $$;")


# (name, what it adds, the row it adds to, DDL)
LAYERS: list[tuple[str, str, str | None, str]] = [
    ("sql_inline", "PostgREST's call shape around an inlined sql function", None,
     "create function bench_layers.sql_inline(id text) returns jsonb language sql volatile"
     " as $$ select '{\"a\": 1}'::jsonb $$;"),
    ("plpgsql", "a plpgsql function with its pinned search_path", "sql_inline",
     _function("plpgsql", ANSWER)),
    ("wrapper", "an exposed invoker wrapper over a private definer function", "plpgsql",
     _function("inner_definer", ANSWER, definer=True)
     + _function("wrapper", "return bench_layers.inner_definer(id);")),
    ("claims_jsonb", "the claims parsed as jsonb for their sub", "plpgsql",
     _function("claims_jsonb", ANSWER, declare=f"v_sub text := {CLAIMS}::jsonb ->> 'sub';")),
    ("claims_json", "(instead: the claims parsed as json)", "plpgsql",
     _function("claims_json", ANSWER, declare=f"v_sub text := {CLAIMS}::json ->> 'sub';")),
    ("caller_uuid", "the caller checked as a UUID", "claims_jsonb",
     _function("caller_uuid", ANSWER, declare=(
         f"v_sub text := {CLAIMS}::jsonb ->> 'sub';"
         f" v_user_id uuid := case when v_sub ~* {USER_PATTERN} then v_sub::uuid end;"))),
    ("id_uuid", "the id checked as a UUID", "caller_uuid",
     _function("id_uuid", ANSWER, declare=(
         f"v_sub text := {CLAIMS}::jsonb ->> 'sub';"
         f" v_user_id uuid := case when v_sub ~* {USER_PATTERN} then v_sub::uuid end;"
         f" v_id uuid := case when id ~* {ID_PATTERN} then id::uuid end;"))),
]

DELETES = f"""
{_function("delete_bare", MINIMAL_DELETE.format(id="pid", user="uid"),
           args="pid uuid, uid uuid", returns="void", definer=True,
           declare="v_deleted uuid;")}
{_function("delete_prologue",
           f"if v_user_id is not null and v_id is not null then"
           f" {MINIMAL_DELETE.format(id='v_id', user='v_user_id')} end if;",
           returns="void", definer=True, declare=(
               f"v_sub text := {CLAIMS}::jsonb ->> 'sub';"
               f" v_user_id uuid := case when v_sub ~* {USER_PATTERN} then v_sub::uuid end;"
               f" v_id uuid := case when id ~* {ID_PATTERN} then id::uuid end;"
               " v_deleted uuid;"))}
"""


def _warm_trial(raw: RawPipeline, context: Step, statement: Step | None) -> float:
    """One trial after an untimed run of the same transaction, in the same pipeline: what a
    statement costs here depends on what ran just before it (a delete after a read of other
    tables took 30-40 µs more than after a delete), so every variant is timed after itself."""
    body = [statement] if statement else []
    results = raw.run(("begin", None), context, *body, ("rollback", None),
                      ("begin", None), context, (CLOCK, None), *body, (CLOCK, None),
                      ("rollback", None))
    readings = [int(r.get_value(0, 0) or 0) for r in results
                if r.nfields == 1 and r.fname(0) == b"int8"]
    return float(readings[-1] - readings[-2])


def _measure(raw: RawPipeline, steps: dict[str, tuple[Step, Step]], clock: Step
             ) -> dict[str, dict[str, float]]:
    rounds: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(ROUNDS):
        samples: dict[str, list[float]] = {name: [] for name in steps}
        clocks = []
        for _ in range(TRIALS):
            for name, (context, statement) in steps.items():
                samples[name].append(_warm_trial(raw, context, statement))
            clocks.append(_warm_trial(raw, clock, None))
        own = statistics.median(clocks)
        for name in steps:
            rounds[name].append(statistics.median(samples[name]) - own)
    return {name: {"median": statistics.median(v), "min": min(v), "max": max(v)}
            for name, v in rounds.items()}


def main() -> None:
    with throwaway_database() as dsn:
        with psycopg.connect(dsn, autocommit=True) as admin:
            ids = populate(admin)
            owner = str(admin.execute("select current_user").fetchone()[0])  # type: ignore[index]
            admin.execute("create schema bench_layers;"
                          " grant usage on schema bench_layers to authenticated;"
                          + "".join(ddl for *_, ddl in LAYERS) + DELETES
                          + "grant execute on all functions in schema bench_layers"
                            " to authenticated;")
        print("layers: what each layer of an RPC costs ...", flush=True)
        user, plan = ids["user"], ids["spare_plan"]
        claims = user_claims(user, None)
        delete_case = next(c for c in cases(ids) if c.name == "workouts.delete_plan")
        calls: dict[str, tuple[str, str, dict[str, Any]]] = {
            name: ("bench_layers", name, {"id": plan}) for name, *_ in LAYERS}
        calls |= {"delete_bare": ("bench_layers", "delete_bare", {"pid": plan, "uid": user}),
                  "delete_prologue": ("bench_layers", "delete_prologue", {"id": plan}),
                  "delete_rpc": ("workouts", "delete_plan", {"id": plan})}
        raw = RawPipeline(dsn)
        steps: dict[str, tuple[Step, Step]] = {}
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name, (schema, function, args) in calls.items():
                sent = rpc.statements(conn, schema, function, args, claims)
                steps[name] = (sent.context, sent.call)
        as_owner: Step = (MINIMAL_CONTEXT, {"claims": json.dumps(claims), "role": owner})
        steps["delete_minimal"] = (as_owner, (delete_case.minimal, {"user": user, "id": plan}))
        for context, statement in steps.values():
            raw.add(context, statement)
        times = _measure(raw, steps, as_owner)
        raw.close()

    def row(name: str, label: str, base: str | None) -> str:
        t = times[name]
        added = f"{t['median'] - times[base]['median']:+.1f}" if base else ""
        return f"| {label} | {t['median']:.1f} ({t['min']:.1f}-{t['max']:.1f}) | {added} |"

    lines = ["| layer | µs (min-max) | adds µs |", "|---|---:|---:|"]
    lines += [row(name, label, base) for name, label, base, _ in LAYERS]
    lines += ["", "| `workouts.delete_plan` | µs (min-max) | adds µs |", "|---|---:|---:|",
              row("delete_minimal", "its minimal SQL (as the table owner)", None),
              row("delete_bare", "that SQL alone in a definer function, called as an RPC",
                  "delete_minimal"),
              row("delete_prologue", "the same with the prologue (claims, two UUID checks)",
                  "delete_bare"),
              row("delete_rpc", "the RPC (its exposed wrapper, the fast path's checks)",
                  "delete_prologue")]
    path = write_results("layers", {"layers": times}, HOW + "\n\n" + "\n".join(lines))
    print(f"written to {path}")
