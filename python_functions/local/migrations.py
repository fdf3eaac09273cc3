"""Apply the Supabase stand-in, the migrations and the seed to a database.

Migrations are recorded in `supabase_migrations.schema_migrations`, and the seed in
`supabase_migrations.seed_files`, the tables the Supabase CLI keeps, so `supabase db push`
(`--include-seed`)/`migration list` and this runner agree on what is applied.
Each file runs in its own transaction; a failing file stops the run with its name, line and
the Postgres error.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from python_functions import PROJECT_ROOT
from python_functions.local import config

MIGRATIONS_DIR = PROJECT_ROOT / "supabase" / "migrations"
SEED_FILE = PROJECT_ROOT / "supabase" / "seed.sql"
STANDIN_FILE = PROJECT_ROOT / "sql" / "supabase_standin.sql"
_LOCK_KEY = 7_430_221  # advisory lock id: two runners never interleave
_VERSION = re.compile(r"^(\d+)_(.+)\.sql$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _VERSION.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named <version>_<name>.sql")
        found.append(Migration(match.group(1), match.group(2), path))
    return found


def _line_of(text: str, position: int | None) -> int | None:
    if not position:
        return None
    return text.count("\n", 0, position - 1) + 1


def _run_file(conn: psycopg.Connection, path: Path) -> None:
    text = path.read_text()
    try:
        conn.execute(text.encode())
    except psycopg.Error as exc:
        diag = exc.diag
        line = _line_of(text, int(diag.statement_position) if diag.statement_position else None)
        where = f"{path.name}:{line}" if line else path.name
        context = f" ({diag.context.strip()})" if diag.context else ""
        raise MigrationError(
            f"{where}: {diag.sqlstate or ''} {diag.message_primary or exc}{context}"
        ) from exc


def standin_needed(conn: psycopg.Connection) -> bool:
    """True where this database lacks what the stand-in creates (`auth.users`, or its
    newest objects: the tables `auth.refresh_tokens`, `auth.mfa_amr_claims` and
    `auth.flow_state`, the event
    trigger `pgrst_ddl_watch`,
    the extension `pg_stat_statements` where the server has it, `postgres`'s membership of
    `supabase_auth_admin`): a plain Postgres, or one prepared by an older stand-in.
    Supabase has them all."""
    row = conn.execute("select to_regclass('auth.users') is null"
                       " or to_regclass('auth.refresh_tokens') is null"
                       " or to_regclass('auth.mfa_amr_claims') is null"
                       " or to_regclass('auth.flow_state') is null"
                       " or not exists (select from pg_event_trigger"
                       "                 where evtname = 'pgrst_ddl_watch')"
                       " or (not exists (select from pg_extension"
                       "                  where extname = 'pg_stat_statements')"
                       "     and exists (select from pg_available_extensions"
                       "                  where name = 'pg_stat_statements'))"
                       " or not exists (select from pg_auth_members m"
                       "                join pg_roles r on r.oid = m.roleid"
                       "                join pg_roles p on p.oid = m.member"
                       "                where r.rolname = 'supabase_auth_admin'"
                       "                  and p.rolname = 'postgres')").fetchone()
    return bool(row and row[0])


def _is_superuser(conn: psycopg.Connection) -> bool:
    row = conn.execute("select rolsuper from pg_roles where rolname = current_user").fetchone()
    return bool(row and row[0])


def apply_standin(conn: psycopg.Connection) -> None:
    with conn.transaction():
        _run_file(conn, STANDIN_FILE)


def _ensure_history_table(conn: psycopg.Connection) -> None:
    conn.execute("create schema if not exists supabase_migrations")
    conn.execute(
        "create table if not exists supabase_migrations.schema_migrations"
        " (version text not null primary key)"
    )
    for column in ("statements text[]", "name text", "created_by text", "idempotency_key text"):
        conn.execute(
            sql.SQL("alter table supabase_migrations.schema_migrations add column if not exists ")
            + sql.SQL(column)  # fixed literals above, never input
        )


def applied_versions(conn: psycopg.Connection) -> set[str]:
    return set(_applied(conn))


def _applied(conn: psycopg.Connection) -> dict[str, str | None]:
    """Applied version -> the text recorded for it (None where a tool recorded none)."""
    exists = conn.execute(
        "select to_regclass('supabase_migrations.schema_migrations') is not null"
    ).fetchone()
    if not (exists and exists[0]):
        return {}
    rows = conn.execute(
        "select version, array_to_string(statements, '') from"
        " supabase_migrations.schema_migrations"
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def _normalised(text: str) -> str:
    """A migration's text as both recorders keep it: the Supabase CLI stores it split into
    statements without their final `;`, this runner whole."""
    return "".join(text.split()).replace(";", "")


def apply_migrations(conn: psycopg.Connection, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations in filename order; returns the versions applied now."""
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        _ensure_history_table(conn)
    for migration in discover(directory):
        with conn.transaction():
            conn.execute("select pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            applied = _applied(conn)
            if migration.version in applied:
                recorded = applied[migration.version]
                if recorded and _normalised(recorded) != _normalised(migration.path.read_text()):
                    raise MigrationError(
                        f"{migration.path.name} changed after it was applied to this database;"
                        " `make reset` re-creates the local database from the migrations"
                    )
                continue
            _run_file(conn, migration.path)
            conn.execute(
                "insert into supabase_migrations.schema_migrations"
                " (version, name, statements, created_by) values (%s, %s, %s, %s)",
                (migration.version, migration.name, [migration.path.read_text()],
                 "python_functions"),
            )
            applied_now.append(migration.version)
    return applied_now


def _seed_record(path: Path, project: Path = PROJECT_ROOT) -> str:
    """The name a seed file is recorded under: its path from the project's root (a file
    outside it: its absolute path), as the Supabase CLI (2.117) records `supabase/seed.sql`."""
    return path.relative_to(project).as_posix() if path.is_relative_to(project) \
        else path.as_posix()


def apply_seed(conn: psycopg.Connection, path: Path = SEED_FILE,
               project: Path = PROJECT_ROOT) -> None:
    """One seed file, recorded with its sha256 in the same transaction in the table where
    `supabase db push --include-seed` records it (`supabase_migrations.seed_files`), so
    that neither seeds again a database the other has seeded."""
    with conn.transaction():
        _run_file(conn, path)
        conn.execute("create schema if not exists supabase_migrations")
        conn.execute("create table if not exists supabase_migrations.seed_files"
                     " (path text not null primary key, hash text not null)")
        conn.execute("insert into supabase_migrations.seed_files (path, hash) values (%s, %s)"
                     " on conflict (path) do update set hash = excluded.hash",
                     (_seed_record(path, project),
                      hashlib.sha256(path.read_bytes()).hexdigest()))


def seeded(conn: psycopg.Connection, path: Path = SEED_FILE,
           project: Path = PROJECT_ROOT) -> bool:
    """Whether a seed file is recorded as applied, by this runner or by the Supabase CLI."""
    row = conn.execute(
        "select to_regclass('supabase_migrations.seed_files') is not null").fetchone()
    if not (row and row[0]):
        return False
    return conn.execute("select from supabase_migrations.seed_files where path = %s",
                        (_seed_record(path, project),)).fetchone() is not None


def apply_pending_seeds(conn: psycopg.Connection, project: Path = PROJECT_ROOT) -> list[str]:
    """The seed files of `[db.seed]` (config.seed_files) not recorded as applied, in their
    order, each in a transaction of its own; the names they are recorded under. As the CLI,
    a file recorded already is not loaded again, even when it has changed since."""
    files, _unmatched = config.seed_files(project)
    loaded = []
    for path in files:
        if not seeded(conn, path, project):
            apply_seed(conn, path, project)
            loaded.append(_seed_record(path, project))
    return loaded


def seed_once(dsn: str, project: Path = PROJECT_ROOT) -> list[str]:
    """`apply_pending_seeds` on a connection of its own."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        return apply_pending_seeds(conn, project)


def prepare_database(dsn: str, *, seed: bool, bootstrap_dsn: str | None = None) -> list[str]:
    """The stand-in (plain Postgres only), pending migrations, optionally the seed.

    As on Supabase, the platform comes first from a superuser (`bootstrap_dsn`, or `dsn`
    itself where that is a superuser), then migrations and seed run as `dsn`'s role (which
    the stand-in creates).
    """
    if bootstrap_dsn is not None:
        with psycopg.connect(bootstrap_dsn, autocommit=True) as admin:
            if standin_needed(admin):
                apply_standin(admin)
    with psycopg.connect(dsn, autocommit=True) as conn:
        if standin_needed(conn):
            if not _is_superuser(conn):
                raise MigrationError(
                    "this database lacks platform objects (auth.users, auth.refresh_tokens or"
                    " the pgrst_ddl_watch event trigger): it is neither Supabase nor prepared"
                    " by the current stand-in, and this role may not create them: apply"
                    " sql/supabase_standin.sql as a superuser first"
                )
            apply_standin(conn)
        applied = apply_migrations(conn)
        if seed:
            apply_pending_seeds(conn)
        return applied
