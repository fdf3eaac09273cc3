-- Pull-up sessions left in progress for more than 12 hours (the user never
-- completed or failed them), oldest first. They still hold the user's one
-- active slot. Run: psql "$DATABASE_URL" -f sql/ops/pullups_stale_sessions.sql
select s.id, s.user_id, u.email, s.session_date, s.started_at,
       now() - s.started_at as running_for
  from pullups.sessions s
  join auth.users u on u.id = s.user_id
 where s.status = 'in_progress'
   and s.started_at < now() - interval '12 hours'
 order by s.started_at;
