-- =============================================================================
-- pullups_private.begin_generation checks "no planned or in-progress session"
-- and "no pending generation" in one statement. As two statements (each with its
-- own snapshot, under READ COMMITTED) a generation whose finish committed between
-- them passed both: its session was not there yet for the first, its generation
-- no longer pending for the second. The advisory lock serialises begins, not a
-- begin with a finish. Seen as a flake of
-- tests/service/test_sessions_ai.py::test_ten_concurrent_requests_give_one_201
-- (a second generation began, then failed at its finish with 409). The rest of
-- the function is unchanged.
-- =============================================================================

-- =============================================================================
-- PULLUPS
-- =============================================================================

/**
 * Open an AI generation for a user, in one transaction: closes generations a
 * crashed request left pending past the quota reservation TTL; 409
 * ACTIVE_SESSION_CONFLICT / GENERATION_IN_PROGRESS (both read in one snapshot);
 * 400 MISSING_MAX_PULLUPS when the user has no finished session and gives no
 * max; reserves one pullups.ai quota slot (403 AI_LIMIT_REACHED); inserts the
 * pending generation. Returns {generationId, model, context: {maxPullups,
 * startNow, today, history}} with the last 10 finished sessions as the prompt's
 * context.
 */
create or replace function pullups_private.begin_generation(
  user_id uuid,
  model text,
  max_pullups integer default null,
  start_now boolean default false
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := begin_generation.user_id;
  v_history jsonb;
  v_reservation uuid;
  v_generation pullups.generations;
  v_active boolean;
  v_pending boolean;
begin
  if v_user_id is null or not exists (select from auth.users u where u.id = v_user_id) then
    perform core.api_error(401, 'UNAUTHORIZED', 'Unknown user');
  end if;
  if begin_generation.model is null or char_length(btrim(begin_generation.model)) = 0
     or char_length(begin_generation.model) > 200 then
    perform core.invalid_field('model', 'model is required');
  end if;
  if begin_generation.max_pullups is not null and begin_generation.max_pullups not between 1 and 60 then
    perform core.invalid_field('maxPullups', 'maxPullups must be between 1 and 60');
  end if;
  -- One begin at a time per user; the partial unique index is the backstop.
  perform pg_advisory_xact_lock(hashtextextended('pullups.generation:' || v_user_id::text, 0));

  perform pullups_private.close_abandoned(v_user_id);

  -- Both in one statement, so one snapshot: a generation finishing between two
  -- separate checks (its session not yet seen, its generation no longer pending)
  -- would let a second generation begin.
  select exists (select from pullups.sessions s
                  where s.user_id = v_user_id and s.status in ('planned', 'in_progress')),
         exists (select from pullups.generations g
                  where g.user_id = v_user_id and g.status = 'pending')
    into v_active, v_pending;
  if v_active then
    perform core.api_error(409, 'ACTIVE_SESSION_CONFLICT',
      'You already have a planned or in-progress session');
  end if;
  if v_pending then
    perform core.api_error(409, 'GENERATION_IN_PROGRESS',
      'Another AI generation is still running; try again when it finishes');
  end if;

  select coalesce(jsonb_agg(jsonb_build_object(
           'date', h.session_date, 'status', h.status, 'sets', to_jsonb(h.sets),
           'totalReps', h.total_reps, 'rpe', h.rpe) order by h.session_date desc, h.created_at desc),
         '[]'::jsonb)
    into v_history
    from (select * from pullups.sessions s
           where s.user_id = v_user_id and s.status in ('completed', 'failed')
           order by s.session_date desc, s.created_at desc
           limit 10) h;
  if jsonb_array_length(v_history) = 0 and begin_generation.max_pullups is null then
    perform core.api_error(400, 'MISSING_MAX_PULLUPS',
      'maxPullups is required until you have a completed or failed session',
      jsonb_build_object('field', 'maxPullups'));
  end if;

  v_reservation := core.quota_reserve('pullups.ai', v_user_id);
  perform core.count_ai_attempt(v_user_id);
  insert into pullups.generations (user_id, model, quota_reservation_id, start_now)
  values (v_user_id, begin_generation.model, v_reservation, coalesce(begin_generation.start_now, false))
  returning * into v_generation;

  return jsonb_build_object(
    'generationId', v_generation.id,
    'model', v_generation.model,
    'context', jsonb_build_object(
      'maxPullups', begin_generation.max_pullups,
      'startNow', v_generation.start_now,
      'today', current_date,
      'history', v_history));
end;
$$;

grant execute on function pullups_private.begin_generation(uuid, text, integer, boolean) to service_role;
