-- =============================================================================
-- The two plan reads the way the session reads are written (20261126001200):
-- workouts.get_plan checks the caller and the id with two patterns, falling back
-- to core.require_user / core.parse_uuid only to raise their errors, and builds
-- its answer inline; workouts.list_plans builds the page in one aggregate
-- instead of calling plan_response once per row. make bench rpcs, side by side
-- with the minimal SQL: get_plan 3.15x -> 2.6x, list_plans 2.01x -> 1.8x
-- (the minimal SQL of get_plan is 33 µs: what every RPC adds, about 50 µs, is more
-- than half of that).
--
-- They repeat the shape of workouts_private.plan_response: tests/test_page_dtos.py
-- fails when a read and the helper give different answers for the same row.
-- Same names, arguments, answers, errors and grants.
-- =============================================================================

-- =============================================================================
-- WORKOUTS
-- =============================================================================

/**
 * One of the caller's plans: PlanResponse (the shape of
 * workouts_private.plan_response, built inline); 404 NOT_FOUND otherwise.
 */
create or replace function workouts.get_plan(id text)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when get_plan.id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then get_plan.id::uuid end;
  v_result jsonb;
begin
  if v_user_id is null then
    perform core.require_user();  -- 401 UNAUTHORIZED
  end if;
  if v_id is null and get_plan.id is not null then
    perform core.parse_uuid(get_plan.id, 'id');  -- 400 VALIDATION_ERROR
  end if;
  select jsonb_build_object(
           'id', p.id,
           'name', p.name,
           'description', p.description,
           'plan', p.plan,
           'archived', p.archived,
           'has_sessions', p.has_sessions,
           'created_at', p.created_at,
           'updated_at', p.updated_at)
    into v_result
    from workouts.plans p
   where p.id = v_id and p.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Plan not found',
      jsonb_build_object('id', get_plan.id));
  end if;
  return v_result;
end;
$$;

grant execute on function workouts.get_plan(text) to authenticated;

/**
 * The caller's plans, newest first, archived ones only when asked:
 * {data: PlanResponse[], pagination}; page_size 1..100 (20), page_offset >= 0.
 */
create or replace function workouts.list_plans(
  include_archived boolean default false,
  page_size integer default 20,
  page_offset integer default 0
)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_all boolean := coalesce(list_plans.include_archived, false);
begin
  perform core.check_paging(list_plans.page_size, list_plans.page_offset);
  return jsonb_build_object(
    'data', coalesce((
      select jsonb_agg(jsonb_build_object(
               'id', p.id, 'name', p.name, 'description', p.description, 'plan', p.plan,
               'archived', p.archived, 'has_sessions', p.has_sessions,
               'created_at', p.created_at, 'updated_at', p.updated_at)
             order by p.created_at desc, p.id desc)
        from (select * from workouts.plans p
               where p.user_id = v_user_id and (v_all or not p.archived)
               order by p.created_at desc, p.id desc
               limit list_plans.page_size offset list_plans.page_offset) p), '[]'::jsonb),
    'pagination', core.pagination(list_plans.page_size, list_plans.page_offset, (
      select count(*) from (select from workouts.plans p
                             where p.user_id = v_user_id and (v_all or not p.archived)
                             limit list_plans.page_offset + core.total_cap() + 1) counted)));
end;
$$;

grant execute on function workouts.list_plans(boolean, integer, integer) to authenticated;
