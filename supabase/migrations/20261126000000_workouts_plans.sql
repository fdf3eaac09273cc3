-- =============================================================================
-- workouts: plan RPCs, so that a client works through RPCs alone (the local API
-- serves no table endpoints). The RLS CRUD on workouts.plans stays for hosted
-- Supabase; these RPCs follow the same rules (owner only, user_id and
-- has_sessions not client-writable) and add validation errors in the shared body
-- and an event per write.
--
-- PlanResponse: {id, name, description, plan, archived, has_sessions,
-- created_at, updated_at}.
-- =============================================================================

-- =============================================================================
-- FUNCTIONS: helpers
-- =============================================================================

/**
 * The PlanResponse of a row.
 */
create or replace function workouts_private.plan_response(p_plan workouts.plans)
  returns jsonb
  language sql
  immutable
  set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_plan.id, 'name', p_plan.name, 'description', p_plan.description,
    'plan', p_plan.plan, 'archived', p_plan.archived, 'has_sessions', p_plan.has_sessions,
    'created_at', p_plan.created_at, 'updated_at', p_plan.updated_at)
$$;

grant execute on function workouts_private.plan_response(workouts.plans) to authenticated;

/**
 * 400 VALIDATION_ERROR unless name (1..200 characters once trimmed), description
 * (at most 2000) and plan (an object with a `days` array, at most 256 KiB) are
 * valid; nulls are "not given" and pass.
 */
create or replace function workouts_private.check_plan_fields(
  p_name text, p_description text, p_plan jsonb)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if p_name is not null and char_length(btrim(p_name)) not between 1 and 200 then
    perform core.invalid_field('name', 'name must be 1 to 200 characters');
  end if;
  if p_description is not null and char_length(p_description) > 2000 then
    perform core.invalid_field('description', 'description must be at most 2000 characters');
  end if;
  if p_plan is not null and (jsonb_typeof(p_plan) is distinct from 'object'
                             or jsonb_typeof(p_plan -> 'days') is distinct from 'array') then
    perform core.invalid_field('plan', 'plan must be an object with a days array');
  end if;
  if p_plan is not null and pg_column_size(p_plan) > 262144 then
    perform core.invalid_field('plan', 'plan must be at most 256 KiB');
  end if;
end;
$$;

grant execute on function workouts_private.check_plan_fields(text, text, jsonb) to authenticated;

-- =============================================================================
-- FUNCTIONS: the writes behind the client RPCs (security definer; the caller is
-- the JWT's user, checked inside)
-- =============================================================================

/**
 * Create a plan for the caller: 201 PlanResponse; 400 VALIDATION_ERROR. Logs
 * plan_created.
 */
create or replace function workouts_private.create_plan(name text, description text, plan jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_row workouts.plans;
begin
  if create_plan.name is null then
    perform core.invalid_field('name', 'name is required');
  end if;
  perform workouts_private.check_plan_fields(create_plan.name, create_plan.description,
                                             create_plan.plan);
  insert into workouts.plans (user_id, name, description, plan)
  values (v_user_id, btrim(create_plan.name), create_plan.description,
          coalesce(create_plan.plan, '{"days": []}'::jsonb))
  returning * into v_row;
  perform core.log_event('workouts', 'plan_created', v_user_id, 'plan', v_row.id);
  perform set_config('response.status', '201', true);
  return workouts_private.plan_response(v_row);
end;
$$;

grant execute on function workouts_private.create_plan(text, text, jsonb) to authenticated;

/**
 * Change the given fields of one of the caller's plans (null: unchanged; an
 * empty description clears it): PlanResponse; 404 NOT_FOUND for a plan that is
 * not the caller's; 400 VALIDATION_ERROR. Logs plan_updated with the fields.
 */
create or replace function workouts_private.update_plan(
  id text, name text, description text, plan jsonb, archived boolean)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_id uuid := core.parse_uuid(update_plan.id, 'id');
  v_row workouts.plans;
begin
  perform workouts_private.check_plan_fields(update_plan.name, update_plan.description,
                                             update_plan.plan);
  update workouts.plans p
     set name = coalesce(btrim(update_plan.name), p.name),
         description = case when update_plan.description is null then p.description
                            else nullif(update_plan.description, '') end,
         plan = coalesce(update_plan.plan, p.plan),
         archived = coalesce(update_plan.archived, p.archived)
   where p.id = v_id and p.user_id = v_user_id
  returning * into v_row;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Plan not found',
      jsonb_build_object('id', update_plan.id));
  end if;
  perform core.log_event('workouts', 'plan_updated', v_user_id, 'plan', v_row.id,
    jsonb_strip_nulls(jsonb_build_object(
      'name', update_plan.name is not null, 'description', update_plan.description is not null,
      'plan', update_plan.plan is not null, 'archived', update_plan.archived)));
  return workouts_private.plan_response(v_row);
end;
$$;

grant execute on function workouts_private.update_plan(text, text, text, jsonb, boolean)
  to authenticated;

/**
 * Delete one of the caller's plans (its sessions keep their snapshots and lose
 * the link): 204; 404 NOT_FOUND. Logs plan_deleted.
 */
create or replace function workouts_private.delete_plan(id text)
  returns void
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_id uuid := core.parse_uuid(delete_plan.id, 'id');
begin
  delete from workouts.plans p where p.id = v_id and p.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Plan not found',
      jsonb_build_object('id', delete_plan.id));
  end if;
  perform core.log_event('workouts', 'plan_deleted', v_user_id, 'plan', v_id);
end;
$$;

grant execute on function workouts_private.delete_plan(text) to authenticated;

-- =============================================================================
-- CLIENT API: reads (exposed; security invoker, so RLS applies)
-- =============================================================================

/**
 * One of the caller's plans: PlanResponse; 404 NOT_FOUND otherwise.
 */
create or replace function workouts.get_plan(id text)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_row workouts.plans;
begin
  select * into v_row from workouts.plans p
   where p.id = core.parse_uuid(get_plan.id, 'id') and p.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Plan not found',
      jsonb_build_object('id', get_plan.id));
  end if;
  return workouts_private.plan_response(v_row);
end;
$$;

grant execute on function workouts.get_plan(text) to authenticated;

/**
 * The caller's plans, newest first, archived ones only when asked:
 * {data: PlanResponse[], pagination: {limit, offset, total}}; page_size 1..100
 * (20), page_offset >= 0.
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
begin
  perform core.check_paging(list_plans.page_size, list_plans.page_offset);
  return jsonb_build_object(
    'data', coalesce((
      select jsonb_agg(workouts_private.plan_response(p) order by p.created_at desc, p.id desc)
        from (select * from workouts.plans p
               where p.user_id = v_user_id
                 and (coalesce(list_plans.include_archived, false) or not p.archived)
               order by p.created_at desc, p.id desc
               limit list_plans.page_size offset list_plans.page_offset) p), '[]'::jsonb),
    'pagination', jsonb_build_object(
      'limit', list_plans.page_size, 'offset', list_plans.page_offset,
      'total', (select count(*) from workouts.plans p
                 where p.user_id = v_user_id
                   and (coalesce(list_plans.include_archived, false) or not p.archived))));
end;
$$;

grant execute on function workouts.list_plans(boolean, integer, integer) to authenticated;

-- =============================================================================
-- CLIENT API: writes (exposed; security invoker wrappers of the definer
-- functions above)
-- =============================================================================

/**
 * Create a plan: 201 PlanResponse; 400 VALIDATION_ERROR.
 */
create or replace function workouts.create_plan(
  name text, description text default null, plan jsonb default null)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select workouts_private.create_plan(name, description, plan)
$$;

grant execute on function workouts.create_plan(text, text, jsonb) to authenticated;

/**
 * Change a plan's given fields: PlanResponse; 404; 400 VALIDATION_ERROR.
 */
create or replace function workouts.update_plan(
  id text, name text default null, description text default null, plan jsonb default null,
  archived boolean default null)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select workouts_private.update_plan(id, name, description, plan, archived)
$$;

grant execute on function workouts.update_plan(text, text, text, jsonb, boolean) to authenticated;

/**
 * Delete a plan: 204; 404.
 */
create or replace function workouts.delete_plan(id text)
  returns void
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select workouts_private.delete_plan(id)
$$;

grant execute on function workouts.delete_plan(text) to authenticated;
