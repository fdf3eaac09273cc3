-- =============================================================================
-- The hot paths of 20261126000500, reviewed: one definition of each rule.
-- The writes go back to the shared helpers (require_existing_user,
-- lock_own_session, the event helpers, parse_sets), which the inlined copies
-- repeated beside them; measured (make bench rpcs, run on both versions), the copies
-- made the writes 5-18 % faster, not worth a second place to change each rule.
-- The two get_session reads keep checking the caller and parsing the id
-- themselves (about 13 µs of a 90 µs read), with the helpers still raising
-- the errors. The envelope's two headers are set in one set_config by
-- session_envelope itself, for every RPC that answers one. The snapshot
-- normaliser checks each rule once. Same signatures, answers, errors, grants.
-- =============================================================================

drop function pullups_private.sets_or_null(jsonb);

-- =============================================================================
-- PULLUPS
-- =============================================================================

/**
 * The ApiEnvelope {data: {session}, meta} of a session, with its ETag and no-store:
 * both headers appended to response.headers in one set_config.
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
  perform set_config('response.headers',
      (coalesce(nullif(current_setting('response.headers', true), '')::jsonb, '[]'::jsonb)
        || jsonb_build_array(
             jsonb_build_object('Cache-Control', 'no-store'),
             jsonb_build_object('ETag', pullups_private.session_etag(p_session))))::text,
      true);
  return jsonb_build_object(
    'data', jsonb_build_object('session', pullups_private.session_dto(p_session)),
    'meta', coalesce(p_meta, '{}'::jsonb)
  );
end;
$$;

grant execute on function pullups_private.session_envelope(pullups.sessions, jsonb)
  to authenticated, service_role;

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
  return pullups_private.session_envelope(v_session);
end;
$$;

grant execute on function pullups.get_session(text) to authenticated;

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

-- =============================================================================
-- WORKOUTS
-- =============================================================================

/**
 * workouts_private.normalize_session in one set-based pass. One query checks every
 * exercise and set; a valid snapshot already in the normalised shape (no field
 * missing or extra, as get_session returns it) comes back as it is, with its date;
 * another valid one is rebuilt by one more query; anything else goes to
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
  v_exact boolean;
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
    select coalesce(bool_and(x.ok), true), coalesce(bool_and(x.exact), true)
      into v_ok, v_exact
      from (
        select case
                 when jsonb_typeof(e.value) <> 'object' then false
                 when jsonb_typeof(e.value -> 'sets') is distinct from 'array' then false
                 when jsonb_array_length(e.value -> 'sets') > 50 then false
                 when jsonb_typeof(e.value -> 'name') is distinct from 'string' then false
                 when char_length(btrim(e.value ->> 'name')) = 0
                   or char_length(e.value ->> 'name') > 200 then false
                 else coalesce(st.ok, true)
               end as ok,
               case when jsonb_typeof(e.value) = 'object'
                    then e.value - '{name,sets}'::text[] = '{}'::jsonb and coalesce(st.exact, true)
                    else false end as exact
          from jsonb_array_elements(p_session -> 'exercises') as e
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
                   -- every field present, nothing else: the normalised shape
                   bool_and(
                     case when jsonb_typeof(s.value) = 'object'
                          then s.value ?& '{planned_reps,planned_weight,actual_reps,actual_weight,rest_seconds,completed}'::text[]
                               and s.value - '{planned_reps,planned_weight,actual_reps,actual_weight,rest_seconds,completed}'::text[] = '{}'::jsonb
                          else false end) as exact
              from jsonb_array_elements(case when jsonb_typeof(e.value -> 'sets') = 'array'
                                             then e.value -> 'sets' end) as s
          ) st on true
      ) x;
  end if;
  if v_ok then
    if v_exact and p_session - '{plan_name,day_name,date,exercises}'::text[] = '{}'::jsonb then
      -- checking is cheaper than rebuilding
      v_result := p_session || jsonb_build_object('date', p_date);
    else
      -- unknown keys dropped; a missing number and a JSON null both become null
      v_result := jsonb_build_object(
        'plan_name', p_session -> 'plan_name',
        'day_name', p_session -> 'day_name',
        'date', p_date,
        'exercises', coalesce((
          select jsonb_agg(jsonb_build_object(
                   'name', e.value -> 'name',
                   'sets', (select coalesce(jsonb_agg(jsonb_build_object(
                                     'planned_reps', s.value -> 'planned_reps',
                                     'planned_weight', s.value -> 'planned_weight',
                                     'actual_reps', s.value -> 'actual_reps',
                                     'actual_weight', s.value -> 'actual_weight',
                                     'rest_seconds', s.value -> 'rest_seconds',
                                     'completed', s.value -> 'completed') order by s.ord), '[]')
                              from jsonb_array_elements(e.value -> 'sets')
                                   with ordinality as s(value, ord))) order by e.ord)
            from jsonb_array_elements(p_session -> 'exercises') with ordinality as e(value, ord)),
          '[]'));
    end if;
    if octet_length(v_result::text) <= 262144 then
      return v_result;
    end if;
  end if;
  return workouts_private.normalize_session(p_session, p_date);
end;
$$;

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
  return workouts_private.session_response(v_row);
end;
$$;

grant execute on function workouts.get_session(text) to authenticated;

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
  v_snapshot := workouts_private.normalized_session(update_session.session, v_row.date);
  update workouts.training_sessions s set session = v_snapshot
   where s.id = v_row.id
  returning * into v_row;
  perform core.log_event('workouts', 'session_updated', v_user_id, 'training_session', v_row.id,
    jsonb_build_object('plan_id', v_row.plan_id));
  return workouts_private.session_response(v_row);
end;
$$;

grant execute on function workouts_private.update_session(text, jsonb) to authenticated;
