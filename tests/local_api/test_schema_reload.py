"""The local API follows the database as PostgREST v16.1 does (db/listener.py): what it caches
(function signatures, a schema's tables and foreign keys, the roles' settings) is reloaded
on `NOTIFY pgrst`, which the stand-in's event triggers send after DDL, as Supabase's do."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psycopg
import pytest

from python_functions.local.api import LISTENER_NAME, create_app
from python_functions.local.cluster import free_port
from python_functions.service.settings import DEV_JWT_SECRET
from tests.conftest import listening
from tests.http_fixtures import ANON_KEY, ServerThread

SCHEMA = "reload_probe"
WAIT_S = 15.0  # a generous bound on the notification's trip, not a measured time


LISTENER = f"{LISTENER_NAME}_{uuid.uuid4().hex[:8]}"  # the probe's own, told from the others


def _wait_for(what: Callable[[], bool], description: Callable[[], str]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not what():
        assert time.monotonic() < deadline, f"still waiting for {description()}"
        time.sleep(0.05)


def _eventually(request: Callable[[], httpx.Response], status: int) -> httpx.Response:
    answers: list[httpx.Response] = []

    def answered() -> bool:
        answers.append(request())
        return answers[-1].status_code == status

    _wait_for(answered, lambda: f"{status}, last {answers[-1].status_code} {answers[-1].text}")
    return answers[-1]


def _code(response: httpx.Response) -> str:
    code: str = response.json()["code"]
    return code


@pytest.fixture
def probe(admin: psycopg.Connection[Any], database_url: str) -> Iterator[httpx.Client]:
    """A local API that exposes only the schema `reload_probe`, its listener connected."""
    admin.execute(f"create schema {SCHEMA}; grant usage on schema {SCHEMA} to anon")
    port = free_port()
    app = create_app(database_url, DEV_JWT_SECRET, f"http://127.0.0.1:{free_port()}",
                     f"http://127.0.0.1:{port}", schemas=[SCHEMA], listener_name=LISTENER)
    try:
        with ServerThread(app, port=port) as server, httpx.Client(
                base_url=server.url, headers={"apikey": ANON_KEY}, timeout=10) as client:
            _wait_for(lambda: listening(admin, LISTENER), lambda: "the listener")
            yield client
    finally:
        admin.execute(f"drop schema {SCHEMA} cascade")


def test_a_function_created_or_changed_while_running_is_served_after_the_ddl(
        probe: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    def greet(**args: str) -> httpx.Response:
        return probe.post("/rest/v1/rpc/greet", json=args)

    missing = greet(name="ada")
    assert (missing.status_code, _code(missing)) == (404, "PGRST202")  # and cached as missing
    assert missing.json()["hint"] is None  # the schema has no function yet: no close name
    admin.execute(f"create function {SCHEMA}.greet(name text) returns text language sql"
                  f" as $$ select 'hi ' || name $$; grant execute on all functions in schema"
                  f" {SCHEMA} to anon")
    assert _eventually(lambda: greet(name="ada"), 200).json() == "hi ada"
    # the names a misspelt function's hint is picked from were read again too
    misspelt = probe.post("/rest/v1/rpc/greeet", json={"name": "ada"}).json()
    assert misspelt["hint"] == f"Perhaps you meant to call the function {SCHEMA}.greet"
    # a new signature: the cached one (`name`) would answer 404 for `who`
    admin.execute(f"drop function {SCHEMA}.greet(text); create function {SCHEMA}.greet("
                  "who text) returns integer language sql as $$ select length(who) $$;"
                  f" grant execute on all functions in schema {SCHEMA} to anon")
    assert _eventually(lambda: greet(who="grace"), 200).json() == 5
    assert _code(greet(name="ada")) == "PGRST202"


def test_a_schema_reload_replaces_the_pools_connections(
        probe: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    """As PostgREST flushes its pool: a connection's prepared statements were planned
    against the catalog before the reload."""
    admin.execute(f"create function {SCHEMA}.backend() returns int language sql"
                  f" as $$ select pg_backend_pid() $$; grant execute on all functions in"
                  f" schema {SCHEMA} to anon")
    _eventually(lambda: probe.post("/rest/v1/rpc/backend", json={}), 200)

    def backend() -> int:
        pid: int = probe.post("/rest/v1/rpc/backend", json={}).json()
        return pid

    def closed(pid: int) -> bool:
        return admin.execute("select from pg_stat_activity where pid = %s",
                             (pid,)).fetchone() is None

    # Without the flush, the LIFO pool would go on reusing its one idle connection. (Not
    # "a connection opened since the NOTIFY": one the DDL's own reloads were still opening
    # then joins the pool fresh, having run nothing, as psycopg_pool's drain intends.)
    before = backend()
    admin.execute("notify pgrst, 'reload schema'")
    _wait_for(lambda: backend() != before and closed(before),
              lambda: f"backend {before} to be closed and replaced")


def test_tables_keys_and_views_created_while_running_are_served_after_the_ddl(
        probe: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    missing = probe.get("/rest/v1/notes")
    assert (missing.status_code, _code(missing)) == (404, "PGRST205")
    admin.execute(f"create table {SCHEMA}.notes (id int primary key, body text);"
                  f" insert into {SCHEMA}.notes values (1, 'first');"
                  f" grant select on {SCHEMA}.notes to anon")
    assert _eventually(lambda: probe.get("/rest/v1/notes"), 200).json() == [
        {"id": 1, "body": "first"}]
    embedded = {"select": "id,tags(label)"}
    unrelated = probe.get("/rest/v1/notes", params=embedded)
    assert (unrelated.status_code, _code(unrelated)) == (400, "PGRST200")
    admin.execute(f"create table {SCHEMA}.tags (label text primary key,"
                  f" note_id int references {SCHEMA}.notes (id));"
                  f" insert into {SCHEMA}.tags values ('a', 1);"
                  f" grant select on {SCHEMA}.tags to anon")
    assert _eventually(lambda: probe.get("/rest/v1/notes", params=embedded), 200).json() == [
        {"id": 1, "tags": [{"label": "a"}]}]
    # a view made later carries the keys of its table once the cache has reloaded
    admin.execute(f"create view {SCHEMA}.note_bodies as select id, body from {SCHEMA}.notes;"
                  f" grant select on {SCHEMA}.note_bodies to anon")
    viewed = {"select": "body,tags(label)"}
    assert _eventually(lambda: probe.get("/rest/v1/note_bodies", params=viewed), 200).json() \
        == [{"body": "first", "tags": [{"label": "a"}]}]


def test_role_settings_are_reloaded_by_reload_config_and_by_a_bare_notify(
        probe: httpx.Client, admin: psycopg.Connection[Any], bootstrap_url: str) -> None:
    admin.execute(f"create function {SCHEMA}.flag() returns text language sql stable"
                  " as $$ select current_setting('reload_probe.flag', true) $$;"
                  f" grant execute on all functions in schema {SCHEMA} to anon")
    assert _eventually(lambda: probe.get("/rest/v1/rpc/flag"), 200).json() in (None, "")
    database = admin.info.dbname
    with psycopg.connect(bootstrap_url, autocommit=True) as superuser:
        try:
            # ALTER ROLE is not DDL an event trigger sees: PostgREST needs the NOTIFY
            superuser.execute(f'alter role anon in database "{database}"'
                              " set reload_probe.flag = 'one'")
            admin.execute("notify pgrst, 'reload config'")
            _wait_for(lambda: probe.get("/rest/v1/rpc/flag").json() == "one", lambda: "'one'")
            superuser.execute(f'alter role anon in database "{database}"'
                              " set reload_probe.flag = 'two'")
            admin.execute("notify pgrst")
            _wait_for(lambda: probe.get("/rest/v1/rpc/flag").json() == "two", lambda: "'two'")
        finally:
            superuser.execute(f'alter role anon in database "{database}"'
                              " reset reload_probe.flag")
            admin.execute("notify pgrst, 'reload config'")


def test_a_listener_that_lost_its_connection_reloads_once_it_is_back(
        probe: httpx.Client, admin: psycopg.Connection[Any], bootstrap_url: str) -> None:
    missing = probe.post("/rest/v1/rpc/late", json={})
    assert (missing.status_code, _code(missing)) == (404, "PGRST202")
    with psycopg.connect(bootstrap_url, autocommit=True) as superuser:  # the same database
        superuser.execute("alter event trigger pgrst_ddl_watch disable")
        try:  # so that only the reload on reconnection can show the new function
            admin.execute(f"create function {SCHEMA}.late() returns int language sql"
                          f" as $$ select 7 $$; grant execute on all functions in schema"
                          f" {SCHEMA} to anon")
        finally:
            superuser.execute("alter event trigger pgrst_ddl_watch enable")
        superuser.execute("select pg_terminate_backend(pid, 5000) from pg_stat_activity"
                          " where application_name = %s", (LISTENER,))
        _wait_for(lambda: listening(admin, LISTENER), lambda: "the listener to reconnect")
    assert _eventually(lambda: probe.post("/rest/v1/rpc/late", json={}), 200).json() == 7
