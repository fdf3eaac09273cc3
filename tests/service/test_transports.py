"""The two database transports answer the same RpcResponse for the same call: DATABASE_URL
(the direct pool) and supabase-py through PostgREST (here the local API)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest

from python_functions.db.pool import LifoConnectionPool
from python_functions.db.rpc import RpcResponse
from python_functions.db.transports import LISTENER_NAME, PostgresDatabase, PostgrestDatabase
from python_functions.local.cluster import free_port
from python_functions.service.settings import LOCAL_SECRET_KEY
from tests.conftest import User, listening
from tests.http_fixtures import SERVICE_ROLE_KEY, ServerThread

Call = tuple[str, dict[str, Any]]


async def _both(database_url: str, api_url: str, calls: list[Call]
                ) -> list[tuple[RpcResponse, RpcResponse]]:
    direct = PostgresDatabase(database_url, 2)
    through = PostgrestDatabase(api_url, SERVICE_ROLE_KEY)
    await direct.open()
    await through.open()
    try:
        return [(await direct.call(f, a), await through.call(f, a)) for f, a in calls]
    finally:
        await direct.close()
        await through.close()


def _same(first: RpcResponse, second: RpcResponse) -> None:
    assert (first.status, first.body) == (second.status, second.body)
    for header in ("Content-Type", "Content-Range", "Retry-After"):
        assert first.header(header) == second.header(header), header


def test_successes_and_errors_are_the_same_on_both(database_url: str,
                                                   postgrest_api: ServerThread,
                                                   alice: User) -> None:
    begin = ("flashcards.begin_ai_session",
             {"user_id": alice.id, "input_text": "x" * 1200, "model": "local/rules"})
    results = asyncio.run(_both(database_url, postgrest_api.url, [
        ("pullups.no_such_function", {"a": 1}),
        ("flashcards.begin_ai_session", {"user_id": alice.id}),
        ("flashcards.begin_ai_session", {**begin[1], "user_id": "not-a-uuid"}),
        ("recipes.begin_draft", {"user_id": str(uuid.uuid4())}),
    ]))
    for direct, through in results:
        _same(direct, through)
    assert [d.status for d, _ in results][:3] == [404, 404, 400]
    assert results[3][0].status >= 400
    # a write through each: the same answer but for the new ids
    (first, second), = asyncio.run(_both(database_url, postgrest_api.url, [begin]))
    assert first.status == second.status == 200, (first.body, second.body)
    assert set(first.body) == set(second.body)


@pytest.mark.parametrize("key", [SERVICE_ROLE_KEY, LOCAL_SECRET_KEY], ids=["legacy", "secret"])
def test_the_postgrest_transport_takes_the_legacy_service_key_or_a_secret_key(
        postgrest_api: ServerThread, alice: User, key: str) -> None:
    """SUPABASE_SERVICE_ROLE_KEY may be the project's secret key (`sb_secret_…`, what new
    projects have) as well as the legacy service_role JWT; the gateway takes either."""
    async def call() -> tuple[bool, RpcResponse]:
        database = PostgrestDatabase(postgrest_api.url, key)
        await database.open()
        try:
            return await database.ping(), await database.call(
                "recipes.begin_draft", {"user_id": alice.id})
        finally:
            await database.close()

    reachable, begun = asyncio.run(call())
    assert reachable
    assert begun.status == 200, begun.body


def test_an_unreachable_postgrest_is_503_pgrst000() -> None:
    async def call() -> RpcResponse:
        database = PostgrestDatabase(f"http://127.0.0.1:{free_port()}", SERVICE_ROLE_KEY)
        await database.open()
        try:
            assert not await database.ping()
            return await database.call("pullups.begin_generation", {})
        finally:
            await database.close()

    response = asyncio.run(call())
    assert response.status == 503
    assert response.body["code"] == "PGRST000"


@pytest.mark.parametrize("status", [502, 503])
def test_a_non_postgrest_answer_is_not_taken_for_one(status: int) -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def page(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("<html>gateway</html>", status_code=status)

    app = Starlette(routes=[Route("/rest/v1/rpc/{f}", page, methods=["POST"])])
    with ServerThread(app) as proxy:
        async def call() -> RpcResponse:
            database = PostgrestDatabase(proxy.url, SERVICE_ROLE_KEY)
            await database.open()
            try:
                return await database.call("pullups.begin_generation", {})
            finally:
                await database.close()

        response = asyncio.run(call())
    assert response.status in (502, 503)
    assert set(response.body) == {"code", "message", "details", "hint"}


@pytest.mark.parametrize("prepared", [True, False])
def test_the_pool_prepares_statements_unless_told_not_to(database_url: str, alice: User,
                                                        prepared: bool) -> None:
    """Behind a pooler in transaction mode (DB_PREPARED_STATEMENTS=false) no statement may be
    prepared: the next transaction may run on another server connection."""
    async def scenario() -> int:
        database = PostgresDatabase(database_url, 1, prepared=prepared)
        await database.open()
        try:
            for _ in range(3):
                answer = await database.call("flashcards.begin_ai_session", {
                    "user_id": alice.id, "input_text": "x", "model": "local/rules"})
                assert answer.status == 400  # too short: an answer all the same
            async with database._pool.connection() as conn:
                cursor = await conn.execute("select count(*) from pg_prepared_statements")
                row = await cursor.fetchone()
            assert row is not None
            return int(row[0])
        finally:
            await database.close()

    assert asyncio.run(scenario()) == (2 if prepared else 0)


def test_the_pool_hands_out_the_connection_returned_last(database_url: str) -> None:
    """After a burst has opened several connections, one call after another runs on one hot
    backend (psycopg_pool's own order would take each of the four in turn)."""
    async def scenario() -> tuple[list[int], list[int], int]:
        async with LifoConnectionPool(database_url, min_size=4, max_size=4,
                                      kwargs={"autocommit": True}) as pool:
            await pool.wait()
            held = [await pool.getconn() for _ in range(4)]
            order = [conn.info.backend_pid for conn in held]
            for conn in held:
                await pool.putconn(conn)
            calls = []
            for _ in range(6):
                async with pool.connection() as conn:
                    await conn.execute("select 1")
                    calls.append(conn.info.backend_pid)
            return order, calls, pool.get_stats()["pool_size"]

    order, calls, size = asyncio.run(scenario())
    assert len(set(order)) == 4
    assert calls == [order[-1]] * 6
    assert size == 4  # the others are kept, idle



def test_the_direct_transport_reloads_on_notify_as_postgrest_does(
        database_url: str, admin: psycopg.Connection[Any]) -> None:
    """A schema reload (`NOTIFY pgrst`) flushes the pool, as PostgREST's does: the call
    before it is closed and the next runs on another. (The signatures it forgets are the same
    cache the local API's tests watch: tests/local_api/test_schema_reload.py.)"""
    schema = f"transport_probe_{uuid.uuid4().hex[:8]}"

    def closed(pid: int) -> bool:
        return admin.execute("select from pg_stat_activity where pid = %s",
                             (pid,)).fetchone() is None

    async def scenario() -> bool:
        name = f"{LISTENER_NAME}_{uuid.uuid4().hex[:8]}"  # told from the other services'
        db = PostgresDatabase(database_url, listener_name=name)
        await db.open()
        try:
            for _ in range(300):  # at most 15 s for its listener to connect
                if listening(admin, name):
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the listener did not connect")
            backend = f"{schema}.backend"
            first = await db.call(backend, {})
            assert first.status == 200
            admin.execute("notify pgrst, 'reload schema'")
            for _ in range(300):  # at most 15 s for the notification
                if (await db.call(backend, {})).body != first.body and closed(first.body):
                    return True
                await asyncio.sleep(0.05)
            return False
        finally:
            await db.close()

    admin.execute(f"create schema {schema}; grant usage on schema {schema} to service_role;"
                  f" create function {schema}.backend() returns int language sql"
                  f" as $$ select pg_backend_pid() $$; grant execute on function"
                  f" {schema}.backend() to service_role")
    try:
        assert asyncio.run(scenario()), "the pool was not flushed"
    finally:
        admin.execute(f"drop schema {schema} cascade")


def test_behind_a_transaction_mode_pooler_a_changed_signature_is_read_again(
        database_url: str, bootstrap_url: str, admin: psycopg.Connection[Any]) -> None:
    """Nothing LISTENs there: a migration that renames or retypes a parameter makes the kept
    signature fail (404 PGRST202 from the cache, 42883 from Postgres), and the call reads the
    signature again instead of failing until a restart. The DDL runs without Supabase's
    event triggers (as the stand-in's superuser), so no other listener in this process
    clears the cache for it."""
    schema = f"transport_probe_{uuid.uuid4().hex[:8]}"
    greet = f"{schema}.greet"

    def migrate(definition: str) -> None:
        with psycopg.connect(bootstrap_url) as superuser:
            superuser.execute("set local session_replication_role = replica")  # no NOTIFY
            superuser.execute(f"drop function {greet}; create function {greet}{definition};"
                              f" grant execute on all functions in schema {schema}"
                              " to service_role")

    async def scenario() -> list[RpcResponse]:
        db = PostgresDatabase(database_url, 1, prepared=False)
        await db.open()
        try:
            answers = [await db.call(greet, {"name": "Ada"})]
            migrate("(who text) returns text language sql as $$ select 'hi ' || who $$")
            answers.append(await db.call(greet, {"who": "Ada"}))
            migrate("(who int) returns text language sql as $$ select 'no. ' || who $$")
            answers.append(await db.call(greet, {"who": 7}))
            return answers
        finally:
            await db.close()

    admin.execute(f"create schema {schema}; grant usage on schema {schema} to service_role;"
                  f" create function {greet}(name text) returns text language sql"
                  f" as $$ select 'hello ' || name $$;"
                  f" grant execute on function {greet}(text) to service_role")
    try:
        answers = asyncio.run(scenario())
    finally:
        admin.execute(f"drop schema {schema} cascade")
    assert [(a.status, a.body) for a in answers] == [
        (200, "hello Ada"), (200, "hi Ada"), (200, "no. 7")]
