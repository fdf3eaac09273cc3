"""The keys PostgREST v16.1's schema cache knows of one exposed schema's relations
(`SchemaCache.hs`: `allM2OandO2ORels`, `allViewsKeyDependencies`, `addViewM2OAndO2ORels`,
`addViewPrimaryKeys`): the foreign keys between its tables, and those a view carries over
from the tables under it.

A view's column carries a table's column when the view's query selects it as it is: the
`resorigtbl`/`resorigcol` Postgres records for each entry of the query's target list (in the
view's `_RETURN` rule), followed through the views under it that are in the exposed schema
or on the extra search path (`public`, `extensions`). A view carries a primary or foreign key
when it has every column of it; a column it has twice gives a relationship for each, and
its primary key takes the first.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

# Primary and foreign keys of every schema (a view may be over a table of another), each
# column by its number and name in key order; a foreign key's referenced side likewise,
# and whether its referencing columns are unique (one-to-one)
CONSTRAINTS_QUERY = """
select k.conname, k.contype, t.oid, tn.nspname, t.relname,
       array(select a.attnum from unnest(k.conkey) with ordinality c(n, i)
               join pg_attribute a on a.attrelid = k.conrelid and a.attnum = c.n order by c.i),
       array(select a.attname from unnest(k.conkey) with ordinality c(n, i)
               join pg_attribute a on a.attrelid = k.conrelid and a.attnum = c.n order by c.i),
       f.oid, fn.nspname, f.relname,
       array(select a.attnum from unnest(k.confkey) with ordinality c(n, i)
               join pg_attribute a on a.attrelid = k.confrelid and a.attnum = c.n order by c.i),
       array(select a.attname from unnest(k.confkey) with ordinality c(n, i)
               join pg_attribute a on a.attrelid = k.confrelid and a.attnum = c.n order by c.i),
       exists (select from pg_index i
                where i.indrelid = k.conrelid and i.indisunique and i.indpred is null
                  and i.indkey::int2[] @> k.conkey and k.conkey @> i.indkey::int2[])
  from pg_constraint k
  join pg_class t on t.oid = k.conrelid join pg_namespace tn on tn.oid = t.relnamespace
  left join pg_class f on f.oid = k.confrelid
  left join pg_namespace fn on fn.oid = f.relnamespace
 where k.contype in ('p', 'f')
"""
# The views of the exposed schema and of the extra search path: the text of each one's
# query and its columns' names by number
VIEWS_QUERY = """
select c.oid, n.nspname, c.relname, r.ev_action::text,
       array(select a.attname from pg_attribute a
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
              order by a.attnum),
       array(select a.attnum from pg_attribute a
              where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
              order by a.attnum)
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  join pg_rewrite r on r.ev_class = c.oid and r.rulename = '_RETURN'
 where c.relkind in ('v', 'm') and n.nspname = any (%s)
"""
EXTRA_SEARCH_PATH = ("public", "extensions")


@dataclass(frozen=True)
class Key:
    """A primary (`p`) or foreign (`f`) key; a foreign key's `foreign` side is set."""

    name: str
    kind: str
    table: tuple[int, str, str]  # oid, schema, name
    numbers: tuple[int, ...]
    columns: tuple[str, ...]
    foreign: tuple[int, str, str] | None
    foreign_numbers: tuple[int, ...]
    foreign_columns: tuple[str, ...]
    unique: bool

    @classmethod
    def of(cls, row: Sequence[Any]) -> Key:
        (name, kind, oid, schema, table, numbers, columns, f_oid, f_schema, f_table,
         f_numbers, f_columns, unique) = row
        return cls(str(name), str(kind), (int(oid), str(schema), str(table)),
                   tuple(numbers), tuple(columns),
                   (int(f_oid), str(f_schema), str(f_table)) if f_oid is not None else None,
                   tuple(f_numbers or ()), tuple(f_columns or ()), bool(unique))


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key between two relations of the schema, each a table or a view carrying
    the key: many-to-one, or one-to-one when its referencing columns are unique."""

    constraint: str
    table: str
    foreign: str
    columns: tuple[tuple[str, str], ...]
    one_to_one: bool
    table_is_view: bool = False
    foreign_is_view: bool = False


_ENTRY_FIELDS = frozenset({"resno", "resorigtbl", "resorigcol", "resjunk"})
# what the scan stops at: an escaped character, a bracket, a field's name and its value
_TOKEN = re.compile(r"\\.|[(){}]|:([A-Za-z_]+)\s+((?:\\.|[^\s(){}\\])*)")


def target_entries(tree: str) -> list[tuple[int, int, int]]:
    """(resno, resorigtbl, resorigcol) of each entry of the first query's target list, in
    the `pg_node_tree` text of a view's rule (fields at the query's own level; names in it
    escape their delimiters with a backslash); junk entries left out."""
    out: list[tuple[int, int, int]] = []
    depth = 0
    listing = False
    entry: dict[str, str] = {}
    for token in _TOKEN.finditer(tree):
        char = token.group(0)[0]
        if char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
            if listing and depth == 3 and char == "}":
                if entry.get("resjunk") != "true":
                    out.append((int(entry.get("resno", 0)), int(entry.get("resorigtbl", 0)),
                                int(entry.get("resorigcol", 0))))
                entry = {}
            elif listing and depth < 3:
                break
        elif char == ":":
            name = token.group(1)
            if depth == 2 and listing:
                break  # the list was empty (`<>`): the query's next field
            if depth == 2 and name == "targetList":
                listing = True
            elif listing and depth == 4 and name in _ENTRY_FIELDS:
                entry[name] = token.group(2)
    return out


def _view_origins(views: Sequence[Sequence[Any]], schema: str
                  ) -> dict[str, dict[tuple[int, int], list[str]]]:
    """Per view of `schema`, the table columns (oid, number) it carries and, for each, its
    columns that carry it (in their order)."""
    trees = {int(oid): str(tree) for oid, _, _, tree, _, _ in views}
    parsed: dict[int, dict[int, tuple[int, int]]] = {}

    def entries(oid: int) -> dict[int, tuple[int, int]]:
        """A view's columns' origins, read once and only when asked for: the extra search
        path may hold large views no exposed view is over."""
        if oid not in parsed:
            parsed[oid] = {resno: (table, column)
                           for resno, table, column in target_entries(trees[oid])}
        return parsed[oid]

    out: dict[str, dict[tuple[int, int], list[str]]] = {}
    for oid, view_schema, name, _, names, numbers in views:
        if view_schema != schema:
            continue
        carried: dict[tuple[int, int], list[str]] = {}
        for column, number in zip(names, numbers, strict=True):
            origin = entries(int(oid)).get(number)
            seen = {int(oid)}
            while origin is not None and origin[0] in trees and origin[0] not in seen:
                seen.add(origin[0])  # a view under it: its own column's origin
                origin = entries(origin[0]).get(origin[1])
            if origin is not None and origin[0]:
                carried.setdefault(origin, []).append(str(column))
        out[str(name)] = carried
    return out


def _carriers(key_table: int, numbers: Sequence[int],
              origins: dict[str, dict[tuple[int, int], list[str]]]
              ) -> list[tuple[str, tuple[str, ...]]]:
    """Each view that has every column of a key, with each way to pick its columns."""
    found = []
    for view, carried in origins.items():
        choices = [carried.get((key_table, number)) for number in numbers]
        if numbers and all(choices):
            found += [(view, picked) for picked in itertools.product(*(c or [] for c in choices))]
    return found


async def read_schema_keys(conn: psycopg.AsyncConnection[Any], schema: str
                           ) -> tuple[list[ForeignKey], dict[str, list[str]]]:
    """`schema_keys` of the database `conn` is on: its keys, and its views and those of the
    extra search path."""
    constraints = await (await conn.execute(CONSTRAINTS_QUERY)).fetchall()
    views = await (await conn.execute(VIEWS_QUERY, ([schema, *EXTRA_SEARCH_PATH],))).fetchall()
    return schema_keys(schema, constraints, views)


def schema_keys(schema: str, constraints: Sequence[Sequence[Any]],
                views: Sequence[Sequence[Any]]
                ) -> tuple[list[ForeignKey], dict[str, list[str]]]:
    """The schema's foreign keys (between its tables, and those its views carry:
    `addViewM2OAndO2ORels`) and its relations' primary keys (its tables' own, in key order,
    and those its views carry: `addViewPrimaryKeys`)."""
    keys = [Key.of(row) for row in constraints]
    origins = _view_origins(views, schema)
    foreign_keys: list[ForeignKey] = []
    for key in (k for k in keys if k.kind == "f" and k.foreign is not None):
        assert key.foreign is not None
        _, table_schema, table = key.table
        _, foreign_schema, foreign = key.foreign
        if table_schema == schema and foreign_schema == schema:
            foreign_keys.append(ForeignKey(key.name, table, foreign,
                                           tuple(zip(key.columns, key.foreign_columns,
                                                     strict=True)), key.unique))
        referencing = _carriers(key.table[0], key.numbers, origins)
        referenced = _carriers(key.foreign[0], key.foreign_numbers, origins)
        if foreign_schema == schema:
            foreign_keys += [ForeignKey(key.name, view, foreign,
                                        tuple(zip(picked, key.foreign_columns, strict=True)),
                                        key.unique, table_is_view=True)
                             for view, picked in referencing]
        if table_schema == schema:
            foreign_keys += [ForeignKey(key.name, table, view,
                                        tuple(zip(key.columns, picked, strict=True)),
                                        key.unique, foreign_is_view=True)
                             for view, picked in referenced]
        foreign_keys += [ForeignKey(key.name, view, other, tuple(zip(mine, theirs, strict=True)),
                                    key.unique, True, True)
                         for view, mine in referencing for other, theirs in referenced]
    primary_keys: dict[str, list[str]] = {}
    for key in (k for k in keys if k.kind == "p"):
        if key.table[1] == schema:
            primary_keys[key.table[2]] = list(key.columns)
        for view, carried in origins.items():
            choices = [carried.get((key.table[0], number)) for number in key.numbers]
            if key.numbers and all(choices):
                primary_keys.setdefault(view, []).extend(c[0] for c in choices if c)
    return foreign_keys, primary_keys
