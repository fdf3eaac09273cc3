"""Round trips per call: the Sync and simple-protocol Query messages `rpc.call` and
`rpc.acall` send for every client RPC of `bench rpcs` (its cases, on its data), read from
libpq's protocol trace (`bench.common.RoundTrips`). Each waits for the server before the
caller can go on, so the count is the number of network round trips. The first call of each
RPC on a connection fills the schema cache; the count is taken on the next. Writes commit
here (nothing is rolled back), on a database of their own.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from bench.common import RoundTrips, throwaway_database, write_results
from bench.rpcs import case_user, cases, populate
from python_functions.db import rpc
from python_functions.service.auth import user_claims


def _sync_round_trips(dsn: str, schema: str, function: str, args: dict[str, Any],
                      claims: dict[str, Any]) -> tuple[int, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rpc.call(conn, schema, function, args, claims)  # fills the schema cache
        with RoundTrips(conn.pgconn) as sent:
            response = rpc.call(conn, schema, function, args, claims)
    return sent.count, response.status


async def _async_round_trips(dsn: str, schema: str, function: str, args: dict[str, Any],
                             claims: dict[str, Any]) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await rpc.acall(conn, schema, function, args, claims)  # fills the schema cache
        with RoundTrips(conn.pgconn) as sent:
            response = await rpc.acall(conn, schema, function, args, claims)
    return sent.count, response.status


def main() -> None:
    rows: list[dict[str, Any]] = []
    with throwaway_database() as dsn:
        with psycopg.connect(dsn, autocommit=True) as admin:
            ids = populate(admin)
        print("roundtrips: round trips per rpc.call / rpc.acall ...", flush=True)
        for case in cases(ids):
            if case.situation:
                continue  # the same call as the RPC's first case, on other data
            call = (case.schema, case.function, case.args,
                    user_claims(case_user(case, ids), None))
            count, status = _sync_round_trips(dsn, *call)
            async_count, async_status = asyncio.run(_async_round_trips(dsn, *call))
            rows.append({"rpc": case.name, "sync": count, "async": async_count,
                         "status": status, "async_status": async_status})
    lines = ["| RPC | `rpc.call` round trips (status) | `rpc.acall` round trips (status) |",
             "|---|---:|---:|"]
    lines += [f"| `{r['rpc']}` | {r['sync']} ({r['status']}) | {r['async']} ({r['async_status']})"
              " |" for r in rows]
    counts = sorted({r["sync"] for r in rows} | {r["async"] for r in rows})
    found = (f"every call made {counts[0]}" if len(counts) == 1
             else f"calls made {counts[0]} to {counts[-1]}")
    summary = (f"{len(rows)} RPCs, each called once more after a call that fills the schema"
               " cache, through `rpc.call` and through `rpc.acall` (a write that already ran may"
               f" answer an error, which is still one round trip): {found} round trip(s), counted"
               " as Sync and Query messages in libpq's protocol trace (as"
               " tests/test_rpc_caller.py does).")
    path = write_results("roundtrips", {"rpcs": rows}, summary + "\n\n" + "\n".join(lines))
    print(f"written to {path}")
