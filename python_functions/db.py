"""Database access for the AI service, behind a small interface.

The service only calls service-only RPCs (`begin_*`, `finish_*`) as `service_role`. Today
the transport is a direct async connection pool running each call exactly as PostgREST
would (`rpc.acall`); a PostgREST transport (supabase-py with the service role key) can
implement the same `Database` protocol for deployments that only have the Supabase URL.
"""

from __future__ import annotations

from typing import Any, Protocol

from psycopg_pool import AsyncConnectionPool

from python_functions import rpc

SERVICE_CLAIMS = {"role": "service_role", "iss": "python_functions"}


class Database(Protocol):
    async def call(self, function: str, args: dict[str, Any]) -> rpc.RpcResponse:
        """Call `schema.function` as service_role; errors come back as responses."""
        ...

    async def ping(self) -> bool: ...

    async def close(self) -> None: ...


class PostgresDatabase:
    def __init__(self, url: str, max_size: int = 10) -> None:
        self._pool = AsyncConnectionPool(
            url, min_size=1, max_size=max_size, open=False, timeout=10,
            kwargs={"autocommit": True, "application_name": "python_functions"},
        )

    async def open(self) -> None:
        await self._pool.open(wait=False)

    async def call(self, function: str, args: dict[str, Any]) -> rpc.RpcResponse:
        schema, _, name = function.partition(".")
        async with self._pool.connection() as conn:
            return await rpc.acall(conn, schema, name, args, SERVICE_CLAIMS)

    async def ping(self) -> bool:
        try:
            async with self._pool.connection(timeout=2) as conn:
                await conn.execute("select 1")
            return True
        except Exception:
            return False

    async def close(self) -> None:
        await self._pool.close()
