-- =============================================================================
-- core: building blocks shared by every app. Not exposed through the API
-- (not listed in supabase/config.toml [api] schemas).
--   * core.api_error    the one way SQL raises a client-visible error
--   * core.events       append-only audit log of every state change
--   * core.quota_*      per-user quotas / rate limits with expiring reservations
--   * core.ai_calls     one row per AI provider call (never the input text)
-- =============================================================================

create schema if not exists core;

-- Functions are not executable by everyone by default: each one is granted
-- explicitly after its definition.
alter default privileges revoke execute on functions from public;

-- The API roles need USAGE only to reach the few helpers granted to them below;
-- no core table is granted to anon/authenticated.
grant usage on schema core to authenticated, service_role;

-- =============================================================================
-- TYPES
-- =============================================================================

create type core.quota_state as enum ('pending', 'success', 'failure');

-- =============================================================================
-- FUNCTIONS: errors
-- =============================================================================

/**
 * Raise a client-visible error in PostgREST's full-control form: the message is
 * the body {code, message, details, hint}, the detail carries the HTTP status
 * and extra headers. Volatile on purpose: the planner must never pre-evaluate it.
 */
create or replace function core.api_error(
  p_status integer,
  p_code text,
  p_message text,
  p_details jsonb default null,
  p_hint text default null,
  p_headers jsonb default null
)
  returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  raise sqlstate 'PGRST' using
    message = json_build_object(
      'code', p_code, 'message', p_message, 'details', p_details, 'hint', p_hint
    )::text,
    detail = json_build_object(
      'status', p_status, 'headers', coalesce(p_headers, '{}'::jsonb)
    )::text;
end;
$$;

grant execute on function core.api_error(integer, text, text, jsonb, text, jsonb)
  to authenticated, service_role;

/**
 * 400 VALIDATION_ERROR about one input field: details = {field} plus any extra keys.
 */
create or replace function core.invalid_field(
  p_field text,
  p_message text,
  p_extra jsonb default '{}'::jsonb
)
  returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  perform core.api_error(400, 'VALIDATION_ERROR', p_message,
      jsonb_build_object('field', p_field) || coalesce(p_extra, '{}'::jsonb));
end;
$$;

grant execute on function core.invalid_field(text, text, jsonb) to authenticated, service_role;

/**
 * The caller's user id from the JWT claims, or 401 UNAUTHORIZED when the request
 * carries no user (anon key, service key without a user, malformed sub).
 */
create or replace function core.require_user()
  returns uuid
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
begin
  if v_sub is null or v_sub !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
    perform core.api_error(401, 'UNAUTHORIZED', 'Authentication required',
      p_headers => '{"WWW-Authenticate": "Bearer"}');
  end if;
  return v_sub::uuid;
end;
$$;

grant execute on function core.require_user() to authenticated, service_role;

/**
 * The caller as require_user() has it, and still a user: a deleted account's token may
 * be valid until it expires, and a write in its name is 401 UNAUTHORIZED, not a raw
 * foreign-key error. Security definer: only it reads auth.users.
 */
create or replace function core.require_existing_user()
  returns uuid
  language plpgsql
  stable
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
begin
  if not exists (select from auth.users u where u.id = v_user_id) then
    perform core.api_error(401, 'UNAUTHORIZED', 'This account no longer exists',
      p_headers => '{"WWW-Authenticate": "Bearer"}');
  end if;
  return v_user_id;
end;
$$;

grant execute on function core.require_existing_user() to authenticated, service_role;

/**
 * Parse a uuid given as text; 400 VALIDATION_ERROR naming the field when it is not one.
 */
create or replace function core.parse_uuid(p_value text, p_field text)
  returns uuid
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_value is null then
    return null;
  end if;
  if p_value !~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' then
    perform core.invalid_field(p_field, p_field || ' must be a UUID');
  end if;
  return p_value::uuid;
end;
$$;

grant execute on function core.parse_uuid(text, text) to authenticated, service_role;

-- =============================================================================
-- TABLES: events (append-only audit log, every app)
-- =============================================================================

create table core.events (
  id bigint generated always as identity primary key,
  app text not null check (app ~ '^[a-z_]+$'),
  event_type text not null check (event_type ~ '^[a-z_]+$'),
  user_id uuid,
  entity_type text,
  entity_id uuid,
  data jsonb not null default '{}'::jsonb check (jsonb_typeof(data) = 'object'),
  created_at timestamptz not null default now()
);

comment on table core.events is
  'Append-only audit log of state changes in every app. No user id FK on purpose: '
  'the trail outlives the user row.';

create index events_user_id_created_at_idx on core.events (user_id, created_at desc);
create index events_entity_idx on core.events (app, entity_id);

alter table core.events enable row level security;
revoke all on core.events from public, anon, authenticated, service_role;
grant select on core.events to service_role;

/**
 * Refuse UPDATE/DELETE/TRUNCATE on an append-only table for everyone but its
 * owner (a superuser counts as owner), service_role included.
 */
create or replace function core.refuse_unless_owner()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if not exists (
    select from pg_catalog.pg_roles r
     where r.rolname = current_user
       and (r.rolsuper or r.oid = (select c.relowner from pg_catalog.pg_class c where c.oid = tg_relid))
  ) then
    raise exception '%.% is append-only', tg_table_schema, tg_table_name
      using errcode = '42501';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end;
$$;

create trigger events_append_only
  before update or delete on core.events
  for each row execute function core.refuse_unless_owner();
create trigger events_no_truncate
  before truncate on core.events
  for each statement execute function core.refuse_unless_owner();

/**
 * Append one audit event. Security definer: the only write path into core.events.
 */
create or replace function core.log_event(
  p_app text,
  p_event_type text,
  p_user_id uuid,
  p_entity_type text default null,
  p_entity_id uuid default null,
  p_data jsonb default '{}'::jsonb
)
  returns bigint
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_result bigint;
begin
  insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
    values (p_app, p_event_type, p_user_id, p_entity_type, p_entity_id, coalesce(p_data, '{}'::jsonb))
    returning id into v_result;
  return v_result;
end;
$$;

grant execute on function core.log_event(text, text, uuid, text, uuid, jsonb) to service_role;

-- =============================================================================
-- TABLES: quotas
-- =============================================================================

create table core.quota_policies (
  bucket text primary key check (bucket ~ '^[a-z0-9_.]+$'),
  max_count integer not null check (max_count > 0),
  window_length interval not null check (window_length > interval '0'),
  failures_count boolean not null default false,
  -- A pending attempt is closed as abandoned after this, so it must outlast the longest
  -- live one: the service caps every provider and OCR timeout at 120 s, and retries a
  -- finish for about 10 s more.
  reservation_ttl interval not null default interval '3 minutes'
    check (reservation_ttl >= interval '3 minutes'),
  error_status integer not null check (error_status in (403, 429)),
  error_code text not null check (error_code ~ '^[A-Z_]+$'),
  error_message text not null,
  updated_at timestamptz not null default now()
);

comment on table core.quota_policies is
  'One row per quota bucket; operators may change limits with psql, effective at once. '
  'failures_count=false: a failed attempt gives its slot back. reservation_ttl: how long '
  'an unsettled (crashed) reservation keeps counting; at least 3 minutes, longer than any '
  'live attempt (provider and OCR timeouts are capped at 120 s).';

create table core.quota_reservations (
  id uuid primary key default gen_random_uuid(),
  bucket text not null references core.quota_policies (bucket) on update cascade,
  user_id uuid not null,
  state core.quota_state not null default 'pending',
  reserved_at timestamptz not null default now(),
  expires_at timestamptz not null,
  settled_at timestamptz
);

create index quota_reservations_bucket_user_idx
  on core.quota_reservations (bucket, user_id, reserved_at desc);

alter table core.quota_policies enable row level security;
alter table core.quota_reservations enable row level security;
revoke all on core.quota_policies, core.quota_reservations
  from public, anon, authenticated, service_role;
grant select on core.quota_policies, core.quota_reservations to service_role;

-- =============================================================================
-- FUNCTIONS: quotas
-- =============================================================================

/**
 * How long a bucket's unsettled reservation counts, which is also how long an attempt may
 * stay pending before it is closed as abandoned (3 minutes for a bucket without a policy).
 */
create or replace function core.reservation_ttl(p_bucket text)
  returns interval
  language sql
  stable
  set search_path = ''
as $$
  select coalesce(
    (select p.reservation_ttl from core.quota_policies p where p.bucket = p_bucket),
    interval '3 minutes')
$$;

/**
 * The quota state of one user in one bucket: {limit, used, remaining, resetsAt},
 * resetsAt being when the next slot frees (null when nothing is used).
 */
create or replace function core.quota_report(p_bucket text, p_user_id uuid)
  returns jsonb
  language plpgsql
  stable
  security definer
  set search_path = ''
as $$
declare
  v_policy core.quota_policies;
  v_used integer;
  v_next timestamptz;
begin
  select * into v_policy from core.quota_policies where bucket = p_bucket;
  if not found then
    raise exception 'unknown quota bucket %', p_bucket using errcode = 'P0002';
  end if;
  -- frees_at: when a reservation stops counting (null: it does not count at all).
  -- Successes, and failures where the policy counts them, hold their slot for the
  -- window; a pending one until it expires (a crashed request) or the window ends.
  select count(*), min(f.frees_at)
    into v_used, v_next
    from core.quota_reservations r
    cross join lateral (
      select case
        when r.state = 'success' or (r.state = 'failure' and v_policy.failures_count)
          then r.reserved_at + v_policy.window_length
        when r.state = 'pending' and r.expires_at > now()
          then least(r.expires_at, r.reserved_at + v_policy.window_length)
      end as frees_at
    ) f
   where r.bucket = p_bucket
     and r.user_id = p_user_id
     and r.reserved_at > now() - v_policy.window_length
     and f.frees_at > now();
  return jsonb_build_object(
    'limit', v_policy.max_count,
    'used', v_used,
    'remaining', greatest(v_policy.max_count - v_used, 0),
    'resetsAt', v_next
  );
end;
$$;

grant execute on function core.quota_report(text, uuid) to service_role;

/**
 * Take one slot of the user's quota, or raise the policy's error (403 or 429,
 * with Retry-After) when none is left. Racing callers for the same user and
 * bucket are serialised by a transaction-scoped advisory lock, so the limit
 * holds exactly. Returns the reservation id to settle later.
 */
create or replace function core.quota_reserve(p_bucket text, p_user_id uuid)
  returns uuid
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_policy core.quota_policies;
  v_report jsonb;
  v_retry_after integer;
  v_id uuid;
begin
  select * into v_policy from core.quota_policies where bucket = p_bucket;
  if not found then
    raise exception 'unknown quota bucket %', p_bucket using errcode = 'P0002';
  end if;
  perform pg_advisory_xact_lock(hashtextextended(p_bucket || ':' || p_user_id::text, 0));
  v_report := core.quota_report(p_bucket, p_user_id);
  if (v_report ->> 'remaining')::integer <= 0 then
    v_retry_after := greatest(1, ceil(extract(epoch from
      (v_report ->> 'resetsAt')::timestamptz - now()))::integer);
    perform core.api_error(
      v_policy.error_status, v_policy.error_code, v_policy.error_message,
      v_report,
      'Try again after ' || (v_report ->> 'resetsAt'),
      case when v_policy.error_status = 429
        then jsonb_build_object('Retry-After', v_retry_after::text) end
    );
  end if;
  insert into core.quota_reservations (bucket, user_id, expires_at)
  values (p_bucket, p_user_id, now() + v_policy.reservation_ttl)
  returning id into v_id;
  return v_id;
end;
$$;

grant execute on function core.quota_reserve(text, uuid) to service_role;

/**
 * Settle a pending reservation: success keeps the slot; failure keeps it only
 * where the policy counts failures. Returns false when it was already settled.
 */
create or replace function core.quota_settle(p_reservation_id uuid, p_success boolean)
  returns boolean
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
begin
  update core.quota_reservations
     set state = case when p_success then 'success' else 'failure' end::core.quota_state,
         settled_at = now()
   where id = p_reservation_id
     and state = 'pending';
  return found;
end;
$$;

grant execute on function core.quota_settle(uuid, boolean) to service_role;

/**
 * Count one AI attempt against the user's ceiling across every app (bucket
 * ai.calls): 429 RATE_LIMITED past it. Every attempt counts, whatever its outcome:
 * an app's own quota may give failed attempts back, the provider's bill does not.
 */
create or replace function core.count_ai_attempt(p_user_id uuid)
  returns void
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
begin
  perform core.quota_settle(core.quota_reserve('ai.calls', p_user_id), true);
end;
$$;

grant execute on function core.count_ai_attempt(uuid) to service_role;

insert into core.quota_policies (bucket, max_count, window_length, failures_count,
                                 reservation_ttl, error_status, error_code, error_message)
values ('ai.calls', 30, interval '1 hour', true, interval '3 minutes', 429, 'RATE_LIMITED',
        'Too many AI requests: 30 per hour across all apps')
on conflict (bucket) do nothing;

-- =============================================================================
-- TABLES: AI provider calls
-- =============================================================================

create table core.ai_calls (
  id uuid primary key default gen_random_uuid(),
  app text not null check (app ~ '^[a-z_]+$'),
  user_id uuid,
  request_id uuid,
  model text not null check (char_length(model) <= 200),
  provider text not null check (char_length(provider) <= 100),
  status text not null check (status in ('success', 'timeout', 'error', 'invalid_output')),
  http_status integer,
  attempt integer not null default 1 check (attempt between 1 and 10),
  latency_ms integer not null check (latency_ms >= 0),
  prompt_tokens integer check (prompt_tokens >= 0),
  completion_tokens integer check (completion_tokens >= 0),
  cost_usd numeric(12, 6) check (cost_usd >= 0),
  source text check (source ~ '^[a-z_]+$'),
  input_chars integer check (input_chars >= 0),
  input_bytes integer check (input_bytes >= 0),
  error_code text check (char_length(error_code) <= 100),
  error_message text check (char_length(error_message) <= 500),
  created_at timestamptz not null default now()
);

comment on table core.ai_calls is
  'One row per provider (or OCR) call: sizes, statuses, timings, usage. Never the input '
  'text, the prompt, the image or the model output.';
comment on column core.ai_calls.source is 'What the call read, where an app says (text, image).';

create index ai_calls_user_created_idx on core.ai_calls (user_id, created_at desc);
create index ai_calls_app_created_idx on core.ai_calls (app, created_at desc);

alter table core.ai_calls enable row level security;
revoke all on core.ai_calls from public, anon, authenticated, service_role;
grant select on core.ai_calls to service_role;

/**
 * A whole number 0..2^31-1 from a JSON value (a number, in any spelling), else null:
 * what the service sends is data, and a bad field must not fail the write it is part of.
 */
create or replace function core.json_count(p_value jsonb)
  returns integer
  language sql
  immutable
  set search_path = ''
as $$
  select case
    when jsonb_typeof(p_value) = 'number' and (p_value #>> '{}')::numeric % 1 = 0
         and (p_value #>> '{}')::numeric between 0 and 2147483647
      then (p_value #>> '{}')::numeric::integer
  end
$$;

grant execute on function core.json_count(jsonb) to service_role;

/**
 * Record one provider (or OCR) call. Called by the apps' finish_* functions; never
 * fails on what the call record holds: a field out of shape is stored as null (or as
 * a generic value where the column needs one), so the attempt it belongs to still closes.
 */
create or replace function core.record_ai_call(
  p_app text,
  p_user_id uuid,
  p_request_id uuid,
  p_call jsonb
)
  returns uuid
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_status text := p_call ->> 'status';
  v_cost numeric;
  v_result uuid;
begin
  if jsonb_typeof(p_call -> 'cost_usd') = 'number'
     and (p_call ->> 'cost_usd')::numeric between 0 and 999999 then
    v_cost := round((p_call ->> 'cost_usd')::numeric, 6);
  end if;
  insert into core.ai_calls (
      app, user_id, request_id, model, provider, status, http_status, attempt, latency_ms,
      prompt_tokens, completion_tokens, cost_usd, source, input_chars, input_bytes, error_code,
      error_message
    )
    values (
      p_app, p_user_id, p_request_id,
      left(coalesce(p_call ->> 'model', 'unknown'), 200),
      left(coalesce(p_call ->> 'provider', 'unknown'), 100),
      case when v_status in ('success', 'timeout', 'error', 'invalid_output') then v_status
           else 'error' end,
      core.json_count(p_call -> 'http_status'),
      coalesce(least(greatest(core.json_count(p_call -> 'attempt'), 1), 10), 1),
      coalesce(core.json_count(p_call -> 'latency_ms'), 0),
      core.json_count(p_call -> 'prompt_tokens'), core.json_count(p_call -> 'completion_tokens'),
      v_cost,
      case when p_call ->> 'source' ~ '^[a-z_]+$' then p_call ->> 'source' end,
      core.json_count(p_call -> 'input_chars'), core.json_count(p_call -> 'input_bytes'),
      left(p_call ->> 'error_code', 100), left(p_call ->> 'error_message', 500)
    )
    returning id into v_result;
  return v_result;
end;
$$;

grant execute on function core.record_ai_call(text, uuid, uuid, jsonb) to service_role;

/**
 * Parse a date given as text (ISO 8601, YYYY-MM-DD) within 2000-01-01..2100-12-31 (a
 * training log has no use for year 1 or 9999); 400 VALIDATION_ERROR naming the field.
 */
create or replace function core.parse_date(p_value text, p_field text)
  returns date
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_value is null then
    return null;
  end if;
  if p_value !~ '^\d{4}-\d{2}-\d{2}$' then
    perform core.invalid_field(p_field, p_field || ' must be a date (YYYY-MM-DD)');
  end if;
  if p_value::date not between date '2000-01-01' and date '2100-12-31' then
    perform core.invalid_field(p_field, p_field || ' must be between 2000-01-01 and 2100-12-31');
  end if;
  return p_value::date;
exception
  when datetime_field_overflow or invalid_datetime_format then
    perform core.invalid_field(p_field, p_field || ' is not a valid date');
    return null;
end;
$$;

grant execute on function core.parse_date(text, text) to authenticated, service_role;

/**
 * Validate the paging arguments every list RPC shares (named so that they never
 * clash with PostgREST's own `limit`/`offset` query parameters): page_size
 * 1..100, page_offset >= 0.
 */
create or replace function core.check_paging(p_page_size integer, p_page_offset integer)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_page_size is null or p_page_size < 1 or p_page_size > 100 then
    perform core.invalid_field('page_size', 'page_size must be between 1 and 100',
      jsonb_build_object('value', p_page_size));
  end if;
  if p_page_offset is null or p_page_offset < 0 then
    perform core.invalid_field('page_offset', 'page_offset must be 0 or more',
      jsonb_build_object('value', p_page_offset));
  end if;
end;
$$;

grant execute on function core.check_paging(integer, integer) to authenticated, service_role;

/**
 * Add a response header for PostgREST (response.headers is an array of one-key objects).
 */
create or replace function core.set_header(p_name text, p_value text)
  returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  perform set_config('response.headers',
      (coalesce(nullif(current_setting('response.headers', true), '')::jsonb, '[]'::jsonb)
        || jsonb_build_array(jsonb_build_object(p_name, p_value)))::text,
      true);
end;
$$;

grant execute on function core.set_header(text, text) to authenticated, service_role;
