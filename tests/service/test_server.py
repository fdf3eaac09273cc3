"""How the service is served: uvloop and httptools, TCP_NODELAY on every connection,
several worker processes on one port (WORKERS), and the idle keep-alive limit
(KEEP_ALIVE_SECONDS) in either mode."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from python_functions import PROJECT_ROOT
from python_functions.local.cluster import free_port
from python_functions.service import server
from tests.conftest import User
from tests.http_fixtures import ServerThread, token_for


def test_the_fast_parser_and_loop_are_used() -> None:
    assert server.HAS_HTTPTOOLS and server.HAS_UVLOOP
    config = server.config(object(), "127.0.0.1", 1)
    assert config.loop == "uvloop"
    assert issubclass(config.http, server.HttpToolsServiceProtocol)  # type: ignore[arg-type]


def test_every_accepted_connection_has_tcp_nodelay(service: ServerThread) -> None:
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as client:
        client.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert client.recv(100).startswith(b"HTTP/1.1")
        connections = list(service.server.server_state.connections)
        assert connections
        for connection in connections:
            sock = connection.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1


def _children(pid: int) -> list[int]:
    """The worker processes (multiprocessing's spawned children, not its resource tracker)."""
    found = subprocess.run(["pgrep", "-P", str(pid), "-f", "spawn_main"], capture_output=True,
                           text=True)
    return [int(p) for p in found.stdout.split()]


def _serve(database_url: str, port: int, **env_vars: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY")}
    env |= {"DATABASE_URL": database_url, "PORT": str(port), "SWEEP_INTERVAL_SECONDS": "0",
            "AI_BASE_URL": "http://127.0.0.1:9/v1", **env_vars}
    return subprocess.Popen([sys.executable, "-m", "python_functions", "serve"], env=env,
                            cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _idle_connection_closes_within(port: int, seconds: float) -> bool:
    """A kept-alive connection left idle after one answer is closed, with nothing sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            head += client.recv(65536)
        length = int(next(line.split(b":", 1)[1] for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:")))
        received = len(head.partition(b"\r\n\r\n")[2])
        while received < length:
            received += len(client.recv(65536))
        idle_since = time.monotonic()
        assert client.recv(4096) == b""  # closed, nothing sent
        return time.monotonic() - idle_since < seconds


def test_keep_alive_seconds_reaches_a_single_process(database_url: str) -> None:
    port = free_port()
    process = _serve(database_url, port, WORKERS="1", KEEP_ALIVE_SECONDS="1")
    try:
        deadline = time.monotonic() + 60
        while not _answers(port):
            assert process.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "the service did not come up"
            time.sleep(0.2)
        assert _idle_connection_closes_within(port, 4)  # uvicorn's own default is 5 s
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def test_workers_serve_one_port_from_several_processes(database_url: str,
                                                       alice: User) -> None:
    port = free_port()
    process = _serve(database_url, port, WORKERS="2", KEEP_ALIVE_SECONDS="1")
    try:
        deadline = time.monotonic() + 60
        while len(_children(process.pid)) < 2 or not _answers(port):
            assert process.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "the workers did not come up"
            time.sleep(0.2)
        # many short connections, each accepted by either worker: every answer is right
        statuses = set()
        for _ in range(20):
            response = httpx.post(f"http://127.0.0.1:{port}/sessions/ai", json={},
                                  headers={"Authorization": f"Bearer {token_for(alice)}x"})
            statuses.add(response.status_code)
        assert statuses == {401}
        assert len(_children(process.pid)) == 2
        assert _idle_connection_closes_within(port, 4)  # the workers have KEEP_ALIVE_SECONDS
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code in (200, 503)
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("workers", ["0", "65"])
def test_out_of_range_workers_are_refused(workers: str) -> None:
    from pydantic import ValidationError

    from python_functions.service.settings import Settings

    with pytest.raises(ValidationError):
        Settings(workers=workers)


@pytest.mark.parametrize("seconds", ["0", "3601"])
def test_out_of_range_keep_alive_is_refused(seconds: str) -> None:
    from pydantic import ValidationError

    from python_functions.service.settings import Settings

    with pytest.raises(ValidationError):
        Settings(keep_alive_seconds=seconds)
