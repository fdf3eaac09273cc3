"""Statements sent through libpq's pipeline directly: one write, one Sync, one wait.

`rpc.call`/`acall` send two statements per call (the request context, then the call).
psycopg's `Connection.pipeline()` does this in one round trip too, but its machinery (a
pipeline object, a cursor per statement, query conversion and parameter adaptation on every
call) cost about three times what libpq itself needs (`make bench BENCH_ARGS=rpcs`). Here the two
statements go to the connection's own `PGconn` (psycopg's public `pq` layer): each is
prepared once per connection (`send_prepare` in the same pipeline, so that costs no extra
round trip) unless the connection has `prepare_threshold=None` (a pooler in transaction
mode), then run with text parameters; libpq writes everything at the Sync.

The exchange is written once, as a generator that says what it waits for, and driven by
poll(2) for sync connections and by the event loop for async ones. The connection is left
as psycopg expects it: out of pipeline mode, non-blocking, idle. If the exchange is
interrupted (a cancelled request, a dropped connection), the connection is closed, so a pool
discards it instead of handing out one in the middle of a pipeline.
"""

from __future__ import annotations

import asyncio
import select
import weakref
from collections.abc import Generator, Sequence
from typing import Any

import psycopg
from psycopg import pq
from psycopg.errors import Diagnostic

Params = Sequence[bytes | None]
Step = tuple[bytes, Params]  # SQL with $n placeholders, and its text parameters

WAIT_READ = 1
WAIT_WRITE = 2
WAIT_READ_WRITE = WAIT_READ | WAIT_WRITE


class _Prepared:
    """What is prepared on one connection: statement text -> name."""

    def __init__(self) -> None:
        self.names: dict[bytes, bytes] = {}
        self.count = 0  # names are never reused, even for one that failed to prepare

    def new_name(self) -> bytes:
        self.count += 1
        return f"pf_{self.count}".encode()


# per connection (a new PGconn starts empty)
_prepared: weakref.WeakKeyDictionary[Any, _Prepared] = weakref.WeakKeyDictionary()


class StatementError(Exception):
    """A statement failed on the server: its diagnostics, as psycopg's errors carry them."""

    def __init__(self, diag: Diagnostic) -> None:
        super().__init__(diag.message_primary)
        self.diag = diag


def _exchange(pg: Any, steps: Sequence[Step], prepare: bool
              ) -> Generator[int, int, list[pq.abc.PGresult]]:
    """Send `steps` with one Sync and collect their results (sans I/O: yields what it waits
    for and is sent what is ready). A failed prepare's error stands for its statement."""
    prepared = _prepared.get(pg) if prepare else _Prepared()
    if prepared is None:
        prepared = _prepared[pg] = _Prepared()
    sent: list[bytes | None] = []  # per command: the text a prepare prepares, None: a step
    pg.enter_pipeline_mode()
    for sql_text, params in steps:
        if not prepare:
            pg.send_query_params(sql_text, params)
        else:
            name = prepared.names.get(sql_text)
            if name is None:
                name = prepared.new_name()
                pg.send_prepare(name, sql_text)
                sent.append(sql_text)
                prepared.names[sql_text] = name
            pg.send_query_prepared(name, params)
        sent.append(None)
    pg.pipeline_sync()
    while pg.flush() != 0:
        if (yield WAIT_READ_WRITE) & WAIT_READ:
            pg.consume_input()
    results: list[pq.abc.PGresult] = []
    for command in sent:
        while True:
            while pg.is_busy():
                yield WAIT_READ
                pg.consume_input()
            result = pg.get_result()
            if result is not None:
                break
            if pg.status == pq.ConnStatus.BAD:
                raise psycopg.OperationalError(pg.get_error_message().decode(errors="replace"))
        if command is None:
            results.append(result)
        elif result.status != pq.ExecStatus.COMMAND_OK:
            prepared.names.pop(command, None)  # not prepared (the pipeline stopped before)
            if result.status == pq.ExecStatus.FATAL_ERROR:
                results.append(result)
        pg.get_result()  # each command's results end with a NULL (not waited for)
    try:
        while True:  # then the Sync's own result
            while pg.is_busy():
                yield WAIT_READ
                pg.consume_input()
            sync = pg.get_result()
            if sync is not None and sync.status == pq.ExecStatus.PIPELINE_SYNC:
                break
            if pg.status == pq.ConnStatus.BAD:
                raise psycopg.OperationalError(pg.get_error_message().decode(errors="replace"))
    except psycopg.OperationalError:
        # A server that ends the connection (57P01: pg_terminate_backend, a shutdown) says
        # why in a statement's error before it closes: that error is the outcome, as a
        # client that reads results one by one (PostgREST's) reports it.
        if any(r.status == pq.ExecStatus.FATAL_ERROR for r in results):
            return results
        raise
    pg.exit_pipeline_mode()
    return results


def _exchange_again_if_deallocated(pg: Any, steps: Sequence[Step], prepare: bool
                                   ) -> Generator[int, int, list[pq.abc.PGresult]]:
    """`_exchange`, once more if our prepared statements were gone (SQLSTATE 26000: a
    `DEALLOCATE ALL`, or a pooler that dropped them). The failed transaction rolled back,
    so running it again is safe."""
    results = yield from _exchange(pg, steps, prepare)
    if prepare and any(r.error_field(pq.DiagnosticField.SQLSTATE) == b"26000"
                       for r in results):
        _prepared.pop(pg, None)
        results = yield from _exchange(pg, steps, prepare)
    return results


def _outcome(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any],
             results: list[pq.abc.PGresult], steps: int) -> list[pq.abc.PGresult]:
    for result in results:
        if result.status == pq.ExecStatus.FATAL_ERROR:
            raise StatementError(Diagnostic(result, conn.info.encoding))
    if len(results) != steps:
        raise psycopg.InternalError(f"expected {steps} results, got {len(results)}")
    return results


def run(conn: psycopg.Connection[Any], steps: Sequence[Step]) -> list[pq.abc.PGresult]:
    """The steps' results over a sync connection (in autocommit mode, idle); a failed step
    raises `StatementError`, a lost connection `psycopg.OperationalError`."""
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    with conn.lock:
        pg = conn.pgconn
        fileno = pg.socket
        gen = _exchange_again_if_deallocated(pg, steps, conn.prepare_threshold is not None)
        try:
            wait = next(gen)
            while True:
                wait = gen.send(_poll(fileno, wait))
        except StopIteration as done:
            results: list[pq.abc.PGresult] = done.value
        except BaseException:
            pg.finish()
            raise
    return _outcome(conn, results, len(steps))


async def arun(conn: psycopg.AsyncConnection[Any], steps: Sequence[Step],
               prepare: bool | None = None) -> list[pq.abc.PGresult]:
    """`run` over an async connection, waiting on the event loop. `prepare=False`: sent
    unprepared whatever the connection says (statements whose text varies per request)."""
    if conn.closed:
        raise psycopg.OperationalError("the connection is closed")
    loop = asyncio.get_running_loop()
    if prepare is None:
        prepare = conn.prepare_threshold is not None
    async with conn.lock:
        pg = conn.pgconn
        fileno = pg.socket
        gen = _exchange_again_if_deallocated(pg, steps, prepare)
        try:
            wait = next(gen)
            while True:
                wait = gen.send(await _ready(loop, fileno, wait))
        except StopIteration as done:
            results: list[pq.abc.PGresult] = done.value
        except BaseException:
            pg.finish()
            raise
    return _outcome(conn, results, len(steps))


def _poll(fileno: int, wait: int) -> int:
    poller = select.poll()
    poller.register(fileno, select.POLLIN | (select.POLLOUT if wait == WAIT_READ_WRITE else 0))
    events = 0
    for _, mask in poller.poll():
        events |= (WAIT_READ if mask & (select.POLLIN | select.POLLERR | select.POLLHUP) else 0)
        events |= (WAIT_WRITE if mask & select.POLLOUT else 0)
    return events


async def _ready(loop: asyncio.AbstractEventLoop, fileno: int, wait: int) -> int:
    ready: asyncio.Future[int] = loop.create_future()

    def mark(flag: int) -> None:
        if not ready.done():
            ready.set_result(flag)

    loop.add_reader(fileno, mark, WAIT_READ)
    if wait == WAIT_READ_WRITE:
        loop.add_writer(fileno, mark, WAIT_WRITE)
    try:
        return await ready
    finally:
        loop.remove_reader(fileno)
        if wait == WAIT_READ_WRITE:
            loop.remove_writer(fileno)
