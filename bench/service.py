"""The AI service's added latency: POST /sessions/ai over a zero-delay offline provider at
50 concurrent connections, against a bare ASGI endpoint (same framework, same server) and
the provider alone, all in the same run, each server in its own process. The service runs
on both database transports: DATABASE_URL (a direct pool) and SUPABASE_URL + service role
key (supabase-py through PostgREST, here the local API in its own process). Beside them, in
the same rounds, the code the performance work started from (BASELINE, from this
repository's history: its SQL on a cluster of its own, its service and offline provider),
so that "twice the throughput" is a ratio measured side by side, not against a figure from
another day.

The load comes from `wrk` (C, epoll): a Python client saturates long before these servers
do at 50 connections (httpx's async pool fell from 420 to 116 req/s here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import benchmark_cluster, throwaway_database, write_results
from python_functions import PROJECT_ROOT
from python_functions.ai.providers import CallRecord
from python_functions.db import rpc
from python_functions.db.transports import SERVICE_CLAIMS
from python_functions.local.cluster import free_port
from python_functions.service.auth import api_key, mint_token, user_claims
from python_functions.service.settings import DEV_JWT_SECRET

CONNECTIONS = 50
THREADS = 2
SECONDS = 10
SERIAL_SECONDS = 5
# Users per run: more generations than a run can make (one per user a day). Each of wrk's
# THREADS steps through its own share of the slice, and the threads do not share the load
# evenly: at 477 req/s a 5,000-user slice ran out in one thread (136 repeated users, 409).
SLICE = 10_000
USERS = 31 * SLICE  # 10 runs that need users in each of 3 rounds, one slice each
PARTS_USERS = 200
# The last commit before issue 13's performance work: four round trips per RPC call, one
# worker on uvicorn's h11 parser, httpx to the provider, the SQL before the fast paths. Run
# in today's venv its uvicorn picks uvloop, which it did not have then: if anything it runs
# faster here than it did.
BASELINE = "797acb985fb553c8fac61ca02509489ef906d4bb"

_LUA = """
local tokens = {}
local counter = 0
function setup(thread)
  thread:set("offset", counter)
  counter = counter + 1
end
function init(args)
  for line in io.lines("%(tokens)s") do tokens[#tokens + 1] = line end
  local file = io.open("%(body)s")
  body = file:read("*a")
  file:close()
  index = offset
end
function request()
  index = index + %(threads)d
  local headers = {["Content-Type"] = "application/json"}
  if #tokens > 0 then
    headers["Authorization"] = "Bearer " .. tokens[(index %% #tokens) + 1]
  end
  return wrk.format("POST", "%(path)s", headers, body)
end
"""

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _spawn(args: list[str], env: dict[str, str], health: str,
           cwd: Path = PROJECT_ROOT) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, *args], env=env, cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(health, timeout=1).status_code < 500:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{args} did not come up")


def _wrk(url: str, path: str, body: str, tokens: Path | None, seconds: int,
         workdir: Path, connections: int = CONNECTIONS) -> dict[str, Any]:
    name = uuid.uuid4().hex[:6]
    body_file = workdir / f"body-{name}.json"
    body_file.write_text(body)
    script = workdir / f"load-{name}.lua"
    threads = min(THREADS, connections)
    script.write_text(_LUA % {"tokens": tokens or os.devnull, "threads": threads,
                              "path": path, "body": body_file})
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(script), url], capture_output=True, text=True, check=True)
    out = result.stdout
    percentiles = {p: float(v) * _UNITS[u] for p, v, u in
                   re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)}
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"median_ms": round(percentiles["50"], 2), "p99_ms": round(percentiles["99"], 2),
            "requests": requests, "rps": round(requests / seconds),
            "non_2xx": int(errors.group(1)) if errors else 0}


def _slice(tokens: Path, start: int, end: int, workdir: Path) -> Path:
    part = workdir / f"tokens-{start}-{end}.txt"
    part.write_text("\n".join(tokens.read_text().splitlines()[start:end]))
    return part


def _parts(dsn: str, user_ids: list[str]) -> dict[str, Any]:
    """What a `POST /sessions/ai` is made of on the database side: begin_generation and
    finish_generation as the service sends them, timed at the client on one connection
    (one round trip each: the network is part of the floor)."""
    call = CallRecord(model="local/rules", provider="openai-compatible", attempt=1,
                      status="success", http_status=200, latency_ms=1).as_json()
    begin_ms: list[float] = []
    finish_ms: list[float] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for user_id in user_ids:
            started = time.perf_counter()
            begun = rpc.call(conn, "pullups", "begin_generation", {
                "user_id": user_id, "model": "local/rules", "max_pullups": 8,
                "start_now": False}, SERVICE_CLAIMS)
            begin_ms.append((time.perf_counter() - started) * 1000)
            assert begun.status == 200, begun.body
            started = time.perf_counter()
            finished = rpc.call(conn, "pullups", "finish_generation", {
                "user_id": user_id, "generation_id": begun.body["generationId"],
                "outcome": {"status": "success", "sets": [5, 5, 4, 4, 3], "aiComment": "ok",
                            "durationMs": 1, "calls": [call]}}, SERVICE_CLAIMS)
            finish_ms.append((time.perf_counter() - started) * 1000)
            assert finished.status == 201, finished.body
    return {"begin_ms": round(statistics.median(begin_ms), 2),
            "finish_ms": round(statistics.median(finish_ms), 2)}


def _add_users(dsn: str, users: list[str]) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn, \
            conn.cursor().copy("copy auth.users (id, email) from stdin") as copy:
        for user_id in users:
            copy.write_row((user_id, f"{user_id}@example.com"))


def _baseline(stack: ExitStack, workdir: Path, users: list[str], env: dict[str, str]
              ) -> tuple[str, list[subprocess.Popen[bytes]]] | None:
    """The BASELINE code running beside the current one: its source from git, its
    migrations on a cluster of its own (with the same users), its offline provider and its
    service (`python -m` from its directory imports its own package). Its URL and
    processes, or None where the history is not there (a shallow clone)."""
    source = workdir / "baseline"
    source.mkdir()
    archive = subprocess.run(["git", "-C", str(PROJECT_ROOT), "archive", BASELINE],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        print(f"the baseline {BASELINE[:7]} is not in this clone's history: not measured")
        return None
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    cluster = stack.enter_context(benchmark_cluster())
    subprocess.run([sys.executable, "-c",
                    "import sys; from python_functions import migrate; "
                    "migrate.prepare_database(sys.argv[1], seed=False, bootstrap_dsn=sys.argv[2])",
                    cluster.dsn, cluster.admin_dsn], cwd=source, check=True)
    _add_users(cluster.dsn, users)
    ai, service = free_port(), free_port()
    old_env = env | {"DATABASE_URL": cluster.dsn, "PORT": str(service),
                     "AI_BASE_URL": f"http://127.0.0.1:{ai}/v1"}
    processes = [
        _spawn(["-m", "python_functions.local_ai", "--port", str(ai)], old_env,
               f"http://127.0.0.1:{ai}/v1/models", cwd=source),
        _spawn(["-m", "python_functions", "serve"], old_env,
               f"http://127.0.0.1:{service}/health", cwd=source),
    ]
    return f"http://127.0.0.1:{service}", processes


ROUNDS = 3  # each measurement three times, interleaved: the medians and their spread


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it as root (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="pf-bench-wrk-"))
    with ExitStack() as stack:
        dsn = stack.enter_context(throwaway_database())
        users = [str(uuid.uuid4()) for _ in range(USERS)]
        _add_users(dsn, users)
        tokens = workdir / "tokens.txt"
        tokens.write_text("\n".join(
            mint_token(user_claims(u, None, ttl_seconds=3600), DEV_JWT_SECRET) for u in users))
        ports = {name: free_port() for name in
                 ("ai", "service", "bare", "api", "rest_service", "two_workers", "raw")}
        env = {k: v for k, v in os.environ.items()
               if k not in ("OPENROUTER_API_KEY", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY",
                            "WORKERS")}
        env |= {"DATABASE_URL": dsn, "PORT": str(ports["service"]), "DB_POOL_SIZE": "20",
                "AI_BASE_URL": f"http://127.0.0.1:{ports['ai']}/v1",
                "API_PORT": str(ports["api"]), "SWEEP_INTERVAL_SECONDS": "0"}
        api_url = f"http://127.0.0.1:{ports['api']}"
        through_postgrest = {k: v for k, v in env.items() if k != "DATABASE_URL"} | {
            "SUPABASE_URL": api_url, "PORT": str(ports["rest_service"]),
            "SUPABASE_SERVICE_ROLE_KEY": api_key("service_role", DEV_JWT_SECRET)}
        two_workers = env | {"PORT": str(ports["two_workers"]), "WORKERS": "2",
                             "DB_POOL_SIZE": "10"}
        url = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        processes = [
            _spawn(["-m", "python_functions.local.provider", "--port", str(ports["ai"])], env,
                   f"{url['ai']}/v1/models"),
            _spawn(["-m", "python_functions", "serve"], env, f"{url['service']}/health"),
            _spawn(["-m", "python_functions", "local-api"], env,
                   f"{api_url}/auth/v1/.well-known/jwks.json"),
            _spawn(["-m", "python_functions", "serve"], through_postgrest,
                   f"{url['rest_service']}/health"),
            _spawn(["-m", "python_functions", "serve"], two_workers,
                   f"{url['two_workers']}/health"),
            _spawn(["-m", "bench.raw_route"], env | {"PORT": str(ports["raw"])},
                   f"{url['raw']}/health"),
            _spawn(["-m", "uvicorn", "bench.bare_app:app", "--port", str(ports["bare"]),
                    "--log-level", "warning", "--no-access-log"], env, f"{url['bare']}/docs"),
        ]
        baseline = _baseline(stack, workdir, users, env)
        if baseline is not None:
            url["baseline"] = baseline[0]
            processes += baseline[1]
        chat = json.dumps({
            "model": "local/rules",
            "messages": [{"role": "user", "content": '<context>{"maxPullups": 8}</context>'}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "pullup_session"}},
        })
        body = '{"maxPullups": 8}'
        # every run of POST /sessions/ai gets users of its own: one generation a user a day
        slices = iter(range(0, USERS - SLICE, SLICE))

        def fresh_tokens() -> Path:
            start = next(slices)
            return _slice(tokens, start, start + SLICE, workdir)

        runs: dict[str, tuple[str, str, str, bool, int]] = {
            # name: (url, path, body, needs users, connections)
            "bare": (url["bare"], "/echo", "{}", False, CONNECTIONS),
            "provider": (url["ai"], "/v1/chat/completions", chat, False, CONNECTIONS),
            "service": (url["service"], "/sessions/ai", body, True, CONNECTIONS),
            "service_postgrest": (url["rest_service"], "/sessions/ai", body, True, CONNECTIONS),
            "bare_serial": (url["bare"], "/echo", "{}", False, 1),
            "provider_serial": (url["ai"], "/v1/chat/completions", chat, False, 1),
            # 1 and 2 workers back to back, in turn first (see `_round_order`)
            "service_serial": (url["service"], "/sessions/ai", body, True, 1),
            "two_workers_serial": (url["two_workers"], "/sessions/ai", body, True, 1),
            "raw_serial": (url["raw"], "/sessions/ai", body, True, 1),
            "service_postgrest_serial": (url["rest_service"], "/sessions/ai", body, True, 1),
            "service_20": (url["service"], "/sessions/ai", body, True, 20),
            "two_workers_20": (url["two_workers"], "/sessions/ai", body, True, 20),
        }
        if "baseline" in url:
            runs |= {"baseline_serial": (url["baseline"], "/sessions/ai", body, True, 1),
                     "baseline_20": (url["baseline"], "/sessions/ai", body, True, 20)}
        rounds: dict[str, list[dict[str, Any]]] = {name: [] for name in runs}
        # where a request's time goes at one connection, where every CPU cost adds to it:
        # the service, and the same work as a plain ASGI route
        served_by = {"service_serial": processes[1], "raw_serial": processes[5]}
        cpu = {name: {"service": 0.0, "provider": 0.0, "postgres": 0.0} for name in served_by}
        cpu_requests = dict.fromkeys(served_by, 0)
        round_parts: list[dict[str, Any]] = []
        try:
            _wrk(url["bare"], "/echo", "{}", None, 2, workdir)  # warm-ups
            _wrk(url["ai"], "/v1/chat/completions", chat, None, 2, workdir)
            for round_number in range(ROUNDS):
                order = _round_order(list(runs), round_number)
                after_pair = max(order.index("service_serial"),
                                 order.index("two_workers_serial"))
                for position, name in enumerate(order):
                    base, route, payload, needs_users, connections = runs[name]
                    watched = {"service": _process_tree(served_by.get(name, processes[1]).pid),
                               "provider": _process_tree(processes[0].pid),
                               "postgres": _postgres_pids(dsn)}
                    before = {k: _cpu_seconds(pids) for k, pids in watched.items()}
                    rounds[name].append(_wrk(
                        base, route, payload, fresh_tokens() if needs_users else None,
                        SECONDS if connections > 1 else SERIAL_SECONDS, workdir,
                        connections=connections))
                    if name in served_by:
                        for k, pids in watched.items():
                            cpu[name][k] += _cpu_seconds(pids) - before[k]
                        cpu_requests[name] += rounds[name][-1]["requests"]
                    if position == after_pair:
                        # the parts right after the service's two runs at one connection
                        # (the provider's ran just before them), not after the
                        # 20-connection runs' writes; on users of their own (the last slice)
                        end = len(users) - PARTS_USERS * round_number
                        round_parts.append(_parts(dsn, users[end - PARTS_USERS:end]))
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
            shutil.rmtree(workdir, ignore_errors=True)
    results: dict[str, Any] = {name: _median_run(samples) for name, samples in rounds.items()}
    # each round's ratio: the service and its parts measured in that round
    for measured, provider in zip(round_parts, rounds["provider_serial"], strict=True):
        measured["provider_ms"] = provider["median_ms"]
        measured["sum_ms"] = round(measured["begin_ms"] + measured["finish_ms"]
                                   + measured["provider_ms"], 2)
    over_parts, raw_over_parts = ([served["median_ms"] / measured["sum_ms"] for served, measured
                                   in zip(rounds[name], round_parts, strict=True)]
                                  for name in ("service_serial", "raw_serial"))
    workers = [two["median_ms"] / one["median_ms"] for one, two in
               zip(rounds["service_serial"], rounds["two_workers_serial"], strict=True)]
    results["two_workers_over_one_serial"] = round(statistics.median(workers), 2)
    results["two_workers_over_one_serial_spread"] = f"{min(workers):.2f}-{max(workers):.2f}"
    parts = {key: round(statistics.median(m[key] for m in round_parts), 2)
             for key in ("begin_ms", "finish_ms", "provider_ms", "sum_ms")}
    parts["rounds"] = round_parts
    for name, key in (("service_serial", "cpu_ms_per_request_serial"),
                      ("raw_serial", "raw_cpu_ms_per_request_serial")):
        results[key] = {k: round(v * 1000 / max(cpu_requests[name], 1), 2)
                        for k, v in cpu[name].items()}
    results |= {"parts": parts, "connections": CONNECTIONS, "seconds": SECONDS,
                "rounds": ROUNDS,
                "service_over_parts": round(statistics.median(over_parts), 2),
                "service_over_parts_spread": f"{min(over_parts):.2f}-{max(over_parts):.2f}",
                "raw_over_parts": round(statistics.median(raw_over_parts), 2),
                "raw_over_parts_spread": f"{min(raw_over_parts):.2f}-{max(raw_over_parts):.2f}"}
    rows = [("bare ASGI `POST /echo`", "bare"), ("offline provider alone", "provider"),
            ("`POST /sessions/ai` (201 each, new user each), DATABASE_URL", "service"),
            ("`POST /sessions/ai`, through PostgREST (supabase-py)", "service_postgrest"),
            ("`POST /sessions/ai`, 20 connections", "service_20"),
            ("`POST /sessions/ai`, 20 connections, WORKERS=2", "two_workers_20"),
            ("bare, 1 connection", "bare_serial"),
            ("provider alone, 1 connection", "provider_serial"),
            ("`POST /sessions/ai`, 1 connection, DATABASE_URL", "service_serial"),
            ("`POST /sessions/ai`, 1 connection, as a plain ASGI route (`bench/raw_route.py`)",
             "raw_serial"),
            ("`POST /sessions/ai`, 1 connection, through PostgREST", "service_postgrest_serial"),
            ("`POST /sessions/ai`, 1 connection, WORKERS=2", "two_workers_serial")]
    baseline_table = ""
    if "baseline_20" in results:
        rows += [(f"the code before the performance work ({BASELINE[:7]}), 20 connections",
                  "baseline_20"),
                 (f"the code before the performance work ({BASELINE[:7]}), 1 connection",
                  "baseline_serial")]
        # each round's ratio: both ran in that round, one after the other
        throughput = [now["rps"] / then["rps"] for now, then in
                      zip(rounds["two_workers_20"], rounds["baseline_20"], strict=True)]
        latency = [then["median_ms"] / now["median_ms"] for now, then in
                   zip(rounds["service_serial"], rounds["baseline_serial"], strict=True)]
        results["over_baseline"] = {
            "throughput_20": round(statistics.median(throughput), 2),
            "throughput_20_spread": f"{min(throughput):.2f}-{max(throughput):.2f}",
            "latency_serial": round(statistics.median(latency), 2),
            "latency_serial_spread": f"{min(latency):.2f}-{max(latency):.2f}"}
        ratio = results["over_baseline"]
        baseline_table = (
            f"| side by side with {BASELINE[:7]} (same rounds) | now | then | ratio (spread) |\n"
            "|---|---:|---:|---:|\n"
            f"| `POST /sessions/ai`, 20 connections, req/s (now: WORKERS=2; goal >= 2x) "
            f"| {results['two_workers_20']['rps']} | {results['baseline_20']['rps']} "
            f"| {ratio['throughput_20']}x ({ratio['throughput_20_spread']}) |\n"
            f"| `POST /sessions/ai`, 1 connection, p50 ms (then / now) "
            f"| {results['service_serial']['median_ms']} "
            f"| {results['baseline_serial']['median_ms']} "
            f"| {ratio['latency_serial']}x ({ratio['latency_serial_spread']}) |")
    table = "\n".join(
        ["| endpoint | p50 (spread over rounds) | p99 | req/s (spread) | non-2xx (all rounds) |",
         "|---|---:|---:|---:|---:|"]
        + [f"| {label} | {results[k]['median_ms']} ms ({results[k]['median_spread']})"
           f" | {results[k]['p99_ms']} ms | {results[k]['rps']} ({results[k]['rps_spread']})"
           f" | {sum(r['non_2xx'] for r in results[k]['rounds'])} |" for label, k in rows])
    parts_table = (
        "| the parts of one `POST /sessions/ai` (1 connection; each measured in every round, "
        "the database's right after the service, the provider's right before; the median "
        "round) | ms |\n|---|---:|\n"
        f"| begin_generation (one round trip, median of {PARTS_USERS}) | {parts['begin_ms']} |\n"
        f"| finish_generation (one round trip) | {parts['finish_ms']} |\n"
        f"| the provider's answer (p50, 1 connection) | {parts['provider_ms']} |\n"
        f"| sum of the parts | {parts['sum_ms']} |\n"
        f"| the service (p50, 1 connection) | {results['service_serial']['median_ms']} |\n"
        f"| **service / parts** (each round's ratio: the median, min-max) "
        f"| **{results['service_over_parts']}x** ({results['service_over_parts_spread']}) |\n"
        f"| the same work as a plain ASGI route, without FastAPI's request handling (p50) "
        f"| {results['raw_serial']['median_ms']} |\n"
        f"| plain ASGI route / parts | {results['raw_over_parts']}x "
        f"({results['raw_over_parts_spread']}) |\n"
        f"| WORKERS=2 / WORKERS=1, p50 at 1 connection (run back to back, each first in "
        f"turn; each round's ratio) | {results['two_workers_over_one_serial']}x "
        f"({results['two_workers_over_one_serial_spread']}) |")
    spent = results["cpu_ms_per_request_serial"]
    raw_spent = results["raw_cpu_ms_per_request_serial"]
    cpu_table = (
        "| CPU per `POST /sessions/ai` at 1 connection, DATABASE_URL (/proc, all rounds) "
        "| the service, ms | as a plain ASGI route, ms |\n|---|---:|---:|\n"
        f"| the server | {spent['service']} | {raw_spent['service']} |\n"
        f"| the offline provider | {spent['provider']} | {raw_spent['provider']} |\n"
        f"| Postgres (its backends and background processes) | {spent['postgres']} "
        f"| {raw_spent['postgres']} |\n"
        f"| sum (wrk's own not counted) | {round(sum(spent.values()), 2)} "
        f"| {round(sum(raw_spent.values()), 2)} |")
    note = (f"wrk, {THREADS} threads, {SECONDS} s per run at 20 or {CONNECTIONS} connections "
            f"({SERIAL_SECONDS} s at 1), {ROUNDS} rounds interleaved (every endpoint once per "
            "round; one and two workers at 1 connection back to back, each first in "
            "turn); p50 and req/s are the median round, with the spread (min-max) over the "
            "rounds. Each server in its own process on this 2-core machine, sharing it with "
            "Postgres (fsync on) and wrk. A /sessions/ai request: JWT check, "
            "begin_generation (quota reservation, context), one provider call over HTTP, "
            "finish_generation (session, generation, events, ai_calls row). Through "
            "PostgREST, begin and finish are HTTP calls to the local API (PostgREST's "
            "stand-in, Python), which runs them on its own pool.")
    path = write_results("service", results,
                         f"{note}\n\n{table}\n\n{baseline_table}\n\n{parts_table}"
                         f"\n\n{cpu_table}".replace("\n\n\n\n", "\n\n"))
    print(table)
    print(baseline_table)
    print(parts_table)
    print(cpu_table)
    print(f"written to {path}")


def _round_order(names: list[str], round_number: int) -> list[str]:
    """The runs of one round. One and two workers at one connection run back to back, so
    that both follow the same run (after the 20-connection runs' thousands of writes, the
    next run was slower); which goes first changes every round."""
    if round_number % 2:
        first = names.index("service_serial")
        names[first:first + 2] = reversed(names[first:first + 2])
    return names


def _cpu_seconds(pids: list[int]) -> float:
    """User and system CPU these processes have used so far (Linux /proc; one that has
    exited counts nothing)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def _process_tree(pid: int) -> list[int]:
    """The process and its descendants (uvicorn's workers)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(parents.get(current, []))
    return tree


def _postgres_pids(dsn: str) -> list[int]:
    """Every backend and background process of the cluster (pg_stat_activity lists both)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return [row[0] for row in conn.execute("select pid from pg_stat_activity")]


def _median_run(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median p50, and the spread of p50 and req/s over the rounds."""
    ordered = sorted(samples, key=lambda r: r["median_ms"])
    chosen = dict(ordered[len(ordered) // 2])
    p50s = [r["median_ms"] for r in samples]
    rps = [r["rps"] for r in samples]
    chosen["median_spread"] = f"{min(p50s)}-{max(p50s)}"
    chosen["rps_spread"] = f"{min(rps)}-{max(rps)}"
    chosen["rounds"] = samples
    return chosen
