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


def test_api_roles_exist_with_supabase_attributes(admin: psycopg.Connection[Any]) -> None:
    rows = {name: flags for name, *flags in admin.execute(
        "select rolname, rolcanlogin, rolbypassrls, rolinherit from pg_roles"
        " where rolname in ('anon', 'authenticated', 'service_role', 'authenticator')"
    ).fetchall()}
    assert rows["service_role"][1] is True
    assert rows["authenticator"][0] is True
    assert rows["anon"][0] is False and rows["authenticated"][0] is False
    members = admin.execute(
        "select array_agg(r.rolname order by r.rolname) from pg_auth_members m"
        " join pg_roles r on r.oid = m.roleid join pg_roles u on u.oid = m.member"
        " where u.rolname = 'authenticator'"
    ).fetchone()
    assert members == (["anon", "authenticated", "service_role"],)


def test_standin_is_idempotent(bootstrap_url: str) -> None:
    from python_functions import migrate

    with psycopg.connect(bootstrap_url, autocommit=True) as conn:
        migrate.apply_standin(conn)
        migrate.apply_standin(conn)
