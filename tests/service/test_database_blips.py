"""The service against a database that restarts: 503 while it is away, by itself again after,
and an AI answer already paid for still stored when the database blips under it."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from python_functions.local import migrations
from python_functions.local.cluster import LocalCluster, throwaway_cluster
from python_functions.service import flow
from python_functions.service.app import create_app
from python_functions.service.settings import Settings
from tests.conftest import User, insert_user
from tests.http_fixtures import LocalAi, LogCapture, ServerThread, assert_service_error, token_for


class Blippy:
    def __init__(self, cluster: LocalCluster, service: ServerThread) -> None:
        self.cluster = cluster
        self.service = service

    def user(self) -> User:
        user = User(str(uuid.uuid4()), f"blip-{uuid.uuid4().hex[:8]}@tests.invalid")
        with psycopg.connect(self.cluster.dsn, autocommit=True) as conn:
            insert_user(conn, user.id, user.email)
        return user

    def scalar(self, query: str, *params: Any) -> Any:
        with psycopg.connect(self.cluster.dsn, autocommit=True) as conn:
            row = conn.execute(query, params).fetchone()
            return row[0] if row else None

    def generate(self, user: User) -> httpx.Response:
        return httpx.post(f"{self.service.url}/sessions/ai", json={"maxPullups": 6},
                          headers={"Authorization": f"Bearer {token_for(user)}"}, timeout=60)

    def generate_in_background(self, user: User) -> tuple[threading.Thread, list[httpx.Response]]:
        """Start a generation in a thread and return once it is pending in the database."""
        result: list[httpx.Response] = []
        worker = threading.Thread(target=lambda: result.append(self.generate(user)))
        worker.start()
        deadline = time.monotonic() + 10
        while self.scalar("select count(*) from pullups.generations where user_id = %s",
                          user.id) == 0:
            assert time.monotonic() < deadline, "the generation never began"
            time.sleep(0.02)
        return worker, result


@pytest.fixture(scope="module")
def blippy(service_settings: Settings) -> Iterator[Blippy]:
    """A service on its own cluster, which the tests stop and start."""
    with throwaway_cluster() as cluster:
        migrations.prepare_database(cluster.dsn, seed=False, bootstrap_dsn=cluster.admin_dsn)
        settings = service_settings.model_copy(update={"database_url": cluster.dsn})
        with ServerThread(create_app(settings)) as service:
            yield Blippy(cluster, service)


def test_while_the_database_is_down_requests_get_503_and_recover_by_themselves(
    blippy: Blippy, local_provider: LocalAi, service_logs: LogCapture
) -> None:
    local_provider.clear()
    users = [blippy.user() for _ in range(7)]
    assert blippy.generate(users[0]).status_code == 201  # the pool holds live connections
    blippy.cluster.stop()
    try:
        down = blippy.generate(users[1])
        assert_service_error(down, 503, "SERVICE_UNAVAILABLE")
        assert down.headers["Retry-After"] == "1"
        health = httpx.get(f"{blippy.service.url}/health", timeout=30)
        assert health.status_code == 503 and health.json()["database"] == "unreachable"
    finally:
        blippy.cluster.start()
    # every connection the pool had died with the server: none of them reaches a request
    statuses = [blippy.generate(user).status_code for user in users[2:]]
    assert statuses == [201] * 5
    assert httpx.get(f"{blippy.service.url}/health", timeout=30).status_code == 200
    # the outage is in the log as JSON lines, the pool's own included; no traceback
    records = [json.loads(line) for line in service_logs.lines]
    assert any(r["logger"].startswith("psycopg") for r in records)
    assert any(r.get("status") == 503 and r["event"] == "request" for r in records)
    assert not [line for line in service_logs.lines if "\n" in line or "Traceback" in line]


def test_after_an_idle_restart_no_request_gets_a_dead_connection(
    blippy: Blippy, local_provider: LocalAi
) -> None:
    """The pool's connections all died in the restart; each is checked when taken, so the
    requests after it never notice (here: 6 of 12 got 500 before)."""
    local_provider.clear()
    users = [blippy.user() for _ in range(12)]
    warm = [threading.Thread(target=blippy.generate, args=(u,)) for u in users[:6]]
    for thread in warm:  # several connections open in the pool
        thread.start()
    for thread in warm:
        thread.join()
    blippy.cluster.stop()
    blippy.cluster.start()
    assert [blippy.generate(user).status_code for user in users[6:]] == [201] * 6


def test_an_answer_already_paid_for_is_stored_across_a_restart(
    blippy: Blippy, local_provider: LocalAi
) -> None:
    user = blippy.user()
    local_provider.fault({"mode": "delay", "seconds": 1.0})
    worker, result = blippy.generate_in_background(user)
    blippy.cluster.stop()  # the provider is still thinking: finish will find no database
    time.sleep(1.5)
    blippy.cluster.start()
    worker.join()
    assert result[0].status_code == 201, result[0].text
    assert blippy.scalar("select status::text from pullups.generations where user_id = %s",
                         user.id) == "success"
    assert blippy.scalar("select count(*) from core.ai_calls where user_id = %s", user.id) == 1


def test_an_answer_whose_finish_outlives_the_request_is_still_stored(
    blippy: Blippy, local_provider: LocalAi, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database is away longer than the request waits: the client gets 503, and the
    finish goes on in the background until the database is back."""
    monkeypatch.setattr(flow, "FINISH_RETRY_DELAYS_S", (0.1,))
    user = blippy.user()
    local_provider.fault({"mode": "delay", "seconds": 0.5})
    worker, result = blippy.generate_in_background(user)
    blippy.cluster.stop()
    try:
        worker.join()
        assert_service_error(result[0], 503, "SERVICE_UNAVAILABLE")
    finally:
        blippy.cluster.start()
    deadline = time.monotonic() + 30
    while blippy.scalar("select status::text from pullups.generations where user_id = %s",
                        user.id) == "pending":
        assert time.monotonic() < deadline, "the finish was never written"
        time.sleep(0.2)
    assert blippy.scalar("select status::text from pullups.generations where user_id = %s",
                         user.id) == "success"
    assert blippy.scalar("select count(*) from core.ai_calls where user_id = %s", user.id) == 1
