"""No project function plans its SQL on every call: every query is static, so plpgsql prepares
it once per connection (an `EXECUTE` is planned on every call) and the SQL is there to read;
and no function is `language sql` (with its pinned search_path it cannot be inlined, and
Postgres 15 plans its body again at every call: core.json_count took 33 µs a call)."""

from __future__ import annotations

from typing import Any

import psycopg

PROJECT_SCHEMAS = ("core", "pullups", "pullups_private", "workouts", "workouts_private",
                   "flashcards", "flashcards_private", "recipes", "recipes_private")


def test_no_project_function_executes_dynamic_sql(admin: psycopg.Connection[Any]) -> None:
    rows = admin.execute(
        "select format('%%I.%%I', n.nspname, p.proname) from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname = any(%s) and p.prosrc ~* '\\mexecute\\M\\s' order by 1",
        (list(PROJECT_SCHEMAS),)).fetchall()
    assert [r[0] for r in rows] == []


def test_no_project_function_is_language_sql(admin: psycopg.Connection[Any]) -> None:
    rows = admin.execute(
        "select format('%%I.%%I', n.nspname, p.proname) from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace"
        " join pg_language l on l.oid = p.prolang"
        " where n.nspname = any(%s) and l.lanname = 'sql' order by 1",
        (list(PROJECT_SCHEMAS),)).fetchall()
    assert [r[0] for r in rows] == []
