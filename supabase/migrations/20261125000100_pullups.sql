-- =============================================================================
-- pullups: the pull-up trainer. Sessions of five sets move through
--   planned -> in_progress -> completed | failed
-- One active (planned or in_progress) session per user; finished sessions are
-- immutable. Every transition writes its event to core.events in the same
-- transaction. Clients read their rows through RLS and write only through RPCs.
-- =============================================================================

create schema if not exists pullups;
grant usage on schema pullups to anon, authenticated, service_role;

-- =============================================================================
-- TYPES
-- =============================================================================

create type pullups.session_status as enum ('planned', 'in_progress', 'completed', 'failed');
create type pullups.generation_status as enum ('pending', 'success', 'timeout', 'error');

-- =============================================================================
-- TABLES
-- =============================================================================

create table pullups.sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  status pullups.session_status not null default 'planned',
  session_date date not null,
  sets smallint[] not null
    check (cardinality(sets) = 5 and array_position(sets, null) is null
           and 0 <= all (sets) and 60 >= all (sets)),
  total_reps smallint generated always as (sets[1] + sets[2] + sets[3] + sets[4] + sets[5]) stored,
  rpe smallint check (rpe between 1 and 10),
  is_ai_generated boolean not null default false,
  is_modified boolean not null default false,
  ai_comment text check (char_length(ai_comment) <= 1000),
  notes text check (char_length(notes) <= 2000),
  version integer not null default 1,
  started_at timestamptz,
  finished_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

comment on column pullups.sessions.version is
  'Row version: bumped on every update; the ETag and update_session(if_match) use it.';

-- One active session per user, also under concurrent creates.
create unique index sessions_one_active_per_user_idx
  on pullups.sessions (user_id) where status in ('planned', 'in_progress');
create index sessions_user_date_idx on pullups.sessions (user_id, session_date desc, created_at desc);

create table pullups.generations (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  status pullups.generation_status not null default 'pending',
  model text not null check (char_length(model) <= 200),
  session_id uuid references pullups.sessions (id) on delete set null,
  quota_reservation_id uuid,
  duration_ms integer check (duration_ms >= 0),
  created_at timestamptz not null default now(),
  finished_at timestamptz
);

comment on table pullups.generations is
  'One row per AI generation attempt; session_id is null unless it succeeded. No prompt text.';

create index generations_user_created_idx on pullups.generations (user_id, created_at desc);
create index generations_session_idx on pullups.generations (session_id);

create table pullups.generation_error_logs (
  id uuid primary key default gen_random_uuid(),
  generation_id uuid not null references pullups.generations (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  error_code text not null check (char_length(error_code) <= 100),
  error_message text check (char_length(error_message) <= 500),
  provider_status integer,
  created_at timestamptz not null default now()
);

create index generation_error_logs_generation_idx on pullups.generation_error_logs (generation_id);
create index generation_error_logs_user_idx on pullups.generation_error_logs (user_id, created_at desc);

-- =============================================================================
-- POLICIES: owners read their rows; nobody writes except through the RPCs
-- =============================================================================

alter table pullups.sessions enable row level security;
alter table pullups.generations enable row level security;
alter table pullups.generation_error_logs enable row level security;

revoke all on pullups.sessions, pullups.generations, pullups.generation_error_logs
  from public, anon, authenticated, service_role;
grant select on pullups.sessions, pullups.generations, pullups.generation_error_logs
  to authenticated, service_role;

create policy sessions_owner_read on pullups.sessions
  for select to authenticated using (user_id = (select auth.uid()));
create policy generations_owner_read on pullups.generations
  for select to authenticated using (user_id = (select auth.uid()));
create policy generation_error_logs_owner_read on pullups.generation_error_logs
  for select to authenticated using (user_id = (select auth.uid()));

-- =============================================================================
-- QUOTA: 5 successful AI generations per rolling 24 h; failures give the slot back
-- =============================================================================

insert into core.quota_policies (bucket, max_count, window_length, failures_count,
                                 reservation_ttl, error_status, error_code, error_message)
values ('pullups.ai', 5, interval '24 hours', false, interval '2 minutes', 403,
        'AI_LIMIT_REACHED', 'AI generation limit reached: 5 per 24 hours')
on conflict (bucket) do nothing;

-- =============================================================================
-- FUNCTIONS: table rules (triggers)
-- =============================================================================

/**
 * Guard every UPDATE of a session, whoever issues it: finished sessions are
 * immutable (403 SESSION_IMMUTABLE), status moves only along the state machine
 * (422 INVALID_STATUS); bumps version and updated_at.
 */
create or replace function pullups.guard_session_update()
  returns trigger
  language plpgsql
  set search_path = ''
as $$
begin
  if old.status in ('completed', 'failed') then
    perform core.api_error(403, 'SESSION_IMMUTABLE', 'Finished sessions cannot be changed',
      jsonb_build_object('currentStatus', old.status));
  end if;
  if new.status is distinct from old.status and not (
       (old.status = 'planned' and new.status = 'in_progress')
    or (old.status = 'in_progress' and new.status in ('completed', 'failed'))
  ) then
    perform core.api_error(422, 'INVALID_STATUS',
      format('Cannot move a session from %s to %s', old.status, new.status),
      jsonb_build_object('currentStatus', old.status, 'requestedStatus', new.status));
  end if;
  if new.user_id is distinct from old.user_id or new.id is distinct from old.id then
    perform core.api_error(403, 'FORBIDDEN', 'A session cannot change owner');
  end if;
  new.version := old.version + 1;
  new.updated_at := now();
  return new;
end;
$$;

create trigger sessions_guard_update
  before update on pullups.sessions
  for each row execute function pullups.guard_session_update();

-- =============================================================================
-- FUNCTIONS: helpers
-- =============================================================================

/**
 * The SessionDTO of a row (camelCase, as the app's API returns it).
 */
create or replace function pullups.session_dto(p_session pullups.sessions)
  returns jsonb
  language sql
  stable
  set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_session.id,
    'status', p_session.status,
    'sessionDate', p_session.session_date,
    'sets', to_jsonb(p_session.sets),
    'totalReps', p_session.total_reps,
    'rpe', p_session.rpe,
    'isAiGenerated', p_session.is_ai_generated,
    'isModified', p_session.is_modified,
    'aiComment', p_session.ai_comment,
    'notes', p_session.notes,
    'startedAt', p_session.started_at,
    'finishedAt', p_session.finished_at,
    'createdAt', p_session.created_at,
    'updatedAt', p_session.updated_at
  );
$$;

grant execute on function pullups.session_dto(pullups.sessions) to authenticated, service_role;

/**
 * The ETag of a session version: changes whenever the row changes.
 */
create or replace function pullups.session_etag(p_session pullups.sessions)
  returns text
  language sql
  immutable
  set search_path = ''
as $$
  select '"' || p_session.id || '.' || p_session.version || '"';
$$;

grant execute on function pullups.session_etag(pullups.sessions) to authenticated, service_role;

/**
 * Validate sets given as JSON: an array of exactly five integers 0..60
 * (400 VALIDATION_ERROR otherwise); returns them as smallint[].
 */
create or replace function pullups.parse_sets(p_sets jsonb)
  returns smallint[]
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_item jsonb;
  v_result smallint[] := '{}';
begin
  if jsonb_typeof(p_sets) is distinct from 'array' or jsonb_array_length(p_sets) <> 5 then
    perform core.api_error(400, 'VALIDATION_ERROR', 'sets must be an array of 5 numbers',
      jsonb_build_object('field', 'sets'));
  end if;
  for v_item in select value from jsonb_array_elements(p_sets) loop
    if jsonb_typeof(v_item) <> 'number' or (v_item #>> '{}')::numeric % 1 <> 0
       or (v_item #>> '{}')::numeric not between 0 and 60 then
      perform core.api_error(400, 'VALIDATION_ERROR',
        'each set must be a whole number of reps between 0 and 60',
        jsonb_build_object('field', 'sets', 'value', v_item));
    end if;
    v_result := v_result || (v_item #>> '{}')::smallint;
  end loop;
  return v_result;
end;
$$;

grant execute on function pullups.parse_sets(jsonb) to authenticated, service_role;

/**
 * Check an RPE argument: null or 1..10.
 */
create or replace function pullups.check_rpe(p_rpe integer)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_rpe is not null and p_rpe not between 1 and 10 then
    perform core.api_error(400, 'VALIDATION_ERROR', 'rpe must be between 1 and 10',
      jsonb_build_object('field', 'rpe', 'value', p_rpe));
  end if;
end;
$$;

grant execute on function pullups.check_rpe(integer) to authenticated, service_role;

/**
 * Warnings for a session about to be trained on p_date (not errors):
 * REST_PERIOD when the user's last completed/failed session ended less than 24 h
 * before it; MULTIPLE_SAME_DAY when another session is on the same date.
 */
create or replace function pullups.session_warnings(
  p_user_id uuid,
  p_date date,
  p_exclude uuid default null
)
  returns jsonb
  language sql
  stable
  set search_path = ''
as $$
  with target as (
    select case when p_date = current_date then now() else p_date::timestamptz end as at
  ),
  last_finished as (
    select max(coalesce(s.finished_at, s.session_date::timestamptz)) as at
      from pullups.sessions s, target t
     where s.user_id = p_user_id
       and s.status in ('completed', 'failed')
       and s.id is distinct from p_exclude
       and coalesce(s.finished_at, s.session_date::timestamptz) <= t.at
  )
  select coalesce(jsonb_agg(w.item order by w.ord), '[]'::jsonb)
    from (
      select 1 as ord, jsonb_build_object(
               'code', 'REST_PERIOD',
               'message', 'Less than 24 hours since your last finished session') as item
        from last_finished l, target t
       where l.at > t.at - interval '24 hours'
      union all
      select 2, jsonb_build_object(
               'code', 'MULTIPLE_SAME_DAY',
               'message', 'You already have a session on this day')
       where exists (select from pullups.sessions s
                      where s.user_id = p_user_id and s.session_date = p_date
                        and s.id is distinct from p_exclude)
    ) w;
$$;

/**
 * Lock and return the caller's session, or 404 NOT_FOUND (another user's
 * session is indistinguishable from a missing one).
 */
create or replace function pullups.lock_own_session(p_user_id uuid, p_session_id text)
  returns pullups.sessions
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_session pullups.sessions;
begin
  select * into v_session
    from pullups.sessions s
   where s.id = core.parse_uuid(p_session_id, 'session_id') and s.user_id = p_user_id
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('sessionId', p_session_id));
  end if;
  return v_session;
end;
$$;

/**
 * 422 INVALID_STATUS unless the session is in the status a transition needs.
 */
create or replace function pullups.require_status(
  p_session pullups.sessions,
  p_expected pullups.session_status,
  p_action text
)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_session.status is distinct from p_expected then
    perform core.api_error(422, 'INVALID_STATUS',
      format('Cannot %s a session that is %s', p_action, p_session.status),
      jsonb_build_object('currentStatus', p_session.status, 'requiredStatus', p_expected));
  end if;
end;
$$;

/**
 * The ApiEnvelope {data: {session}, meta} of a session, with its ETag and no-store.
 */
create or replace function pullups.session_envelope(
  p_session pullups.sessions,
  p_meta jsonb default '{}'::jsonb
)
  returns jsonb
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  perform core.set_header('Cache-Control', 'no-store');
  perform core.set_header('ETag', pullups.session_etag(p_session));
  return jsonb_build_object(
    'data', jsonb_build_object('session', pullups.session_dto(p_session)),
    'meta', coalesce(p_meta, '{}'::jsonb)
  );
end;
$$;

grant execute on function pullups.session_envelope(pullups.sessions, jsonb)
  to authenticated, service_role;

/**
 * Log a pull-up event in core.events.
 */
create or replace function pullups.log_session_event(
  p_event_type text,
  p_session pullups.sessions,
  p_data jsonb default '{}'::jsonb
)
  returns void
  language sql
  volatile
  set search_path = ''
as $$
  select core.log_event('pullups', p_event_type, p_session.user_id, 'session', p_session.id,
    jsonb_build_object('status', p_session.status) || coalesce(p_data, '{}'::jsonb));
$$;

-- =============================================================================
-- FUNCTIONS: client RPCs (writes: security definer, owner checked inside)
-- =============================================================================

/**
 * Create a session: `planned` (today .. 30 days ahead; becomes the user's one
 * active session, 409 ACTIVE_SESSION_CONFLICT if there is one) or, to log a
 * past workout, `completed` / `failed` (not in the future). 201 with
 * {data: {session}, meta: {warnings}}.
 */
create or replace function pullups.create_session(
  session_date text,
  sets jsonb,
  status text default 'planned',
  rpe integer default null,
  notes text default null
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_date date := core.parse_date(create_session.session_date, 'session_date');
  v_sets smallint[];
  v_status pullups.session_status;
  v_warnings jsonb;
  v_session pullups.sessions;
begin
  if v_date is null then
    perform core.api_error(400, 'VALIDATION_ERROR', 'session_date is required',
      jsonb_build_object('field', 'session_date'));
  end if;
  v_sets := pullups.parse_sets(create_session.sets);
  if create_session.status is null
     or create_session.status not in ('planned', 'completed', 'failed') then
    perform core.api_error(400, 'VALIDATION_ERROR',
      'status must be planned, completed or failed', jsonb_build_object('field', 'status'));
  end if;
  v_status := create_session.status::pullups.session_status;
  perform pullups.check_rpe(create_session.rpe);
  if char_length(create_session.notes) > 2000 then
    perform core.api_error(400, 'VALIDATION_ERROR', 'notes must be at most 2000 characters',
      jsonb_build_object('field', 'notes'));
  end if;
  -- One day of slack either way: the user's local "today" may differ from UTC's.
  if v_status = 'planned' and v_date not between current_date - 1 and current_date + 30 then
    perform core.api_error(400, 'VALIDATION_ERROR',
      'a planned session must be dated today or up to 30 days ahead',
      jsonb_build_object('field', 'session_date'));
  end if;
  if v_status <> 'planned' and v_date > current_date + 1 then
    perform core.api_error(400, 'VALIDATION_ERROR',
      'a completed or failed session cannot be dated in the future',
      jsonb_build_object('field', 'session_date'));
  end if;
  if v_status = 'completed' and 0 = all (v_sets) then
    perform core.api_error(400, 'INVALID_SETS', 'A completed session needs at least one rep');
  end if;

  v_warnings := pullups.session_warnings(v_user_id, v_date);
  begin
    insert into pullups.sessions (user_id, status, session_date, sets, rpe, notes)
    values (v_user_id, v_status, v_date, v_sets, create_session.rpe, create_session.notes)
    returning * into v_session;
  exception when unique_violation then
    perform core.api_error(409, 'ACTIVE_SESSION_CONFLICT',
      'You already have a planned or in-progress session',
      (select jsonb_build_object('activeSessionId', s.id, 'activeStatus', s.status)
         from pullups.sessions s
        where s.user_id = v_user_id and s.status in ('planned', 'in_progress')));
  end;
  perform pullups.log_session_event('session_created', v_session,
    jsonb_build_object('logged', v_status <> 'planned'));
  perform set_config('response.status', '201', true);
  return pullups.session_envelope(v_session, jsonb_build_object('warnings', v_warnings));
end;
$$;

grant execute on function pullups.create_session(text, jsonb, text, integer, text) to authenticated;

/**
 * Start a planned session: planned -> in_progress (422 INVALID_STATUS otherwise).
 */
create or replace function pullups.start_session(session_id text)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_session pullups.sessions := pullups.lock_own_session(v_user_id, start_session.session_id);
  v_warnings jsonb;
begin
  perform pullups.require_status(v_session, 'planned', 'start');
  v_warnings := pullups.session_warnings(v_user_id, v_session.session_date, v_session.id);
  update pullups.sessions s
     set status = 'in_progress', started_at = now()
   where s.id = v_session.id
  returning * into v_session;
  perform pullups.log_session_event('session_started', v_session);
  return pullups.session_envelope(v_session, jsonb_build_object('warnings', v_warnings));
end;
$$;

grant execute on function pullups.start_session(text) to authenticated;

/**
 * Complete a session in progress: in_progress -> completed. Optional final sets
 * (kept as stored when omitted) and RPE; at least one rep, else 400 INVALID_SETS.
 */
create or replace function pullups.complete_session(
  session_id text,
  sets jsonb default null,
  rpe integer default null
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_sets smallint[];
  v_session pullups.sessions;
begin
  if complete_session.sets is not null then
    v_sets := pullups.parse_sets(complete_session.sets);
  end if;
  perform pullups.check_rpe(complete_session.rpe);
  v_session := pullups.lock_own_session(v_user_id, complete_session.session_id);
  perform pullups.require_status(v_session, 'in_progress', 'complete');
  v_sets := coalesce(v_sets, v_session.sets);
  if 0 = all (v_sets) then
    perform core.api_error(400, 'INVALID_SETS', 'A completed session needs at least one rep');
  end if;
  update pullups.sessions s
     set status = 'completed',
         sets = v_sets,
         rpe = coalesce(complete_session.rpe, s.rpe),
         is_modified = s.is_modified or (s.is_ai_generated and s.sets is distinct from v_sets),
         finished_at = now()
   where s.id = v_session.id
  returning * into v_session;
  perform pullups.log_session_event('session_completed', v_session,
    jsonb_build_object('totalReps', v_session.total_reps, 'rpe', v_session.rpe));
  return pullups.session_envelope(v_session);
end;
$$;

grant execute on function pullups.complete_session(text, jsonb, integer) to authenticated;

/**
 * Fail a session in progress (seed 003): in_progress -> failed, sets and RPE
 * kept. The optional reason (<= 500 chars) is stored only in the
 * session_failed event. 200 with Cache-Control: no-store and the new ETag.
 */
create or replace function pullups.fail_session(session_id text, reason text default null)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_session pullups.sessions;
begin
  if char_length(fail_session.reason) > 500 then
    perform core.api_error(400, 'VALIDATION_ERROR', 'reason must be at most 500 characters',
      jsonb_build_object('field', 'reason', 'maxLength', 500));
  end if;
  v_session := pullups.lock_own_session(v_user_id, fail_session.session_id);
  perform pullups.require_status(v_session, 'in_progress', 'fail');
  update pullups.sessions s
     set status = 'failed', finished_at = now()
   where s.id = v_session.id
  returning * into v_session;
  perform pullups.log_session_event('session_failed', v_session,
    jsonb_build_object('reason', nullif(btrim(fail_session.reason), '')));
  return pullups.session_envelope(v_session);
end;
$$;

grant execute on function pullups.fail_session(text, text) to authenticated;

/**
 * Edit a planned or in-progress session (403 SESSION_IMMUTABLE once finished).
 * Null arguments leave a field unchanged; notes = '' clears the notes. Changing
 * the sets of an AI-generated session marks it modified. With if_match (the
 * ETag from get_session), a stale edit is 409 VERSION_CONFLICT.
 */
create or replace function pullups.update_session(
  session_id text,
  session_date text default null,
  sets jsonb default null,
  rpe integer default null,
  notes text default null,
  if_match text default null
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_date date := core.parse_date(update_session.session_date, 'session_date');
  v_sets smallint[];
  v_session pullups.sessions;
begin
  if update_session.sets is not null then
    v_sets := pullups.parse_sets(update_session.sets);
  end if;
  perform pullups.check_rpe(update_session.rpe);
  if char_length(update_session.notes) > 2000 then
    perform core.api_error(400, 'VALIDATION_ERROR', 'notes must be at most 2000 characters',
      jsonb_build_object('field', 'notes'));
  end if;
  v_session := pullups.lock_own_session(v_user_id, update_session.session_id);
  if v_session.status in ('completed', 'failed') then
    perform core.api_error(403, 'SESSION_IMMUTABLE', 'Finished sessions cannot be changed',
      jsonb_build_object('currentStatus', v_session.status));
  end if;
  if update_session.if_match is not null
     and update_session.if_match <> pullups.session_etag(v_session) then
    perform core.api_error(409, 'VERSION_CONFLICT',
      'The session changed since you loaded it; reload and try again',
      jsonb_build_object('currentETag', pullups.session_etag(v_session)));
  end if;
  if v_date is not null and v_date <> v_session.session_date
     and (v_session.status <> 'planned' or v_date not between current_date - 1 and current_date + 30) then
    perform core.api_error(400, 'VALIDATION_ERROR',
      'only a planned session can be moved, to today or up to 30 days ahead',
      jsonb_build_object('field', 'session_date'));
  end if;
  update pullups.sessions s
     set session_date = coalesce(v_date, s.session_date),
         sets = coalesce(v_sets, s.sets),
         rpe = coalesce(update_session.rpe, s.rpe),
         notes = case when update_session.notes is null then s.notes
                      else nullif(update_session.notes, '') end,
         is_modified = s.is_modified
           or (s.is_ai_generated and v_sets is not null and v_sets is distinct from s.sets)
   where s.id = v_session.id
  returning * into v_session;
  perform pullups.log_session_event('session_updated', v_session);
  return pullups.session_envelope(v_session);
end;
$$;

grant execute on function pullups.update_session(text, text, jsonb, integer, text, text)
  to authenticated;

/**
 * Delete a planned or in-progress session (403 SESSION_IMMUTABLE once
 * finished: history is kept). 204.
 */
create or replace function pullups.delete_session(session_id text)
  returns void
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_session pullups.sessions := pullups.lock_own_session(v_user_id, delete_session.session_id);
begin
  if v_session.status in ('completed', 'failed') then
    perform core.api_error(403, 'SESSION_IMMUTABLE', 'Finished sessions cannot be deleted',
      jsonb_build_object('currentStatus', v_session.status));
  end if;
  delete from pullups.sessions s where s.id = v_session.id;
  perform pullups.log_session_event('session_deleted', v_session);
end;
$$;

grant execute on function pullups.delete_session(text) to authenticated;

-- =============================================================================
-- FUNCTIONS: client RPCs (reads: security invoker, RLS applies)
-- =============================================================================

/**
 * One of the caller's sessions, with its ETag and Cache-Control: no-store.
 */
create or replace function pullups.get_session(session_id text)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_session pullups.sessions;
begin
  select * into v_session from pullups.sessions s
   where s.id = core.parse_uuid(get_session.session_id, 'session_id') and s.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('sessionId', get_session.session_id));
  end if;
  return pullups.session_envelope(v_session);
end;
$$;

grant execute on function pullups.get_session(text) to authenticated;

/**
 * The caller's sessions, filtered by status (any of) and date range, sorted by a
 * whitelisted column: {data: {sessions}, meta: {pagination: {limit, offset, total}}}.
 */
create or replace function pullups.list_sessions(
  status text[] default null,
  date_from text default null,
  date_to text default null,
  sort text default 'session_date',
  "order" text default 'desc',
  "limit" integer default 20,
  "offset" integer default 0
)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_from date := core.parse_date(list_sessions.date_from, 'date_from');
  v_to date := core.parse_date(list_sessions.date_to, 'date_to');
  v_statuses pullups.session_status[];
  v_total bigint;
  v_rows jsonb;
begin
  if list_sessions.status is not null then
    if exists (select from unnest(list_sessions.status) x
                where x is null or x not in ('planned', 'in_progress', 'completed', 'failed')) then
      perform core.api_error(400, 'VALIDATION_ERROR',
        'status must be a list of planned, in_progress, completed, failed',
        jsonb_build_object('field', 'status'));
    end if;
    v_statuses := list_sessions.status::pullups.session_status[];
  end if;
  if coalesce(list_sessions.sort, '') not in ('session_date', 'created_at', 'total_reps') then
    perform core.api_error(400, 'VALIDATION_ERROR',
      'sort must be one of session_date, created_at, total_reps',
      jsonb_build_object('field', 'sort'));
  end if;
  if coalesce(list_sessions."order", '') not in ('asc', 'desc') then
    perform core.api_error(400, 'VALIDATION_ERROR', 'order must be asc or desc',
      jsonb_build_object('field', 'order'));
  end if;
  perform core.check_paging(list_sessions."limit", list_sessions."offset");
  if v_from > v_to then
    perform core.api_error(400, 'VALIDATION_ERROR', 'date_from must not be after date_to',
      jsonb_build_object('field', 'date_from'));
  end if;

  execute format($q$
    with filtered as (
      select s from pullups.sessions s
       where s.user_id = $1
         and ($2 is null or s.status = any ($2))
         and ($3 is null or s.session_date >= $3)
         and ($4 is null or s.session_date <= $4)
    ),
    page as (
      select f.s, row_number() over (order by (f.s).%1$I %2$s, (f.s).created_at %2$s, (f.s).id) as n
        from filtered f
       order by n
       limit $5 offset $6
    )
    select (select count(*) from filtered),
           coalesce((select jsonb_agg(pullups.session_dto(p.s) order by p.n) from page p),
                    '[]'::jsonb)
    $q$, list_sessions.sort, list_sessions."order")
    into v_total, v_rows
    using v_user_id, v_statuses, v_from, v_to, list_sessions."limit", list_sessions."offset";

  return jsonb_build_object(
    'data', jsonb_build_object('sessions', v_rows),
    'meta', jsonb_build_object('pagination', jsonb_build_object(
      'limit', list_sessions."limit", 'offset', list_sessions."offset", 'total', v_total))
  );
end;
$$;

grant execute on function pullups.list_sessions(text[], text, text, text, text, integer, integer)
  to authenticated;

/**
 * The caller's AI quota: {data: AiQuotaDTO {limit, used, remaining, resetsAt}}.
 * Counts successful generations in the rolling 24 h and those in flight.
 */
create or replace function pullups.ai_quota()
  returns jsonb
  language plpgsql
  stable
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
begin
  return jsonb_build_object(
    'data', core.quota_report('pullups.ai', v_user_id),
    'meta', '{}'::jsonb
  );
end;
$$;

grant execute on function pullups.ai_quota() to authenticated;
