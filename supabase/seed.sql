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
