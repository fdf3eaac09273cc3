"""Every request to /rest/v1 runs with PostgREST's search_path (v16.1 `PreQuery`): the
request's schema, then `db-extra-search-path`, which `supabase start` takes from `[api]
extra_search_path` of supabase/config.toml, each a quoted identifier. The setting is read as
the Supabase CLI reads it, and the CLI judges what it refuses."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from python_functions import PROJECT_ROOT
from python_functions.local import config
from python_functions.local.config import ConfigError
from tests.local_api.conftest import anon_client, get_json, pgrst_error, probe_api
from tests.local_api.test_auth_config import _cli_reads

SCHEMA = "search_path_probe"
HELPERS = "search path helpers"  # a name that needs quoting


def _objects() -> str:
    return f"""begin;
create schema {SCHEMA};
create schema if not exists "{HELPERS}";
create or replace function "{HELPERS}".helper() returns text language sql as $$ select 'helped' $$;
grant usage on schema {SCHEMA}, "{HELPERS}" to anon;
grant execute on function "{HELPERS}".helper() to anon;
set local search_path = {SCHEMA};
create function whose_path() returns text language sql stable
  as $$ select current_setting('search_path') $$;
create function unqualified() returns text language plpgsql stable
  as $$ begin return helper(); end $$;
create view path_read as select current_setting('search_path') as path;
create table path_written (id int primary key,
                           path text default current_setting('search_path'));
grant execute on all functions in schema {SCHEMA} to anon;
grant select on path_read to anon;
grant select, insert on path_written to anon;
commit;"""


@pytest.fixture
def probe_with(admin: psycopg.Connection[Any], database_url: str) -> Iterator[Any]:
    """A local API over this module's schema with the extra search path given."""
    def start(extra: Sequence[str] | None) -> Any:
        return probe_api(admin, database_url, SCHEMA, _objects(), extra)
    yield start
    admin.execute(f'drop schema if exists "{HELPERS}" cascade')


def _paths(rest: httpx.Client, row_id: int) -> tuple[str, str, str]:
    """The search_path a call, a table read and a table write each ran with."""
    called = rest.post("/rpc/whose_path", json={})
    assert called.status_code == 200, called.text
    written = rest.post("/path_written", json={"id": row_id},
                        headers={"Prefer": "return=representation"})
    assert written.status_code == 201, written.text
    return called.json(), get_json(rest, "/path_read")[0]["path"], written.json()[0]["path"]


def test_a_request_runs_with_its_schema_then_the_projects_extra_search_path(
        probe_with: Any) -> None:
    assert config.extra_search_path(config.read()) == ("public", "extensions")
    with probe_with(None) as server, anon_client(server) as rest:
        expected = f'"{SCHEMA}", "public", "extensions"'
        assert _paths(rest, 1) == (expected, expected, expected)
        # a name only the extra search path would find is not found: 404 as PostgREST
        # answers 42883 (undefined_function)
        assert pgrst_error(rest.get("/rpc/unqualified"), 404, "42883")["message"] == (
            "function helper() does not exist")


def test_extra_search_path_decides_where_unqualified_names_resolve(probe_with: Any) -> None:
    with probe_with([HELPERS, "public"]) as server, anon_client(server) as rest:
        expected = f'"{SCHEMA}", "{HELPERS}", "public"'
        assert _paths(rest, 1) == (expected, expected, expected)
        assert get_json(rest, "/rpc/unqualified") == "helped"
    with probe_with([]) as server, anon_client(server) as rest:
        assert _paths(rest, 2) == (f'"{SCHEMA}"',) * 3


@pytest.mark.parametrize(("value", "cli_reads", "expected"), [
    (None, True, ("public", "extensions")),  # the CLI merges the file over its template
    ('["extensions", "public"]', True, ("extensions", "public")),
    ('"public, extensions"', True, ("public", "extensions")),  # a string: its parts
    ('[" public ", "my schema"]', True, ("public", "my schema")),  # PostgREST strips each
    ("[]", True, ()),
    ("[1]", False, None),
    ("5", False, None),
    ('[["public"]]', False, None),
])
def test_extra_search_path_is_read_as_the_cli_reads_it(
        tmp_path: Path, value: str | None, cli_reads: bool,
        expected: tuple[str, ...] | None) -> None:
    line = 'extra_search_path = ["public", "extensions"]\n'
    text = (PROJECT_ROOT / "supabase" / "config.toml").read_text()
    assert line in text
    text = text.replace(line, "" if value is None else f"extra_search_path = {value}\n")
    assert _cli_reads(text, tmp_path) is cli_reads  # it writes supabase/config.toml there
    written = tmp_path / "supabase" / "config.toml"
    if expected is None:  # `make run` stops before it starts anything, saying why
        with pytest.raises(ConfigError, match=r"api\.extra_search_path must be a list"):
            config.check(written)
    else:
        config.check(written)
        assert config.extra_search_path(config.read(written)) == expected
