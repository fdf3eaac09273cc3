"""Database access for the AI service, behind a small interface, over two transports.

The service only calls service-only RPCs (`begin_*`, `finish_*`) as `service_role`:

* `PostgresDatabase` (DATABASE_URL): a direct async connection pool running each call
  exactly as PostgREST would (`rpc.acall`);
* `PostgrestDatabase` (SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY, no DATABASE_URL): the
  same calls through the project's PostgREST with supabase-py's async client, for a
  deployment that has only the project URL and key.

Both answer the same `RpcResponse` (status, headers, body) for the same call.

The direct transport keeps the function signatures it reads, as PostgREST does, until
`NOTIFY pgrst` (which Supabase's event triggers send after DDL) tells it to reload them
(`db/listener.py`). Through a pooler in transaction mode (`prepared=False`) LISTEN hears
nothing, so a call the kept signatures no longer fit (404 `PGRST202` from the cache, or
`42883` from Postgres: a migration changed the function's parameters) reads them again and
runs once more; its transaction was rolled back, so nothing runs twice.

Database trouble is an answer, not an exception: a connection is checked when it is taken
from the pool (one that died in a restart is replaced, not handed to a request), and when
no connection can be had within CONNECT_TIMEOUT_S the call answers 503 `PGRST000`, as
PostgREST does while its database is away.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any, Protocol, cast

import httpx
import psycopg
from postgrest import AsyncPostgrestClient
from postgrest.base_request_builder import RequestConfig
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from python_functions.db import rpc
from python_functions.db.listener import Listener
from python_functions.db.pool import LifoConnectionPool
from supabase import AsyncClient, AsyncClientOptions, acreate_client

CONNECT_TIMEOUT_S = 3.0
LISTENER_NAME = "python_functions_listener"  # its connection's application_name

SERVICE_CLAIMS = {"role": "service_role", "iss": "python_functions"}


class Database(Protocol):
    async def call(self, function: str, args: dict[str, Any]) -> rpc.RpcResponse:
        """Call `schema.function` as service_role; errors come back as responses."""
        ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


# A connection that answered this recently is handed out without a check: the check is a
# round trip of its own, on every call of a busy service. One that dies in between (a
# restart) fails its call, which is then retried on a fresh connection (below).
CHECK_IDLE_AFTER_S = 1.0
# what a call answers when the signature it was sent with is no longer the function's
_STALE_SIGNATURE = ("PGRST202", "42883")


class PostgresDatabase:
    def __init__(self, url: str, max_size: int = 10, prepared: bool = True,
                 listener_name: str = LISTENER_NAME) -> None:
        """`prepared=False` for a pooler in transaction mode: statements are sent unprepared
        (psycopg's `prepare_threshold=None`, which `rpc`'s pipeline follows), and nothing
        listens. `listener_name`: the application_name of the LISTEN connection."""
        self._url = url
        self._connect_options: dict[str, Any] = {
            "autocommit": True, "application_name": "python_functions",
            "connect_timeout": int(CONNECT_TIMEOUT_S)}
        if not prepared:
            self._connect_options["prepare_threshold"] = None
        self._checking: asyncio.Task[None] | None = None
        self._answered_at: dict[int, float] = {}  # id(connection) -> when it last answered
        self._pool = LifoConnectionPool(
            url, min_size=1, max_size=max_size, open=False, timeout=CONNECT_TIMEOUT_S,
            check=self._check,
            kwargs=self._connect_options,
        )
        self._listener = (Listener(url, listener_name, self._reload_schema,
                                   rpc.clear_role_settings) if prepared else None)

    async def _reload_schema(self) -> None:
        await self._pool.drain()
        rpc.clear_schema_cache()

    async def _check(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """The pool's check on checkout, skipped for a connection that just answered."""
        if time.monotonic() - self._answered_at.get(id(conn), -1e9) < CHECK_IDLE_AFTER_S:
            return
        self._answered_at.pop(id(conn), None)
        await AsyncConnectionPool.check_connection(conn)

    async def open(self) -> None:
        await self._pool.open(wait=False)
        if self._listener is not None:
            self._listener.start()

    async def call(self, function: str, args: dict[str, Any]) -> rpc.RpcResponse:
        response = await self._call(function, args)
        if self._listener is None and response.status == 404 \
                and isinstance(response.body, dict) \
                and response.body.get("code") in _STALE_SIGNATURE:
            rpc.clear_schema_cache()
            response = await self._call(function, args)
        return response

    async def _call(self, function: str, args: dict[str, Any]) -> rpc.RpcResponse:
        schema, _, name = function.partition(".")
        try:
            async with self._pool.connection() as conn:
                response = await rpc.acall(conn, schema, name, args, SERVICE_CLAIMS)
                if response.status != 503:
                    self._answered_at[id(conn)] = time.monotonic()
        except (PoolTimeout, psycopg.OperationalError):
            response = rpc.unavailable()
        if response.status != 503:
            return response
        # The server went away under the pool (a restart): have the pool drop its dead
        # connections all at once, and meanwhile try once more on a connection of our own,
        # since the pool reconnects with a backoff that may outlast the outage.
        self._checking = self._checking or asyncio.create_task(self._check_pool())
        try:
            async with await psycopg.AsyncConnection.connect(
                    self._url, **self._connect_options) as conn:
                return await rpc.acall(conn, schema, name, args, SERVICE_CLAIMS)
        except psycopg.OperationalError:
            return rpc.unavailable()

    async def _check_pool(self) -> None:
        try:
            await self._pool.check()
        finally:
            self._checking = None

    async def ping(self) -> bool:
        try:
            async with self._pool.connection(timeout=2) as conn:
                await conn.execute("select 1")
            return True
        except Exception:
            return False

    async def close(self) -> None:
        if self._listener is not None:
            await self._listener.stop()
        await self._pool.close()


log = logging.getLogger("python_functions.db.transports")


class PostgrestDatabase:
    """The `Database` protocol through PostgREST, with supabase-py's async client and the
    service role key. Each call is `schema(...).rpc(...)`, sent by supabase-py's own request
    (its URL, headers and profile), whose HTTP answer becomes the `RpcResponse`: the status,
    headers and body PostgREST gave, which supabase-py's `execute()` would reduce to data or
    an exception without the status."""

    def __init__(self, url: str, service_role_key: str, max_connections: int = 10) -> None:
        self._url = url.rstrip("/")
        self._key = service_role_key
        # explicit timeouts; keep-alive connections reused across calls
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(10.0, connect=CONNECT_TIMEOUT_S),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections))
        self._client: AsyncClient | None = None
        self._schemas: dict[str, AsyncPostgrestClient] = {}

    async def open(self) -> None:
        self._client = await acreate_client(self._url, self._key, AsyncClientOptions(
            httpx_client=self._http, auto_refresh_token=False, persist_session=False,
            postgrest_client_retry=False))

    def _schema(self, schema: str) -> AsyncPostgrestClient:
        if schema not in self._schemas:  # one per schema, all on the one HTTP session
            assert self._client is not None, "open() first"
            self._schemas[schema] = self._client.schema(schema)
        return self._schemas[schema]

    async def call(self, function: str, args: dict[str, Any]) -> rpc.RpcResponse:
        schema, _, name = function.partition(".")
        # supabase-py types the RPC builder's request with its sync client's `send`
        request = cast("RequestConfig[httpx.AsyncClient]",
                       self._schema(schema).rpc(name, args).request)
        try:
            answer = await request.send(httpx.Headers())
        except httpx.HTTPError as exc:
            log.warning("postgrest unreachable", extra={"error_type": type(exc).__name__})
            return rpc.unavailable()
        try:
            body = json.loads(answer.content) if answer.content else None
        except ValueError:  # not PostgREST answering (a proxy's error page)
            log.error("postgrest answered no JSON", extra={"status": answer.status_code})
            return rpc.unavailable() if answer.status_code >= 500 else rpc.RpcResponse(
                502, {}, {"code": "BAD_GATEWAY", "message": "Not a PostgREST answer",
                          "details": None, "hint": None})
        return rpc.RpcResponse(answer.status_code, dict(answer.headers), body)

    async def ping(self) -> bool:
        """Whether PostgREST answers (its 503 while its database is away counts as not)."""
        try:
            answer = await self._http.get(f"{self._url}/rest/v1/", headers={
                "apikey": self._key, "Authorization": f"Bearer {self._key}"}, timeout=2)
        except httpx.HTTPError:
            return False
        return answer.status_code < 500

    async def close(self) -> None:
        await self._http.aclose()
