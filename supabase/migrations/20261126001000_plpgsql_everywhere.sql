-- =============================================================================
-- Every `language sql` function of the project in plpgsql: the client RPCs'
-- one-line wrappers, core's small helpers (json_count, pagination,
-- reservation_ttl, total_cap) and three DTO builders.
--
-- A sql function with `set search_path` cannot be inlined, and Postgres 15
-- parses and plans its body again at every call that is not folded at plan
-- time; plpgsql keeps its plans for the session. Measured (pg_stat_user_functions
-- over 300 POST /sessions/ai): core.json_count, called 8 times per request by
-- finish_generation's call records, took 33 µs a call, 264 of the ~1,200 µs the
-- request spends in Postgres; a wrapper around a write cost ~20 µs (make bench
-- rpcs). Same names, arguments, answers, errors and grants; the search_path
-- stays pinned (Supabase's Security Advisor, lint 0011).
-- =============================================================================

-- =============================================================================
-- CORE
-- =============================================================================

/**
 * How long a bucket's unsettled reservation counts, which is also how long an attempt may
 * stay pending before it is closed as abandoned (3 minutes for a bucket without a policy).
 */
create or replace function core.reservation_ttl(p_bucket text)
  returns interval
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  return coalesce(
    (select p.reservation_ttl from core.quota_policies p where p.bucket = p_bucket),
    interval '3 minutes');
end;
$$;

/**
 * A whole number 0..2^31-1 from a JSON value (a number, in any spelling), else null:
 * what the service sends is data, and a bad field must not fail the write it is part of.
 */
create or replace function core.json_count(p_value jsonb)
  returns integer
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  return case
    when jsonb_typeof(p_value) = 'number' and (p_value #>> '{}')::numeric % 1 = 0
         and (p_value #>> '{}')::numeric between 0 and 2147483647
      then (p_value #>> '{}')::numeric::integer
  end;
end;
$$;

grant execute on function core.json_count(jsonb) to service_role;

/**
 * How many rows past page_offset a list counts before its total stops being
 * exact: 1,000, fifty pages of 20 ahead.
 */
create or replace function core.total_cap()
  returns integer
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  return 1000;
end;
$$;

grant execute on function core.total_cap() to authenticated, service_role;

/**
 * A list's pagination object from `counted`, the matching rows counted with
 * `limit page_offset + core.total_cap() + 1`: {limit, offset, total, total_capped}.
 * Up to the cap, total is exact and total_capped false; past it, total is
 * page_offset + core.total_cap() (there are more) and total_capped true.
 */
create or replace function core.pagination(page_size integer, page_offset integer, counted bigint)
  returns jsonb
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  return jsonb_build_object(
    'limit', pagination.page_size, 'offset', pagination.page_offset,
    'total', least(pagination.counted, pagination.page_offset + core.total_cap()),
    'total_capped', pagination.counted > pagination.page_offset + core.total_cap());
end;
$$;

grant execute on function core.pagination(integer, integer, bigint) to authenticated, service_role;

-- =============================================================================
-- PULLUPS
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
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return pullups_private.create_session(session_date, sets, status, rpe, notes);
end;
$$;

grant execute on function pullups.create_session(text, jsonb, text, integer, text) to authenticated;

/**
 * Start a planned session: planned -> in_progress (404, 422 INVALID_STATUS).
 */
create or replace function pullups.start_session(session_id text)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return pullups_private.start_session(session_id);
end;
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
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return pullups_private.complete_session(session_id, sets, rpe);
end;
$$;

grant execute on function pullups.complete_session(text, jsonb, integer) to authenticated;

/**
 * Fail a session in progress (seed 003); the reason goes only into the
 * session_failed event. Cache-Control: no-store and the new ETag.
 */
create or replace function pullups.fail_session(session_id text, reason text default null)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return pullups_private.fail_session(session_id, reason);
end;
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
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return pullups_private.update_session(session_id, session_date, sets, rpe, notes, if_match);
end;
$$;

grant execute on function pullups.update_session(text, text, jsonb, integer, text, text) to authenticated;

/**
 * Delete a planned or in-progress session: 204 (403 SESSION_IMMUTABLE once finished).
 */
create or replace function pullups.delete_session(session_id text)
  returns void
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  perform pullups_private.delete_session(session_id);
end;
$$;

grant execute on function pullups.delete_session(text) to authenticated;

/**
 * The caller's AI quota: {data: {limit, used, remaining, resetsAt}}.
 */
create or replace function pullups.ai_quota()
  returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
begin
  return pullups_private.ai_quota();
end;
$$;

grant execute on function pullups.ai_quota() to authenticated;

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
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return pullups_private.begin_generation(user_id, model, max_pullups, start_now);
end;
$$;

grant execute on function pullups.begin_generation(uuid, text, integer, boolean) to service_role;

/**
 * Close an AI generation with its outcome (see pullups_private.finish_generation).
 */
create or replace function pullups.finish_generation(user_id uuid, generation_id uuid, outcome jsonb)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return pullups_private.finish_generation(user_id, generation_id, outcome);
end;
$$;

grant execute on function pullups.finish_generation(uuid, uuid, jsonb) to service_role;

-- =============================================================================
-- WORKOUTS
-- =============================================================================

/**
 * Start a session from one of the caller's plans with a snapshot of it: 201
 * SessionResponse; 400 VALIDATION_ERROR / PLAN_NOT_FOUND; 409 ACTIVE_SESSION_CONFLICT.
 */
create or replace function workouts.start_session(plan_id text, date text, session jsonb)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return workouts_private.start_session(plan_id, date, session);
end;
$$;

grant execute on function workouts.start_session(text, text, jsonb) to authenticated;

/**
 * Replace the snapshot of a session in progress (400 SESSION_COMPLETED, 404).
 */
create or replace function workouts.update_session(id text, session jsonb)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return workouts_private.update_session(id, session);
end;
$$;

grant execute on function workouts.update_session(text, jsonb) to authenticated;

/**
 * Complete a session in progress, optionally with a final snapshot
 * (400 SESSION_COMPLETED, 404).
 */
create or replace function workouts.complete_session(id text, session jsonb default null)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return workouts_private.complete_session(id, session);
end;
$$;

grant execute on function workouts.complete_session(text, jsonb) to authenticated;

/**
 * Create a plan: 201 PlanResponse; 400 VALIDATION_ERROR.
 */
create or replace function workouts.create_plan(
  name text,
  description text default null,
  plan jsonb default null
)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return workouts_private.create_plan(name, description, plan);
end;
$$;

grant execute on function workouts.create_plan(text, text, jsonb) to authenticated;

/**
 * Change a plan's given fields: PlanResponse; 404; 400 VALIDATION_ERROR.
 */
create or replace function workouts.update_plan(
  id text,
  name text default null,
  description text default null,
  plan jsonb default null,
  archived boolean default null
)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return workouts_private.update_plan(id, name, description, plan, archived);
end;
$$;

grant execute on function workouts.update_plan(text, text, text, jsonb, boolean) to authenticated;

/**
 * Delete a plan: 204; 404.
 */
create or replace function workouts.delete_plan(id text)
  returns void
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  perform workouts_private.delete_plan(id);
end;
$$;

grant execute on function workouts.delete_plan(text) to authenticated;

/**
 * The PlanResponse of a row.
 */
create or replace function workouts_private.plan_response(p_plan workouts.plans)
  returns jsonb
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  return jsonb_build_object(
    'id', p_plan.id, 'name', p_plan.name, 'description', p_plan.description,
    'plan', p_plan.plan, 'archived', p_plan.archived, 'has_sessions', p_plan.has_sessions,
    'created_at', p_plan.created_at, 'updated_at', p_plan.updated_at);
end;
$$;

grant execute on function workouts_private.plan_response(workouts.plans) to authenticated;

-- =============================================================================
-- FLASHCARDS
-- =============================================================================

/**
 * Review candidates of a completed generation session: accept, edit or reject,
 * all or nothing (400, 404, 409 CANDIDATE_ALREADY_REVIEWED, 422 INVALID_STATUS).
 */
create or replace function flashcards.review_candidates(session_id text, actions jsonb)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return flashcards_private.review_candidates(session_id, actions);
end;
$$;

grant execute on function flashcards.review_candidates(text, jsonb) to authenticated;

/**
 * Create 1..100 cards by hand: items [{front, back}]. 201 {data: [card]}.
 */
create or replace function flashcards.create_flashcards(items jsonb)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return flashcards_private.create_flashcards(items);
end;
$$;

grant execute on function flashcards.create_flashcards(jsonb) to authenticated;

/**
 * Edit a card's front and/or back (an `ai` card becomes `ai_edited`); 404.
 */
create or replace function flashcards.update_flashcard(id text, front text default null, back text default null)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return flashcards_private.update_flashcard(id, front, back);
end;
$$;

grant execute on function flashcards.update_flashcard(text, text, text) to authenticated;

/**
 * Soft-delete 1..100 of the caller's cards: {data: {deleted: n}}.
 */
create or replace function flashcards.delete_flashcards(ids jsonb)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return flashcards_private.delete_flashcards(ids);
end;
$$;

grant execute on function flashcards.delete_flashcards(jsonb) to authenticated;

/**
 * Open a generation session (see flashcards_private.begin_ai_session).
 */
create or replace function flashcards.begin_ai_session(user_id uuid, input_text text, model text)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return flashcards_private.begin_ai_session(user_id, input_text, model);
end;
$$;

grant execute on function flashcards.begin_ai_session(uuid, text, text) to service_role;

/**
 * Close a generation session with its outcome (see flashcards_private.finish_ai_session).
 */
create or replace function flashcards.finish_ai_session(user_id uuid, session_id uuid, outcome jsonb)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return flashcards_private.finish_ai_session(user_id, session_id, outcome);
end;
$$;

grant execute on function flashcards.finish_ai_session(uuid, uuid, jsonb) to service_role;

/**
 * The card DTO of a row.
 */
create or replace function flashcards_private.card_dto(p_card flashcards.flashcards)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  return jsonb_build_object(
    'id', p_card.id, 'front', p_card.front, 'back', p_card.back, 'source', p_card.source,
    'session_id', p_card.session_id, 'candidate_id', p_card.candidate_id,
    'created_at', p_card.created_at, 'updated_at', p_card.updated_at);
end;
$$;

grant execute on function flashcards_private.card_dto(flashcards.flashcards) to authenticated, service_role;

/**
 * The summary of a generation session (no input text, no candidates).
 */
create or replace function flashcards_private.session_summary(p_session flashcards.ai_generation_sessions)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  return jsonb_build_object(
    'id', p_session.id, 'model', p_session.model, 'status', p_session.status,
    'error_code', p_session.error_code, 'input_length', char_length(p_session.input_text),
    'candidates_count', p_session.candidates_count,
    'accepted_unedited_count', p_session.accepted_unedited_count,
    'accepted_edited_count', p_session.accepted_edited_count,
    'rejected_count', p_session.rejected_count,
    'duration_ms', p_session.duration_ms,
    'created_at', p_session.created_at, 'finished_at', p_session.finished_at);
end;
$$;

grant execute on function flashcards_private.session_summary(flashcards.ai_generation_sessions) to authenticated, service_role;

-- =============================================================================
-- RECIPES
-- =============================================================================

/**
 * Open a recipe draft (see recipes_private.begin_draft).
 */
create or replace function recipes.begin_draft(user_id uuid)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return recipes_private.begin_draft(user_id);
end;
$$;

grant execute on function recipes.begin_draft(uuid) to service_role;

/**
 * Close a recipe draft with its calls (see recipes_private.finish_draft).
 */
create or replace function recipes.finish_draft(user_id uuid, draft_id uuid, outcome jsonb)
  returns jsonb
  language plpgsql
  volatile
  security invoker
  set search_path = ''
as $$
begin
  return recipes_private.finish_draft(user_id, draft_id, outcome);
end;
$$;

grant execute on function recipes.finish_draft(uuid, uuid, jsonb) to service_role;
