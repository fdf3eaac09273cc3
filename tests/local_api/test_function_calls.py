"""/rest/v1/rpc/{fn} as PostgREST v16.1 picks the function a request calls (`findProc`),
passes it the arguments, answers and names it in a 404 (`NoRpc`): a body sent as it is to a
function's one unnamed text, xml or bytea parameter (`RawPay`), a function's value in the
media type its return domain is named as (`CustomMediaSpec.hs`), a JSON array's first object
(the whole array to an unnamed json parameter), the keys `columns=` names, a CSV body's
first line, a query that does not parse (400 whatever the function), a variadic
parameter's values, and the close names its hints give (`noRpcHint`: a fuzzy set of the
schema's function names, or of the function's parameter lists). The expected hints are the
ones PostgREST's own spec gives for the same names (`RpcSpec.hs`)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from tests.local_api.conftest import pgrst_error, schema_probe

SCHEMA = "function_calls_probe"


def objects(schema: str) -> str:
    """This module's functions, made in `schema` (which exists)."""
    return f"""
set local search_path = {schema};
create function unnamed_text_param(text) returns text language sql as $$ select $1 $$;
create function unnamed_xml_param(xml) returns xml language sql as $$ select $1 $$;
create function unnamed_bytea_param(bytea) returns text language sql
  as $$ select length($1) || ' ' || md5($1) $$;
create function unnamed_json_param(json) returns json language sql as $$ select $1 $$;
create function unnamed_int_param(int) returns int language sql as $$ select $1 $$;
create function sayhello(name text) returns text language sql as $$ select 'Hello, ' || name $$;
create function add_them(a int, b int) returns int language sql as $$ select a + b $$;
create function overloaded() returns int language sql as $$ select 1 $$;
create function overloaded(a int, b int) returns int language sql as $$ select a + b $$;
create function overloaded(a text, b text, c text) returns text language sql
  as $$ select a || b || c $$;
create function no_arguments() returns int language sql as $$ select 7 $$;
create function optional(a int default 1) returns int language sql as $$ select a $$;
create function plus_one(variadic v int[]) returns int[] language sql
  as $$ select array_agg(n + 1 order by o) from unnest(v) with ordinality u(n, o) $$;
create function tagged(label text, variadic tags text[]) returns text language sql
  as $$ select label || ':' || array_to_string(tags, ',') $$;
create domain "text/plain" as text;
create domain "text/html" as text;
create domain "image/png" as bytea;
create domain "*/*" as bytea;
create function welcome() returns "text/plain" language sql as $$ select 'Welcome' $$;
create function welcome_twice() returns setof "text/plain" language sql
  as $$ select 'Welcome' union all select 'again' $$;
create function "welcome.html"() returns "text/html" language sql
  as $$ select '<h1>Zażółć</h1>' $$;
create function nothing_html() returns "text/html" language sql as $$ select null $$;
create function pixel() returns "image/png" language sql
  as $$ select decode('89504e470d0a1a0a00ff', 'hex') $$;
create function typed_by_header() returns json language plpgsql as $$
begin
  perform set_config('response.headers', '[{{"Content-Type": "text/html"}}]', true);
  return '{{"a": 1}}';
end $$;
create function typed_in_lower_case() returns json language plpgsql as $$
begin
  perform set_config('response.headers',
                     '[{{"content-type": "text/html"}}, {{"content-range": "0-9/10"}}]', true);
  return '[1]';
end $$;
create function download() returns "*/*" language plpgsql as $$
begin
  perform set_config('response.headers', '[{{"Content-Type": "application/pdf"}}]', true);
  return decode('255044462d00ff', 'hex');
end $$;
grant usage on schema {schema} to anon;
grant execute on all functions in schema {schema} to anon;
"""


probe = schema_probe(SCHEMA, objects)


def _raw(rest: httpx.Client, function: str, media: str, body: bytes) -> httpx.Response:
    return rest.post(f"/rpc/{function}", content=body, headers={"Content-Type": media})


def test_a_raw_body_goes_as_it_is_to_the_one_unnamed_parameter_of_its_type(
        rest: httpx.Client) -> None:
    text = _raw(rest, "unnamed_text_param", "text/plain; charset=utf-8", "zażółć {x}".encode())
    assert (text.status_code, text.json()) == (200, "zażółć {x}")
    note = b"<note><to>Jane</to></note>"
    assert _raw(rest, "unnamed_xml_param", "text/xml", note).json() == note.decode()
    data = bytes(range(256)) * 3  # not UTF-8: sent as bytes, not as text
    answer = _raw(rest, "unnamed_bytea_param", "application/octet-stream", data)
    assert answer.json() == f"{len(data)} {hashlib.md5(data).hexdigest()}"  # noqa: S324
    assert _raw(rest, "unnamed_text_param", "text/plain", b"").json() == ""


def test_what_postgres_refuses_in_a_raw_body_is_its_error(rest: httpx.Client) -> None:
    pgrst_error(_raw(rest, "unnamed_xml_param", "text/xml", b"<"), 400, "2200N")
    pgrst_error(_raw(rest, "unnamed_text_param", "text/plain", b"\xff\xfe"), 400, "22021")


def test_a_raw_body_for_a_function_without_such_a_parameter_is_404_without_a_hint(
        rest: httpx.Client) -> None:
    for media, kind in (("text/plain", "text"), ("text/xml", "xml"),
                        ("application/octet-stream", "bytea")):
        body = pgrst_error(_raw(rest, "unnamed_int_param", media, b"1"), 404, "PGRST202")
        assert body == {
            "code": "PGRST202", "hint": None,
            "message": f"Could not find the function {SCHEMA}.unnamed_int_param in the"
                       " schema cache",
            "details": f"Searched for the function {SCHEMA}.unnamed_int_param with a single"
                       f" unnamed {kind} parameter, but no matches were found in the schema"
                       " cache."}
    # nor to one without parameters; one whose parameters all have defaults takes none
    pgrst_error(_raw(rest, "no_arguments", "text/plain", b"x"), 404, "PGRST202")
    assert _raw(rest, "optional", "text/plain", b"x").json() == 1
    # a GET has no body: its Content-Type changes nothing
    assert rest.get("/rpc/no_arguments", headers={"Content-Type": "text/plain"}).json() == 7
    # nor does a JSON body reach a text parameter
    pgrst_error(rest.post("/rpc/unnamed_text_param", json={"a": 1}), 404, "PGRST202")
    assert rest.post("/rpc/unnamed_json_param", json={"a": [1]}).json() == {"a": [1]}


def test_an_unknown_function_is_hinted_with_the_closest_name(rest: httpx.Client) -> None:
    near = pgrst_error(rest.get("/rpc/sayhell"), 404, "PGRST202")
    assert near == {
        "code": "PGRST202",
        "hint": f"Perhaps you meant to call the function {SCHEMA}.sayhello",
        "message": f"Could not find the function {SCHEMA}.sayhell without parameters in the"
                   " schema cache",
        "details": f"Searched for the function {SCHEMA}.sayhell without parameters, but no"
                   " matches were found in the schema cache."}
    # the int function PostgREST cannot call is not in its cache: the closest callable name
    unnamed = pgrst_error(rest.post("/rpc/unnamed_int_param", json={"x": 1, "y": 2}), 404,
                          "PGRST202")
    assert unnamed["hint"] == f"Perhaps you meant to call the function {SCHEMA}.unnamed_text_param"
    assert pgrst_error(rest.get("/rpc/fakefunc"), 404, "PGRST202")["hint"] is None


def test_a_known_function_is_hinted_with_its_closest_parameter_list(rest: httpx.Client) -> None:
    def hint(path: str) -> Any:
        return pgrst_error(rest.get(path), 404, "PGRST202")["hint"]

    assert hint("/rpc/sayhello?nam=Peter") == \
        f"Perhaps you meant to call the function {SCHEMA}.sayhello(name)"
    assert hint("/rpc/add_them?a=1&b=2&smthelse=blabla") == \
        f"Perhaps you meant to call the function {SCHEMA}.add_them(a, b)"
    assert hint("/rpc/overloaded?a=1&b=2&wrong_arg=value") == \
        f"Perhaps you meant to call the function {SCHEMA}.overloaded(a, b, c)"
    assert hint("/rpc/overloaded?wrong_arg=value") is None  # none is close enough


def test_a_json_array_calls_with_its_first_object_and_an_unnamed_json_takes_it_whole(
        rest: httpx.Client) -> None:
    assert rest.post("/rpc/add_them", json=[{"a": 1, "b": 2}, {"a": 3, "b": 4}]).json() == 3
    rows = [{"x": 1}, {"x": 2}]
    assert rest.post("/rpc/unnamed_json_param", json=rows).json() == rows
    # any other JSON value is an empty array
    assert rest.post("/rpc/unnamed_json_param", content=b"null",
                     headers={"Content-Type": "application/json"}).json() == []
    assert rest.post("/rpc/no_arguments", content=b'"x"',
                     headers={"Content-Type": "application/json"}).json() == 7
    mixed = rest.post("/rpc/unnamed_json_param", json=[{"x": 1}, {"y": 2}])
    assert pgrst_error(mixed, 400, "PGRST102")["message"] == "All object keys must match"


def test_columns_names_a_calls_arguments_and_the_bodys_other_keys_are_ignored(
        rest: httpx.Client) -> None:
    # PostgREST's spec: "ignores json keys not included in ?columns"
    extra = {"name": "John", "smth": "here", "other": "stuff", "fake_id": 13}
    assert rest.post("/rpc/sayhello?columns=name", json=extra).json() == "Hello, John"
    pgrst_error(rest.post("/rpc/sayhello", json=extra), 404, "PGRST202")  # without it
    # of an array, the first object's; a named key the object lacks is null
    assert rest.post("/rpc/add_them?columns=a,b", json=[{"a": 1, "b": 2}, {"a": 3}]).json() == 3
    assert rest.post("/rpc/add_them?columns=a,b", json={"a": 1}).json() is None
    # the columns pick the function: one it lacks is no function's
    pgrst_error(rest.post("/rpc/sayhello?columns=name,smth", json=extra), 404, "PGRST202")
    broken = rest.post("/rpc/sayhello?columns=name", content=b"{",
                       headers={"Content-Type": "application/json"})
    assert pgrst_error(broken, 400, "PGRST102")["message"] == "Empty or invalid json"
    # a GET takes no body: its columns= is ignored, as PostgREST's
    assert rest.get("/rpc/sayhello?name=Ann&columns=x").json() == "Hello, Ann"


def test_a_query_that_does_not_parse_is_400_whatever_the_function(
        rest: httpx.Client) -> None:
    # PostgREST's spec: "gives a parse filter error if GET style proc args are specified"
    body = pgrst_error(rest.post("/rpc/sayhello?name=John", json={"name": "John"}), 400,
                       "PGRST100")
    assert body == {"code": "PGRST100", "hint": None,
                    "message": '"failed to parse filter (John)" (line 1, column 1)',
                    "details": 'unexpected "J" expecting "not" or operator (eq, gt, ...)'}
    # an unknown function too: the query is parsed before the function is looked up
    pgrst_error(rest.post("/rpc/nosuchfunction?name=John", json={}), 400, "PGRST100")
    pgrst_error(rest.get("/rpc/sayhello?name=Ann&order=name.sideways"), 400, "PGRST100")
    # a token that does not decode is still the 401 it was, before the query
    refused = rest.post("/rpc/sayhello?name=John", json={},
                        headers={"Authorization": "Bearer not-a-token"})
    pgrst_error(refused, 401, "PGRST301")
    # a filter that parses is not a call's concern: the value is answered as it is
    assert rest.post("/rpc/sayhello?name=eq.John", json={"name": "Jo"}).json() == "Hello, Jo"


def test_a_csv_body_calls_with_its_first_line(rest: httpx.Client) -> None:
    def post(function: str, body: bytes) -> httpx.Response:
        return _raw(rest, function, "text/csv", body)

    assert post("add_them", b"a,b\n1,2\n4,6\n100,200").json() == 3  # PostgREST's spec
    assert post("sayhello", b'name\r\n"Doe, Jane"\r\n').json() == "Hello, Doe, Jane"
    assert post("sayhello", b"name\nNULL\n").json() is None  # NULL is null
    assert post("no_arguments", b"a,b\n").json() == 7  # a header alone sets nothing
    # the header's names pick the function; none goes to an unnamed parameter
    missing = pgrst_error(post("add_them", b"x,y\n1,2"), 404, "PGRST202")
    assert (missing["message"], missing["details"]) == (
        f"Could not find the function {SCHEMA}.add_them(x, y) in the schema cache",
        f"Searched for the function {SCHEMA}.add_them with parameters x, y, but no matches"
        " were found in the schema cache.")
    pgrst_error(post("unnamed_json_param", b"a\n1"), 404, "PGRST202")
    ragged = pgrst_error(post("add_them", b"a,b\n1,2\n3"), 400, "PGRST102")
    assert ragged["message"] == "All lines must have same number of fields"
    pgrst_error(post("sayhello", b""), 400, "PGRST102")


def test_a_variadic_parameter_takes_an_array_or_every_value_of_its_name(
        rest: httpx.Client) -> None:
    assert rest.post("/rpc/plus_one", json={"v": [1, 2, 3]}).json() == [2, 3, 4]
    assert rest.get("/rpc/plus_one?v=1&v=2&v=3").json() == [2, 3, 4]
    assert rest.get("/rpc/plus_one?v=5").json() == [6]  # one value is an array of one
    form = rest.post("/rpc/plus_one", content=b"v=1&v=10",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert form.json() == [2, 11]
    # only the variadic parameter takes them all; another takes the last of its name
    assert rest.get("/rpc/tagged?label=a&label=b&tags=x&tags=y").json() == "b:x,y"
    assert rest.post("/rpc/tagged", json={"label": "c", "tags": ["z"]}).json() == "c:z"
    # a JSON body's value is as it is: not an array is Postgres' refusal, not a call
    assert rest.post("/rpc/plus_one", json={"v": 1}).status_code == 400


def test_a_function_returning_a_media_types_domain_answers_its_value_as_it_is(
        rest: httpx.Client) -> None:
    def get(path: str, accept: str) -> httpx.Response:
        return rest.get(path, headers={"Accept": accept})

    plain = get("/rpc/welcome", "text/plain")
    assert (plain.status_code, plain.content) == (200, b"Welcome")
    assert plain.headers["content-type"] == "text/plain; charset=utf-8"
    html = get("/rpc/welcome.html", "text/html")
    assert (html.content.decode(), html.headers["content-type"]) == (
        "<h1>Zażółć</h1>", "text/html")
    png = get("/rpc/pixel", "image/png")
    assert (png.content, png.headers["content-type"]) == (
        bytes.fromhex("89504e470d0a1a0a00ff"), "image/png")
    # a `*/*` domain answers any type; the function's own header names it
    pdf = get("/rpc/download", "application/pdf")
    assert (pdf.content, pdf.headers["content-type"]) == (
        bytes.fromhex("255044462d00ff"), "application/pdf")
    assert (get("/rpc/nothing_html", "text/html").content, ) == (b"", )
    head = rest.head("/rpc/welcome", headers={"Accept": "text/plain"})
    assert (head.status_code, head.content) == (200, b"")


def test_a_media_types_domain_answers_only_its_own_type_and_only_for_one_value(
        rest: httpx.Client) -> None:
    # JSON stays the default, and what */* gets
    for accept in ("application/json", "*/*"):
        answer = rest.get("/rpc/welcome", headers={"Accept": accept})
        assert (answer.json(), answer.headers["content-type"]) == (
            "Welcome", "application/json; charset=utf-8")
    for path, accept in (("/rpc/welcome", "text/xml"), ("/rpc/welcome_twice", "text/plain"),
                         ("/rpc/welcome.html", "text/HTML")):
        refused = pgrst_error(rest.get(path, headers={"Accept": accept}), 406, "PGRST107")
        assert refused["message"] == f"None of these media types are available: {accept}"
    text = rest.post("/rpc/unnamed_text_param", content=b"x",
                     headers={"Content-Type": "text/plain", "Accept": "text/plain"})
    pgrst_error(text, 406, "PGRST107")  # text is not a media type's domain
    # an unknown function is its 404 whatever it accepts
    pgrst_error(rest.get("/rpc/welcomez", headers={"Accept": "text/plain"}), 404, "PGRST202")


def test_a_content_type_the_function_sets_wins_over_the_negotiated_one(
        rest: httpx.Client) -> None:
    """PostgREST adds its own headers only where `response.headers` has none of that name
    (`addHeadersIfNotIncluded`)."""
    answer = rest.get("/rpc/typed_by_header")
    assert (answer.status_code, answer.headers["content-type"]) == (200, "text/html")
    assert answer.json() == {"a": 1}
    # a header name is the same name in any case: one of each is sent
    lower = rest.get("/rpc/typed_in_lower_case")
    assert lower.headers.get_list("content-type") == ["text/html"]
    assert lower.headers.get_list("content-range") == ["0-9/10"]
