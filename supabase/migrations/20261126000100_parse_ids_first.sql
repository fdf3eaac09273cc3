-- =============================================================================
-- Ids are parsed before the lookup that uses them, so a malformed id is always
-- 400 VALIDATION_ERROR. Written inside the WHERE clause, the check ran only when
-- the planner evaluated it: at planning time in a custom plan, but per row in a
-- generic one (plpgsql switches after a few calls on a connection), so for a
-- user with no rows a malformed id became 404 NOT_FOUND. Same functions,
-- same grants; only the order of evaluation changes.
-- =============================================================================


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
  v_id uuid := core.parse_uuid(p_session_id, 'session_id');
begin
  select * into v_session
    from pullups.sessions s
   where s.id = v_id and s.user_id = p_user_id
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('sessionId', p_session_id));
  end if;
  return v_session;
end;
$$;

/**
 * Lock and return the caller's session, or 404 NOT_FOUND (another user's
 * session looks exactly like a missing one).
 */
create or replace function workouts_private.lock_own_session(p_user_id uuid, p_id text)
  returns workouts.training_sessions
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_session workouts.training_sessions;
  v_id uuid := core.parse_uuid(p_id, 'id');
begin
  select * into v_session
    from workouts.training_sessions s
   where s.id = v_id and s.user_id = p_user_id
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found', jsonb_build_object('id', p_id));
  end if;
  return v_session;
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
  v_user_id uuid := core.require_user();
  v_session pullups.sessions;
  v_id uuid := core.parse_uuid(get_session.session_id, 'session_id');
begin
  select * into v_session from pullups.sessions s
   where s.id = v_id and s.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('sessionId', get_session.session_id));
  end if;
  return pullups_private.session_envelope(v_session);
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
  v_user_id uuid := core.require_user();
  v_row workouts.training_sessions;
  v_id uuid := core.parse_uuid(get_session.id, 'id');
begin
  select * into v_row from workouts.training_sessions s
   where s.id = v_id and s.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Session not found',
      jsonb_build_object('id', get_session.id));
  end if;
  return workouts_private.session_response(v_row);
end;
$$;

/**
 * One of the caller's generation sessions with its input text and candidates
 * (404 otherwise): {data: {session, input_text, candidates}}.
 */
create or replace function flashcards.get_ai_session(session_id text)
  returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_session flashcards.ai_generation_sessions;
  v_id uuid := core.parse_uuid(get_ai_session.session_id, 'session_id');
begin
  select * into v_session from flashcards.ai_generation_sessions s
   where s.id = v_id
     and s.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Generation session not found',
      jsonb_build_object('sessionId', get_ai_session.session_id));
  end if;
  return jsonb_build_object('data', jsonb_build_object(
    'session', flashcards_private.session_summary(v_session),
    'input_text', v_session.input_text,
    'candidates', coalesce((
      select jsonb_agg(jsonb_build_object(
               'id', c.id, 'position', c.position, 'front', c.front, 'back', c.back,
               'prompt', c.prompt, 'status', c.status, 'flashcard_id', c.flashcard_id,
               'reviewed_at', c.reviewed_at) order by c.position)
        from flashcards.candidates c where c.session_id = v_session.id), '[]'::jsonb)));
end;
$$;

/**
 * One of the caller's plans: PlanResponse; 404 NOT_FOUND otherwise.
 */
create or replace function workouts.get_plan(id text)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_row workouts.plans;
  v_id uuid := core.parse_uuid(get_plan.id, 'id');
begin
  select * into v_row from workouts.plans p
   where p.id = v_id and p.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Plan not found',
      jsonb_build_object('id', get_plan.id));
  end if;
  return workouts_private.plan_response(v_row);
end;
$$;
