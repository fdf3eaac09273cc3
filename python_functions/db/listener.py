"""PostgREST's listener (v16.1: `AppState/Reload.hs`, docs/references/listener.rst), for
the two callers that keep what they read of the catalog as PostgREST does: the local API and
the AI service's direct transport. Each listens on the channel `pgrst` and reloads when told.

    NOTIFY pgrst, 'reload schema';   the schema cache (functions, tables, foreign keys) and
                                     the roles' settings, which PostgREST re-reads with it
    NOTIFY pgrst;                    the same
    NOTIFY pgrst, 'reload config';   the roles' settings
    anything else                    ignored

Supabase's event triggers send the first after DDL (`extensions.pgrst_ddl_watch` and
`pgrst_drop_watch`; `sql/supabase_standin.sql` creates them for a plain Postgres), so a
migration applied while the service or `make run` is up is served without a restart. A
schema reload also replaces the pool's connections, as PostgREST flushes its pool: their
prepared statements were planned against the old catalog. A lost connection is retried after
1 s, then 2, 4, … up to 32 s between tries, and once it is back the schema is reloaded, since
notifications sent meanwhile were missed. (LISTEN needs a session: through a pooler in
transaction mode nothing is heard, as for PostgREST.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import psycopg

log = logging.getLogger("python_functions.db.listener")

CHANNEL = "pgrst"  # PostgREST's `db-channel`, as on Supabase
MAX_DELAY_S = 32


class Listener:
    """LISTEN on one connection of its own, from `start` until `stop` (or for as long as
    `run` runs)."""

    def __init__(self, database_url: str, application_name: str,
                 reload_schema: Callable[[], Awaitable[None]],
                 reload_config: Callable[[], None]) -> None:
        self.database_url = database_url
        self.application_name = application_name
        self.reload_schema = reload_schema
        self.reload_config = reload_config
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Listen in the background, on the running event loop."""
        self._task = self._task or asyncio.create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        delay = 1
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.database_url, autocommit=True, connect_timeout=3,
                        application_name=self.application_name) as conn:
                    await conn.execute(f"listen {CHANNEL}")
                    if delay > 1:  # back after a loss
                        await self.reload_schema()
                        delay = 1
                    log.info("listening for schema reloads", extra={"channel": CHANNEL})
                    async for notice in conn.notifies():
                        await self._handle(notice.payload)
            except Exception as exc:  # anything: a dead listener would serve stale caches
                log.warning("schema reload listener stopped; retrying",
                            extra={"error_type": type(exc).__name__, "retry_in_s": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY_S)

    async def _handle(self, payload: str) -> None:
        if payload in ("", "reload schema"):
            log.info("schema cache reloaded", extra={"channel": CHANNEL})
            await self.reload_schema()
        elif payload == "reload config":
            log.info("config reloaded", extra={"channel": CHANNEL})
            self.reload_config()
