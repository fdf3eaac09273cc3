"""`make run`: bring up the embedded stack and tell the developer how to call it."""

from __future__ import annotations

import signal
import threading
from typing import Any

import psycopg

from python_functions import migrate
from python_functions.auth import mint_token, user_claims
from python_functions.localdb import LocalCluster
from python_functions.settings import Settings

DEMO_USERS = ("alice@example.com", "bob@example.com", "new@example.com")


def local_cluster(settings: Settings) -> LocalCluster:
    return LocalCluster(settings.local_dir / "postgres", settings.db_port)


def bring_up(settings: Settings) -> tuple[LocalCluster | None, bool]:
    """Start (or reuse) the database and apply what is pending; returns (cluster, started)."""
    cluster: LocalCluster | None = None
    started = False
    fresh = False
    if settings.uses_embedded_db:
        cluster = local_cluster(settings)
        if not cluster.initialized():
            print(f"creating a local PostgreSQL cluster in {cluster.root}", flush=True)
            cluster.init()
            fresh = True
        if not cluster.running():
            cluster.start()
            started = True
        else:
            print("reusing the running local cluster", flush=True)
    applied = migrate.prepare_database(settings.db_url, seed=fresh)
    if applied:
        print(f"applied migrations: {', '.join(applied)}", flush=True)
    if fresh:
        print("loaded supabase/seed.sql", flush=True)
    return cluster, started


def demo_tokens(settings: Settings) -> list[tuple[str, str, str]]:
    with psycopg.connect(settings.db_url) as conn:
        rows = conn.execute(
            "select id::text, email from auth.users where email = any(%s) order by email",
            (list(DEMO_USERS),),
        ).fetchall()
    return [
        (email, uid, mint_token(user_claims(uid, email, ttl_seconds=7 * 24 * 3600),
                                settings.supabase_jwt_secret))
        for uid, email in rows
    ]


def print_instructions(settings: Settings) -> None:
    tokens = demo_tokens(settings)
    lines = [
        "",
        "The stack is up.",
        f"  DATABASE_URL={settings.db_url}",
        f"  psql {settings.db_url}",
        "",
        "Demo users and dev JWTs (valid 7 days, signed with SUPABASE_JWT_SECRET):",
    ]
    for email, uid, token in tokens:
        lines += [f"  {email}  id={uid}", f"    {token}"]
    if tokens:
        lines += [
            "",
            "Call an RPC the way PostgREST would (status, headers, JSON body):",
            "  .venv/bin/python -m python_functions rpc pullups.list_sessions"
            f" --token {tokens[0][2]}",
            "  .venv/bin/python -m python_functions rpc pullups.ai_quota --as alice@example.com",
        ]
    lines += ["", "Ctrl-C stops the stack; `make stop` stops a cluster left running.", ""]
    print("\n".join(lines), flush=True)


def run(settings: Settings) -> int:
    cluster, started = bring_up(settings)
    print_instructions(settings)
    stop = threading.Event()

    def _handle(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)
    print("ready", flush=True)
    while not stop.is_set():
        if cluster is not None and not cluster.running():
            print("the local cluster stopped unexpectedly; see its log:", cluster.log_file)
            return 1
        stop.wait(1.0)
    if cluster is not None and started:
        print("stopping the local cluster", flush=True)
        cluster.stop()
    return 0
