-- Workout sessions still in progress after 12 hours: the user forgot to
-- complete them, and they block that user from starting another.
-- Run: psql "$DATABASE_URL" -f sql/ops/workouts_stale_sessions.sql
-- To close one as its owner would (keeps the snapshot, logs nothing):
--   update workouts.training_sessions set ended_at = now() where id = '<id>';
select s.id, s.user_id, u.email, s.date, s.session ->> 'plan_name' as plan_name,
       s.started_at, now() - s.started_at as running_for
  from workouts.training_sessions s
  join auth.users u on u.id = s.user_id
 where s.ended_at is null
   and s.started_at < now() - interval '12 hours'
 order by s.started_at;
