"""No project function builds SQL at run time: every query is static, so plpgsql prepares it
once per connection (an `EXECUTE` is planned on every call) and the SQL is there to read."""

from __future__ import annotations

from typing import Any

import psycopg


def test_no_project_function_executes_dynamic_sql(admin: psycopg.Connection[Any]) -> None:
    rows = admin.execute(
        "select format('%I.%I', n.nspname, p.proname) from pg_proc p"
        " join pg_namespace n on n.oid = p.pronamespace"
        " where n.nspname in ('core', 'pullups', 'pullups_private', 'workouts',"
        " 'workouts_private', 'flashcards', 'flashcards_private', 'recipes',"
        " 'recipes_private') and p.prosrc ~* '\\mexecute\\M\\s' order by 1").fetchall()
    assert [r[0] for r in rows] == []
