"""The Auth hooks on `make run`, with `pg-functions://` URIs, called as GoTrue v2.196 calls
them (python_functions/local/api/gotrue_hooks.py): the custom access token hook makes every
access token's claims, the password verification hook judges each password sign-in, the
before user created hook each sign-up. The Supabase CLI judges which hook settings are
readable; the hooks themselves are Postgres functions in a scratch schema, called over HTTP
and by supabase-py."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from supabase_auth.errors import AuthApiError

from python_functions import PROJECT_ROOT
from python_functions.local.config import auth_config
from tests.conftest import one
from tests.local_api.conftest import session_claims
from tests.local_api.test_auth_config import (
    PASSWORD,
    V2024,
    _email,
    _error,
    _sign_in,
    _signup,
    _supabase,
    cli_template,
    configured,
    read_alike,
)

__all__ = ["cli_template", "configured"]  # fixtures shared with test_auth_config.py

HOOK = "pg-functions://postgres/hook_test/claims"
SECRET = "v1,whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
# A hook as Supabase's guide writes one: the user's role from a table, as a claim
ROLE_HOOK = """
  insert into hook_test.events (event) values (event);
  return jsonb_set(event, '{claims,user_role}', to_jsonb(coalesce(
    (select role from hook_test.roles where user_id = (event ->> 'user_id')::uuid),
    'member')))"""


@pytest.fixture
def hook(admin: psycopg.Connection[Any]) -> Iterator[Callable[[str], None]]:
    """`hook(body)`: `hook_test.claims(event jsonb)` with that plpgsql body, callable by
    Supabase Auth's role, beside two tables it may use (`roles`, `events`) that the role
    may read and write."""
    admin.execute("drop schema if exists hook_test cascade")
    admin.execute("create schema hook_test")
    admin.execute("create table hook_test.roles (user_id uuid primary key, role text)")
    admin.execute("create table hook_test.events (id bigint generated always as identity,"
                  " event jsonb)")
    admin.execute("grant usage on schema hook_test to supabase_auth_admin")
    admin.execute("grant select, insert on hook_test.roles, hook_test.events"
                  " to supabase_auth_admin")

    def define(body: str) -> None:
        admin.execute(f"create or replace function hook_test.claims(event jsonb)"
                      f" returns jsonb language plpgsql as $$ begin {body}; end $$")
        admin.execute("revoke execute on function hook_test.claims from public")
        admin.execute("grant execute on function hook_test.claims to supabase_auth_admin")

    yield define
    admin.execute("drop schema hook_test cascade")


def _claims(session: dict[str, Any]) -> dict[str, Any]:
    return session_claims(session["access_token"])


def _sessions(admin: psycopg.Connection[Any], email: str) -> int:
    return int(one(admin, "select count(*) from auth.sessions s join auth.users u"
                          " on u.id = s.user_id where u.email = %s", email))


def _user_id(admin: psycopg.Connection[Any], email: str) -> str:
    return str(one(admin, "select id from auth.users where email = %s", email))


# -----------------------------------------------------------------------------
# Reading [auth.hook.*], as the Supabase CLI reads it
# -----------------------------------------------------------------------------

@pytest.mark.parametrize(("table", "cli_reads", "expected"), [
    (f'[auth.hook.custom_access_token]\nenabled = true\nuri = "{HOOK}"', True,
     {"custom_access_token_hook": HOOK}),
    (f'[auth.hook.custom_access_token]\nenabled = false\nuri = "{HOOK}"', True, {}),
    (f'[auth.hook.password_verification_attempt]\nenabled = true\nuri = "{HOOK}"', True,
     {"password_verification_hook": HOOK}),
    (f'[auth.hook.before_user_created]\nenabled = true\nuri = "{HOOK}"', True,
     {"before_user_created_hook": HOOK}),
    ("[auth.hook.custom_access_token]\nenabled = true", False, "uri is required"),
    (f'[auth.hook.custom_access_token]\nenabled = true\nuri = "{HOOK}"\nsecrets = "{SECRET}"',
     False, "secrets is not used"),
    ('[auth.hook.custom_access_token]\nenabled = true\nuri = "ftp://example.com/hook"',
     False, "must be an HTTP, HTTPS or pg-functions URI"),
    ('[auth.hook.custom_access_token]\nenabled = true\nuri = "https://example.com/hook"',
     False, "secrets must be"),
    # read by the CLI, and still refused here: GoTrue would not start with it
    ('[auth.hook.custom_access_token]\nenabled = true\n'
     'uri = "pg-functions://postgres/public/my-hook"', True, "each a plain Postgres name"),
    # hooks make run does not call, checked all the same: with the mail hook on, mail is
    # refused (test_auth_mail.py); SMS and MFA are not served either way
    (f'[auth.hook.send_email]\nenabled = true\nuri = "{HOOK}"', True,
     {"send_email_hook": True}),
    (f'[auth.hook.send_sms]\nenabled = true\nuri = "https://example.com/hook"\n'
     f'secrets = "{SECRET}"', True, {}),
    ('[auth.hook.mfa_verification_attempt]\nenabled = true\nuri = "ftp://example.com/h"',
     False, "must be an HTTP, HTTPS or pg-functions URI"),
    (f'[auth.hook.send_sms]\nenabled = true\nuri = "http://example.com/hook"\n'
     f'secrets = "{SECRET}"', True, "GoTrue takes http:// for a local host only"),
    ('[auth.hook.not_a_hook]\nenabled = "yes"', True, {}),  # a table the CLI does not know
])
def test_a_hook_setting_is_read_as_the_cli_reads_it_and_refused_where_make_run_cannot_call_it(
        cli_template: str, tmp_path: Path, table: str, cli_reads: bool,
        expected: dict[str, Any] | str) -> None:
    read_alike(cli_template + "\n" + table + "\n", tmp_path, cli_reads, expected)


# -----------------------------------------------------------------------------
# The hook's claims
# -----------------------------------------------------------------------------

def test_the_hook_makes_the_claims_of_every_access_token_and_sees_how_it_was_issued(
        configured: Any, hook: Callable[[str], None], admin: psycopg.Connection[Any]) -> None:
    hook(ROLE_HOOK)
    email = _email()
    with configured(custom_access_token_hook=HOOK) as (server, api):
        signed_up = _signup(api, email).json()
        assert _claims(signed_up)["user_role"] == "member"
        admin.execute("insert into hook_test.roles values (%s, 'coach')",
                      (_user_id(admin, email),))
        signed_in = _sign_in(api, email).json()
        claims = _claims(signed_in)
        assert claims["user_role"] == "coach"
        assert claims["sub"] == _user_id(admin, email)
        # the answer's lifetime is GoTrue's own, whatever the hook does with `exp`
        assert signed_in["expires_at"] == claims["exp"]
        refreshed = api.post("/auth/v1/token", params={"grant_type": "refresh_token"},
                             json={"refresh_token": signed_in["refresh_token"]}).json()
        assert _claims(refreshed)["user_role"] == "coach"
        session = _supabase(server).auth.sign_in_with_password(
            {"email": email, "password": PASSWORD}).session
        assert session is not None
        assert session_claims(session.access_token)["user_role"] == "coach"
    events = [row[0] for row in admin.execute(
        "select event from hook_test.events order by id").fetchall()]
    assert [e["authentication_method"] for e in events] == [
        "password", "password", "token_refresh", "password"]
    first = events[1]
    assert first["user_id"] == claims["sub"]
    assert first["metadata"]["name"] == "customize-access-token"
    assert first["metadata"]["ip_address"] == "127.0.0.1"
    assert {key: first["claims"][key] for key in ("sub", "email", "role", "aal", "session_id",
                                                 "is_anonymous")} == {
        "sub": claims["sub"], "email": email, "role": "authenticated", "aal": "aal1",
        "session_id": claims["session_id"], "is_anonymous": False}
    assert "user_role" not in first["claims"]  # what GoTrue would sign without the hook


def test_the_hook_runs_as_auths_role_with_its_grants_and_search_path(
        configured: Any, hook: Callable[[str], None], admin: psycopg.Connection[Any]) -> None:
    admin_email = _email()
    with configured() as (_, api):
        assert _signup(api, admin_email).status_code == 200
    hook(ROLE_HOOK)
    admin.execute("revoke select on hook_test.roles from supabase_auth_admin")
    with configured(custom_access_token_hook=HOOK) as (_, api):
        before = _sessions(admin, admin_email)
        body = _error(_sign_in(api, admin_email), 500, "unexpected_failure")
        assert body["message"] == f"Error running hook URI: {HOOK}"
        assert _sessions(admin, admin_email) == before  # nothing half-written
        admin.execute("grant select on hook_test.roles to supabase_auth_admin")
        assert _sign_in(api, admin_email).status_code == 200
        # as Auth's own connection: its role, and that role's `search_path`, so a table
        # named without its schema is looked up in `auth`
        hook("return jsonb_set(jsonb_set(event, '{claims,ran_as}', to_jsonb(current_user)),"
             " '{claims,search_path}', to_jsonb(current_setting('search_path')))")
        claims = _claims(_sign_in(api, admin_email).json())
        assert (claims["ran_as"], claims["search_path"]) == ("supabase_auth_admin", "auth")


def test_a_hook_that_refuses_answers_its_status_and_message_and_makes_no_session(
        configured: Any, hook: Callable[[str], None], admin: psycopg.Connection[Any]) -> None:
    email = _email()
    with configured() as (_, api):
        assert _signup(api, email).status_code == 200
    hook("return jsonb_build_object('error', jsonb_build_object("
         "'http_code', 403, 'message', 'Members only'))")
    with configured(custom_access_token_hook=HOOK, anonymous_sign_ins=True) as (server, api):
        before = _sessions(admin, email)
        answer = _sign_in(api, email)
        body = _error(answer, 403, "unknown")
        assert body["message"] == "Members only"
        assert "x-sb-error-code" not in answer.headers  # GoTrue made it without a code
        legacy = api.post("/auth/v1/token", params={"grant_type": "password"},
                          json={"email": email, "password": PASSWORD})
        assert (legacy.status_code, legacy.json()) == (
            403, {"code": 403, "error_code": "unknown", "msg": "Members only"})
        assert _sessions(admin, email) == before
        with pytest.raises(AuthApiError) as refused:  # as supabase-py reports it
            _supabase(server).auth.sign_in_with_password({"email": email, "password": PASSWORD})
        assert (refused.value.status, refused.value.message) == (403, "Members only")
        # a sign-up makes its user, then its session (GoTrue's two transactions)
        new = _email()
        _error(_signup(api, new), 403, "unknown")
        assert _sessions(admin, new) == 0
        assert one(admin, "select count(*) from auth.users where email = %s", new) == 1
        _error(_signup(api, new), 422, "user_already_exists")
        # an anonymous sign-in is one transaction, and GoTrue words its failure itself
        users = one(admin, "select count(*) from auth.users where is_anonymous")
        body = _error(api.post("/auth/v1/signup", json={}, headers=V2024), 500,
                      "unexpected_failure")
        assert body["message"] == "Database error creating anonymous user"
        assert one(admin, "select count(*) from auth.users where is_anonymous") == users


@pytest.mark.parametrize(("body", "message"), [
    ("return '{}'::jsonb", "output claims field is missing"),
    ("return null", "output claims do not conform to the expected schema: \n"
                    "- (root): Invalid type. Expected: object, given: null\n"),
    ("return '{\"claims\": null}'::jsonb", "output claims do not conform to the expected"
                                         " schema: \n- (root): Invalid type. Expected:"
                                         " object, given: null\n"),
    ("return '{\"claims\": \"all\"}'::jsonb", "Error unmarshaling JSON output."),
    ("return jsonb_set(event #- '{claims,aud}', '{claims,exp}', '\"soon\"')",
     "output claims do not conform to the expected schema: \n- (root): aud is required\n"
     "- exp: Invalid type. Expected: integer, given: string\n"),
])
def test_claims_the_hook_breaks_are_a_500_that_names_each_fault(
        configured: Any, hook: Callable[[str], None], admin: psycopg.Connection[Any],
        body: str, message: str) -> None:
    email = _email()
    with configured() as (_, api):
        assert _signup(api, email).status_code == 200
    hook(body)
    with configured(custom_access_token_hook=HOOK) as (_, api):
        answer = _error(_sign_in(api, email), 500, "unexpected_failure")
        assert answer["message"] == message
        assert _sessions(admin, email) == 1  # the sign-up's alone


def test_a_hook_that_raises_or_overruns_is_a_500_and_older_clients_see_the_raised_error(
        configured: Any, hook: Callable[[str], None]) -> None:
    email = _email()
    with configured() as (_, api):
        assert _signup(api, email).status_code == 200
    with configured(custom_access_token_hook=HOOK) as (_, api):
        hook("raise exception 'no claims today' using hint = 'try later'")
        failed = _sign_in(api, email)
        body = _error(failed, 500, "unexpected_failure")
        assert body["message"] == f"Error running hook URI: {HOOK}"
        assert failed.headers["x-sb-error-code"] == "unexpected_failure"
        legacy = api.post("/auth/v1/token", params={"grant_type": "password"},
                          json={"email": email, "password": PASSWORD})
        assert (legacy.status_code, legacy.json()) == (
            500, {"code": "P0001", "message": "no claims today", "hint": "try later"})
        hook("raise sqlstate 'PT402' using message = 'pay first'")
        legacy = api.post("/auth/v1/token", params={"grant_type": "password"},
                          json={"email": email, "password": PASSWORD})
        assert (legacy.status_code, legacy.json()) == (
            402, {"code": "PT402", "message": "pay first"})
        hook("perform pg_sleep(5); return event")
        started = time.monotonic()
        body = _error(_sign_in(api, email), 500, "unexpected_failure")
        assert time.monotonic() - started < 5  # GoTrue's 2 s statement timeout ended it
        assert json.dumps(body).count("Error running hook URI") == 1


# -----------------------------------------------------------------------------
# The password verification hook
# -----------------------------------------------------------------------------

def test_the_password_hook_sees_every_attempt_and_a_rejection_is_invalid_credentials(
        configured: Any, hook: Callable[[str], None], admin: psycopg.Connection[Any]) -> None:
    email, banned = _email(), _email()
    with configured() as (_, api):
        for address in (email, banned):
            assert _signup(api, address).status_code == 200
    admin.execute("update auth.users set banned_until = now() + interval '1 day'"
                  " where email = %s", (banned,))
    # GoTrue's example: a third failed attempt in a row is refused, whatever the password,
    # and (as asked) signs the user out everywhere
    hook("""
      insert into hook_test.events (event) values (event);
      if (select count(*) from hook_test.events e
           where e.event ->> 'user_id' = claims.event ->> 'user_id'
             and not (e.event ->> 'valid')::boolean) >= 3 then
        return jsonb_build_object('decision', 'reject', 'message', 'Too many attempts',
                                  'should_logout_user', true);
      end if;
      return jsonb_build_object('decision', 'continue')""")
    with configured(password_verification_hook=HOOK) as (_, api):
        assert _sign_in(api, email).status_code == 200
        for _ in range(2):
            body = _error(_sign_in(api, email, "wrong-password"), 400, "invalid_credentials")
            assert body["message"] == "Invalid login credentials"
        assert _sessions(admin, email) == 2  # the sign-up's and the sign-in's
        body = _error(_sign_in(api, email, "wrong-password"), 400, "invalid_credentials")
        assert body["message"] == "Too many attempts"
        body = _error(_sign_in(api, email), 400, "invalid_credentials")  # right, refused
        assert body["message"] == "Too many attempts"
        assert _sessions(admin, email) == 0
        # neither a banned user nor an unknown address reaches the hook
        _error(_sign_in(api, banned), 400, "user_banned")
        _error(_sign_in(api, _email()), 400, "invalid_credentials")
    valid = [row[0] for row in admin.execute(
        "select (event ->> 'valid')::boolean from hook_test.events order by id").fetchall()]
    assert valid == [True, False, False, False, True]
    names = {row[0] for row in admin.execute(
        "select event -> 'metadata' ->> 'name' from hook_test.events").fetchall()}
    assert names == {"password-verification"}


@pytest.mark.parametrize(("answer", "status", "message"), [
    ("jsonb_build_object('decision', 'reject')", 400,
     "Further password verification attempts will be rejected."),
    ("jsonb_build_object('decision', 1)", 500, "Error unmarshaling JSON output."),
    ("jsonb_build_object('decision', 'reject', 'message', null)", 400,
     "Further password verification attempts will be rejected."),
    ("'[]'::jsonb", 500, "Error unmarshaling JSON output."),
    ("null", 200, None),
])
def test_the_password_hooks_answer_is_read_as_gotrue_reads_it(
        configured: Any, hook: Callable[[str], None], answer: str, status: int,
        message: str | None) -> None:
    email = _email()
    with configured() as (_, api):
        assert _signup(api, email).status_code == 200
    hook(f"return {answer}")
    with configured(password_verification_hook=HOOK) as (_, api):
        response = _sign_in(api, email)
        assert response.status_code == status, response.text
        if message is not None:
            assert response.json()["message"] == message


# -----------------------------------------------------------------------------
# The before user created hook
# -----------------------------------------------------------------------------

def test_the_before_user_created_hook_sees_the_user_to_be_and_may_refuse_the_sign_up(
        configured: Any, hook: Callable[[str], None], admin: psycopg.Connection[Any]) -> None:
    existing = _email()
    with configured() as (_, api):
        assert _signup(api, existing).status_code == 200
    hook("""
      insert into hook_test.events (event) values (event);
      if event -> 'user' ->> 'email' like 'blocked-%'
         or (event -> 'user' ->> 'is_anonymous')::boolean then
        return jsonb_build_object('error', jsonb_build_object(
          'http_code', 400, 'message', 'Sign-ups from this address are closed'));
      end if;
      return '{}'::jsonb""")
    with configured(before_user_created_hook=HOOK, anonymous_sign_ins=True) as (_, api):
        blocked = "blocked-" + _email()
        body = _error(_signup(api, blocked), 400, "unknown")
        assert body["message"] == "Sign-ups from this address are closed"
        assert one(admin, "select count(*) from auth.users where email = %s", blocked) == 0
        anonymous = one(admin, "select count(*) from auth.users where is_anonymous")
        _error(api.post("/auth/v1/signup", json={}, headers=V2024), 400, "unknown")
        assert one(admin, "select count(*) from auth.users where is_anonymous") == anonymous
        email = _email()
        made = _signup(api, email, data={"plan": "free"}).json()
        # an address already taken is refused before the hook is asked
        _error(_signup(api, existing), 422, "user_already_exists")
    events = [row[0] for row in admin.execute(
        "select event from hook_test.events order by id").fetchall()]
    assert [e["user"]["email"] for e in events] == [blocked, "", email]
    user = events[2]["user"]
    assert events[2]["metadata"]["name"] == "before-user-created"
    assert user["id"] == made["user"]["id"]  # the id the user then gets
    assert {key: user[key] for key in ("aud", "role", "app_metadata", "user_metadata",
                                       "identities", "is_anonymous")} == {
        "aud": "authenticated", "role": "", "user_metadata": {"plan": "free"},
        "app_metadata": {"provider": "email", "providers": ["email"]}, "identities": [],
        "is_anonymous": False}


# -----------------------------------------------------------------------------
# The README's example
# -----------------------------------------------------------------------------

def _readme_blocks() -> tuple[str, str]:
    """The config and the SQL of the README's "Auth hooks" example, as written there."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("### Auth hooks\n", 1)[1].split("\n### ", 1)[0]
    toml = section.split("```toml\n", 1)[1].split("```", 1)[0]
    sql = section.split("```sql\n", 1)[1].split("```", 1)[0]
    return toml, sql


def test_the_readmes_role_claim_hook_works_as_written(
        configured: Any, admin: psycopg.Connection[Any], tmp_path: Path) -> None:
    toml, sql = _readme_blocks()
    (tmp_path / "config.toml").write_text(toml)
    uri = auth_config(tmp_path / "config.toml").custom_access_token_hook
    email = _email()
    with configured() as (_, api):
        assert _signup(api, email).status_code == 200
    try:
        admin.execute(sql)
        with configured(custom_access_token_hook=uri) as (_, api):
            assert _claims(_sign_in(api, email).json())["user_role"] == "member"
            admin.execute("insert into public.user_roles values (%s, 'coach')",
                          (_user_id(admin, email),))
            assert _claims(_sign_in(api, email).json())["user_role"] == "coach"
    finally:
        admin.execute("drop function if exists public.custom_access_token_hook(jsonb)")
        admin.execute("drop table if exists public.user_roles")
