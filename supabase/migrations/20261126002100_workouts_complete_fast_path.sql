-- =============================================================================
-- workouts.complete_session, the last write of a workout, the way start_session
-- and update_session are written (20261126001400): the common case in one
-- statement (the row, its event and the answer; the rules that need the row in
-- the WHERE, the snapshot checked in the SET only for the caller's session in
-- progress, as the checked order has it), anything else to
-- complete_session_checked, its previous body. make bench rpcs: 1.62-1.75x the
-- minimal SQL with the helper chain. The answers are the same
-- (tests/test_write_fast_paths.py compares both paths).
-- =============================================================================

-- =============================================================================
-- WORKOUTS
-- =============================================================================

/**
 * complete_session step by step (its previous body): every check in the
 * documented order, each raising its error. Only the fast path below calls it,
 * with whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function workouts_private.complete_session_checked(id text, session jsonb default null)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_row workouts.training_sessions := workouts_private.lock_own_session(v_user_id, complete_session_checked.id);
  v_snapshot jsonb;
begin
  perform workouts_private.require_in_progress(v_row);
  v_snapshot := case when complete_session_checked.session is null then v_row.session
                     else workouts_private.normalized_session(complete_session_checked.session,
                                                              v_row.date, v_row.session) end;
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

/**
 * Complete the caller's session in progress, optionally with a final snapshot
 * (workouts.complete_session): sets ended_at = now() and logs session_completed.
 * The common case in one statement; anything else goes to
 * complete_session_checked.
 */
create or replace function workouts_private.complete_session(id text, session jsonb default null)
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
  v_id uuid := case when complete_session.id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then complete_session.id::uuid end;
  v_result jsonb;
begin
  if v_user_id is not null and v_id is not null then
    with updated as (
      update workouts.training_sessions s
         set session = case when complete_session.session is null then s.session
                            else workouts_private.normalized_session(complete_session.session,
                                                                     s.date, s.session) end,
             ended_at = greatest(now(), s.started_at)
       where s.id = v_id and s.user_id = v_user_id and s.ended_at is null
      returning s.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'workouts', 'session_completed', u.user_id, 'training_session', u.id,
             jsonb_build_object(
               'plan_id', u.plan_id,
               'duration_seconds', floor(extract(epoch from u.ended_at - u.started_at)),
               'sets_completed', (select count(*)
                                    from jsonb_array_elements(u.session -> 'exercises') e,
                                         jsonb_array_elements(e -> 'sets') st
                                   where (st ->> 'completed')::boolean))
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
  return workouts_private.complete_session_checked(complete_session.id, complete_session.session);
end;
$$;

grant execute on function workouts_private.complete_session(text, jsonb) to authenticated;
