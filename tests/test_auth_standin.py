"""The auth stand-in reads the JWT claims exactly as Supabase's auth functions do."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from tests.conftest import User


def _in_request(admin: psycopg.Connection[Any], settings: dict[str, str], query: str) -> Any:
    with admin.transaction():
        for key, value in settings.items():
            admin.execute("select set_config(%s, %s, true)", (key, value))
        row = admin.execute(query).fetchone()
        assert row is not None
        return row[0] if len(row) == 1 else row


def test_uid_role_email_and_jwt_read_request_jwt_claims(
    admin: psycopg.Connection[Any], alice: User
) -> None:
    claims = alice.claims
    result = _in_request(
        admin,
        {"role": "authenticated", "request.jwt.claims": json.dumps(claims)},
        "select auth.uid()::text, auth.role(), auth.email(), auth.jwt(), current_user",
    )
    assert result == (alice.id, "authenticated", alice.email, claims, "authenticated")


def test_legacy_per_claim_settings_take_precedence(admin: psycopg.Connection[Any]) -> None:
    result = _in_request(
        admin,
        {"request.jwt.claim.sub": "00000000-0000-4000-8000-000000000001",
         "request.jwt.claim.role": "service_role",
         "request.jwt.claims": json.dumps({"sub": "00000000-0000-4000-8000-000000000002"})},
        "select auth.uid()::text, auth.role()",
    )
    assert result == ("00000000-0000-4000-8000-000000000001", "service_role")


def test_no_claims_means_no_user(admin: psycopg.Connection[Any]) -> None:
    assert _in_request(admin, {"role": "anon"}, "select auth.uid() is null and auth.jwt() is null")


def test_roles_have_supabase_attributes_memberships_and_settings(
    admin: psycopg.Connection[Any]
) -> None:
    flags = {name: tuple(rest) for name, *rest in admin.execute(
        "select rolname, rolsuper, rolinherit, rolcanlogin, rolbypassrls, rolcreaterole,"
        " rolcreatedb from pg_roles where rolname in"
        " ('anon', 'authenticated', 'service_role', 'authenticator', 'postgres')"
    ).fetchall()}
    #                     super  inherit login  bypassrls createrole createdb
    assert flags["anon"] == (False, True, False, False, False, False)
    assert flags["authenticated"] == (False, True, False, False, False, False)
    assert flags["service_role"] == (False, True, False, True, False, False)
    assert flags["authenticator"] == (False, False, True, False, False, False)
    assert flags["postgres"] == (False, True, True, True, True, True)
    assert admin.execute("select current_user").fetchone() == ("postgres",)

    def members_of(role: str) -> list[str]:
        row = admin.execute(
            "select array_agg(r.rolname::text order by r.rolname) from pg_auth_members m"
            " join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member"
            " where u.rolname = %s and r.rolname in ('anon', 'authenticated', 'service_role')",
            (role,)).fetchone()
        assert row is not None
        return list(row[0] or [])

    assert members_of("authenticator") == ["anon", "authenticated", "service_role"]
    assert members_of("postgres") == ["anon", "authenticated", "service_role"]
    timeouts = dict(admin.execute(
        "select r.rolname, c from pg_db_role_setting s join pg_roles r on r.oid = s.setrole,"
        " unnest(s.setconfig) c where c like 'statement_timeout=%'").fetchall())
    assert timeouts == {"anon": "statement_timeout=3s", "authenticated": "statement_timeout=8s",
                        "authenticator": "statement_timeout=8s"}


def test_auth_tables_belong_to_supabase_auth_with_rls_and_no_api_grants(
    admin: psycopg.Connection[Any]
) -> None:
    rows = admin.execute(
        "select c.relname, pg_get_userbyid(c.relowner), c.relrowsecurity,"
        " has_table_privilege('anon', c.oid, 'SELECT'),"
        " has_table_privilege('authenticated', c.oid, 'SELECT'),"
        " has_table_privilege('service_role', c.oid, 'SELECT')"
        " from pg_class c where c.relnamespace = 'auth'::regnamespace and c.relkind = 'r'"
        " order by 1").fetchall()
    assert rows == [(table, "supabase_auth_admin", True, False, False, False) for table in (
        "flow_state", "identities", "mfa_amr_claims", "refresh_tokens", "sessions", "users")]
    # no convenient defaults where GoTrue's schema has none
    defaults = dict(admin.execute(
        "select column_name, column_default from information_schema.columns"
        " where table_schema = 'auth' and table_name = 'users' and column_name in"
        " ('instance_id', 'aud', 'role', 'created_at', 'confirmation_token')").fetchall())
    assert defaults == dict.fromkeys(
        ("instance_id", "aud", "role", "created_at", "confirmation_token"))
    schemas = {r[0] for r in admin.execute(
        "select nspname from pg_namespace where nspname in ('graphql_public', 'extensions')"
    ).fetchall()}
    assert schemas == {"graphql_public", "extensions"}


def test_standin_is_idempotent(bootstrap_url: str) -> None:
    from python_functions.local import migrations

    with psycopg.connect(bootstrap_url, autocommit=True) as conn:
        migrations.apply_standin(conn)
        migrations.apply_standin(conn)
