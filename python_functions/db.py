"""Database access for the AI service, behind a small interface.

The service only calls service-only RPCs (`begin_*`, `finish_*`) as `service_role`. Today
the transport is a direct async connection pool running each call exactly as PostgREST
would (`rpc.acall`); a PostgREST transport (supabase-py with the service role key) can
implement the same `Database` protocol for deployments that only have the Supabase URL.

Database trouble is an answer, not an exception: a connection is checked when it is taken
from the pool (one that died in a restart is replaced, not handed to a request), and when
no connection can be had within CONNECT_TIMEOUT_S the call answers 503 `PGRST000`, as
PostgREST does while its database is away.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from python_functions import rpc

CONNECT_TIMEOUT_S = 3.0

SERVICE_CLAIMS = {"role": "service_role", "iss": "python_functions"}


class Database(Protocol):
    async def call(self, function: str, args: dict[str, Any]) -> rpc.RpcResponse:
        """Call `schema.function` as service_role; errors come back as responses."""
        ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class PostgresDatabase:
    def __init__(self, url: str, max_size: int = 10) -> None:
        self._url = url
        self._checking: asyncio.Task[None] | None = None
        self._pool = AsyncConnectionPool(
            url, min_size=1, max_size=max_size, open=False, timeout=CONNECT_TIMEOUT_S,
            check=AsyncConnectionPool.check_connection,
            kwargs={"autocommit": True, "application_name": "python_functions",
                    "connect_timeout": int(CONNECT_TIMEOUT_S)},
        )

    async def open(self) -> None:
        await self._pool.open(wait=False)

    async def call(self, function: str, args: dict[str, Any]) -> rpc.RpcResponse:
        schema, _, name = function.partition(".")
        try:
            async with self._pool.connection() as conn:
                response = await rpc.acall(conn, schema, name, args, SERVICE_CLAIMS)
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
                    self._url, autocommit=True, application_name="python_functions",
                    connect_timeout=int(CONNECT_TIMEOUT_S)) as conn:
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
        await self._pool.close()
