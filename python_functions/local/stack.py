"""`make run`: bring up the embedded stack and tell the developer how to call it."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg

from python_functions import PROJECT_ROOT
from python_functions.local import NODE, interrupts, migrations
from python_functions.local import config as project_config
from python_functions.local.api.jwt_keys import ProjectKeys, third_party_jwks
from python_functions.local.cluster import ClusterError, LocalCluster
from python_functions.local.lifeline import Lifeline
from python_functions.service.auth import user_claims
from python_functions.service.settings import Settings

DEMO_USERS = ("alice@example.com", "bob@example.com", "new@example.com")
STUDY_TEXT = PROJECT_ROOT / "examples" / "flashcards" / "study-text.txt"
RECIPE_TEXT = PROJECT_ROOT / "examples" / "recipes" / "placki.txt"
RECIPE_PHOTO = PROJECT_ROOT / "examples" / "recipes" / "placki.png"
SUPABASE_JS_EXAMPLE = PROJECT_ROOT / "examples" / "supabase-js"


def local_cluster(settings: Settings) -> LocalCluster:
    return LocalCluster(settings.local_dir / "postgres", settings.db_port)


def bring_up(settings: Settings, starting: Callable[[], None] = lambda: None
             ) -> tuple[LocalCluster | None, bool]:
    """Start (or reuse) the database and apply what is pending; returns (cluster, started).
    `starting` is called just before it starts the cluster. A cluster it started is
    stopped again if a later step fails or is interrupted (a migration's error, Ctrl-C),
    so that nobody is left owning a running server."""
    cluster: LocalCluster | None = None
    started = False
    try:
        if settings.uses_embedded_db:
            cluster = local_cluster(settings)
            if not cluster.initialized():
                say(f"creating a local PostgreSQL cluster in {cluster.root}")
                cluster.init()
            if not cluster.running():
                started = True  # before `start`: Ctrl-C may come while pg_ctl waits
                starting()
                _start(cluster, settings)
            else:
                say("reusing the running local cluster")
        # the platform stand-in comes from the cluster's bootstrap superuser (with a new
        # cluster, or when an older cluster lacks what the stand-in now creates)
        applied = migrations.prepare_database(
            settings.db_url, seed=False, bootstrap_dsn=settings.bootstrap_db_url)
        if applied:
            say(f"applied migrations: {', '.join(applied)}")
        # the embedded database is seeded once (as `supabase start` seeds a new one): each
        # file of `[db.seed]` until it is recorded, so also after a first run that stopped
        # before the seed (its port taken, a Ctrl-C while migrating)
        if cluster is not None:
            for warning in seed_warnings():
                say(warning)
            if loaded := migrations.seed_once(settings.db_url):
                say(f"loaded {', '.join(loaded)}")
    except BaseException:
        if cluster is not None and started:
            cluster.stop()
        raise
    return cluster, started


def config_usable() -> bool:
    """Whether supabase/config.toml holds nothing the local stack cannot use (what the CLI
    would refuse to read); if it does, says which value."""
    try:
        project_config.check()
        issuer = project_config.auth_config().third_party_issuer
        if issuer:  # fetched as `supabase start` fetches them, which fails without them
            third_party_jwks(issuer)
    except project_config.ConfigError as exc:
        say(f"error: {exc}")
        return False
    return True


def with_project_secret(settings: Settings, path: Path | None = None) -> Settings:
    """`settings` with supabase/config.toml's (or `path`'s) `[auth] jwt_secret`, when it is
    set, as `supabase start` hands it to Auth and PostgREST: then also the AI service's and
    the CLI's (stack.env), so that they all take the same tokens."""
    secret = project_config.auth_config(path).jwt_secret
    return settings.model_copy(update={"supabase_jwt_secret": secret}) if secret else settings


def seed_warnings(project: Path = PROJECT_ROOT) -> list[str]:
    """A line for each `[db.seed]` pattern that matches no file, as the CLI warns of one."""
    return [f"warning: no seed file matches {pattern!r} ([db.seed] sql_paths of"
            " supabase/config.toml)" for pattern in project_config.seed_files(project)[1]]


def _start(cluster: LocalCluster, settings: Settings) -> None:
    """Start the cluster; when it does not, the server's last words and the way out."""
    try:
        cluster.start()
    except ClusterError as exc:
        if "Address already in use" in str(exc):
            way_out = (f"port {settings.db_port} is taken: stop what holds it, or run with"
                       " another free DB_PORT")
        else:  # a damaged data directory: a setting, a file, its owner
            way_out = (f"if the database in {cluster.data_dir} is damaged, `make reset`"
                       " re-creates it from supabase/migrations and the seed"
                       " (what it holds is lost)")
        raise ClusterError(f"{exc}\n{way_out}") from None


def stack_env(settings: Settings) -> Path:
    return settings.local_dir / "stack.env"


def write_stack_env(settings: Settings) -> None:
    """What a new shell's CLI needs to reach this running stack (`make run` may be on other
    ports than the defaults): written at start, removed at stop."""
    path = stack_env(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{key}={value}\n" for key, value in (
        ("DATABASE_URL", settings.db_url), ("HOST", settings.host), ("PORT", settings.port),
        ("API_PORT", settings.api_port),
        ("SUPABASE_JWT_SECRET", settings.supabase_jwt_secret))))


def cli_settings() -> Settings:
    """Settings for the `rpc` and `token` commands: the environment first, then the running
    `make run` stack's (`.local/stack.env`), then `.env` and the defaults."""
    return Settings(_env_file=(PROJECT_ROOT / ".env", stack_env(Settings())))


def _run_pid_file(settings: Settings) -> Path:
    return settings.local_dir / "run.pid"


# A run's pid file holds its pid, then OWNER_MARK once the cluster is the run's to stop.
OWNER_MARK = "owns the cluster"


def _running_run(settings: Settings) -> int | None:
    """The pid of the `make run` that is up for this LOCAL_DIR, from its pid file; none for
    a stale file (its process gone, or its pid since taken by another program)."""
    try:
        pid = int(_run_pid_file(settings).read_text().split("\n")[0])
        os.kill(pid, 0)
        cmdline = Path(f"/proc/{pid}/cmdline")  # Linux; elsewhere a live pid is the run
        if cmdline.exists() and b"python_functions" not in cmdline.read_bytes():
            return None
    except (OSError, ValueError):
        return None
    return pid


def stop(settings: Settings) -> int:
    """`make stop`: a `make run` that is up is asked to stop (as Ctrl-C would: services,
    then the cluster); a cluster left running without one is stopped directly."""
    pid_file = _run_pid_file(settings)
    cluster = local_cluster(settings)
    pid = _running_run(settings)
    if pid is not None:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pid = None  # a stale file: that run is gone
    if pid is not None:
        deadline = time.monotonic() + 60
        while pid_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        say(f"stopped `make run` (pid {pid})")
        return 0
    if cluster.running():
        cluster.stop()
        say(f"stopped the local cluster in {cluster.root}")
    else:
        say("no local cluster is running")
    return 0


def reset(settings: Settings) -> int:
    """`make reset`: drop the embedded database and build it again from the migrations and
    the seed, as `supabase db reset` does for `supabase start`'s."""
    if not settings.uses_embedded_db:
        say("error: DATABASE_URL is set; reset only re-creates the embedded database"
            " (for `supabase start` use `supabase db reset`)")
        return 1
    if not config_usable():  # before the database is dropped
        return 1
    cluster = local_cluster(settings)
    was_running = cluster.running()
    cluster.destroy()
    try:
        _, started = bring_up(settings)
    except (ClusterError, migrations.MigrationError, psycopg.OperationalError) as exc:
        say(f"error: {exc}")
        return 1
    if started and not was_running:
        cluster.stop()
    say("the local database was re-created from supabase/migrations and the seed"
        " ([db.seed] of supabase/config.toml)")
    return 0


def demo_tokens(settings: Settings, keys: ProjectKeys | None = None
                ) -> list[tuple[str, str, str]]:
    """The demo users' emails, ids and dev access tokens (a week long, signed as the local
    Auth signs sessions: with `keys`, else the project's)."""
    with psycopg.connect(settings.db_url) as conn:
        rows = conn.execute(
            "select id::text, email from auth.users where email = any(%s) order by email",
            (list(DEMO_USERS),),
        ).fetchall()
    keys = keys or ProjectKeys.of_project(settings.supabase_jwt_secret)
    return [(email, uid, keys.sign(user_claims(uid, email, ttl_seconds=7 * 24 * 3600)))
            for uid, email in rows]


@dataclass
class Child:
    """A service `make run` keeps running: started again with a growing delay if it exits."""

    name: str
    command: list[str]
    env: dict[str, str]
    ready_url: str
    log: Path  # its output goes here, not between the banner's lines
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    restart_at: float | None = None
    started_at: float = 0.0

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            self.process = interrupts.popen(self.command, env=self.env, stdout=output,
                                            stderr=subprocess.STDOUT, pass_fds=self.pass_fds)
        self.started_at = time.monotonic()
        self.restart_at = None

    def exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()


def start_services(settings: Settings, lifeline: Lifeline) -> list[Child]:
    """The offline AI provider (when no provider is configured), the AI service and the
    local API, each holding the run's `lifeline`."""
    env = dict(os.environ) | {"DATABASE_URL": settings.db_url,
                              "SUPABASE_JWT_SECRET": settings.supabase_jwt_secret} | lifeline.env()
    fds = (lifeline.read_fd,)
    children: list[Child] = []
    logs = settings.local_dir / "logs"
    if settings.uses_local_ai:
        children.append(Child("the offline AI provider",
                              [sys.executable, "-m", "python_functions.local.provider",
                               "--port", str(settings.local_ai_port)], env,
                              f"http://127.0.0.1:{settings.local_ai_port}/v1/models",
                              logs / "local-ai.log", fds))
    # the service takes the local Auth's sessions by its JWKS (SUPABASE_URL's), as on Supabase
    service_env = env | {"SUPABASE_URL": settings.api_url}
    children.append(Child("the AI service", [sys.executable, "-m", "python_functions", "serve"],
                          service_env, f"http://{settings.host}:{settings.port}/health",
                          logs / "service.log", fds))
    project = project_config.read()
    if project_config.mail_catcher_enabled(project):  # where Auth's mail goes, as Mailpit
        mail_port, smtp_port = project_config.mail_catcher_ports(
            project, settings.mail_port, settings.mail_smtp_port)
        children.append(Child("the mail catcher",
                              [sys.executable, "-m", "python_functions.local.mailpit",
                               "--port", str(mail_port), "--smtp-port", str(smtp_port)], env,
                              f"http://127.0.0.1:{mail_port}/readyz", logs / "mail.log", fds))
    children.append(Child("the local API", [sys.executable, "-m", "python_functions",
                                            "local-api"], env,
                          f"{settings.api_url}/auth/v1/.well-known/jwks.json",
                          logs / "local-api.log", fds))
    try:
        for child in children:
            child.start()
        _wait_until_ready(children)
    except BaseException:  # also Ctrl-C while starting: nothing is left running
        stop_services(children)
        raise
    return children


def _wait_until_ready(children: list[Child]) -> None:
    deadline = time.monotonic() + 60
    for child in children:
        while True:
            if any(c.exited() for c in children):
                raise RuntimeError(f"{child.name} exited while starting"
                                   f" (is {child.ready_url} free?)")
            try:
                if httpx.get(child.ready_url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{child.ready_url} did not come up")
            time.sleep(0.1)


def stop_services(children: list[Child]) -> None:
    for child in children:
        child.stop()
    for child in children:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.process.kill()


MAX_RESTART_DELAY_S = 30.0
STEADY_AFTER_S = 30.0  # a child up this long starts again from the shortest delay


def say(*parts: object) -> None:
    """Print a status line; a reader that went away (`make run | head`) must never stop the
    supervision or the clean-up."""
    try:
        print(*parts, flush=True)
    except (BrokenPipeError, OSError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - for the rest of the process


def supervise(children: list[Child], cluster: LocalCluster | None, stop: threading.Event
              ) -> None:
    """Until `stop`: start again whatever exited (a service, the local cluster), each after
    a delay that doubles with every failure in a row (1 s up to 30 s). The delay also lets
    whoever stopped the cluster see it stopped: `pg_ctl stop` waits for the server's pid
    file to go, and a cluster started again at once would put a new one in its place."""
    cluster_failures = 0
    cluster_retry_at: float | None = None  # set while the cluster is down
    while not stop.is_set():
        now = time.monotonic()
        for child in children:
            if not child.exited():
                if now - child.started_at > STEADY_AFTER_S:
                    child.restarts = 0
                continue
            if child.restart_at is None:
                delay = min(MAX_RESTART_DELAY_S, 2.0 ** child.restarts)
                child.restart_at = now + delay
                code = child.process.returncode if child.process else None
                say(f"{child.name} exited ({code}); starting it again in {delay:.0f} s")
            elif now >= child.restart_at:
                child.restarts += 1
                child.start()
                say(f"{child.name} started again")
        if cluster is not None and cluster_retry_at is None and not cluster.running():
            delay = min(MAX_RESTART_DELAY_S, 2.0 ** cluster_failures)
            cluster_retry_at = now + delay
            say(f"the local cluster is not running; starting it again in {delay:.0f} s")
        elif cluster is not None and cluster_retry_at is not None and now >= cluster_retry_at:
            try:
                if not cluster.running():
                    cluster.start()
                cluster_failures = 0
                cluster_retry_at = None
                say("the local cluster is running again")
            except ClusterError as exc:
                cluster_failures += 1
                delay = min(MAX_RESTART_DELAY_S, 2.0 ** cluster_failures)
                cluster_retry_at = now + delay
                say(f"it did not start ({exc}); trying again in {delay:.0f} s")
        stop.wait(0.5)


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


def supabase_js_snippet(settings: Settings, publishable_key: str) -> list[str]:
    """Three lines a newcomer pastes into node: sign in as alice, then an RPC (the same
    calls examples/supabase-js/ makes and tests)."""
    return [
        "import { createClient } from '@supabase/supabase-js'",
        f"const supabase = createClient('{settings.api_url}', '{publishable_key}')",
        "await supabase.auth.signInWithPassword({ email: 'alice@example.com', password:"
        " 'demo-password' }); console.log(await supabase.schema('pullups')"
        ".rpc('list_sessions', { page_size: 3 }))",
    ]


def mail_line(settings: Settings) -> list[str]:
    """Where Auth's mail can be read, as `supabase start` prints its Mailpit."""
    project = project_config.read()
    if not project_config.mail_catcher_enabled(project):
        return []
    port = project_config.mail_catcher_ports(project, settings.mail_port, None)[0]
    return [f"  Mail:        http://127.0.0.1:{port}  (what Auth sent: sign-in links, codes;"
            f" Mailpit's API at /api/v1/messages)"]


def print_instructions(settings: Settings) -> None:
    keys = ProjectKeys.of_project(settings.supabase_jwt_secret)
    tokens = demo_tokens(settings, keys)
    anon_key, service_role_key = keys.api_key("anon"), keys.api_key("service_role")
    service = f"http://{settings.host}:{settings.port}"
    provider = ("the offline local provider (rule-based models)" if settings.uses_local_ai
                else f"{settings.provider_name} at {settings.provider_base_url}")
    lines = [
        "",
        "The stack is up.",
        f"  API URL:     {settings.api_url}  (/rest/v1: tables and rpc, /auth/v1, /functions/v1)",
        f"  API docs:    {settings.api_url}/rest/v1/  (OpenAPI of the schema named in"
        " Accept-Profile, as the caller's role sees it)",
        f"  publishable key: {keys.publishable_key}  (for apps; as `supabase start`'s)",
        f"  secret key:      {keys.secret_key}  (for servers: bypasses RLS)",
        f"  legacy keys, the same roles as JWTs: anon {anon_key}",
        f"    service_role {service_role_key}",
        f"  DATABASE_URL={settings.db_url}",
        f"  AI service:  {service}  (OpenAPI: {service}/openapi.json), AI by {provider}",
        *mail_line(settings),
        "",
        f"From supabase-js: in {SUPABASE_JS_EXAMPLE.relative_to(PROJECT_ROOT)}/, run"
        f" `{os.path.relpath(NODE, SUPABASE_JS_EXAMPLE)} --input-type=module` (the Node 22"
        " supabase-js needs, installed by make; any Node 22+ does), paste, then Ctrl-D:",
        *(f"  {line}" for line in supabase_js_snippet(settings, keys.publishable_key)),
        "",
        "Demo users (password: demo-password) and dev JWTs",
        "(valid 7 days, signed as the local Auth signs sessions; its keys:"
        f" {settings.api_url}/auth/v1/.well-known/jwks.json):",
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
    tokens_file = settings.local_dir / "tokens.txt"
    tokens_file.write_text(f"SUPABASE_URL={settings.api_url}\n"
                           f"SUPABASE_PUBLISHABLE_KEY={keys.publishable_key}\n"
                           f"SUPABASE_SECRET_KEY={keys.secret_key}\n"
                           f"SUPABASE_ANON_KEY={anon_key}\n"
                           f"SUPABASE_SERVICE_ROLE_KEY={service_role_key}\n"
                           + "".join(f"{email} {token}\n" for email, _, token in tokens))
    lines += ["", f"The keys and dev JWTs are also in {tokens_file}; the services log (one JSON"
              f" line per request) to {settings.local_dir / 'logs'}/.",
              "Ctrl-C or `make stop` stops the stack.", ""]
    say("\n".join(lines))


def run(settings: Settings) -> int:
    """`make run`: up until Ctrl-C, SIGTERM or `make stop`. Whenever one comes, also while
    starting, what this run started is stopped: its services, and the cluster if the run
    found it stopped (or left running by a run that was killed)."""
    stop = threading.Event()
    starting = True

    def _handle(signum: int, _frame: Any) -> None:
        nonlocal starting
        stop.set()
        if starting:  # out of the step under way (pg_ctl, a migration, ...) into clean-up,
            starting = False  # once: a second signal must not cut the clean-up short
            interrupts.interrupt()

    already = _running_run(settings)
    if already is not None:  # its ports, pid file and cluster are not this run's to take
        say(f"error: `make run` is already running here (pid {already}); `make stop` stops it")
        return 1
    if not config_usable():  # before anything starts
        return 1
    settings = with_project_secret(settings)
    signal.signal(signal.SIGINT, _handle)
    signal.signal(signal.SIGTERM, _handle)
    pid_file = _run_pid_file(settings)
    # a pid file with no run behind it: the last run was killed, and the cluster it had
    # started (not one it found running, someone's from pg_ctl) is nobody's now
    orphaned = False
    with contextlib.suppress(OSError):
        orphaned = OWNER_MARK in pid_file.read_text().split("\n")[1:]

    def mark(owner: bool) -> None:  # the pid for `make stop` (also while starting); whether
        # the cluster is this run's, for the next run should this one be killed. Replaced
        # whole, so that `make stop` never reads it half-written.
        written = pid_file.with_suffix(".new")
        written.write_text(f"{os.getpid()}\n" + (f"{OWNER_MARK}\n" if owner else ""))
        written.replace(pid_file)

    pid_file.parent.mkdir(parents=True, exist_ok=True)
    mark(False)
    cluster: LocalCluster | None = None  # set once bring_up is done: until then it stops
    owned = False                        # the cluster: this run stops it at the end
    children: list[Child] = []
    lifeline = Lifeline()  # the services end with this process, even when it is killed
    code = 0
    try:
        cluster, owned = bring_up(settings, starting=lambda: mark(True))
        if cluster is not None and not owned and orphaned:
            say("(a run that was killed left it running: this one stops it at the end)")
            owned = True
            mark(True)
        children = start_services(settings, lifeline)
        write_stack_env(settings)
        print_instructions(settings)
        say("ready")
        starting = False  # from here a signal only ends the supervision
        # stop only on Ctrl-C / SIGTERM: a crashed child or a stopped cluster is restarted
        supervise(children, cluster if owned else None, stop)
    except KeyboardInterrupt:
        say("stopped while starting")
        code = 130
    except (RuntimeError, psycopg.OperationalError) as exc:  # ClusterError, MigrationError
        say(f"error: {exc}")
        code = 1
    finally:
        starting = False
        stop_services(children)
        lifeline.close()
        if cluster is not None and owned:
            say("stopping the local cluster")
            cluster.stop()
        pid_file.unlink(missing_ok=True)
        stack_env(settings).unlink(missing_ok=True)
    return code
