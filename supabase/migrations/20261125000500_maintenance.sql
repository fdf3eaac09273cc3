-- =============================================================================
-- maintenance: closing what a crashed request left open, for every app.
-- A request that dies between its begin_* and finish_* call (process killed,
-- machine gone) leaves its attempt pending. Each app's begin_* closes that
-- user's own abandoned attempts (<app>_private.close_abandoned(user)); this
-- closes everyone's, on a schedule: the AI
-- service runs it every SWEEP_INTERVAL_SECONDS, and on Supabase pg_cron can:
--   select cron.schedule('close-abandoned-ai-attempts', '* * * * *',
--                        'select core.close_abandoned_attempts()');
-- =============================================================================

-- =============================================================================
-- FUNCTIONS
-- =============================================================================

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
