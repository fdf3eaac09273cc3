-- =============================================================================
-- Writes in one statement when nothing is wrong. A write RPC ran a chain of
-- plpgsql helpers (claims, user, id, sets, row lock, event, envelope); each
-- one is set up again in every transaction (6-36 µs apiece by track_functions)
-- and together they cost more than the write itself. Each write below now
-- checks its arguments with plain expressions, then updates or inserts the row,
-- logs the event and builds the answer in one statement whose WHERE holds
-- every rule that needs the row. Anything that statement does not finish (an
-- argument in an unusual but valid form, a rule that fails, a missing row, a
-- concurrent change) writes nothing and goes to the step-by-step function it
-- replaces, now <name>_checked with the same body: it runs every check in
-- the documented order and raises the precise error, or writes when all pass. The answers are
-- the same (tests/test_write_fast_paths.py compares both paths).
-- =============================================================================

-- =============================================================================
-- PULLUPS
-- =============================================================================

/**
 * Warnings for a session about to be trained on p_date (not errors):
 * REST_PERIOD when one of the user's completed/failed sessions ended in the 24 h
 * before it (a logged session, without finished_at, ends at the start of its
 * date); MULTIPLE_SAME_DAY when another session is on the same date. p_exclude:
 * a session not to compare with (the one being written). The same three index
 * probes as before, now in one query (one executor start instead of three).
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
declare
  v_at timestamptz := case when p_date = current_date then now() else p_date::timestamptz end;
  v_warnings jsonb;
begin
  select case when w.rest_period
              then jsonb_build_array(jsonb_build_object(
                     'code', 'REST_PERIOD',
                     'message', 'Less than 24 hours since your last finished session'))
              else '[]'::jsonb end
         || case when w.same_day
                 then jsonb_build_array(jsonb_build_object(
                        'code', 'MULTIPLE_SAME_DAY',
                        'message', 'You already have a session on this day'))
                 else '[]'::jsonb end
    into v_warnings
    from (select exists (select from pullups.sessions s
                          where s.user_id = p_user_id
                            and s.finished_at > v_at - interval '24 hours'
                            and s.finished_at <= v_at
                            and s.status in ('completed', 'failed')
                            and s.id is distinct from p_exclude)
                 or exists (select from pullups.sessions s
                             where s.user_id = p_user_id and s.finished_at is null
                               -- the index range (a day of slack either side for any
                               -- time zone), then the exact window
                               and s.session_date between (v_at - interval '24 hours')::date - 1
                                                      and v_at::date + 1
                               and s.session_date::timestamptz > v_at - interval '24 hours'
                               and s.session_date::timestamptz <= v_at
                               and s.status in ('completed', 'failed')
                               and s.id is distinct from p_exclude) as rest_period,
                 exists (select from pullups.sessions s
                          where s.user_id = p_user_id and s.session_date = p_date
                            and s.id is distinct from p_exclude) as same_day) w;
  return v_warnings;
end;
$$;

/**
 * update_session step by step (its previous body): every check in the documented
 * order, each raising its error. Only the fast path below calls it, with
 * whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function pullups_private.update_session_checked(
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
  v_date date := core.parse_date(update_session_checked.session_date, 'session_date');
  v_sets smallint[];
  v_session pullups.sessions;
begin
  if update_session_checked.sets is not null then
    v_sets := pullups_private.parse_sets(update_session_checked.sets);
  end if;
  perform pullups_private.check_rpe(update_session_checked.rpe);
  perform pullups_private.check_notes(update_session_checked.notes);
  v_session := pullups_private.lock_own_session(v_user_id, update_session_checked.session_id);
  if v_session.status in ('completed', 'failed') then
    perform core.api_error(403, 'SESSION_IMMUTABLE', 'Finished sessions cannot be changed',
      jsonb_build_object('currentStatus', v_session.status));
  end if;
  if update_session_checked.if_match is not null
     and update_session_checked.if_match <> pullups_private.session_etag(v_session) then
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
         rpe = coalesce(update_session_checked.rpe, s.rpe),
         notes = case when update_session_checked.notes is null then s.notes
                      else nullif(update_session_checked.notes, '') end,
         is_modified = s.is_modified
           or (s.is_ai_generated and v_sets is not null and v_sets is distinct from s.sets)
   where s.id = v_session.id
  returning * into v_session;
  perform pullups_private.log_session_event('session_updated', v_session);
  return pullups_private.session_envelope(v_session);
end;
$$;

/**
 * Change a planned or in-progress session of the caller (pullups.update_session).
 * The common case in one statement; anything else goes to update_session_checked.
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
  -- the forms that need no further check (days 01-28 exist in every month;
  -- five whole numbers of reps as jsonb prints them); others go the checked way
  v_date date := case when update_session.session_date ~ '^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])$'
                      then update_session.session_date::date end;
  v_sets smallint[] := case when update_session.sets::text ~ '^\[\d{1,2}(, \d{1,2}){4}\]$'
                            then translate(update_session.sets::text, '[]', '{}')::smallint[] end;
  v_result jsonb;
  v_etag text;
begin
  if v_user_id is not null and v_id is not null
     and (v_date is not null or update_session.session_date is null)
     and (v_sets is not null and 60 >= all (v_sets) or update_session.sets is null)
     and coalesce(update_session.rpe between 1 and 10, true)
     and coalesce(char_length(update_session.notes) <= 2000, true) then
    with updated as (
      update pullups.sessions s
         set session_date = coalesce(v_date, s.session_date),
             sets = coalesce(v_sets, s.sets),
             rpe = coalesce(update_session.rpe, s.rpe),
             notes = case when update_session.notes is null then s.notes
                          else nullif(update_session.notes, '') end,
             is_modified = s.is_modified
               or (s.is_ai_generated and v_sets is not null and v_sets is distinct from s.sets)
       where s.id = v_id and s.user_id = v_user_id
         and s.status not in ('completed', 'failed')
         and (update_session.if_match is null
              or update_session.if_match = '"' || s.id || '.' || s.version || '"')
         and (v_date is null or v_date = s.session_date
              or s.status = 'planned' and v_date between current_date - 1 and current_date + 30)
      returning s.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'pullups', 'session_updated', u.user_id, 'session', u.id,
             jsonb_build_object('status', u.status)
        from updated u
    )
    select jsonb_build_object(
             'data', jsonb_build_object('session', jsonb_build_object(
               'id', u.id,
               'status', u.status,
               'sessionDate', u.session_date,
               'sets', to_jsonb(u.sets),
               'totalReps', u.total_reps,
               'rpe', u.rpe,
               'isAiGenerated', u.is_ai_generated,
               'isModified', u.is_modified,
               'aiComment', u.ai_comment,
               'notes', u.notes,
               'startedAt', u.started_at,
               'finishedAt', u.finished_at,
               'createdAt', u.created_at,
               'updatedAt', u.updated_at)),
             'meta', '{}'::jsonb),
           '"' || u.id || '.' || u.version || '"'
      into v_result, v_etag
      from updated u;
    if found then
      perform set_config('response.headers',
          (coalesce(nullif(current_setting('response.headers', true), '')::jsonb, '[]'::jsonb)
            || jsonb_build_array(jsonb_build_object('Cache-Control', 'no-store'),
                                 jsonb_build_object('ETag', v_etag)))::text,
          true);
      return v_result;
    end if;
  end if;
  return pullups_private.update_session_checked(update_session.session_id,
      update_session.session_date, update_session.sets, update_session.rpe,
      update_session.notes, update_session.if_match);
end;
$$;

grant execute on function pullups_private.update_session(text, text, jsonb, integer, text, text)
  to authenticated;


/**
 * create_session step by step (its previous body): every check in the documented
 * order, each raising its error. Only the fast path below calls it, with
 * whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function pullups_private.create_session_checked(
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
  v_date date := core.parse_date(create_session_checked.session_date, 'session_date');
  v_sets smallint[];
  v_status pullups.session_status;
  v_warnings jsonb;
  v_session pullups.sessions;
begin
  if v_date is null then
    perform core.invalid_field('session_date', 'session_date is required');
  end if;
  v_sets := pullups_private.parse_sets(create_session_checked.sets);
  if create_session_checked.status is null
     or create_session_checked.status not in ('planned', 'completed', 'failed') then
    perform core.invalid_field('status', 'status must be planned, completed or failed');
  end if;
  v_status := create_session_checked.status::pullups.session_status;
  perform pullups_private.check_rpe(create_session_checked.rpe);
  perform pullups_private.check_notes(create_session_checked.notes);
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
    values (v_user_id, v_status, v_date, v_sets, create_session_checked.rpe, create_session_checked.notes)
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

/**
 * Log a finished session or plan one for the caller (pullups.create_session).
 * The common case in one statement; anything else goes to create_session_checked.
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
  -- the forms that need no further check (see update_session)
  v_date date := case when create_session.session_date ~ '^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])$'
                      then create_session.session_date::date end;
  v_sets smallint[] := case when create_session.sets::text ~ '^\[\d{1,2}(, \d{1,2}){4}\]$'
                            then translate(create_session.sets::text, '[]', '{}')::smallint[] end;
  v_planned boolean := create_session.status = 'planned';
  v_warnings jsonb;
  v_result jsonb;
  v_etag text;
begin
  if v_user_id is not null and v_date is not null
     and v_sets is not null and 60 >= all (v_sets)
     and create_session.status in ('planned', 'completed', 'failed')
     and coalesce(create_session.rpe between 1 and 10, true)
     and coalesce(char_length(create_session.notes) <= 2000, true)
     and (case when v_planned then v_date between current_date - 1 and current_date + 30
               else v_date <= current_date + 1 end)
     and not (create_session.status = 'completed' and 0 = all (v_sets)) then
    v_warnings := pullups_private.session_warnings(v_user_id, v_date);
    with inserted as (
      insert into pullups.sessions as s (user_id, status, session_date, sets, rpe, notes)
      select v_user_id, create_session.status::pullups.session_status, v_date, v_sets,
             create_session.rpe, create_session.notes
       where exists (select from auth.users u where u.id = v_user_id)
         and not (v_planned and exists (
               select from pullups.generations g
                where g.user_id = v_user_id and g.status = 'pending'
                  and g.created_at > now() - core.reservation_ttl('pullups.ai')))
      on conflict (user_id) where s.status in ('planned', 'in_progress') do nothing
      returning s.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'pullups', 'session_created', i.user_id, 'session', i.id,
             jsonb_build_object('status', i.status, 'logged', not v_planned)
        from inserted i
    )
    select jsonb_build_object(
             'data', jsonb_build_object('session', jsonb_build_object(
               'id', i.id,
               'status', i.status,
               'sessionDate', i.session_date,
               'sets', to_jsonb(i.sets),
               'totalReps', i.total_reps,
               'rpe', i.rpe,
               'isAiGenerated', i.is_ai_generated,
               'isModified', i.is_modified,
               'aiComment', i.ai_comment,
               'notes', i.notes,
               'startedAt', i.started_at,
               'finishedAt', i.finished_at,
               'createdAt', i.created_at,
               'updatedAt', i.updated_at)),
             'meta', jsonb_build_object('warnings', v_warnings)),
           '"' || i.id || '.' || i.version || '"'
      into v_result, v_etag
      from inserted i;
    if found then
      perform set_config('response.status', '201', true);
      perform set_config('response.headers',
          (coalesce(nullif(current_setting('response.headers', true), '')::jsonb, '[]'::jsonb)
            || jsonb_build_array(jsonb_build_object('Cache-Control', 'no-store'),
                                 jsonb_build_object('ETag', v_etag)))::text,
          true);
      return v_result;
    end if;
  end if;
  return pullups_private.create_session_checked(create_session.session_date,
      create_session.sets, create_session.status, create_session.rpe, create_session.notes);
end;
$$;

grant execute on function pullups_private.create_session(text, jsonb, text, integer, text)
  to authenticated;

-- =============================================================================
-- WORKOUTS
-- =============================================================================

/**
 * update_session step by step (its previous body): every check in the documented
 * order, each raising its error. Only the fast path below calls it, with
 * whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function workouts_private.update_session_checked(id text, session jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_row workouts.training_sessions := workouts_private.lock_own_session(v_user_id, update_session_checked.id);
  v_snapshot jsonb;
begin
  perform workouts_private.require_in_progress(v_row);
  v_snapshot := workouts_private.normalized_session(update_session_checked.session, v_row.date);
  update workouts.training_sessions s set session = v_snapshot
   where s.id = v_row.id
  returning * into v_row;
  perform core.log_event('workouts', 'session_updated', v_user_id, 'training_session', v_row.id,
    jsonb_build_object('plan_id', v_row.plan_id));
  return workouts_private.session_response(v_row);
end;
$$;

/**
 * Replace the snapshot of the caller's session in progress (workouts.update_session).
 * The common case in one statement: the snapshot is checked (400 VALIDATION_ERROR)
 * only once the row is known to be the caller's and in progress, as the checked
 * order has it; anything else goes to update_session_checked.
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
  v_result jsonb;
begin
  if v_user_id is not null and v_id is not null then
    with updated as (
      update workouts.training_sessions s
         set session = workouts_private.normalized_session(update_session.session, s.date)
       where s.id = v_id and s.user_id = v_user_id and s.ended_at is null
      returning s.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'workouts', 'session_updated', u.user_id, 'training_session', u.id,
             jsonb_build_object('plan_id', u.plan_id)
        from updated u
    )
    select jsonb_build_object(
             'id', u.id,
             'plan_id', u.plan_id,
             'date', u.date,
             'session', u.session,
             'started_at', u.started_at,
             'ended_at', u.ended_at,
             'completed', u.ended_at is not null,
             'created_at', u.created_at,
             'updated_at', u.updated_at)
      into v_result
      from updated u;
    if found then
      return v_result;
    end if;
  end if;
  return workouts_private.update_session_checked(update_session.id, update_session.session);
end;
$$;

grant execute on function workouts_private.update_session(text, jsonb) to authenticated;


/**
 * start_session step by step (its previous body): every check in the documented
 * order, each raising its error. Only the fast path below calls it, with
 * whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function workouts_private.start_session_checked(plan_id text, date text, session jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_plan_id uuid := core.parse_uuid(start_session_checked.plan_id, 'plan_id');
  v_date date := core.parse_date(start_session_checked.date, 'date');
  v_snapshot jsonb;
  v_row workouts.training_sessions;
begin
  if v_plan_id is null or v_date is null then
    perform core.invalid_field(case when v_plan_id is null then 'plan_id' else 'date' end,
      'plan_id and date are required');
  end if;
  v_snapshot := workouts_private.normalized_session(start_session_checked.session, v_date);
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

/**
 * Start a session of one of the caller's plans (workouts.start_session). The
 * common case in one statement: the snapshot is checked (400 VALIDATION_ERROR)
 * once the plan is known to be the caller's, which the checked order would
 * raise too; anything else (no such plan, a session already in progress, an
 * argument in another form) goes to start_session_checked.
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
  -- a form that needs no further check (see pullups_private.update_session)
  v_date date := case when start_session.date ~ '^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])$'
                      then start_session.date::date end;
  v_result jsonb;
begin
  if v_user_id is not null and v_plan_id is not null and v_date is not null then
    with plan as (
      select p.id
        from workouts.plans p
       where p.id = v_plan_id and p.user_id = v_user_id and not p.archived
         for update
    ), inserted as (
      insert into workouts.training_sessions as s (user_id, plan_id, date, session)
      select v_user_id, plan.id, v_date,
             workouts_private.normalized_session(start_session.session, v_date)
        from plan
      on conflict (user_id) where s.ended_at is null do nothing
      returning s.*
    ), flagged as (
      update workouts.plans p set has_sessions = true
        from inserted i
       where p.id = i.plan_id and not p.has_sessions
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'workouts', 'session_started', i.user_id, 'training_session', i.id,
             jsonb_build_object('plan_id', i.plan_id, 'date', i.date)
        from inserted i
    )
    select jsonb_build_object(
             'id', i.id,
             'plan_id', i.plan_id,
             'date', i.date,
             'session', i.session,
             'started_at', i.started_at,
             'ended_at', i.ended_at,
             'completed', i.ended_at is not null,
             'created_at', i.created_at,
             'updated_at', i.updated_at)
      into v_result
      from inserted i;
    if found then
      perform set_config('response.status', '201', true);
      return v_result;
    end if;
  end if;
  return workouts_private.start_session_checked(start_session.plan_id, start_session.date,
      start_session.session);
end;
$$;

grant execute on function workouts_private.start_session(text, text, jsonb) to authenticated;
