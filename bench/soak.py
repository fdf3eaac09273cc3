"""Soak: two service processes, 200 users, a minute of mixed AI calls, and the database
restarted in the middle. Reports requests, statuses, p50/p99, attempts left pending (after
the sweeper: must be 0) and quota overruns (must be 0)."""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import psycopg

from bench.common import benchmark_cluster, write_results
from python_functions.local import migrations
from python_functions.local.cluster import LocalCluster, free_port
from python_functions.service.auth import mint_token, user_claims
from python_functions.service.settings import DEV_JWT_SECRET

USERS = 200
WORKERS = 40
SECONDS = 60
OUTAGE_AT_S, OUTAGE_S = 25.0, 3.0
STUDY_TEXT = ("Photosynthesis is the process by which green plants turn light into chemical "
              "energy. Chlorophyll is the green pigment that absorbs red and blue light. ") * 8
RECIPE = ("Placki\n\nSkładniki:\n- 1 kg ziemniaków\n- 2 jajka\n\nPrzygotowanie:\n"
          "1. Zetrzyj ziemniaki na tarce.\n2. Smaż placki na oleju z obu stron.\n")
CALLS = (
    ("/sessions/ai", {"maxPullups": 8}),
    ("/ai-sessions", {"input_text": STUDY_TEXT, "model": "local/rules"}),
    ("/ai/recipes/draft", {"source": "text", "text": RECIPE,
                           "output_format": "pycha_recipe_draft_v1"}),
)


def _spawn(args: list[str], env: dict[str, str], ready: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, *args], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(ready, timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{ready} did not come up")


async def _load(urls: list[str], tokens: list[str], cluster: LocalCluster
                ) -> tuple[Counter[int], Counter[str], list[float]]:
    statuses: Counter[int] = Counter()
    unanswered: Counter[str] = Counter()  # why a request got no answer (status 0)
    latencies: list[float] = []
    started = time.monotonic()
    rng = random.Random(20261126)

    async def worker(client: httpx.AsyncClient) -> None:
        while time.monotonic() - started < SECONDS:
            path, body = rng.choice(CALLS)
            url = rng.choice(urls)
            token = rng.choice(tokens)
            begun = time.monotonic()
            try:
                response = await client.post(f"{url}{path}", json=body,
                                             headers={"Authorization": f"Bearer {token}"})
                statuses[response.status_code] += 1
            except httpx.HTTPError as exc:
                statuses[0] += 1  # no answer at all
                unanswered[type(exc).__name__] += 1
            latencies.append((time.monotonic() - begun) * 1000)

    async def outage() -> None:
        await asyncio.sleep(OUTAGE_AT_S)
        await asyncio.to_thread(cluster.stop)
        await asyncio.sleep(OUTAGE_S)
        await asyncio.to_thread(cluster.start)

    limits = httpx.Limits(max_connections=WORKERS)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
        await asyncio.gather(outage(), *(worker(client) for _ in range(WORKERS)))
    return statuses, unanswered, latencies


def _pending(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("select (select count(*) from pullups.generations where status ="
                       " 'pending') + (select count(*) from flashcards.ai_generation_sessions"
                       " where status = 'pending')").fetchone()
    return int(row[0]) if row else -1


def main() -> None:
    with benchmark_cluster() as cluster:
        migrations.prepare_database(cluster.dsn, seed=False, bootstrap_dsn=cluster.admin_dsn)
        users = [str(uuid.uuid4()) for _ in range(USERS)]
        with psycopg.connect(cluster.dsn, autocommit=True) as conn, \
                conn.cursor().copy("copy auth.users (id, email) from stdin") as copy:
            for user_id in users:
                copy.write_row((user_id, f"{user_id}@soak.invalid"))
        tokens = [mint_token(user_claims(u, None, ttl_seconds=3600), DEV_JWT_SECRET)
                  for u in users]
        ai_port, ports = free_port(), [free_port(), free_port()]
        env = {k: v for k, v in os.environ.items() if k != "OPENROUTER_API_KEY"}
        env |= {"DATABASE_URL": cluster.dsn, "DB_POOL_SIZE": "10",
                "AI_BASE_URL": f"http://127.0.0.1:{ai_port}/v1", "SWEEP_INTERVAL_SECONDS": "5"}
        processes = [_spawn(["-m", "python_functions.local.provider", "--port", str(ai_port)], env,
                            f"http://127.0.0.1:{ai_port}/v1/models")]
        try:
            for port in ports:
                processes.append(_spawn(["-m", "python_functions", "serve"],
                                        env | {"PORT": str(port)},
                                        f"http://127.0.0.1:{port}/health"))
            urls = [f"http://127.0.0.1:{port}" for port in ports]
            statuses, unanswered, latencies = asyncio.run(_load(urls, tokens, cluster))
            time.sleep(2)  # the last finishes
            with psycopg.connect(cluster.dsn, autocommit=True) as conn:
                pending_before_sweep = _pending(conn)
                # what a crash left would be closed after its TTL: pretend it passed
                conn.execute("update pullups.generations set created_at = created_at"
                             " - interval '1 hour' where status = 'pending'")
                conn.execute("update flashcards.ai_generation_sessions set created_at ="
                             " created_at - interval '1 hour' where status = 'pending'")
                conn.execute("select core.close_abandoned_attempts()")
                pending_after_sweep = _pending(conn)
                row = conn.execute("""
                    select count(*) from (
                      select r.bucket, r.user_id, count(*) as used, p.max_count
                        from core.quota_reservations r
                        join core.quota_policies p using (bucket)
                       where r.state = 'success' or (r.state = 'failure' and p.failures_count)
                       group by r.bucket, r.user_id, p.max_count) q
                     where q.used > q.max_count""").fetchone()
                overruns = int(row[0]) if row else -1
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
    ordered = sorted(latencies)
    results: dict[str, Any] = {
        "users": USERS, "workers": WORKERS, "seconds": SECONDS, "service_processes": 2,
        "outage": {"at_s": OUTAGE_AT_S, "seconds": OUTAGE_S},
        "requests": len(latencies), "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "unanswered": dict(unanswered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)], 1),
        "pending_before_sweep": pending_before_sweep, "pending_after_sweep": pending_after_sweep,
        "quota_overruns": overruns,
    }
    table = "\n".join([
        "| requests | statuses | p50 | p99 | pending before / after the sweep | quota overruns |",
        "|---:|---|---:|---:|---:|---:|",
        f"| {results['requests']} | "
        + ", ".join(f"{k}: {v}" for k, v in results["statuses"].items())
        + f" | {results['p50_ms']} ms | {results['p99_ms']} ms"
        f" | {pending_before_sweep} / {pending_after_sweep} | {overruns} |"])
    if unanswered:
        table += "\n\nNo answer (status 0): " + ", ".join(
            f"{name}: {count}" for name, count in unanswered.most_common())
    note = (f"{WORKERS} concurrent clients, {USERS} users, {SECONDS} s of a random mix of "
            "POST /sessions/ai, /ai-sessions and /ai/recipes/draft (text) over two service "
            f"processes and the offline provider; the database stopped at {OUTAGE_AT_S:g} s "
            f"for {OUTAGE_S:g} s. Status 0 = no answer. 403/409/429 are the apps' rules "
            "(quotas, one active session, rate limits), 503 the outage.")
    path = write_results("soak", results, f"{note}\n\n{table}")
    print(table)
    print(f"written to {path}")
