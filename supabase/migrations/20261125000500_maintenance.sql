-- =============================================================================
-- maintenance: closing what a crashed request left open, for every app.
-- A request that dies between its begin_* and finish_* call (process killed,
-- machine gone) leaves its attempt pending. Each app's begin_* closes that
-- user's own abandoned attempts; this closes everyone's, on a schedule: the AI
-- service runs it every SWEEP_INTERVAL_SECONDS, and on Supabase pg_cron can:
--   select cron.schedule('close-abandoned-ai-attempts', '* * * * *',
--                        'select core.close_abandoned_attempts()');
-- =============================================================================

-- =============================================================================
-- FUNCTIONS
-- =============================================================================

/**
 * Close every pull-up generation still pending past the pullups.ai reservation TTL
 * (error ABANDONED, quota slot released, event). Returns how many.
 */
create or replace function pullups_private.close_abandoned()
  returns integer
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_generation pullups.generations;
  v_closed integer := 0;
begin
  for v_generation in
    select * from pullups.generations g
     where g.status = 'pending'
       and g.created_at < now() - coalesce(
         (select p.reservation_ttl from core.quota_policies p where p.bucket = 'pullups.ai'),
         interval '3 minutes')
       for update skip locked
  loop
    perform pullups_private.fail_generation(v_generation, 'error', 'ABANDONED',
      'The request ended before the generation finished', null, null);
    v_closed := v_closed + 1;
  end loop;
  return v_closed;
end;
$$;

/**
 * Close every flashcards generation session still pending past the flashcards.ai
 * reservation TTL (failed, ABANDONED, event). Returns how many.
 */
create or replace function flashcards_private.close_abandoned()
  returns integer
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_session flashcards.ai_generation_sessions;
  v_closed integer := 0;
begin
  for v_session in
    select * from flashcards.ai_generation_sessions s
     where s.status = 'pending'
       and s.created_at < now() - coalesce(
         (select p.reservation_ttl from core.quota_policies p where p.bucket = 'flashcards.ai'),
         interval '3 minutes')
       for update skip locked
  loop
    perform flashcards_private.fail_session(v_session, 'ABANDONED', null);
    v_closed := v_closed + 1;
  end loop;
  return v_closed;
end;
$$;

/**
 * Close every abandoned AI attempt of every app; for the service's sweeper, pg_cron
 * and operators. Returns {pullups, flashcards}: how many each app closed. (Recipe
 * drafts keep nothing pending but their quota reservation, which stops counting by
 * itself after its TTL.)
 */
create or replace function core.close_abandoned_attempts()
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
begin
  return jsonb_build_object(
    'pullups', pullups_private.close_abandoned(),
    'flashcards', flashcards_private.close_abandoned());
end;
$$;

grant execute on function core.close_abandoned_attempts() to service_role;
