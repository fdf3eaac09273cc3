"""`/rest/v1/{table}`: PostgREST's table reads and writes, for the tables and views of the
exposed schemas, as PostgREST v16.1 answers them (`src/library/PostgREST/`): run as the
caller's role, so the table's grants and RLS policies decide, with the same request context
as an RPC (`rpc.aread` in a read-only transaction, `rpc.awrite` in one that a refused answer
rolls back).

What it mirrors:

* The query string (`ApiRequest/QueryParams.hs`): `select` (`*`, columns, `alias:column`,
  JSON paths `col->a->>b` named by their last key, casts `col::text`; nothing or empty:
  every column; embedded tables, below); filters `column=[not.]op.value` with the
  operators `eq neq gt gte lt lte like ilike match imatch` (those with `(any)`/`(all)` over
  `{a,b}`), `in.(a,"b,c")`, `is.null|not_null|true|false|unknown`, `isdistinct`, `cs cd ov
  sl sr nxr nxl adj`, `fts plfts phfts wfts` with an optional `(language)`; `or=(...)`,
  `and=(...)`, `not.or=(...)` nested; `order=col[.asc|.desc][.nullsfirst|.nullslast],...`;
  `limit`, `offset` and a GET's `Range: items` header (`ApiRequest.getRanges`), restricted
  to `[api] max_rows` of supabase/config.toml. Repeated filters all apply. Values are bound
  as parameters of unknown type, which Postgres types by the column, as PostgREST's
  literals are; `*` in a `like` pattern is `%`.
* A read (`Query/Statements.mainRead`, `QueryBuilder`, `SqlFragment`): the page as
  `json_agg` of its rows, and the total for `Prefer: count=exact` (a count of the filtered
  rows), `planned` (the planner's row estimate, `EXPLAIN`), `estimated` (exact up to
  `max_rows`, then the larger of the two). 200, or 206 when a counted total is more than
  the page, 416 `PGRST103` for an offset past it; `Content-Range` `first-last/total` (`*`
  for an uncounted total or an empty page); `Content-Location`; HEAD without the body.
* Embedding (`Plan.hs`, `QueryBuilder.getJoins`): `[alias:]table[!hint][!inner](...)` in
  `select`, by the relationships the schema cache derives from the foreign keys between
  the schema's tables and views (a view carries the keys of the tables under it: `keys.py`;
  `addM2MRels`, `addInverseRels`): many-to-one and one-to-one as an
  object (null without one), one-to-many as an array, and many-to-many as an array, through
  a junction table that references both by two keys whose columns are all in its primary
  key; each a lateral join, nested at will. Which relationship an embed means is
  `findRel`'s: the target is the table (or, deprecated but served, a key's constraint or
  single column, toward a table only, never a view), a hint names the constraint, a single
  column of either side or the junction; a table with itself is one-to-many by its name
  and many-to-one by the column.
  `!inner` drops the rows without one, from the count too; a filter or
  `and`/`or` on `table.column` filters the embedded rows, and `table.order`, `table.limit`
  and `table.offset` order and cut them (`max_rows` at every level). No relationship is 400
  `PGRST200` (its hint a close name, `db/fuzzy.py`), more than one 300 `PGRST201` with each
  listed in PostgREST's order; a filter on a table not
  embedded 400 `PGRST108`. A spread, `...table(...)`, puts its columns in the parent's
  row: a to-one one's values, a to-many one's as arrays in the embed's order (`ToManySpread`;
  empty without rows, a nested embed an array of its answers).
* A write (`mainWrite`, `mutatePlanToQuery`, `ApiRequest/Payload.hs`): POST inserts the
  JSON body's object or array (each object's keys the same, 400 `PGRST102` otherwise, or
  the `columns=` named; any other JSON value is an empty array: nothing), a `text/csv`
  body's lines (`csvToJson`: the header names the columns, each value a string, `NULL`
  null), or a form's fields as one row of strings; typed by the
  table's columns (an unknown one is 400 `PGRST204`),
  the others from their defaults (and, with `Prefer: missing=default`, a key an object
  lacks from its column's default, not null); PATCH sets the body's keys on the filtered
  rows; DELETE deletes them. `Prefer: return=representation` answers the rows (`select` shapes them;
  200, 201 for an insert), else no body (204; 201); `Content-Range` `*/total` (an
  update's `0-last/total`) with `count=exact`; `Preference-Applied` names `resolution=`,
  `missing=`, `return=` and a strict `max-affected=`.
* Upserts: POST with `Prefer: resolution=merge-duplicates` (`ON CONFLICT ... DO UPDATE`
  of the body's columns) or `ignore-duplicates` (`DO NOTHING`) on `on_conflict=`'s
  columns, else the primary key's (neither: a plain insert, the resolution not named
  applied); a merge that inserted no row is 200, as PostgREST counts inserted rows in
  `pgrst.inserted`. PUT upserts one row by its primary key: the filters must be exactly
  the key's columns with `eq` (405 `PGRST105`), no `limit`/`offset` (400 `PGRST114`), and
  the body's row must carry the URL's key (400 `PGRST115`, nothing written); 201 inserted,
  200 updated, 204 without `return=representation`. Both run as the caller, so a conflict
  with a row the caller's policies hide is Postgres' 42501, not a takeover.
* A function's rows (`callReadPlan`, `mainCall`): `/rpc/{fn}` of a function returning a
  relation's rows, when its query asks more than all of them as they are, reads the call's
  rows as that relation's: the same `select` (embeds by the relation's relationships),
  filters, `order`, range, counts (exact or estimated; PostgREST gives a call no planned
  total), one object for `.single()` or a function of one row, and no `Content-Location`.
  A GET's parameter whose value is not an operation is an argument (`NoOpExpr`), a POST's
  arguments are its body. The transaction is READ ONLY for a GET or a stable function, else
  a strict `max-affected` (and `.single()`) rolls the call back, 400 `PGRST124`.
* `return=headers-only`: an insert of one row answers `Location: /table?key=eq.value`.
  `Prefer: handling=strict, max-affected=n`: an update or delete of more rows is rolled
  back, 400 `PGRST124`.
* Both: the media types of `rest.negotiate` (`.single()`: 406 `PGRST116` unless exactly
  one row, a write's then rolled back; `.csv()`; `nulls=stripped`); the
  `response.headers` and `response.status` a policy or trigger may set.
* The errors: a relation the schema does not have is 404 `PGRST205` (the hint names a
  close one, picked by PostgREST's fuzzy set, `db/fuzzy.py`); a query parameter that
  does not parse is 400 `PGRST100` with PostgREST's message (the parser's `details` are
  worded differently); what Postgres refuses answers by the RPC caller's SQLSTATE table
  (an unknown column 400 `42703`, a table or column the role may not read or write
  401/403 `42501`, a check constraint 400 `23514`).

Aggregates (`count()`, `col.sum()`) are 400 `PGRST123`, as PostgREST's
`db-aggregates-enabled` is off by default, on Supabase too. `order=rel(col)` sorts by a
to-one embed's column as the embed answers it (`addRelatedOrders`: an embed not selected
is 400 `PGRST108`, a to-many one 400 `PGRST118`). On a write, as PostgREST v16.1 has it
(it dropped limited updates and deletes), `order` sorts the rows answered and
`limit`/`offset` cut nothing.
Computed relationships (`allComputedRels`): a function of the schema taking one of its
relations' rows and returning another's embeds by its name, called with the parent's row,
to-one when it is not `setof` or declares `rows 1`; it takes the place of the foreign keys
from that table to a table of its name. A view has the primary key of a table under it
whose every key column it carries (`addViewPrimaryKeys`), for PUT and `Location`. Not looked
for, where PostgREST would find them: a junction in another schema than the tables it
joins, and a computed relationship returning another schema's rows. A bare OPTIONS names
the methods (`Allow: OPTIONS,GET,HEAD,POST,PATCH,DELETE`, with `PUT` for a relation with a
primary key, as `allowH`).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn
from urllib.parse import parse_qsl, quote, quote_plus, unquote_plus

import psycopg
from psycopg_pool import PoolTimeout
from starlette.requests import Request
from starlette.responses import Response

from python_functions.db import fuzzy, rpc
from python_functions.local.api.keys import ForeignKey, read_schema_keys
from python_functions.local.api.rest import (
    Media,
    Preferences,
    RestError,
    RpcEndpoint,
    csv_payload,
    json_payload,
    json_response,
    negotiate,
    pgrst_error,
    retry_hint,
    strip_nulls,
)

_COLUMNS_QUERY = """
select c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
       case when a.attgenerated = '' then pg_get_expr(d.adbin, d.adrelid) end
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
  left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
 where n.nspname = %s and c.relkind in ('r', 'v', 'm', 'f', 'p')
 order by c.relname, a.attnum
"""
# Computed relationships (`allComputedRels`): the schema's functions of one argument, a row of
# one of its relations, returning rows of one of its relations (one: not `setof`, or `rows 1`)
_COMPUTED_QUERY = """
select p.proname, arg.relname, ret.relname, not p.proretset or p.prorows = 1
  from pg_proc p
  join pg_class arg on arg.reltype = p.proargtypes[0]
  join pg_class ret on ret.reltype = p.prorettype
 where p.pronamespace = %s::regnamespace and p.pronargs = 1
   and arg.relnamespace = p.pronamespace and ret.relnamespace = p.pronamespace
   and arg.relkind in ('v', 'r', 'm', 'f', 'p') and ret.relkind in ('v', 'r', 'm', 'f', 'p')
"""


def _relationships(foreign_keys: Sequence[ForeignKey], primary_keys: dict[str, list[str]],
                   computed: Sequence[tuple[Any, ...]] = ()) -> list[Relationship]:
    """What PostgREST's schema cache derives from the foreign keys (`addM2MRels`,
    `addInverseRels`; views' keys from `keys.schema_keys`): each key both ways, many-to-one
    (or one-to-one) from its table and one-to-many (or one-to-one) from the table it
    references; and many-to-many between two tables that a third (the junction) references
    by two different keys whose columns are all in its primary key, both ways (a table
    with itself too). A computed relationship (`getOverrideRelationshipsMap`) takes the
    place of those from its table to a table of its function's name."""
    keys = [Relationship(k.constraint, k.table, k.foreign, k.columns,
                         "one-to-one" if k.one_to_one else "many-to-one",
                         table_view=k.table_is_view, foreign_view=k.foreign_is_view)
            for k in foreign_keys]
    to_one = [r for r in keys if r.cardinality == "many-to-one"]
    many = [Relationship("", first.foreign, second.foreign, (), "many-to-many",
                         Junction(first.table, first.constraint, second.constraint,
                                  tuple((b, a) for a, b in first.columns),
                                  tuple((b, a) for a, b in second.columns)),
                         table_view=first.foreign_view, foreign_view=second.foreign_view)
            for first in to_one for second in to_one
            if second.table == first.table and second.constraint != first.constraint
            and {c for c, _ in first.columns + second.columns}
            <= set(primary_keys.get(first.table, []))]
    inverse = [Relationship(r.constraint, r.foreign, r.table, tuple((b, a) for a, b in r.columns),
                            "one-to-one" if r.cardinality == "one-to-one" else "one-to-many",
                            table_view=r.foreign_view, foreign_view=r.table_view)
               for r in keys]
    functions = [Relationship(name, table, foreign, (),
                              "many-to-one" if single else "one-to-many", function=name)
                 for name, table, foreign, single in computed]
    overridden = {(r.table, r.function) for r in functions}
    return [r for r in keys + many + inverse if (r.table, r.foreign) not in overridden
            ] + functions


# operator -> SQL (`SqlFragment.simpleOperator`, `quantOperator`, `ftsOperator`)
_SIMPLE = {"neq": "<>", "cs": "@>", "cd": "<@", "ov": "&&", "sl": "<<", "sr": ">>",
           "nxr": "&<", "nxl": "&>", "adj": "-|-"}
_QUANT = {"eq": "=", "gte": ">=", "gt": ">", "lte": "<=", "lt": "<", "like": "like",
          "ilike": "ilike", "match": "~", "imatch": "~*"}
_FTS = {"fts": "to_tsquery", "plfts": "plainto_tsquery", "phfts": "phraseto_tsquery",
        "wfts": "websearch_to_tsquery"}
_IS = {"null": "NULL", "not_null": "NOT NULL", "true": "TRUE", "false": "FALSE",
       "unknown": "UNKNOWN"}
# Parsec's longest-first order: `gte` before `gt`, `neq` among the simple ones first
_OPERATORS = sorted([*_SIMPLE, *_QUANT, *_FTS, "in", "is", "isdistinct"], key=len, reverse=True)
_EMBEDDABLE = frozenset({"order", "limit", "offset", "and", "or"})


def _ident(name: str) -> str:
    """A quoted identifier (`SqlFragment.pgFmtIdent`)."""
    return '"' + name.replace('"', '""') + '"'


class _ParseError(Exception):
    def __init__(self, column: int, details: str) -> None:
        super().__init__(details)
        self.column = column
        self.details = details


class _Cursor:
    """A position in one query parameter's text, for the recursive-descent parsers below."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def peek(self, count: int = 1) -> str:
        return self.text[self.at:self.at + count]

    def take(self, literal: str) -> bool:
        if self.text.startswith(literal, self.at):
            self.at += len(literal)
            return True
        return False

    def expect(self, literal: str, what: str) -> None:
        if not self.take(literal):
            self.fail(f"expecting {what}")

    def done(self) -> bool:
        return self.at >= len(self.text)

    def skip_blanks(self) -> None:
        while self.peek() in (" ", "\t") and not self.done():
            self.at += 1

    def fail(self, expecting: str) -> NoReturn:
        found = f'unexpected "{self.peek()}"' if not self.done() else "unexpected end of input"
        raise _ParseError(self.at + 1, f"{found} {expecting}")

    def quoted(self) -> str:
        """`pQuotedValue`: between double quotes, a backslash escaping the next character."""
        self.expect('"', '"\\""')
        out = []
        while not self.done() and self.peek() != '"':
            if self.take("\\") and self.done():
                break
            out.append(self.peek())
            self.at += 1
        self.expect('"', '"\\""')
        return "".join(out)

    def identifier(self) -> str:
        """`pFieldName`: quoted, or letters, digits, `_`, ` `, `$` joined by dashes (a dash
        not starting `->`)."""
        if self.peek() == '"':
            return self.quoted()
        start = self.at
        while not self.done():
            char = self.peek()
            dash = char == "-" and self.peek(2) != "->" and self.at > start
            if not (char.isalnum() or char in "_ $" or dash):
                break
            self.at += 1
        name = self.text[start:self.at].strip()
        if not name:
            self.fail("expecting field name (* or [a..z0..9_$])")
        return name

    def json_path(self) -> list[tuple[str, str, bool]]:
        """`pJsonPath`: (arrow, key, is an index) for each `->`/`->>` step."""
        path = []
        while self.peek(2) == "->":
            arrow = "->>" if self.take("->>") else ("->" if self.take("->") else "")
            index = re.match(r"-?[0-9]+(?=->|::|\.|,|\)|$)", self.text[self.at:])
            if index:
                self.at += index.end()
                path.append((arrow, index.group(), True))
                continue
            if self.peek() == '"':
                key = self.quoted()
            else:
                match = re.match(r"[^(\-:.,>)]+(?:-(?!>)[^(\-:.,>)]+)*", self.text[self.at:])
                if not match:
                    self.fail("expecting any non reserved character different from: .,>()")
                self.at += match.end()
                key = match.group().strip()
            path.append((arrow, key, False))
        return path

    def cast(self) -> str | None:
        if not self.take("::"):
            return None
        match = re.match(r"[A-Za-z0-9_ $]+", self.text[self.at:])
        if not match:
            self.fail("expecting letter or digit")
        self.at += match.end()
        return match.group().strip()


@dataclass(frozen=True)
class Field:
    """A column with its JSON path: `data->a->>b`."""

    name: str
    path: tuple[tuple[str, str, bool], ...] = ()

    def sql(self, table: str, columns: dict[str, str], params: list[str]) -> str:
        """The column and its path (`SqlFragment.pgFmtField`): a column that is not json or
        jsonb goes through `to_jsonb` first."""
        out = f"{table}.{_ident(self.name)}" if self.name != "*" else f"{table}.*"
        if self.path and columns.get(self.name) not in ("json", "jsonb"):
            out = f"to_jsonb({out})"
        for arrow, key, is_index in self.path:
            params.append(key)
            out += f"{arrow}${len(params)}" + ("::int" if is_index else "")
        return out

    def label(self) -> str | None:
        """The name PostgREST gives a JSON path's value (`Plan.addAliases`): its last key."""
        if not self.path:
            return None
        keys = [key for _, key, is_index in self.path if not is_index]
        return self.path[-1][1] if not self.path[-1][2] else (keys[-1] if keys else self.name)


@dataclass(frozen=True)
class Filter:
    field: Field
    negated: bool
    operator: str
    value: str | list[str]
    modifier: str | None = None  # any/all, or an fts language

    def sql(self, table: str, columns: dict[str, str], params: list[str]) -> str:
        column = self.field.sql(table, columns, params)
        if self.operator in _FTS and columns.get(self.field.name) != "tsvector":
            language = self.modifier
            if language is not None:
                params.append(language)
            column = f"to_tsvector({f'${len(params)}, ' if language else ''}{column})"

        def bind(value: str) -> str:
            params.append(value)
            return f"${len(params)}"

        op, value = self.operator, self.value
        if op == "is":
            condition = f"{column} IS {_IS[str(value).lower()]}"
        elif op == "in":
            items = value if isinstance(value, list) else [value]
            array = "{}" if items == [""] else "{" + ",".join(_array_item(v) for v in items) + "}"
            condition = f"{column} = ANY ({bind(array)})"
        elif op == "isdistinct":
            condition = f"{column} IS DISTINCT FROM {bind(str(value))}"
        elif op in _FTS:
            language = f"{bind(self.modifier)}, " if self.modifier else ""
            condition = f"{column} @@ {_FTS[op]}({language}{bind(str(value))})"
        elif op in _SIMPLE:
            condition = f"{column} {_SIMPLE[op]} {bind(str(value))}"
        else:
            text = str(value).replace("*", "%") if op in ("like", "ilike") else str(value)
            operand = bind(text)
            if self.modifier:
                operand = f"{self.modifier.upper()}({operand})"
            condition = f"{column} {_QUANT[op]} {operand}"
        return f"NOT {condition}" if self.negated else condition


def _array_item(value: str) -> str:
    """An element of a Postgres array literal (`pgBuildArrayLiteral`): always quoted."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Logic:
    """`and=(...)`/`or=(...)`: a tree of filters."""

    negated: bool
    operator: str  # "AND" or "OR"
    children: tuple[Filter | Logic, ...]

    def sql(self, table: str, columns: dict[str, str], params: list[str]) -> str:
        inner = f" {self.operator} ".join(
            child.sql(table, columns, params) for child in self.children)
        return f"{'NOT ' if self.negated else ''}({inner})"


@dataclass(frozen=True)
class SelectItem:
    field: Field
    alias: str | None
    cast: str | None

    def sql(self, table: str, columns: dict[str, str], params: list[str]) -> str:
        out = self.field.sql(table, columns, params)
        if self.cast:
            out = f"CAST( {out} AS {self.cast} )"
        alias = self.alias or self.field.label()
        return out + (f" AS {_ident(alias)}" if alias else "")


@dataclass(frozen=True)
class OrderTerm:
    field: Field
    direction: str | None
    nulls: str | None
    relation: str | None = None  # `rel(col)`: a column of a to-one embedded table

    def sql(self, table: str, columns: dict[str, str], params: list[str]) -> str:
        return " ".join(part for part in (self.field.sql(table, columns, params), self.direction,
                                          self.nulls) if part)


@dataclass
class Embed:
    """`[alias:]table[!hint][!inner|!left](...)` in `select`: a related table's rows, by a
    foreign key between the two (`SelectRelation`)."""

    name: str
    alias: str | None
    hint: str | None
    inner: bool
    items: list[SelectItem | Embed]
    where: list[Filter | Logic] = field(default_factory=list)
    order: list[OrderTerm] = field(default_factory=list)  # `table.order=`
    range: Range = field(default_factory=lambda: Range())  # `table.limit=`, `.offset=`
    spread: bool = False  # `...table(...)`: its columns in its parent's row

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass(frozen=True, order=True)
class Junction:
    """The table a many-to-many relationship goes through (`Junction`): its key to the
    relationship's table and its key to the foreign one, each as (the other table's column,
    the junction's column) pairs."""

    table: str
    constraint1: str
    constraint2: str
    source: tuple[tuple[str, str], ...]
    target: tuple[tuple[str, str], ...]


_CARDINALITIES = ("one-to-many", "many-to-one", "one-to-one", "many-to-many")  # `Ord`'s order


@dataclass(frozen=True)
class Relationship:
    """A way from `table` to embed `foreign` (`SchemaCache/Relationship.hs`): a foreign key,
    many-to-one from the referencing table, one-to-many from the referenced one, one-to-one
    either way when the referencing columns are unique; or many-to-many through a
    `junction`, without a constraint or columns of its own."""

    constraint: str
    table: str
    foreign: str
    columns: tuple[tuple[str, str], ...]  # (a column of table, the column of foreign)
    cardinality: str
    junction: Junction | None = None
    function: str | None = None  # a computed one's: it takes table's row, returns foreign's
    table_view: bool = False  # either side a view carrying the key (`relTableIsView`)
    foreign_view: bool = False

    @property
    def to_one(self) -> bool:
        return self.cardinality in ("many-to-one", "one-to-one")

    def matches(self, target: str, hint: str | None) -> bool:
        """Whether `target!hint` means this relationship (`Plan.findRel`). The target is
        the foreign table, or (deprecated, still served) its key's constraint or single
        column; a hint is the constraint, a single column of either side, or the junction.
        Between a table and itself, the table's name is the one-to-many way, a column the
        many-to-one way, and a hint the referencing column of the one-to-many way. A
        computed relationship is its function's name, whatever the hint."""
        if self.function is not None:
            return target == self.function
        single = self.columns if len(self.columns) == 1 else ()
        mine = {c for c, _ in single}
        theirs = {c for _, c in single}
        if self.table == self.foreign:
            if hint is None:
                return ((target == self.foreign and self.cardinality == "one-to-many")
                        or (target in mine and self.cardinality == "many-to-one"))
            return (target == self.foreign and self.cardinality == "one-to-many"
                    and hint in theirs)
        if hint is None:  # a view's own name only
            return target == self.foreign or (
                not self.foreign_view and target in (self.constraint or None, *mine))
        return target == self.foreign and (
            hint in (self.constraint or None, *mine, *theirs)
            or (self.junction is not None and hint == self.junction.table))

    @property
    def order(self) -> tuple[Any, ...]:
        """Where PostgREST's derived `Ord` sorts it among a table's relationships."""
        return (self.function is not None, self.foreign, self.table == self.foreign,
                _CARDINALITIES.index(self.cardinality), self.junction or "",
                self.constraint, self.columns)

    @property
    def name(self) -> str:
        """What a hint calls it (`relHint`): the junction, else the constraint."""
        return self.junction.table if self.junction else self.constraint

    def described(self) -> dict[str, str]:
        """`compressedRel`: how PostgREST's 300 `PGRST201` lists it."""
        if self.junction:
            j = self.junction
            return {"cardinality": self.cardinality,
                    "embedding": f"{self.table} with {self.foreign}",
                    "relationship": f"{j.table} using {j.constraint1}"
                                    f"({', '.join(c for _, c in j.source)}) and {j.constraint2}"
                                    f"({', '.join(c for _, c in j.target)})"}
        mine = ", ".join(c for c, _ in self.columns)
        theirs = ", ".join(c for _, c in self.columns)
        return {"cardinality": self.cardinality, "embedding": f"{self.table} with {self.foreign}",
                "relationship": f"{self.constraint} using {self.table}({mine}) and"
                                f" {self.foreign}({theirs})"}


@dataclass
class Catalog:
    """What PostgREST's schema cache knows of one exposed schema: each relation's columns
    and types, and the foreign keys between its tables."""

    schema: str
    tables: dict[str, dict[str, str]]
    relationships: list[Relationship]
    defaults: dict[str, dict[str, str]]  # per table, its columns' default expressions
    # per relation, its primary key's columns (`tablePKCols`; a view's from its table's)
    primary_keys: dict[str, list[str]] = field(default_factory=dict)

    def relationship(self, parent: str, embed: Embed) -> Relationship:
        """The one relationship `embed` means from `parent`, else PostgREST's 400 `PGRST200`
        or 300 `PGRST201` (`findRel`, the candidates in PostgREST's order)."""
        found = sorted((r for r in self.relationships
                        if r.table == parent and r.matches(embed.name, embed.hint)),
                       key=lambda r: r.order)
        if len(found) == 1:
            return found[0]
        if not found:
            hint = f"' using the hint '{embed.hint}" if embed.hint else ""
            raise pgrst_error(
                400, "PGRST200",
                f"Could not find a relationship between '{parent}' and '{embed.name}' in the"
                " schema cache",
                f"Searched for a foreign key relationship between '{parent}' and"
                f" '{embed.name}{hint}' in the schema '{self.schema}', but no matches were"
                " found.", self._no_relationship_hint(parent, embed.name))
        raise pgrst_error(
            300, "PGRST201",
            f"Could not embed because more than one relationship was found for '{parent}' and"
            f" '{embed.name}'", [r.described() for r in found],
            "Try changing '" + embed.name + "' to one of the following: " + ", ".join(
                f"'{r.foreign}!{r.name}'" for r in found)
            + ". Find the desired relationship in the 'details' key.")

    def _no_relationship_hint(self, parent: str, target: str) -> str | None:
        """`noRelBetweenHint`: when `parent` has relationships, the closest other name of
        the tables they embed (none when `target` is one of them), else the closest name for
        `parent` among the tables that have some (`fuzzy`, as PostgREST picks them)."""
        foreign = [r.foreign for r in self.relationships if r.table == parent]
        if foreign:
            wrong = target
            close = next((name for score, name in fuzzy.scored(foreign, target)
                          if score < 1.0), None)
        else:
            wrong = parent
            close = fuzzy.closest([r.table for r in self.relationships], parent)
        return f"Perhaps you meant '{close}' instead of '{wrong}'." if close else None

    def target(self, parent: str, embed: Embed) -> str:
        """The table `embed` reads from `parent`: its relationship's foreign table."""
        return self.relationship(parent, embed).foreign

    def resolve(self, table: str, items: Sequence[SelectItem | Embed]) -> None:
        """Every embed's relationship, or its error (PostgREST plans them first)."""
        for embed in (item for item in items if isinstance(item, Embed)):
            self.resolve(self.target(table, embed), embed.items)


class _Shape:
    """The select list and lateral joins of one level of a read (`readPlanToQuery`,
    `getJoins`, `getJoinSelects`), its embedded levels within; `params` collects the values
    of every level."""

    def __init__(self, catalog: Catalog, params: list[str], max_rows: int | None = None,
                 ranges: bool = True) -> None:
        self.catalog = catalog
        self.params = params
        self.max_rows = max_rows  # for every level, as `treeRestrictRange`
        self.ranges = ranges  # a write's have none (`addRanges` skips mutations)
        self.count = 0
        self.joined: dict[int, str] = {}  # each embed's (by id) lateral join alias

    def level(self, items: Sequence[SelectItem | Embed], qualifier: str, table: str
              ) -> tuple[str, str]:
        """The select list (its columns first, then its embeds) and the joins of a level
        whose rows are `qualifier`, of `table`."""
        columns = self.catalog.tables.get(table, {})
        plain = [item for item in items if isinstance(item, SelectItem)]
        embeds = [item for item in items if isinstance(item, Embed)]
        selects = [item.sql(qualifier, columns, self.params) for item in plain]
        if not items:
            selects = [f"{qualifier}.*"]
        joins = []
        for embed in embeds:
            select, join = self.embedded(embed, qualifier, table)
            joins.append(join)
            if select:
                selects.append(select)
        return ", ".join(selects), "".join(joins)

    def names(self, items: Sequence[SelectItem | Embed], table: str) -> list[str]:
        """The columns a level's select list answers, in the order `level` writes them: its
        columns (`*`: the table's), then each embed's (a spread's own columns)."""
        if not items:
            return list(self.catalog.tables.get(table, {}))
        out: list[str] = []
        for item in (i for i in items if isinstance(i, SelectItem)):
            if item.field.name == "*" and not item.field.path:
                out.extend(self.catalog.tables.get(table, {}))
            else:
                out.append(item.alias or item.field.label() or item.field.name)
        for embed in (i for i in items if isinstance(i, Embed) and i.items):
            out.extend(self.names(embed.items, self.catalog.target(table, embed))
                       if embed.spread else [embed.key])
        return out

    def embedded(self, embed: Embed, parent_qualifier: str, parent: str) -> tuple[str, str]:
        relationship = self.catalog.relationship(parent, embed)
        table = relationship.foreign
        self.count += 1
        alias = _ident(f"pgrst_{self.count}")
        aggregate = _ident(f"pgrst_{self.count}_agg")
        self.joined[id(embed)] = aggregate
        selects, joins = self.level(embed.items, alias, table)
        junction, condition = self.condition(embed, relationship, alias, parent_qualifier)
        order = self.order(embed.order, alias, table, embed.items)
        source = self.source(relationship, parent_qualifier)
        subquery = (f"SELECT {selects} FROM {source} AS {alias}{joins}{junction}"
                    f" WHERE {condition}"
                    f"{f' ORDER BY {order}' if order else ''}"
                    f"{_limit_sql(embed.range, self.max_rows) if self.ranges else ''}")
        kind = "INNER" if embed.inner else "LEFT"
        if embed.spread and relationship.to_one:  # its columns are the parent's
            join = f" {kind} JOIN LATERAL ( {subquery} ) AS {aggregate} ON TRUE"
            return (f"{aggregate}.*" if embed.items else ""), join
        if embed.spread:  # to-many (`ToManySpread`): each of its columns as an array
            names = [_ident(name) for name in self.names(embed.items, table)]
            arrays = "".join(f", COALESCE(json_agg({aggregate}.{name}), '[]')::jsonb AS {name}"
                             for name in names)
            join = (f" {kind} JOIN LATERAL ( SELECT json_agg({aggregate})::jsonb AS {aggregate}"
                    f"{arrays} FROM ( {subquery} ) AS {aggregate} ) AS {aggregate} ON "
                    + (f"{aggregate} IS NOT NULL" if embed.inner else "TRUE"))
            return ", ".join(f"{aggregate}.{name}" for name in names), join
        if relationship.to_one:
            join = f" {kind} JOIN LATERAL ( {subquery} ) AS {aggregate} ON TRUE"
            select = f"row_to_json({aggregate}.*)::jsonb AS {_ident(embed.key)}"
        else:
            join = (f" {kind} JOIN LATERAL ( SELECT json_agg({aggregate})::jsonb AS {aggregate}"
                    f" FROM ( {subquery} ) AS {aggregate} ) AS {aggregate} ON "
                    + (f"{aggregate} IS NOT NULL" if embed.inner else "TRUE"))
            select = f"COALESCE( {aggregate}.{aggregate}, '[]') AS {_ident(embed.key)}"
        # an empty embed (`rel()`) only filters (`rsEmptyEmbed`): nothing of it is answered
        return (select if embed.items else ""), join

    def order(self, terms: Sequence[OrderTerm], qualifier: str, table: str,
              items: Sequence[SelectItem | Embed]) -> str:
        """A level's `ORDER BY` list, once its embeds are joined (`addRelatedOrders`): a
        `rel(col)` term sorts by a to-one embed's column as that embed answers it; an embed
        not in the level's `select` is 400 `PGRST108`, a to-many one 400 `PGRST118`."""
        out = []
        columns = self.catalog.tables.get(table, {})
        for term in terms:
            if term.relation is None:
                out.append(term.sql(qualifier, columns, self.params))
                continue
            embed = next((item for item in items if isinstance(item, Embed)
                          and item.key == term.relation), None)
            if embed is None:
                raise _not_embedded(term.relation)
            if not self.catalog.relationship(table, embed).to_one:
                raise pgrst_error(
                    400, "PGRST118", f"A related order on '{embed.key}' is not possible",
                    f"'{table}' and '{embed.key}' do not form a many-to-one or one-to-one"
                    " relationship")
            out.append(term.sql(self.joined[id(embed)],
                                self.catalog.tables.get(self.catalog.target(table, embed), {}),
                                self.params))
        return ", ".join(out)

    def relation(self, table: str) -> str:
        return f"{_ident(self.catalog.schema)}.{_ident(table)}"

    def source(self, relationship: Relationship, parent_qualifier: str) -> str:
        """What an embed reads: its table, or a computed relationship's function called
        with the parent's row (`fromF`; the cast picks an overloaded one)."""
        if relationship.function is None:
            return self.relation(relationship.foreign)
        return (f"{self.relation(relationship.function)}(ROW({parent_qualifier}.*)::"
                f"{self.relation(relationship.table)})")

    def condition(self, embed: Embed, relationship: Relationship, alias: str,
                  parent_qualifier: str) -> tuple[str, str]:
        """What joins an embed's rows (`alias`) to their parent's (`getJoinConditions`),
        with the embed's own filters: the junction a many-to-many one goes through, to add
        to its `FROM` (as PostgREST's `fromF` does), and the `WHERE` condition."""
        columns = self.catalog.tables.get(relationship.foreign, {})
        junction = ""
        if relationship.junction is None:
            parts = [f"{alias}.{_ident(theirs)} = {parent_qualifier}.{_ident(mine)}"
                     for mine, theirs in relationship.columns]
        else:
            through = _ident(f"{alias[1:-1]}_junction")
            junction = f", {self.relation(relationship.junction.table)} AS {through}"
            parts = [f"{through}.{_ident(theirs)} = {alias}.{_ident(mine)}"
                     for mine, theirs in relationship.junction.target]
            parts += [f"{through}.{_ident(theirs)} = {parent_qualifier}.{_ident(mine)}"
                      for mine, theirs in relationship.junction.source]
        parts += [item.sql(alias, columns, self.params) for item in embed.where]
        return junction, " AND ".join(parts) or "TRUE"

    def inner_exists(self, items: Sequence[SelectItem | Embed], qualifier: str, table: str
                     ) -> list[str]:
        """The `!inner` embeds of a level as conditions on its rows, for the count
        (`readPlanToCountQuery`'s sub-queries)."""
        out = []
        for embed in (item for item in items if isinstance(item, Embed) and item.inner):
            relationship = self.catalog.relationship(table, embed)
            self.count += 1
            alias = _ident(f"pgrst_{self.count}")
            nested = self.inner_exists(embed.items, alias, relationship.foreign)
            junction, condition = self.condition(embed, relationship, alias, qualifier)
            out.append(f"EXISTS (SELECT 1 FROM {self.source(relationship, qualifier)} AS {alias}"
                       f"{junction} WHERE {' AND '.join([condition, *nested])})")
        return out


class _Aggregate(Exception):
    """An aggregate in `select` (`count()`, `col.sum()`)."""


@contextlib.contextmanager
def _parsing(what: str, text: str) -> Iterator[None]:
    """A parse error of `text` as PostgREST's 400 `PGRST100` for that query parameter."""
    try:
        yield
    except _ParseError as error:
        raise pgrst_error(
            400, "PGRST100",
            f'"failed to parse {what} ({text})" (line 1, column {error.column})',
            error.details) from None


def _parse_operation(cursor: _Cursor, logic_value: bool) -> tuple[bool, str, Any, str | None]:
    """`pOpExpr`: [not.]operator[(modifier)].value."""
    negated = cursor.take("not.")
    for op in _OPERATORS:
        if cursor.text.startswith(op, cursor.at):
            rest = cursor.text[cursor.at + len(op):]
            if rest[:1] not in (".", "("):
                continue
            cursor.at += len(op)
            break
    else:
        cursor.fail('expecting "not" or operator (eq, gt, ...)')
    modifier = None
    if op in _QUANT and cursor.peek() == "(":
        match = re.match(r"\((any|all)\)", cursor.text[cursor.at:])
        if not match:
            cursor.fail('expecting "any" or "all"')
        cursor.at += match.end()
        modifier = match.group(1)
    elif op in _FTS and cursor.peek() == "(":
        cursor.at += 1
        match = re.match(r"[A-Za-z0-9_ $]+", cursor.text[cursor.at:])
        if not match:
            cursor.fail("expecting letter or digit")
        cursor.at += match.end()
        modifier = match.group().strip()
        cursor.expect(")", '")"')
    cursor.expect(".", "delimiter (.)")
    value: Any
    if op == "in":
        value = _list_value(cursor)
    elif op == "is":
        word = re.match(r"(null|not_null|true|false|unknown)", cursor.text[cursor.at:], re.I)
        if not word:
            cursor.fail("expecting isVal: (null, not_null, true, false, unknown)")
        cursor.at += word.end()
        value = word.group().lower()
    elif logic_value:
        value = _logic_value(cursor)
    else:
        value = cursor.text[cursor.at:]
        cursor.at = len(cursor.text)
    return negated, op, value, modifier


def _list_value(cursor: _Cursor) -> list[str]:
    """`pListVal`: `(a,"b,c",d)`."""
    cursor.skip_blanks()
    cursor.expect("(", '"("')
    items = []
    while True:
        if cursor.peek() == '"':
            start = cursor.at
            item = cursor.quoted()
            if cursor.peek() not in (",", ")"):  # not a quoted element after all
                cursor.at = start
                item = _until(cursor, ",)")
        else:
            item = _until(cursor, ",)")
        items.append(item)
        if not cursor.take(","):
            break
    cursor.skip_blanks()
    cursor.expect(")", '")"')
    cursor.skip_blanks()
    return items


def _until(cursor: _Cursor, stops: str) -> str:
    start = cursor.at
    while not cursor.done() and cursor.peek() not in stops:
        cursor.at += 1
    return cursor.text[start:cursor.at]


def _logic_value(cursor: _Cursor) -> str:
    """`pLogicSingleVal`: quoted, a `{...}` array literal, or up to the next `,` or `)`."""
    if cursor.peek() == '"':
        start = cursor.at
        value = cursor.quoted()
        if cursor.peek() in (",", ")"):
            return value
        cursor.at = start
    if cursor.peek() == "{":
        match = re.match(r"\{[^{}]*\}", cursor.text[cursor.at:])
        if match:
            cursor.at += match.end()
            return match.group()
    return _until(cursor, ",)")


def _field(cursor: _Cursor) -> Field:
    cursor.skip_blanks()
    name = cursor.identifier()
    path = tuple(cursor.json_path())
    cursor.skip_blanks()
    return Field(name, path)


def parse_filter(value: str, field: Field) -> Filter:
    cursor = _Cursor(value)
    with _parsing("filter", value):
        negated, op, operand, modifier = _parse_operation(cursor, logic_value=False)
        if not cursor.done():
            cursor.fail("expecting end of input")
    return Filter(field, negated, op, operand, modifier)


def parse_logic(key: str, value: str) -> Logic:
    """`and=(...)`, `or=(...)`, `not.or=(...)` (`pLogicTree` over `op` + value)."""
    text = ("not." if key.startswith("not.") else "") + key.rsplit(".", 1)[-1] + value
    cursor = _Cursor(text)

    def tree() -> Filter | Logic:
        start = cursor.at
        negated = cursor.take("not.")
        after_not = cursor.at
        for operator in ("and", "or"):
            cursor.at = after_not
            if cursor.take(operator):
                cursor.skip_blanks()
                if cursor.take("("):
                    children = [tree()]
                    while cursor.take(","):
                        children.append(tree())
                    cursor.skip_blanks()
                    cursor.expect(")", '")"')
                    cursor.skip_blanks()
                    return Logic(negated, operator.upper(), tuple(children))
        cursor.at = start
        field = _field(cursor)
        cursor.expect(".", "delimiter (.)")
        negated, op, operand, modifier = _parse_operation(cursor, logic_value=True)
        return Filter(field, negated, op, operand, modifier)

    with _parsing("logic tree", value):
        parsed = tree()
        if not cursor.done() or not isinstance(parsed, Logic):
            cursor.fail("expecting end of input")
    return parsed


def parse_select(value: str) -> list[SelectItem | Embed]:
    """`pFieldForest`: columns, and embedded tables with theirs (aggregates raise
    _Aggregate)."""
    cursor = _Cursor(value)
    with _parsing("select parameter", value):
        items = _forest(cursor)
        if not cursor.done():
            cursor.fail('expecting "->", "::", ".", "," or end of input')
    return items


def _forest(cursor: _Cursor, nested: bool = False) -> list[SelectItem | Embed]:
    items: list[SelectItem | Embed] = []
    while not cursor.done() and not (nested and cursor.peek() == ")"):
        cursor.skip_blanks()
        if cursor.take("*"):
            items.append(SelectItem(Field("*"), None, None))
        else:
            if cursor.take("..."):  # `pSpreadRelationSelect`: no alias
                embed = _embed(cursor, cursor.identifier(), None)
                embed.spread = True
                items.append(embed)
                cursor.skip_blanks()
                if not cursor.take(","):
                    break
                continue
            alias = None
            start = cursor.at
            name = cursor.identifier()
            if cursor.peek() == ":" and cursor.peek(2) != "::":
                cursor.at += 1
                alias = name
                start = cursor.at
                name = cursor.identifier()
            if name == "count" and cursor.peek(2) == "()":
                raise _Aggregate
            if cursor.peek() in ("(", "!"):
                items.append(_embed(cursor, name, alias))
            else:
                cursor.at = start
                field = _field(cursor)
                cast = cursor.cast()
                if cursor.peek() == ".":
                    raise _Aggregate
                items.append(SelectItem(field, alias, cast))
        cursor.skip_blanks()
        if not cursor.take(","):
            break
    return items


def _embed(cursor: _Cursor, name: str, alias: str | None) -> Embed:
    """`pRelationSelect` after the name: `!hint`, `!inner`/`!left`, then `(...)`."""
    hint = None
    inner = False
    for _ in range(2):
        if not cursor.take("!"):
            break
        if cursor.take("inner"):
            inner = True
        elif not cursor.take("left"):
            hint = cursor.identifier()
    cursor.expect("(", '"("')
    items = _forest(cursor, nested=True)
    cursor.expect(")", '")"')
    return Embed(name, alias, hint, inner, items)


def parse_columns(value: str, parameter: str = "columns") -> list[str]:
    """`pColumns`: field names separated by commas (`columns=`, and `on_conflict=`)."""
    cursor = _Cursor(value)
    names = []
    with _parsing(f"{parameter} parameter", value):
        while True:
            cursor.skip_blanks()
            names.append(cursor.identifier())
            cursor.skip_blanks()
            if cursor.done():
                return names
            cursor.expect(",", '","')


def parse_order(value: str) -> list[OrderTerm]:
    cursor = _Cursor(value)
    terms = []
    with _parsing("order", value):
        while True:
            field = _field(cursor)
            relation = None
            if cursor.peek() == "(" and not field.path:  # `try pOrderRelationTerm`
                at = cursor.at
                try:
                    cursor.at += 1
                    inner = _field(cursor)
                    cursor.expect(")", '")"')
                    relation, field = field.name, inner
                except _ParseError:  # not one: the plain term's error, at the "("
                    cursor.at = at
            direction = "ASC" if cursor.take(".asc") else ("DESC" if cursor.take(".desc")
                                                           else None)
            nulls = ("NULLS FIRST" if cursor.take(".nullsfirst")
                     else "NULLS LAST" if cursor.take(".nullslast") else None)
            cursor.skip_blanks()
            terms.append(OrderTerm(field, direction, nulls, relation))
            if cursor.done():
                break
            if not cursor.take(","):
                cursor.fail('expecting ".", "," or end of input')
    return terms


@dataclass
class Range:
    """Rows `lower`..`upper` (inclusive; None: no end), as PostgREST's `NonnegRange`."""

    lower: int = 0
    upper: int | None = None

    def intersect(self, other: Range) -> Range:
        uppers = [u for u in (self.upper, other.upper) if u is not None]
        return Range(max(self.lower, other.lower), min(uppers) if uppers else None)

    @property
    def empty(self) -> bool:
        return self.upper is not None and self.upper < self.lower

    @property
    def limit(self) -> int | None:
        return None if self.upper is None else self.upper - self.lower + 1


def _integer(text: str) -> int | None:
    return int(text) if re.fullmatch(r"-?[0-9]+", text.strip()) else None


def _range(limit: str | None, offset: str | None, header: str | None) -> Range:
    """`ApiRequest.getRanges` for the top level: `limit`/`offset`, and a GET's `Range`."""
    limit_n = _integer(limit) if limit is not None else None
    offset_n = _integer(offset) if offset is not None else None
    limit_range = Range(0, limit_n - 1) if limit_n is not None else Range()
    if offset is not None:  # `offset` alone: from there; with `limit`: that many from there
        start = offset_n if offset_n is not None else 0
        limit_range = Range(start, start + (limit_range.limit or 0) - 1 if limit is not None
                            else None)
    header_range = Range()
    if header is not None:
        match = re.fullmatch(r"([0-9]+)-([0-9]*)", header.strip())
        if match:
            header_range = Range(int(match.group(1)),
                                 int(match.group(2)) if match.group(2) else None)
    limit_zero = limit_range.upper == -1
    combined = limit_range if limit_zero else header_range.intersect(limit_range)
    if combined.empty and not limit_zero:
        raise pgrst_error(416, "PGRST103", "Requested range not satisfiable",
                     "The lower boundary must be lower than or equal to the upper boundary"
                     " in the Range header." if header_range.empty
                     else "Limit should be greater than or equal to zero.")
    return combined


@dataclass
class ReadRequest:
    """A table read's query string, parsed."""

    select: list[SelectItem | Embed] = field(default_factory=list)
    where: list[Filter | Logic] = field(default_factory=list)
    order: list[OrderTerm] = field(default_factory=list)
    range: Range = field(default_factory=Range)
    columns: list[str] | None = None  # `columns=`: the columns a write's body sets
    on_conflict: list[str] | None = None  # `on_conflict=`: an upsert's unique columns
    filtered: set[str] = field(default_factory=set)  # `qsFilterFields`: each filter's key
    logic: bool = False  # an `and=`/`or=` anywhere (`qsLogic`)
    aggregates: bool = False  # refused once the table is known (`validateAggFunctions`)
    canonical: str = ""
    arguments: dict[str, str] = field(default_factory=dict)  # a function's, read by GET

    @property
    def shapes(self) -> bool:
        """Whether it asks more of the rows than all of them as they are."""
        return bool(self.where or self.order or self.range != Range() or any(
            not (isinstance(item, SelectItem) and item.field.name == "*" and not item.alias
                 and not item.field.path and not item.cast)
            for item in self.select))

    @classmethod
    def parse(cls, query: str, range_header: str | None, function_read: bool = False
              ) -> ReadRequest:
        """The query string, parsed in `QueryParams.parse`'s order (`order`, `and`/`or`,
        `columns`, `select`, the filters: the first that fails is the error), then each
        filter on an embedded table's path given to that embed (`Plan.addFilters`).
        `function_read`: a function called by GET, whose parameters are the `arguments`
        whose value is not an operation (`pRequestFilter`'s `NoOpExpr`)."""
        pairs: list[tuple[str, str | None]] = []
        for item in re.split("[&;]", query):
            if not item:
                continue
            key, eq, value = item.partition("=")
            pairs.append((unquote_plus(key), unquote_plus(value) if eq else None))
        request = cls(canonical="&".join(
            f"{quote(k, safe='')}={quote(v or '', safe='')}"
            for k, v in sorted(pairs, key=lambda pair: pair[0])))
        given = [(key, value) for key, value in pairs if value is not None]
        embedded: list[tuple[list[str], str, Any]] = []  # (path, kind, what)
        limit = offset = None
        for key, value in given:
            parts = key.split(".")
            if parts[-1] == "order":
                terms = parse_order(value)
                if len(parts) > 1:
                    embedded.append((parts[:-1], "order", terms))
                else:
                    request.order.extend(terms)
        for key, value in given:
            parts = key.split(".")
            if parts[-1] in ("and", "or"):
                logic = parse_logic(key, value)
                request.logic = True
                path = [p for p in parts[:-1] if p != "not"]
                if path:
                    embedded.append((path, "filter", logic))
                else:
                    request.where.append(logic)
            elif parts[-1] in ("limit", "offset"):
                if len(parts) > 1:
                    embedded.append((parts[:-1], parts[-1], value))
                elif parts[-1] == "limit":
                    limit = value
                else:
                    offset = value
        columns = next((v for k, v in given if k == "columns"), None)
        if columns is not None:
            request.columns = parse_columns(columns)
        select = next((v for k, v in given if k == "select"), None)
        if select is not None:
            try:
                request.select = parse_select(select)
            except _Aggregate:
                request.aggregates = True
        for key, value in given:
            if key in ("select", "columns", "on_conflict") \
                    or key.rsplit(".", 1)[-1] in _EMBEDDABLE:
                continue
            cursor = _Cursor(key)
            with _parsing("tree path", key):
                names = [cursor.identifier()]
                while cursor.peek() == ".":
                    cursor.at += 1
                    names.append(cursor.identifier())
                json_path = tuple(cursor.json_path())
                if not cursor.done():
                    cursor.fail("expecting end of input")
            try:
                condition = parse_filter(value, Field(names[-1], json_path))
            except RestError:
                if not function_read:
                    raise
                rpc.add_query_value(request.arguments, names[-1], value)
                continue
            request.filtered.add(key)
            if len(names) > 1:
                embedded.append((names[:-1], "filter", condition))
            else:
                request.where.append(condition)
        on_conflict = next((v for k, v in given if k == "on_conflict"), None)
        if on_conflict is not None:
            request.on_conflict = parse_columns(on_conflict, "on_conflict")
        ranges: dict[tuple[str, ...], dict[str, str]] = {}
        for path, kind, what in embedded:
            target = request.embed(path)
            if kind == "filter":
                target.where.append(what)
            elif kind == "order":
                target.order.extend(what)
            else:
                ranges.setdefault(tuple(path), {})[kind] = what
        for embed_path, given_range in ranges.items():
            request.embed(list(embed_path)).range = _range(
                given_range.get("limit"), given_range.get("offset"), None)
        request.range = _range(limit, offset, range_header)
        return request

    def embed(self, path: list[str]) -> Embed:
        """The embed a filter's path names, by its alias or else its name, else PostgREST's
        400 `PGRST108`."""
        items: list[SelectItem | Embed] = self.select
        found: Embed | None = None
        for name in path:
            found = next((item for item in items if isinstance(item, Embed)
                          and item.key == name), None)
            if found is None:
                raise _not_embedded(name)
            items = found.items
        assert found is not None  # a path has at least one name
        return found


# PostgREST's `db-aggregates-enabled` is off by default, and so on Supabase
_MAX_TABLES_FOR_HINTS = 500  # `maxDbTablesForFuzzySearch`
_AGGREGATES_OFF = pgrst_error(400, "PGRST123", "Use of aggregate functions is not allowed")


def _not_embedded(resource: str) -> RestError:
    return pgrst_error(
        400, "PGRST108", f"'{resource}' is not an embedded resource in this request",
        hint=f"Verify that '{resource}' is included in the 'select' query parameter.")


@dataclass(frozen=True)
class FunctionSource:
    """A function's rows read in place of a table's (`mainCall`): its call (`$1` the
    arguments' JSON, if any) and whether it returns one row, answered as an object."""

    sql: str
    arguments: str | None
    one_row: bool


def _statement(catalog: Catalog, table: str, request: ReadRequest, count: str | None,
               max_rows: int | None, media: Media, function: FunctionSource | None = None
               ) -> tuple[bytes, list[str], tuple[bytes, list[str]] | None]:
    """`mainRead`: the page, its count and the total; and `EXPLAIN` of the count query for
    a planned or estimated total (with parameters of its own: every one sent must be used,
    or Postgres cannot type it). With a `function`, `mainCall`: its rows, named as the
    table they are rows of, in place of the table's, and no `EXPLAIN` (PostgREST's total of
    a call is exact or none)."""
    params: list[str] = []
    root, qualifier = f"{_ident(catalog.schema)}.{_ident(table)}", ""
    call_cte = ""
    if function is not None:
        params += [function.arguments] if function.arguments is not None else []
        root, qualifier = f"pgrst_call_rows AS {_ident(table)}", _ident(table)
        call_cte = f"pgrst_call_rows AS ( {function.sql} ), "
    qualifier = qualifier or root
    columns = catalog.tables[table]
    shape = _Shape(catalog, params, max_rows)
    selects, joins = shape.level(request.select, qualifier, table)
    where = " AND ".join(item.sql(qualifier, columns, params) for item in request.where)
    where_sql = f" WHERE {where}" if where else ""
    order = shape.order(request.order, qualifier, table, request.select)
    limit_sql = _limit_sql(request.range, max_rows)
    source = (f"SELECT {selects} FROM {root}{joins}{where_sql}"
              f"{f' ORDER BY {order}' if order else ''}{limit_sql}")
    counted = count in ("exact", "estimated")
    total = "null::bigint"
    count_cte = ""
    if counted:
        limited = (f" LIMIT {max_rows + 1}" if count == "estimated" and max_rows is not None
                   else "")
        count_query = _count_query(catalog, table, request, params, root, qualifier)
        count_cte = f", pgrst_source_count AS ({count_query}{limited})"
        total = "(SELECT pg_catalog.count(*) FROM pgrst_source_count)"
    answer = _answer_sql(media, "pgrst_source", one_row=function is not None and function.one_row)
    sql_text = (f"WITH {call_cte}pgrst_source AS ( {source} ){count_cte}"
                f" SELECT {total} AS total_result_set, {answer}")
    explain = None
    if count in ("planned", "estimated") and function is None:
        count_params: list[str] = []
        explain = (f"EXPLAIN (FORMAT JSON) {_count_query(catalog, table, request, count_params)}"
                   .encode(), count_params)
    return sql_text.encode(), params, explain


def _limit_sql(given: Range, max_rows: int | None) -> str:
    """`limitOffsetF` of a range restricted to `max_rows` (`restrictRange`)."""
    page = given
    if max_rows is not None and (page.limit is None or page.limit > max_rows):
        page = Range(page.lower, page.lower + max_rows - 1)
    if page.lower == 0 and page.upper is None:
        return ""
    return f" LIMIT {page.limit if page.limit is not None else 'ALL'} OFFSET {page.lower}"


def _count_query(catalog: Catalog, table: str, request: ReadRequest, params: list[str],
                 root: str | None = None, qualifier: str | None = None) -> str:
    """`readPlanToCountQuery`: the rows the filters and the `!inner` embeds keep, of the
    table or of `root` (a function's rows) named `qualifier`."""
    root = root or f"{_ident(catalog.schema)}.{_ident(table)}"
    qualifier = qualifier or root
    shape = _Shape(catalog, params)
    conditions = [item.sql(qualifier, catalog.tables[table], params) for item in request.where]
    conditions += shape.inner_exists(request.select, qualifier, table)
    return f"SELECT 1 FROM {root}" + (f" WHERE {' AND '.join(conditions)}"
                                      if conditions else "")


def _content_range(lower: int, rows: int, total: int | None) -> tuple[int, str]:
    """`RangeQuery.rangeStatusHeader`: the status and `Content-Range` of a page."""
    upper = lower + rows - 1
    shown = f"{lower}-{upper}" if total != 0 and lower <= upper else "*"
    header = f"{shown}/{'*' if total is None else total}"
    if total is None:
        return 200, header
    if lower > total:
        return 416, header
    return (206 if rows < total else 200), header


async def _payload(request: Request, columns: list[str] | None
                   ) -> tuple[Any, list[str]]:
    """A write's body and the columns it sets (`ApiRequest/Payload.hs`): of JSON, the keys
    of its object, or of each object of its array (they must match), unless `columns=`
    names them; of CSV (`csv_payload`), the header's, one row per line; of a form, its
    fields' names, one row of strings (a repeated name's last value)."""
    media = rpc.body_media(request.headers.get("content-type"))
    raw = await request.body()
    if media == "text/csv":
        return csv_payload(raw)
    if media == "application/x-www-form-urlencoded":
        fields = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        return fields, list(fields)
    if media not in ("application/json", ""):
        raise pgrst_error(400, "PGRST102", f"Content-Type not acceptable: {media}")
    if columns is None:
        return json_payload(raw, call=False)
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        body = None
    rows = body if isinstance(body, list) else [body]
    if not all(isinstance(row, dict) for row in rows):
        raise pgrst_error(400, "PGRST102", "Empty or invalid json")
    return body, columns


@dataclass(frozen=True)
class Upsert:
    """How an insert resolves a conflict (`MutatePlan.Insert`'s `onConflict`): a POST's
    `Prefer: resolution` on `on_conflict=`'s columns or else the primary key's (none: a
    plain insert that still counts its rows for merge-duplicates), or a PUT's merge on the
    primary key, whose filters also pick the body's rows (`putConditions`)."""

    resolution: str  # "merge-duplicates" or "ignore-duplicates"
    columns: list[str]
    put: bool = False

    @property
    def counted(self) -> bool:
        """Whether the answer says how many rows were inserted, not updated (201 or 200)."""
        return self.put or self.resolution == "merge-duplicates"


# `pgrst.inserted` counts a merge's rows: one more for each row of the body, one less for
# each that updated instead (`addConfigPgrstInserted`); each condition is always true.
_COUNT_INSERTED = ("set_config('pgrst.inserted', (coalesce(nullif(current_setting("
                   "'pgrst.inserted', true), '')::int, 0) {} 1)::text, true) <> '{}'")


def _write_statement(method: str, catalog: Catalog, table: str, request: ReadRequest,
                     keys: list[str], body: Any, representation: str | None, media: Media,
                     defaults: bool = False, upsert: Upsert | None = None
                     ) -> tuple[bytes, list[str]]:
    """`mainWrite` with `mutatePlanToQuery`: the write as `pgrst_source`, then the count of
    its rows, the body `select` makes of them (`return=representation`), the `Location`
    query of an insert's one row (`return=headers-only`) and how many rows an upsert
    inserted. `defaults` (`Prefer: missing=default`): a key an object lacks takes its
    column's default, not null (`fromJsonBodyF`)."""
    params: list[str] = []
    qualified = f"{_ident(catalog.schema)}.{_ident(table)}"
    columns = catalog.tables[table]
    full = representation == "representation"
    primary_key = catalog.primary_keys.get(table, [])

    def payload(kind: str = "json") -> str:
        params.append(json.dumps(body))
        return f"${len(params)}::{kind}"

    def source() -> str:
        typed = ", ".join(f"{_ident(k)} {columns[k]}" for k in keys)
        records = "json_to_record" if isinstance(body, dict) else "json_to_recordset"
        rows, given = "", "pgrst_payload.json_data"
        if defaults:  # each object over an object of the defaults of its columns
            known = catalog.defaults.get(table, {})
            pairs = ", ".join(f"'{k.replace(chr(39), chr(39) * 2)}', {known[k]}"
                              for k in keys if k in known)
            merged = (f"SELECT jsonb_build_object({pairs}) || pgrst_payload.json_data AS val"
                      if isinstance(body, dict) else
                      f"SELECT jsonb_agg(jsonb_build_object({pairs}) || elem) AS val"
                      " FROM jsonb_array_elements(pgrst_payload.json_data) elem")
            rows, given = f"LATERAL ({merged}) pgrst_json_defs, ", "pgrst_json_defs.val"
            records = "jsonb" + records[4:]
        return (f"FROM (SELECT {payload('jsonb' if defaults else 'json')} AS json_data)"
                f" pgrst_payload, {rows}LATERAL (SELECT {', '.join(_ident(k) for k in keys)}"
                f" FROM {records}({given}) AS _({typed})) pgrst_body")

    def where(qualifier: str = qualified, *more: str) -> str:
        condition = " AND ".join([item.sql(qualifier, columns, params)
                                  for item in request.where] + list(more))
        return f" WHERE {condition}" if condition else ""

    def on_conflict() -> str:
        if upsert is None or not upsert.columns:
            return ""
        target = f" ON CONFLICT({', '.join(_ident(c) for c in upsert.columns)})"
        if upsert.resolution == "ignore-duplicates" or not keys:
            return f"{target} DO NOTHING"
        sets = ", ".join(f"{_ident(k)} = EXCLUDED.{_ident(k)}" for k in keys)
        return f"{target} DO UPDATE SET {sets} WHERE {_COUNT_INSERTED.format('-', '-1')}"

    wanted = list(request.select)
    returned = "1"
    if full:  # `select`'s columns and the key's (`inferColsEmbedNeeds`); all for `*` or
        # an embed's join
        fields = {item.field.name if isinstance(item, SelectItem) else "*" for item in wanted}
        returned = f"{qualified}.*" if not wanted or "*" in fields else ", ".join(
            f"{qualified}.{_ident(name)}" for name in sorted(fields | set(primary_key)))
    elif representation == "headers-only" and primary_key:
        returned = ", ".join(f"{qualified}.{_ident(name)}" for name in primary_key)
    counted = upsert is not None and upsert.counted
    counting = (_COUNT_INSERTED.format("+", "0"),) if counted else ()
    if method in ("POST", "PUT") and keys:
        if upsert is not None and upsert.put:  # the filters pick the body's rows
            condition = where("pgrst_body", *counting)
        else:
            condition = f" WHERE {counting[0]}" if counting else ""
        write = (f"INSERT INTO {qualified}({', '.join(_ident(k) for k in keys)})"
                 f" SELECT {', '.join(f'pgrst_body.{_ident(k)}' for k in keys)} {source()}"
                 f"{condition}{on_conflict()}")
    elif method == "POST":  # `{}` or `[{}, ...]`: a row of defaults for each object
        rows = (f"json_array_elements({payload()})" if isinstance(body, list)
                else f"(SELECT {payload()})")
        write = (f"INSERT INTO {qualified} SELECT FROM {rows} _"
                 f"{' WHERE ' + counting[0] if counting else ''}{on_conflict()}")
    elif method == "PATCH" and keys:
        sets = ", ".join(f"{_ident(k)} = pgrst_body.{_ident(k)}" for k in keys)
        write = f"UPDATE {qualified} SET {sets} {source()}{where()}"
    elif method == "PATCH":  # `{}`: nothing to set, no row (`UPDATE ... SET` is invalid)
        write = f"SELECT {returned} FROM {qualified} WHERE false"
    else:
        write = f"DELETE FROM {qualified}{where()}"
    if not (method == "PATCH" and not keys):
        write += f" RETURNING {returned}"
    # the answer's rows in `order`, every level's; `limit` and `offset` cut nothing
    shape = _Shape(catalog, params, ranges=False)
    selects, joins = shape.level(wanted, "pgrst_source", table)
    order = shape.order(request.order, "pgrst_source", table, wanted)
    selected = (f"SELECT {selects} FROM pgrst_source{joins}"
                f"{f' ORDER BY {order}' if order else ''}" if full
                else "SELECT * FROM pgrst_source")
    location = "NULL"
    if method == "POST" and representation == "headers-only" and primary_key:
        params.append("{" + ",".join(_array_item(k) for k in primary_key) + "}")
        location = ("CASE WHEN pg_catalog.count(_postgrest_t) = 1 THEN (SELECT json_agg("
                    "pair.key || '=' || coalesce('eq.' || pair.value, 'is.null'))::text"
                    " FROM (SELECT row_to_json(_) AS one FROM pgrst_source _ LIMIT 1) row"
                    " CROSS JOIN json_each_text(row.one) pair"
                    f" WHERE pair.key = ANY (${len(params)}::text[])) END")
    inserted = ("nullif(current_setting('pgrst.inserted', true), '')::int" if counted
                else "NULL")
    answer = _answer_sql(media if full else None, "pgrst_selected",
                         f"{location} AS location, {inserted} AS inserted")
    sql_text = (f"WITH pgrst_source AS ( {write} ), pgrst_selected AS ( {selected} )"
                f" SELECT {answer}")
    return sql_text.encode(), params


def _answer_sql(media: Media | None, source: str, more: str = "", one_row: bool = False
                ) -> str:
    """The columns every statement answers after its own (`mainRead`, `mainWrite`): the
    rows of `source` counted, their body in `media` (none without; one object for
    `.single()` or a function returning one row, `asJsonSingleF`), the response GUCs, then
    `more`."""
    if media is None:
        body = "''"
    elif media.csv:
        body = rpc.csv_body(source)
    elif media.single or one_row:
        body = "coalesce((json_agg(_postgrest_t)->0)::text, 'null')"
    else:
        body = "coalesce(json_agg(_postgrest_t), '[]')::text"
    return (f"pg_catalog.count(_postgrest_t) AS page_total, {body} AS body,"
            " nullif(current_setting('response.headers', true), '') AS response_headers,"
            " nullif(current_setting('response.status', true), '') AS response_status"
            f"{', ' + more if more else ''} FROM ( SELECT * FROM {source} ) _postgrest_t")


def _filters_name_the_key(read: ReadRequest, primary_key: list[str]) -> bool:
    """A PUT's filters are exactly its table's primary key, each `eq` (`mutatePlan`)."""
    return (bool(primary_key) and not read.logic and read.filtered == set(primary_key)
            and all(isinstance(f, Filter) and f.operator == "eq" and not f.negated
                    and f.modifier is None and not f.field.path for f in read.where))


def _as_response(error: RestError | None) -> rpc.RpcResponse | None:
    return None if error is None else rpc.RpcResponse(error.status, error.headers, error.body)


def _refusal(method: str, rows: int, single: bool, preferences: Preferences
             ) -> RestError | None:
    """What PostgREST refuses of a write (or a call: `CALL`) once it has run
    (`MainTx.actionResult`): a PUT that did not write its one row (the body's key is not
    the URL's), an answer asked for as one object that is not one row, more rows than a
    strict `max-affected`."""
    if method == "PUT":
        return (pgrst_error(400, "PGRST115",
                            "Payload values do not match URL in primary key column(s)")
                if rows != 1 else None)
    if single and rows != 1:
        return pgrst_error(406, "PGRST116", "Cannot coerce the result to a single JSON object",
                           f"The result contains {rows} rows")
    limit = preferences.max_affected
    if method in ("PATCH", "DELETE", "CALL") and preferences.handling == "strict" \
            and limit is not None and rows > limit:
        return pgrst_error(400, "PGRST124",
                           "Query result exceeds max-affected preference constraint",
                           f"The query affects {rows} rows")
    return None


async def answering(request: Request, handler: Callable[[Request], Awaitable[Response]]
                     ) -> Response:
    """The handler's answer, or the error it raised (a HEAD's without its body); a 503
    with its retry hint."""
    try:
        return retry_hint(await handler(request))
    except RestError as refused:
        answer = retry_hint(refused.response())
        if request.method == "HEAD":
            return Response(None, answer.status_code, answer.headers)
        return answer


class TableEndpoint:
    """The `/rest/v1/{table}` handler, on the RPC endpoint's pool, schemas and keys."""

    def __init__(self, rest: RpcEndpoint, max_rows: int | None) -> None:
        self.rest = rest
        self.max_rows = max_rows
        # Per schema, read once and kept until PostgREST would reload its schema cache
        # (`forget`); `_epoch` counts the reloads, so that a catalog read before one is not kept.
        self._catalogs: dict[str, Catalog] = {}
        self._epoch = 0

    def forget(self) -> None:
        """Drop the cached catalogs: the schema cache reload of `NOTIFY pgrst`."""
        self._epoch += 1
        self._catalogs.clear()

    async def handle(self, request: Request) -> Response:
        return await answering(request, self._handle)

    async def call(self, request: Request) -> Response:
        """`/rest/v1/rpc/{fn}`: a call whose query asks more of its rows than all of them as
        they are (`select`, filters, `order`, a range) to a function returning a relation's
        rows, read as that relation (`callReadPlan`, `mainCall`); every other call is the
        RPC endpoint's, which answers the function's value as it is."""
        return await answering(request, self._call)

    async def _call(self, request: Request) -> Response:
        method = request.method
        if method not in ("GET", "HEAD", "POST"):
            return await self.rest.handle(request)
        by_get = method != "POST"
        function = request.path_params["function"]
        schema, negotiated = self.rest.schema_for(request)
        try:
            read = ReadRequest.parse(request.url.query,
                                     request.headers.get("range") if method == "GET" else None,
                                     function_read=by_get)
        except RestError as unparsed:
            if unparsed.body.get("code") == "PGRST100":
                # a query that does not parse: PostgREST's 400 for every call
                # (`QueryParams.parse`), once the token is checked
                self.rest.claims_for(request)
                raise
            # what a query that parses asks of rows (an embed's range, say) is checked once
            # the function is found; a call of one that returns no table's rows ignores it
            # here (the endpoint's docstring says so)
            if not await self._returns_table(schema, function):
                return await self.rest.handle(request)
            raise
        if not read.shapes:
            return await self.rest.handle(request, read.columns)
        claims = self.rest.claims_for(request)
        args, raw = (read.arguments, None) if by_get else \
            await self.rest.body_arguments(request, read.columns)
        headers = dict(request.headers)
        try:
            async with self.rest.pool.connection() as conn:
                picked = await rpc.apick(conn, schema, function, args,
                                         "GET" if by_get else method, headers, raw)
        except PoolTimeout:
            picked = rpc.unavailable()
        if isinstance(picked, rpc.RpcResponse):
            raise RestError(picked.status, picked.body, picked.headers)
        table = picked.returns_table
        if table is None:
            return await self.rest.handle(request, read.columns)
        catalog = await self._planned(schema, table, read)
        media = negotiate(request.headers.get("accept"))
        if isinstance(media, RestError):
            raise media
        preferences = Preferences.parse(request.headers.getlist("prefer"))
        if (strict := preferences.refusal(function=not picked.returns_set)) is not None:
            raise strict
        argument = rpc.call_argument(picked, args, raw, "GET" if by_get else method, headers)
        # a raw body's bytes go to Postgres as they came (invalid UTF-8 is its 22021)
        source = FunctionSource(rpc.call_source(picked, list(args)),
                                None if argument is None
                                else argument.decode("utf-8", "surrogateescape"),
                                not picked.returns_set)
        sql_text, params, _ = _statement(catalog, table, read, preferences.count,
                                         self.max_rows, media, source)
        statement = (sql_text, [p.encode("utf-8", "surrogateescape") for p in params])
        path = f"/rpc/{function}"

        def refused(result: Any) -> RestError | None:
            return _refusal("CALL", int(result.get_value(0, 1)), media.single, preferences)

        def accept(result: Any) -> rpc.RpcResponse | None:
            return _as_response(refused(result))

        try:
            async with self.rest.pool.connection() as conn:
                if by_get or picked.volatility in ("s", "i"):  # a READ ONLY transaction
                    answer = await rpc.aread(conn, schema, path, statement, claims, headers,
                                             preferences.settings(), "GET" if by_get else method,
                                             self.rest.extra_search_path)
                    result = answer if isinstance(answer, rpc.RpcResponse) else answer[-1]
                else:
                    result = await rpc.awrite(conn, schema, path, method, statement, accept,
                                              claims, headers, preferences.settings(),
                                              self.rest.extra_search_path)
        except PoolTimeout:
            result = rpc.unavailable()
        if isinstance(result, rpc.RpcResponse):
            raise RestError(result.status, result.body, result.headers)
        if (error := refused(result)) is not None:
            raise error
        return self._answer(request, read, table, media, preferences, negotiated, schema,
                            result, None, function=True)

    async def _planned(self, schema: str, table: str, read: ReadRequest) -> Catalog:
        """The schema's catalog once the read's embeds are found in it (PostgREST plans
        them before it runs anything); aggregates are refused there."""
        catalog = await self._catalog(schema, table)
        if isinstance(catalog, RestError):
            raise catalog
        if read.aggregates:
            raise _AGGREGATES_OFF
        catalog.resolve(table, read.select)
        return catalog

    async def _returns_table(self, schema: str, function: str) -> bool:
        """Whether a function of that name returns a relation's rows (not when the
        catalog cannot be read: the RPC endpoint then answers that)."""
        try:
            async with self.rest.pool.connection() as conn:
                candidates = await rpc.acandidates(conn, schema, function)
        except (PoolTimeout, psycopg.Error):
            return False
        return any(info.returns_table for info in candidates)

    async def _catalog(self, schema: str, table: str) -> Catalog | RestError:
        """The schema's relations and foreign keys, or PostgREST's 404 `PGRST205` when
        `table` is not one of them."""
        catalog = self._catalogs.get(schema)
        if catalog is None:
            epoch = self._epoch
            try:
                async with self.rest.pool.connection() as conn:
                    rows = await (await conn.execute(_COLUMNS_QUERY, (schema,))).fetchall()
                    foreign_keys, primary_keys = await read_schema_keys(conn, schema)
                    computed = await (await conn.execute(_COMPUTED_QUERY, (schema,))).fetchall()
            except (PoolTimeout, psycopg.OperationalError):  # no connection, or it was lost
                missing = rpc.unavailable()
                return RestError(missing.status, missing.body, missing.headers)
            tables: dict[str, dict[str, str]] = {}
            defaults: dict[str, dict[str, str]] = {}
            for relation, column, kind, default in rows:
                columns = tables.setdefault(str(relation), {})
                if column is not None:
                    columns[str(column)] = str(kind)
                if default is not None:
                    defaults.setdefault(str(relation), {})[str(column)] = str(default)
            catalog = Catalog(schema, tables,
                              _relationships(foreign_keys, primary_keys, computed),
                              defaults, primary_keys)
            if epoch == self._epoch:
                self._catalogs[schema] = catalog
        if table in catalog.tables:
            return catalog
        # `tableNotFoundHint`; PostgREST keeps no fuzzy index of a schema of 500 tables or more
        close = fuzzy.closest(catalog.tables, table, fuzzy.TABLE_OR_FUNCTION) \
            if len(catalog.tables) < _MAX_TABLES_FOR_HINTS else None
        return pgrst_error(404, "PGRST205",
                           f"Could not find the table '{schema}.{table}' in the schema cache",
                           hint=f"Perhaps you meant the table '{schema}.{close}'" if close
                           else None)

    async def _handle(self, request: Request) -> Response:
        path = request.path_params["path"]
        method = request.method
        if "/" in path.strip("/"):
            raise pgrst_error(404, "PGRST125", "Invalid path specified in request URL")
        table = path.strip("/")
        schema, negotiated = self.rest.schema_for(request)
        if method == "OPTIONS":  # not a CORS preflight (the middleware answers those)
            found = await self._catalog(schema, table)
            if isinstance(found, RestError):
                raise found
            put = ",PUT" if found.primary_keys.get(table) else ""  # `allowH`
            return Response(None, 200, {"Allow": f"OPTIONS,GET,HEAD,POST{put},PATCH,DELETE"})
        claims = self.rest.claims_for(request)
        preferences = Preferences.parse(request.headers.getlist("prefer"))
        read = ReadRequest.parse(request.url.query,
                                 request.headers.get("range") if method == "GET" else None)
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            return await self._write(request, table, schema, negotiated, claims, preferences,
                                     read)
        catalog = await self._planned(schema, table, read)
        media = negotiate(request.headers.get("accept"))
        if isinstance(media, RestError):
            raise media
        if (strict := preferences.refusal(function=False)) is not None:
            raise strict
        sql_text, params, explain = _statement(catalog, table, read, preferences.count,
                                               self.max_rows, media)
        try:
            async with self.rest.pool.connection() as conn:
                answer = await rpc.aread(
                    conn, schema, f"/{table}", (sql_text, [p.encode() for p in params]),
                    claims, dict(request.headers), preferences.settings(),
                    extra_search_path=self.rest.extra_search_path)
                planned = None
                if explain is not None and not isinstance(answer, rpc.RpcResponse):
                    plan = await rpc.aread(conn, schema, f"/{table}",
                                           (explain[0], [p.encode() for p in explain[1]]),
                                           claims, dict(request.headers),
                                           preferences.settings(),
                                           extra_search_path=self.rest.extra_search_path)
                    if isinstance(plan, rpc.RpcResponse):
                        answer = plan
                    else:
                        planned = int(json.loads(plan[-1].get_value(0, 0))[0]["Plan"]
                                      ["Plan Rows"])
        except PoolTimeout:
            answer = rpc.unavailable()
        if isinstance(answer, rpc.RpcResponse):
            raise RestError(answer.status, answer.body, answer.headers)
        return self._answer(request, read, table, media, preferences, negotiated, schema,
                            answer[-1], planned)

    async def _write(self, request: Request, table: str, schema: str, negotiated: bool,
                     claims: dict[str, Any], preferences: Preferences, read: ReadRequest
                     ) -> Response:
        """POST (an insert, or an upsert with `Prefer: resolution`), PUT (one row's upsert
        by its primary key), PATCH (update) and DELETE as PostgREST's `mainWrite` runs them:
        the body's keys (or `columns=`) typed by the table's columns, the filters of a
        read, `RETURNING` what `Prefer: return=representation` and `select` ask for."""
        method = request.method
        if method == "PUT" and read.range != Range():  # `getRanges`
            raise pgrst_error(400, "PGRST114",
                              "limit/offset querystring parameters are not allowed for PUT")
        catalog = await self._planned(schema, table, read)
        columns = catalog.tables[table]
        primary_key = catalog.primary_keys.get(table, [])
        body: Any = None
        keys: list[str] = []
        if method != "DELETE":
            body, keys = await _payload(request, read.columns)
        upsert: Upsert | None = None
        if method == "PUT":
            if not _filters_name_the_key(read, primary_key):
                raise pgrst_error(405, "PGRST105", "Filters must include all and only primary"
                                  " key columns with 'eq' operators")
            upsert = Upsert("merge-duplicates", primary_key, put=True)
        elif method == "POST" and preferences.resolution is not None:
            upsert = Upsert(preferences.resolution,
                            read.on_conflict if read.on_conflict is not None else primary_key)
        unknown = next((key for key in keys if key not in columns), None)
        if unknown is not None:
            raise pgrst_error(400, "PGRST204", f"Could not find the '{unknown}' column"
                              f" of '{table}' in the schema cache")
        full = preferences.representation == "representation"
        media = negotiate(request.headers.get("accept")) if full else Media()
        if isinstance(media, RestError):
            raise media
        if (strict := preferences.refusal(function=False)) is not None:
            raise strict
        sql_text, params = _write_statement(
            method, catalog, table, read, keys, body, preferences.representation, media,
            preferences.missing == "default" and method in ("POST", "PATCH"), upsert)
        rows = 0

        def accept(result: Any) -> rpc.RpcResponse | None:
            """PostgREST's checks of the rows written (`MainTx.actionResult`); any refusal
            rolls the write back."""
            nonlocal rows
            rows = int(result.get_value(0, 0))
            return _as_response(_refusal(method, rows, full and media.single, preferences))

        try:
            async with self.rest.pool.connection() as conn:
                answer = await rpc.awrite(
                    conn, schema, f"/{table}", method,
                    (sql_text, [p.encode() for p in params]), accept, claims,
                    dict(request.headers), preferences.settings(),
                    self.rest.extra_search_path)
        except PoolTimeout:
            answer = rpc.unavailable()
        if isinstance(answer, rpc.RpcResponse):
            raise RestError(answer.status, answer.body, answer.headers)
        _, body_bytes, guc_headers, guc_status, location, inserted = (
            answer.get_value(0, i) for i in range(6))
        out: dict[str, str] = {}
        if method == "PUT":  # `Response.actionResponse` of a `MutationSingleUpsert`
            status = (201 if int(inserted or 0) > 0 else 200) if full else 204
        else:
            if location:
                out["Location"] = f"/{table}?" + "&".join(
                    "=".join(quote_plus(part, safe="") for part in pair.split("=", 1))
                    for pair in json.loads(location))
            total = rows if preferences.count in ("exact", "estimated") else None
            # an update's range is its rows; an insert's and a delete's none
            first, shown = (0, rows) if method == "PATCH" else (1, 0)
            out["Content-Range"] = _content_range(first, shown, total)[1]
            if method == "POST":  # a merge that inserted nothing is 200
                counted = upsert is not None and upsert.counted
                status = 200 if counted and int(inserted or 0) <= 0 else 201
            else:
                status = 200 if full else 204
        resolved = upsert is not None and not upsert.put and (
            bool(primary_key) or read.on_conflict is not None)
        if (applied := preferences.applied(write=method, resolution=resolved)) is not None:
            out["Preference-Applied"] = applied
        if full:
            out["Content-Type"] = media.content_type
            if negotiated:
                out["Content-Profile"] = schema
        out = rpc.add_headers_if_not_included(out, rpc.response_headers(guc_headers))
        if guc_status:
            status = int(guc_status)
        if not full:
            return Response(None, status, out)
        text = (body_bytes or b"").decode()
        if media.csv:
            return Response(text, status, out)
        payload = json.loads(text)
        return json_response(status, strip_nulls(payload) if media.strip_nulls else payload,
                             out)

    def _answer(self, request: Request, read: ReadRequest, table: str, media: Media,
                preferences: Preferences, negotiated: bool, schema: str, result: Any,
                planned: int | None, function: bool = False) -> Response:
        """A read's answer (`function`: a function's rows read as `table`'s, which has no
        `Content-Location` and names a strict `max-affected`)."""
        exact_text, rows_text, body_bytes, guc_headers, guc_status = (
            result.get_value(0, i) for i in range(5))
        rows = int(rows_text)
        total: int | None = int(exact_text) if exact_text is not None else None
        if preferences.count == "planned":
            total = planned
        elif preferences.count == "estimated" and self.max_rows is not None \
                and total is not None and total > self.max_rows and planned is not None:
            total = max(total, planned)
        if media.single and rows != 1:
            raise pgrst_error(406, "PGRST116", "Cannot coerce the result to a single JSON object",
                         f"The result contains {rows} rows")
        status, content_range = _content_range(read.range.lower, rows, total)
        if status == 416:
            raise pgrst_error(416, "PGRST103", "Requested range not satisfiable",
                         f"An offset of {read.range.lower} was requested, but there are only"
                         f" {total} rows.")
        out = {"Content-Range": content_range, "Content-Type": media.content_type}
        if not function:
            out["Content-Location"] = f"/{table}" + (f"?{read.canonical}" if read.canonical
                                                     else "")
        if negotiated:
            out["Content-Profile"] = schema
        if (applied := preferences.applied(call=function)) is not None:
            out["Preference-Applied"] = applied
        out = rpc.add_headers_if_not_included(out, rpc.response_headers(guc_headers))
        if guc_status:
            status = int(guc_status)
        if request.method == "HEAD":
            return Response(None, status, out)
        text = (body_bytes or b"").decode()
        if media.csv:
            return Response(text, status, out)
        body = json.loads(text)
        if media.strip_nulls:
            body = strip_nulls(body)
        return json_response(status, body, out)
