"""`/rest/v1/`: PostgREST's OpenAPI description of an exposed schema, as `supabase start`'s
PostgREST serves it (`openapi-mode = follow-privileges`, its default, which the CLI keeps).

Followed in PostgREST v16.1's source (`Response/OpenAPI.hs`, the queries of
`Query/SqlFragment.hs` and `SchemaCache.hs`, `MainTx.hs`, `ApiRequest.hs`, `Plan.hs`):

* The request, in PostgREST's order: the token (`RpcEndpoint.claims_for`: 401 as for any
  call), the schema (`Accept-Profile`, 406 `PGRST106`), the method (GET and HEAD describe,
  a bare OPTIONS answers `Allow: OPTIONS,GET,HEAD`, any other is 405 `PGRST117`), the query
  string (parsed as a table read's: 400 `PGRST100`), then the media type: the Accept header
  must take `application/openapi+json`, `application/json` or `*/*` (else 406 `PGRST107`).
  The answer is `application/openapi+json; charset=utf-8` (HEAD: the headers alone), with
  `Content-Profile` when the schema was negotiated.
* What it lists follows the caller's privileges (`accessibleTables`, `accessibleFuncs`, run
  as the request's role): the schema's tables, views, materialized views, foreign and
  partitioned tables (not partitions) the role owns or holds any privilege on, and the
  functions it may execute (not triggers, not procedures or aggregates, and only those
  PostgREST can call: all arguments named, or one unnamed bytea/json/jsonb/text/xml one).
* A Swagger 2.0 document: each relation's definition (its columns' types and formats,
  `maxLength`, a default that reads as JSON, an enum's labels, and the notes "This is a
  Primary Key.<pk/>" and "This is a Foreign Key to `t.c`.<fk .../>" from the schema cache's
  keys: `keys.schema_keys`, a view's carried ones included), a path per relation (GET, and
  POST, PATCH and DELETE when it can be written at all), a path per function (GET only for
  a stable or immutable one), the shared parameters, and the comments on the schema, the
  relations, the columns and the functions as titles, summaries and descriptions (first
  line, then the rest). Of overloaded functions, the one with the most arguments is listed,
  as PostgREST's map keeps the last of them sorted by argument count. Objects are written
  with their keys sorted, as aeson writes them.

Where it departs: the relations, keys and columns are read on each request, where PostgREST
takes them from its schema cache (the same until a `NOTIFY pgrst` it did not get). `host`,
`basePath` and `schemes` name this API (`http://127.0.0.1:54321` and `/rest/v1/` under
`make run`), as PostgREST does with `openapi-server-proxy-uri` set. `supabase start` sets
none, so its document names `0.0.0.0:3000` and `/`: PostgREST's own address inside its
container, which no client can reach. `info.version` is `16.1`, the release followed here
(the CLI 2.117 runs v14.12). Hosted projects since April 2026 serve the root to the secret
key only; `supabase start` and `make run` serve it to any key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import PoolTimeout
from starlette.requests import Request
from starlette.responses import Response

from python_functions.db import rpc
from python_functions.local.api.keys import ForeignKey, read_schema_keys
from python_functions.local.api.rest import (
    RestError,
    RpcEndpoint,
    accepted_names,
    pgrst_error,
)
from python_functions.local.api.tables import ReadRequest, answering

VERSION = "16.1"
DOCS_URL = "https://postgrest.org/en/v16/references/api.html"
CONTENT_TYPE = "application/openapi+json; charset=utf-8"
_ROOT_MEDIA = frozenset({"application/openapi+json", "application/json", "*/*"})
_PRODUCES = ["application/json", "application/vnd.pgrst.object+json;nulls=stripped",
             "application/vnd.pgrst.object+json", "text/csv"]

# The schema cache's view of the schema's relations (`tablesSqlQuery`), read as PostgREST's
# own connection reads it (the default search_path, so a type outside it is qualified):
# each relation's comment, whether it can be written at all, and its columns in order with
# their comment, nullability, type (a pg_catalog type and a domain over one by its base name
# without modifiers), maximum length, default and, for an enum or a domain over one, labels.
_RELATIONS_QUERY = """
select c.relname, obj_description(c.oid, 'pg_class'),
       c.relkind in ('r', 'p') or (c.relkind in ('v', 'f')
                                   and (pg_relation_is_updatable(c.oid, true) & 28) <> 0),
       coalesce((
         select json_agg(json_build_array(
                  a.attname, col_description(c.oid, a.attnum),
                  not (a.attnotnull or (t.typtype = 'd' and t.typnotnull)),
                  case when bt.typnamespace = 'pg_catalog'::regnamespace
                            and (t.typtype = 'd' or t.typnamespace = 'pg_catalog'::regnamespace)
                       then format_type(bt.oid, null)
                       else format_type(a.atttypid, a.atttypmod) end,
                  information_schema._pg_char_max_length(
                    information_schema._pg_truetypid(a.*, t.*),
                    information_schema._pg_truetypmod(a.*, t.*)),
                  case when t.typbasetype <> 0 and ad.adbin is null
                         then pg_get_expr(t.typdefaultbin, 0)
                       when a.attidentity = 'd'
                         then format('nextval(%%L)', (
                           select s.objid::regclass from pg_depend s
                            where s.refobjid = c.oid and s.refobjsubid = a.attnum
                              and s.deptype = 'i' limit 1))
                       when a.attgenerated = 's' then null
                       else pg_get_expr(ad.adbin, ad.adrelid) end,
                  array(select e.enumlabel from pg_enum e where e.enumtypid = bt.oid
                         order by e.enumsortorder))
                order by a.attnum)
           from pg_attribute a
           join pg_type t on t.oid = a.atttypid
           left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
           cross join lateral (
             with recursive chain(oid, depth) as (
               select a.atttypid, 0
               union all
               select d.typbasetype, chain.depth + 1
                 from chain join pg_type d on d.oid = chain.oid and d.typtype = 'd')
             select b.oid, b.typnamespace from chain join pg_type b on b.oid = chain.oid
              order by chain.depth desc limit 1) bt
          where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped), '[]')
  from pg_class c
 where c.relnamespace = (select oid from pg_namespace where nspname = %s)
   and c.relkind in ('r', 'v', 'm', 'f', 'p') and not c.relispartition
"""

# What the request's role may see (`accessibleTables`, `accessibleFuncs`,
# `schemaDescription`), run as that role with the request's search_path, as PostgREST runs
# them: the relations it owns or holds any privilege on; the functions it may execute, each
# with its input arguments as `unnest(proargnames, proargtypes, proargmodes)` pairs them
# (name or '', type, required, variadic); and the schema's comment.
_ACCESSIBLE_QUERY = """
with target as (select oid from pg_namespace where nspname = $1)
select
  (select coalesce(json_agg(c.relname), '[]') from pg_class c
    where c.relnamespace = (select oid from target)
      and c.relkind in ('r', 'v', 'm', 'f', 'p') and not c.relispartition
      and (pg_has_role(c.relowner, 'USAGE')
           or has_table_privilege(
                c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
           or has_any_column_privilege(c.oid, 'SELECT, INSERT, UPDATE, REFERENCES'))),
  (select coalesce(json_agg(json_build_array(
            p.proname, obj_description(p.oid, 'pg_proc'), p.provolatile, args.list)
            order by p.oid), '[]')
     from pg_proc p
     cross join lateral (
       select coalesce(json_agg(json_build_array(
                coalesce(arg.name, ''), arg.type::regtype::text,
                arg.idx <= p.pronargs - p.pronargdefaults, coalesce(arg.mode = 'v', false))
                order by arg.idx), '[]') as list,
              count(*) filter (where arg.name is null) as unnamed,
              (array_agg(arg.type) filter (where arg.name is null))[1] as unnamed_type
         from unnest(p.proargnames, p.proargtypes, p.proargmodes)
              with ordinality as arg(name, type, mode, idx)
        where arg.type is not null) args
    where p.pronamespace = (select oid from target) and p.prokind = 'f'
      and p.prorettype <> 'trigger'::regtype
      and has_function_privilege(p.oid, 'execute')
      and (args.unnamed = 0 or (args.unnamed = 1 and args.unnamed_type in (
             'bytea'::regtype, 'json'::regtype, 'jsonb'::regtype, 'text'::regtype,
             'xml'::regtype)))),
  (select obj_description(oid, 'pg_namespace') from target)
"""


@dataclass
class Column:
    name: str
    description: str | None
    nullable: bool
    type: str
    max_length: int | None
    default: str | None
    enum: list[str]


@dataclass
class Relation:
    name: str
    description: str | None
    writable: bool
    columns: list[Column]
    primary_key: list[str] = field(default_factory=list)


@dataclass
class Argument:
    name: str
    type: str
    required: bool
    variadic: bool


@dataclass
class Function:
    name: str
    description: str | None
    volatility: str
    arguments: list[Argument]


# ---------------------------------------------------------------------------------------
# Postgres types as Swagger's (`toSwaggerType`, `toSwaggerFormat`)
# ---------------------------------------------------------------------------------------

_SWAGGER_TYPES = {
    "character varying": "string", "character": "string", "text": "string",
    "boolean": "boolean", "smallint": "integer", "integer": "integer", "bigint": "integer",
    "numeric": "number", "real": "number", "double precision": "number",
    "json": None, "jsonb": None,
}
_FORMATS = {"smallint": "int32", "integer": "int32", "bigint": "int64"}


def swagger_type(pg_type: str) -> str | None:
    """The Swagger type of a Postgres type's name: any array is an array, JSON has none,
    what is not listed is a string."""
    if pg_type in _SWAGGER_TYPES:
        return _SWAGGER_TYPES[pg_type]
    return "array" if pg_type.endswith("[]") else "string"


def swagger_format(pg_type: str) -> str:
    return _FORMATS.get(pg_type, pg_type)


def _items(pg_type: str) -> dict[str, Any] | None:
    """An array's items: its element's type (none for JSON: `{}`)."""
    if swagger_type(pg_type) != "array":
        return None
    element = swagger_type(pg_type[:-2])
    return {} if element is None else {"type": element}


def _json_or_none(text: str) -> Any:
    """`JSON.decode`: the value when the text is one JSON value, else None (NaN and
    Infinity are not JSON)."""
    def refuse(constant: str) -> Any:
        raise ValueError(constant)
    try:
        return json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError):
        return None


def default_value(pg_type: str, expression: str) -> Any:
    """`parseDefault`: a string column's default without its `::type` cast and quotes,
    as a JSON string; another column's as the JSON its text is (`42`, `false`), if any."""
    if swagger_type(pg_type) == "string":
        suffix = "::" + pg_type
        text = expression[:-len(suffix)].strip("'") if expression.endswith(suffix) \
            else expression
        return _json_or_none(f'"{text}"')
    return _json_or_none(expression)


def _split_comment(comment: str | None) -> tuple[str | None, str | None]:
    """A comment's first line and the rest after its leading newlines (None when empty)."""
    if comment is None:
        return None, None
    first, newline, rest = comment.partition("\n")
    return first, (rest.lstrip("\n") if newline else "")


def _compact(value: dict[str, Any]) -> dict[str, Any]:
    """Swagger's encoding: a field left at its default (none, an empty list or map) is
    not written; an array's `items` is a schema, written even when empty (`{}`)."""
    return {k: v for k, v in value.items()
            if (k == "items" and v is not None) or v not in (None, [], {})}


# ---------------------------------------------------------------------------------------
# The document (`postgrestSpec`)
# ---------------------------------------------------------------------------------------

def _foreign_key_note(relation: str, column: str, keys: Sequence[ForeignKey]) -> str | None:
    """The key of one column from `relation` to another of the schema, a table's before a
    view's (`makeProperty`'s `fk`)."""
    candidates = sorted((k for k in keys if k.table == relation),
                        key=lambda k: (k.foreign_is_view, k.foreign, not k.one_to_one,
                                       k.constraint))
    for key in candidates:
        if [mine for mine, _ in key.columns] == [column]:
            target, target_column = key.foreign, key.columns[0][1]
            return (f"This is a Foreign Key to `{target}.{target_column}`."
                    f"<fk table='{target}' column='{target_column}'/>")
    return None


def _property(relation: Relation, column: Column, keys: Sequence[ForeignKey]
              ) -> dict[str, Any]:
    notes = ["Note:"]
    if column.name in relation.primary_key:
        notes.append("This is a Primary Key.<pk/>")
    if (fk := _foreign_key_note(relation.name, column.name, keys)) is not None:
        notes.append(fk)
    description = column.description
    if len(notes) > 1:
        description = (f"{column.description}\n\n" if column.description is not None
                       else "") + "\n".join(notes)
    return _compact({
        "default": None if column.default is None
        else default_value(column.type, column.default),
        "description": description,
        "enum": column.enum or None,
        "format": swagger_format(column.type),
        "maxLength": column.max_length,
        "type": swagger_type(column.type),
        "items": _items(column.type),
    })


def _definition(relation: Relation, keys: Sequence[ForeignKey]) -> dict[str, Any]:
    return _compact({
        "description": relation.description,
        "type": "object",
        "properties": {c.name: _property(relation, c, keys) for c in relation.columns},
        "required": [c.name for c in relation.columns if not c.nullable],
    })


def _prefer(values: Sequence[str]) -> dict[str, Any]:
    return _compact({"name": "Prefer", "description": "Preference", "required": False,
                     "in": "header", "type": "string", "enum": list(values)})


def _query_param(name: str, description: str | None) -> dict[str, Any]:
    return _compact({"name": name, "description": description, "required": False,
                     "in": "query", "type": "string"})


def _parameters(relations: Sequence[Relation]) -> dict[str, Any]:
    """The parameters every path refers to (`makeParamDefs`), and each relation's body
    and one filter per column."""
    returns = ["return=representation", "return=minimal", "return=none"]
    shared: dict[str, Any] = {
        "preferParams": _prefer([]),
        "preferReturn": _prefer(returns),
        "preferCount": _prefer(["count=none"]),
        "preferPost": _prefer([*returns, "resolution=ignore-duplicates",
                               "resolution=merge-duplicates"]),
        "select": _query_param("select", "Filtering Columns"),
        "on_conflict": _query_param("on_conflict", "On Conflict"),
        "order": _query_param("order", "Ordering"),
        "range": {"name": "Range", "description": "Limiting and Pagination",
                  "required": False, "in": "header", "type": "string"},
        "rangeUnit": {"name": "Range-Unit", "description": "Limiting and Pagination",
                      "required": False, "in": "header", "type": "string",
                      "default": "items"},
        "offset": _query_param("offset", "Limiting and Pagination"),
        "limit": _query_param("limit", "Limiting and Pagination"),
    }
    for relation in relations:
        shared[f"body.{relation.name}"] = {
            "name": relation.name, "description": relation.name, "required": False,
            "in": "body", "schema": {"$ref": f"#/definitions/{relation.name}"}}
        for column in relation.columns:
            shared[f"rowFilter.{relation.name}.{column.name}"] = _query_param(
                column.name, column.description)
    return shared


def _refs(names: Sequence[str]) -> list[dict[str, str]]:
    return [{"$ref": f"#/parameters/{name}"} for name in names]


def _relation_path(relation: Relation) -> dict[str, Any]:
    summary, description = _split_comment(relation.description)
    operation = _compact({"tags": [relation.name], "summary": summary,
                          "description": description or None})
    filters = [f"rowFilter.{relation.name}.{c.name}" for c in relation.columns]
    body = f"body.{relation.name}"
    item: dict[str, Any] = {"get": {
        **operation,
        "parameters": _refs([*filters, "select", "order", "range", "rangeUnit", "offset",
                             "limit", "preferCount"]),
        "responses": {
            "200": {"description": "OK", "schema": {
                "type": "array", "items": {"$ref": f"#/definitions/{relation.name}"}}},
            "206": {"description": "Partial Content"}},
    }}
    if relation.writable:
        item["post"] = {**operation, "parameters": _refs([body, "select", "preferPost"]),
                        "responses": {"201": {"description": "Created"}}}
        item["patch"] = {**operation, "parameters": _refs([*filters, body, "preferReturn"]),
                         "responses": {"204": {"description": "No Content"}}}
        item["delete"] = {**operation, "parameters": _refs([*filters, "preferReturn"]),
                          "responses": {"204": {"description": "No Content"}}}
    return item


def _query_argument(argument: Argument) -> dict[str, Any]:
    """A function's argument as a GET's query parameter (`makeProcGetParam`): a variadic
    one repeated (`collectionFormat: multi`), any other one string-typed unless it is a
    scalar Swagger knows."""
    if argument.variadic:
        element = argument.type[:-2]
        return _compact({
            "name": argument.name, "required": argument.required, "in": "query",
            "type": swagger_type(argument.type) or "string", "collectionFormat": "multi",
            "items": _compact({"type": swagger_type(element),
                               "format": swagger_format(element)})})
    kind = swagger_type(argument.type)
    return {"name": argument.name, "required": argument.required, "in": "query",
            "format": swagger_format(argument.type),
            "type": "string" if kind in (None, "array") else kind}


def _function_path(function: Function) -> dict[str, Any]:
    summary, description = _split_comment(function.description)
    operation = _compact({
        "summary": summary, "description": description or None,
        "tags": [f"(rpc) {function.name}"], "produces": _PRODUCES[:3],
        "responses": {"200": {"description": "OK"}}})
    body = _compact({
        "description": function.description, "type": "object",
        "properties": {a.name: _compact({"type": swagger_type(a.type),
                                         "items": _items(a.type),
                                         "format": swagger_format(a.type)})
                       for a in function.arguments},
        "required": [a.name for a in function.arguments if a.required]})
    item: dict[str, Any] = {"post": {**operation, "parameters": [
        {"name": "args", "required": True, "in": "body", "schema": body},
        {"$ref": "#/parameters/preferParams"}]}}
    if function.volatility != "v":
        item["get"] = {**operation, "parameters": [_query_argument(a)
                                                   for a in function.arguments]}
    return item


def document(relations: Sequence[Relation], functions: Sequence[Function],
             keys: Sequence[ForeignKey], schema_comment: str | None, public_url: str
             ) -> dict[str, Any]:
    """The Swagger 2.0 description of what `relations` and `functions` are, served at
    `public_url` + `/rest/v1/`."""
    title, description = _split_comment(schema_comment)
    url = urlsplit(public_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    paths: dict[str, Any] = {"/": {"get": {
        "tags": ["Introspection"], "summary": "OpenAPI description (this document)",
        "produces": ["application/openapi+json", "application/json"],
        "responses": {"200": {"description": "OK"}}}}}
    paths.update((f"/{r.name}", _relation_path(r)) for r in relations)
    # overloads: sorted by their number of arguments, the last one's path stays
    for function in sorted(functions, key=lambda f: len(f.arguments)):
        paths[f"/rpc/{function.name}"] = _function_path(function)
    return {
        "swagger": "2.0",
        "info": {"version": VERSION, "title": title if title is not None else "PostgREST API",
                 "description": description if description is not None
                 else "This is a dynamic API generated by PostgREST"},
        "externalDocs": {"description": "PostgREST Documentation", "url": DOCS_URL},
        "host": f"{url.hostname}:{port}",
        "basePath": url.path.rstrip("/") + "/rest/v1/",
        "schemes": ["https" if url.scheme == "https" else "http"],
        "definitions": {r.name: _definition(r, keys) for r in relations},
        "parameters": _parameters(relations),
        "paths": paths,
        "produces": _PRODUCES,
        "consumes": _PRODUCES,
    }


# ---------------------------------------------------------------------------------------
# The endpoint
# ---------------------------------------------------------------------------------------

class OpenApiEndpoint:
    """`/rest/v1/` on the RPC endpoint's pool, schemas and keys."""

    def __init__(self, rest: RpcEndpoint, public_url: str) -> None:
        self.rest = rest
        self.public_url = public_url

    async def handle(self, request: Request) -> Response:
        return await answering(request, self._handle)

    async def _handle(self, request: Request) -> Response:
        claims = self.rest.claims_for(request)
        schema, negotiated = self.rest.schema_for(request)
        method = request.method
        if method == "OPTIONS":  # not a CORS preflight (the middleware answers those)
            return Response(None, 200, {"Allow": "OPTIONS,GET,HEAD",
                                        "Access-Control-Allow-Origin": "*"})
        if method not in ("GET", "HEAD"):
            raise pgrst_error(405, "PGRST117", f"Unsupported HTTP method: {method}")
        ReadRequest.parse(request.url.query,
                          request.headers.get("range") if method == "GET" else None)
        names = accepted_names(request.headers.get("accept"))
        if _ROOT_MEDIA.isdisjoint(names):
            raise pgrst_error(406, "PGRST107",
                              "None of these media types are available: " + ", ".join(names))
        body = json.dumps(await self._describe(schema, claims, dict(request.headers)),
                          ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        headers = {"Content-Type": CONTENT_TYPE}
        if negotiated:
            headers["Content-Profile"] = schema
        if method == "HEAD":
            answer = Response(None, 200, headers)
            del answer.headers["content-length"]
            return answer
        return Response(body.encode(), 200, headers)

    async def _describe(self, schema: str, claims: dict[str, Any], headers: dict[str, str]
                        ) -> dict[str, Any]:
        try:
            async with self.rest.pool.connection() as conn:
                rows = await (await conn.execute(_RELATIONS_QUERY, (schema,))).fetchall()
                foreign_keys, primary_keys = await read_schema_keys(conn, schema)
                answer = await rpc.aread(
                    conn, schema, "/", (_ACCESSIBLE_QUERY.encode(), [schema.encode()]),
                    claims, headers, None, "GET", self.rest.extra_search_path)
        except (PoolTimeout, psycopg.OperationalError):  # no connection, or it was lost
            answer = rpc.unavailable()
        if isinstance(answer, rpc.RpcResponse):
            raise RestError(answer.status, answer.body, answer.headers)
        result = answer[-1]
        visible = set(json.loads(result.get_value(0, 0)))
        relations = [
            Relation(str(name), comment, bool(writable),
                     [Column(str(c[0]), c[1], bool(c[2]), str(c[3]), c[4], c[5], list(c[6]))
                      for c in columns], primary_keys.get(str(name), []))
            for name, comment, writable, columns in rows if name in visible]
        functions = [
            Function(str(name), comment, str(volatility),
                     [Argument(str(a[0]), str(a[1]), bool(a[2]), bool(a[3])) for a in args])
            for name, comment, volatility, args in json.loads(result.get_value(0, 1))]
        comment = result.get_value(0, 2)
        return document(relations, functions, foreign_keys,
                        None if comment is None else comment.decode(), self.public_url)
