"""What the local API's tests share: a local API of its own over a throwaway schema."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import psycopg
import pytest

from python_functions.local.api import LISTENER_NAME, create_app
from python_functions.local.api.jwt_keys import ProjectKeys
from python_functions.local.cluster import free_port
from python_functions.local.config import AuthConfig
from python_functions.service.auth import verify_token
from python_functions.service.settings import DEV_JWT_SECRET
from tests.http_fixtures import ANON_KEY, ServerThread

# the keys of the CLI's defaults, which the local APIs of these tests sign sessions with
DEFAULT_KEYS = ProjectKeys(DEV_JWT_SECRET, AuthConfig())


def session_claims(token: str) -> dict[str, Any]:
    """The claims of an access token the local Auth issued, verified as the AI service
    verifies them: by the key its JWKS publishes."""
    return verify_token(token, DEV_JWT_SECRET, DEFAULT_KEYS.jwks_client())


@contextlib.contextmanager
def probe_api(admin: psycopg.Connection[Any], database_url: str, schema: str, ddl: str,
              extra_search_path: Sequence[str] | None = None) -> Iterator[ServerThread]:
    """A local API exposing only `schema`, which `ddl` creates and which is dropped after;
    its listener told from the others' by a name of its own; `extra_search_path`:
    PostgREST's, else supabase/config.toml's."""
    admin.execute(ddl)
    port = free_port()
    app = create_app(database_url, DEV_JWT_SECRET, f"http://127.0.0.1:{free_port()}",
                     f"http://127.0.0.1:{port}", schemas=[schema],
                     listener_name=f"{LISTENER_NAME}_{uuid.uuid4().hex[:8]}",
                     extra_search_path=extra_search_path)
    try:
        with ServerThread(app, port=port) as server:
            yield server
    finally:
        admin.execute(f"drop schema {schema} cascade")


def schema_probe(schema: str, objects: Callable[[str], str]) -> Any:
    """A module's `probe` fixture: a local API over `schema`, made by `objects(schema)` in a
    new schema of that name; per test, as the session's cleaning must not see its tables."""
    @pytest.fixture
    def probe(admin: psycopg.Connection[Any], database_url: str) -> Iterator[ServerThread]:
        ddl = f"begin; create schema {schema}; {objects(schema)} commit;"
        with probe_api(admin, database_url, schema, ddl) as server:
            yield server
    return probe


@contextlib.contextmanager
def anon_client(server: ServerThread, path: str = "/rest/v1") -> Iterator[httpx.Client]:
    """An HTTP client of `server` under `path`, with the anon key."""
    with httpx.Client(base_url=server.url + path, headers={"apikey": ANON_KEY},
                      timeout=10) as client:
        yield client


def pgrst_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The PostgREST error body of `response`, asserting its status and code, and that it
    has PostgREST's four keys and no other."""
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "details", "hint"}, body
    assert body["code"] == code, body
    return body


@pytest.fixture
def rest(probe: ServerThread) -> Iterator[httpx.Client]:
    """`/rest/v1` of the test module's `probe` (a local API over a schema of its own), with
    the anon key."""
    with anon_client(probe) as client:
        yield client


def get_json(client: httpx.Client, path: str, **params: str) -> Any:
    """The JSON of a GET that must answer 200."""
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()
