-- =============================================================================
-- pullups_private.session_warnings at the same cost for any history: the
-- REST_PERIOD check took the latest end of all the user's finished sessions
-- (max over every completed/failed row: 5,000 rows read for a 5,000-session
-- user, at every create_session and finish_generation). It now asks whether a
-- session ended in the 24 hours before the target, with two index probes:
-- sessions finished through their lifecycle by finished_at (a new partial
-- index), logged ones (no finished_at) by session_date. Same answers.
-- =============================================================================

-- =============================================================================
-- PULLUPS
-- =============================================================================

-- Lifecycle-finished sessions by end time, for the rest-period check; planned and
-- logged sessions have no finished_at and stay out of it.
create index sessions_user_finished_idx on pullups.sessions (user_id, finished_at)
  where finished_at is not null;

/**
 * Warnings for a session about to be trained on p_date (not errors):
 * REST_PERIOD when one of the user's completed/failed sessions ended in the 24 h
 * before it (a logged session, without finished_at, ends at the start of its
 * date); MULTIPLE_SAME_DAY when another session is on the same date. p_exclude:
 * a session not to compare with (the one being written).
 */
create or replace function pullups_private.session_warnings(
  p_user_id uuid,
  p_date date,
  p_exclude uuid default null
)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_at timestamptz := case when p_date = current_date then now() else p_date::timestamptz end;
  v_warnings jsonb := '[]'::jsonb;
begin
  if exists (select from pullups.sessions s
              where s.user_id = p_user_id
                and s.finished_at > v_at - interval '24 hours' and s.finished_at <= v_at
                and s.status in ('completed', 'failed')
                and s.id is distinct from p_exclude)
     or exists (select from pullups.sessions s
                 where s.user_id = p_user_id and s.finished_at is null
                   -- the index range (a day of slack either side for any time zone),
                   -- then the exact window
                   and s.session_date between (v_at - interval '24 hours')::date - 1
                                          and v_at::date + 1
                   and s.session_date::timestamptz > v_at - interval '24 hours'
                   and s.session_date::timestamptz <= v_at
                   and s.status in ('completed', 'failed')
                   and s.id is distinct from p_exclude) then
    v_warnings := v_warnings || jsonb_build_array(jsonb_build_object(
      'code', 'REST_PERIOD',
      'message', 'Less than 24 hours since your last finished session'));
  end if;
  if exists (select from pullups.sessions s
              where s.user_id = p_user_id and s.session_date = p_date
                and s.id is distinct from p_exclude) then
    v_warnings := v_warnings || jsonb_build_array(jsonb_build_object(
      'code', 'MULTIPLE_SAME_DAY',
      'message', 'You already have a session on this day'));
  end if;
  return v_warnings;
end;
$$;
