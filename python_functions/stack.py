"""`make run`: bring up the embedded stack and tell the developer how to call it."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from python_functions import PROJECT_ROOT, migrate
from python_functions.auth import mint_token, user_claims
from python_functions.localdb import ClusterError, LocalCluster
from python_functions.settings import Settings

DEMO_USERS = ("alice@example.com", "bob@example.com", "new@example.com")
STUDY_TEXT = PROJECT_ROOT / "examples" / "flashcards" / "study-text.txt"
RECIPE_TEXT = PROJECT_ROOT / "examples" / "recipes" / "placki.txt"
RECIPE_PHOTO = PROJECT_ROOT / "examples" / "recipes" / "placki.png"


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
    # the platform stand-in comes with a new cluster, from its bootstrap superuser
    applied = migrate.prepare_database(
        settings.db_url, seed=fresh, bootstrap_dsn=settings.bootstrap_db_url if fresh else None)
    if applied:
        print(f"applied migrations: {', '.join(applied)}", flush=True)
    if fresh:
        print("loaded supabase/seed.sql", flush=True)
    return cluster, started


def reset(settings: Settings) -> int:
    """`make reset`: drop the embedded database and build it again from the migrations and
    the seed, as `supabase db reset` does for `supabase start`'s."""
    if not settings.uses_embedded_db:
        print("error: DATABASE_URL is set; reset only re-creates the embedded database"
              " (for `supabase start` use `supabase db reset`)", flush=True)
        return 1
    cluster = local_cluster(settings)
    was_running = cluster.running()
    cluster.destroy()
    try:
        _, started = bring_up(settings)
    except (ClusterError, migrate.MigrationError, psycopg.OperationalError) as exc:
        print(f"error: {exc}", flush=True)
        return 1
    if started and not was_running:
        cluster.stop()
    print("the local database was re-created from supabase/migrations and supabase/seed.sql",
          flush=True)
    return 0


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


def start_services(settings: Settings) -> list[subprocess.Popen[bytes]]:
    """The offline AI provider (when no provider is configured) and the AI service."""
    env = os.environ | {"DATABASE_URL": settings.db_url}
    processes: list[subprocess.Popen[bytes]] = []
    checks: list[str] = []
    if settings.uses_local_ai:
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "python_functions.local_ai",
             "--port", str(settings.local_ai_port)], env=env))
        checks.append(f"http://127.0.0.1:{settings.local_ai_port}/v1/models")
    processes.append(subprocess.Popen([sys.executable, "-m", "python_functions", "serve"],
                                      env=env))
    checks.append(f"http://{settings.host}:{settings.port}/health")
    deadline = time.monotonic() + 60
    for url in checks:
        while True:
            if any(p.poll() is not None for p in processes):
                stop_services(processes)
                raise RuntimeError(f"a service exited while starting (is {url} free?)")
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                stop_services(processes)
                raise RuntimeError(f"{url} did not come up")
            time.sleep(0.1)
    return processes


def stop_services(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def write_request(settings: Settings, name: str, body: dict[str, Any]) -> Path:
    """A request body the printed curls send with `-d @file` (too long to print)."""
    path = settings.local_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(body, ensure_ascii=False))
    return path


def example_requests(settings: Settings) -> dict[str, Path]:
    """The bodies of the printed AI calls, from the samples in examples/."""
    draft = {"output_format": "pycha_recipe_draft_v1", "language": "pl"}
    photo = base64.b64encode(RECIPE_PHOTO.read_bytes()).decode()
    return {
        "flashcards": write_request(settings, "flashcards-request.json", {
            "input_text": STUDY_TEXT.read_text().strip(), "model": settings.default_model}),
        "recipe_text": write_request(settings, "recipe-text-request.json", draft | {
            "source": "text", "text": RECIPE_TEXT.read_text()}),
        "recipe_photo": write_request(settings, "recipe-photo-request.json", draft | {
            "source": "image", "image": {"mime_type": "image/png", "data_base64": photo}}),
    }


def print_instructions(settings: Settings) -> None:
    tokens = demo_tokens(settings)
    service = f"http://{settings.host}:{settings.port}"
    provider = ("the offline local provider (rule-based models)" if settings.uses_local_ai
                else f"{settings.provider_name} at {settings.provider_base_url}")
    lines = [
        "",
        "The stack is up.",
        f"  DATABASE_URL={settings.db_url}",
        f"  AI service:  {service}  (OpenAPI: {service}/openapi.json), AI by {provider}",
        "",
        "Demo users (password on Supabase Auth: demo-password) and dev JWTs",
        "(valid 7 days, signed with SUPABASE_JWT_SECRET):",
    ]
    for email, uid, token in tokens:
        lines += [f"  {email}  id={uid}", f"    {token}"]
    if tokens:
        alice = tokens[0][2]
        requests = example_requests(settings)

        def post(path: str, body: Path) -> list[str]:
            return [f"  curl -s -X POST {service}{path} -H 'Content-Type: application/json' \\",
                    f"    -H 'Authorization: Bearer {alice}' -d @{body}"]

        lines += [
            "",
            "Ask the AI for alice's next pull-up session:",
            f"  curl -s -X POST {service}/sessions/ai -H 'Content-Type: application/json' \\",
            f"    -H 'Authorization: Bearer {alice}' -d '{{\"startNow\": false}}'",
            "",
            f"Flashcard candidates from {STUDY_TEXT.relative_to(PROJECT_ROOT)}:",
            *post("/ai-sessions", requests["flashcards"]),
            "then review them into alice's deck (ids from that answer):",
            "  .venv/bin/python -m python_functions rpc flashcards.review_candidates"
            " --as alice@example.com \\",
            "    session_id=<id> actions:='[{\"candidate_id\": \"<candidate id>\","
            " \"action\": \"accept\"}]'",
            "",
            f"A recipe draft from {RECIPE_TEXT.relative_to(PROJECT_ROOT)}, then from the photo"
            f" {RECIPE_PHOTO.relative_to(PROJECT_ROOT)} (OCR):",
            *post("/ai/recipes/draft", requests["recipe_text"]),
            *post("/ai/recipes/draft", requests["recipe_photo"]),
            "",
            "Call an RPC the way PostgREST would (status, headers, JSON body):",
            "  .venv/bin/python -m python_functions rpc pullups.list_sessions"
            " --as alice@example.com page_size:=3",
        ]
    lines += ["", "Ctrl-C stops the stack; `make stop` stops a cluster left running.", ""]
    print("\n".join(lines), flush=True)


def run(settings: Settings) -> int:
    try:
        cluster, started = bring_up(settings)
    except (ClusterError, migrate.MigrationError, psycopg.OperationalError) as exc:
        print(f"error: {exc}", flush=True)
        return 1
    try:
        processes = start_services(settings)
    except RuntimeError as exc:
        print(f"error: {exc}", flush=True)
        if cluster is not None and started:
            cluster.stop()
        return 1
    print_instructions(settings)
    stop = threading.Event()

    def _handle(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)
    print("ready", flush=True)
    status = 0
    while not stop.is_set():
        if cluster is not None and not cluster.running():
            print("the local cluster stopped unexpectedly; see its log:", cluster.log_file)
            status = 1
            break
        if any(p.poll() is not None for p in processes):
            print("a service stopped unexpectedly", flush=True)
            status = 1
            break
        stop.wait(1.0)
    stop_services(processes)
    if cluster is not None and started:
        print("stopping the local cluster", flush=True)
        cluster.stop()
    return status
