"""The PostgREST-faithful caller: statuses, headers and bodies as PostgREST produces them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from bench.common import RoundTrips
from python_functions.db import rpc
from tests.conftest import Api, User, assert_error

RPC_TEST_SCHEMA = """
drop schema if exists rpc_test cascade;
create schema rpc_test;
grant usage on schema rpc_test to anon, authenticated, service_role;
create table rpc_test.items (id int primary key, note text);
grant select, insert on rpc_test.items to anon, authenticated;

create function rpc_test.custom_error() returns jsonb language plpgsql as $$
begin
  perform core.api_error(418, 'TEAPOT', 'I am a teapot', '{"why": "tea"}', 'brew coffee',
                         '{"X-Brew": "tea"}');
  return null;
end $$;
create function rpc_test.bad_pgrst_json() returns jsonb language plpgsql as $$
begin raise sqlstate 'PGRST' using message = 'not json', detail = 'nope'; end $$;
create function rpc_test.pgrst_without_detail() returns jsonb language plpgsql as $$
begin raise sqlstate 'PGRST' using message = '{"code": "X", "message": "m"}'; end $$;
create function rpc_test.pt_status() returns jsonb language plpgsql as $$
begin
  raise sqlstate 'PT402' using message = 'Payment Required', detail = 'Quota', hint = 'Pay';
end $$;
create function rpc_test.plain_raise() returns jsonb language plpgsql as $$
begin raise exception 'boom' using detail = 'it broke', hint = 'fix it'; end $$;
create function rpc_test.no_data() returns jsonb language plpgsql as $$
begin raise sqlstate 'P0002' using message = 'nothing'; end $$;
create function rpc_test.duplicate() returns jsonb language plpgsql as $$
begin insert into rpc_test.items values (1, 'a'), (1, 'b'); return null; end $$;
create function rpc_test.insert_then_fail(id int) returns jsonb language plpgsql as $$
begin insert into rpc_test.items values (id, 'x'); raise exception 'after insert'; end $$;
create function rpc_test.insert_item(id int) returns jsonb language plpgsql as $$
begin insert into rpc_test.items values (id, 'x'); return jsonb_build_object('id', id); end $$;
create function rpc_test.with_headers() returns jsonb language plpgsql as $$
begin
  perform set_config('response.status', '201', true);
  perform set_config('response.headers',
    '[{"Cache-Control": "no-store"}, {"ETag": "\\"v1\\""}]', true);
  return '{"created": true}';
end $$;
create function rpc_test.write_item() returns jsonb language plpgsql as $$
begin insert into rpc_test.items values (99, 'stable'); return null; end $$;
-- mislabelled stable: PostgREST runs it READ ONLY, so the write it reaches fails
create function rpc_test.stable_writer() returns jsonb language sql stable as $$
  select rpc_test.write_item() $$;
create function rpc_test.nothing() returns void language sql as $$ select $$;
create function rpc_test.many(n int) returns setof int language sql as $$
  select generate_series(1, n) $$;
create function rpc_test.rows_of(n int) returns setof rpc_test.items language sql as $$
  select g, 'n' || g from generate_series(1, n) g $$;
create function rpc_test.echo(
  p_uuid uuid, p_ints int[], p_doc jsonb, p_day date, p_text text default 'dflt'
) returns jsonb language sql as $$
  select jsonb_build_object('uuid', p_uuid, 'ints', p_ints, 'sum',
    (select sum(x) from unnest(p_ints) x), 'doc', p_doc, 'day', p_day + 1, 'text', p_text) $$;
create function rpc_test.request_info() returns jsonb language sql stable as $$
  select jsonb_build_object(
    'role', current_user,
    'uid', auth.uid(),
    'headers', current_setting('request.headers', true)::jsonb,
    'method', current_setting('request.method', true),
    'path', current_setting('request.path', true),
    'read_only', current_setting('transaction_read_only')) $$;
create function rpc_test.timeouts() returns text language sql stable as $$
  select current_setting('statement_timeout') $$;
create function rpc_test.volatile_info() returns jsonb language sql as $$
  select jsonb_build_object('read_only', current_setting('transaction_read_only')) $$;
create function rpc_test.slow(seconds float) returns text language sql as $$
  select pg_sleep(seconds)::text $$;
create function rpc_test.for_users() returns text language sql as $$ select 'hello' $$;
create function rpc_test.two_rows() returns int language sql as $$
  select (select g from generate_series(1, 2) g) $$;
create function rpc_test.for_service() returns text language sql as $$ select 'hello' $$;

grant execute on all functions in schema rpc_test to anon, authenticated, service_role;
revoke execute on function rpc_test.for_users() from anon, public;
revoke execute on function rpc_test.for_service() from anon, authenticated, public;
"""


@pytest.fixture(scope="module", autouse=True)
def rpc_test_schema(admin: psycopg.Connection[Any]) -> Iterator[None]:
    admin.execute(RPC_TEST_SCHEMA)
    rpc.clear_schema_cache()
    yield
    admin.execute("drop schema rpc_test cascade")


def test_pgrst_raise_takes_over_status_body_and_headers(api: Api, alice: User) -> None:
    response = api("rpc_test.custom_error", alice)
    body = assert_error(response, 418, "TEAPOT")
    assert body == {"code": "TEAPOT", "message": "I am a teapot", "details": {"why": "tea"},
                    "hint": "brew coffee"}
    assert response.header("X-Brew") == "tea"


def test_unparsable_pgrst_raise_is_500_pgrst121(api: Api, alice: User) -> None:
    body = assert_error(api("rpc_test.bad_pgrst_json", alice), 500, "PGRST121")
    assert body == {  # PostgREST's PGRSTParseError: which part failed, and the fix
        "code": "PGRST121",
        "message": "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
        "details": "Invalid JSON value for MESSAGE: 'not json'",
        "hint": "MESSAGE must be a JSON object with obligatory keys: 'code', 'message' and"
                " optional keys: 'details', 'hint'."}
    no_detail = assert_error(api("rpc_test.pgrst_without_detail", alice), 500, "PGRST121")
    assert no_detail["details"] == "DETAIL is missing in the RAISE statement"
    assert no_detail["hint"].startswith("DETAIL must be a JSON object")


def test_ptnnn_sqlstate_sets_the_status(api: Api, alice: User) -> None:
    body = assert_error(api("rpc_test.pt_status", alice), 402, "PT402")
    assert (body["message"], body["details"], body["hint"]) == ("Payment Required", "Quota", "Pay")


def test_plain_raise_exception_is_400_with_postgres_fields(api: Api, alice: User) -> None:
    body = assert_error(api("rpc_test.plain_raise", alice), 400, "P0001")
    assert body == {"code": "P0001", "message": "boom", "details": "it broke", "hint": "fix it"}


def test_other_p0_sqlstates_are_500(api: Api, alice: User) -> None:
    assert_error(api("rpc_test.no_data", alice), 500, "P0002")


def test_unique_violation_is_409(api: Api, alice: User) -> None:
    assert_error(api("rpc_test.duplicate", alice), 409, "23505")


def test_error_rolls_back_everything_the_call_wrote(
    api: Api, alice: User, admin: psycopg.Connection[Any]
) -> None:
    assert_error(api("rpc_test.insert_then_fail", alice, id=7), 400, "P0001")
    assert admin.execute("select count(*) from rpc_test.items where id = 7").fetchone() == (0,)


def test_success_commits(api: Api, alice: User, admin: psycopg.Connection[Any]) -> None:
    response = api("rpc_test.insert_item", alice, id=8)
    assert (response.status, response.body) == (200, {"id": 8})
    assert admin.execute("select count(*) from rpc_test.items where id = 8").fetchone() == (1,)
    admin.execute("delete from rpc_test.items")


def test_response_status_and_headers_gucs_are_honoured(api: Api, alice: User) -> None:
    response = api("rpc_test.with_headers", alice)
    assert response.status == 201
    assert response.body == {"created": True}
    assert response.header("cache-control") == "no-store"
    assert response.header("ETag") == '"v1"'
    assert response.header("Content-Type") == rpc.JSON_CONTENT_TYPE


def test_stable_function_that_writes_is_405(api: Api, alice: User) -> None:
    assert_error(api("rpc_test.stable_writer", alice), 405, "25006")


def test_stable_function_runs_read_only_and_volatile_read_write(api: Api, alice: User) -> None:
    assert api("rpc_test.request_info", alice).body["read_only"] == "on"
    assert api("rpc_test.volatile_info", alice).body["read_only"] == "off"
    assert api("rpc_test.volatile_info", alice, method="GET").body["read_only"] == "on"


def test_anon_without_grant_is_401(api: Api) -> None:
    response = api("rpc_test.for_users")
    assert_error(response, 401, "42501")
    assert response.header("WWW-Authenticate") == "Bearer"


def test_authenticated_without_grant_is_403(api: Api, alice: User) -> None:
    assert api("rpc_test.for_users", alice).body == "hello"
    assert_error(api("rpc_test.for_service", alice), 403, "42501")


def test_unknown_function_or_argument_is_404_pgrst202(api: Api, alice: User) -> None:
    assert_error(api("rpc_test.no_such_function", alice), 404, "PGRST202")
    assert_error(api("rpc_test.insert_item", alice, id=1, extra=2), 404, "PGRST202")
    assert_error(api("rpc_test.insert_item", alice), 404, "PGRST202")


def test_void_function_is_204_without_body(api: Api, alice: User) -> None:
    response = api("rpc_test.nothing", alice)
    assert (response.status, response.body) == (204, None)
    assert response.header("Content-Type") is None
    assert response.header("Content-Range") == "0-0/*"  # its one row, as PostgREST says


def test_set_returning_functions_give_arrays(api: Api, alice: User) -> None:
    response = api("rpc_test.many", alice, n=3)
    assert response.body == [1, 2, 3]
    assert response.header("Content-Range") == "0-2/*"
    assert api("rpc_test.rows_of", alice, n=2).body == [
        {"id": 1, "note": "n1"}, {"id": 2, "note": "n2"}]
    assert api("rpc_test.many", alice, n=0).body == []


def test_named_arguments_are_typed_like_postgrest(api: Api, alice: User) -> None:
    uid = "0b9a1c5e-8f7d-4c3b-9a2e-1d0c9b8a7f6e"
    response = api("rpc_test.echo", alice, p_uuid=uid, p_ints=[1, 2, 3],
                   p_doc={"a": [1, {"b": None}]}, p_day="2026-02-28")
    assert response.body == {"uuid": uid, "ints": [1, 2, 3], "sum": 6,
                             "doc": {"a": [1, {"b": None}]}, "day": "2026-03-01",
                             "text": "dflt"}


def test_malformed_argument_is_400(api: Api, alice: User) -> None:
    body = assert_error(api("rpc_test.echo", alice, p_uuid="not-a-uuid", p_ints=[1],
                            p_doc={}, p_day="2026-01-01"), 400, "22P02")
    assert "uuid" in body["message"]


def test_request_context_is_set_like_postgrest(api: Api, alice: User) -> None:
    info = api("rpc_test.request_info", alice, headers={"X-Client-Info": "supabase-js/2"}).body
    assert info["role"] == "authenticated"
    assert info["uid"] == alice.id
    assert info["headers"] == {"x-client-info": "supabase-js/2"}
    assert (info["method"], info["path"]) == ("POST", "/rpc/request_info")
    assert api("rpc_test.request_info").body["role"] == "anon"


def test_impersonated_roles_settings_apply_per_call(api: Api, alice: User) -> None:
    """Supabase sets statement timeouts on the API roles; PostgREST applies the impersonated
    role's settings in each transaction (the login role's would not be)."""
    assert api("rpc_test.timeouts").body == "3s"
    assert api("rpc_test.timeouts", alice).body == "8s"
    assert api.service("rpc_test.timeouts").body == "0"


def test_lost_connection_is_503(database_url: str, alice: User) -> None:
    conn = psycopg.connect(database_url, autocommit=True)
    conn.close()
    response = rpc.call(conn, "rpc_test", "for_users", {}, alice.claims)
    assert_error(response, 503, "PGRST000")


@pytest.mark.parametrize(("sqlstate", "message", "status"), [
    ("57P01", "terminating connection due to administrator command", 503),  # a shutdown
    ("57014", "canceling statement due to statement timeout", 500),
    ("21000", "UPDATE requires a WHERE clause", 400),  # pg-safeupdate
    ("21000", "more than one row returned by a subquery used as an expression", 500),
    ("22023", 'role "ghost" does not exist', 401),
    ("22023", 'invalid value for parameter "TimeZone": "Nowhere"', 400),
    ("PT402", "", 402), ("PTxyz", "", 500),
])
def test_sqlstates_map_to_postgrests_statuses(sqlstate: str, message: str, status: int
                                              ) -> None:
    """The rows of PostgREST v16.1's `mapSQLtoHTTP` that depend on more than a prefix.
    (57P01 is what a call reads on a connection the server ended in a shutdown, when the
    server's last message arrives before the connection is seen closed: the database blip
    tests met it.)"""
    assert rpc.status_for_sqlstate(sqlstate, True, message) == status


def test_more_than_one_row_where_one_is_expected_is_500_not_the_clients_fault(
        api: Api, alice: User) -> None:
    assert_error(api("rpc_test.two_rows", alice), 500, "21000")


def test_a_jwt_role_that_does_not_exist_is_401(api: Api, alice: User) -> None:
    response = api("rpc_test.request_info", claims={**alice.claims, "role": "no_such_role"})
    assert "does not exist" in assert_error(response, 401, "22023")["message"]


def test_json_nested_too_deep_is_refused_before_postgres(api: Api, alice: User) -> None:
    deep: Any = 1
    for _ in range(15_000):
        deep = [deep]
    response = api("workouts.start_session", alice, plan_id="x", date="2026-11-20",
                   session={"exercises": deep})
    assert_error(response, 400, "PGRST102")
    shallow: Any = 1
    for _ in range(60):
        shallow = [shallow]
    assert api("workouts.start_session", alice, plan_id="x", date="2026-11-20",
               session={"exercises": shallow}).status == 400  # a validation error, fine


def test_out_of_range_integers_and_nul_in_text_are_400_as_postgrest_says(
    api: Api, alice: User
) -> None:
    too_big = api("pullups.create_session", alice, session_date="2026-11-26", sets=[5] * 5,
                  rpe=10**12)
    assert (too_big.status, too_big.body["code"]) == (400, "22003")
    nul = api("pullups.create_session", alice, session_date="2026-11-26", sets=[5] * 5,
              notes="a\u0000b")
    assert (nul.status, nul.body["code"]) == (400, "22P05")


def _round_trips(conn: psycopg.Connection[Any], action: Any) -> int:
    """Round trips a call makes, from libpq's protocol trace."""
    with RoundTrips(conn.pgconn) as sent:
        action()
    return sent.count


@pytest.mark.parametrize(("function", "args"), [
    ("rpc_test.echo", {"p_uuid": "00000000-0000-4000-8000-000000000001", "p_ints": [1, 2],
                       "p_doc": {"a": 1}, "p_day": "2026-11-26"}),
    ("rpc_test.insert_then_fail", {"id": 7}),        # an error: still one round trip
    ("rpc_test.nothing", {}),
])
def test_one_round_trip_per_call(database_url: str, alice: User, function: str,
                                 args: dict[str, Any]) -> None:
    schema, _, name = function.partition(".")
    with psycopg.connect(database_url, autocommit=True) as conn:
        rpc.call(conn, schema, name, args, alice.claims)  # the schema cache is filled once
        assert _round_trips(conn, lambda: rpc.call(conn, schema, name, args, alice.claims)) == 1
        # and the connection is clean for the next call (no transaction left open)
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE


def _prepared_here(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute("select count(*) from pg_prepared_statements").fetchone()
    assert row is not None
    return int(row[0])


def test_statements_are_prepared_once_per_connection(database_url: str, alice: User) -> None:
    with psycopg.connect(database_url, autocommit=True, prepare_threshold=None) as conn:
        for _ in range(3):
            assert rpc.call(conn, "rpc_test", "for_users", {}, alice.claims).body == "hello"
            assert rpc.call(conn, "rpc_test", "many", {"n": 2}, alice.claims).body == [1, 2]
        assert _prepared_here(conn) == 0  # prepare_threshold=None: a pooler's setting
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(3):
            assert rpc.call(conn, "rpc_test", "for_users", {}, alice.claims).body == "hello"
            assert rpc.call(conn, "rpc_test", "many", {"n": 2}, alice.claims).body == [1, 2]
        assert _prepared_here(conn) == 3  # the context and each call statement, once


def test_statements_are_prepared_again_after_deallocate_all(database_url: str,
                                                            alice: User) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        assert rpc.call(conn, "rpc_test", "for_users", {}, alice.claims).body == "hello"
        conn.execute("deallocate all")
        assert rpc.call(conn, "rpc_test", "for_users", {}, alice.claims).body == "hello"
        assert _prepared_here(conn) == 2


def test_a_failed_call_leaves_the_connection_idle_and_usable(database_url: str,
                                                             alice: User) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        failed = rpc.call(conn, "rpc_test", "insert_then_fail", {"id": 5}, alice.claims)
        assert failed.status == 400
        assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert rpc.call(conn, "rpc_test", "insert_item", {"id": 5}, alice.claims).body == {
            "id": 5}
        assert conn.execute("select 1").fetchone() == (1,)  # psycopg's own use still works


def test_a_cancelled_async_call_closes_its_connection(database_url: str,
                                                      alice: User) -> None:
    """A request cancelled mid-call (its timeout) must not hand a connection in the middle
    of a pipeline back to the pool: it is closed, and the pool replaces it."""
    async def scenario() -> bool:
        conn = await psycopg.AsyncConnection.connect(database_url, autocommit=True)
        task = asyncio.create_task(
            rpc.acall(conn, "rpc_test", "slow", {"seconds": 5}, alice.claims))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        closed = conn.closed
        await conn.close()
        return closed

    assert asyncio.run(scenario()) is True


def test_each_role_and_method_keeps_its_own_plan(database_url: str, alice: User) -> None:
    """A plan fixes the role, the method and READ ONLY: calls of one function as several
    roles and methods, in turn on one connection, each run as their own."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        for _ in range(2):
            as_alice = rpc.call(conn, "rpc_test", "request_info", {}, alice.claims).body
            as_anon = rpc.call(conn, "rpc_test", "request_info", {}, None).body
            as_anon_get = rpc.call(conn, "rpc_test", "request_info", {}, None, method="GET").body
            assert (as_alice["role"], as_alice["uid"], as_alice["method"]) == (
                "authenticated", alice.id, "POST")
            assert (as_anon["role"], as_anon["uid"], as_anon["method"]) == ("anon", None, "POST")
            assert (as_anon_get["role"], as_anon_get["method"]) == ("anon", "GET")
            assert rpc.call(conn, "rpc_test", "volatile_info", {}, alice.claims
                            ).body["read_only"] == "off"
            assert rpc.call(conn, "rpc_test", "volatile_info", {}, alice.claims, method="GET"
                            ).body["read_only"] == "on"


def test_a_planned_call_follows_a_changed_signature_after_a_schema_reload(
        database_url: str, admin: psycopg.Connection[Any], alice: User) -> None:
    admin.execute("create function rpc_test.typed(v int) returns text language sql"
                  " as $$ select pg_typeof(v)::text $$;"
                  " grant execute on function rpc_test.typed(int) to authenticated")
    try:
        with psycopg.connect(database_url, autocommit=True) as conn:
            assert rpc.call(conn, "rpc_test", "typed", {"v": 1}, alice.claims).body == "integer"
            admin.execute("drop function rpc_test.typed(int);"
                          " create function rpc_test.typed(v text) returns text language sql"
                          " as $$ select pg_typeof(v)::text $$;"
                          " grant execute on function rpc_test.typed(text) to authenticated")
            rpc.clear_schema_cache()  # what `NOTIFY pgrst, 'reload schema'` does
            assert rpc.call(conn, "rpc_test", "typed", {"v": 1}, alice.claims).body == "text"
    finally:
        admin.execute("drop function if exists rpc_test.typed(text)")
        rpc.clear_schema_cache()


def test_the_plans_kept_are_bounded_whatever_argument_names_clients_send(
        database_url: str, alice: User, monkeypatch: pytest.MonkeyPatch) -> None:
    """Argument names and their order are the client's: plans are dropped, not piled up,
    past the limit, and every call still answers."""
    monkeypatch.setattr(rpc, "PLAN_CACHE_SIZE", 3)
    rpc.clear_schema_cache()
    day = "2026-01-01"
    shapes: list[dict[str, Any]] = [
        {"p_uuid": None, "p_ints": [1], "p_doc": None, "p_day": day},
        {"p_ints": [2], "p_uuid": None, "p_doc": None, "p_day": day},
        {"p_day": day, "p_ints": [3], "p_uuid": None, "p_doc": None},
        {"p_doc": None, "p_day": day, "p_ints": [4], "p_uuid": None},
        {"p_text": "t", "p_doc": None, "p_day": day, "p_ints": [5], "p_uuid": None}]
    with psycopg.connect(database_url, autocommit=True) as conn:
        for shape in shapes:
            body = rpc.call(conn, "rpc_test", "echo", shape, alice.claims).body
            assert (body["sum"], body["text"]) == (shape["p_ints"][0], shape.get("p_text", "dflt"))
            assert len(rpc._plan_cache) <= 3
