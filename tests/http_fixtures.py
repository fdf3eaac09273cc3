"""The AI service and the local provider on real ports, against the test Postgres: fixtures
shared by every app's HTTP tests (registered in tests/conftest.py)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from python_functions.local.api import create_app as create_local_api
from python_functions.local.cluster import free_port
from python_functions.local.config import AuthConfig
from python_functions.local.config import auth_config as project_auth_config
from python_functions.local.mailpit import Mailbox
from python_functions.local.mailpit import create_app as create_mail_catcher
from python_functions.local.provider import create_app as create_offline_provider
from python_functions.service import logs, server
from python_functions.service.app import create_app
from python_functions.service.auth import api_key, mint_token, user_claims
from python_functions.service.settings import DEV_JWT_SECRET, Settings
from tests.conftest import User

AI_TIMEOUT_SECONDS = 1.5  # short, so timeout tests stay fast; the default is 15 s
ANON_KEY = api_key("anon", DEV_JWT_SECRET)
SERVICE_ROLE_KEY = api_key("service_role", DEV_JWT_SECRET)


class ServerThread:
    """A uvicorn server on a free loopback port, in a background thread."""

    def __init__(self, app: Any, header_timeout_s: float = 30.0, port: int | None = None,
                 keep_alive_s: int = 75, h11: bool = False) -> None:
        self.port = port or free_port()
        # served as in production: the service's protocol rules included
        config = server.config(app, "127.0.0.1", self.port, header_timeout_s, keep_alive_s,
                               lifespan="on")
        if h11:  # the pure-Python parser, what runs where httptools is not installed
            config.http = type("H11Rules", (server.H11ServiceProtocol,),
                               {"header_timeout_s": header_timeout_s})
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class LocalAi:
    def __init__(self, server: ServerThread) -> None:
        self.server = server

    def fault(self, *faults: dict[str, Any]) -> None:
        httpx.post(f"{self.server.url}/_faults", json=list(faults)).raise_for_status()

    def clear(self) -> None:
        httpx.delete(f"{self.server.url}/_faults").raise_for_status()


@pytest.fixture(scope="session")
def local_provider() -> Iterator[LocalAi]:
    with ServerThread(create_offline_provider(faults_enabled=True)) as server:
        yield LocalAi(server)


class LogCapture(logging.Handler):
    """Everything the service logs during the test session, formatted as in production."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(logs.JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


# Never in a log line: the system prompt, the delimited user context, model output fields,
# bearer tokens (every JWT starts with "eyJ").
FORBIDDEN_IN_LOGS = ("pull-up coach", "<context>", "history", "aiComment", "Bearer", "eyJ")


@pytest.fixture(scope="session")
def service_logs() -> Iterator[LogCapture]:
    """Captures the service's logs for the whole test session, and at its end checks every
    line: whatever the tests did (faults, retries, bad tokens), nothing sensitive leaked."""
    capture = LogCapture()
    logs.configure(handler=capture)  # formatted as in production, kept off the test output
    yield capture
    for name in ("python_functions", *logs.LIBRARY_LOGGERS):
        logging.getLogger(name).removeHandler(capture)
    leaked = [(needle, line) for line in capture.lines for needle in FORBIDDEN_IN_LOGS
              if needle in line]
    assert not leaked, leaked[:3]


class MailCatcher:
    """`make run`'s mail catcher (Mailpit's API and SMTP) on free ports, in a thread."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.smtp_port = free_port()
        self.server = ServerThread(create_mail_catcher(self.mailbox, "127.0.0.1",
                                                       self.smtp_port))

    @property
    def url(self) -> str:
        return self.server.url

    def auth_config(self, **settings: Any) -> AuthConfig:
        """supabase/config.toml's `[auth]`, its mail sent here, changed by `settings`."""
        return dataclasses.replace(project_auth_config(), **{
            "smtp_host": "127.0.0.1", "smtp_port": self.smtp_port, **settings})


@pytest.fixture(scope="session")
def mail_catcher() -> Iterator[MailCatcher]:
    catcher = MailCatcher()
    with catcher.server:
        yield catcher


def _local_api(database_url: str, functions_url: str, mail: MailCatcher,
               port: int | None = None) -> ServerThread:
    port = port or free_port()
    app = create_local_api(database_url, DEV_JWT_SECRET, functions_url,
                           f"http://127.0.0.1:{port}", auth=mail.auth_config())
    return ServerThread(app, port=port)


@pytest.fixture(scope="session")
def postgrest_api(database_url: str, mail_catcher: MailCatcher) -> Iterator[ServerThread]:
    """The local API in the part of the project's PostgREST, for the service's second
    transport (its functions relay is not used there)."""
    with _local_api(database_url, f"http://127.0.0.1:{free_port()}", mail_catcher) as server:
        yield server


@pytest.fixture(scope="session", params=["postgres", "postgrest"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every service test runs on both database transports: DATABASE_URL (a direct pool)
    and SUPABASE_URL + service role key (supabase-py through PostgREST)."""
    chosen: str = request.param
    return chosen


@pytest.fixture(scope="session")
def local_api_port() -> int:
    """The port `local_api` will serve on, known before it starts: the service it relays to
    takes the sessions of its Auth by its JWKS, as under `make run`."""
    return free_port()


@pytest.fixture(scope="session")
def service_settings(database_url: str, local_provider: LocalAi, transport: str,
                     local_api_port: int, request: pytest.FixtureRequest) -> Settings:
    database: dict[str, Any] = {"database_url": database_url,
                                "supabase_url": f"http://127.0.0.1:{local_api_port}"}
    if transport == "postgrest":
        api: ServerThread = request.getfixturevalue("postgrest_api")
        database = {"database_url": None, "supabase_url": api.url,
                    "supabase_service_role_key": SERVICE_ROLE_KEY}
    settings = Settings(**database, supabase_jwt_secret=DEV_JWT_SECRET,
                        ai_base_url=f"{local_provider.server.url}/v1",
                        pullups_ai_timeout_seconds=AI_TIMEOUT_SECONDS,
                        flashcards_ai_timeout_seconds=AI_TIMEOUT_SECONDS,
                        recipes_ai_timeout_seconds=AI_TIMEOUT_SECONDS, db_pool_size=20,
                        sweep_interval_seconds=0)  # the tests sweep when they mean to
    assert settings.uses_postgrest == (transport == "postgrest")
    return settings


@pytest.fixture(scope="session")
def service(service_settings: Settings, service_logs: LogCapture) -> Iterator[ServerThread]:
    with ServerThread(create_app(service_settings)) as server:
        yield server


@pytest.fixture
def http(service: ServerThread, local_provider: LocalAi) -> Iterator[httpx.Client]:
    local_provider.clear()
    with httpx.Client(base_url=service.url, timeout=30) as client:
        yield client


def token_for(user: User, **overrides: Any) -> str:
    return mint_token(user_claims(user.id, user.email) | overrides, DEV_JWT_SECRET)


@pytest.fixture
def generate(http: httpx.Client) -> Callable[..., httpx.Response]:
    """POST /sessions/ai as the user."""

    def call(user: User, **body: Any) -> httpx.Response:
        return http.post("/sessions/ai", json=body,
                         headers={"Authorization": f"Bearer {token_for(user)}"})

    return call


def assert_service_error(response: httpx.Response, status: int, code: str,
                         added: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The shared error body, with the message again as `error` (as supabase-py reads a
    function's error), plus the fields a contract adds (e.g. recipes' `reasons`)."""
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details", "hint", "error"} | added, body
    assert body["code"] == code, body
    assert body["error"] == body["message"], body
    return body



@pytest.fixture(scope="session")
def local_api(database_url: str, service: ServerThread, local_api_port: int,
              mail_catcher: MailCatcher) -> Iterator[ServerThread]:
    """`make run`'s local API (/rest/v1, /auth/v1, /functions/v1) over the test database,
    relaying functions to the test service, its mail sent to the mail catcher."""
    with _local_api(database_url, service.url, mail_catcher, local_api_port) as server:
        yield server


@pytest.fixture
def api_http(local_api: ServerThread, local_provider: LocalAi) -> Iterator[httpx.Client]:
    """A client of the local API with the anon key, as supabase-js sends it."""
    local_provider.clear()
    with httpx.Client(base_url=local_api.url, timeout=30, headers={"apikey": ANON_KEY}) as client:
        yield client
