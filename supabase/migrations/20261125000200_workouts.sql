-- =============================================================================
-- workouts: training plans and the sessions trained from them (seed 004).
-- A session stores a snapshot of the plan (`session` jsonb) so plans can change
-- without rewriting history. One session in progress (ended_at is null) per
-- user; completed sessions are immutable. Plans are plain owner CRUD through
-- RLS; sessions are written only through the RPCs.
--
-- Two schemas, as in pullups:
--   workouts          exposed: tables and the client RPCs (security invoker)
--   workouts_private  not exposed: triggers, helpers, the definer writes
-- =============================================================================

create schema if not exists workouts;
create schema if not exists workouts_private;
grant usage on schema workouts to anon, authenticated, service_role;
grant usage on schema workouts_private to authenticated, service_role;

-- =============================================================================
-- TABLES
-- =============================================================================

create table workouts.plans (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  name text not null check (char_length(btrim(name)) between 1 and 200),
  description text check (char_length(description) <= 2000),
  plan jsonb not null default '{"days": []}'::jsonb
    -- jsonb_typeof of a missing key is null, which a CHECK would let through
    check (jsonb_typeof(plan -> 'days') is not distinct from 'array'
           and pg_column_size(plan) <= 262144),
  archived boolean not null default false,
  has_sessions boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create index plans_user_idx on workouts.plans (user_id, created_at desc);

create table workouts.training_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  -- A deleted plan keeps its history: the snapshot still names it.
  plan_id uuid references workouts.plans (id) on delete set null,
  date date not null,
  session jsonb not null check (jsonb_typeof(session) = 'object'),
  started_at timestamptz not null default now(),
  ended_at timestamptz check (ended_at >= started_at),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on column workouts.training_sessions.ended_at is 'null while the session is in progress';

-- One session in progress per user, also under concurrent starts.
create unique index training_sessions_one_in_progress_idx
  on workouts.training_sessions (user_id) where ended_at is null;
-- The list RPC's sorts and filters, each leading with the policy column.
create index training_sessions_user_started_idx
  on workouts.training_sessions (user_id, started_at desc);
create index training_sessions_user_date_idx
  on workouts.training_sessions (user_id, date desc);
create index training_sessions_user_ended_idx
  on workouts.training_sessions (user_id, ended_at desc);
create index training_sessions_user_plan_started_idx
  on workouts.training_sessions (user_id, plan_id, started_at desc);
create index training_sessions_plan_idx on workouts.training_sessions (plan_id);

-- =============================================================================
-- POLICIES
-- =============================================================================

alter table workouts.plans enable row level security;
alter table workouts.training_sessions enable row level security;

revoke all on workouts.plans, workouts.training_sessions
  from public, anon, authenticated, service_role;
-- Plans: owner CRUD; user_id and has_sessions are not client-writable (column grants).
grant select, delete on workouts.plans to authenticated;
grant insert (name, description, plan, archived) on workouts.plans to authenticated;
grant update (name, description, plan, archived) on workouts.plans to authenticated;
grant select on workouts.plans, workouts.training_sessions to service_role;
-- Sessions: read-only for their owner; written through the RPCs below.
grant select on workouts.training_sessions to authenticated;

create policy plans_owner_read on workouts.plans
  for select to authenticated using (user_id = (select auth.uid()));
create policy plans_owner_insert on workouts.plans
  for insert to authenticated with check (user_id = (select auth.uid()));
create policy plans_owner_update on workouts.plans
  for update to authenticated
  using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy plans_owner_delete on workouts.plans
  for delete to authenticated using (user_id = (select auth.uid()));
create policy training_sessions_owner_read on workouts.training_sessions
  for select to authenticated using (user_id = (select auth.uid()));

-- =============================================================================
-- FUNCTIONS: table rules (triggers)
-- =============================================================================

/**
 * Keep updated_at current on plans.
 */
create or replace function workouts_private.touch_updated_at()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

create trigger plans_touch_updated_at
  before update on workouts.plans
  for each row execute function workouts_private.touch_updated_at();

/**
 * Completed sessions are immutable, whoever writes (400 SESSION_COMPLETED); only
 * the plan link may be cleared when its plan is deleted. Bumps updated_at.
 */
create or replace function workouts_private.guard_session_update()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if old.ended_at is not null and (
       new.session is distinct from old.session or new.date is distinct from old.date
    or new.started_at is distinct from old.started_at or new.ended_at is distinct from old.ended_at
    or new.user_id is distinct from old.user_id
    or (new.plan_id is distinct from old.plan_id and new.plan_id is not null)
  ) then
    perform core.api_error(400, 'SESSION_COMPLETED', 'Cannot update completed session',
      jsonb_build_object('sessionId', old.id));
  end if;
  new.updated_at := now();
  return new;
end;
$$;

create trigger training_sessions_guard_update
  before update on workouts.training_sessions
  for each row execute function workouts_private.guard_session_update();

-- =============================================================================
-- FUNCTIONS: helpers
-- =============================================================================

/**
 * 400 VALIDATION_ERROR pointing at the offending path of the session document.
 */
create or replace function workouts_private.invalid(p_path text, p_reason text)
  returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  perform core.api_error(400, 'VALIDATION_ERROR',
    'Invalid session data: ' || p_path || ' ' || p_reason,
    jsonb_build_object('path', p_path, 'reason', p_reason));
end;
$$;

/**
 * A required string at p_path, 1..p_max characters.
 */
create or replace function workouts_private.check_text(p_value jsonb, p_path text, p_max integer)
  returns text
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  if jsonb_typeof(p_value) is distinct from 'string' then
    perform workouts_private.invalid(p_path, 'must be a string');
  end if;
  if char_length(btrim(p_value #>> '{}')) = 0 or char_length(p_value #>> '{}') > p_max then
    perform workouts_private.invalid(p_path, format('must be 1 to %s characters', p_max));
  end if;
  return p_value #>> '{}';
end;
$$;

/**
 * A number at p_path in 0..p_max (whole when p_integer); null allowed when p_nullable.
 */
create or replace function workouts_private.check_number(
  p_value jsonb, p_path text, p_max numeric, p_integer boolean, p_nullable boolean
)
  returns numeric
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_number numeric;
begin
  if p_value is null or jsonb_typeof(p_value) = 'null' then
    if not p_nullable then
      perform workouts_private.invalid(p_path, 'is required');
    end if;
    return null;
  end if;
  if jsonb_typeof(p_value) <> 'number' then
    perform workouts_private.invalid(p_path, 'must be a number');
  end if;
  v_number := (p_value #>> '{}')::numeric;
  if v_number < 0 or v_number > p_max then
    perform workouts_private.invalid(p_path, format('must be between 0 and %s', p_max));
  end if;
  if p_integer and v_number % 1 <> 0 then
    perform workouts_private.invalid(p_path, 'must be a whole number');
  end if;
  return v_number;
end;
$$;

/**
 * Validate a SessionStructure and return it normalised (unknown keys dropped):
 * {plan_name, day_name, date, exercises: [{name, sets: [{planned_reps,
 * planned_weight, actual_reps, actual_weight, rest_seconds, completed}]}]}.
 * At most 50 exercises of 50 sets, 256 KiB given and stored; 400 VALIDATION_ERROR
 * with details.path.
 */
create or replace function workouts_private.normalize_session(p_session jsonb, p_date date)
  returns jsonb
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_exercises jsonb := '[]'::jsonb;
  v_exercise jsonb;
  v_sets jsonb;
  v_set jsonb;
  v_path text;
  v_result jsonb;
begin
  if p_session is null or jsonb_typeof(p_session) <> 'object' then
    perform workouts_private.invalid('session', 'must be an object');
  end if;
  if octet_length(p_session::text) > 262144 then
    perform workouts_private.invalid('session', 'must be at most 256 KiB');
  end if;
  if p_session ? 'date' and p_session ->> 'date' is distinct from p_date::text then
    perform workouts_private.invalid('session.date', 'must equal the session date');
  end if;
  if jsonb_typeof(p_session -> 'exercises') is distinct from 'array' then
    perform workouts_private.invalid('session.exercises', 'must be an array');
  end if;
  if jsonb_array_length(p_session -> 'exercises') > 50 then
    perform workouts_private.invalid('session.exercises', 'must have at most 50 items');
  end if;
  for i in 0 .. jsonb_array_length(p_session -> 'exercises') - 1 loop
    v_exercise := p_session -> 'exercises' -> i;
    v_path := format('session.exercises[%s]', i);
    if jsonb_typeof(v_exercise) <> 'object' then
      perform workouts_private.invalid(v_path, 'must be an object');
    end if;
    if jsonb_typeof(v_exercise -> 'sets') is distinct from 'array' then
      perform workouts_private.invalid(v_path || '.sets', 'must be an array');
    end if;
    if jsonb_array_length(v_exercise -> 'sets') > 50 then
      perform workouts_private.invalid(v_path || '.sets', 'must have at most 50 items');
    end if;
    v_sets := '[]'::jsonb;
    for j in 0 .. jsonb_array_length(v_exercise -> 'sets') - 1 loop
      v_set := v_exercise -> 'sets' -> j;
      if jsonb_typeof(v_set) <> 'object' then
        perform workouts_private.invalid(format('%s.sets[%s]', v_path, j), 'must be an object');
      end if;
      if jsonb_typeof(v_set -> 'completed') is distinct from 'boolean' then
        perform workouts_private.invalid(format('%s.sets[%s].completed', v_path, j), 'must be a boolean');
      end if;
      v_sets := v_sets || jsonb_build_array(jsonb_build_object(
        'planned_reps', workouts_private.check_number(v_set -> 'planned_reps',
          format('%s.sets[%s].planned_reps', v_path, j), 1000, true, false),
        'planned_weight', workouts_private.check_number(v_set -> 'planned_weight',
          format('%s.sets[%s].planned_weight', v_path, j), 10000, false, true),
        'actual_reps', workouts_private.check_number(v_set -> 'actual_reps',
          format('%s.sets[%s].actual_reps', v_path, j), 1000, true, true),
        'actual_weight', workouts_private.check_number(v_set -> 'actual_weight',
          format('%s.sets[%s].actual_weight', v_path, j), 10000, false, true),
        'rest_seconds', workouts_private.check_number(v_set -> 'rest_seconds',
          format('%s.sets[%s].rest_seconds', v_path, j), 3600, true, true),
        'completed', v_set -> 'completed'
      ));
    end loop;
    v_exercises := v_exercises || jsonb_build_array(jsonb_build_object(
      'name', workouts_private.check_text(v_exercise -> 'name', v_path || '.name', 200),
      'sets', v_sets
    ));
  end loop;
  v_result := jsonb_build_object(
    'plan_name', workouts_private.check_text(p_session -> 'plan_name', 'session.plan_name', 200),
    'day_name', workouts_private.check_text(p_session -> 'day_name', 'session.day_name', 200),
    'date', p_date,
    'exercises', v_exercises
  );
  -- normalising spells out every field of every set: the stored size is capped too
  if octet_length(v_result::text) > 262144 then
    perform workouts_private.invalid('session', 'must be at most 256 KiB once normalised');
  end if;
  return v_result;
end;
$$;

/**
 * The SessionResponse of a row (snake_case, as seed 004 defines it).
 */
create or replace function workouts_private.session_response(p_session workouts.training_sessions)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  return (
    select jsonb_build_object(
        'id', p_session.id,
        'plan_id', p_session.plan_id,
        'date', p_session.date,
        'session', p_session.session,
        'started_at', p_session.started_at,
        'ended_at', p_session.ended_at,
        'completed', p_session.ended_at is not null,
        'created_at', p_session.created_at,
        'updated_at', p_session.updated_at
      )
  );
end;
$$;

grant execute on function workouts_private.session_response(workouts.training_sessions)
  to authenticated, service_role;

/**
 * Lock and return the caller's session, or 404 NOT_FOUND (another user's
 * session looks exactly like a missing one).
 */
create or replace function workouts_private.lock_own_session(p_user_id uuid, p_id text)
  returns workouts.training_sessions
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_session workouts.training_sessions;
begin
  select * into v_session
    from workouts.training_sessions s
   where s.id = core.parse_uuid(p_id, 'id') and s.user_id = p_user_id
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found', jsonb_build_object('id', p_id));
  end if;
  return v_session;
end;
$$;

/**
 * 400 SESSION_COMPLETED when the session has ended.
 */
create or replace function workouts_private.require_in_progress(p_session workouts.training_sessions)
  returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  if p_session.ended_at is not null then
    perform core.api_error(400, 'SESSION_COMPLETED', 'Cannot update completed session',
      jsonb_build_object('id', p_session.id, 'ended_at', p_session.ended_at));
  end if;
end;
$$;

-- =============================================================================
-- FUNCTIONS: the writes behind the client RPCs (security definer; the caller is
-- the JWT's user, checked inside; exposed through the invoker RPCs at the end)
-- =============================================================================

/**
 * Start a session from one of the caller's (non-archived) plans with a snapshot
 * of it. 201 SessionResponse. 400 VALIDATION_ERROR / PLAN_NOT_FOUND, 409
 * ACTIVE_SESSION_CONFLICT when a session is already in progress. Marks the plan
 * as having sessions and logs session_started, in the same transaction.
 */
create or replace function workouts_private.start_session(plan_id text, date text, session jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_plan_id uuid := core.parse_uuid(start_session.plan_id, 'plan_id');
  v_date date := core.parse_date(start_session.date, 'date');
  v_snapshot jsonb;
  v_row workouts.training_sessions;
begin
  if v_plan_id is null or v_date is null then
    perform core.invalid_field(case when v_plan_id is null then 'plan_id' else 'date' end,
      'plan_id and date are required');
  end if;
  v_snapshot := workouts_private.normalize_session(start_session.session, v_date);
  perform from workouts.plans p
   where p.id = v_plan_id and p.user_id = v_user_id and not p.archived
     for update;
  if not found then
    perform core.api_error(400, 'PLAN_NOT_FOUND', 'Plan not found or access denied',
      jsonb_build_object('plan_id', v_plan_id));
  end if;
  begin
    insert into workouts.training_sessions (user_id, plan_id, date, session)
    values (v_user_id, v_plan_id, v_date, v_snapshot)
    returning * into v_row;
  exception when unique_violation then
    perform core.api_error(409, 'ACTIVE_SESSION_CONFLICT', 'An in-progress session already exists',
      (select jsonb_build_object('active_session_id', s.id)
         from workouts.training_sessions s
        where s.user_id = v_user_id and s.ended_at is null));
  end;
  update workouts.plans p set has_sessions = true where p.id = v_plan_id and not p.has_sessions;
  perform core.log_event('workouts', 'session_started', v_user_id, 'training_session', v_row.id,
    jsonb_build_object('plan_id', v_plan_id, 'date', v_date));
  perform set_config('response.status', '201', true);
  return workouts_private.session_response(v_row);
end;
$$;

grant execute on function workouts_private.start_session(text, text, jsonb) to authenticated;

/**
 * Replace the snapshot of a session in progress (400 SESSION_COMPLETED after
 * it ended, 404 when it is not the caller's); logs session_updated.
 */
create or replace function workouts_private.update_session(id text, session jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_row workouts.training_sessions := workouts_private.lock_own_session(v_user_id, update_session.id);
  v_snapshot jsonb;
begin
  perform workouts_private.require_in_progress(v_row);
  v_snapshot := workouts_private.normalize_session(update_session.session, v_row.date);
  update workouts.training_sessions s set session = v_snapshot
   where s.id = v_row.id
  returning * into v_row;
  perform core.log_event('workouts', 'session_updated', v_user_id, 'training_session', v_row.id,
    jsonb_build_object('plan_id', v_row.plan_id));
  return workouts_private.session_response(v_row);
end;
$$;

grant execute on function workouts_private.update_session(text, jsonb) to authenticated;

/**
 * Complete a session in progress, optionally with a final snapshot: sets
 * ended_at = now() and logs session_completed.
 */
create or replace function workouts_private.complete_session(id text, session jsonb default null)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_row workouts.training_sessions := workouts_private.lock_own_session(v_user_id, complete_session.id);
  v_snapshot jsonb;
begin
  perform workouts_private.require_in_progress(v_row);
  v_snapshot := case when complete_session.session is null then v_row.session
                     else workouts_private.normalize_session(complete_session.session, v_row.date) end;
  update workouts.training_sessions s
     set session = v_snapshot, ended_at = greatest(now(), s.started_at)
   where s.id = v_row.id
  returning * into v_row;
  perform core.log_event('workouts', 'session_completed', v_user_id, 'training_session', v_row.id,
    jsonb_build_object(
      'plan_id', v_row.plan_id,
      'duration_seconds', floor(extract(epoch from v_row.ended_at - v_row.started_at)),
      'sets_completed', (select count(*) from jsonb_array_elements(v_snapshot -> 'exercises') e,
                                 jsonb_array_elements(e -> 'sets') st
                          where (st ->> 'completed')::boolean)));
  return workouts_private.session_response(v_row);
end;
$$;

grant execute on function workouts_private.complete_session(text, jsonb) to authenticated;

-- =============================================================================
-- CLIENT API: reads (exposed; security invoker, so RLS applies)
-- =============================================================================

/**
 * One of the caller's sessions with its full snapshot (404 otherwise).
 */
create or replace function workouts.get_session(id text)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_row workouts.training_sessions;
begin
  select * into v_row from workouts.training_sessions s
   where s.id = core.parse_uuid(get_session.id, 'id') and s.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('id', get_session.id));
  end if;
  return workouts_private.session_response(v_row);
end;
$$;

grant execute on function workouts.get_session(text) to authenticated;

/**
 * The caller's session history as summaries (no snapshot): filters plan_id,
 * date_from/date_to, completed; sort started_at|date|ended_at, sort_order asc|desc;
 * page_size 1..100 (20), page_offset >= 0. {data: SessionSummary[], pagination}.
 */
create or replace function workouts.list_sessions(
  plan_id text default null,
  date_from text default null,
  date_to text default null,
  completed boolean default null,
  page_size integer default 20,
  page_offset integer default 0,
  sort text default 'started_at',
  sort_order text default 'desc'
)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_plan_id uuid := core.parse_uuid(list_sessions.plan_id, 'plan_id');
  v_from date := core.parse_date(list_sessions.date_from, 'date_from');
  v_to date := core.parse_date(list_sessions.date_to, 'date_to');
  v_total bigint;
  v_rows jsonb;
begin
  if coalesce(list_sessions.sort, '') not in ('started_at', 'date', 'ended_at') then
    perform core.invalid_field('sort', 'sort must be one of started_at, date, ended_at');
  end if;
  if coalesce(list_sessions.sort_order, '') not in ('asc', 'desc') then
    perform core.invalid_field('sort_order', 'sort_order must be asc or desc');
  end if;
  perform core.check_paging(list_sessions.page_size, list_sessions.page_offset);
  if v_from > v_to then
    perform core.invalid_field('date_from', 'date_from must not be after date_to');
  end if;

  execute $q$
    select count(*) from workouts.training_sessions s
     where s.user_id = $1
       and ($2::uuid is null or s.plan_id = $2)
       and ($3::date is null or s.date >= $3)
       and ($4::date is null or s.date <= $4)
       and ($5::boolean is null or (s.ended_at is not null) = $5)
    $q$
    into v_total
    using v_user_id, v_plan_id, v_from, v_to, list_sessions.completed;

  -- Postgres' default null order keeps the (user_id, <sort> desc) indexes usable both
  -- ways: by ended_at desc, the session in progress comes first; asc, last.
  execute format($q$
    select coalesce(jsonb_agg(jsonb_build_object(
             'id', s.id, 'plan_id', s.plan_id, 'date', s.date,
             'plan_name', s.session ->> 'plan_name', 'day_name', s.session ->> 'day_name',
             'started_at', s.started_at, 'ended_at', s.ended_at,
             'completed', s.ended_at is not null,
             'created_at', s.created_at, 'updated_at', s.updated_at)
             order by s.%1$I %2$s, s.id %2$s), '[]'::jsonb)
      from (
        select s.* from workouts.training_sessions s
         where s.user_id = $1
           and ($2::uuid is null or s.plan_id = $2)
           and ($3::date is null or s.date >= $3)
           and ($4::date is null or s.date <= $4)
           and ($5::boolean is null or (s.ended_at is not null) = $5)
         order by s.%1$I %2$s, s.id %2$s
         limit $6 offset $7
      ) s
    $q$, list_sessions.sort, case list_sessions.sort_order when 'asc' then 'asc' else 'desc' end)
    into v_rows
    using v_user_id, v_plan_id, v_from, v_to, list_sessions.completed,
          list_sessions.page_size, list_sessions.page_offset;

  return jsonb_build_object(
    'data', v_rows,
    'pagination', jsonb_build_object(
      'limit', list_sessions.page_size, 'offset', list_sessions.page_offset, 'total', v_total)
  );
end;
$$;

grant execute on function workouts.list_sessions(text, text, text, boolean, integer, integer, text, text)
  to authenticated;

-- =============================================================================
-- CLIENT API: writes (exposed; security invoker wrappers of the definer
-- functions above)
-- =============================================================================

/**
 * Start a session from one of the caller's plans with a snapshot of it: 201
 * SessionResponse; 400 VALIDATION_ERROR / PLAN_NOT_FOUND; 409 ACTIVE_SESSION_CONFLICT.
 */
create or replace function workouts.start_session(plan_id text, date text, session jsonb)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select workouts_private.start_session(plan_id, date, session)
$$;

grant execute on function workouts.start_session(text, text, jsonb) to authenticated;

/**
 * Replace the snapshot of a session in progress (400 SESSION_COMPLETED, 404).
 */
create or replace function workouts.update_session(id text, session jsonb)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select workouts_private.update_session(id, session)
$$;

grant execute on function workouts.update_session(text, jsonb) to authenticated;

/**
 * Complete a session in progress, optionally with a final snapshot
 * (400 SESSION_COMPLETED, 404).
 */
create or replace function workouts.complete_session(id text, session jsonb default null)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select workouts_private.complete_session(id, session)
$$;

grant execute on function workouts.complete_session(text, jsonb) to authenticated;
