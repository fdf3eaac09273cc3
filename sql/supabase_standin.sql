-- =============================================================================
-- Local stand-in for the Supabase platform: what a Supabase database has before
-- any project migration runs.
--
-- Applied ONLY to a plain PostgreSQL (the embedded cluster, throwaway test
-- clusters), once, by the bootstrap superuser `supabase_admin`, exactly as on
-- Supabase where the platform is created by `supabase_admin` and the project's
-- migrations and seed then run as the non-superuser `postgres`. On real Supabase
-- (`supabase start`, hosted) this file is never run.
--
-- Mirrors (definitions read from these releases, not copied):
--   * supabase/postgres 15.8.1.x images: roles, their attributes, memberships and
--     per-role settings (anon 3 s, authenticated 8 s, authenticator 8 s statement
--     timeouts; API roles INHERIT; postgres NOSUPERUSER with CREATEROLE, CREATEDB,
--     REPLICATION, BYPASSRLS, member of the API roles and `supabase_auth_admin`),
--     schemas `extensions`
--     (pgcrypto and pg_stat_statements there) and `graphql_public`, and the event triggers
--     `pgrst_ddl_watch`/`pgrst_drop_watch` that tell PostgREST to reload its schema
--     cache after DDL;
--   * supabase/auth (GoTrue): `auth.users` and `auth.identities` columns (v2.17x),
--     and `auth.sessions` and `auth.refresh_tokens` (read at v2.196; for the
--     local /auth/v1 stand-in's sessions; the sessions columns of GoTrue's 2025
--     OAuth and refresh-token-HMAC migrations are left out, nothing here uses them),
--     without defaults where GoTrue's migrations set none, owned by
--     `supabase_auth_admin`, RLS on, nothing granted to the API roles; and
--     `auth.uid()`, `auth.role()`, `auth.email()`, `auth.jwt()`.
-- Idempotent: applying it twice changes nothing.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- Roles
-- -----------------------------------------------------------------------------
do $$
begin
  if not exists (select from pg_roles where rolname = 'anon') then
    create role anon nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticated') then
    create role authenticated nologin;
  end if;
  if not exists (select from pg_roles where rolname = 'service_role') then
    create role service_role nologin bypassrls;
  end if;
  if not exists (select from pg_roles where rolname = 'authenticator') then
    create role authenticator login noinherit;
  end if;
  if not exists (select from pg_roles where rolname = 'supabase_auth_admin') then
    create role supabase_auth_admin login noinherit createrole;
  end if;
  if not exists (select from pg_roles where rolname = 'postgres') then
    create role postgres login password 'postgres';
  end if;
end
$$;

alter role anon with nosuperuser inherit nologin nobypassrls;
alter role authenticated with nosuperuser inherit nologin nobypassrls;
alter role service_role with nosuperuser inherit nologin bypassrls;
alter role authenticator with nosuperuser noinherit login nobypassrls;
-- postgres stays a superuser only where it was the cluster's bootstrap user (a plain
-- Postgres someone else created); a cluster this project creates has supabase_admin.
do $$
begin
  if current_user <> 'postgres' then
    alter role postgres with nosuperuser inherit createrole createdb login replication bypassrls;
  end if;
end
$$;

grant anon, authenticated, service_role to authenticator;
grant anon, authenticated, service_role to postgres;
-- as supabase/postgres's 20220609081115 grants it: `postgres` manages what Auth owns,
-- and the local Auth stand-in (connected as `postgres`) runs its hooks as Auth's role
grant supabase_auth_admin to postgres;
grant pg_read_all_data, pg_monitor, pg_signal_backend to postgres;

alter role anon set statement_timeout = '3s';
alter role authenticated set statement_timeout = '8s';
alter role authenticator set statement_timeout = '8s';
alter role authenticator set lock_timeout = '8s';
alter role postgres set search_path = "$user", public, extensions;
alter role supabase_auth_admin set search_path = auth;

-- postgres creates the project's schemas in this database.
do $$
begin
  execute format('grant all on database %I to postgres', current_database());
end
$$;
grant all on schema public to postgres;

-- Supabase grants the API roles the public schema and default privileges on it.
grant usage on schema public to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on tables to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on functions to anon, authenticated, service_role;
alter default privileges for role postgres in schema public
  grant all on sequences to anon, authenticated, service_role;

-- -----------------------------------------------------------------------------
-- Schemas and extensions
-- -----------------------------------------------------------------------------
create schema if not exists extensions;
grant usage on schema extensions to anon, authenticated, service_role, postgres;
create extension if not exists pgcrypto with schema extensions;
-- Query statistics, as in every Supabase project (the dashboard's Query Performance,
-- `supabase inspect db outliers`), where the server has them (Debian's postgresql-NN
-- does); the embedded cluster loads the library at start.
do $$
begin
  if exists (select from pg_available_extensions where name = 'pg_stat_statements') then
    create extension if not exists pg_stat_statements with schema extensions;
  end if;
end
$$;

-- Tools of the test suite, where the machine has them (Debian's postgresql-NN-pgtap and
-- -plpgsql-check): created here because only a superuser may, as on Supabase.
do $$
begin
  if exists (select from pg_available_extensions where name = 'pgtap') then
    create extension if not exists pgtap with schema extensions;
  end if;
  if exists (select from pg_available_extensions where name = 'plpgsql_check') then
    create extension if not exists plpgsql_check with schema extensions;
  end if;
end
$$;

-- PostgREST on Supabase exposes graphql_public by default.
create schema if not exists graphql_public;
grant usage on schema graphql_public to anon, authenticated, service_role;

-- -----------------------------------------------------------------------------
-- PostgREST's schema cache follows DDL
-- -----------------------------------------------------------------------------
-- Supabase's event triggers: after a statement that creates or alters what PostgREST's
-- schema cache holds (schemas, relations, functions, triggers, types, rules, comments), or
-- drops one, `NOTIFY pgrst, 'reload schema'`; the local API listens as PostgREST does.
-- Objects in pg_temp are left out.

/**
 * Event trigger function (ddl_command_end): reload PostgREST's schema cache after DDL.
 */
create or replace function extensions.pgrst_ddl_watch()
  returns event_trigger
  language plpgsql
as $$
begin
  if exists (
    select from pg_event_trigger_ddl_commands() c
     where c.command_tag in (
             'CREATE SCHEMA', 'ALTER SCHEMA', 'CREATE TABLE', 'CREATE TABLE AS',
             'SELECT INTO', 'ALTER TABLE', 'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE',
             'CREATE VIEW', 'ALTER VIEW', 'CREATE MATERIALIZED VIEW',
             'ALTER MATERIALIZED VIEW', 'CREATE FUNCTION', 'ALTER FUNCTION',
             'CREATE TRIGGER', 'CREATE TYPE', 'ALTER TYPE', 'CREATE RULE', 'COMMENT')
       and c.schema_name is distinct from 'pg_temp'
  ) then
    notify pgrst, 'reload schema';
  end if;
end
$$;

/**
 * Event trigger function (sql_drop): reload PostgREST's schema cache after a drop.
 */
create or replace function extensions.pgrst_drop_watch()
  returns event_trigger
  language plpgsql
as $$
begin
  if exists (
    select from pg_event_trigger_dropped_objects() o
     where o.object_type in ('schema', 'table', 'foreign table', 'view',
                             'materialized view', 'function', 'trigger', 'type', 'rule')
       and not o.is_temporary
  ) then
    notify pgrst, 'reload schema';
  end if;
end
$$;

do $$
begin
  if not exists (select from pg_event_trigger where evtname = 'pgrst_ddl_watch') then
    create event trigger pgrst_ddl_watch on ddl_command_end
      execute function extensions.pgrst_ddl_watch();
  end if;
  if not exists (select from pg_event_trigger where evtname = 'pgrst_drop_watch') then
    create event trigger pgrst_drop_watch on sql_drop
      execute function extensions.pgrst_drop_watch();
  end if;
end
$$;

-- -----------------------------------------------------------------------------
-- Schema auth (owned by Supabase Auth's role)
-- -----------------------------------------------------------------------------
create schema if not exists auth authorization supabase_auth_admin;
grant usage on schema auth to anon, authenticated, service_role, postgres;

create table if not exists auth.users (
  instance_id uuid,
  id uuid not null primary key,
  aud varchar(255),
  role varchar(255),
  email varchar(255),
  encrypted_password varchar(255),
  email_confirmed_at timestamptz,
  invited_at timestamptz,
  confirmation_token varchar(255),
  confirmation_sent_at timestamptz,
  recovery_token varchar(255),
  recovery_sent_at timestamptz,
  email_change_token_new varchar(255),
  email_change varchar(255),
  email_change_sent_at timestamptz,
  last_sign_in_at timestamptz,
  raw_app_meta_data jsonb,
  raw_user_meta_data jsonb,
  is_super_admin boolean,
  created_at timestamptz,
  updated_at timestamptz,
  phone text unique default null,
  phone_confirmed_at timestamptz,
  phone_change text default '',
  phone_change_token varchar(255) default '',
  phone_change_sent_at timestamptz,
  confirmed_at timestamptz generated always as (least(email_confirmed_at, phone_confirmed_at)) stored,
  email_change_token_current varchar(255) default '',
  email_change_confirm_status smallint default 0
    check (email_change_confirm_status >= 0 and email_change_confirm_status <= 2),
  banned_until timestamptz,
  reauthentication_token varchar(255) default '',
  reauthentication_sent_at timestamptz,
  is_sso_user boolean not null default false,
  deleted_at timestamptz,
  is_anonymous boolean not null default false
);
comment on table auth.users is 'Auth: Stores user login data within a secure schema.';
create index if not exists users_instance_id_idx on auth.users (instance_id);
create index if not exists users_instance_id_email_idx on auth.users (instance_id, lower(email));
create unique index if not exists users_email_partial_key
  on auth.users (email) where (is_sso_user = false);

create table if not exists auth.identities (
  provider_id text not null,
  user_id uuid not null references auth.users (id) on delete cascade,
  identity_data jsonb not null,
  provider text not null,
  last_sign_in_at timestamptz,
  created_at timestamptz,
  updated_at timestamptz,
  email text generated always as (lower(identity_data ->> 'email')) stored,
  id uuid not null default gen_random_uuid() primary key,
  constraint identities_provider_id_provider_unique unique (provider_id, provider)
);
comment on table auth.identities is 'Auth: Stores identities associated to a user.';
create index if not exists identities_user_id_idx on auth.identities (user_id);

do $$
begin
  if to_regtype('auth.aal_level') is null then
    create type auth.aal_level as enum ('aal1', 'aal2', 'aal3');
  end if;
end
$$;

create table if not exists auth.sessions (
  id uuid not null primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz,
  updated_at timestamptz,
  factor_id uuid,
  aal auth.aal_level,
  not_after timestamptz,
  refreshed_at timestamp,
  user_agent text,
  ip inet,
  tag text
);
comment on table auth.sessions is 'Auth: Stores session data associated to a user.';
create index if not exists sessions_user_id_idx on auth.sessions (user_id);

create table if not exists auth.refresh_tokens (
  instance_id uuid,
  id bigserial primary key,
  token varchar(255) unique,
  user_id varchar(255),
  revoked boolean,
  created_at timestamptz,
  updated_at timestamptz,
  parent varchar(255),
  session_id uuid references auth.sessions (id) on delete cascade
);
comment on table auth.refresh_tokens is
  'Auth: Store of tokens used to refresh JWT tokens once they expire.';

-- how each session was signed in (`AddClaimToSession`): its tokens' `amr`, kept over
-- refreshes
create table if not exists auth.mfa_amr_claims (
  session_id uuid not null references auth.sessions (id) on delete cascade,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  authentication_method text not null,
  id uuid not null,
  constraint mfa_amr_claims_session_id_authentication_method_pkey
    unique (session_id, authentication_method),
  constraint amr_id_pk primary key (id)
);
comment on table auth.mfa_amr_claims is
  'auth: stores authenticator method reference claims for multi factor authentication';
create index if not exists refresh_tokens_session_id_revoked_idx
  on auth.refresh_tokens (session_id, revoked);

-- the PKCE flows of sign-ins by mail (`FlowState`): the code challenge a client sent, and the
-- code its link issues for the exchange (`grant_type=pkce`)
do $$
begin
  if to_regtype('auth.code_challenge_method') is null then
    create type auth.code_challenge_method as enum ('s256', 'plain');
  end if;
end
$$;
create table if not exists auth.flow_state (
  id uuid primary key,
  user_id uuid,
  auth_code text,
  code_challenge_method auth.code_challenge_method,
  code_challenge text,
  provider_type text not null,
  provider_access_token text,
  provider_refresh_token text,
  created_at timestamptz,
  updated_at timestamptz,
  authentication_method text not null,
  auth_code_issued_at timestamptz,
  invite_token text,
  referrer text,
  oauth_client_state_id uuid,
  linking_target_id uuid,
  email_optional boolean not null default false
);
comment on table auth.flow_state is 'Stores metadata for all OAuth/SSO login flows';
create index if not exists idx_auth_code on auth.flow_state (auth_code);
create index if not exists idx_user_id_auth_method
  on auth.flow_state (user_id, authentication_method);
create index if not exists flow_state_created_at_idx on auth.flow_state (created_at desc);

alter table auth.users owner to supabase_auth_admin;
alter table auth.identities owner to supabase_auth_admin;
alter table auth.sessions owner to supabase_auth_admin;
alter table auth.refresh_tokens owner to supabase_auth_admin;
alter table auth.mfa_amr_claims owner to supabase_auth_admin;
alter table auth.flow_state owner to supabase_auth_admin;
alter type auth.code_challenge_method owner to supabase_auth_admin;
alter table auth.users enable row level security;
alter table auth.identities enable row level security;
alter table auth.sessions enable row level security;
alter table auth.refresh_tokens enable row level security;
alter table auth.mfa_amr_claims enable row level security;
alter table auth.flow_state enable row level security;
revoke all on auth.users, auth.identities, auth.sessions, auth.refresh_tokens,
  auth.mfa_amr_claims, auth.flow_state from anon, authenticated, service_role;
grant all on auth.users, auth.identities, auth.sessions, auth.refresh_tokens,
  auth.mfa_amr_claims, auth.flow_state to postgres;
grant usage on sequence auth.refresh_tokens_id_seq to postgres;

-- Supabase Auth's own definitions: the claims PostgREST sets per request
-- (`request.jwt.claims`), falling back to the per-claim settings of older PostgREST.
create or replace function auth.uid()
  returns uuid
  language sql
  stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role()
  returns text
  language sql
  stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

create or replace function auth.email()
  returns text
  language sql
  stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.email', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
  )::text
$$;

create or replace function auth.jwt()
  returns jsonb
  language sql
  stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim', true), ''),
    nullif(current_setting('request.jwt.claims', true), '')
  )::jsonb
$$;

alter function auth.uid() owner to supabase_auth_admin;
alter function auth.role() owner to supabase_auth_admin;
alter function auth.email() owner to supabase_auth_admin;
alter function auth.jwt() owner to supabase_auth_admin;
grant execute on function auth.uid(), auth.role(), auth.email(), auth.jwt()
  to anon, authenticated, service_role, postgres;
