"""One client RPC against a variant of it, side by side: `python -m bench.abba RPC FILE`.

A change of a few µs does not show between two `make bench rpcs` runs: the same code's
ratio moves by up to 0.3 from one run to the next. This compares the two definitions in one
run, on the rpcs benchmark's data and arguments, each trial as in that benchmark (PostgREST's
call shape, Postgres' clock, rolled back), in the order A B B A, then B A A B, so that what
runs before a trial hits both alike (after a different statement, the next one took 4-126 µs
more than after itself in `bench rpcs`, `flashcards.review_candidates` aside).

FILE is SQL creating the variant next to the RPC under the name `<function>_b`, with the
same arguments: e.g. for `pullups.get_session`, `create function pullups.get_session_b(
session_id text) ...` and its grant. The RPC is one of `bench/rpcs.py`'s cases, named as its
table names it (e.g. `"workouts.start_session (a plan's first)"`).
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path

import psycopg

from bench.common import throwaway_database
from bench.rpcs import ROUNDS, RawPipeline, answer, case_user, cases, populate, shape
from python_functions.db import rpc
from python_functions.service.auth import user_claims

TRIALS = 200  # per round, per definition


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.abba", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("rpc", help="one of the rpcs benchmark's cases: schema.function, and"
                        " its situation in brackets where it has one")
    parser.add_argument("sql", type=Path, help="SQL creating schema.function_b")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    known = [c.name for c in cases(defaultdict(str))]
    if args.rpc not in known:
        parser.error(f"{args.rpc} is not one of: {', '.join(known)}")
    with throwaway_database() as dsn:
        with psycopg.connect(dsn, autocommit=True) as admin:
            ids = populate(admin)
            admin.execute(args.sql.read_text())
        case = next(c for c in cases(ids) if c.name == args.rpc)
        claims = user_claims(case_user(case, ids), None)
        raw = RawPipeline(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            a = rpc.statements(conn, case.schema, case.function, case.args, claims)
            try:
                b = rpc.statements(conn, case.schema, f"{case.function}_b", case.args, claims)
            except LookupError as exc:
                raise SystemExit(f"{args.sql}: {exc}") from None
        raw.add(a.context, a.call, b.context, b.call)
        if shape(answer(raw, a.context, a.call)) != shape(answer(raw, b.context, b.call)):
            raise SystemExit("A and B answer differently shaped JSON")
        differences = []
        for number in range(1, args.rounds + 1):
            times: dict[str, list[float]] = {"A": [], "B": []}
            for trial in range(TRIALS):
                for which in ("ABBA" if trial % 2 == 0 else "BAAB"):
                    sent = a if which == "A" else b
                    times[which].append(raw.trial(sent.context, sent.call))
            a_us, b_us = statistics.median(times["A"]), statistics.median(times["B"])
            differences.append(b_us - a_us)
            print(f"round {number}: A {a_us:.1f} µs, B {b_us:.1f} µs (clock included)",
                  flush=True)
        raw.close()
    print(f"B - A: {statistics.median(differences):+.1f} µs"
          f" ({min(differences):+.1f} to {max(differences):+.1f} over {args.rounds} rounds)")


if __name__ == "__main__":
    main()
