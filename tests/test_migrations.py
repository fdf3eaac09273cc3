"""The migrations runner agrees with the Supabase CLI and stops cleanly on a bad file."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from python_functions.local import migrations


@pytest.fixture
def scratch_db(admin: psycopg.Connection[Any], database_url: str) -> Iterator[str]:
    name = f"scratch_{uuid.uuid4().hex[:8]}"
    admin.execute(f'create database "{name}"')
    try:
        yield database_url.rsplit("/", 1)[0] + "/" + name
    finally:
        admin.execute(f'drop database "{name}" with (force)')


def _on(url: str, database: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + database.rsplit("/", 1)[1]


def test_applying_twice_is_a_noop(database_url: str) -> None:
    assert migrations.prepare_database(database_url, seed=False) == []


def test_versions_are_recorded_as_the_supabase_cli_records_them(
    admin: psycopg.Connection[Any]
) -> None:
    rows = admin.execute(
        "select version, name, array_length(statements, 1) from"
        " supabase_migrations.schema_migrations order by version"
    ).fetchall()
    expected = [(m.version, m.name, 1) for m in migrations.discover()]
    assert rows == expected
    columns = {r[0] for r in admin.execute(
        "select column_name from information_schema.columns"
        " where table_schema = 'supabase_migrations' and table_name = 'schema_migrations'"
    ).fetchall()}
    assert {"version", "statements", "name"} <= columns


def test_failing_migration_names_file_and_line_and_keeps_earlier_ones(
    scratch_db: str, tmp_path: Path
) -> None:
    (tmp_path / "20260101000000_good.sql").write_text("create table good (id int);\n")
    (tmp_path / "20260101000001_bad.sql").write_text(
        "create table fine (id int);\n\nselect * from missing_table;\n")
    (tmp_path / "20260101000002_later.sql").write_text("create table later (id int);\n")
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        with pytest.raises(migrations.MigrationError) as raised:
            migrations.apply_migrations(conn, tmp_path)
        message = str(raised.value)
        assert "20260101000001_bad.sql:3" in message
        assert "42P01" in message and "missing_table" in message
        assert migrations.applied_versions(conn) == {"20260101000000"}
        tables = {r[0] for r in conn.execute(
            "select tablename from pg_tables where schemaname = 'public'").fetchall()}
        assert tables == {"good"}  # the bad file's first statement was rolled back too


def test_the_whole_project_applies_to_an_empty_database(scratch_db: str,
                                                        bootstrap_url: str) -> None:
    applied = migrations.prepare_database(scratch_db, seed=True,
                                       bootstrap_dsn=_on(bootstrap_url, scratch_db))
    assert applied == [m.version for m in migrations.discover()]
    with psycopg.connect(scratch_db) as conn:
        emails = {r[0] for r in conn.execute("select email from auth.users").fetchall()}
    assert {"alice@example.com", "bob@example.com", "new@example.com"} <= emails


def test_badly_named_migration_is_refused(tmp_path: Path) -> None:
    (tmp_path / "core.sql").write_text("select 1;")
    with pytest.raises(migrations.MigrationError, match=r"<version>_<name>\.sql"):
        migrations.discover(tmp_path)


def test_the_seed_runs_once_and_is_recorded_as_the_supabase_cli_records_it(
        scratch_db: str, bootstrap_url: str) -> None:
    """`make run` seeds the embedded database until the seed is recorded, in the CLI's
    `seed_files` (path and sha256): then never again, even where demo rows were deleted."""
    migrations.prepare_database(scratch_db, seed=False,
                                bootstrap_dsn=_on(bootstrap_url, scratch_db))
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        assert not migrations.seeded(conn)
        assert migrations.seed_once(scratch_db) == ["supabase/seed.sql"]
        assert migrations.seeded(conn)
        recorded = conn.execute("select path, hash from supabase_migrations.seed_files")
        assert recorded.fetchall() == [
            ("supabase/seed.sql", hashlib.sha256(migrations.SEED_FILE.read_bytes()).hexdigest())]
        conn.execute("delete from auth.users where email = 'new@example.com'")
        assert migrations.seed_once(scratch_db) == []
        assert conn.execute("select from auth.users where email = 'new@example.com'"
                            ).fetchone() is None
