"""A 503 from /rest/v1 says when to retry, as PostgREST's `addRetryHint` does (v16.1 always
sends `Retry-After: 0`): supabase-js 2.119 retries a GET or HEAD that answered 503 after the
delay that header gives (`fetchWithRetry`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
create function {SCHEMA}.slow() returns text language sql
  as $$ select 'slow' from pg_sleep(30) $$;
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


def test_a_call_whose_backend_is_terminated_is_503_and_the_next_one_is_answered(
        http: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    """`pg_terminate_backend` (an operator's, or a shutdown's) ends the call with 57P01; the
    pool drops that connection instead of handing it out again."""
    with ThreadPoolExecutor(1) as pool:
        pending = pool.submit(http.get, "/rpc/slow")
        deadline = time.monotonic() + 10
        while not admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity"
                f" where query like '%{SCHEMA}%slow%' and pid <> pg_backend_pid()").fetchall():
            assert time.monotonic() < deadline, "the call never reached Postgres"
            time.sleep(0.05)
        ended = pending.result(timeout=10)
    assert ended.status_code == 503, ended.text
    assert ended.json()["code"] == "57P01"
    assert ended.headers["retry-after"] == "0"
    for _ in range(5):  # every pooled connection, the dropped one's replacement included
        assert http.get("/rpc/fine").json() == "fine"
