"""supabase-js judges the local API's embedding and function rows on tables of PostgREST's
spec (examples/supabase-js/src/embedding.test.ts, compiled with the project's suite): the
many-to-many, self, computed and related-order cases of test_table_relationships.py, a
view's keys (test_view_relationships.py), the function rows of test_function_rows.py and a
variadic call and 404 hints of test_function_calls.py, as supabase-js sends and reads them."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from python_functions.local import NODE
from tests.conftest import SUPABASE_JS_EXAMPLE
from tests.http_fixtures import ANON_KEY, ServerThread
from tests.local_api import test_function_calls, test_function_rows, test_table_relationships
from tests.local_api.conftest import probe_api

SCHEMA = "supabase_js_embedding_probe"


@pytest.fixture
def probe(admin: psycopg.Connection[Any], database_url: str) -> Iterator[ServerThread]:
    ddl = (f"begin; create schema {SCHEMA}; {test_table_relationships.tables(SCHEMA)}"
           f" {test_function_rows.objects(SCHEMA)} {test_function_calls.objects(SCHEMA)}"
           f" create view {SCHEMA}.project_names as select id, name, client_id from projects;"
           f" grant select on {SCHEMA}.project_names to anon; commit;")
    with probe_api(admin, database_url, SCHEMA, ddl) as server:
        yield server


def test_supabase_js_embeds_and_shapes_function_rows_as_postgrest(
        compiled: None, probe: ServerThread) -> None:
    env = {**os.environ, "SUPABASE_URL": probe.url, "SUPABASE_ANON_KEY": ANON_KEY,
           "SUPABASE_SCHEMA": SCHEMA}
    ran = subprocess.run(
        [str(NODE), "--test", "--test-reporter=spec",
         "dist/examples/supabase-js/src/embedding.test.js"],
        cwd=SUPABASE_JS_EXAMPLE, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert ran.returncode == 0, ran.stdout[-6000:] + ran.stderr[-3000:]
    assert "fail 0" in ran.stdout, ran.stdout[-3000:]
