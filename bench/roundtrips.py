"""Round trips per call: the Sync messages `rpc.call` and `rpc.acall` send for every client
RPC of `bench rpcs` (its cases, on its data), read from libpq's protocol trace. Each Sync
waits for the server before the caller can go on, so the count is the number of network
round trips. The first call of each RPC on a connection fills the schema cache; the count is
taken on the next. Writes commit here (nothing is rolled back), on a database of their own.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any

import psycopg

from bench.common import throwaway_database, write_results
from bench.rpcs import case_user, cases, populate
from python_functions.db import rpc
from python_functions.service.auth import user_claims


def _count(trace: Path) -> int:
    """The Sync messages the client (F) sent, in a libpq trace."""
    return sum(1 for line in trace.read_text().splitlines()
               if "\tF\t" in line and "\tSync" in line)


def _sync_syncs(dsn: str, schema: str, function: str, args: dict[str, Any],
                claims: dict[str, Any], trace: Path) -> tuple[int, int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rpc.call(conn, schema, function, args, claims)  # fills the schema cache
        with trace.open("w") as out:
            conn.pgconn.trace(out.fileno())
            try:
                response = rpc.call(conn, schema, function, args, claims)
            finally:
                conn.pgconn.untrace()
    return _count(trace), response.status


async def _async_syncs(dsn: str, schema: str, function: str, args: dict[str, Any],
                       claims: dict[str, Any], trace: Path) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        await rpc.acall(conn, schema, function, args, claims)  # fills the schema cache
        with trace.open("w") as out:
            conn.pgconn.trace(out.fileno())
            try:
                response = await rpc.acall(conn, schema, function, args, claims)
            finally:
                conn.pgconn.untrace()
        return _count(trace), response.status


def main() -> None:
    rows: list[dict[str, Any]] = []
    with throwaway_database() as dsn, tempfile.TemporaryDirectory() as tmp:
        trace = Path(tmp) / "trace.txt"
        with psycopg.connect(dsn, autocommit=True) as admin:
            ids = populate(admin)
        print("roundtrips: Sync messages per rpc.call / rpc.acall ...", flush=True)
        for case in cases(ids):
            call = (case.schema, case.function, case.args,
                    user_claims(case_user(case, ids), None), trace)
            count, status = _sync_syncs(dsn, *call)
            async_count, async_status = asyncio.run(_async_syncs(dsn, *call))
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
               " as Sync messages in libpq's protocol trace (as tests/test_rpc_caller.py does).")
    path = write_results("roundtrips", {"rpcs": rows}, summary + "\n\n" + "\n".join(lines))
    print(f"written to {path}")
