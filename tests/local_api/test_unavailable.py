"""A 503 from /rest/v1 says when to retry, as PostgREST's `addRetryHint` does (v16.1 always
sends `Retry-After: 0`): supabase-js 2.119 retries a GET or HEAD that answered 503 after the
delay that header gives (`fetchWithRetry`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.http_fixtures import ANON_KEY
from tests.local_api.conftest import probe_api

SCHEMA = "busy_probe"
_BUSY = f"""
create schema {SCHEMA};
create function {SCHEMA}.busy() returns text language plpgsql as $$
begin
  raise sqlstate 'PT503' using message = 'not now';
end $$;
create view {SCHEMA}.status as select {SCHEMA}.busy() as state;
create function {SCHEMA}.fine() returns text language sql as $$ select 'fine' $$;
grant usage on schema {SCHEMA} to anon;
grant select on {SCHEMA}.status to anon;
grant execute on all functions in schema {SCHEMA} to anon;
"""


@pytest.fixture
def http(admin: psycopg.Connection[Any], database_url: str) -> Iterator[httpx.Client]:
    with probe_api(admin, database_url, SCHEMA, _BUSY) as server, httpx.Client(
            base_url=server.url + "/rest/v1", headers={"apikey": ANON_KEY},
            timeout=10) as client:
        yield client


def test_every_503_says_retry_after_0_and_nothing_else_does(http: httpx.Client) -> None:
    for response in (http.post("/rpc/busy", json={}), http.get("/rpc/busy"),
                     http.head("/rpc/busy"), http.get("/status")):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "0"
    for response in (http.get("/rpc/fine"), http.get("/rpc/nope"), http.get("/nope")):
        assert response.status_code in (200, 404), response.text
        assert "retry-after" not in response.headers
