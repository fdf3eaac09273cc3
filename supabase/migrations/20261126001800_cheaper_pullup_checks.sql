-- =============================================================================
-- pullups.create_session and pullups.update_session: cheaper checks, same
-- meaning. UUID patterns are case-sensitive listing A-F (~ instead of ~*), and
-- the headers are written as text when none are set yet (no jsonb parse and
-- print). make bench rpcs, two runs each: update 1.55-1.58x -> 1.53-1.56x,
-- create 1.63-1.65x -> 1.60-1.61x the minimal SQL (runs of the same code differ
-- by about 0.03). Parsing the arguments inside the statement instead of before
-- it was tried and was slower (1.63x and 1.67-1.70x). Same names, arguments,
-- answers, errors and grants (20261126001400 and 20261126001600 before).
-- =============================================================================

-- =============================================================================
-- PULLUPS
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
  v_user_id uuid := case when v_sub ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when update_session.session_id ~ '^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$'
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
          case when coalesce(current_setting('response.headers', true), '') = ''
               then '[{"Cache-Control": "no-store"}, {"ETag": ' || to_json(v_etag)::text || '}]'
               else (current_setting('response.headers', true)::jsonb
                     || jsonb_build_array(jsonb_build_object('Cache-Control', 'no-store'),
                                          jsonb_build_object('ETag', v_etag)))::text
          end,
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
  v_user_id uuid := case when v_sub ~ '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
                         then v_sub::uuid end;
  -- the forms that need no further check (see update_session)
  v_date date := case when create_session.session_date ~ '^20\d\d-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])$'
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
      perform set_config('response.status', '201', true),
              set_config('response.headers',
          case when coalesce(current_setting('response.headers', true), '') = ''
               then '[{"Cache-Control": "no-store"}, {"ETag": ' || to_json(v_etag)::text || '}]'
               else (current_setting('response.headers', true)::jsonb
                     || jsonb_build_array(jsonb_build_object('Cache-Control', 'no-store'),
                                          jsonb_build_object('ETag', v_etag)))::text
          end,
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
