-- =============================================================================
-- The two get_session reads (last defined in 20261126001100) build their answer
-- inline, in the query that finds the row, instead of calling the one-row
-- helpers with the whole row. Forming the row value and the nested calls cost
-- 14 µs of a ~80 µs pullups read and 6 µs of a ~60 µs workouts read (measured
-- side by side); make bench rpcs: pullups.get_session 2.35x -> 2.1x,
-- workouts.get_session 2.1x -> 1.95x of the minimal SQL.
--
-- They repeat the shapes of pullups_private.session_envelope (body, ETag,
-- Cache-Control) and workouts_private.session_response, as the page DTOs of
-- 20261126000900 do: tests/test_page_dtos.py fails when a read and its helper
-- give different answers for the same row. Same names, arguments, answers,
-- errors and grants.
-- =============================================================================

-- =============================================================================
-- PULLUPS
-- =============================================================================

/**
 * One of the caller's sessions, with its ETag and Cache-Control: no-store
 * (the answer and headers of pullups_private.session_envelope, built inline).
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
  v_result jsonb;
  v_etag text;
begin
  if v_user_id is null then
    perform core.require_user();  -- 401 UNAUTHORIZED
  end if;
  if v_id is null and get_session.session_id is not null then
    perform core.parse_uuid(get_session.session_id, 'session_id');  -- 400 VALIDATION_ERROR
  end if;
  select jsonb_build_object(
           'data', jsonb_build_object('session', jsonb_build_object(
             'id', s.id,
             'status', s.status,
             'sessionDate', s.session_date,
             'sets', to_jsonb(s.sets),
             'totalReps', s.total_reps,
             'rpe', s.rpe,
             'isAiGenerated', s.is_ai_generated,
             'isModified', s.is_modified,
             'aiComment', s.ai_comment,
             'notes', s.notes,
             'startedAt', s.started_at,
             'finishedAt', s.finished_at,
             'createdAt', s.created_at,
             'updatedAt', s.updated_at)),
           'meta', '{}'::jsonb),
         '"' || s.id || '.' || s.version || '"'
    into v_result, v_etag
    from pullups.sessions s
   where s.id = v_id and s.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('sessionId', get_session.session_id));
  end if;
  perform set_config('response.headers',
      (coalesce(nullif(current_setting('response.headers', true), '')::jsonb, '[]'::jsonb)
        || jsonb_build_array(jsonb_build_object('Cache-Control', 'no-store'),
                             jsonb_build_object('ETag', v_etag)))::text,
      true);
  return v_result;
end;
$$;

grant execute on function pullups.get_session(text) to authenticated;

-- =============================================================================
-- WORKOUTS
-- =============================================================================

/**
 * One of the caller's sessions with its full snapshot (404 otherwise; the
 * SessionResponse of workouts_private.session_response, built inline).
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
  v_result jsonb;
begin
  if v_user_id is null then
    perform core.require_user();  -- 401 UNAUTHORIZED
  end if;
  if v_id is null and get_session.id is not null then
    perform core.parse_uuid(get_session.id, 'id');  -- 400 VALIDATION_ERROR
  end if;
  select jsonb_build_object(
           'id', s.id,
           'plan_id', s.plan_id,
           'date', s.date,
           'session', s.session,
           'started_at', s.started_at,
           'ended_at', s.ended_at,
           'completed', s.ended_at is not null,
           'created_at', s.created_at,
           'updated_at', s.updated_at)
    into v_result
    from workouts.training_sessions s
   where s.id = v_id and s.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('id', get_session.id));
  end if;
  return v_result;
end;
$$;

grant execute on function workouts.get_session(text) to authenticated;
