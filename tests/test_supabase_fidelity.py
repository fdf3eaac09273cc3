"""Judged by Supabase's own tools: the CLI applies, lists, lints and advises on the project;
pgTAP proves the catalog rules; the config exposes what the migrations create; the seed is
what GoTrue needs.

The CLI is the pinned npm package in tools/ (`scripts/setup.sh` installs it); it needs no
Docker for `db push`, `migration list`, `db lint` and `db advisors` with `--db-url`.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from python_functions import PROJECT_ROOT
from python_functions.local import config, migrations, stack
from python_functions.local.config import exposed_schemas

SUPABASE_CLI = PROJECT_ROOT / "tools" / "node_modules" / ".bin" / "supabase"
CATALOG_TESTS = sorted((PROJECT_ROOT / "supabase" / "tests" / "database").glob("*.sql"))
DEMO_PASSWORD = "demo-password"


def _with_database(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database


def _cli_url(url: str) -> str:
    # the CLI insists on TLS unless told; the local clusters listen on loopback without it
    return url + ("&" if "?" in url else "?") + "sslmode=disable"


def supabase(*args: str) -> subprocess.CompletedProcess[str]:
    assert SUPABASE_CLI.exists(), "the Supabase CLI is missing: scripts/setup.sh installs it"
    return subprocess.run([str(SUPABASE_CLI), *args, "--workdir", str(PROJECT_ROOT)],
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def bare_supabase_db(database_url: str, bootstrap_url: str) -> Iterator[str]:
    """A new database in the test cluster with only the platform (the stand-in) in it, as a
    fresh Supabase project has: the URL connects as `postgres`."""
    name = f"fresh_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(bootstrap_url, autocommit=True) as superuser:
        superuser.execute(f'create database "{name}" owner postgres')
        try:
            with psycopg.connect(_with_database(bootstrap_url, name), autocommit=True) as conn:
                migrations.apply_standin(conn)
            yield _with_database(database_url, name)
        finally:
            superuser.execute(f'drop database "{name}" with (force)')


def _listed_versions(output: str) -> list[tuple[str, str]]:
    """(local, remote) of each row of `supabase migration list`."""
    rows = re.findall(r"^\s*`?(\d*)`?\s*\|\s*`?(\d*)`?\s*\|", output, re.MULTILINE)
    return [(local, remote) for local, remote in rows if local or remote]


# -----------------------------------------------------------------------------
# The Supabase CLI
# -----------------------------------------------------------------------------

def test_cli_push_applies_everything_and_agrees_with_the_runner(bare_supabase_db: str) -> None:
    pushed = supabase("db", "push", "--db-url", _cli_url(bare_supabase_db), "--include-seed",
                      "--yes")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    versions = [m.version for m in migrations.discover()]
    listed = supabase("migration", "list", "--db-url", _cli_url(bare_supabase_db))
    assert listed.returncode == 0, listed.stderr
    assert _listed_versions(listed.stdout) == [(v, v) for v in versions]
    # the project's runner sees the CLI's history as its own: nothing pending, nothing changed
    assert migrations.prepare_database(bare_supabase_db, seed=False) == []
    with psycopg.connect(bare_supabase_db) as conn:
        emails = {r[0] for r in conn.execute("select email from auth.users").fetchall()}
        assert {"alice@example.com", "bob@example.com", "new@example.com"} == emails
        assert migrations.seeded(conn)  # and its seed record too
    assert not migrations.seed_once(bare_supabase_db)


def test_cli_push_does_not_seed_again_what_the_runner_seeded(bare_supabase_db: str) -> None:
    migrations.prepare_database(bare_supabase_db, seed=False)
    assert migrations.seed_once(bare_supabase_db)
    with psycopg.connect(bare_supabase_db, autocommit=True) as conn:
        conn.execute("delete from auth.users where email = 'new@example.com'")
    pushed = supabase("db", "push", "--db-url", _cli_url(bare_supabase_db), "--include-seed",
                      "--yes")
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    with psycopg.connect(bare_supabase_db) as conn:
        assert conn.execute("select from auth.users where email = 'new@example.com'"
                            ).fetchone() is None  # the seed did not run again


SEED_PATTERNS = ["./seed.sql", "./seeds/*.sql", "./missing/*.sql", "./seed.sql"]
SEEDS = {".c.sql": "create table public.seed_log (n serial primary key, name text);"
                   " insert into public.seed_log (name) values ('c');",
         "a.sql": "insert into public.seed_log (name) values ('a');",
         "b.sql": "insert into public.seed_log (name) values ('b');"}
LOADED = ["supabase/seed.sql", "supabase/seeds/.c.sql", "supabase/seeds/a.sql",
          "supabase/seeds/b.sql"]


@pytest.fixture(params=["list", "string"])
def seeded_project(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """A copy of the project whose `[db.seed] sql_paths` names more files: a pattern (with a
    file whose name starts with a dot), one that matches nothing, and seed.sql twice; as a
    list, or as one string of them joined by commas, which the CLI splits at the commas."""
    written = json.dumps(SEED_PATTERNS if request.param == "list" else ",".join(SEED_PATTERNS))
    (tmp_path / "supabase").mkdir()
    shutil.copytree(PROJECT_ROOT / "supabase" / "migrations", tmp_path / "supabase" / "migrations")
    shutil.copy(PROJECT_ROOT / "supabase" / "seed.sql", tmp_path / "supabase" / "seed.sql")
    config = (PROJECT_ROOT / "supabase" / "config.toml").read_text()
    assert 'sql_paths = ["./seed.sql"]' in config
    (tmp_path / "supabase" / "config.toml").write_text(config.replace(
        'sql_paths = ["./seed.sql"]', f"sql_paths = {written}"))
    (tmp_path / "supabase" / "seeds").mkdir()
    for name, text in SEEDS.items():
        (tmp_path / "supabase" / "seeds" / name).write_text(text)
    return tmp_path


def _push_seeds(workdir: Path, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SUPABASE_CLI), "db", "push", "--db-url", _cli_url(url),
                           "--include-seed", "--yes", "--workdir", str(workdir)],
                          capture_output=True, text=True, timeout=120, check=False)


def _seed_state(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    with psycopg.connect(url) as conn:
        log = [r[0] for r in conn.execute("select name from public.seed_log order by n")]
        records = conn.execute("select path, hash from supabase_migrations.seed_files"
                               " order by path").fetchall()
    return log, records


def test_the_runner_loads_the_seed_files_of_the_config_as_the_cli_does(
        bare_supabase_db: str, seeded_project: Path) -> None:
    """`make run`'s seeding and `supabase db push --include-seed` take the same files from
    `[db.seed]`, in the same order, and each sees the other's records: neither loads a file
    twice. The CLI warns of the pattern that matches nothing, as `make run` does."""
    assert config.seed_files(seeded_project) == (
        [seeded_project / path for path in LOADED], ["./missing/*.sql"])
    assert stack.seed_warnings(seeded_project) == [  # what `make run` prints
        "warning: no seed file matches './missing/*.sql' ([db.seed] sql_paths of"
        " supabase/config.toml)"]
    assert stack.seed_warnings() == []
    migrations.prepare_database(bare_supabase_db, seed=False)
    assert migrations.seed_once(bare_supabase_db, seeded_project) == LOADED
    by_runner = _seed_state(bare_supabase_db)
    assert by_runner[0] == ["c", "a", "b"]
    assert [path for path, _ in by_runner[1]] == sorted(LOADED)
    pushed = _push_seeds(seeded_project, bare_supabase_db)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert "Seeding data from" not in pushed.stdout + pushed.stderr
    assert "no files matched pattern: supabase/missing/*.sql" in pushed.stderr
    assert _seed_state(bare_supabase_db) == by_runner


def test_a_seed_file_added_later_is_loaded_by_the_next_run_alone(
        bare_supabase_db: str, seeded_project: Path) -> None:
    later = seeded_project / "supabase" / "seeds" / "b.sql"
    text = later.read_text()
    later.unlink()
    migrations.prepare_database(bare_supabase_db, seed=False)
    assert migrations.seed_once(bare_supabase_db, seeded_project) == LOADED[:-1]
    later.write_text(text)
    assert migrations.seed_once(bare_supabase_db, seeded_project) == [LOADED[-1]]
    assert _seed_state(bare_supabase_db)[0] == ["c", "a", "b"]


def test_the_cli_loads_the_same_seed_files_and_the_runner_then_loads_none(
        bare_supabase_db: str, seeded_project: Path, bootstrap_url: str) -> None:
    pushed = _push_seeds(seeded_project, bare_supabase_db)
    assert pushed.returncode == 0, pushed.stdout + pushed.stderr
    assert [line.split("Seeding data from ")[1].rstrip(".")
            for line in pushed.stderr.splitlines() if "Seeding data from" in line] == LOADED
    log, records = _seed_state(bare_supabase_db)
    assert log == ["c", "a", "b"]
    assert records == sorted(
        (path, hashlib.sha256((seeded_project / path).read_bytes()).hexdigest())
        for path in LOADED)
    assert migrations.seed_once(bare_supabase_db, seeded_project) == []


def test_cli_lists_what_the_runner_applied(database_url: str) -> None:
    listed = supabase("migration", "list", "--db-url", _cli_url(database_url))
    assert listed.returncode == 0, listed.stderr
    versions = [m.version for m in migrations.discover()]
    assert _listed_versions(listed.stdout) == [(v, v) for v in versions]


def test_cli_lint_reports_nothing_and_would_report_a_fault(bare_supabase_db: str) -> None:
    assert migrations.prepare_database(bare_supabase_db, seed=False)
    clean = supabase("db", "lint", "--db-url", _cli_url(bare_supabase_db), "--level", "warning",
                     "--fail-on", "warning")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "No schema errors found" in clean.stdout + clean.stderr
    with psycopg.connect(bare_supabase_db, autocommit=True) as conn:
        conn.execute("create function pullups_private.lint_probe(\"limit\" int) returns int"
                     " language plpgsql set search_path = '' as"
                     " $$ declare unused int; begin return 1; end $$")
    faulty = supabase("db", "lint", "--db-url", _cli_url(bare_supabase_db), "--level", "warning",
                      "--fail-on", "warning")
    assert faulty.returncode != 0
    assert "lint_probe" in faulty.stdout and "unused variable" in faulty.stdout


def test_cli_inspect_reads_the_query_statistics_as_on_supabase(database_url: str) -> None:
    """`supabase inspect db outliers`, `calls` and `db-stats` read pg_stat_statements, which
    every Supabase project has in `extensions`: so does the stand-in's database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("select count(*) from pullups.sessions")  # a statement to be counted
    for report in ("outliers", "calls", "db-stats"):
        inspected = supabase("inspect", "db", report, "--db-url", _cli_url(database_url))
        assert inspected.returncode == 0, (report, inspected.stdout + inspected.stderr)
        assert "pg_stat_statements" not in inspected.stderr, inspected.stderr
    outliers = supabase("inspect", "db", "outliers", "--db-url", _cli_url(database_url))
    assert "pullups.sessions" in outliers.stdout, outliers.stdout


def _advisor_findings(url: str, level: str) -> tuple[int, list[dict[str, Any]]]:
    """`supabase db advisors` (the dashboard's Security and Performance Advisor, splinter's
    lints) on `url`: its exit status with `--fail-on warn`, and what it found at `level` or
    above. The dashboard runs the lints knowing which schemas the API exposes
    (`pgrst.db_schemas`); the CLI reads that setting from the session, so the URL sets it to
    the config's schemas (unset, the lints would look at `public` alone)."""
    options = "options=-c%20pgrst.db_schemas%3D" + "%2C".join(exposed_schemas())
    found = supabase("db", "advisors", "--db-url", _cli_url(url) + "&" + options,
                     "--type", "all", "--level", level, "--fail-on", "warn",
                     "--output-format", "json")
    try:  # a list of findings; none: {"results": [], ...}
        answer = json.loads(found.stdout)
    except json.JSONDecodeError:
        raise AssertionError(found.stdout + found.stderr) from None
    assert isinstance(answer, list) or "results" in answer, found.stdout  # not an error
    findings: list[dict[str, Any]] = answer if isinstance(answer, list) else answer["results"]
    return found.returncode, findings


def test_cli_advisors_find_no_warning_and_would_report_faults(bare_supabase_db: str) -> None:
    assert migrations.prepare_database(bare_supabase_db, seed=False)
    status, findings = _advisor_findings(bare_supabase_db, "info")
    assert status == 0, findings
    assert [f for f in findings if f["level"] != "INFO"] == []
    # Informational only: indexes no query has used yet (a fresh database), and core's
    # private tables, whose RLS without a policy denies every client on purpose.
    expected = {("unused_index", "core"), ("unused_index", "pullups"),
                ("unused_index", "workouts"), ("unused_index", "flashcards"),
                ("unused_index", "recipes"), ("rls_enabled_no_policy", "core")}
    assert {(f["name"], f["metadata"]["schema"]) for f in findings} <= expected, findings

    with psycopg.connect(bare_supabase_db, autocommit=True) as conn:
        conn.execute("create table pullups.advisor_probe (id int)")
        conn.execute("grant select on pullups.advisor_probe to authenticated")
        conn.execute("create function pullups_private.advisor_probe() returns int"
                     " language sql as 'select 1'")
    status, findings = _advisor_findings(bare_supabase_db, "warn")
    assert status != 0
    assert {(f["name"], f["metadata"]["name"]) for f in findings} == {
        ("rls_disabled_in_public", "advisor_probe"),  # exposed: the config's schemas count
        ("function_search_path_mutable", "advisor_probe"),
    }, findings


# -----------------------------------------------------------------------------
# The catalog rules (pgTAP)
# -----------------------------------------------------------------------------

def pg_prove(url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["pg_prove", "-d", url, *map(str, CATALOG_TESTS)],
                          capture_output=True, text=True, timeout=120, check=False)


def test_pgtap_catalog_suite_passes(database_url: str) -> None:
    assert CATALOG_TESTS
    result = pg_prove(database_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Result: PASS" in result.stdout


def test_pgtap_catalog_suite_catches_a_definer_rpc_open_to_anon(bare_supabase_db: str) -> None:
    migrations.prepare_database(bare_supabase_db, seed=False)
    with psycopg.connect(bare_supabase_db, autocommit=True) as conn:
        conn.execute("create function pullups.leaky() returns int language sql security definer"
                     " set search_path = '' as 'select 1'")
        conn.execute("grant execute on function pullups.leaky() to anon")
    result = pg_prove(bare_supabase_db)
    assert result.returncode != 0
    assert "no security definer function in an exposed schema" in result.stdout + result.stderr
    assert "nothing in an exposed schema is executable by anon" in result.stdout + result.stderr


def test_catalog_suite_names_the_exposed_schemas_of_the_config() -> None:
    text = CATALOG_TESTS[0].read_text()
    listed = re.findall(r"\('(\w+)'\)", text.split("insert into exposed values", 1)[1]
                        .split(";", 1)[0])
    assert listed == _configured_schemas()


# -----------------------------------------------------------------------------
# supabase/config.toml
# -----------------------------------------------------------------------------

def _configured_schemas() -> list[str]:
    config = tomllib.loads((PROJECT_ROOT / "supabase" / "config.toml").read_text())
    schemas: list[str] = config["api"]["schemas"]
    return schemas


def _created_app_schemas() -> list[str]:
    created = []
    for migration in migrations.discover():
        created += re.findall(r"create schema if not exists (\w+);", migration.path.read_text())
    return [s for s in created if s != "core" and not s.endswith("_private")]


def test_config_exposes_exactly_the_app_schemas_the_migrations_create(
    admin: psycopg.Connection[Any]
) -> None:
    configured = _configured_schemas()
    assert sorted(configured) == sorted(_created_app_schemas())
    present = {r[0] for r in admin.execute(
        "select nspname from pg_namespace where nspname = any(%s)", (configured,)).fetchall()}
    assert present == set(configured)  # PostgREST >= 13 would refuse a missing one


# -----------------------------------------------------------------------------
# The seed, as Supabase Auth (GoTrue) reads users
# -----------------------------------------------------------------------------

def _table_fingerprints(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, str]]:
    tables = [r[0] for r in conn.execute(
        "select format('%I.%I', schemaname, tablename) from pg_tables"
        " where schemaname in ('auth', 'pullups', 'workouts', 'core') order by 1").fetchall()]
    fingerprints = {}
    for table in tables:
        row = conn.execute(
            f"select count(*), coalesce(md5(string_agg(t::text, ',' order by t::text)), '')"
            f" from {table} t").fetchone()
        assert row is not None
        fingerprints[table] = (row[0], row[1])
    return fingerprints


def test_seed_users_are_what_supabase_auth_expects_and_reseeding_changes_nothing(
    bare_supabase_db: str,
) -> None:
    migrations.prepare_database(bare_supabase_db, seed=True)
    with psycopg.connect(bare_supabase_db, autocommit=True) as conn:
        users = conn.execute(
            "select email, instance_id::text, aud, role, created_at is not null,"
            " updated_at is not null, email_confirmed_at is not null, confirmation_token,"
            " recovery_token, email_change_token_new, email_change,"
            " encrypted_password = extensions.crypt(%s, encrypted_password),"
            " encrypted_password like '$2%%'"
            " from auth.users order by email", (DEMO_PASSWORD,)).fetchall()
        assert [u[0] for u in users] == ["alice@example.com", "bob@example.com",
                                         "new@example.com"]
        for user in users:
            assert user[1:] == ("00000000-0000-0000-0000-000000000000", "authenticated",
                                "authenticated", True, True, True, "", "", "", "", True, True)
        identities = conn.execute(
            "select i.provider, i.provider_id = u.id::text, i.email = u.email"
            " from auth.identities i join auth.users u on u.id = i.user_id").fetchall()
        assert identities == [("email", True, True)] * 3
        before = _table_fingerprints(conn)
        migrations.apply_seed(conn)
        assert _table_fingerprints(conn) == before


def test_a_changed_migration_is_refused_with_the_way_out(bare_supabase_db: str,
                                                        tmp_path: Path) -> None:
    first = migrations.discover()[0]
    (tmp_path / first.path.name).write_text(first.path.read_text())
    with psycopg.connect(bare_supabase_db, autocommit=True) as conn:
        assert migrations.apply_migrations(conn, tmp_path) == [first.version]
        (tmp_path / first.path.name).write_text(first.path.read_text() + "\nselect 1;\n")
        with pytest.raises(migrations.MigrationError, match="make reset"):
            migrations.apply_migrations(conn, tmp_path)


def test_a_database_from_an_older_standin_gets_the_event_triggers_from_the_superuser(
        bare_supabase_db: str, bootstrap_url: str) -> None:
    """A cluster prepared before the stand-in had `pgrst_ddl_watch` is upgraded by the next
    `make run` (its bootstrap superuser); `postgres` alone is told what to do."""
    superuser_url = _with_database(bootstrap_url, bare_supabase_db.rsplit("/", 1)[1])
    with psycopg.connect(superuser_url, autocommit=True) as superuser:
        superuser.execute("drop event trigger pgrst_ddl_watch")
        with pytest.raises(migrations.MigrationError, match=r"supabase_standin\.sql"):
            migrations.prepare_database(bare_supabase_db, seed=False)
        migrations.prepare_database(bare_supabase_db, seed=False, bootstrap_dsn=superuser_url)
        assert superuser.execute("select count(*) from pg_event_trigger where evtname in"
                                 " ('pgrst_ddl_watch', 'pgrst_drop_watch')").fetchone() == (2,)
        with psycopg.connect(bare_supabase_db, autocommit=True) as conn:
            conn.execute("listen pgrst")
            conn.execute("create table public.probe (id int)")  # DDL as postgres
            assert [n.payload for n in conn.notifies(timeout=5, stop_after=1)] == [
                "reload schema"]
