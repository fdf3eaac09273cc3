"""Shared fixtures: one throwaway Postgres per test session, users, and a PostgREST-like caller.

The database, in order of preference: `TEST_DATABASE_URL` (e.g. `supabase start`'s database,
`postgresql://postgres:postgres@127.0.0.1:54322/postgres`), a testcontainers Postgres where a
Docker engine answers, else a local cluster started from the machine's PostgreSQL binaries
under /tmp (as the `postgres` OS user when run as root); under pytest-xdist, one per worker
(`TEST_DATABASE_URL` needs a single process). Every test connects as `postgres`,
which is not a superuser, exactly as on Supabase.

Clean-up touches only the project's own tables and the users the tests created (emails under
TEST_EMAIL_DOMAIN), so the suite may run against a real Supabase database.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
import pytest

from python_functions import PROJECT_ROOT
from python_functions.db import rpc
from python_functions.local import NODE, migrations
from python_functions.local.cluster import throwaway_cluster
from python_functions.service.auth import user_claims

pytest_plugins = ["tests.http_fixtures"]  # the service and the offline provider, for every app

TEST_EMAIL_DOMAIN = "tests.invalid"  # RFC 2606: never a real mailbox
# the user metadata of the anonymous users tests sign up (they have no address to match)
TEST_ANONYMOUS_DATA = {"test_domain": TEST_EMAIL_DOMAIN}


def _docker_engine_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=2)
        return bool(client.ping())
    except Exception:
        return False


@dataclass(frozen=True)
class TestDatabase:
    url: str  # as `postgres`
    bootstrap_url: str | None  # the superuser that applied the stand-in; None on Supabase


@pytest.fixture(scope="session")
def test_database() -> Iterator[TestDatabase]:
    external = os.environ.get("TEST_DATABASE_URL")
    if external:
        if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:  # they would clean
            raise pytest.UsageError(  # each other's rows away mid-test
                "TEST_DATABASE_URL is one database: run the suite in one process (-n 0)")
        migrations.prepare_database(external, seed=False)
        yield TestDatabase(external, None)
        return
    if _docker_engine_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:15", username="supabase_admin", password="postgres",
                               dbname="postgres", driver=None) as container:
            bootstrap = container.get_connection_url()
            url = bootstrap.replace("supabase_admin:", "postgres:", 1)
            migrations.prepare_database(url, seed=False, bootstrap_dsn=bootstrap)
            yield TestDatabase(url, bootstrap)
        return
    with throwaway_cluster(durable=False) as cluster:
        migrations.prepare_database(cluster.dsn, seed=False, bootstrap_dsn=cluster.admin_dsn)
        yield TestDatabase(cluster.dsn, cluster.admin_dsn)


@pytest.fixture(scope="session")
def database_url(test_database: TestDatabase) -> str:
    return test_database.url


@pytest.fixture(scope="session")
def bootstrap_url(test_database: TestDatabase) -> str:
    """The stand-in's superuser; tests of the stand-in itself skip on a real Supabase."""
    if test_database.bootstrap_url is None:
        pytest.skip("TEST_DATABASE_URL is a Supabase database: no stand-in to test")
    return test_database.bootstrap_url


@pytest.fixture(scope="session")
def admin(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    """A `postgres` connection (owner of the project's tables, BYPASSRLS, not a superuser)
    for arranging data and checking what was stored."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def _tables_to_truncate(conn: psycopg.Connection[Any]) -> list[str]:
    """The project's tables: those the migrations' role owns outside auth and the Supabase
    CLI's bookkeeping, operator-edited quota policies excepted. `rpc_test` is a module's own
    scratch schema, dropped when that module ends: never in the session's list."""
    rows = conn.execute(
        "select format('%I.%I', schemaname, tablename) from pg_tables"
        " where tableowner = current_user"
        " and schemaname not in ('auth', 'supabase_migrations', 'public', 'extensions',"
        " 'rpc_test')"
        " and (schemaname, tablename) <> ('core', 'quota_policies')"
        " order by 1"
    ).fetchall()
    return [r[0] for r in rows]


@pytest.fixture(scope="session")
def truncate_sql(admin: psycopg.Connection[Any]) -> str:
    return "truncate " + ", ".join(_tables_to_truncate(admin)) + " restart identity cascade"


@pytest.fixture(autouse=True)
def _clean_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that touches the database starts from empty app tables and without the
    users earlier tests created."""
    if "database_url" not in request.fixturenames:
        yield
        return
    admin: psycopg.Connection[Any] = request.getfixturevalue("admin")
    with admin.transaction():
        admin.execute(request.getfixturevalue("truncate_sql"))
        admin.execute("delete from auth.users where email like %s"
                      " or (is_anonymous and raw_user_meta_data ->> 'test_domain' = %s)",
                      (f"%@{TEST_EMAIL_DOMAIN}", TEST_EMAIL_DOMAIN))
        admin.execute("delete from core.quota_policies where bucket like 'test.%'")
    yield


@dataclass(frozen=True)
class User:
    id: str
    email: str

    @property
    def claims(self) -> dict[str, Any]:
        return user_claims(self.id, self.email)


@pytest.fixture
def make_user(admin: psycopg.Connection[Any]) -> Callable[..., User]:
    def factory(name: str = "user") -> User:
        user_id = str(uuid.uuid4())
        email = f"{name}-{user_id[:8]}@{TEST_EMAIL_DOMAIN}"
        insert_user(admin, user_id, email)
        return User(user_id, email)

    return factory


def insert_user(conn: psycopg.Connection[Any], user_id: str, email: str) -> None:
    """A confirmed email user, with the columns Supabase Auth itself fills in."""
    conn.execute(
        "insert into auth.users (instance_id, id, aud, role, email, email_confirmed_at,"
        " raw_app_meta_data, raw_user_meta_data, created_at, updated_at, confirmation_token,"
        " recovery_token, email_change_token_new, email_change)"
        " values ('00000000-0000-0000-0000-000000000000', %s, 'authenticated',"
        " 'authenticated', %s, now(), '{\"provider\": \"email\"}', '{}', now(), now(),"
        " '', '', '', '')",
        (user_id, email))


@pytest.fixture
def today(admin: psycopg.Connection[Any]) -> dt.date:
    """The database's date, which the session rules go by (not this machine's)."""
    row = admin.execute("select current_date").fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def alice(make_user: Callable[..., User]) -> User:
    return make_user("alice")


@pytest.fixture
def bob(make_user: Callable[..., User]) -> User:
    return make_user("bob")


SERVICE_ROLE_CLAIMS = {"role": "service_role", "iss": "supabase-local"}


class Api:
    """Calls RPCs through the PostgREST-faithful caller, as a supabase-js client would."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def __call__(
        self,
        function: str,
        user: User | None = None,
        *,
        claims: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        method: str = "POST",
        **args: Any,
    ) -> rpc.RpcResponse:
        schema, _, name = function.partition(".")
        if claims is None and user is not None:
            claims = user.claims
        return rpc.call(self.conn, schema, name, args, claims, headers, method)

    def service(self, function: str, **args: Any) -> rpc.RpcResponse:
        return self(function, claims=SERVICE_ROLE_CLAIMS, **args)


@pytest.fixture(scope="session")
def _api_conn(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def api(_api_conn: psycopg.Connection[Any], database_url: str) -> Api:
    return Api(_api_conn)


R = TypeVar("R")


def race(count: int, action: Callable[[Callable[[], object]], R]) -> list[R]:
    """Run `action` in `count` threads at once. Each gets `go`: it prepares what it needs
    (a connection, a client), calls go() and fires; all fire together. Returns the results;
    an exception in any thread fails the test."""
    barrier = threading.Barrier(count)
    results: list[R] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(action(barrier.wait))
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


def race_rpc(database_url: str, count: int, function: str, args: Mapping[str, Any],
             claims: Mapping[str, Any]) -> list[rpc.RpcResponse]:
    """The same RPC from `count` connections at once, as concurrent PostgREST requests."""
    schema, _, name = function.partition(".")

    def call(go: Callable[[], object]) -> rpc.RpcResponse:
        with psycopg.connect(database_url, autocommit=True) as conn:
            go()
            return rpc.call(conn, schema, name, args, claims)

    return race(count, call)


def one(conn: psycopg.Connection[Any], query: str, *params: Any) -> Any:
    """The single row of a query: its value when it has one column, else the tuple."""
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0] if len(row) == 1 else row


def listening(conn: psycopg.Connection[Any], application_name: str) -> bool:
    """Whether the one connection named `application_name` is LISTENing (db/listener.py)."""
    return bool(one(conn, "select count(*) = 1 from pg_stat_activity"
                          " where application_name = %s and query ilike 'listen%%'",
                    application_name))


def calls_this_transaction(conn: psycopg.Connection[Any], function: str) -> int:
    """How often `function` ("schema.name", not overloaded) has run so far in `conn`'s
    transaction, by Postgres' own counter: `track_functions` must be on (a superuser's
    setting)."""
    return int(one(conn, "select coalesce(pg_stat_get_xact_function_calls("
                         "%s::regproc::oid), 0)", function))


def assert_error(response: rpc.RpcResponse, status: int, code: str) -> dict[str, Any]:
    """The shared error body with the expected status and code."""
    assert response.status == status, (response.status, response.body)
    body = response.body
    assert isinstance(body, dict)
    assert set(body) == {"code", "message", "details", "hint"}, body
    assert body["code"] == code, body
    assert response.header("Content-Type") == rpc.JSON_CONTENT_TYPE
    return body


SUPABASE_JS_EXAMPLE = PROJECT_ROOT / "examples" / "supabase-js"


@pytest.fixture(scope="session")
def compiled() -> None:
    """examples/supabase-js compiled (`tsc --strict`) once for every suite run with it."""
    tsc = SUPABASE_JS_EXAMPLE / "node_modules" / ".bin" / "tsc"
    if not NODE.exists() or not tsc.exists():
        pytest.fail("tools/ and examples/supabase-js need `npm ci` (scripts/setup.sh runs it)")
    built = subprocess.run([str(tsc), "-p", "."], cwd=SUPABASE_JS_EXAMPLE, capture_output=True,
                           text=True, timeout=300, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
