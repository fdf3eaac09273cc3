"""What each layer of an RPC costs, on functions that do nothing else: PostgREST's call
shape, a plpgsql function with its pinned search_path, the private security definer function
behind the exposed wrapper, and the prologue every RPC starts with (the claims parsed, the
caller and the id checked as UUIDs).

Server time as `bench rpcs` takes it (Postgres' clock around the statement, one rolled-back
pipeline per trial), every variant called through `rpc.statements` as a client's RPC is. Each
variant's trials run in a row (as consecutive calls of one RPC on a connection do), the
variants in turn, 5 rounds; each row gives the median of the rounds and what it adds to the
row it builds on.
"""

from __future__ import annotations

import statistics
import uuid

import psycopg

from bench.common import throwaway_database, write_results
from bench.rpcs import RawPipeline, Step
from python_functions.db import rpc
from python_functions.service.auth import user_claims

ROUNDS = 5
TRIALS = 200
WARMUP = 20
HOW = ("Server time from Postgres' clock around each statement, as `bench rpcs` takes it, every"
       f" variant called as a client's RPC is (`rpc.statements`), {TRIALS} trials of one variant"
       f" in a row after {WARMUP} untimed ones, the variants in turn, {ROUNDS} rounds: the median"
       " of the rounds' medians and their min-max."
       " \"adds\": what the row adds to the row it builds on (named in bench/layers.py).")

USER_PATTERN = "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"
ID_PATTERN = "'^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'"
CLAIMS = "nullif(current_setting('request.jwt.claims', true), '')"
ANSWER = "return '{\"a\": 1}'::jsonb;"


def _function(name: str, body: str, *, definer: bool = False, declare: str = "") -> str:
    security = "security definer" if definer else "security invoker"
    return (f"create function bench_layers.{name}(id text) returns jsonb language plpgsql"
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


def _measure(raw: RawPipeline, steps: dict[str, tuple[Step, Step]], clock: Step
             ) -> dict[str, dict[str, float]]:
    """Each round times every variant's block, then the clock's own; the rounds take the
    drift."""
    rounds: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(ROUNDS):
        # each variant timed among its own: what a statement costs here depends on what ran
        # just before it (a definer function holding the minimal SQL of
        # `workouts.delete_plan` measured 3 to 27 µs over that SQL, by the trials around it)
        medians = {name: raw.in_a_row(context, statement, TRIALS, WARMUP)
                   for name, (context, statement) in steps.items()}
        own = raw.in_a_row(clock, None, TRIALS, WARMUP)
        for name, median in medians.items():
            rounds[name].append(median - own)
    return {name: {"median": statistics.median(v), "min": min(v), "max": max(v)}
            for name, v in rounds.items()}


def main() -> None:
    with throwaway_database() as dsn:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute("create schema bench_layers;"
                          " grant usage on schema bench_layers to authenticated;"
                          + "".join(ddl for *_, ddl in LAYERS)
                          + "grant execute on all functions in schema bench_layers"
                            " to authenticated;")
        print("layers: what each layer of an RPC costs ...", flush=True)
        claims = user_claims(str(uuid.uuid4()), None)
        raw = RawPipeline(dsn)
        steps: dict[str, tuple[Step, Step]] = {}
        with psycopg.connect(dsn, autocommit=True) as conn:
            for name, *_ in LAYERS:
                sent = rpc.statements(conn, "bench_layers", name, {"id": str(uuid.uuid4())},
                                      claims)
                steps[name] = (sent.context, sent.call)
        for context, statement in steps.values():
            raw.add(context, statement)
        times = _measure(raw, steps, steps["sql_inline"][0])  # the clock in the same context
        raw.close()

    def row(name: str, label: str, base: str | None) -> str:
        t = times[name]
        added = f"{t['median'] - times[base]['median']:+.1f}" if base else ""
        return f"| {label} | {t['median']:.1f} ({t['min']:.1f}-{t['max']:.1f}) | {added} |"

    lines = ["| layer | µs (min-max) | adds µs |", "|---|---:|---:|"]
    lines += [row(name, label, base) for name, label, base, _ in LAYERS]
    path = write_results("layers", {"layers": times}, HOW + "\n\n" + "\n".join(lines))
    print(f"written to {path}")
