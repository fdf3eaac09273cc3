-- =============================================================================
-- Hot paths with fewer function calls. Every function here keeps
-- `set search_path = ''` (Supabase's Security Advisor flags any function
-- without it), and that SET costs about 5 µs per call site per transaction
-- (the GUC is saved, set and restored, and the search path recomputed).
-- So the reads and writes the apps call most check the caller, parse ids,
-- validate input, write the event and set the response headers inline, and
-- call the existing helpers only on the failure path, where they raise exactly
-- the errors they always did. Workout snapshots are validated and normalised
-- by one set-based query; the per-item walk runs only to name the offending
-- path of an invalid one. Same signatures, answers, errors and grants.
-- =============================================================================

-- =============================================================================
-- WORKOUTS: snapshots
-- =============================================================================

/**
 * workouts_private.normalize_session in one set-based pass: a valid snapshot is
 * checked and normalised by a single query; anything else goes to
 * normalize_session, which walks it item by item to raise the precise
 * 400 VALIDATION_ERROR (the checks here are the same, so it always does).
 */
create or replace function workouts_private.normalized_session(p_session jsonb, p_date date)
  returns jsonb
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_ok boolean;
  v_exercises jsonb;
  v_result jsonb;
begin
  -- CASE, not AND: each check may assume the ones before it held
  v_ok := case
    when jsonb_typeof(p_session) is distinct from 'object' then false
    when octet_length(p_session::text) > 262144 then false
    when p_session ? 'date' and p_session ->> 'date' is distinct from p_date::text then false
    when jsonb_typeof(p_session -> 'exercises') is distinct from 'array' then false
    when jsonb_array_length(p_session -> 'exercises') > 50 then false
    when jsonb_typeof(p_session -> 'plan_name') is distinct from 'string' then false
    when char_length(btrim(p_session ->> 'plan_name')) = 0
      or char_length(p_session ->> 'plan_name') > 200 then false
    when jsonb_typeof(p_session -> 'day_name') is distinct from 'string' then false
    when char_length(btrim(p_session ->> 'day_name')) = 0
      or char_length(p_session ->> 'day_name') > 200 then false
    else true
  end;
  if v_ok then
    select coalesce(bool_and(x.ok), true), coalesce(jsonb_agg(x.item order by x.ord), '[]')
      into v_ok, v_exercises
      from (
        select e.ord,
               case
                 when jsonb_typeof(e.value) <> 'object' then false
                 when jsonb_typeof(e.value -> 'sets') is distinct from 'array' then false
                 when jsonb_array_length(e.value -> 'sets') > 50 then false
                 when jsonb_typeof(e.value -> 'name') is distinct from 'string' then false
                 when char_length(btrim(e.value ->> 'name')) = 0
                   or char_length(e.value ->> 'name') > 200 then false
                 else coalesce(st.ok, true)
               end as ok,
               jsonb_build_object('name', e.value -> 'name',
                                  'sets', coalesce(st.items, '[]')) as item
          from jsonb_array_elements(p_session -> 'exercises') with ordinality as e(value, ord)
          left join lateral (
            select bool_and(
                     case
                       when jsonb_typeof(s.value) <> 'object' then false
                       when jsonb_typeof(s.value -> 'completed') is distinct from 'boolean' then false
                       else
                         -- planned_reps: required whole number 0..1000
                         case when jsonb_typeof(s.value -> 'planned_reps') = 'number'
                              then (s.value ->> 'planned_reps')::numeric between 0 and 1000
                                   and (s.value ->> 'planned_reps')::numeric % 1 = 0
                              else false end
                         -- planned_weight, actual_weight: null or 0..10000
                         and case coalesce(jsonb_typeof(s.value -> 'planned_weight'), 'null')
                               when 'null' then true
                               when 'number' then (s.value ->> 'planned_weight')::numeric
                                                  between 0 and 10000
                               else false end
                         and case coalesce(jsonb_typeof(s.value -> 'actual_weight'), 'null')
                               when 'null' then true
                               when 'number' then (s.value ->> 'actual_weight')::numeric
                                                  between 0 and 10000
                               else false end
                         -- actual_reps: null or whole 0..1000; rest_seconds: null or whole 0..3600
                         and case coalesce(jsonb_typeof(s.value -> 'actual_reps'), 'null')
                               when 'null' then true
                               when 'number' then (s.value ->> 'actual_reps')::numeric
                                                  between 0 and 1000
                                              and (s.value ->> 'actual_reps')::numeric % 1 = 0
                               else false end
                         and case coalesce(jsonb_typeof(s.value -> 'rest_seconds'), 'null')
                               when 'null' then true
                               when 'number' then (s.value ->> 'rest_seconds')::numeric
                                                  between 0 and 3600
                                              and (s.value ->> 'rest_seconds')::numeric % 1 = 0
                               else false end
                     end) as ok,
                   jsonb_agg(jsonb_build_object(
                     'planned_reps', s.value -> 'planned_reps',
                     'planned_weight', s.value -> 'planned_weight',
                     'actual_reps', s.value -> 'actual_reps',
                     'actual_weight', s.value -> 'actual_weight',
                     'rest_seconds', s.value -> 'rest_seconds',
                     'completed', s.value -> 'completed') order by s.ord) as items
              from jsonb_array_elements(case when jsonb_typeof(e.value -> 'sets') = 'array'
                                             then e.value -> 'sets' end)
                   with ordinality as s(value, ord)
          ) st on true
      ) x;
  end if;
  if v_ok then
    -- a missing number and a JSON null both normalise to null
    v_result := jsonb_build_object(
        'plan_name', p_session -> 'plan_name',
        'day_name', p_session -> 'day_name',
        'date', p_date,
        'exercises', v_exercises);
    if octet_length(v_result::text) <= 262144 then
      return v_result;
    end if;
  end if;
  return workouts_private.normalize_session(p_session, p_date);
end;
$$;

-- =============================================================================
-- CORE: dates without a subtransaction
-- =============================================================================

/**
 * Parse a YYYY-MM-DD date given as text (null stays null); 400 VALIDATION_ERROR
 * naming the field when it is not one or lies outside 2000-01-01..2100-12-31.
 * Checked without an exception block, which would open a subtransaction on
 * every call; the errors are the ones the cast used to give.
 */
create or replace function core.parse_date(p_value text, p_field text)
  returns date
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_year integer;
  v_month integer;
  v_day integer;
begin
  if p_value is null then
    return null;
  end if;
  if p_value !~ '^\d{4}-\d{2}-\d{2}$' then
    perform core.invalid_field(p_field, p_field || ' must be a date (YYYY-MM-DD)');
  end if;
  v_year := left(p_value, 4)::integer;
  v_month := substr(p_value, 6, 2)::integer;
  v_day := substr(p_value, 9, 2)::integer;
  if v_year = 0 or v_month not between 1 and 12 or v_day < 1
     or v_day > extract(day from make_date(v_year, v_month, 1) + interval '1 month - 1 day') then
    perform core.invalid_field(p_field, p_field || ' is not a valid date');
  end if;
  if v_year not between 2000 and 2100 then
    perform core.invalid_field(p_field, p_field || ' must be between 2000-01-01 and 2100-12-31');
  end if;
  return make_date(v_year, v_month, v_day);
end;
$$;

grant execute on function core.parse_date(text, text) to authenticated, service_role;

-- =============================================================================
-- WORKOUTS: reads and writes
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
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when get_session.id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then get_session.id::uuid end;
  v_row workouts.training_sessions;
begin
  if v_user_id is null then
    perform core.require_user();  -- 401 UNAUTHORIZED
  end if;
  if v_id is null and get_session.id is not null then
    perform core.parse_uuid(get_session.id, 'id');  -- 400 VALIDATION_ERROR
  end if;
  select * into v_row from workouts.training_sessions s
   where s.id = v_id and s.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('id', get_session.id));
  end if;
  return jsonb_build_object(
    'id', v_row.id, 'plan_id', v_row.plan_id, 'date', v_row.date, 'session', v_row.session,
    'started_at', v_row.started_at, 'ended_at', v_row.ended_at,
    'completed', v_row.ended_at is not null,
    'created_at', v_row.created_at, 'updated_at', v_row.updated_at);
end;
$$;

grant execute on function workouts.get_session(text) to authenticated;

/**
 * Start a session of one of the caller's plans with a snapshot (201): 400
 * PLAN_NOT_FOUND for a plan not theirs or archived, 409 ACTIVE_SESSION_CONFLICT
 * while another is in progress; logs session_started.
 */
create or replace function workouts_private.start_session(plan_id text, date text, session jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_plan_id uuid := case when start_session.plan_id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                         then start_session.plan_id::uuid end;
  v_date date;
  v_snapshot jsonb;
  v_row workouts.training_sessions;
begin
  if v_user_id is null or not exists (select from auth.users u where u.id = v_user_id) then
    perform core.require_existing_user();  -- 401 UNAUTHORIZED
  end if;
  if v_plan_id is null and start_session.plan_id is not null then
    perform core.parse_uuid(start_session.plan_id, 'plan_id');  -- 400 VALIDATION_ERROR
  end if;
  v_date := core.parse_date(start_session.date, 'date');
  if v_plan_id is null or v_date is null then
    perform core.invalid_field(case when v_plan_id is null then 'plan_id' else 'date' end,
      'plan_id and date are required');
  end if;
  v_snapshot := workouts_private.normalized_session(start_session.session, v_date);
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
  insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
  values ('workouts', 'session_started', v_user_id, 'training_session', v_row.id,
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
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when update_session.id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then update_session.id::uuid end;
  v_row workouts.training_sessions;
  v_snapshot jsonb;
begin
  if v_user_id is null or not exists (select from auth.users u where u.id = v_user_id) then
    perform core.require_existing_user();  -- 401 UNAUTHORIZED
  end if;
  if v_id is null and update_session.id is not null then
    perform core.parse_uuid(update_session.id, 'id');  -- 400 VALIDATION_ERROR
  end if;
  select * into v_row from workouts.training_sessions s
   where s.id = v_id and s.user_id = v_user_id
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('id', update_session.id));
  end if;
  if v_row.ended_at is not null then
    perform workouts_private.require_in_progress(v_row);  -- 400 SESSION_COMPLETED
  end if;
  v_snapshot := workouts_private.normalized_session(update_session.session, v_row.date);
  update workouts.training_sessions s set session = v_snapshot
   where s.id = v_row.id
  returning * into v_row;
  insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
  values ('workouts', 'session_updated', v_user_id, 'training_session', v_row.id,
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
                     else workouts_private.normalized_session(complete_session.session, v_row.date) end;
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
-- PULLUPS: reads and writes
-- =============================================================================

/**
 * Sets given as JSON as smallint[] when they are valid (an array of exactly five
 * whole numbers 0..60, in any JSON spelling), else null: parse_sets, which names
 * the error, is then called for the 400.
 */
create or replace function pullups_private.sets_or_null(p_sets jsonb)
  returns smallint[]
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if jsonb_typeof(p_sets) is distinct from 'array' or jsonb_array_length(p_sets) <> 5 then
    return null;
  end if;
  return (
    select case when count(v.reps) = 5 then array_agg(v.reps order by v.ord) end
      from (select a.ord,
                   case when jsonb_typeof(a.item) <> 'number' then null
                        when (a.item #>> '{}')::numeric between 0 and 60
                             and (a.item #>> '{}')::numeric % 1 = 0
                        then (a.item #>> '{}')::numeric::smallint end as reps
              from jsonb_array_elements(p_sets) with ordinality as a(item, ord)) v);
end;
$$;

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
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when get_session.session_id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then get_session.session_id::uuid end;
  v_session pullups.sessions;
begin
  if v_user_id is null then
    perform core.require_user();  -- 401 UNAUTHORIZED
  end if;
  if v_id is null and get_session.session_id is not null then
    perform core.parse_uuid(get_session.session_id, 'session_id');  -- 400 VALIDATION_ERROR
  end if;
  select * into v_session from pullups.sessions s
   where s.id = v_id and s.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('sessionId', get_session.session_id));
  end if;
  perform set_config('response.headers', jsonb_build_array(
      jsonb_build_object('Cache-Control', 'no-store'),
      jsonb_build_object('ETag', '"' || v_session.id || '.' || v_session.version || '"'))::text,
    true);
  return jsonb_build_object(
    'data', jsonb_build_object('session', pullups_private.session_dto(v_session)),
    'meta', '{}'::jsonb);
end;
$$;

grant execute on function pullups.get_session(text) to authenticated;

/**
 * Create a session for the caller (201): planned (today..+30 days) or logged as
 * completed/failed (not in the future); sets are 5 whole numbers 0..60. 409
 * ACTIVE_SESSION_CONFLICT for a second planned or in-progress session, 409
 * GENERATION_IN_PROGRESS while an AI generation runs. Warnings in meta.
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
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_date date;
  v_sets smallint[];
  v_status pullups.session_status;
  v_warnings jsonb;
  v_session pullups.sessions;
begin
  if v_user_id is null or not exists (select from auth.users u where u.id = v_user_id) then
    perform core.require_existing_user();  -- 401 UNAUTHORIZED
  end if;
  v_date := core.parse_date(create_session.session_date, 'session_date');
  if v_date is null then
    perform core.invalid_field('session_date', 'session_date is required');
  end if;
  v_sets := pullups_private.sets_or_null(create_session.sets);
  if v_sets is null then
    v_sets := pullups_private.parse_sets(create_session.sets);  -- 400 VALIDATION_ERROR
  end if;
  if create_session.status is null
     or create_session.status not in ('planned', 'completed', 'failed') then
    perform core.invalid_field('status', 'status must be planned, completed or failed');
  end if;
  v_status := create_session.status::pullups.session_status;
  if create_session.rpe not between 1 and 10 then
    perform pullups_private.check_rpe(create_session.rpe);  -- 400 VALIDATION_ERROR
  end if;
  if char_length(create_session.notes) > 2000 then
    perform pullups_private.check_notes(create_session.notes);  -- 400 VALIDATION_ERROR
  end if;
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
  insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
  values ('pullups', 'session_created', v_user_id, 'session', v_session.id,
          jsonb_build_object('status', v_session.status, 'logged', v_status <> 'planned'));
  perform set_config('response.status', '201', true);
  perform set_config('response.headers', jsonb_build_array(
      jsonb_build_object('Cache-Control', 'no-store'),
      jsonb_build_object('ETag', '"' || v_session.id || '.' || v_session.version || '"'))::text,
    true);
  return jsonb_build_object(
    'data', jsonb_build_object('session', pullups_private.session_dto(v_session)),
    'meta', jsonb_build_object('warnings', v_warnings));
end;
$$;

grant execute on function pullups_private.create_session(text, jsonb, text, integer, text) to authenticated;

/**
 * Edit a planned or in-progress session: date (planned only), sets, rpe, notes
 * ('' clears them), optionally only if it is still the version of if_match
 * (409 VERSION_CONFLICT); 403 SESSION_IMMUTABLE once finished.
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
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when update_session.session_id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then update_session.session_id::uuid end;
  v_date date;
  v_sets smallint[];
  v_session pullups.sessions;
begin
  if v_user_id is null or not exists (select from auth.users u where u.id = v_user_id) then
    perform core.require_existing_user();  -- 401 UNAUTHORIZED
  end if;
  if update_session.session_date is not null then
    v_date := core.parse_date(update_session.session_date, 'session_date');
  end if;
  if update_session.sets is not null then
    v_sets := coalesce(pullups_private.sets_or_null(update_session.sets),
                       pullups_private.parse_sets(update_session.sets));  -- 400 when invalid
  end if;
  if update_session.rpe not between 1 and 10 then
    perform pullups_private.check_rpe(update_session.rpe);  -- 400 VALIDATION_ERROR
  end if;
  if char_length(update_session.notes) > 2000 then
    perform pullups_private.check_notes(update_session.notes);  -- 400 VALIDATION_ERROR
  end if;
  if v_id is null and update_session.session_id is not null then
    perform core.parse_uuid(update_session.session_id, 'session_id');  -- 400 VALIDATION_ERROR
  end if;
  select * into v_session from pullups.sessions s
   where s.id = v_id and s.user_id = v_user_id
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('sessionId', update_session.session_id));
  end if;
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
  insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
  values ('pullups', 'session_updated', v_user_id, 'session', v_session.id,
          jsonb_build_object('status', v_session.status));
  perform set_config('response.headers', jsonb_build_array(
      jsonb_build_object('Cache-Control', 'no-store'),
      jsonb_build_object('ETag', '"' || v_session.id || '.' || v_session.version || '"'))::text,
    true);
  return jsonb_build_object(
    'data', jsonb_build_object('session', pullups_private.session_dto(v_session)),
    'meta', '{}'::jsonb);
end;
$$;

grant execute on function pullups_private.update_session(text, text, jsonb, integer, text, text)
  to authenticated;
