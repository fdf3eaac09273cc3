-- =============================================================================
-- Demo data for local development (`make run` on first start; `supabase db reset`).
--   alice@example.com  a history in every app
--   bob@example.com    another user, to see isolation
--   new@example.com    no history at all
-- =============================================================================

insert into auth.users (id, aud, role, email, raw_app_meta_data, raw_user_meta_data)
values
  ('11111111-1111-4111-8111-111111111111', 'authenticated', 'authenticated', 'alice@example.com',
   '{"provider": "email", "providers": ["email"]}', '{"name": "Alice"}'),
  ('22222222-2222-4222-8222-222222222222', 'authenticated', 'authenticated', 'bob@example.com',
   '{"provider": "email", "providers": ["email"]}', '{"name": "Bob"}'),
  ('33333333-3333-4333-8333-333333333333', 'authenticated', 'authenticated', 'new@example.com',
   '{"provider": "email", "providers": ["email"]}', '{"name": "New"}')
on conflict (id) do nothing;

-- -----------------------------------------------------------------------------
-- pullups: alice trained every few days for three weeks (one failure); bob twice.
-- Dates are relative to today so the history always looks recent.
-- -----------------------------------------------------------------------------
insert into pullups.sessions (user_id, status, session_date, sets, rpe, notes, started_at, finished_at)
select '11111111-1111-4111-8111-111111111111', h.status::pullups.session_status,
       current_date - h.days_ago, h.sets, h.rpe, h.notes,
       (current_date - h.days_ago) + time '18:00', (current_date - h.days_ago) + time '18:40'
  from (values
    (21, 'completed', '{6,5,5,4,4}'::smallint[], 7, 'first week'),
    (18, 'completed', '{6,6,5,5,4}'::smallint[], 7, null),
    (15, 'completed', '{7,6,5,5,5}'::smallint[], 8, null),
    (12, 'failed',    '{7,6,3,0,0}'::smallint[], 10, 'shoulder felt off'),
    (9,  'completed', '{7,6,6,5,5}'::smallint[], 8, null),
    (6,  'completed', '{8,7,6,6,5}'::smallint[], 8, null),
    (3,  'completed', '{8,7,7,6,6}'::smallint[], 9, 'strong day')
  ) as h(days_ago, status, sets, rpe, notes);

insert into pullups.sessions (user_id, status, session_date, sets, rpe, started_at, finished_at)
select '22222222-2222-4222-8222-222222222222', 'completed', current_date - h.days_ago, h.sets, 6,
       (current_date - h.days_ago) + time '07:00', (current_date - h.days_ago) + time '07:30'
  from (values (10, '{3,3,2,2,2}'::smallint[]), (5, '{4,3,3,2,2}'::smallint[])) as h(days_ago, sets);
