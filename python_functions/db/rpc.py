"""Call a Postgres function exactly the way PostgREST's `/rpc/<fn>` endpoint does.

One caller used by the tests, the AI service (as `service_role`) and the `rpc` CLI. Per call,
as PostgREST does per request (docs.postgrest.org, "Transactions" and "Functions as RPC"):

* one transaction; READ ONLY when the function is `stable`/`immutable` or the method is GET;
* `set_config` (transaction-local) of `role` (the claims' `role`, `anon` when there are no
  claims), `request.jwt.claims`, `request.headers` (lower-cased names), `request.method`,
  `request.path`, `search_path` (the schema, then PostgREST's extra search path: `public,
  extensions` unless a call says otherwise), and the impersonated role's own settings
  (`alter role authenticated set statement_timeout = '8s'`), as PostgREST >= 12 applies them
  ("Impersonated Role Settings", references/transactions); then the request's own
  `settings` (the local API's `Prefer: timezone=...`, after the role's, as PostgREST's
  `PreQuery` orders them);
* the function called with named arguments, the JSON arguments typed by `json_to_record`
  with the function's declared parameter types;
* the outcome turned into `(status, headers, body)`:
  - success: 200 (204 without a body for `void`), overridden by the `response.status` GUC,
    plus the headers of the `response.headers` GUC (an array of one-key objects)
    ("Setting response headers / status": references/transactions), and `Content-Range`
    (`0-{n-1}/*` for n rows of a set, `*/*` for none, `0-0/*` for one value or a `void`);
  - `raise sqlstate 'PGRST' using message = <json body>, detail = <json {status, headers}>`
    takes over the whole error response ("Raise errors with HTTP Status Codes",
    references/errors); unparsable JSON there is PostgREST's 500 `PGRST121`;
  - `raise sqlstate 'PTnnn'` answers status nnn;
  - any other SQLSTATE by PostgREST's table ("HTTP Status Codes", references/errors):
    `42501` is 401 for anon and 403 otherwise, `23503`/`23505` 409, `25006` 405, `42883` and
    `42P01` 404, `P0001` 400, other `P0*` 500, `08*` and `57P01` (the server shutting down)
    503, `21000` 500, a JWT role that does not exist 401, ... with the body
    `{code, message, details, hint}`;
  - a function the schema cache does not know is 404 `PGRST202`, like PostgREST's, its
    hint a close name (`fuzzy`); one with a single unnamed parameter takes a POST's whole
    body when no named one fits: a JSON body for json/jsonb, the body as it is (`raw`) for
    text (`text/plain`), xml (`text/xml`) and bytea (`application/octet-stream`);
    overloads that fit the same arguments are 300 `PGRST203` (`findProc`);
  - `acall(..., csv=True)`: the body is PostgREST's `text/csv` of the rows (the local
    API's answer to `Accept: text/csv`);
  - `acall(..., as_media=True)` of a function returning a domain named as a media type
    (`create domain "text/html" as text`): the body is its value as it is, bytes, under
    that `Content-Type` (PostgREST's media type handlers, the local API's answer to an
    `Accept` of that type);
  - arguments nested deeper than 64 levels are refused with 400 `PGRST102` (invalid body)
    before they reach Postgres, whose JSON parser would run out of stack.

A call is one network round trip (counted in tests/test_rpc_caller.py): the context and
the call statement go out in one pipeline with a single Sync, and Postgres runs the
statements between two Syncs as one implicit transaction, committed at the Sync and rolled
back on an error, so no BEGIN/COMMIT is needed. The connection must be in autocommit mode.
What a request's shape decides (the function its argument names call, the call's SQL,
the context's parameters but the claims, headers and the request's own settings) is worked
out once per shape and kept until a schema or config reload (`_Plan`), and both statements
are sent through libpq's pipeline directly (`wire`), prepared once per connection;
`prepare_threshold=None` on the connection (for a pooler in transaction mode) sends them
unprepared.

Followed (PostgREST v12):
  https://docs.postgrest.org/en/v12/references/api/functions.html
  https://docs.postgrest.org/en/v12/references/transactions.html
  https://docs.postgrest.org/en/v12/references/errors.html
  https://docs.postgrest.org/en/v12/references/auth.html
"""

from __future__ import annotations

import base64
import contextlib
import json
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import psycopg
from psycopg import sql
from psycopg.errors import Diagnostic

from python_functions.db import fuzzy, wire

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

# Exact codes first, then prefixes, as PostgREST v16.1 maps them (`Error.mapSQLtoHTTP`).
_EXACT_STATUS = {
    "23503": 409, "23505": 409, "25006": 405, "53400": 500, "57P01": 503, "P0001": 400,
    "42883": 404, "42P01": 404, "42P17": 500,
}
_PREFIX_STATUS = {
    "08": 503, "09": 500, "0L": 403, "0P": 403, "25": 500, "28": 403, "2D": 500, "38": 500,
    "39": 500, "3B": 500, "40": 500, "53": 503, "54": 500, "55": 500, "57": 500, "58": 500,
    "F0": 500, "HV": 500, "P0": 500, "XX": 500,
}

_STATUS_TEXT = {
    200: "OK", 201: "Created", 204: "No Content", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


def status_text(status: int) -> str:
    return _STATUS_TEXT.get(status, "")


def status_for_sqlstate(sqlstate: str, authenticated: bool, message: str = "") -> int:
    if sqlstate == "42501":
        return 403 if authenticated else 401
    if sqlstate == "21000":  # pg-safeupdate's refusal is the client's; any other, a server's
        return 400 if message.endswith("requires a WHERE clause") else 500
    if sqlstate == "22023":  # the JWT's role does not exist
        return 401 if message.startswith("role") and message.endswith("does not exist") else 400
    if sqlstate in _EXACT_STATUS:
        return _EXACT_STATUS[sqlstate]
    if sqlstate.startswith("PT"):
        return int(sqlstate[2:]) if sqlstate[2:].isdigit() else 500
    return _PREFIX_STATUS.get(sqlstate[:2], 400)


@dataclass
class RpcResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def header(self, name: str) -> str | None:
        """Case-insensitive header lookup, as HTTP clients do it."""
        wanted = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == wanted), None)

    @property
    def ok(self) -> bool:
        return self.status < 400


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # format_type() text, used to type the JSON arguments
    has_default: bool
    variadic: bool = False  # `variadic v int[]`: called as `VARIADIC v := <array>`


class QueryValue(str):
    """A query string's (or form's) value of a name given more than once: the last one, as
    PostgREST takes it for an argument, with all of them in order in `values`, which a
    variadic parameter takes (`toRpcParams`)."""

    values: tuple[str, ...]

    def __new__(cls, values: Sequence[str]) -> QueryValue:
        value = super().__new__(cls, values[-1])
        value.values = tuple(values)
        return value


def add_query_value(arguments: dict[str, Any], name: str, value: str) -> None:
    """Add a query string's (or form's) `name=value` to `arguments`; a repeated name keeps
    all its values (`QueryValue`)."""
    before = arguments.get(name)
    if before is None:
        arguments[name] = value
    else:
        earlier = before.values if isinstance(before, QueryValue) else (str(before),)
        arguments[name] = QueryValue((*earlier, value))


@dataclass(frozen=True)
class FunctionInfo:
    schema: str
    name: str
    params: tuple[Param, ...]
    volatility: str  # 'i', 's' or 'v'
    returns_set: bool
    returns_void: bool
    returns_composite: bool  # a row type or `record` (OUT/TABLE parameters): no pgrst_scalar
    # the relation of its schema whose rows it returns (`funcTableName`), if any
    returns_table: str | None = None
    unnamed: bool = False  # its one parameter has no name: it takes a POST's whole body
    variadic: str | None = None  # the name of its variadic parameter, if it has one
    # the media type a domain it returns is named as (`mediaHandlers`), and whether its
    # values are bytes (a domain over bytea)
    media_type: str | None = None
    media_bytes: bool = False

    def accepts(self, keys: set[str]) -> bool:
        names = {p.name for p in self.params}
        required = {p.name for p in self.params if not p.has_default}
        return not self.unnamed and keys <= names and required <= keys

    def takes(self, media: str) -> bool:
        """Whether its one unnamed parameter takes a POST's body of this media type."""
        return self.unnamed and self.params[0].type in _BODY_TYPES.get(media, ())

    def argument(self, args: Mapping[str, Any], raw: bytes | None) -> bytes:
        """Its one unnamed parameter's value, as Postgres reads it (text format): the JSON
        object of the arguments, or the body (a JSON array; a raw body, bytea's in hex)."""
        kind = self.params[0].type
        if kind in ("json", "jsonb"):
            return raw if raw is not None else json.dumps(args).encode()
        if kind == "bytea":
            return b"\\x" + (raw or b"").hex().encode()
        return raw or b""

    def described(self) -> str:
        """How PostgREST's `PGRST203` names it."""
        params = ", ".join(f"{p.name} => {p.type}" for p in self.params)
        return f"{self.schema}.{self.name}({params})"


# The body a POST sends a function's one unnamed parameter, by its media type and the
# parameter's type (`findProc`'s `hasSingleUnnamedParam`); no Content-Type is JSON.
_BODY_TYPES = {
    "application/json": ("json", "jsonb"), "": ("json", "jsonb"), "text/plain": ("text",),
    "text/xml": ("xml",), "application/octet-stream": ("bytea",),
}
RAW_MEDIA = ("text/plain", "text/xml", "application/octet-stream")
_UNNAMED_TYPES = ("json", "jsonb", "text", "xml", "bytea")

_CATALOG_QUERY = """
select p.pronargs, p.pronargdefaults, p.proargnames, p.proargmodes,
       array(select format_type(t, null) from unnest(p.proargtypes) as t),
       p.provolatile, p.proretset, p.prorettype = 'void'::regtype,
       t.typtype = 'c' or p.prorettype = 'record'::regtype,
       (select c.relname from pg_class c
         where c.oid = t.typrelid and c.relnamespace = p.pronamespace
           and c.relkind in ('r', 'v', 'm', 'f', 'p')),
       case when t.typtype = 'd' and not p.proretset
                 and (t.typname ~* '^[A-Za-z0-9.-]+/[A-Za-z0-9.+-]+$' or t.typname = '*/*')
            then lower(t.typname) end,
       t.typtype = 'd' and t.typbasetype = 'bytea'::regtype
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
  join pg_type t on t.oid = p.prorettype
 where n.nspname = %s and p.proname = %s and p.prokind = 'f'
"""

# The names of a schema's functions, for a 404's hint: those of `allFunctions` (v16.1), as
# its `callable` picks them (not trigger functions; no unnamed parameter, or one whose first
# parameter is of a type that takes a body).
_NAMES_QUERY = """
select distinct p.proname
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname = %s and p.prokind = 'f' and p.prorettype <> 'trigger'::regtype
   and (select case count(*) - count(a.name)
                 when 0 then true
                 when 1 then (array_agg(a.type))[1] in ('bytea'::regtype, 'json'::regtype,
                                                       'jsonb'::regtype, 'text'::regtype,
                                                       'xml'::regtype)
                 else false end
          from unnest(p.proargnames, p.proargtypes::oid[], p.proargmodes) as a(name, type, mode)
         where a.type is not null)
"""

# Per role, its settings for this database (database-specific ones win over global ones).
_ROLE_SETTINGS_QUERY = """
select r.rolname, s.setconfig
  from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
 where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
 order by s.setdatabase
"""

_schema_cache: dict[tuple[str, str, str], list[FunctionInfo]] = {}
_role_settings_cache: dict[str, dict[str, dict[str, str]]] = {}
# Bumped by every reload: a lookup that read the catalog before one does not keep what it
# read (the DDL that caused the reload may have committed after the read).
_epoch = 0


def clear_schema_cache() -> None:
    """Forget cached signatures and role settings (PostgREST's `NOTIFY pgrst, 'reload
    schema'`, which re-reads the roles' settings too)."""
    global _epoch
    _epoch += 1
    _schema_cache.clear()
    _role_settings_cache.clear()
    _names_cache.clear()
    _plan_cache.clear()


def clear_role_settings() -> None:
    """Forget cached role settings (PostgREST's `NOTIFY pgrst, 'reload config'`)."""
    global _epoch
    _epoch += 1
    _role_settings_cache.clear()
    _plan_cache.clear()


# per connection (libpq reads the three values anew on every access)
_database_keys: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def _database_key(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any]) -> str:
    key = _database_keys.get(conn.pgconn)
    if key is None:
        key = _database_keys[conn.pgconn] = (
            f"{conn.info.host}:{conn.info.port}/{conn.info.dbname}")
    return key


def _cache_key(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], schema: str,
               name: str) -> tuple[str, str, str]:
    return (_database_key(conn), schema, name)


def _role_settings_from_rows(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, str]]:
    settings: dict[str, dict[str, str]] = {}
    for role, config in rows:
        for item in config or []:
            key, _, value = str(item).partition("=")
            settings.setdefault(str(role), {})[key] = value
    return settings


def _functions_from_rows(schema: str, name: str, rows: list[tuple[Any, ...]]
                         ) -> list[FunctionInfo]:
    found = []
    for (nargs, ndefaults, argnames, argmodes, argtypes, vol, retset, void, composite,
         table, media_type, media_bytes) in rows:
        if argmodes and any(m not in ("i", "b", "v") for m in argmodes[:nargs]):
            continue  # OUT/TABLE params come after the inputs; inputs only here
        names = list(argnames or [])[:nargs]
        unnamed = nargs == 1 and not any(names) and argtypes[0] in _UNNAMED_TYPES
        if not unnamed and (len(names) < nargs or not all(names)):
            continue  # PostgREST exposes functions with named parameters, and these
        params = tuple(Param(names[i] if names else "", argtypes[i], i >= nargs - ndefaults,
                             bool(argmodes) and argmodes[i] == "v")
                       for i in range(nargs))
        variadic = next((p.name for p in params if p.variadic), None)
        found.append(FunctionInfo(schema, name, params, vol, retset, void, composite,
                                  table, unnamed, variadic, media_type, bool(media_bytes)))
    return found


# `[api] extra_search_path` of the CLI's config template, which `supabase start` hands to
# PostgREST (`db-extra-search-path`): after the request's schema in its search_path
EXTRA_SEARCH_PATH = ("public", "extensions")

# The request context, one statement; its parameters in CONTEXT_KEYS order.
CONTEXT_KEYS = ("search_path", "role", "claims", "headers", "method", "path", "read_only",
                "role_settings")
SET_CONTEXT = (
    b"select set_config('search_path', $1, true),"
    b" set_config('role', $2, true),"
    b" set_config('request.jwt.claims', $3, true),"
    b" set_config('request.headers', $4, true),"
    b" set_config('request.cookies', '{}', true),"
    b" set_config('request.method', $5, true),"
    b" set_config('request.path', $6, true),"
    b" set_config('transaction_read_only', $7, true),"
    b" (select count(set_config(s.key, s.value, true))"
    b"    from json_each_text($8::json) as s)"
)


@dataclass(slots=True)
class _Request:
    """One RPC request, independent of the connection flavour (sync or async); not
    changed once built."""

    schema: str
    function: str
    args: dict[str, Any]
    claims: dict[str, Any]
    headers: dict[str, str]
    method: str
    settings: dict[str, str]
    # a POST's body as an unnamed parameter takes it: one of RAW_MEDIA as it came, or a
    # JSON array (`[]` for any JSON value but an object)
    raw: bytes | None = None
    extra_search_path: tuple[str, ...] = EXTRA_SEARCH_PATH

    @classmethod
    def build(cls, schema: str, function: str, args: Mapping[str, Any] | None,
              claims: Mapping[str, Any] | None, headers: Mapping[str, str] | None,
              method: str, settings: Mapping[str, str] | None = None,
              raw: bytes | None = None,
              extra_search_path: Sequence[str] = EXTRA_SEARCH_PATH) -> _Request:
        return cls(schema, function, dict(args or {}),
                   dict(claims) if claims is not None else {"role": "anon"},
                   {k.lower(): v for k, v in (headers or {}).items()}, method.upper(),
                   dict(settings or {}), raw, tuple(extra_search_path))

    @property
    def role(self) -> str:
        return str(self.claims.get("role") or "anon")

    @property
    def authenticated(self) -> bool:
        return self.role != "anon"

    def pick(self, candidates: list[FunctionInfo]) -> FunctionInfo | RpcResponse:
        """The one function these arguments call (`Plan.findProc`): the one whose named
        parameters they fit (one without parameters takes no raw body), else the one whose
        single unnamed parameter takes a POST's body of its media type; none is 404
        `PGRST202`, several 300 `PGRST203` (listed by signature; PostgREST lists them in its
        cache's order)."""
        keys = set(self.args)
        fitting = [f for f in candidates if f.accepts(keys)
                   and (f.params or not self.sends_raw)] or [
            f for f in candidates if self.method == "POST" and f.takes(self.media)]
        if len(fitting) == 1:
            return fitting[0]
        if not fitting:
            return self.not_found(candidates)
        return _error_response(300, {
            "code": "PGRST203",
            "message": "Could not choose the best candidate function between: "
                       + ", ".join(sorted(f.described() for f in fitting)),
            "details": None,
            "hint": "Try renaming the parameters or the function itself in the database so"
                    " function overloading can be resolved"})

    @property
    def media(self) -> str:
        """The body's media type (`body_media`)."""
        return body_media(self.headers.get("content-type"))

    @property
    def sends_raw(self) -> bool:
        """A POST whose body goes to a function as it is (text, xml or bytes)."""
        return self.method == "POST" and self.media in RAW_MEDIA

    def not_found(self, candidates: list[FunctionInfo], functions: Sequence[str] = ()
                  ) -> RpcResponse:
        """PostgREST's `NoRpc` error (`Error.hs`: its message, details and hint). The hint
        is the closest of the function's parameter lists (`candidates`), else the closest
        name among the schema's `functions`; none for a raw body."""
        names = sorted(self.args)
        listed = ", ".join(names)
        qualified = f"{self.schema}.{self.function}"
        if self.sends_raw:
            kind = _BODY_TYPES[self.media][0]
            return _error_response(404, {
                "code": "PGRST202",
                "message": f"Could not find the function {qualified} in the schema cache",
                "details": f"Searched for the function {qualified} with a single unnamed"
                           f" {kind} parameter, but no matches were found in the schema cache.",
                "hint": None,
            })
        if candidates:  # `noRpcHint`: the parameter lists, each as its sorted names
            close = fuzzy.closest(
                ("(" + ", ".join(sorted(p.name for p in f.params)) + ")" for f in candidates),
                f"({listed})")
            hint = close and f"Perhaps you meant to call the function {qualified}{close}"
        else:
            close = fuzzy.closest(functions, self.function, fuzzy.TABLE_OR_FUNCTION)
            hint = close and f"Perhaps you meant to call the function {self.schema}.{close}"
        searched = (f" with parameter{'s' if len(names) > 1 else ''} {listed}" if names
                    else " without parameters")
        if self.method == "POST" and self.media in ("application/json", ""):
            searched += " or with a single unnamed json/jsonb parameter"
        return _error_response(404, {
            "code": "PGRST202",
            "message": f"Could not find the function {qualified}"
                       f"{f'({listed})' if names else ' without parameters'} in the schema cache",
            "details": f"Searched for the function {qualified}{searched}, but no matches were"
                       " found in the schema cache.",
            "hint": hint,
        })

    def context_at(self, path: str, read_only: bool,
                   role_settings: dict[str, dict[str, str]]) -> wire.Step:
        """SET_CONTEXT and its parameters (CONTEXT_KEYS order) for a request at `path`."""
        settings = role_settings.get(self.role, {})
        return self.context_from(_fixed_context(self, path, read_only), settings,
                                 json.dumps(settings).encode())

    def context_from(self, fixed: tuple[bytes, bytes, bytes, bytes, bytes],
                     role_settings: dict[str, str], role_settings_json: bytes) -> wire.Step:
        """SET_CONTEXT from the parameters a request's shape fixes (`_fixed_context`) and
        those that vary from one request to the next: the claims, the headers, the
        request's own settings (after the role's)."""
        search_path, role, method, path, read_only = fixed
        settings = role_settings_json if not self.settings else \
            json.dumps({**role_settings, **self.settings}).encode()
        return SET_CONTEXT, (
            search_path, role, json.dumps(self.claims).encode(),
            json.dumps(self.headers).encode() if self.headers else b"{}",
            method, path, read_only, settings)

    def call_params(self, info: FunctionInfo) -> tuple[bytes, ...]:
        """The call statement's parameters: the body as the one unnamed parameter takes
        it, else the arguments as one JSON object (none without arguments)."""
        if info.unnamed:
            return (info.argument(self.args, self.raw),)
        if not self.args:
            return ()
        arguments = self.args if info.variadic is None else \
            _call_arguments(info, self.args, self.from_query)
        return (json.dumps(arguments).encode(),)

    @property
    def from_query(self) -> bool:
        """Whether the arguments are a query string's or a form's (strings, not JSON)."""
        return self.method in ("GET", "HEAD") or \
            self.media == "application/x-www-form-urlencoded"


def body_media(content_type: str | None) -> str:
    """A body's media type from its `Content-Type` header: lower case, without parameters;
    JSON when there is no header."""
    given = "application/json" if content_type is None else content_type
    return given.split(";")[0].strip().lower()


def _rendered(info: FunctionInfo, keys: tuple[str, ...], shape: str) -> bytes:
    """The call statement's SQL for these argument names and shape of the answer (`json`,
    `csv`, `media`)."""
    statement = {"json": _call_statement, "csv": _csv_statement,
                 "media": _media_statement}[shape]
    return statement(info, list(keys)).as_bytes(None)


def _call_parts(info: FunctionInfo, keys: list[str]) -> tuple[sql.Composed, sql.Composable]:
    """The function called with the request's arguments by name, and where those come from
    (the JSON body typed by `json_to_record`)."""
    if info.unnamed:  # the whole body (`JsonArgs`, `RawPay`), one positional argument
        return (sql.SQL("{}($1::{})").format(sql.Identifier(info.schema, info.name),
                                              sql.SQL(info.params[0].type)),
                sql.SQL("(select) as a"))
    by_name = {p.name: p for p in info.params}
    call_expr = sql.SQL("{}({})").format(
        sql.Identifier(info.schema, info.name),
        sql.SQL(", ").join(
            sql.SQL("{}{} := a.{}").format(
                sql.SQL("VARIADIC " if by_name[k].variadic else ""), sql.Identifier(k),
                sql.Identifier(k))
            for k in keys
        ),
    )
    args_source = sql.SQL("json_to_record($1::json) as a({})").format(
        sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(k), sql.SQL(by_name[k].type)) for k in keys
        )
    ) if keys else sql.SQL("(select) as a")
    return call_expr, args_source


def _call_arguments(info: FunctionInfo, args: dict[str, Any], from_query: bool
                    ) -> dict[str, Any]:
    """The arguments as `info` takes them: a variadic parameter's from a query string or a
    form (`from_query`) are all the values given for it, an array even of one
    (`toRpcParams`); a JSON body's are as they are."""
    variadic = info.variadic
    if variadic is None or variadic not in args or not from_query:
        return args
    value = args[variadic]
    return {**args, variadic: list(value.values if isinstance(value, QueryValue) else (value,))}


def call_argument(info: FunctionInfo, args: Mapping[str, Any], raw: bytes | None, method: str,
                  headers: Mapping[str, str] | None) -> bytes | None:
    """`$1` of `call_source` for a request's arguments (and its `raw` body, as `acall`
    takes them), or None when there is none."""
    request = _Request.build(info.schema, info.name, args, None, headers, method, raw=raw)
    if info.unnamed:
        return info.argument(request.args, raw)
    arguments = _call_arguments(info, request.args, request.from_query)
    return json.dumps(arguments).encode() if arguments else None


def call_source(info: FunctionInfo, keys: Sequence[str]) -> str:
    """The rows of a function returning a relation's rows, called with the arguments of
    `keys` from a JSON object bound as `$1` (`callPlanToQuery`): what PostgREST reads as
    `pgrst_source` when it shapes a function's result."""
    call_expr, args_source = _call_parts(info, list(keys))
    return sql.SQL("SELECT pgrst_call.* FROM {}, LATERAL {} pgrst_call").format(
        args_source, call_expr).as_string(None)


def _call_statement(info: FunctionInfo, keys: list[str]) -> sql.Composed:
    """One statement: the call, its JSON body, and the response GUCs it may have set."""
    call_expr, args_source = _call_parts(info, keys)
    if info.returns_set:
        body = sql.SQL(
            "select coalesce(json_agg(r), '[]')::text from {} cross join lateral {} as r"
        ).format(args_source, call_expr)
    elif info.returns_void:
        body = sql.SQL("select {}::text from {}").format(call_expr, args_source)
    else:
        body = sql.SQL("select to_json({})::text from {}").format(call_expr, args_source)
    return sql.SQL(
        "select ({}) as body, current_setting('response.headers', true),"
        " current_setting('response.status', true)"
    ).format(body)


def _media_statement(info: FunctionInfo, keys: list[str]) -> sql.Composed:
    """The call's value as it is (`customFuncF` of a scalar: the value as its domain),
    bytes in base64 (the pipeline reads text), then the response GUCs."""
    call_expr, args_source = _call_parts(info, keys)
    value = (sql.SQL("encode({}::bytea, 'base64')") if info.media_bytes
             else sql.SQL("{}::text")).format(call_expr)
    return sql.SQL(
        "select (select {} from {}) as body, current_setting('response.headers', true),"
        " current_setting('response.status', true)"
    ).format(value, args_source)


def media_content_type(media_type: str) -> str:
    """`toContentType` of a media type: a charset for those PostgREST knows but
    `application/octet-stream`; `*/*`'s values are `application/octet-stream`."""
    if media_type == "*/*":
        return "application/octet-stream"
    known = media_type.split(";")[0].strip().lower() in (
        "application/json", "application/geo+json", "text/csv", "text/plain", "text/xml",
        "application/openapi+json", "application/x-www-form-urlencoded")
    return media_type + ("; charset=utf-8" if known else "")


def _csv_statement(info: FunctionInfo, keys: list[str]) -> sql.Composed:
    """The call with its rows as `text/csv`, built as PostgREST builds it (`asCsvF` over
    `pgrst_source`, v16.1): a header of the first row's column names (`pgrst_scalar` for a
    function that does not return rows of a composite type), then each row's text without
    its parentheses; then the response GUCs, and the number of rows for `Content-Range`."""
    call_expr, args_source = _call_parts(info, keys)
    if info.returns_composite:
        source = sql.SQL("select pgrst_call.* from {}, lateral {} pgrst_call").format(
            args_source, call_expr)
    else:
        source = sql.SQL(
            "select pgrst_call.pgrst_scalar from {}, lateral (select {} pgrst_scalar) pgrst_call"
        ).format(args_source, call_expr)
    return sql.SQL(
        "select c.body, current_setting('response.headers', true),"
        " current_setting('response.status', true), c.n from ("
        "with pgrst_source as ({})"
        " select " + csv_body("pgrst_source") + " as body, count(*) as n"
        " from (select * from pgrst_source) _postgrest_t) c"
    ).format(source)


def csv_body(source: str) -> str:
    """PostgREST's `asCsvF` over the rows `_postgrest_t` of `source` (a CTE's name): a
    header of the first row's column names, then each row's text without its parentheses."""
    return ("(select coalesce(string_agg(a.k, ','), '')"
            " from (select json_object_keys(r)::text as k"
            f" from (select row_to_json(hh) as r from {source} as hh limit 1) s) a)"
            " || chr(10) || coalesce(string_agg(substring(_postgrest_t::text, 2,"
            " length(_postgrest_t::text) - 2), chr(10)), '')")


def _error_response(status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
                    ) -> RpcResponse:
    merged = {"Content-Type": JSON_CONTENT_TYPE, **(headers or {})}
    return RpcResponse(status, merged, body)


def unavailable() -> RpcResponse:
    """PostgREST's answer while it cannot reach its database."""
    return _error_response(503, {
        "code": "PGRST000",
        "message": "Database client error. Retrying the connection.",
        "details": None, "hint": None,
    })


def _raise_unparsable(details: str, hint: str = (
        "DETAIL must be a JSON object with obligatory keys: 'status', 'headers' and optional"
        " key: 'status_text'.")) -> RpcResponse:
    """PostgREST's 500 `PGRST121` for a `RAISE SQLSTATE 'PGRST'` it cannot read
    (`PGRSTParseError`: which part failed, in the details and the hint)."""
    return _error_response(500, {
        "code": "PGRST121",
        "message": "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
        "details": details, "hint": hint})


def _pg_error_response(diag: Diagnostic, authenticated: bool) -> RpcResponse:
    sqlstate = diag.sqlstate
    if sqlstate is None:  # no server answer: the connection is gone
        return unavailable()
    if sqlstate == "PGRST":
        message, detail_text = diag.message_primary or "", diag.message_detail
        try:
            body = json.loads(message)
            if not isinstance(body, dict):
                raise TypeError("MESSAGE must be an object")
        except (ValueError, TypeError):
            return _raise_unparsable(f"Invalid JSON value for MESSAGE: '{message}'",
                                     "MESSAGE must be a JSON object with obligatory keys:"
                                     " 'code', 'message' and optional keys: 'details', 'hint'.")
        try:
            if detail_text is None:
                return _raise_unparsable("DETAIL is missing in the RAISE statement")
            detail = json.loads(detail_text)
            status = int(detail["status"])
            headers = {str(k): str(v) for k, v in (detail.get("headers") or {}).items()}
        except (ValueError, TypeError, KeyError, AttributeError):
            return _raise_unparsable(f"Invalid JSON value for DETAIL: '{detail_text}'")
        return _error_response(status, body, headers)
    status = status_for_sqlstate(sqlstate, authenticated, diag.message_primary or "")
    return _error_response(status, {
        "code": sqlstate,
        "message": diag.message_primary,
        "details": diag.message_detail,
        "hint": diag.message_hint,
    }, {"WWW-Authenticate": "Bearer"} if status == 401 else None)


MAX_JSON_DEPTH = 64


def _too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether JSON nests deeper than `limit` (Postgres' own parser runs out of stack on a
    few thousand levels, with a 500 before any privilege check)."""
    level: list[tuple[Any, int]] = [(value, 1)]
    while level:
        item, depth = level.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            level.extend((child, depth + 1) for child in children)
    return False


def _too_deep_response() -> RpcResponse:
    return _error_response(400, {
        "code": "PGRST102",
        "message": f"Invalid body: JSON nested deeper than {MAX_JSON_DEPTH} levels",
        "details": None, "hint": None,
    })


def response_headers(raw: bytes | None) -> dict[str, str]:
    if not raw:
        return {}
    parsed = json.loads(raw)
    headers: dict[str, str] = {}
    for item in parsed if isinstance(parsed, list) else [parsed]:
        for key, value in item.items():
            headers[str(key)] = str(value)
    return headers


def _finish(info: FunctionInfo, results: list[Any], shape: str = "json") -> RpcResponse:
    """The response from the call statement's row: (body, response.headers, .status), and
    for CSV the number of rows."""
    answer = results[-1]
    body_text, raw_headers, raw_status = \
        answer.get_value(0, 0), answer.get_value(0, 1), answer.get_value(0, 2)
    set_by_call = response_headers(raw_headers)
    if info.returns_void:  # no body, but the range of its one row (`Response.actionResponse`)
        return RpcResponse(int(raw_status) if raw_status else 204, add_headers_if_not_included(
            {"Content-Range": "0-0/*"}, set_by_call), None)
    body: Any
    if shape == "media" and info.media_type is not None:
        content_type = media_content_type(info.media_type)
        value = body_text or b""
        body = base64.b64decode(value) if info.media_bytes else bytes(value)
        rows = 1
    elif shape == "csv":
        content_type = CSV_CONTENT_TYPE
        body = (body_text or b"").decode()
        rows = int(answer.get_value(0, 3))
    else:
        content_type = JSON_CONTENT_TYPE
        body = json.loads(body_text) if body_text is not None else None
        # PostgREST's range of the rows returned (RangeQuery.contentRangeH): n rows of a
        # set, one row for a scalar or a composite
        rows = len(body) if info.returns_set and isinstance(body, list) else 1
    own = {"Content-Type": content_type,
           "Content-Range": f"0-{rows - 1}/*" if rows else "*/*"}
    return RpcResponse(int(raw_status) if raw_status else 200,
                       add_headers_if_not_included(own, set_by_call), body)


def add_headers_if_not_included(own: dict[str, str], given: dict[str, str]
                                ) -> dict[str, str]:
    """PostgREST's `addHeadersIfNotIncluded`: the `given` headers (those a call set in
    `response.headers`), and of the answer's `own` those whose name (case aside, as
    HTTP's) they do not have."""
    if not given:
        return own
    named = {name.lower() for name in given}
    return {**{k: v for k, v in own.items() if k.lower() not in named}, **given}


class Statements(NamedTuple):
    """What one call sends in its single pipeline: the context, then the call (each SQL
    with `$n` placeholders, and its text parameters)."""

    context: wire.Step
    call: wire.Step


def _fixed_context(request: _Request, path: str, read_only: bool
                   ) -> tuple[bytes, bytes, bytes, bytes, bytes]:
    """The context's parameters a request's shape decides (`Request.context_from`); the
    search_path as PostgREST's `PreQuery` sets it: the schema, then the extra search path,
    each a quoted identifier."""
    search_path = ", ".join('"' + name.replace('"', '""') + '"'
                            for name in (request.schema, *request.extra_search_path))
    return (search_path.encode(), request.role.encode(), request.method.encode(),
            path.encode(), b"on" if read_only else b"off")


@dataclass(frozen=True)
class _Plan:
    """What a request's shape decides, worked out once: the function its argument names
    call, the call's SQL, and the context's parameters but those that vary per request."""

    info: FunctionInfo
    fixed: tuple[bytes, bytes, bytes, bytes, bytes]
    role_settings: dict[str, str]
    role_settings_json: bytes
    call_sql: bytes

    def statements(self, request: _Request) -> Statements:
        return Statements(
            request.context_from(self.fixed, self.role_settings, self.role_settings_json),
            (self.call_sql, request.call_params(self.info)))


# Plans by database and request shape (`_plan_key`). Dropped with the signatures and role
# settings they came from, and all at once when PLAN_CACHE_SIZE are held: the argument
# names are the client's, so the shapes are not bounded by the schema.
_plan_cache: dict[tuple[object, ...], _Plan] = {}
PLAN_CACHE_SIZE = 4096


def _plan_key(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], request: _Request,
              shape: str) -> tuple[object, ...]:
    """All a plan depends on: the function, the method, the body's media type, the role,
    the search path, the answer's shape and the argument names in their order (the SQL
    lists them so)."""
    return (_database_key(conn), request.schema, request.function, request.method,
            request.media, request.role, request.extra_search_path, shape, *request.args)


def _new_plan(key: tuple[object, ...], request: _Request, candidates: list[FunctionInfo],
              role_settings: dict[str, dict[str, str]], shape: str, epoch: int
              ) -> _Plan | RpcResponse:
    """The plan of the function these arguments call (or the error response if none or
    several fit), kept unless a reload came since `epoch` (before the catalog was read)."""
    info = request.pick(candidates)
    if isinstance(info, RpcResponse):
        return info
    read_only = request.method in ("GET", "HEAD") or info.volatility in ("s", "i")
    settings = role_settings.get(request.role, {})
    plan = _Plan(info, _fixed_context(request, f"/rpc/{request.function}", read_only),
                 settings, json.dumps(settings).encode(),
                 _rendered(info, () if info.unnamed else tuple(request.args), shape))
    if epoch == _epoch:
        if len(_plan_cache) >= PLAN_CACHE_SIZE:
            _plan_cache.clear()
        _plan_cache[key] = plan
    return plan


def _known(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], request: _Request
           ) -> tuple[list[FunctionInfo], dict[str, dict[str, str]]] | None:
    """The cached signatures and role settings, or None when they must be loaded."""
    candidates = _schema_cache.get(_cache_key(conn, request.schema, request.function))
    settings = _role_settings_cache.get(_database_key(conn))
    return None if candidates is None or settings is None else (candidates, settings)


def _remember(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any], request: _Request,
              function_rows: list[tuple[Any, ...]], settings_rows: list[tuple[Any, ...]],
              epoch: int) -> tuple[list[FunctionInfo], dict[str, dict[str, str]]]:
    """What the catalog said, kept unless a reload came since `epoch` (when it was read)."""
    candidates = _functions_from_rows(request.schema, request.function, function_rows)
    settings = _role_settings_from_rows(settings_rows)
    if epoch == _epoch:
        _schema_cache[_cache_key(conn, request.schema, request.function)] = candidates
        _role_settings_cache[_database_key(conn)] = settings
    return candidates, settings


def _lookup(conn: psycopg.Connection[Any], request: _Request
            ) -> tuple[list[FunctionInfo], dict[str, dict[str, str]]]:
    """The signatures and role settings, loaded over a sync connection when not cached."""
    epoch = _epoch
    return _known(conn, request) or _remember(
        conn, request,
        conn.execute(_CATALOG_QUERY, (request.schema, request.function)).fetchall(),
        conn.execute(_ROLE_SETTINGS_QUERY).fetchall(), epoch)


def _planned(conn: psycopg.Connection[Any], request: _Request, shape: str = "json"
             ) -> _Plan | RpcResponse:
    """The request's plan, worked out over a sync connection when not cached."""
    key = _plan_key(conn, request, shape)
    plan = _plan_cache.get(key)
    if plan is not None:
        return plan
    epoch = _epoch
    candidates, settings = _lookup(conn, request)
    if not candidates:  # an unknown name: the hint names a close one
        return request.not_found([], _names(conn, request.schema))
    return _new_plan(key, request, candidates, settings, shape, epoch)


async def _aplanned(conn: psycopg.AsyncConnection[Any], request: _Request, shape: str
                    ) -> _Plan | RpcResponse:
    """`_planned` over an async connection."""
    key = _plan_key(conn, request, shape)
    plan = _plan_cache.get(key)
    if plan is not None:
        return plan
    epoch = _epoch
    candidates, settings = await _alookup(conn, request)
    if not candidates:
        return request.not_found([], await _anames(conn, request.schema))
    return _new_plan(key, request, candidates, settings, shape, epoch)


def statements(conn: psycopg.Connection[Any], schema: str, function: str,
               args: Mapping[str, Any] | None = None, claims: Mapping[str, Any] | None = None,
               method: str = "POST") -> Statements:
    """The statements `call` would send for this request (for benchmarks)."""
    request = _Request.build(schema, function, args, claims, None, method)
    plan = _planned(conn, request)
    if isinstance(plan, RpcResponse):
        raise LookupError(plan.body["message"])
    return plan.statements(request)


def call(
    conn: psycopg.Connection[Any],
    schema: str,
    function: str,
    args: Mapping[str, Any] | None = None,
    claims: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    method: str = "POST",
) -> RpcResponse:
    """Run `schema.function(**args)` as PostgREST would for `POST /rpc/function`.

    `conn` must be in autocommit mode and connected as a role that may `set role` to the
    API roles (`authenticator`, `postgres`). `claims` are the verified JWT claims; None is a
    request with the anon key.
    """
    request = _Request.build(schema, function, args, claims, headers, method)
    if _too_deep(request.args):
        return _too_deep_response()
    try:
        plan = _planned(conn, request)
        if isinstance(plan, RpcResponse):
            return plan
        # One round trip: both statements and a single Sync. Between Syncs, Postgres runs
        # them as one implicit transaction (committed at the Sync, rolled back on error);
        # set_config(..., true) lasts exactly that transaction.
        results = wire.run(conn, plan.statements(request))
    except (wire.StatementError, psycopg.Error) as exc:
        return _pg_error_response(exc.diag, request.authenticated)
    return _finish(plan.info, results)


async def acall(
    conn: psycopg.AsyncConnection[Any],
    schema: str,
    function: str,
    args: Mapping[str, Any] | None = None,
    claims: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    method: str = "POST",
    csv: bool = False,
    settings: Mapping[str, str] | None = None,
    raw: bytes | None = None,
    as_media: bool = False,
    extra_search_path: Sequence[str] = EXTRA_SEARCH_PATH,
) -> RpcResponse:
    """`call` over an async connection (the AI service's pool). `csv`: the rows as
    PostgREST answers `Accept: text/csv` (the body is then the CSV text). `settings`: more
    transaction-local settings, applied after the role's (`timezone` of `Prefer`). `raw`: a
    POST's body as a function's one unnamed parameter takes it (its `Content-Type` in
    `headers`): one of RAW_MEDIA as it came, or a JSON array whose first object's keys are
    `args`. `as_media`: the value of a function returning a media
    type's domain as it is (the body is bytes). `extra_search_path`: PostgREST's
    `db-extra-search-path` (the local API's `[api] extra_search_path`)."""
    request = _Request.build(schema, function, args, claims, headers, method, settings, raw,
                             extra_search_path)
    if _too_deep(request.args) or (raw is not None and not request.sends_raw
                                   and _too_deep(json.loads(raw))):  # a JSON array's rows
        return _too_deep_response()
    shape = "media" if as_media else "csv" if csv else "json"
    try:
        plan = await _aplanned(conn, request, shape)
        if isinstance(plan, RpcResponse):
            return plan
        # one round trip, one implicit transaction (see call)
        results = await wire.arun(conn, plan.statements(request))
    except (wire.StatementError, psycopg.Error) as exc:
        return _pg_error_response(exc.diag, request.authenticated)
    return _finish(plan.info, results, shape)


async def aread(conn: psycopg.AsyncConnection[Any], schema: str, path: str,
                statement: wire.Step, claims: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None,
                settings: Mapping[str, str] | None = None,
                method: str = "GET", extra_search_path: Sequence[str] = EXTRA_SEARCH_PATH
                ) -> list[Any] | RpcResponse:
    """One read statement run as PostgREST runs a table read (`GET /{table}`), or a call
    whose transaction is READ ONLY (`method`: POST to a stable function): the same request
    context as a call (role, claims, headers, `request.path`, the role's and the request's
    settings) in a READ ONLY transaction, in one round trip. The statement's result, or
    the error response its failure answers. Not prepared: its text varies with the
    request's filters and columns."""
    request = _Request.build(schema, path, None, claims, headers, method, settings,
                             extra_search_path=extra_search_path)
    try:
        role_settings = await _arole_settings(conn)
        results = await wire.arun(
            conn, (request.context_at(path, True, role_settings), statement), prepare=False)
    except (wire.StatementError, psycopg.Error) as exc:
        return _pg_error_response(exc.diag, request.authenticated)
    return results


async def awrite(conn: psycopg.AsyncConnection[Any], schema: str, path: str, method: str,
                 statement: wire.Step, accept: Callable[[Any], RpcResponse | None],
                 claims: Mapping[str, Any] | None = None,
                 headers: Mapping[str, str] | None = None,
                 settings: Mapping[str, str] | None = None,
                 extra_search_path: Sequence[str] = EXTRA_SEARCH_PATH) -> Any | RpcResponse:
    """One write statement run as PostgREST runs a table write: the request context of
    `aread` in a transaction that commits only if `accept(result)` finds nothing wrong with
    the result (PostgREST checks a write's row count, then rolls it back: `.single()` of
    other than one row). The result, or the error response that ended the transaction."""
    request = _Request.build(schema, path, None, claims, headers, method, settings,
                             extra_search_path=extra_search_path)
    try:
        role_settings = await _arole_settings(conn)
        results = await wire.arun(conn, ((b"begin", ()),
                                         request.context_at(path, False, role_settings),
                                         statement), prepare=False)
    except (wire.StatementError, psycopg.Error) as exc:
        if not conn.closed:  # a broken connection is the pool's to discard
            with contextlib.suppress(wire.StatementError, psycopg.Error):
                await wire.arun(conn, ((b"rollback", ()),), prepare=False)
        return _pg_error_response(exc.diag, request.authenticated)
    refused = accept(results[-1])
    try:
        await wire.arun(conn, (((b"rollback" if refused else b"commit"), ()),), prepare=False)
    except (wire.StatementError, psycopg.Error) as exc:  # a deferred constraint, say
        return _pg_error_response(exc.diag, request.authenticated)
    return refused or results[-1]


async def _arole_settings(conn: psycopg.AsyncConnection[Any]) -> dict[str, dict[str, str]]:
    role_settings = _role_settings_cache.get(_database_key(conn))
    if role_settings is None:
        epoch = _epoch
        rows = await (await conn.execute(_ROLE_SETTINGS_QUERY)).fetchall()
        role_settings = _role_settings_from_rows(rows)
        if epoch == _epoch:
            _role_settings_cache[_database_key(conn)] = role_settings
    return role_settings


async def acandidates(conn: psycopg.AsyncConnection[Any], schema: str, function: str
                      ) -> list[FunctionInfo]:
    """The functions of that name the schema cache knows (none: PostgREST's 404)."""
    candidates, _ = await _alookup(conn, _Request.build(schema, function, None, None, None,
                                                        "POST"))
    return candidates


async def apick(conn: psycopg.AsyncConnection[Any], schema: str, function: str,
                args: Mapping[str, Any] | None = None, method: str = "POST",
                headers: Mapping[str, str] | None = None, raw: bytes | None = None
                ) -> FunctionInfo | RpcResponse:
    """The function of that name these arguments (or this `raw` body) call, else
    PostgREST's 404 `PGRST202` (or the error reading the catalog answers)."""
    request = _Request.build(schema, function, args, None, headers, method, raw=raw)
    try:
        candidates, _ = await _alookup(conn, request)
        if not candidates:
            return request.not_found([], await _anames(conn, schema))
    except psycopg.Error as exc:
        return _pg_error_response(exc.diag, request.authenticated)
    return request.pick(candidates)


# per database and schema, its function names, kept like the signatures (until a reload)
_names_cache: dict[tuple[str, str], list[str]] = {}


def _remember_names(conn: psycopg.Connection[Any] | psycopg.AsyncConnection[Any],
                    schema: str, rows: list[tuple[Any, ...]], epoch: int) -> list[str]:
    """What `_NAMES_QUERY` read, kept unless a reload came since `epoch` (as `_remember`)."""
    names = [str(row[0]) for row in rows]
    if epoch == _epoch:
        _names_cache[(_database_key(conn), schema)] = names
    return names


def _names(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """The schema's function names, for an unknown name's hint (see `_anames`)."""
    epoch = _epoch
    cached = _names_cache.get((_database_key(conn), schema))
    if cached is not None:
        return cached
    return _remember_names(conn, schema, conn.execute(_NAMES_QUERY, (schema,)).fetchall(),
                           epoch)


async def _anames(conn: psycopg.AsyncConnection[Any], schema: str) -> list[str]:
    """The schema's function names (`_NAMES_QUERY`), for an unknown name's hint: read once
    until a schema reload, as PostgREST keeps them in its cache, so a stream of unknown
    names costs no catalog query each."""
    epoch = _epoch
    cached = _names_cache.get((_database_key(conn), schema))
    if cached is not None:
        return cached
    rows = await (await conn.execute(_NAMES_QUERY, (schema,))).fetchall()
    return _remember_names(conn, schema, rows, epoch)


async def _alookup(conn: psycopg.AsyncConnection[Any], request: _Request
                   ) -> tuple[list[FunctionInfo], dict[str, dict[str, str]]]:
    """The signatures and role settings, loaded over an async connection when not cached."""
    known = _known(conn, request)
    if known is None:
        epoch = _epoch
        functions = await (await conn.execute(
            _CATALOG_QUERY, (request.schema, request.function))).fetchall()
        settings = await (await conn.execute(_ROLE_SETTINGS_QUERY)).fetchall()
        known = _remember(conn, request, functions, settings, epoch)
    return known
