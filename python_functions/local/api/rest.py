"""`/rest/v1/rpc/{fn}`: PostgREST's RPC endpoint, on top of the PostgREST-faithful caller.

What it does, each as PostgREST does it (read in its source at v16.1,
`src/library/PostgREST/`):

* Methods (`ApiRequest.getAction`): POST calls the function with the JSON body as named
  arguments (an empty body is `{}`); GET and HEAD call it with the query string's
  parameters (`QueryParams.parse`: those with a value, the last of a repeated name (all of
  them, in order, for a variadic parameter, called `VARIADIC v := ...`), not the
  reserved `select`, `columns`, `on_conflict`, `order`, `limit`, `offset`, `and`, `or`), in a
  read-only transaction, so a function that writes answers 405 `25006`; any other method is
  405 `PGRST101` "Cannot use the PUT method on RPC". A function returning a relation's rows
  (`setof table`, or one row of it) whose query asks more of them (`select`, filters,
  `order`, a range) is read as that relation instead (`tables.py`, `TableEndpoint.call`).
  The query is parsed for every call, as PostgREST parses it (`QueryParams.parse`): one
  that does not parse is 400 `PGRST100` whatever the function (on a POST every parameter
  but the reserved ones is a filter: `?name=John` is one that does not parse). Not
  mirrored: what a query that parses does to the value of any other function (every
  exposed function of this project returns one JSON value), which is answered as it is,
  even where PostgREST's plan refuses the query (an embed's range without the embed,
  400 `PGRST108` there).
* Schema (`ApiRequest.getSchema`): `Content-Profile` for POST, `Accept-Profile` for GET/HEAD,
  among the exposed schemas (`[api] schemas` of supabase/config.toml, first one the
  default); another is 406 `PGRST106` with the hint listing the exposed ones. With several
  exposed schemas the answer carries `Content-Profile` (`Response.profileHeader`).
* Body (`ApiRequest.Payload`): JSON (or `application/x-www-form-urlencoded`, whose values are
  strings, a repeated name's as in a query string): an object's keys are the arguments; an
  array's objects must all have the same keys (400 `PGRST102` "All object keys must match")
  and the first one's are the arguments, as PostgREST calls with `LIMIT 1` of them; any
  other JSON value is an empty array; an unnamed json/jsonb parameter takes an array or
  that empty one whole; what does not parse is 400 `PGRST102` "Empty or invalid json".
  `columns=` names the arguments instead of the body's keys: the body's object (of an array,
  the first) gives their values, null where it has none, and its other keys are ignored.
  `text/csv` (`csvToJson`) is an array of objects, one per line after the header line,
  whose values are strings (`NULL` is null): the first line's are the arguments.
  `text/plain`, `text/xml` and `application/octet-stream` go as they are to a function whose
  one unnamed parameter is text, xml or bytea (404 `PGRST202` without one); another content
  type is 400 `PGRST102` "Content-Type not acceptable: ...". Not mirrored: with `columns=`,
  PostgREST leaves the body to Postgres (`RawJSON`), so a body that is no JSON is Postgres'
  22P02 there and an empty array calls nothing; here both are 400 `PGRST102` "Empty or
  invalid json", as a body whose first value is no object; a CSV that does not parse is 400
  `PGRST102` in words of its own (PostgREST's are its CSV parser's).
* Role (`Auth.Jwt`): from the JWT in `Authorization: Bearer`, else (the Supabase gateway's
  part) the JWT in the `apikey` header, checked with the keys `supabase start` gives
  PostgREST (jwt_keys.py: the signing keys' public parts, and the JWT secret unless
  `[auth] signing_keys_path` is set); its `role` claim, `anon` without one. A token that
  cannot be decoded is 401 `PGRST301` (jose-jwt's reason as `details`), one whose claims fail
  (`exp`/`nbf`/`iat` with 30 s of skew, `aud` not a string or list) 401 `PGRST303`, both with
  `WWW-Authenticate: Bearer error="invalid_token", error_description="..."`. Neither header
  is the gateway's 401 "No API key found in request".
* Media type (`Plan/Negotiate.hs`, `MediaType.hs`): the first type of the `Accept` header
  (ordered by q-value, then specificity, as wai's `parseHttpAccept`) that PostgREST answers
  with: `*/*` and `application/json`; `application/vnd.pgrst.object+json` (supabase-js's
  `.single()`), the same body under that `Content-Type`; `nulls=stripped` on it or on
  `application/vnd.pgrst.array+json`, `json_strip_nulls` of the body; `text/csv`
  (`.csv()`), PostgREST's CSV of the rows (`asCsvF`: for these functions one
  `pgrst_scalar` column); a function returning a domain named as a media type (`create
  domain "text/html" as text`, a `"*/*"` one answering any type) answers its value as it
  is under that type, when that type is asked for, the query has no other `select` and the
  function returns one value (PostgREST's media type handlers: `mediaHandlers`,
  `negotiateContent`; a `Content-Type` the function sets in `response.headers` wins, as
  any header it sets). None of them (`application/xml`, `application/*`, the plan types
  of `.explain()`, as `db-plan-enabled` is off on Supabase) is 406 `PGRST107`, after an
  unknown function's 404. Not mirrored: `application/geo+json` (PostgREST answers it through
  PostGIS's `ST_AsGeoJSON`) is 406 here, as is a type only an aggregate of yours answers
  (a media type handler of a table's rows: `create aggregate ... returns "text/html"`); and
  `PGRST116` (a singular answer of other than one row) is `tables.py`'s, for a function's
  rows read as a table's.
* Every error answers JSON with `Proxy-Status: PostgREST; error=<code>` (PostgREST >= 13:
  its own codes, a SQLSTATE, a `raise sqlstate 'PGRST'` body's code) and no `Content-Profile`
  (`Error.errorResponseFor`), HEAD without the body.
* The call and its outcome (status, `response.headers`, `Content-Range`, error bodies and
  the SQLSTATE → status table) are the caller's: `rpc.acall`. `Prefer: count=exact` (what
  supabase-js sends for `{count: 'exact'}`) puts the number of rows in `Content-Range`'s
  total (`Response.hs`, `RangeQuery.contentRangeH`); `timezone=` is set for the call;
  `handling=strict` refuses what PostgREST refuses; `Preference-Applied` names what was
  applied (`Preferences`).

Table reads and writes (`/rest/v1/{table}`) are `tables.py`'s, on this endpoint's pool,
schemas and token checks; the root's OpenAPI description is `openapi.py`'s.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.requests import Request
from starlette.responses import Response

from python_functions.db import rpc
from python_functions.local.api.jwt_keys import PostgrestRefusal, ProjectKeys

JWT_SKEW_S = 30
_DECODE_MESSAGES = {
    "empty": "Empty JWT is sent in Authorization header",
    "algorithm": "Wrong or unsupported encoding algorithm",
    "crypto": "JWT cryptographic operation failed",
    "key": "No suitable key or wrong key type",
}


class RestError(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
                 ) -> None:
        super().__init__(body.get("message"))
        self.status = status
        self.body = body
        self.headers = headers or {}

    def response(self) -> Response:
        return json_response(self.status, self.body, self.headers)


def json_response(status: int, body: Any, headers: dict[str, str] | None = None,
                  postgrest: bool = True) -> Response:
    """A JSON answer; PostgREST's errors also name their code in `Proxy-Status`, as it (>= 13)
    does for every error it answers: its own (`PGRST...`), a SQLSTATE, or the code of a
    `raise sqlstate 'PGRST'` (`Error.errorResponseFor`)."""
    code = body.get("code") if isinstance(body, dict) and status >= 400 else None
    if postgrest and isinstance(code, str) and code:
        headers = {"Proxy-Status": f"PostgREST; error={code}", **(headers or {})}
    merged = rpc.add_headers_if_not_included({"Content-Type": rpc.JSON_CONTENT_TYPE}, headers or {})
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status,
                    merged)


def retry_hint(response: Response) -> Response:
    """PostgREST's `addRetryHint`: every 503 says when to retry. v16.1 always says 0 (its
    delay is never set); supabase-js retries a GET or HEAD after it."""
    if response.status_code == 503 and "retry-after" not in response.headers:
        response.headers["Retry-After"] = "0"
    return response


def pgrst_error(status: int, code: str, message: str, details: Any = None, hint: Any = None,
                headers: dict[str, str] | None = None) -> RestError:
    return RestError(status, {"code": code, "details": details, "hint": hint,
                              "message": message}, headers)


def _jwt_decode_error(message: str, details: str | None = None) -> RestError:
    return pgrst_error(401, "PGRST301", message, details, headers={
        "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'})


def _jwt_claims_error(message: str) -> RestError:
    return pgrst_error(401, "PGRST303", message, headers={
        "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'})


def bearer_token(request: Request) -> str | None:
    """The JWT the request is made with: `Authorization: Bearer`, else the `apikey` header
    (how Supabase's gateway lets a bare anon or service key through)."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return token.strip()
    apikey = request.headers.get("apikey")
    return apikey.strip() if apikey is not None else None


def no_api_key() -> RestError:
    return RestError(401, {"message": "No API key found in request",
                           "hint": "No `apikey` request header or url param was found."})


def verify_claims(token: str, keys: ProjectKeys, now: float | None = None) -> dict[str, Any]:
    """The claims of a request's JWT, checked as PostgREST checks them (`Auth.Jwt`) with the
    JWKS `supabase start` gives it (`ProjectKeys.postgrest_payload`)."""
    if not token:
        raise _jwt_decode_error(_DECODE_MESSAGES["empty"])
    parts = token.count(".") + 1
    if parts != 3:
        raise _jwt_decode_error(f"Expected 3 parts in JWT; got {parts}")
    try:
        payload = keys.postgrest_payload(token)
    except PostgrestRefusal as refusal:
        raise _jwt_decode_error(_DECODE_MESSAGES[refusal.kind], refusal.details) from None
    try:
        claims: Any = json.loads(payload)
    except (ValueError, RecursionError):
        claims = None
    if not isinstance(claims, dict):
        raise _jwt_claims_error("Parsing claims failed")
    current = int(now if now is not None else time.time())
    for key, in_past, message in (("exp", True, "JWT expired"),
                                  ("nbf", False, "JWT not yet valid"),
                                  ("iat", False, "JWT issued at future")):
        if key not in claims:
            continue
        value = claims[key]
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise _jwt_claims_error(f"The JWT '{key}' claim must be a number")
        if (current - JWT_SKEW_S > value) if in_past else (current + JWT_SKEW_S < value):
            raise _jwt_claims_error(message)
    audience = claims.get("aud")
    if audience is not None and not (
            isinstance(audience, str)
            or (isinstance(audience, list) and all(isinstance(a, str) for a in audience))):
        raise _jwt_claims_error("The JWT 'aud' claim must be a string or an array of strings")
    return claims


# -----------------------------------------------------------------------------------------
# Content negotiation (`Plan/Negotiate.hs`, `MediaType.hs`; the Accept header ordered as
# wai's `parseHttpAccept` orders it)
# -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Media:
    """How an answer is written: JSON, one object (`vnd.pgrst.object`), or CSV."""

    content_type: str = rpc.JSON_CONTENT_TYPE
    csv: bool = False
    strip_nulls: bool = False  # `nulls=stripped`: json_strip_nulls on the body
    single: bool = False  # `vnd.pgrst.object`: one row, as an object (a table read)
    function: bool = False  # the function's own media type: its value as it is


_MEDIA_TOKEN = re.compile(r"([A-Za-z0-9.*]+)/([A-Za-z0-9.*+-]+)")
_MEDIA_PARAM = re.compile(r'\s*;\s*([A-Za-z0-9-]+)\s*=\s*(?:"([^"]*)"|([A-Za-z0-9|-]+))')
_Q_VALUE = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
_JSON = Media()
_CSV = Media(rpc.CSV_CONTENT_TYPE, csv=True)
# PostgREST's names of the types it knows but answers with no handler of its own (in a 406)
_OTHER_KNOWN = {
    ("application", "geo+json"): "application/geo+json",  # needs PostGIS: not mirrored
    ("text", "plain"): "text/plain", ("text", "xml"): "text/xml",
    ("application", "openapi+json"): "application/openapi+json",
    ("application", "x-www-form-urlencoded"): "application/x-www-form-urlencoded",
    ("application", "octet-stream"): "application/octet-stream",
}
_PLAN_OPTIONS = ("analyze", "verbose", "settings", "buffers", "wal")


def accepted(header: str | None) -> list[str]:
    """The Accept header's media types, preferred first: by q-value, then the more specific
    (parameters count up, wildcards down), otherwise in the order given. No header: */*."""
    if header is None:
        return ["*/*"]
    ranked = []
    for item in header.split(","):
        media, found, rest = item.replace(" ", "").partition(";q=")
        number = _Q_VALUE.match(rest.split(";")[0]) if found else None
        q = float(number.group()) if number else 1.0
        ranked.append((media, (q, media.count(";") - media.count("*"))))
    return [media for media, _ in sorted(ranked, key=lambda r: r[1], reverse=True)]


def accepted_names(header: str | None) -> list[str]:
    """The Accept header's media types as PostgREST names them, preferred first."""
    return [_decoded(media)[0] for media in accepted(header)]


def _parsed(media: str) -> tuple[str, str, dict[str, str]] | None:
    """Type, subtype (lower-cased) and parameters, read as far as they parse."""
    token = _MEDIA_TOKEN.match(media)
    if token is None:
        return None
    params: dict[str, str] = {}
    position = token.end()
    while (param := _MEDIA_PARAM.match(media, position)) is not None:
        params[param.group(1).lower()] = param.group(2) if param.group(2) is not None \
            else param.group(3)
        position = param.end()
    return token.group(1).lower(), token.group(2).lower(), params


def _decoded(media: str) -> tuple[str, Media | None]:
    """A media type as PostgREST names it (in a 406) and how it answers with it; None when
    it does not: the plan types, as `db-plan-enabled` is off (Supabase's default), and every
    type without a handler."""
    parsed = _parsed(media)
    if parsed is None:
        return media, None
    kind, params = parsed[:2], parsed[2]
    stripped = params.get("nulls") == "stripped"
    if kind == ("*", "*"):
        return "*/*", _JSON
    if kind == ("application", "json"):
        return "application/json", _JSON
    if kind == ("text", "csv"):
        return "text/csv", _CSV
    if kind in (("application", "vnd.pgrst.object+json"), ("application", "vnd.pgrst.object")):
        name = "application/vnd.pgrst.object+json" + (";nulls=stripped" if stripped else "")
        return name, Media(name + "; charset=utf-8", strip_nulls=stripped, single=True)
    if kind in (("application", "vnd.pgrst.array+json"), ("application", "vnd.pgrst.array")):
        if not stripped:
            return "application/json", _JSON
        name = "application/vnd.pgrst.array+json;nulls=stripped"
        return name, Media(name + "; charset=utf-8", strip_nulls=True)
    if kind[0] == "application" and kind[1] in ("vnd.pgrst.plan", "vnd.pgrst.plan+text",
                                                "vnd.pgrst.plan+json"):
        for_name = _decoded(params.get("for", "application/json"))[0]
        options = [o for o in _PLAN_OPTIONS if o in params.get("options", "").split("|")]
        name = (f"application/vnd.pgrst.plan+{'json' if kind[1].endswith('json') else 'text'}"
                f'; for="{for_name}"' + (f"; options={'|'.join(options)}" if options else ""))
        return name, None
    return _OTHER_KNOWN.get(kind, media), None


# the media types PostgREST decodes to one of its own (`decodeMediaType`): compared by type
# alone; any other is compared as written, parameters and case included (`MTOther`)
_KNOWN_MEDIA = frozenset({
    ("application", "json"), ("application", "geo+json"), ("text", "csv"), ("text", "plain"),
    ("text", "xml"), ("application", "openapi+json"), ("application", "x-www-form-urlencoded"),
    ("application", "octet-stream"), ("*", "*")})


def _vendored(media: str) -> bool:
    """PostgREST's own types, which no handler overrides (`matchMT`)."""
    parsed = _parsed(media)
    return parsed is not None and parsed[0] == "application" and (
        parsed[1].startswith(("vnd.pgrst.object", "vnd.pgrst.plan"))
        or (parsed[1].startswith("vnd.pgrst.array") and parsed[2].get("nulls") == "stripped"))


def _same_media(accepted_media: str, produced: str) -> bool:
    ours, theirs = _parsed(accepted_media), _parsed(produced)
    if ours is not None and theirs is not None and ours[:2] in _KNOWN_MEDIA:
        return ours[:2] == theirs[:2]
    return accepted_media == produced


def negotiate(header: str | None, produces: str | None = None) -> Media | RestError:
    """The first accepted media type PostgREST can answer with, else its 406 `PGRST107`.
    `produces`: the media type a function's return domain is named as (`lookupHandler`:
    after the vendored types, a `*/*` domain answers any, another its own type, before
    the built-in answers)."""
    names = []
    for media in accepted(header):
        name, answer = _decoded(media)
        if produces is not None and not _vendored(media) \
                and (produces == "*/*" or _same_media(media, produces)):
            return Media(rpc.media_content_type(produces), function=True)
        if answer is not None:
            return answer
        names.append(name)
    return pgrst_error(406, "PGRST107",
                       "None of these media types are available: " + ", ".join(names))


def strip_nulls(value: Any) -> Any:
    """json_strip_nulls: object fields whose value is null go, at every depth; array
    elements stay."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


# the query parameters that shape a result instead of naming an argument (`QueryParams.parse`)
_RESERVED = frozenset({"select", "columns", "on_conflict"})
_RESERVED_LAST_PART = frozenset({"order", "limit", "offset", "and", "or"})


def _default_select(query: str) -> bool:
    """Whether the query leaves `select` as it is (none, or `*`): only then does a function
    answer with its own media type (`negotiateContent`'s `defaultSelect`)."""
    selects = [unquote_plus(v) for k, _, v in (item.partition("=") for item in
                                                re.split("[&;]", query)) if k == "select"]
    return not selects or selects[-1].strip() == "*"


def query_arguments(query: str) -> dict[str, str]:
    """A GET's arguments, as PostgREST takes them from the query string: each parameter that
    has a value (`?flag` alone has none), but the reserved ones (`select`, `columns`,
    `on_conflict`, and every name whose last dotted part is `order`, `limit`, `offset`, `and`
    or `or`); of a repeated name, the last value (and all of them for a variadic
    parameter: `rpc.QueryValue`)."""
    arguments: dict[str, Any] = {}
    for item in re.split("[&;]", query):
        if "=" not in item:
            continue
        key, value = (unquote_plus(part) for part in item.split("=", 1))
        if key in _RESERVED or key.rsplit(".", 1)[-1] in _RESERVED_LAST_PART:
            continue
        rpc.add_query_value(arguments, key, value)
    return arguments


def csv_payload(raw: bytes) -> tuple[list[dict[str, str | None]], list[str]]:
    """A `text/csv` body and the keys it sets, as PostgREST reads it (`getPayload`,
    `csvToJson`): a header line naming the fields, then one object per line, its values
    strings but `NULL`, which is null (blank lines are skipped). A line with more or fewer
    fields than the header is 400 `PGRST102` "All lines must have same number of fields";
    a body that is not CSV in UTF-8, or has no header line, 400 `PGRST102`. No lines after
    the header: an empty array, which sets no keys."""
    try:
        lines = [line for line in csv.reader(io.StringIO(raw.decode("utf-8"), newline=""),
                                             strict=True) if line]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise pgrst_error(400, "PGRST102", f"Invalid CSV: {exc}") from None
    if not lines:
        raise pgrst_error(400, "PGRST102", "Invalid CSV: no header line")
    header, *records = lines
    if any(len(record) != len(header) for record in records):
        raise pgrst_error(400, "PGRST102", "All lines must have same number of fields")
    rows = [{name: None if value == "NULL" else value
             for name, value in zip(header, record, strict=True)} for record in records]
    return rows, (list(rows[0]) if rows else [])


def columns_arguments(raw: bytes, columns: Sequence[str]) -> dict[str, Any]:
    """A call's arguments when `columns=` names them: each named key of the body's object
    (of an array, its first object), null where the object has none; its other keys are
    not arguments. A body without such an object is 400 `PGRST102` "Empty or invalid
    json" (see the module docstring for how PostgREST differs)."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        body = None
    first = body[0] if isinstance(body, list) and body else body
    if not isinstance(first, dict):
        raise pgrst_error(400, "PGRST102", "Empty or invalid json")
    return {name: first.get(name) for name in columns}


def json_payload(raw: bytes, call: bool) -> tuple[Any, list[str]]:
    """A JSON body and the keys it sets, as PostgREST reads them (`getPayload`,
    `payloadAttributes`): an object, or an array of objects whose keys all match (400
    `PGRST102` "All object keys must match" otherwise); any other JSON value is an empty
    array; a call's empty body is `{}`; what does not parse is 400 `PGRST102` "Empty or
    invalid json"."""
    if call and not raw:
        return {}, []
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise pgrst_error(400, "PGRST102", "Empty or invalid json") from None
    if isinstance(body, dict):
        return body, list(body)
    if not isinstance(body, list) or not body:
        return [], []
    keys = body[0].keys() if isinstance(body[0], dict) else None
    if keys is None or any(not isinstance(row, dict) or row.keys() != keys for row in body):
        raise pgrst_error(400, "PGRST102", "All object keys must match")
    return body, list(keys)


# What PostgREST takes as a preference (`ApiRequest/Preferences.hs`), besides `timezone=`
# and `max-affected=`; anything else is invalid, an error under `handling=strict`
_KNOWN_PREFERENCES = frozenset({
    "resolution=merge-duplicates", "resolution=ignore-duplicates", "return=representation",
    "return=minimal", "return=headers-only", "count=exact", "count=planned",
    "count=estimated", "tx=commit", "tx=rollback", "missing=default", "missing=null",
    "handling=strict", "handling=lenient"})


def _max_affected(given: Sequence[str]) -> int | None:
    """The first `max-affected=`'s number, if it is one (`listStripPrefix`, `readMaybe`)."""
    value = next((item[len("max-affected="):] for item in given
                  if item.startswith("max-affected=")), None)
    return int(value) if value is not None and re.fullmatch("-?[0-9]+", value) else None


@dataclass(frozen=True)
class Preferences:
    """The `Prefer` headers as PostgREST v16.1 reads them for a function (`Preferences.hs`,
    `Plan.callReadPlan`, `Response.responsePreferences`): every header split on commas;
    of each kind the first value it knows. `count` puts the total in `Content-Range`;
    `handling=strict` refuses unknown preferences (400 `PGRST122`) and `max-affected` for
    a function that returns no set (400 `PGRST128`);
    `timezone` is set for the transaction (`PreQuery`: timestamps in the answer carry its
    offset; an unknown zone is Postgres' 400 `22023`). `Preference-Applied` names what was
    applied. `tx=` is known but does not override (PostgREST's default `db-tx-end`)."""

    count: str | None = None
    representation: str | None = None  # return=...: a table write's answer
    resolution: str | None = None
    missing: str | None = None
    handling: str | None = None
    timezone: str | None = None
    max_affected: int | None = None
    invalid: tuple[str, ...] = ()

    @classmethod
    def parse(cls, headers: Sequence[str]) -> Preferences:
        given = [item.strip() for header in headers for item in header.split(",")]

        def first(kind: str, values: tuple[str, ...]) -> str | None:
            wanted = {f"{kind}={value}" for value in values}
            return next((item.partition("=")[2] for item in given if item in wanted), None)

        return cls(
            count=first("count", ("exact", "planned", "estimated")),
            representation=first("return", ("representation", "minimal", "headers-only")),
            resolution=first("resolution", ("merge-duplicates", "ignore-duplicates")),
            missing=first("missing", ("default", "null")),
            handling=first("handling", ("strict", "lenient")),
            timezone=next((item.removeprefix("timezone=") for item in given
                           if item.startswith("timezone=")), None),
            max_affected=_max_affected(given),
            invalid=tuple(item for item in given if item not in _KNOWN_PREFERENCES
                          and not item.startswith(("timezone=", "max-affected="))))

    def refusal(self, function: bool = True) -> RestError | None:
        """The strict handling's error, if any; `function`: for a function (an RPC)."""
        if self.handling != "strict":
            return None
        if self.invalid:
            return pgrst_error(400, "PGRST122", "Invalid preferences given with handling=strict",
                               "Invalid preferences: " + ", ".join(self.invalid))
        if self.max_affected is not None and function:
            return pgrst_error(400, "PGRST128", "Function must return SETOF or TABLE when"
                               " max-affected preference is used with handling=strict")
        return None

    def settings(self) -> dict[str, str] | None:
        return {"timezone": self.timezone} if self.timezone is not None else None

    def applied(self, write: str | None = None, resolution: bool = False,
                call: bool = False) -> str | None:
        """`Preference-Applied` (`prefAppliedHeader`, `responsePreferences`); `write`: the
        method of a table write, which also names its `return=`, an insert's or an update's
        `missing=`, and an update's or a delete's strict `max-affected=`; `resolution`: an
        insert's `resolution=` was applied (the table has a key to resolve on); `call`: a
        function's rows read as a table's, which names a strict `max-affected=` too."""
        named = [f"resolution={self.resolution}" if resolution and self.resolution else "",
                 f"missing={self.missing}" if write in ("POST", "PATCH") and self.missing
                 else "",
                 f"return={self.representation}" if write and self.representation else "",
                 f"count={self.count}" if self.count else "",
                 f"handling={self.handling}" if self.handling else "",
                 f"timezone={self.timezone}" if self.timezone is not None else "",
                 f"max-affected={self.max_affected}" if (write in ("PATCH", "DELETE") or call)
                 and self.handling == "strict" and self.max_affected is not None else ""]
        return ", ".join(item for item in named if item) or None


class RpcEndpoint:
    """The `/rest/v1/rpc/{fn}` handler over a pool of connections (as `postgres`, which may
    `set role` to each API role, as PostgREST's `authenticator` does)."""

    def __init__(self, pool: AsyncConnectionPool[Any], schemas: Sequence[str],
                 keys: ProjectKeys,
                 extra_search_path: Sequence[str] = rpc.EXTRA_SEARCH_PATH) -> None:
        self.pool = pool
        self.schemas = list(schemas)
        self.keys = keys
        self.extra_search_path = tuple(extra_search_path)  # `db-extra-search-path`

    async def handle(self, request: Request, columns: Sequence[str] | None = None
                     ) -> Response:
        """The call of `request`; `columns`: its query's `columns=`, parsed."""
        try:
            return retry_hint(await self._handle(request, columns))
        except RestError as refused:
            return retry_hint(refused.response())

    def schema_for(self, request: Request) -> tuple[str, bool]:
        # `ApiRequest.getSchema`: a write names its schema in Content-Profile
        header = ("content-profile" if request.method in ("POST", "PATCH", "PUT", "DELETE")
                  else "accept-profile")
        profile = request.headers.get(header)
        if profile is None:
            return self.schemas[0], len(self.schemas) != 1
        if profile not in self.schemas:
            raise pgrst_error(406, "PGRST106", f"Invalid schema: {profile}", hint=(
                "Only the following schemas are exposed: " + ", ".join(self.schemas)))
        return profile, True

    def claims_for(self, request: Request) -> dict[str, Any]:
        token = bearer_token(request)
        if token is None:
            raise no_api_key()
        claims = verify_claims(token, self.keys)
        role = claims.get("role")
        return {**claims, "role": role if isinstance(role, str) and role else "anon"}

    async def _args(self, request: Request, columns: Sequence[str] | None
                    ) -> tuple[dict[str, Any], bytes | None]:
        if request.method in ("GET", "HEAD"):
            return query_arguments(request.url.query), None
        return await self.body_arguments(request, columns)

    async def body_arguments(self, request: Request, columns: Sequence[str] | None = None
                             ) -> tuple[dict[str, Any], bytes | None]:
        """A POST's arguments: its JSON object (of an array, the first object's, as
        PostgREST calls the function with its first row), or the keys `columns=` names of
        it; its form's fields; its CSV's first line. And the body an unnamed parameter
        takes when it is not that object: a JSON array (any other JSON value is an empty
        one), or the body as it came (`RawPay`) for a function's one unnamed text, xml or
        bytea parameter."""
        raw = await request.body()
        media = rpc.body_media(request.headers.get("content-type"))
        if media in rpc.RAW_MEDIA:
            return {}, raw
        if media == "application/x-www-form-urlencoded":
            fields: dict[str, Any] = {}
            for key, value in parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True):
                rpc.add_query_value(fields, key, value)
            return fields, None
        if media == "text/csv":
            lines, _ = csv_payload(raw)
            return (dict(lines[0]) if lines else {}), None
        if media not in ("application/json", ""):
            raise pgrst_error(400, "PGRST102", f"Content-Type not acceptable: {media}")
        if columns is not None:
            return columns_arguments(raw, columns), None
        body, _ = json_payload(raw, call=True)
        if isinstance(body, dict):
            return body, None
        return (dict(body[0]) if body else {}), (raw if body else b"[]")

    async def _handle(self, request: Request, columns: Sequence[str] | None) -> Response:
        method = request.method
        if method not in ("GET", "HEAD", "POST"):
            raise pgrst_error(405, "PGRST101", f"Cannot use the {method} method on RPC")
        schema, negotiated = self.schema_for(request)
        claims = self.claims_for(request)
        args, raw = await self._args(request, columns)
        function = request.path_params["function"]
        headers = dict(request.headers)
        preferences = Preferences.parse(request.headers.getlist("prefer"))
        media = Media()
        try:
            async with self.pool.connection() as conn:
                # the function first: an unknown one is its 404 whatever the Accept header
                picked = await rpc.apick(conn, schema, function, args, method, headers, raw)
                if isinstance(picked, rpc.RpcResponse):
                    result = picked
                else:
                    answer = negotiate(request.headers.get("accept"), picked.media_type
                                       if _default_select(request.url.query) else None)
                    if isinstance(answer, RestError):
                        raise answer
                    media = answer
                    if (strict := preferences.refusal()) is not None:
                        raise strict
                    result = await rpc.acall(conn, schema, function, args, claims, headers,
                                             "GET" if method == "HEAD" else method,
                                             csv=media.csv, settings=preferences.settings(),
                                             raw=raw, as_media=media.function,
                                             extra_search_path=self.extra_search_path)
        except PoolTimeout:
            result = rpc.unavailable()
        if not result.ok:  # errors: JSON, Proxy-Status, no profile (`Error.errorResponseFor`)
            refused = json_response(result.status, result.body, result.headers)
            return Response(None, refused.status_code, refused.headers) \
                if method == "HEAD" else refused
        out = dict(result.headers)
        if out.get("Content-Type") in (rpc.JSON_CONTENT_TYPE, rpc.CSV_CONTENT_TYPE):
            out["Content-Type"] = media.content_type  # not one the function set
        if preferences.count and "Content-Range" in out:
            rows = out["Content-Range"].split("/")[0]  # "0-{n - 1}", or "*" for none
            total = int(rows.split("-")[1]) + 1 if "-" in rows else 0
            out["Content-Range"] = f"{rows}/{total}"
        if (applied := preferences.applied()) is not None:
            out["Preference-Applied"] = applied
        if result.status == 204:  # a void function: its range, no type or profile
            return Response(None, 204, out)
        if negotiated:
            out.setdefault("Content-Profile", schema)
        if method == "HEAD":
            return Response(None, result.status, out)
        if media.csv or media.function:
            return Response(result.body, result.status, out)
        body = strip_nulls(result.body) if media.strip_nulls else result.body
        return json_response(result.status, body, out)
