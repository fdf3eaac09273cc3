"""The AI service's added latency: POST /sessions/ai over a zero-delay offline provider at
50 concurrent connections, against a bare ASGI endpoint (same framework, same server) and
the provider alone, all in the same run, each server in its own process. The service runs
on both database transports: DATABASE_URL (a direct pool) and SUPABASE_URL + service role
key (supabase-py through PostgREST, here the local API in its own process).

The load comes from `wrk` (C, epoll): a Python client saturates long before these servers
do at 50 connections (httpx's async pool fell from 420 to 116 req/s here).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import throwaway_database, write_results
from python_functions import PROJECT_ROOT
from python_functions.auth import api_key, mint_token, user_claims
from python_functions.localdb import free_port
from python_functions.settings import DEV_JWT_SECRET

CONNECTIONS = 50
THREADS = 2
SECONDS = 10
USERS = 20_000  # one generation per user: more than the service can take in SECONDS

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


def _spawn(args: list[str], env: dict[str, str], health: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([sys.executable, *args], env=env, cwd=PROJECT_ROOT,
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


def main() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: `make bench` installs it as root (apt-get install wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="pf-bench-wrk-"))
    with throwaway_database() as dsn:
        users = [str(uuid.uuid4()) for _ in range(USERS)]
        with psycopg.connect(dsn, autocommit=True) as conn, \
                conn.cursor().copy("copy auth.users (id, email) from stdin") as copy:
            for user_id in users:
                copy.write_row((user_id, f"{user_id}@example.com"))
        tokens = workdir / "tokens.txt"
        tokens.write_text("\n".join(
            mint_token(user_claims(u, None, ttl_seconds=3600), DEV_JWT_SECRET) for u in users))
        ai_port, service_port, bare_port = free_port(), free_port(), free_port()
        api_port, rest_service_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("OPENROUTER_API_KEY", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY")}
        env |= {"DATABASE_URL": dsn, "PORT": str(service_port), "DB_POOL_SIZE": "20",
                "AI_BASE_URL": f"http://127.0.0.1:{ai_port}/v1", "API_PORT": str(api_port)}
        api_url = f"http://127.0.0.1:{api_port}"
        through_postgrest = {k: v for k, v in env.items() if k != "DATABASE_URL"} | {
            "SUPABASE_URL": api_url, "PORT": str(rest_service_port),
            "SUPABASE_SERVICE_ROLE_KEY": api_key("service_role", DEV_JWT_SECRET)}
        processes = [
            _spawn(["-m", "python_functions.local_ai", "--port", str(ai_port)], env,
                   f"http://127.0.0.1:{ai_port}/v1/models"),
            _spawn(["-m", "python_functions", "serve"], env,
                   f"http://127.0.0.1:{service_port}/health"),
            _spawn(["-m", "python_functions", "local-api"], env,
                   f"{api_url}/auth/v1/.well-known/jwks.json"),
            _spawn(["-m", "python_functions", "serve"], through_postgrest,
                   f"http://127.0.0.1:{rest_service_port}/health"),
            _spawn(["-m", "uvicorn", "bench.bare_app:app", "--port", str(bare_port),
                    "--log-level", "warning", "--no-access-log"], env,
                   f"http://127.0.0.1:{bare_port}/docs"),
        ]
        chat = json.dumps({
            "model": "local/rules",
            "messages": [{"role": "user", "content": '<context>{"maxPullups": 8}</context>'}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "pullup_session"}},
        })
        try:
            bare_url = f"http://127.0.0.1:{bare_port}"
            ai_url = f"http://127.0.0.1:{ai_port}"
            _wrk(bare_url, "/echo", "{}", None, 2, workdir)  # warm-ups
            _wrk(ai_url, "/v1/chat/completions", chat, None, 2, workdir)
            service_url = f"http://127.0.0.1:{service_port}"
            rest_service_url = f"http://127.0.0.1:{rest_service_port}"
            # each run its own users: one generation per user and day
            quarters = [_slice(tokens, i * USERS // 4, (i + 1) * USERS // 4, workdir)
                        for i in range(4)]
            body = '{"maxPullups": 8}'
            results: dict[str, Any] = {
                "bare": _wrk(bare_url, "/echo", "{}", None, SECONDS, workdir),
                "provider": _wrk(ai_url, "/v1/chat/completions", chat, None, SECONDS,
                                 workdir),
                "service": _wrk(service_url, "/sessions/ai", body, quarters[0], SECONDS,
                                workdir),
                "service_postgrest": _wrk(rest_service_url, "/sessions/ai", body,
                                          quarters[1], SECONDS, workdir),
            }
            # one connection: the serial cost of a request, without queueing
            results["service_serial"] = _wrk(service_url, "/sessions/ai", body, quarters[2], 5,
                                             workdir, connections=1)
            results["service_postgrest_serial"] = _wrk(
                rest_service_url, "/sessions/ai", body, quarters[3], 5, workdir, connections=1)
            results["bare_serial"] = _wrk(bare_url, "/echo", "{}", None, 5, workdir,
                                          connections=1)
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=10)
            shutil.rmtree(workdir, ignore_errors=True)
    added = {q: round(results["service"][q] - results["bare"][q], 2)
             for q in ("median_ms", "p99_ms")}
    results |= {"added_over_bare": added, "connections": CONNECTIONS, "seconds": SECONDS}
    rows = [("bare ASGI `POST /echo`", "bare"), ("offline provider alone", "provider"),
            ("`POST /sessions/ai` (201 each, new user each), DATABASE_URL", "service"),
            ("`POST /sessions/ai`, through PostgREST (supabase-py)", "service_postgrest"),
            ("bare, 1 connection", "bare_serial"),
            ("`POST /sessions/ai`, 1 connection, DATABASE_URL", "service_serial"),
            ("`POST /sessions/ai`, 1 connection, through PostgREST", "service_postgrest_serial")]
    table = "\n".join(
        ["| endpoint | p50 | p99 | req/s | non-2xx |", "|---|---:|---:|---:|---:|"]
        + [f"| {label} | {results[k]['median_ms']} ms | {results[k]['p99_ms']} ms"
           f" | {results[k]['rps']} | {results[k]['non_2xx']} |" for label, k in rows]
        + [f"| added by the service over bare | {added['median_ms']} ms"
           f" | {added['p99_ms']} ms | | |"])
    note = (f"wrk, {CONNECTIONS} connections, {THREADS} threads, {SECONDS} s per endpoint; each "
            "server in its own process on this 2-core machine, sharing it with Postgres "
            "(fsync on) and wrk. A /sessions/ai request: JWT check, begin_generation (quota "
            "reservation, context), one provider call over HTTP, finish_generation (session, "
            "generation, events, ai_calls row). Through PostgREST, begin and finish are HTTP "
            "calls to the local API (PostgREST's stand-in, Python), which runs them on its own "
            "pool.")
    path = write_results("service", results, f"{note}\n\n{table}")
    print(table)
    print(f"written to {path}")
