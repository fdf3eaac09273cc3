"""`make run` brings the stack up, prints a token that works with the CLI caller, and stops."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import psycopg
import pytest

from python_functions import PROJECT_ROOT
from python_functions.local import NODE, interrupts, stack
from python_functions.local.api.jwt_keys import ProjectKeys
from python_functions.local.cluster import ClusterError, LocalCluster, free_port
from python_functions.service.settings import Settings


class Output:
    """The lines a process prints, read in the background so that waiting can time out."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        assert process.stdout is not None
        stream = process.stdout

        def read() -> None:
            for line in stream:
                self.lines.put(line)

        threading.Thread(target=read, daemon=True).start()

    def wait_for(self, needle: str, timeout: float, exact: bool = False) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if (line.strip() == needle) if exact else (needle in line):
                return "".join(self.seen)
        raise AssertionError(f"no line {needle!r} in:\n" + "".join(self.seen))


def _local_dir(prefix: str) -> Path:
    """A LOCAL_DIR of the test's own under /tmp, which the server user can enter."""
    local_dir = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    local_dir.chmod(0o755)
    return local_dir


def _stack_env(local_dir: Path, db_port: int, service_port: int | None = None,
               ai_port: int | None = None) -> dict[str, str]:
    """The environment of a `make run` of the test's own: its directory and ports, the
    embedded cluster (no DATABASE_URL) and the offline provider, always."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "OPENROUTER_API_KEY", "AI_BASE_URL")}
    return env | {"LOCAL_DIR": str(local_dir), "DB_PORT": str(db_port),
                  "PORT": str(service_port or free_port()),
                  "LOCAL_AI_PORT": str(ai_port or free_port()), "API_PORT": str(free_port()),
                  "MAIL_PORT": str(free_port()), "MAIL_SMTP_PORT": str(free_port())}


def _start_run(env: dict[str, str]) -> subprocess.Popen[str]:
    """`make run`'s own process, in a process group of its own (as a terminal's job is)."""
    return subprocess.Popen(
        [sys.executable, "-m", "python_functions", "run"], cwd=PROJECT_ROOT, env=env,
        text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def _command(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "python_functions", *args], cwd=PROJECT_ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


def _clean_up(process: subprocess.Popen[str], cluster: LocalCluster, local_dir: Path) -> None:
    """Whatever a test's run left: its process group (services too), cluster and files."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    cluster.stop()
    shutil.rmtree(local_dir, ignore_errors=True)


def test_make_run_serves_the_demo_users_and_stops_on_ctrl_c() -> None:
    local_dir = _local_dir("pf-run-")
    port = free_port()
    service_port, ai_port = free_port(), free_port()
    env = _stack_env(local_dir, port, service_port, ai_port)
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"], cwd=PROJECT_ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        printed = Output(process)
        output = printed.wait_for("ready", timeout=180, exact=True)
        assert f"127.0.0.1:{port}" in output
        assert "\nloaded supabase/seed.sql\n" in output  # [db.seed] of supabase/config.toml
        assert "warning:" not in output
        token = re.search(r"alice@example\.com .*\n\s+(\S+)", output)
        assert token, output
        # signed as the local Auth signs sessions: by the key its JWKS publishes
        assert jwt.get_unverified_header(token.group(1))["alg"] == "ES256"
        published = httpx.get(f"http://127.0.0.1:{env['API_PORT']}/auth/v1/.well-known/jwks.json")
        assert jwt.get_unverified_header(token.group(1))["kid"] in [
            key["kid"] for key in published.json()["keys"]]
        # Auth's mail reaches the mail catcher whose address the banner prints
        mail = re.search(r"Mail: +(http://\S+)", output)
        assert mail and mail.group(1) == f"http://127.0.0.1:{env['MAIL_PORT']}", output
        asked = httpx.post(f"http://127.0.0.1:{env['API_PORT']}/auth/v1/otp",
                           json={"email": "alice@example.com"}, headers={
                               "apikey": ProjectKeys.of_project(
                                   Settings().supabase_jwt_secret).publishable_key})
        assert asked.status_code == 200, asked.text
        found = httpx.get(f"{mail.group(1)}/api/v1/search",
                          params={"query": "to:alice@example.com"}).json()
        assert found["messages_count"] == 1, found
        # a dev token names no session Auth keeps: its /user refuses it, as GoTrue would
        user = httpx.get(f"http://127.0.0.1:{env['API_PORT']}/auth/v1/user", headers={
            "Authorization": f"Bearer {token.group(1)}",
            "X-Supabase-Api-Version": "2024-01-01"})
        assert (user.status_code, user.json()["code"]) == (403, "session_not_found")
        result = subprocess.run(
            [sys.executable, "-m", "python_functions", "rpc", "pullups.list_sessions",
             "--token", token.group(1), "page_size:=3"],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        head, _, body = result.stdout.partition("\n\n")
        assert head.startswith("HTTP/1.1 200 OK")
        listed = json.loads(body)
        assert len(listed["data"]["sessions"]) == 3
        assert listed["meta"]["pagination"]["total"] == 7  # alice's seeded history

        forged = subprocess.run(
            [sys.executable, "-m", "python_functions", "rpc", "pullups.list_sessions",
             "--token", token.group(1)[:-4] + "AAAA"],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60,
        )
        assert forged.returncode == 1
        assert forged.stdout.startswith("HTTP/1.1 401")

        # the printed curl: alice (seeded history, no active session) gets an AI session
        curl = re.search(r"(curl -s -X POST .*?)\n\s*(-H 'Authorization.*)\n", output)
        assert curl, output
        command = (curl.group(1).rstrip(" \\") + " " + curl.group(2)
                   + " -o /dev/stderr -w '%{http_code}'")
        created = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                                 timeout=60)
        assert created.stdout == "201", created.stdout + created.stderr
        session = json.loads(created.stderr)["data"]["session"]
        assert session["isAiGenerated"] and len(session["sets"]) == 5

        # the printed flashcards curl, then the printed review command with its ids
        cards = re.search(r"(curl -s -X POST \S+/ai-sessions .*?)\n\s*(-H 'Authorization.*)\n",
                          output)
        assert cards, output
        command = (cards.group(1).rstrip(" \\") + " " + cards.group(2)
                   + " -o /dev/stderr -w '%{http_code}'")
        generated = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                                   timeout=60, cwd=PROJECT_ROOT)
        assert generated.stdout == "201", generated.stdout + generated.stderr
        candidates = json.loads(generated.stderr)
        assert len(candidates["candidates"]) >= 5
        review = re.search(r"(\.venv/bin/python -m python_functions rpc"
                           r" flashcards\.review_candidates.*?)\n\s*(session_id=.*)\n", output)
        assert review, output
        command = (review.group(1).rstrip(" \\") + " " + review.group(2)).replace(
            "<id>", candidates["id"]).replace("<candidate id>", candidates["candidates"][0]["id"])
        reviewed = subprocess.run(["bash", "-c", command], cwd=PROJECT_ROOT, env=env,
                                  capture_output=True, text=True, timeout=60)
        assert reviewed.returncode == 0, reviewed.stdout + reviewed.stderr
        assert json.loads(reviewed.stdout.partition("\n\n")[2])["meta"]["accepted"] == 1

        # the two printed recipe curls: text, then the shipped photo through Tesseract
        drafts = re.findall(r"(curl -s -X POST \S+/ai/recipes/draft .*?)\n\s*(-H 'Auth.*)\n",
                            output)
        assert len(drafts) == 2, output
        for first, second in drafts:
            command = first.rstrip(" \\") + " " + second + " -o /dev/stderr -w '%{http_code}'"
            drafted = subprocess.run(["bash", "-c", command], capture_output=True, text=True,
                                     timeout=60, cwd=PROJECT_ROOT)
            assert drafted.stdout == "200", drafted.stdout + drafted.stderr
            assert json.loads(drafted.stderr)["draft"]["name"] == "Placki ziemniaczane"

        # the printed supabase-js snippet, pasted as it is into the printed command (run where
        # the banner says): alice's sessions
        snippet = re.search(r"From supabase-js: in (\S+), run `([^`]+)`.*?\n((?:  .*\n){3})",
                            output)
        assert snippet, output
        where, command, lines = snippet.groups()
        assert Path(PROJECT_ROOT / where, shlex.split(command)[0]).resolve() == NODE.resolve()
        pasted = subprocess.run(
            shlex.split(command),
            input=textwrap.dedent(lines), cwd=PROJECT_ROOT / where, capture_output=True, text=True,
            timeout=60)
        assert pasted.returncode == 0, pasted.stdout + pasted.stderr
        assert "error: null" in pasted.stdout and "status: 200" in pasted.stdout, pasted.stdout
        assert "sessions: [" in pasted.stdout, pasted.stdout

        # a new shell, without DB_PORT/PORT: the CLI finds the running stack by itself
        new_shell = {k: v for k, v in env.items() if k not in ("DB_PORT", "PORT")}
        found = subprocess.run(
            [sys.executable, "-m", "python_functions", "rpc", "pullups.ai_quota",
             "--as", "alice@example.com"],
            cwd=PROJECT_ROOT, env=new_shell, capture_output=True, text=True, timeout=60)
        assert found.returncode == 0, found.stdout + found.stderr

        # the token CLI mints a working dev JWT for a seeded user
        minted = subprocess.run(
            [sys.executable, "-m", "python_functions", "token", "bob@example.com"],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
        as_bob = subprocess.run(
            [sys.executable, "-m", "python_functions", "rpc", "pullups.list_sessions",
             "--token", minted.stdout.strip()],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert as_bob.returncode == 0, as_bob.stdout + as_bob.stderr
        assert json.loads(as_bob.stdout.partition("\n\n")[2])["meta"]["pagination"]["total"] == 2

        # the banner stays readable: tokens in a file, the services' lines in their logs
        assert token.group(1) in (local_dir / "tokens.txt").read_text()
        service_log = (local_dir / "logs" / "service.log").read_text()
        assert '"event":"request"' in service_log
        assert '"event":"request"' not in "".join(printed.seen)

        # supervision: a killed service and a stopped cluster are started again
        service_pid = subprocess.run(
            ["pgrep", "-g", str(process.pid), "-f", "python_functions serve"],
            capture_output=True, text=True, check=True).stdout.split()[0]
        os.kill(int(service_pid), signal.SIGKILL)
        printed.wait_for("the AI service started again", timeout=30)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{service_port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the service did not come back"
            time.sleep(0.2)
        cluster = LocalCluster(local_dir / "postgres", port)
        # pg_ctl stop sees the stop through (waiting for the pid file to go) before the
        # supervisor, after its delay, starts the cluster again
        cluster.stop()
        printed.wait_for("the local cluster is not running; starting it again in 1 s",
                         timeout=30)
        printed.wait_for("the local cluster is running again", timeout=30)
        again = subprocess.run(
            [sys.executable, "-m", "python_functions", "rpc", "pullups.ai_quota",
             "--token", token.group(1)],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stdout + again.stderr

        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
        assert not cluster.running()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        LocalCluster(local_dir / "postgres", port).stop()
        shutil.rmtree(local_dir, ignore_errors=True)


def test_run_on_a_taken_port_says_why_and_exits_1() -> None:
    local_dir = _local_dir("pf-run-")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
        env |= {"LOCAL_DIR": str(local_dir), "DB_PORT": str(taken.getsockname()[1])}
        try:
            result = subprocess.run([sys.executable, "-m", "python_functions", "run"],
                                    cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                                    timeout=120)
        finally:
            shutil.rmtree(local_dir, ignore_errors=True)
    assert result.returncode == 1
    assert "error:" in result.stdout and "Address already in use" in result.stdout
    assert "another free DB_PORT" in result.stdout and "make reset" not in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_a_run_stopped_by_a_taken_port_leaves_a_cluster_the_next_run_seeds() -> None:
    """The run that found its port taken had already created the cluster. The next run, with
    the port free, creates the schema in it and must seed it too: without the demo users,
    every call its banner prints answers 401."""
    local_dir = _local_dir("pf-seed-")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = Settings(database_url=None, supabase_url=None, local_dir=local_dir,
                            db_port=taken.getsockname()[1])
        with pytest.raises(ClusterError, match="Address already in use"):
            stack.bring_up(settings)
    cluster = stack.local_cluster(settings)
    try:
        assert cluster.initialized() and not cluster.running()
        stack.bring_up(settings)
        with psycopg.connect(cluster.dsn) as conn:
            found = conn.execute("select email from auth.users where email = any(%s)"
                                 " order by email", (list(stack.DEMO_USERS),)).fetchall()
        assert [email for (email,) in found] == sorted(stack.DEMO_USERS)
        assert [t[0] for t in stack.demo_tokens(settings)] == sorted(stack.DEMO_USERS)
    finally:
        cluster.stop()
        shutil.rmtree(local_dir, ignore_errors=True)


def test_a_cluster_that_does_not_start_points_at_make_reset_which_mends_it() -> None:
    """A data directory the server refuses to start (here for a broken setting) ends the
    run with the server's reason and the way out, and that way out works."""
    local_dir = _local_dir("pf-broken-")
    env = _stack_env(local_dir, free_port())
    cluster = LocalCluster(local_dir / "postgres", int(env["DB_PORT"]))
    try:
        cluster.init()
        with (cluster.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("this line is not a setting\n")
        result = _command(env, "run")
        assert result.returncode == 1, result.stdout + result.stderr
        assert "syntax error" in result.stdout and "`make reset` re-creates it" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
        assert not (local_dir / "run.pid").exists()

        reset = _command(env, "reset")
        assert reset.returncode == 0, reset.stdout + reset.stderr
        cluster.start()
        with psycopg.connect(cluster.dsn) as conn:
            assert conn.execute("select count(*) from auth.users where email = any(%s)",
                                (list(stack.DEMO_USERS),)).fetchone() == (len(stack.DEMO_USERS),)
    finally:
        cluster.stop()
        shutil.rmtree(local_dir, ignore_errors=True)


def test_reset_recreates_the_local_database_from_migrations_and_seed() -> None:
    local_dir = _local_dir("pf-reset-")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"LOCAL_DIR": str(local_dir), "DB_PORT": str(port)}
    cluster = LocalCluster(local_dir / "postgres", port)

    def reset() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "python_functions", "reset"],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                              timeout=180)

    try:
        first = reset()
        assert first.returncode == 0, first.stdout + first.stderr
        assert not cluster.running()  # it was not running before: reset leaves it stopped
        cluster.start()
        with psycopg.connect(cluster.dsn, autocommit=True) as conn:
            conn.execute("delete from pullups.sessions")
        second = reset()  # while it runs: dropped, rebuilt, and left running
        assert second.returncode == 0, second.stdout + second.stderr
        assert cluster.running()
        with psycopg.connect(cluster.dsn) as conn:
            assert conn.execute("select count(*) from pullups.sessions").fetchone() == (9,)
            assert conn.execute("select current_setting('is_superuser')").fetchone() == ("off",)
    finally:
        cluster.stop()
        shutil.rmtree(local_dir, ignore_errors=True)


def test_ctrl_c_stops_the_cluster_even_when_nobody_reads_the_output() -> None:
    """`make run | head -c 10`: the reader is gone long before Ctrl-C; stopping must not
    depend on printing."""
    local_dir = _local_dir("pf-pipe-")
    port = free_port()
    env = _stack_env(local_dir, port)
    process = subprocess.Popen(
        ["bash", "-c", "make --no-print-directory run | head -c 10 > /dev/null"],
        cwd=PROJECT_ROOT, env=env, start_new_session=True)
    cluster = LocalCluster(local_dir / "postgres", port)
    try:
        deadline = time.monotonic() + 180
        while not (cluster.running() and _pid_of(process, "python_functions serve")):
            assert time.monotonic() < deadline, "make run did not start"
            time.sleep(0.2)
        time.sleep(1)  # it is printing its banner into the closed pipe by now
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
        assert not cluster.running()
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        cluster.stop()
        shutil.rmtree(local_dir, ignore_errors=True)


def _accepts_connections(cluster: LocalCluster) -> bool:
    try:
        psycopg.connect(cluster.admin_dsn, connect_timeout=1).close()
    except psycopg.OperationalError:
        return False
    return True


@pytest.mark.parametrize(("how", "moment"), [
    ("kill", "creating the cluster"),  # SIGTERM to the run alone
    ("ctrl-c", "migrating"),  # SIGINT: the terminal signals the whole process group
    ("make stop", "migrating"),
    ("kill", "starting services"),
])
def test_a_stop_while_starting_stops_what_the_run_started(how: str, moment: str) -> None:
    """Whenever it comes, the run ends as "stopped while starting" (130), without a
    traceback, and leaves nothing running, not its services, not the cluster it started,
    and nothing half-made: the next run comes up."""
    local_dir = _local_dir("pf-early-")
    port = free_port()
    env = _stack_env(local_dir, port)
    process = _start_run(env)
    cluster = LocalCluster(local_dir / "postgres", port)
    under_way: dict[str, Callable[[], object]] = {
        "creating the cluster": lambda: (cluster.root / ".pwfile").exists(),  # initdb's
        "migrating": lambda: _accepts_connections(cluster),
        "starting services": lambda: _pid_of(process, "python_functions serve"),
    }
    try:
        deadline = time.monotonic() + 180
        while not under_way[moment]():
            assert process.poll() is None and time.monotonic() < deadline, "did not start"
            time.sleep(0.05)
        if how == "ctrl-c":
            os.killpg(process.pid, signal.SIGINT)
        elif how == "kill":
            os.kill(process.pid, signal.SIGTERM)
        else:
            stopped = _command(env, "stop")
            assert f"stopped `make run` (pid {process.pid})" in stopped.stdout, stopped
        output, _ = process.communicate(timeout=60)
        assert process.returncode == 130, output
        assert "stopped while starting" in output and "Traceback" not in output, output
        assert not cluster.running()
        assert _pid_of(process, "python_functions") is None  # no service left behind
        assert not (local_dir / "run.pid").exists()
        settings = Settings(database_url=None, supabase_url=None, local_dir=local_dir,
                            db_port=port)
        assert stack.bring_up(settings) == (cluster, True)
        assert [t[0] for t in stack.demo_tokens(settings)] == sorted(stack.DEMO_USERS)
    finally:
        _clean_up(process, cluster, local_dir)


@pytest.mark.parametrize("whose", ["the killed run's", "started by hand"])
def test_a_killed_runs_services_stop_themselves_and_the_next_run_takes_over_its_cluster(
        whose: str) -> None:
    """SIGKILL (or the OOM killer) leaves the run no time to stop anything. Its services
    notice it is gone and stop, instead of holding their ports against the next run; the
    cluster it started, nobody's now, is the next run's to stop. A cluster it found running
    (someone's, started with pg_ctl) it never owned: the next run leaves that one running."""
    local_dir = _local_dir("pf-killed-")
    port = free_port()
    env = _stack_env(local_dir, port)
    cluster = LocalCluster(local_dir / "postgres", port)
    if whose == "started by hand":
        cluster.init()
        cluster.start()
    killed = _start_run(env)
    services = ("python_functions serve", "python_functions local-api",
                "python_functions.local.provider")
    again: subprocess.Popen[str] | None = None
    try:
        Output(killed).wait_for("ready", timeout=180, exact=True)
        assert all(_pid_of(killed, service) for service in services)
        os.kill(killed.pid, signal.SIGKILL)
        killed.wait()
        deadline = time.monotonic() + 30
        while (left := [s for s in services if _pid_of(killed, s)]):
            assert time.monotonic() < deadline, f"still running: {left}"
            time.sleep(0.1)

        again = _start_run(env)  # on the same ports
        output = Output(again)
        output.wait_for("reusing the running local cluster", timeout=180)
        output.wait_for("ready", timeout=180, exact=True)
        took_over = any("a run that was killed left it running" in line
                        for line in output.seen)
        assert took_over == (whose == "the killed run's"), "".join(output.seen)
        os.killpg(again.pid, signal.SIGINT)  # Ctrl-C; the cluster is in the first's group
        again.wait(timeout=60)
        assert cluster.running() == (whose == "started by hand"), "".join(output.seen)
    finally:
        if again is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(again.pid, signal.SIGKILL)
            again.wait()
        _clean_up(killed, cluster, local_dir)


def test_a_stop_signal_while_a_child_starts_ends_that_child_too(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The signal comes after the fork, before `Popen` has returned the handle (the moment
    the test above hits now and then, forced here): the child is ended, not left running
    with nothing to stop it, and the run is interrupted all the same."""
    started: list[subprocess.Popen[Any]] = []

    class SignalledOnceStarted(subprocess.Popen):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            started.append(self)
            os.kill(os.getpid(), signal.SIGTERM)  # its handler runs before this returns

    monkeypatch.setattr(subprocess, "Popen", SignalledOnceStarted)
    previous = signal.signal(signal.SIGTERM, lambda *_: interrupts.interrupt())
    try:
        with pytest.raises(interrupts.Interrupted):
            interrupts.popen(["sleep", "60"])
        assert started[0].poll() == -signal.SIGTERM
        with pytest.raises(interrupts.Interrupted):  # anywhere else: at once
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    finally:
        signal.signal(signal.SIGTERM, previous)
        for process in started:
            process.kill()
            process.wait()


def _pid_of(process: subprocess.Popen[Any], pattern: str) -> str | None:
    found = subprocess.run(["pgrep", "-g", str(process.pid), "-f", pattern],
                           capture_output=True, text=True).stdout.split()
    return found[0] if found else None


def test_a_second_make_run_refuses_and_a_stale_pid_file_is_no_run() -> None:
    """One `make run` per LOCAL_DIR: a second says which is up and changes nothing (the
    first's pid file, its cluster); a pid file whose process is gone does not stop one."""
    local_dir = _local_dir("pf-twice-")
    port = free_port()
    env = _stack_env(local_dir, port)
    gone = subprocess.Popen(["true"])
    gone.wait()
    (local_dir / "run.pid").write_text(str(gone.pid))  # a crashed run's
    first = _start_run(env)
    cluster = LocalCluster(local_dir / "postgres", port)
    try:
        Output(first).wait_for("ready", timeout=180, exact=True)
        second = _command(env, "run")
        assert second.returncode == 1, second
        assert f"already running here (pid {first.pid})" in second.stdout, second
        assert (local_dir / "run.pid").read_text().split("\n")[0] == str(first.pid)
        assert cluster.running() and first.poll() is None
    finally:
        _clean_up(first, cluster, local_dir)


def test_make_stop_stops_a_running_make_run_cleanly() -> None:
    """`make stop` while `make run` is up: the run stops as on Ctrl-C (exit 0), instead of
    seeing its cluster vanish (and starting it again)."""
    local_dir = _local_dir("pf-stop-")
    port = free_port()
    env = _stack_env(local_dir, port)
    process = _start_run(env)
    cluster = LocalCluster(local_dir / "postgres", port)
    try:
        Output(process).wait_for("ready", timeout=180, exact=True)
        stopped = _command(env, "stop")
        assert stopped.returncode == 0 and "stopped `make run`" in stopped.stdout, stopped
        assert process.wait(timeout=60) == 0
        assert not cluster.running()
        assert not (local_dir / "run.pid").exists()
    finally:
        _clean_up(process, cluster, local_dir)
