-- =============================================================================
-- The fast paths take every valid date. Their date pattern (a form that needs no
-- further check before the cast) stopped at the 28th, the last day every month
-- has, so a date on the 29th, 30th or 31st (about one in ten) took the slower
-- step-by-step path, and a test that wrote "today" found the checked path on
-- those days. The pattern now names each month's own last days; February 29
-- alone still goes the checked way (a leap year is arithmetic, not a pattern).
-- Each function is its previous body with only that pattern changed.
-- =============================================================================

-- =============================================================================
-- pullups: create_session
-- =============================================================================

/**
 * Log a finished session or plan one for the caller (pullups.create_session).
 * The common case in one statement, its warnings included; anything else goes to
 * create_session_checked.
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
  v_date date := case when create_session.session_date ~ '^20\d\d-((0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)$'
                      then create_session.session_date::date end;
  v_sets smallint[] := case when create_session.sets::text ~ '^\[\d{1,2}(, \d{1,2}){4}\]$'
                            then translate(create_session.sets::text, '[]', '{}')::smallint[] end;
  v_planned boolean := create_session.status = 'planned';
  v_at timestamptz;
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
    -- the moment session_warnings compares with (inlined below: a function call costs
    -- more than its three index probes)
    v_at := case when v_date = current_date then now() else v_date::timestamptz end;
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
             'meta', jsonb_build_object('warnings', w.warnings)),
           '"' || i.id || '.' || i.version || '"'
      into v_result, v_etag
      from inserted i
      -- pullups_private.session_warnings(v_user_id, v_date), inline; the statement's
      -- snapshot does not see the row it inserts, as the call before the insert did not
      cross join (
        select case when exists (select from pullups.sessions s
                                  where s.user_id = v_user_id
                                    and s.finished_at > v_at - interval '24 hours'
                                    and s.finished_at <= v_at
                                    and s.status in ('completed', 'failed'))
                         or exists (select from pullups.sessions s
                                     where s.user_id = v_user_id and s.finished_at is null
                                       and s.session_date between (v_at - interval '24 hours')::date - 1
                                                              and v_at::date + 1
                                       and s.session_date::timestamptz > v_at - interval '24 hours'
                                       and s.session_date::timestamptz <= v_at
                                       and s.status in ('completed', 'failed'))
                    then jsonb_build_array(jsonb_build_object(
                           'code', 'REST_PERIOD',
                           'message', 'Less than 24 hours since your last finished session'))
                    else '[]'::jsonb end
               || case when exists (select from pullups.sessions s
                                     where s.user_id = v_user_id and s.session_date = v_date)
                       then jsonb_build_array(jsonb_build_object(
                              'code', 'MULTIPLE_SAME_DAY',
                              'message', 'You already have a session on this day'))
                       else '[]'::jsonb end as warnings
      ) w;
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
-- pullups: update_session
-- =============================================================================

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
  v_date date := case when update_session.session_date ~ '^20\d\d-((0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)$'
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

-- =============================================================================
-- workouts: start_session
-- =============================================================================

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
  v_date date := case when start_session.date ~ '^20\d\d-((0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)$'
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
