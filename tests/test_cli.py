"""The command line answers mistakes with a sentence, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from python_functions import PROJECT_ROOT
from python_functions.local.cluster import free_port
from tests.conftest import Api, User, assert_error


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "python_functions", *args], cwd=PROJECT_ROOT,
                          env=os.environ | env, capture_output=True, text=True, timeout=60)


def test_malformed_json_argument_is_explained() -> None:
    result = _cli("rpc", "pullups.list_sessions", "--as", "alice@example.com",
                  "status:=[completed")
    assert result.returncode != 0
    assert "status:= takes JSON" in result.stderr and "Traceback" not in result.stderr


def test_a_database_that_does_not_answer_gets_a_hint() -> None:
    dead = f"postgresql://postgres:postgres@127.0.0.1:{free_port()}/postgres"
    result = _cli("rpc", "pullups.ai_quota", "--as", "alice@example.com", DATABASE_URL=dead)
    assert result.returncode == 1
    assert "error: cannot reach the database" in result.stderr
    assert "unset it" in result.stderr and "Traceback" not in result.stderr


def test_a_misspelled_argument_is_404_with_the_functions_parameters(api: Api,
                                                                    alice: User) -> None:
    body = assert_error(api("pullups.fail_session", alice, sesion_id="x"), 404, "PGRST202")
    # PostgREST's hint lists the parameters sorted by name (`noRpcHint`)
    assert body["hint"] == ("Perhaps you meant to call the function"
                            " pullups.fail_session(reason, session_id)")


def test_the_documented_offline_provider_entry_point_serves_its_models() -> None:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "python_functions.local_ai",
                                "--port", str(port)], cwd=PROJECT_ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert answer.status_code == 200
        assert "local/rules" in [model["id"] for model in answer.json()["data"]]
    finally:
        process.terminate()
        process.wait(timeout=10)
