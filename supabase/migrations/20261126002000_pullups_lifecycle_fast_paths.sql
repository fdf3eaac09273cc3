-- =============================================================================
-- The pull-up lifecycle writes (start, complete, fail, delete) the way the hot
-- writes are written since 20261126001400: the common case in one statement
-- (the row, its event and the answer, every rule that needs the row in the
-- WHERE), anything else to the step-by-step function each replaces, now
-- <name>_checked with the same body, which runs every check in the documented
-- order and raises the precise error. A training session is create, start and
-- complete: with the helper chain, start took 2.27x and complete 2.07x the
-- minimal SQL (make bench rpcs), against 1.55-1.67x for create and update.
--
-- A session row of the caller implies the caller still exists (sessions go with
-- their user, on delete cascade), so finding it stands for require_existing_user.
-- The answers are the same (tests/test_write_fast_paths.py compares both paths).
-- =============================================================================

-- =============================================================================
-- PULLUPS: start
-- =============================================================================

/**
 * start_session step by step (its previous body): every check in the documented
 * order, each raising its error. Only the fast path below calls it, with
 * whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function pullups_private.start_session_checked(session_id text)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_session pullups.sessions := pullups_private.lock_own_session(v_user_id, start_session_checked.session_id);
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

/**
 * Start a planned session of the caller (pullups.start_session): planned ->
 * in_progress, with the warnings of session_warnings in meta. The common case in
 * one statement, its warnings included; anything else goes to
 * start_session_checked.
 */
create or replace function pullups_private.start_session(session_id text)
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
  v_id uuid := case when start_session.session_id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then start_session.session_id::uuid end;
  v_result jsonb;
  v_etag text;
begin
  if v_user_id is not null and v_id is not null then
    with updated as (
      update pullups.sessions s
         set status = 'in_progress', started_at = now()
       where s.id = v_id and s.user_id = v_user_id and s.status = 'planned'
         -- refuse_while_generating
         and not exists (select from pullups.generations g
                          where g.user_id = v_user_id and g.status = 'pending'
                            and g.created_at > now() - core.reservation_ttl('pullups.ai'))
      returning s.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'pullups', 'session_started', u.user_id, 'session', u.id,
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
             'meta', jsonb_build_object('warnings', w.warnings)),
           '"' || u.id || '.' || u.version || '"'
      into v_result, v_etag
      from updated u
      -- pullups_private.session_warnings(v_user_id, u.session_date, u.id), inline; the
      -- statement's snapshot sees the row as it was, as the call before the update did
      cross join lateral (
        select case when u.session_date = current_date then now()
                    else u.session_date::timestamptz end as at
      ) a
      cross join lateral (
        select case when exists (select from pullups.sessions s
                                  where s.user_id = v_user_id
                                    and s.finished_at > a.at - interval '24 hours'
                                    and s.finished_at <= a.at
                                    and s.status in ('completed', 'failed')
                                    and s.id <> u.id)
                         or exists (select from pullups.sessions s
                                     where s.user_id = v_user_id and s.finished_at is null
                                       and s.session_date between (a.at - interval '24 hours')::date - 1
                                                              and a.at::date + 1
                                       and s.session_date::timestamptz > a.at - interval '24 hours'
                                       and s.session_date::timestamptz <= a.at
                                       and s.status in ('completed', 'failed')
                                       and s.id <> u.id)
                    then jsonb_build_array(jsonb_build_object(
                           'code', 'REST_PERIOD',
                           'message', 'Less than 24 hours since your last finished session'))
                    else '[]'::jsonb end
               || case when exists (select from pullups.sessions s
                                     where s.user_id = v_user_id
                                       and s.session_date = u.session_date
                                       and s.id <> u.id)
                       then jsonb_build_array(jsonb_build_object(
                              'code', 'MULTIPLE_SAME_DAY',
                              'message', 'You already have a session on this day'))
                       else '[]'::jsonb end as warnings
      ) w;
    if found then
      perform set_config('response.headers',
          (coalesce(nullif(current_setting('response.headers', true), '')::jsonb, '[]'::jsonb)
            || jsonb_build_array(jsonb_build_object('Cache-Control', 'no-store'),
                                 jsonb_build_object('ETag', v_etag)))::text,
          true);
      return v_result;
    end if;
  end if;
  return pullups_private.start_session_checked(start_session.session_id);
end;
$$;

grant execute on function pullups_private.start_session(text) to authenticated;

-- =============================================================================
-- PULLUPS: complete
-- =============================================================================

/**
 * complete_session step by step (its previous body): every check in the
 * documented order, each raising its error. Only the fast path below calls it,
 * with whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function pullups_private.complete_session_checked(
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
  if complete_session_checked.sets is not null then
    v_sets := pullups_private.parse_sets(complete_session_checked.sets);
  end if;
  perform pullups_private.check_rpe(complete_session_checked.rpe);
  v_session := pullups_private.lock_own_session(v_user_id, complete_session_checked.session_id);
  perform pullups_private.require_status(v_session, 'in_progress', 'complete');
  v_sets := coalesce(v_sets, v_session.sets);
  if 0 = all (v_sets) then
    perform core.api_error(400, 'INVALID_SETS', 'A completed session needs at least one rep');
  end if;
  update pullups.sessions s
     set status = 'completed',
         sets = v_sets,
         rpe = coalesce(complete_session_checked.rpe, s.rpe),
         is_modified = s.is_modified or (s.is_ai_generated and s.sets is distinct from v_sets),
         finished_at = now()
   where s.id = v_session.id
  returning * into v_session;
  perform pullups_private.log_session_event('session_completed', v_session,
    jsonb_build_object('totalReps', v_session.total_reps, 'rpe', v_session.rpe));
  return pullups_private.session_envelope(v_session);
end;
$$;

/**
 * Complete a session in progress of the caller (pullups.complete_session):
 * in_progress -> completed, with optional final sets and RPE. The common case in
 * one statement; anything else goes to complete_session_checked.
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
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when complete_session.session_id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then complete_session.session_id::uuid end;
  -- five whole numbers of reps as jsonb prints them (see update_session)
  v_sets smallint[] := case when complete_session.sets::text ~ '^\[\d{1,2}(, \d{1,2}){4}\]$'
                            then translate(complete_session.sets::text, '[]', '{}')::smallint[] end;
  v_result jsonb;
  v_etag text;
begin
  if v_user_id is not null and v_id is not null
     and (v_sets is not null and 60 >= all (v_sets) or complete_session.sets is null)
     and coalesce(complete_session.rpe between 1 and 10, true) then
    with updated as (
      update pullups.sessions s
         set status = 'completed',
             sets = coalesce(v_sets, s.sets),
             rpe = coalesce(complete_session.rpe, s.rpe),
             is_modified = s.is_modified
               or (s.is_ai_generated and s.sets is distinct from coalesce(v_sets, s.sets)),
             finished_at = now()
       where s.id = v_id and s.user_id = v_user_id and s.status = 'in_progress'
         and not (0 = all (coalesce(v_sets, s.sets)))
      returning s.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'pullups', 'session_completed', u.user_id, 'session', u.id,
             jsonb_build_object('status', u.status, 'totalReps', u.total_reps, 'rpe', u.rpe)
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
  return pullups_private.complete_session_checked(complete_session.session_id,
      complete_session.sets, complete_session.rpe);
end;
$$;

grant execute on function pullups_private.complete_session(text, jsonb, integer) to authenticated;

-- =============================================================================
-- PULLUPS: fail
-- =============================================================================

/**
 * fail_session step by step (its previous body): every check in the documented
 * order, each raising its error. Only the fast path below calls it, with
 * whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function pullups_private.fail_session_checked(session_id text, reason text default null)
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
  if char_length(fail_session_checked.reason) > 500 then
    perform core.invalid_field('reason', 'reason must be at most 500 characters',
      jsonb_build_object('maxLength', 500));
  end if;
  v_session := pullups_private.lock_own_session(v_user_id, fail_session_checked.session_id);
  perform pullups_private.require_status(v_session, 'in_progress', 'fail');
  update pullups.sessions s
     set status = 'failed', finished_at = now()
   where s.id = v_session.id
  returning * into v_session;
  perform pullups_private.log_session_event('session_failed', v_session,
    jsonb_build_object('reason', nullif(btrim(fail_session_checked.reason), '')));
  return pullups_private.session_envelope(v_session);
end;
$$;

/**
 * Fail a session in progress of the caller (pullups.fail_session, seed 003):
 * in_progress -> failed, sets and RPE kept, the reason only in the event. The
 * common case in one statement; anything else goes to fail_session_checked.
 */
create or replace function pullups_private.fail_session(session_id text, reason text default null)
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
  v_id uuid := case when fail_session.session_id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then fail_session.session_id::uuid end;
  v_result jsonb;
  v_etag text;
begin
  if v_user_id is not null and v_id is not null
     and coalesce(char_length(fail_session.reason) <= 500, true) then
    with updated as (
      update pullups.sessions s
         set status = 'failed', finished_at = now()
       where s.id = v_id and s.user_id = v_user_id and s.status = 'in_progress'
      returning s.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'pullups', 'session_failed', u.user_id, 'session', u.id,
             jsonb_build_object('status', u.status,
                                'reason', nullif(btrim(fail_session.reason), ''))
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
  return pullups_private.fail_session_checked(fail_session.session_id, fail_session.reason);
end;
$$;

grant execute on function pullups_private.fail_session(text, text) to authenticated;

-- =============================================================================
-- PULLUPS: delete
-- =============================================================================

/**
 * delete_session step by step (its previous body): every check in the documented
 * order, each raising its error. Only the fast path below calls it, with
 * whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function pullups_private.delete_session_checked(session_id text)
  returns void
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_session pullups.sessions := pullups_private.lock_own_session(v_user_id, delete_session_checked.session_id);
begin
  if v_session.status in ('completed', 'failed') then
    perform core.api_error(403, 'SESSION_IMMUTABLE', 'Finished sessions cannot be deleted',
      jsonb_build_object('currentStatus', v_session.status));
  end if;
  delete from pullups.sessions s where s.id = v_session.id;
  perform pullups_private.log_session_event('session_deleted', v_session);
end;
$$;

/**
 * Delete a planned or in-progress session of the caller (pullups.delete_session;
 * 403 SESSION_IMMUTABLE once finished). The common case in one statement;
 * anything else goes to delete_session_checked.
 */
create or replace function pullups_private.delete_session(session_id text)
  returns void
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when delete_session.session_id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then delete_session.session_id::uuid end;
  v_deleted uuid;
begin
  if v_user_id is not null and v_id is not null then
    with deleted as (
      delete from pullups.sessions s
       where s.id = v_id and s.user_id = v_user_id and s.status in ('planned', 'in_progress')
      returning s.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'pullups', 'session_deleted', d.user_id, 'session', d.id,
             jsonb_build_object('status', d.status)
        from deleted d
    )
    select d.id into v_deleted from deleted d;
    if v_deleted is not null then
      return;
    end if;
  end if;
  perform pullups_private.delete_session_checked(delete_session.session_id);
end;
$$;

grant execute on function pullups_private.delete_session(text) to authenticated;
