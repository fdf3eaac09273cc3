"""/rest/v1/rpc/{fn} of a function returning a table's rows, shaped as a read of that table
(python_functions/local/api/tables.py `TableEndpoint.call`; PostgREST v16.1's
`callReadPlan` and `mainCall`): `select` with embeds, filters, `order`, `limit`/`offset` or a
`Range`, counts, one object, a strict `max-affected`; on a GET, a parameter whose value is
not an operation stays an argument (`pRequestFilter`'s `NoOpExpr`). On a schema of this
module's own: the project's exposed functions return one JSON value, so no query shapes it."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from supabase import ClientOptions, create_client
from tests.http_fixtures import ANON_KEY, ServerThread
from tests.local_api.conftest import pgrst_error, schema_probe

SCHEMA = "function_rows_probe"


def objects(schema: str) -> str:
    """This module's objects and rows, made in `schema` (which exists)."""
    return f"""
set local search_path = {schema};
create table authors (id int primary key, name text);
create table books (id int primary key, title text not null, year int,
                    author_id int references authors);
create function search_books(q text) returns setof books
  language sql stable as $$ select * from books where title ilike '%' || q || '%' $$;
create function first_book() returns books
  language sql stable as $$ select * from books order by id limit 1 $$;
create function add_books(titles text[]) returns setof books language sql as $$
  insert into books (id, title)
  select greatest(100, (select max(id) from books)) + i, t
    from unnest(titles) with ordinality u(t, i)
  returning * $$;
create function echo(json) returns json language sql as $$ select $1 $$;
create function titled(text) returns setof books
  language sql stable as $$ select * from books where title ilike '%' || $1 || '%' $$;
create function pick(a int) returns text language sql as $$ select 'integer' $$;
create function pick(a text) returns text language sql as $$ select 'text' $$;
insert into authors values (1, 'Ursula'), (2, 'Stanislaw');
insert into books values (1, 'The Dispossessed', 1974, 1), (2, 'The Lathe of Heaven', 1971, 1),
                         (3, 'Solaris', 1961, 2), (4, 'The Cyberiad', 1965, 2);
grant usage on schema {schema} to anon;
grant select, insert on all tables in schema {schema} to anon;
grant execute on all functions in schema {schema} to anon;
"""


probe = schema_probe(SCHEMA, objects)


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_a_get_shapes_a_functions_rows_and_keeps_plain_values_as_arguments(
        rest: httpx.Client) -> None:
    answer = rest.get("/rpc/search_books", params={
        "q": "the", "select": "title,author:authors(name)", "year": "lt.1975",
        "order": "year.desc", "limit": "2"})
    assert _ok(answer) == [{"title": "The Dispossessed", "author": {"name": "Ursula"}},
                           {"title": "The Lathe of Heaven", "author": {"name": "Ursula"}}]
    assert answer.headers["content-range"] == "0-1/*"
    assert "content-location" not in answer.headers
    # `q` is an argument: a value that is not an operation; the rest filter the rows
    assert _ok(rest.get("/rpc/search_books", params={"q": "is", "select": "id", "order": "id"})) \
        == [{"id": 1}, {"id": 3}]
    embedded = rest.get("/rpc/search_books", params={"q": "the", "select": "id,authors!inner(name)",
                                                 "authors.name": "eq.Stanislaw"})
    assert _ok(embedded) == [{"id": 4, "authors": {"name": "Stanislaw"}}]


def test_a_post_filters_its_rows_by_the_query_and_takes_its_arguments_from_the_body(
        rest: httpx.Client) -> None:
    answer = rest.post("/rpc/search_books", params={"select": "title", "author_id": "eq.2",
                                                "order": "title"}, json={"q": "o"})
    assert _ok(answer) == [{"title": "Solaris"}]
    # on a POST every query parameter is a filter, and must parse as one
    pgrst_error(rest.post("/rpc/search_books", params={"select": "id", "year": "1961"},
                     json={"q": "o"}), 400, "PGRST100")
    pgrst_error(rest.post("/rpc/search_books", params={"select": "id,(("}, json={"q": "o"}),
           400, "PGRST100")
    embed_range = {"q": "o", "select": "id", "authors.limit": "1"}
    pgrst_error(rest.get("/rpc/search_books", params=embed_range), 400, "PGRST108")


def test_ranges_and_counts_answer_as_a_tables_read(rest: httpx.Client) -> None:
    paged = rest.get("/rpc/search_books", params={"q": "", "select": "id", "order": "id"},
                     headers={"Range": "1-2", "Prefer": "count=exact"})
    assert _ok(paged, 206) == [{"id": 2}, {"id": 3}]
    assert paged.headers["content-range"] == "1-2/4"
    assert paged.headers["preference-applied"] == "count=exact"
    # PostgREST's total of a call is exact or none: a planned count gives none
    planned = rest.get("/rpc/search_books", params={"q": "", "select": "id", "limit": "1"},
                       headers={"Prefer": "count=planned"})
    assert planned.headers["content-range"] == "0-0/*"
    past = rest.get("/rpc/search_books", params={"q": "", "select": "id", "offset": "9"},
                    headers={"Prefer": "count=exact"})
    assert pgrst_error(past, 416, "PGRST103")["details"] == (
        "An offset of 9 was requested, but there are only 4 rows.")


def test_csv_and_head_answer_the_shaped_rows(rest: httpx.Client) -> None:
    csv = rest.get("/rpc/search_books", params={"q": "the", "select": "id,year", "order": "id",
                                            "year": "gt.1970"},
                   headers={"Accept": "text/csv"})
    assert csv.status_code == 200, csv.text
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text == "id,year\n1,1974\n2,1971"
    head = rest.head("/rpc/search_books", params={"q": "", "select": "id", "limit": "1"},
                     headers={"Prefer": "count=exact"})
    assert (head.status_code, head.headers["content-range"], head.content) == (
        206, "0-0/4", b"")


def test_one_row_is_an_object_and_single_needs_exactly_one(rest: httpx.Client) -> None:
    assert _ok(rest.get("/rpc/first_book", params={"select": "title,authors(name)"})) == {
        "title": "The Dispossessed", "authors": {"name": "Ursula"}}
    single = {"Accept": "application/vnd.pgrst.object+json"}
    assert _ok(rest.get("/rpc/search_books", params={"q": "solaris", "select": "year"},
                        headers=single)) == {"year": 1961}
    many = rest.get("/rpc/search_books", params={"q": "the", "select": "id"}, headers=single)
    assert pgrst_error(many, 406, "PGRST116")["details"] == "The result contains 3 rows"


def test_a_volatile_functions_rows_refused_after_the_call_are_rolled_back(
        rest: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    strict = {"Prefer": "handling=strict, max-affected=1"}
    over = rest.post("/rpc/add_books", params={"select": "id"}, json={"titles": ["A", "B"]},
                     headers=strict)
    assert pgrst_error(over, 400, "PGRST124")["details"] == "The query affects 2 rows"
    assert admin.execute(f"select count(*) from {SCHEMA}.books").fetchone() == (4,)
    within = rest.post("/rpc/add_books", params={"select": "title"}, json={"titles": ["C"]},
                       headers=strict)
    assert _ok(within) == [{"title": "C"}]
    assert within.headers["preference-applied"] == "handling=strict, max-affected=1"
    assert admin.execute(f"select title from {SCHEMA}.books where id > 100").fetchall() == [
        ("C",)]
    one = rest.post("/rpc/add_books", params={"select": "id"}, json={"titles": ["D", "E"]},
                    headers={"Accept": "application/vnd.pgrst.object+json"})
    assert pgrst_error(one, 406, "PGRST116")["details"] == "The result contains 2 rows"
    assert admin.execute(f"select count(*) from {SCHEMA}.books").fetchone() == (5,)
    # a GET's transaction is READ ONLY, whatever the function
    pgrst_error(rest.get("/rpc/add_books", params={"titles": "{D}", "select": "id"}), 405, "25006")


def test_a_call_that_asks_nothing_more_answers_as_before(rest: httpx.Client) -> None:
    every = rest.post("/rpc/search_books", json={"q": "solaris"})
    assert _ok(every) == [{"id": 3, "title": "Solaris", "year": 1961, "author_id": 2}]
    assert pgrst_error(rest.get("/rpc/search_books", params={"x": "eq.1"}), 404, "PGRST202")


def test_supabase_py_filters_orders_and_limits_a_functions_rows(probe: ServerThread) -> None:
    client = create_client(probe.url, ANON_KEY, ClientOptions(schema=SCHEMA))
    answer = (client.rpc("search_books", {"q": "the"}).select("title").gte("year", 1970)
              .order("year").limit(1).execute())
    assert answer.data == [{"title": "The Lathe of Heaven"}]


def test_a_single_unnamed_json_parameter_takes_the_whole_body(rest: httpx.Client) -> None:
    body = {"any": ["keys", 1], "at": {"all": None}}
    assert _ok(rest.post("/rpc/echo", json=body)) == body
    assert _ok(rest.post("/rpc/echo", json={})) == {}
    # a GET has no body to give it
    pgrst_error(rest.get("/rpc/echo"), 404, "PGRST202")


def test_a_raw_text_body_calls_a_function_whose_rows_the_query_shapes(
        rest: httpx.Client) -> None:
    answer = rest.post("/rpc/titled", content=b"the", params={
        "select": "title,authors(name)", "year": "gt.1970", "order": "year"},
        headers={"Content-Type": "text/plain"})
    assert _ok(answer) == [{"title": "The Lathe of Heaven", "authors": {"name": "Ursula"}},
                           {"title": "The Dispossessed", "authors": {"name": "Ursula"}}]
    invalid = rest.post("/rpc/titled", content=b"\xff", params={"select": "id"},
                        headers={"Content-Type": "text/plain"})
    pgrst_error(invalid, 400, "22021")  # Postgres' own refusal of the bytes, as PostgREST's


def test_overloads_that_fit_the_same_arguments_are_300_pgrst203(rest: httpx.Client) -> None:
    both = pgrst_error(rest.post("/rpc/pick", json={"a": 1}), 300, "PGRST203")
    assert both["message"] == (
        "Could not choose the best candidate function between:"
        f" {SCHEMA}.pick(a => integer), {SCHEMA}.pick(a => text)")
    assert both["hint"] == ("Try renaming the parameters or the function itself in the"
                            " database so function overloading can be resolved")
