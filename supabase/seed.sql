-- =============================================================================
-- Demo data for local development (`make run` on first start; `supabase db reset`).
--   alice@example.com  a history in every app
--   bob@example.com    another user, to see isolation
--   new@example.com    no history at all
-- Every demo user signs in with the password `demo-password`.
-- =============================================================================

-- Users exactly as Supabase Auth (GoTrue) writes them on sign-up, so that it can find
-- them (instance_id zero), scan them (no NULL token columns) and sign them in with the
-- dev password below (bcrypt, as GoTrue stores it); each with its email identity.
-- Idempotent, like the rest of this file: running it twice changes nothing.
with demo (id, email, name) as (
  values ('11111111-1111-4111-8111-111111111111'::uuid, 'alice@example.com', 'Alice'),
         ('22222222-2222-4222-8222-222222222222'::uuid, 'bob@example.com', 'Bob'),
         ('33333333-3333-4333-8333-333333333333'::uuid, 'new@example.com', 'New')
)
insert into auth.users (
  instance_id, id, aud, role, email, encrypted_password, email_confirmed_at,
  raw_app_meta_data, raw_user_meta_data, created_at, updated_at, last_sign_in_at,
  confirmation_token, recovery_token, email_change_token_new, email_change,
  email_change_token_current, phone_change, phone_change_token, reauthentication_token,
  is_sso_user, is_anonymous
)
select '00000000-0000-0000-0000-000000000000', d.id, 'authenticated', 'authenticated', d.email,
       extensions.crypt('demo-password', extensions.gen_salt('bf', 10)), now(),
       '{"provider": "email", "providers": ["email"]}', jsonb_build_object('name', d.name),
       now(), now(), null,
       '', '', '', '', '', '', '', '', false, false
  from demo d
on conflict (id) do nothing;

insert into auth.identities (provider_id, user_id, identity_data, provider, last_sign_in_at,
                             created_at, updated_at)
select u.id::text, u.id,
       jsonb_build_object('sub', u.id::text, 'email', u.email, 'email_verified', true,
                          'phone_verified', false),
       'email', now(), now(), now()
  from auth.users u
 where u.id in ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222',
                '33333333-3333-4333-8333-333333333333')
on conflict (provider_id, provider) do nothing;

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
  ) as h(days_ago, status, sets, rpe, notes)
 where not exists (select from pullups.sessions s
                    where s.user_id = '11111111-1111-4111-8111-111111111111');

insert into pullups.sessions (user_id, status, session_date, sets, rpe, started_at, finished_at)
select '22222222-2222-4222-8222-222222222222', 'completed', current_date - h.days_ago, h.sets, 6,
       (current_date - h.days_ago) + time '07:00', (current_date - h.days_ago) + time '07:30'
  from (values (10, '{3,3,2,2,2}'::smallint[]), (5, '{4,3,3,2,2}'::smallint[])) as h(days_ago, sets)
 where not exists (select from pullups.sessions s
                    where s.user_id = '22222222-2222-4222-8222-222222222222');

-- -----------------------------------------------------------------------------
-- workouts: alice has a push/pull plan and five finished sessions; bob one plan, two.
-- -----------------------------------------------------------------------------
insert into workouts.plans (id, user_id, name, description, plan, has_sessions)
values
  ('aaaaaaaa-0000-4000-8000-000000000001', '11111111-1111-4111-8111-111111111111',
   'Push / Pull', 'Two days a week, upper body',
   '{"days": [
      {"name": "Push", "exercises": [
        {"name": "Bench press", "sets": [{"reps": 8, "weight": 60, "rest_seconds": 120},
                                         {"reps": 8, "weight": 60, "rest_seconds": 120},
                                         {"reps": 6, "weight": 65, "rest_seconds": 150}]},
        {"name": "Overhead press", "sets": [{"reps": 10, "weight": 30, "rest_seconds": 90},
                                            {"reps": 10, "weight": 30, "rest_seconds": 90}]}]},
      {"name": "Pull", "exercises": [
        {"name": "Pull-up", "sets": [{"reps": 6, "weight": 0, "rest_seconds": 120},
                                     {"reps": 6, "weight": 0, "rest_seconds": 120}]},
        {"name": "Barbell row", "sets": [{"reps": 8, "weight": 50, "rest_seconds": 90},
                                         {"reps": 8, "weight": 50, "rest_seconds": 90}]}]}]}',
   true),
  ('bbbbbbbb-0000-4000-8000-000000000001', '22222222-2222-4222-8222-222222222222',
   'Full body', null,
   '{"days": [{"name": "A", "exercises": [
      {"name": "Squat", "sets": [{"reps": 5, "weight": 80, "rest_seconds": 180}]}]}]}',
   true)
on conflict (id) do nothing;

insert into workouts.training_sessions (user_id, plan_id, date, session, started_at, ended_at)
select p.user_id, p.id, current_date - h.days_ago,
       jsonb_build_object(
         'plan_name', p.name, 'day_name', d.day ->> 'name', 'date', current_date - h.days_ago,
         'exercises', (
           select jsonb_agg(jsonb_build_object('name', e ->> 'name', 'sets', (
             select jsonb_agg(jsonb_build_object(
               'planned_reps', (st ->> 'reps')::int, 'planned_weight', (st ->> 'weight')::numeric,
               'actual_reps', (st ->> 'reps')::int - h.shortfall,
               'actual_weight', (st ->> 'weight')::numeric,
               'rest_seconds', (st ->> 'rest_seconds')::int, 'completed', true))
               from jsonb_array_elements(e -> 'sets') st)))
             from jsonb_array_elements(d.day -> 'exercises') e)),
       (current_date - h.days_ago) + time '17:30',
       (current_date - h.days_ago) + time '18:25'
  from workouts.plans p
  join (values ('aaaaaaaa-0000-4000-8000-000000000001'::uuid, 14, 0, 0),
               ('aaaaaaaa-0000-4000-8000-000000000001'::uuid, 11, 1, 1),
               ('aaaaaaaa-0000-4000-8000-000000000001'::uuid, 7, 0, 0),
               ('aaaaaaaa-0000-4000-8000-000000000001'::uuid, 4, 1, 0),
               ('aaaaaaaa-0000-4000-8000-000000000001'::uuid, 1, 0, 0),
               ('bbbbbbbb-0000-4000-8000-000000000001'::uuid, 8, 0, 1),
               ('bbbbbbbb-0000-4000-8000-000000000001'::uuid, 2, 0, 0))
       as h(plan_id, days_ago, day_index, shortfall) on h.plan_id = p.id
  cross join lateral (select p.plan -> 'days' -> h.day_index as day) d
 where not exists (select from workouts.training_sessions s where s.plan_id = p.id);
