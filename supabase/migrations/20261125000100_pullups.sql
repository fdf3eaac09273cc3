-- =============================================================================
-- pullups: the pull-up trainer. Sessions of five sets move through
--   planned -> in_progress -> completed | failed
-- One active (planned or in_progress) session per user; finished sessions are
-- immutable. Every transition writes its event to core.events in the same
-- transaction. Clients read their rows through RLS and write only through RPCs.
--
-- Two schemas:
--   pullups          exposed through the API: tables, types and the client RPCs
--                    (security invoker; the reads run under RLS)
--   pullups_private  not exposed: triggers, helpers and the security definer
--                    functions behind the writing RPCs and the service's calls
-- =============================================================================

create schema if not exists pullups;
create schema if not exists pullups_private;
grant usage on schema pullups to anon, authenticated, service_role;
grant usage on schema pullups_private to authenticated, service_role;

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
  start_now boolean not null default false,
  duration_ms integer check (duration_ms >= 0),
  created_at timestamptz not null default now(),
  finished_at timestamptz
);

comment on table pullups.generations is
  'One row per AI generation attempt; session_id is null unless it succeeded. No prompt text.';

create index generations_user_created_idx on pullups.generations (user_id, created_at desc);
-- At most one generation in flight per user: racing requests cannot each pass the
-- active-session check and then collide when they store their sessions.
create unique index generations_one_pending_per_user_idx
  on pullups.generations (user_id) where status = 'pending';
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
values ('pullups.ai', 5, interval '24 hours', false, interval '3 minutes', 403,
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
create or replace function pullups_private.guard_session_update()
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
  for each row execute function pullups_private.guard_session_update();

-- =============================================================================
-- FUNCTIONS: helpers
-- =============================================================================

/**
 * The SessionDTO of a row (camelCase, as the app's API returns it).
 */
create or replace function pullups_private.session_dto(p_session pullups.sessions)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  return (
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
      )
  );
end;
$$;

grant execute on function pullups_private.session_dto(pullups.sessions) to authenticated, service_role;

/**
 * The ETag of a session version: changes whenever the row changes.
 */
create or replace function pullups_private.session_etag(p_session pullups.sessions)
  returns text
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  return (
    select '"' || p_session.id || '.' || p_session.version || '"'
  );
end;
$$;

grant execute on function pullups_private.session_etag(pullups.sessions) to authenticated, service_role;

/**
 * Validate sets given as JSON: an array of exactly five whole numbers 0..60, in any
 * JSON spelling (5, 5.0, 50e-1); 400 VALIDATION_ERROR otherwise. Returns smallint[].
 */
create or replace function pullups_private.parse_sets(p_sets jsonb)
  returns smallint[]
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_item jsonb;
  v_result smallint[] := '{}'::smallint[];
begin
  if jsonb_typeof(p_sets) is distinct from 'array' or jsonb_array_length(p_sets) <> 5 then
    perform core.invalid_field('sets', 'sets must be an array of 5 numbers');
  end if;
  for v_item in select value from jsonb_array_elements(p_sets) loop
    if jsonb_typeof(v_item) <> 'number' or (v_item #>> '{}')::numeric % 1 <> 0
       or (v_item #>> '{}')::numeric not between 0 and 60 then
      perform core.invalid_field('sets',
        'each set must be a whole number of reps between 0 and 60',
        jsonb_build_object('value', v_item));
    end if;
    -- via numeric: 5.0 and 50e-1 are whole numbers too
    v_result := v_result || (v_item #>> '{}')::numeric::smallint;
  end loop;
  return v_result;
end;
$$;


/**
 * Check an RPE argument: null or 1..10.
 */
create or replace function pullups_private.check_rpe(p_rpe integer)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_rpe is not null and p_rpe not between 1 and 10 then
    perform core.invalid_field('rpe', 'rpe must be between 1 and 10',
      jsonb_build_object('value', p_rpe));
  end if;
end;
$$;


/**
 * Check notes: at most 2000 characters.
 */
create or replace function pullups_private.check_notes(p_notes text)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if char_length(p_notes) > 2000 then
    perform core.invalid_field('notes', 'notes must be at most 2000 characters');
  end if;
end;
$$;

/**
 * Check the date of a planned session: today up to 30 days ahead, with one day of
 * slack before today since the user's local "today" may differ from UTC's.
 */
create or replace function pullups_private.check_planned_date(p_date date)
  returns void
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  if p_date not between current_date - 1 and current_date + 30 then
    perform core.invalid_field('session_date',
      'a planned session must be dated today or up to 30 days ahead');
  end if;
end;
$$;

/**
 * Warnings for a session about to be trained on p_date (not errors):
 * REST_PERIOD when the user's last completed/failed session ended less than 24 h
 * before it; MULTIPLE_SAME_DAY when another session is on the same date.
 */
create or replace function pullups_private.session_warnings(
  p_user_id uuid,
  p_date date,
  p_exclude uuid default null
)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  return (
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
        ) w
  );
end;
$$;

/**
 * Lock and return the caller's session, or 404 NOT_FOUND (another user's
 * session is indistinguishable from a missing one).
 */
create or replace function pullups_private.lock_own_session(p_user_id uuid, p_session_id text)
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
create or replace function pullups_private.require_status(
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
create or replace function pullups_private.session_envelope(
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
  perform core.set_header('ETag', pullups_private.session_etag(p_session));
  return jsonb_build_object(
    'data', jsonb_build_object('session', pullups_private.session_dto(p_session)),
    'meta', coalesce(p_meta, '{}'::jsonb)
  );
end;
$$;

grant execute on function pullups_private.session_envelope(pullups.sessions, jsonb)
  to authenticated, service_role;

/**
 * 409 GENERATION_IN_PROGRESS while an AI generation of this user is in flight (and
 * not yet past its reservation TTL): a session made meanwhile would make the AI's
 * answer conflict, and that call would have cost the provider for nothing.
 */
create or replace function pullups_private.refuse_while_generating(p_user_id uuid)
  returns void
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  if exists (
    select from pullups.generations g
     where g.user_id = p_user_id and g.status = 'pending'
       and g.created_at > now() - core.reservation_ttl('pullups.ai')
  ) then
    perform core.api_error(409, 'GENERATION_IN_PROGRESS',
      'An AI generation is running; wait for it before creating or starting a session');
  end if;
end;
$$;

/**
 * Log a pull-up event in core.events.
 */
create or replace function pullups_private.log_session_event(
  p_event_type text,
  p_session pullups.sessions,
  p_data jsonb default '{}'::jsonb
)
  returns void
  language plpgsql
  volatile
  set search_path = ''
as $$
begin
  perform core.log_event('pullups', p_event_type, p_session.user_id, 'session', p_session.id,
      jsonb_build_object('status', p_session.status) || coalesce(p_data, '{}'::jsonb));
end;
$$;

-- =============================================================================
-- FUNCTIONS: the writes behind the client RPCs (security definer; the caller is
-- the JWT's user, checked inside; exposed through the invoker RPCs at the end)
-- =============================================================================

/**
 * Create a session: `planned` (today .. 30 days ahead; becomes the user's one
 * active session, 409 ACTIVE_SESSION_CONFLICT if there is one) or, to log a
 * past workout, `completed` / `failed` (not in the future). 201 with
 * {data: {session}, meta: {warnings}}.
 */
create or replace function pullups_private.create_session(
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
  v_user_id uuid := core.require_existing_user();
  v_date date := core.parse_date(create_session.session_date, 'session_date');
  v_sets smallint[];
  v_status pullups.session_status;
  v_warnings jsonb;
  v_session pullups.sessions;
begin
  if v_date is null then
    perform core.invalid_field('session_date', 'session_date is required');
  end if;
  v_sets := pullups_private.parse_sets(create_session.sets);
  if create_session.status is null
     or create_session.status not in ('planned', 'completed', 'failed') then
    perform core.invalid_field('status', 'status must be planned, completed or failed');
  end if;
  v_status := create_session.status::pullups.session_status;
  perform pullups_private.check_rpe(create_session.rpe);
  perform pullups_private.check_notes(create_session.notes);
  if v_status = 'planned' then
    perform pullups_private.check_planned_date(v_date);
  elsif v_date > current_date + 1 then  -- the same day of time-zone slack
    perform core.invalid_field('session_date',
      'a completed or failed session cannot be dated in the future');
  end if;
  if v_status = 'completed' and 0 = all (v_sets) then
    perform core.api_error(400, 'INVALID_SETS', 'A completed session needs at least one rep');
  end if;

  if v_status = 'planned' then
    perform pullups_private.refuse_while_generating(v_user_id);
  end if;
  v_warnings := pullups_private.session_warnings(v_user_id, v_date);
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
  perform pullups_private.log_session_event('session_created', v_session,
    jsonb_build_object('logged', v_status <> 'planned'));
  perform set_config('response.status', '201', true);
  return pullups_private.session_envelope(v_session, jsonb_build_object('warnings', v_warnings));
end;
$$;

grant execute on function pullups_private.create_session(text, jsonb, text, integer, text) to authenticated;

/**
 * Start a planned session: planned -> in_progress (422 INVALID_STATUS otherwise).
 */
create or replace function pullups_private.start_session(session_id text)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_session pullups.sessions := pullups_private.lock_own_session(v_user_id, start_session.session_id);
  v_warnings jsonb;
begin
  perform pullups_private.require_status(v_session, 'planned', 'start');
  perform pullups_private.refuse_while_generating(v_user_id);
  v_warnings := pullups_private.session_warnings(v_user_id, v_session.session_date, v_session.id);
  update pullups.sessions s
     set status = 'in_progress', started_at = now()
   where s.id = v_session.id
  returning * into v_session;
  perform pullups_private.log_session_event('session_started', v_session);
  return pullups_private.session_envelope(v_session, jsonb_build_object('warnings', v_warnings));
end;
$$;

grant execute on function pullups_private.start_session(text) to authenticated;

/**
 * Complete a session in progress: in_progress -> completed. Optional final sets
 * (kept as stored when omitted) and RPE; at least one rep, else 400 INVALID_SETS.
 */
create or replace function pullups_private.complete_session(
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
  v_user_id uuid := core.require_existing_user();
  v_sets smallint[];
  v_session pullups.sessions;
begin
  if complete_session.sets is not null then
    v_sets := pullups_private.parse_sets(complete_session.sets);
  end if;
  perform pullups_private.check_rpe(complete_session.rpe);
  v_session := pullups_private.lock_own_session(v_user_id, complete_session.session_id);
  perform pullups_private.require_status(v_session, 'in_progress', 'complete');
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
  perform pullups_private.log_session_event('session_completed', v_session,
    jsonb_build_object('totalReps', v_session.total_reps, 'rpe', v_session.rpe));
  return pullups_private.session_envelope(v_session);
end;
$$;

grant execute on function pullups_private.complete_session(text, jsonb, integer) to authenticated;

/**
 * Fail a session in progress (seed 003): in_progress -> failed, sets and RPE
 * kept. The optional reason (<= 500 chars) is stored only in the
 * session_failed event. 200 with Cache-Control: no-store and the new ETag.
 */
create or replace function pullups_private.fail_session(session_id text, reason text default null)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_session pullups.sessions;
begin
  if char_length(fail_session.reason) > 500 then
    perform core.invalid_field('reason', 'reason must be at most 500 characters',
      jsonb_build_object('maxLength', 500));
  end if;
  v_session := pullups_private.lock_own_session(v_user_id, fail_session.session_id);
  perform pullups_private.require_status(v_session, 'in_progress', 'fail');
  update pullups.sessions s
     set status = 'failed', finished_at = now()
   where s.id = v_session.id
  returning * into v_session;
  perform pullups_private.log_session_event('session_failed', v_session,
    jsonb_build_object('reason', nullif(btrim(fail_session.reason), '')));
  return pullups_private.session_envelope(v_session);
end;
$$;

grant execute on function pullups_private.fail_session(text, text) to authenticated;

/**
 * Edit a planned or in-progress session (403 SESSION_IMMUTABLE once finished).
 * Null arguments leave a field unchanged; notes = '' clears the notes. Changing
 * the sets of an AI-generated session marks it modified. With if_match (the
 * ETag from get_session), a stale edit is 409 VERSION_CONFLICT.
 */
create or replace function pullups_private.update_session(
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
  v_user_id uuid := core.require_existing_user();
  v_date date := core.parse_date(update_session.session_date, 'session_date');
  v_sets smallint[];
  v_session pullups.sessions;
begin
  if update_session.sets is not null then
    v_sets := pullups_private.parse_sets(update_session.sets);
  end if;
  perform pullups_private.check_rpe(update_session.rpe);
  perform pullups_private.check_notes(update_session.notes);
  v_session := pullups_private.lock_own_session(v_user_id, update_session.session_id);
  if v_session.status in ('completed', 'failed') then
    perform core.api_error(403, 'SESSION_IMMUTABLE', 'Finished sessions cannot be changed',
      jsonb_build_object('currentStatus', v_session.status));
  end if;
  if update_session.if_match is not null
     and update_session.if_match <> pullups_private.session_etag(v_session) then
    perform core.api_error(409, 'VERSION_CONFLICT',
      'The session changed since you loaded it; reload and try again',
      jsonb_build_object('currentETag', pullups_private.session_etag(v_session)));
  end if;
  if v_date is not null and v_date <> v_session.session_date then
    if v_session.status <> 'planned' then
      perform core.invalid_field('session_date', 'only a planned session can be moved');
    end if;
    perform pullups_private.check_planned_date(v_date);
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
  perform pullups_private.log_session_event('session_updated', v_session);
  return pullups_private.session_envelope(v_session);
end;
$$;

grant execute on function pullups_private.update_session(text, text, jsonb, integer, text, text)
  to authenticated;

/**
 * Delete a planned or in-progress session (403 SESSION_IMMUTABLE once
 * finished: history is kept). 204.
 */
create or replace function pullups_private.delete_session(session_id text)
  returns void
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_session pullups.sessions := pullups_private.lock_own_session(v_user_id, delete_session.session_id);
begin
  if v_session.status in ('completed', 'failed') then
    perform core.api_error(403, 'SESSION_IMMUTABLE', 'Finished sessions cannot be deleted',
      jsonb_build_object('currentStatus', v_session.status));
  end if;
  delete from pullups.sessions s where s.id = v_session.id;
  perform pullups_private.log_session_event('session_deleted', v_session);
end;
$$;

grant execute on function pullups_private.delete_session(text) to authenticated;

-- =============================================================================
-- CLIENT API: reads (exposed; security invoker, so RLS applies)
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
  return pullups_private.session_envelope(v_session);
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
  sort_order text default 'desc',
  page_size integer default 20,
  page_offset integer default 0
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
      perform core.invalid_field('status',
        'status must be a list of planned, in_progress, completed, failed');
    end if;
    v_statuses := list_sessions.status::pullups.session_status[];
  end if;
  if coalesce(list_sessions.sort, '') not in ('session_date', 'created_at', 'total_reps') then
    perform core.invalid_field('sort',
      'sort must be one of session_date, created_at, total_reps');
  end if;
  if coalesce(list_sessions.sort_order, '') not in ('asc', 'desc') then
    perform core.invalid_field('sort_order', 'sort_order must be asc or desc');
  end if;
  perform core.check_paging(list_sessions.page_size, list_sessions.page_offset);
  if v_from > v_to then
    perform core.invalid_field('date_from', 'date_from must not be after date_to');
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
           coalesce((select jsonb_agg(pullups_private.session_dto(p.s) order by p.n) from page p),
                    '[]'::jsonb)
    $q$, list_sessions.sort, case list_sessions.sort_order when 'asc' then 'asc' else 'desc' end)
    into v_total, v_rows
    using v_user_id, v_statuses, v_from, v_to, list_sessions.page_size, list_sessions.page_offset;

  return jsonb_build_object(
    'data', jsonb_build_object('sessions', v_rows),
    'meta', jsonb_build_object('pagination', jsonb_build_object(
      'limit', list_sessions.page_size, 'offset', list_sessions.page_offset, 'total', v_total))
  );
end;
$$;

grant execute on function pullups.list_sessions(text[], text, text, text, text, integer, integer)
  to authenticated;

/**
 * The caller's AI quota: {data: AiQuotaDTO {limit, used, remaining, resetsAt}}.
 * Counts successful generations in the rolling 24 h and those in flight.
 */
create or replace function pullups_private.ai_quota()
  returns jsonb
  language plpgsql
  stable
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
begin
  return jsonb_build_object(
    'data', core.quota_report('pullups.ai', v_user_id),
    'meta', '{}'::jsonb
  );
end;
$$;

grant execute on function pullups_private.ai_quota() to authenticated;

-- =============================================================================
-- FUNCTIONS: AI generation (service-only: called by the Python AI service
-- before and after the provider call through the service API below; never
-- executable by users, so nobody can forge AI output)
-- =============================================================================

/**
 * The GenerationDTO of a row.
 */
create or replace function pullups_private.generation_dto(p_generation pullups.generations)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  return (
    select jsonb_build_object(
        'id', p_generation.id,
        'status', p_generation.status,
        'model', p_generation.model,
        'sessionId', p_generation.session_id,
        'durationMs', p_generation.duration_ms,
        'createdAt', p_generation.created_at,
        'finishedAt', p_generation.finished_at
      )
  );
end;
$$;

/**
 * Close a pending generation as failed: error log, quota slot released,
 * ai_generation_failed event. Shared by finish_generation and the clean-up of
 * generations abandoned by a crashed request.
 */
create or replace function pullups_private.fail_generation(
  p_generation pullups.generations,
  p_status pullups.generation_status,
  p_error_code text,
  p_error_message text,
  p_provider_status integer,
  p_duration_ms integer
)
  returns pullups.generations
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_generation pullups.generations;
begin
  update pullups.generations g
     set status = p_status, duration_ms = p_duration_ms, finished_at = now()
   where g.id = p_generation.id
  returning * into v_generation;
  insert into pullups.generation_error_logs (generation_id, user_id, error_code, error_message,
                                             provider_status)
  values (v_generation.id, v_generation.user_id, left(p_error_code, 100),
          left(p_error_message, 500), p_provider_status);
  if v_generation.quota_reservation_id is not null then
    perform core.quota_settle(v_generation.quota_reservation_id, false);
  end if;
  perform core.log_event('pullups', 'ai_generation_failed', v_generation.user_id, 'generation',
    v_generation.id, jsonb_build_object('status', p_status, 'errorCode', p_error_code,
                                        'model', v_generation.model));
  return v_generation;
end;
$$;

/**
 * Close the pending generations past the pullups.ai reservation TTL (a crashed request's)
 * as ABANDONED: error log, quota slot released, event. Of one user (begin_generation) or
 * of everyone (the sweeper, core.close_abandoned_attempts). Returns how many.
 */
create or replace function pullups_private.close_abandoned(p_user_id uuid default null)
  returns integer
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_generation pullups.generations;
  v_closed integer := 0;
begin
  for v_generation in
    select * from pullups.generations g
     where g.status = 'pending' and (p_user_id is null or g.user_id = p_user_id)
       and g.created_at < now() - core.reservation_ttl('pullups.ai')
       for update skip locked
  loop
    perform pullups_private.fail_generation(v_generation, 'error', 'ABANDONED',
      'The request ended before the generation finished', null, null);
    v_closed := v_closed + 1;
  end loop;
  return v_closed;
end;
$$;

/**
 * Open an AI generation for a user, in one transaction: closes generations a
 * crashed request left pending past the quota reservation TTL; 409
 * ACTIVE_SESSION_CONFLICT / GENERATION_IN_PROGRESS; 400 MISSING_MAX_PULLUPS when
 * the user has no finished session and gives no max; reserves one pullups.ai
 * quota slot (403 AI_LIMIT_REACHED); inserts the pending generation. Returns
 * {generationId, model, context: {maxPullups, startNow, today, history}} with the
 * last 10 finished sessions as the prompt's context.
 */
create or replace function pullups_private.begin_generation(
  user_id uuid,
  model text,
  max_pullups integer default null,
  start_now boolean default false
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := begin_generation.user_id;
  v_history jsonb;
  v_reservation uuid;
  v_generation pullups.generations;
begin
  if v_user_id is null or not exists (select from auth.users u where u.id = v_user_id) then
    perform core.api_error(401, 'UNAUTHORIZED', 'Unknown user');
  end if;
  if begin_generation.model is null or char_length(btrim(begin_generation.model)) = 0
     or char_length(begin_generation.model) > 200 then
    perform core.invalid_field('model', 'model is required');
  end if;
  if begin_generation.max_pullups is not null and begin_generation.max_pullups not between 1 and 60 then
    perform core.invalid_field('maxPullups', 'maxPullups must be between 1 and 60');
  end if;
  -- One begin at a time per user; the partial unique index is the backstop.
  perform pg_advisory_xact_lock(hashtextextended('pullups.generation:' || v_user_id::text, 0));

  perform pullups_private.close_abandoned(v_user_id);

  if exists (select from pullups.sessions s
              where s.user_id = v_user_id and s.status in ('planned', 'in_progress')) then
    perform core.api_error(409, 'ACTIVE_SESSION_CONFLICT',
      'You already have a planned or in-progress session');
  end if;
  if exists (select from pullups.generations g
              where g.user_id = v_user_id and g.status = 'pending') then
    perform core.api_error(409, 'GENERATION_IN_PROGRESS',
      'Another AI generation is still running; try again when it finishes');
  end if;

  select coalesce(jsonb_agg(jsonb_build_object(
           'date', h.session_date, 'status', h.status, 'sets', to_jsonb(h.sets),
           'totalReps', h.total_reps, 'rpe', h.rpe) order by h.session_date desc, h.created_at desc),
         '[]'::jsonb)
    into v_history
    from (select * from pullups.sessions s
           where s.user_id = v_user_id and s.status in ('completed', 'failed')
           order by s.session_date desc, s.created_at desc
           limit 10) h;
  if jsonb_array_length(v_history) = 0 and begin_generation.max_pullups is null then
    perform core.api_error(400, 'MISSING_MAX_PULLUPS',
      'maxPullups is required until you have a completed or failed session',
      jsonb_build_object('field', 'maxPullups'));
  end if;

  v_reservation := core.quota_reserve('pullups.ai', v_user_id);
  perform core.count_ai_attempt(v_user_id);
  insert into pullups.generations (user_id, model, quota_reservation_id, start_now)
  values (v_user_id, begin_generation.model, v_reservation, coalesce(begin_generation.start_now, false))
  returning * into v_generation;

  return jsonb_build_object(
    'generationId', v_generation.id,
    'model', v_generation.model,
    'context', jsonb_build_object(
      'maxPullups', begin_generation.max_pullups,
      'startNow', v_generation.start_now,
      'today', current_date,
      'history', v_history));
end;
$$;

grant execute on function pullups_private.begin_generation(uuid, text, integer, boolean) to service_role;

/**
 * Close an AI generation in one transaction and record every provider call in
 * core.ai_calls. outcome = {status: success|timeout|error, durationMs, sets,
 * aiComment, errorCode, errorMessage, providerStatus, calls: [...]}.
 * Success stores the AI session (planned, or in_progress when startNow), marks
 * the generation, settles the quota slot and logs events; answers 201
 * {data: {session, generation}, meta: {quota, warnings}}. Failure (or output the
 * database rejects, or a session the user created meanwhile) records the error,
 * releases the slot and answers 200 {data: {generation, error}, meta: {quota}}.
 */
create or replace function pullups_private.finish_generation(
  user_id uuid,
  generation_id uuid,
  outcome jsonb
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := finish_generation.user_id;
  v_generation pullups.generations;
  v_call jsonb;
  v_status text := finish_generation.outcome ->> 'status';
  v_duration integer := core.json_count(finish_generation.outcome -> 'durationMs');
  v_error_code text := coalesce(finish_generation.outcome ->> 'errorCode', 'AI_PROVIDER_ERROR');
  v_error_message text := finish_generation.outcome ->> 'errorMessage';
  v_sets smallint[];
  v_comment text := finish_generation.outcome ->> 'aiComment';
  v_session pullups.sessions;
begin
  if v_status is null or v_status not in ('success', 'timeout', 'error') then
    perform core.invalid_field('outcome', 'outcome.status must be success, timeout or error');
  end if;
  select * into v_generation from pullups.generations g
   where g.id = finish_generation.generation_id and g.user_id = v_user_id
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Generation not found');
  end if;

  for v_call in select value from jsonb_array_elements(
      case jsonb_typeof(finish_generation.outcome -> 'calls')
        when 'array' then finish_generation.outcome -> 'calls' else '[]' end)
  loop
    perform core.record_ai_call('pullups', v_user_id, v_generation.id, v_call);
  end loop;

  if v_generation.status <> 'pending' then
    -- Closed already (abandoned after its TTL): keep the call log, change nothing else.
    return jsonb_build_object('data', jsonb_build_object(
      'generation', pullups_private.generation_dto(v_generation),
      'error', jsonb_build_object('code', 'GENERATION_CLOSED')),
      'meta', jsonb_build_object('quota', core.quota_report('pullups.ai', v_user_id)));
  end if;

  if v_status = 'success' then
    begin
      v_sets := pullups_private.parse_sets(finish_generation.outcome -> 'sets');
    exception when sqlstate 'PGRST' then
      v_sets := null;  -- parse_sets' 400 becomes a recorded failure, not a lost attempt
    end;
    if v_sets is null or 0 = all (v_sets) or char_length(v_comment) > 1000 then
      v_status := 'error';
      v_error_code := 'AI_INVALID_OUTPUT';
      v_error_message := 'The model output failed the database checks';
    end if;
  end if;

  if v_status = 'success' then
    begin
      insert into pullups.sessions (user_id, status, session_date, sets, is_ai_generated,
                                    ai_comment, started_at)
      values (v_user_id, case when v_generation.start_now then 'in_progress' else 'planned' end::pullups.session_status,
              current_date, v_sets, true, v_comment,
              case when v_generation.start_now then now() end)
      returning * into v_session;
    exception
      when unique_violation then
        v_status := 'error';
        v_error_code := 'ACTIVE_SESSION_CONFLICT';
        v_error_message := 'A session was created while the generation ran';
      when others then  -- whatever it was, the attempt is closed, not left pending
        v_status := 'error';
        v_error_code := 'STORE_FAILED';
        v_error_message := 'The session could not be stored (' || sqlstate || ')';
    end;
  end if;

  if v_status <> 'success' then
    v_generation := pullups_private.fail_generation(v_generation, v_status::pullups.generation_status,
      v_error_code, v_error_message, core.json_count(finish_generation.outcome -> 'providerStatus'),
      v_duration);
    return jsonb_build_object(
      'data', jsonb_build_object('generation', pullups_private.generation_dto(v_generation),
                                 'error', jsonb_build_object('code', v_error_code)),
      'meta', jsonb_build_object('quota', core.quota_report('pullups.ai', v_user_id)));
  end if;

  update pullups.generations g
     set status = 'success', session_id = v_session.id, duration_ms = v_duration,
         finished_at = now()
   where g.id = v_generation.id
  returning * into v_generation;
  perform core.quota_settle(v_generation.quota_reservation_id, true);
  perform pullups_private.log_session_event('session_created', v_session,
    jsonb_build_object('aiGenerated', true, 'generationId', v_generation.id));
  if v_generation.start_now then
    perform pullups_private.log_session_event('session_started', v_session);
  end if;
  perform core.log_event('pullups', 'ai_generation_succeeded', v_user_id, 'generation',
    v_generation.id, jsonb_build_object('sessionId', v_session.id, 'model', v_generation.model,
                                        'durationMs', v_duration));
  perform set_config('response.status', '201', true);
  return jsonb_build_object(
    'data', jsonb_build_object('session', pullups_private.session_dto(v_session),
                               'generation', pullups_private.generation_dto(v_generation)),
    'meta', jsonb_build_object(
      'quota', core.quota_report('pullups.ai', v_user_id),
      'warnings', pullups_private.session_warnings(v_user_id, v_session.session_date, v_session.id)));
end;
$$;

grant execute on function pullups_private.finish_generation(uuid, uuid, jsonb) to service_role;

-- =============================================================================
-- CLIENT API: writes (exposed; security invoker wrappers of the definer
-- functions above, so the exposed schema holds no security definer function)
-- =============================================================================

/**
 * Create a session: `planned` (today .. 30 days ahead, the user's one active
 * session: 409 ACTIVE_SESSION_CONFLICT if there is one) or a past `completed` /
 * `failed` one. 201 {data: {session}, meta: {warnings}}.
 */
create or replace function pullups.create_session(
  session_date text,
  sets jsonb,
  status text default 'planned',
  rpe integer default null,
  notes text default null
)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select pullups_private.create_session(session_date, sets, status, rpe, notes)
$$;

grant execute on function pullups.create_session(text, jsonb, text, integer, text) to authenticated;

/**
 * Start a planned session: planned -> in_progress (404, 422 INVALID_STATUS).
 */
create or replace function pullups.start_session(session_id text)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select pullups_private.start_session(session_id)
$$;

grant execute on function pullups.start_session(text) to authenticated;

/**
 * Complete a session in progress, optionally with final sets and RPE
 * (400 INVALID_SETS, 404, 422 INVALID_STATUS).
 */
create or replace function pullups.complete_session(
  session_id text,
  sets jsonb default null,
  rpe integer default null
)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select pullups_private.complete_session(session_id, sets, rpe)
$$;

grant execute on function pullups.complete_session(text, jsonb, integer) to authenticated;

/**
 * Fail a session in progress (seed 003); the reason goes only into the
 * session_failed event. Cache-Control: no-store and the new ETag.
 */
create or replace function pullups.fail_session(session_id text, reason text default null)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select pullups_private.fail_session(session_id, reason)
$$;

grant execute on function pullups.fail_session(text, text) to authenticated;

/**
 * Edit a planned or in-progress session (403 SESSION_IMMUTABLE once finished,
 * 409 VERSION_CONFLICT for a stale if_match).
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
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select pullups_private.update_session(session_id, session_date, sets, rpe, notes, if_match)
$$;

grant execute on function pullups.update_session(text, text, jsonb, integer, text, text)
  to authenticated;

/**
 * Delete a planned or in-progress session: 204 (403 SESSION_IMMUTABLE once finished).
 */
create or replace function pullups.delete_session(session_id text)
  returns void
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select pullups_private.delete_session(session_id)
$$;

grant execute on function pullups.delete_session(text) to authenticated;

/**
 * The caller's AI quota: {data: {limit, used, remaining, resetsAt}}.
 */
create or replace function pullups.ai_quota()
  returns jsonb
  language sql
  stable
  security invoker
  set search_path = ''
as $$
  select pullups_private.ai_quota()
$$;

grant execute on function pullups.ai_quota() to authenticated;

-- =============================================================================
-- SERVICE API (exposed, executable by service_role only: the AI service calls
-- these over PostgREST or its direct connection)
-- =============================================================================

/**
 * Open an AI generation for a user (see pullups_private.begin_generation).
 */
create or replace function pullups.begin_generation(
  user_id uuid,
  model text,
  max_pullups integer default null,
  start_now boolean default false
)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select pullups_private.begin_generation(user_id, model, max_pullups, start_now)
$$;

grant execute on function pullups.begin_generation(uuid, text, integer, boolean) to service_role;

/**
 * Close an AI generation with its outcome (see pullups_private.finish_generation).
 */
create or replace function pullups.finish_generation(
  user_id uuid,
  generation_id uuid,
  outcome jsonb
)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select pullups_private.finish_generation(user_id, generation_id, outcome)
$$;

grant execute on function pullups.finish_generation(uuid, uuid, jsonb) to service_role;
