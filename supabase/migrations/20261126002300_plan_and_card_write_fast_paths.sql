-- =============================================================================
-- The plan writes (create, update, delete) and the card writes (create, update,
-- delete) the way the training writes are written since 20261126001400: the
-- common case in one statement (the row, its event and the answer, every rule
-- that needs the row in the WHERE), anything else to the step-by-step function
-- each replaces, now <name>_checked with the same body, which runs every check
-- in the documented order and raises the precise error. With the helper chain
-- (require_existing_user, parse_uuid, check_plan_fields / card_text /
-- check_batch, log_event, plan_response / card_dto) these took 1.64-2.20x their
-- minimal SQL (make bench rpcs).
--
-- A plan or card row of the caller implies the caller still exists (both go with
-- their user, on delete cascade), so finding it stands for require_existing_user;
-- the creates ask auth.users in their INSERT's WHERE. The answers are the same
-- (tests/test_write_fast_paths.py compares both paths).
-- =============================================================================

-- =============================================================================
-- WORKOUTS: plans
-- =============================================================================

/**
 * create_plan step by step (its previous body): every check in the documented
 * order, each raising its error. Only the fast path below calls it, with
 * whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function workouts_private.create_plan_checked(
  name text, description text default null, plan jsonb default null)
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
  if create_plan_checked.name is null then
    perform core.invalid_field('name', 'name is required');
  end if;
  perform workouts_private.check_plan_fields(create_plan_checked.name,
    create_plan_checked.description, create_plan_checked.plan);
  insert into workouts.plans (user_id, name, description, plan)
  values (v_user_id, btrim(create_plan_checked.name), create_plan_checked.description,
          coalesce(create_plan_checked.plan, '{"days": []}'::jsonb))
  returning * into v_row;
  perform core.log_event('workouts', 'plan_created', v_user_id, 'plan', v_row.id);
  perform set_config('response.status', '201', true);
  return workouts_private.plan_response(v_row);
end;
$$;

/**
 * Create a plan for the caller (workouts.create_plan): 201 PlanResponse; 400
 * VALIDATION_ERROR. Logs plan_created. The common case in one statement;
 * anything else goes to create_plan_checked.
 */
create or replace function workouts_private.create_plan(name text, description text, plan jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_result jsonb;
begin
  -- the checks of check_plan_fields, as conditions that hold
  if v_user_id is not null
     and char_length(btrim(create_plan.name)) between 1 and 200
     and coalesce(char_length(create_plan.description) <= 2000, true)
     and (create_plan.plan is null
          or (jsonb_typeof(create_plan.plan) = 'object'
              and jsonb_typeof(create_plan.plan -> 'days') = 'array'
              and pg_column_size(create_plan.plan) <= 262144)) then
    with inserted as (
      insert into workouts.plans as p (user_id, name, description, plan)
      select v_user_id, btrim(create_plan.name), create_plan.description,
             coalesce(create_plan.plan, '{"days": []}'::jsonb)
       where exists (select from auth.users u where u.id = v_user_id)
      returning p.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'workouts', 'plan_created', i.user_id, 'plan', i.id, '{}'::jsonb
        from inserted i
    )
    select jsonb_build_object(
             'id', i.id,
             'name', i.name,
             'description', i.description,
             'plan', i.plan,
             'archived', i.archived,
             'has_sessions', i.has_sessions,
             'created_at', i.created_at,
             'updated_at', i.updated_at)
      into v_result
      from inserted i;
    if found then
      perform set_config('response.status', '201', true);
      return v_result;
    end if;
  end if;
  return workouts_private.create_plan_checked(create_plan.name, create_plan.description,
                                              create_plan.plan);
end;
$$;

grant execute on function workouts_private.create_plan(text, text, jsonb) to authenticated;

/**
 * update_plan step by step (its previous body): every check in the documented
 * order, each raising its error. Only the fast path below calls it, with
 * whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function workouts_private.update_plan_checked(
  id text, name text default null, description text default null, plan jsonb default null,
  archived boolean default null)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_id uuid := core.parse_uuid(update_plan_checked.id, 'id');
  v_row workouts.plans;
begin
  perform workouts_private.check_plan_fields(update_plan_checked.name,
    update_plan_checked.description, update_plan_checked.plan);
  update workouts.plans p
     set name = coalesce(btrim(update_plan_checked.name), p.name),
         description = case when update_plan_checked.description is null then p.description
                            else nullif(update_plan_checked.description, '') end,
         plan = coalesce(update_plan_checked.plan, p.plan),
         archived = coalesce(update_plan_checked.archived, p.archived)
   where p.id = v_id and p.user_id = v_user_id
  returning * into v_row;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Plan not found',
      jsonb_build_object('id', update_plan_checked.id));
  end if;
  perform core.log_event('workouts', 'plan_updated', v_user_id, 'plan', v_row.id,
    jsonb_strip_nulls(jsonb_build_object(
      'name', update_plan_checked.name is not null,
      'description', update_plan_checked.description is not null,
      'plan', update_plan_checked.plan is not null,
      'archived', update_plan_checked.archived)));
  return workouts_private.plan_response(v_row);
end;
$$;

/**
 * Change the given fields of one of the caller's plans (workouts.update_plan;
 * null: unchanged; an empty description clears it): PlanResponse; 404
 * NOT_FOUND; 400 VALIDATION_ERROR. Logs plan_updated with the fields. The
 * common case in one statement; anything else goes to update_plan_checked.
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
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when update_plan.id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then update_plan.id::uuid end;
  v_result jsonb;
begin
  -- the checks of check_plan_fields, as conditions that hold
  if v_user_id is not null and v_id is not null
     and coalesce(char_length(btrim(update_plan.name)) between 1 and 200, true)
     and coalesce(char_length(update_plan.description) <= 2000, true)
     and (update_plan.plan is null
          or (jsonb_typeof(update_plan.plan) = 'object'
              and jsonb_typeof(update_plan.plan -> 'days') = 'array'
              and pg_column_size(update_plan.plan) <= 262144)) then
    with updated as (
      update workouts.plans p
         set name = coalesce(btrim(update_plan.name), p.name),
             description = case when update_plan.description is null then p.description
                                else nullif(update_plan.description, '') end,
             plan = coalesce(update_plan.plan, p.plan),
             archived = coalesce(update_plan.archived, p.archived)
       where p.id = v_id and p.user_id = v_user_id
      returning p.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'workouts', 'plan_updated', u.user_id, 'plan', u.id,
             jsonb_strip_nulls(jsonb_build_object(
               'name', update_plan.name is not null,
               'description', update_plan.description is not null,
               'plan', update_plan.plan is not null,
               'archived', update_plan.archived))
        from updated u
    )
    select jsonb_build_object(
             'id', u.id,
             'name', u.name,
             'description', u.description,
             'plan', u.plan,
             'archived', u.archived,
             'has_sessions', u.has_sessions,
             'created_at', u.created_at,
             'updated_at', u.updated_at)
      into v_result
      from updated u;
    if found then
      return v_result;
    end if;
  end if;
  return workouts_private.update_plan_checked(update_plan.id, update_plan.name,
    update_plan.description, update_plan.plan, update_plan.archived);
end;
$$;

grant execute on function workouts_private.update_plan(text, text, text, jsonb, boolean)
  to authenticated;

/**
 * delete_plan step by step (its previous body): every check in the documented
 * order, each raising its error. Only the fast path below calls it, with
 * whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function workouts_private.delete_plan_checked(id text)
  returns void
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_id uuid := core.parse_uuid(delete_plan_checked.id, 'id');
begin
  delete from workouts.plans p where p.id = v_id and p.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Plan not found',
      jsonb_build_object('id', delete_plan_checked.id));
  end if;
  perform core.log_event('workouts', 'plan_deleted', v_user_id, 'plan', v_id);
end;
$$;

/**
 * Delete one of the caller's plans (workouts.delete_plan; its sessions keep
 * their snapshots and lose the link): 204; 404 NOT_FOUND. Logs plan_deleted.
 * The common case in one statement; anything else goes to delete_plan_checked.
 */
create or replace function workouts_private.delete_plan(id text)
  returns void
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when delete_plan.id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then delete_plan.id::uuid end;
  v_deleted uuid;
begin
  if v_user_id is not null and v_id is not null then
    with deleted as (
      delete from workouts.plans p
       where p.id = v_id and p.user_id = v_user_id
      returning p.id, p.user_id
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'workouts', 'plan_deleted', d.user_id, 'plan', d.id, '{}'::jsonb
        from deleted d
    )
    select d.id into v_deleted from deleted d;
    if v_deleted is not null then
      return;
    end if;
  end if;
  perform workouts_private.delete_plan_checked(delete_plan.id);
end;
$$;

grant execute on function workouts_private.delete_plan(text) to authenticated;

-- =============================================================================
-- FLASHCARDS: cards
-- =============================================================================

/**
 * create_flashcards step by step (its previous body): every check in the
 * documented order, each raising its error. Only the fast path below calls it,
 * with whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function flashcards_private.create_flashcards_checked(items jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_item jsonb;
  v_index integer := 0;
  v_card flashcards.flashcards;
  v_cards jsonb := '[]'::jsonb;
begin
  perform flashcards_private.check_batch(create_flashcards_checked.items, 'items', 100);
  for v_item in select value from jsonb_array_elements(create_flashcards_checked.items) loop
    if jsonb_typeof(v_item) is distinct from 'object' then
      perform core.invalid_field(format('items[%s]', v_index), 'each item must be an object');
    end if;
    insert into flashcards.flashcards (user_id, front, back, source)
    values (v_user_id,
            flashcards_private.card_text(v_item -> 'front', format('items[%s].front', v_index), 200),
            flashcards_private.card_text(v_item -> 'back', format('items[%s].back', v_index), 500),
            'manual')
    returning * into v_card;
    v_cards := v_cards || jsonb_build_array(flashcards_private.card_dto(v_card));
    v_index := v_index + 1;
  end loop;
  perform core.log_event('flashcards', 'flashcards_created', v_user_id, null, null,
    jsonb_build_object('count', v_index, 'source', 'manual'));
  perform set_config('response.status', '201', true);
  return jsonb_build_object('data', v_cards);
end;
$$;

/**
 * Create 1..100 cards by hand for the caller (flashcards.create_flashcards), all
 * or nothing: items [{front, back}]. 201 {data: [card]} in the items' order; one
 * flashcards_created event. The common case in one statement; anything else
 * goes to create_flashcards_checked.
 */
create or replace function flashcards_private.create_flashcards(items jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_result jsonb;
begin
  -- the checks of check_batch and card_text, as conditions that hold for every item
  if v_user_id is not null
     -- (in parentheses: IF's condition would end at the CASE's THEN)
     and (case when jsonb_typeof(create_flashcards.items) = 'array'
               then jsonb_array_length(create_flashcards.items) between 1 and 100
               else false end)
     and not exists (
           select from jsonb_array_elements(create_flashcards.items) e
            where (jsonb_typeof(e.value) = 'object'
                   and jsonb_typeof(e.value -> 'front') = 'string'
                   and jsonb_typeof(e.value -> 'back') = 'string'
                   and char_length(btrim(e.value ->> 'front')) between 1 and 200
                   and char_length(btrim(e.value ->> 'back')) between 1 and 500) is not true) then
    -- ids drawn first, so the answer can keep the items' order (a CTE that calls a
    -- volatile function is computed once)
    with given as (
      select gen_random_uuid() as id, e.ord,
             btrim(e.value ->> 'front') as front, btrim(e.value ->> 'back') as back
        from jsonb_array_elements(create_flashcards.items) with ordinality as e(value, ord)
    ), inserted as (
      insert into flashcards.flashcards as f (id, user_id, front, back, source)
      select i.id, v_user_id, i.front, i.back, 'manual'
        from given i
       where exists (select from auth.users u where u.id = v_user_id)
      returning f.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'flashcards', 'flashcards_created', v_user_id, null, null,
             jsonb_build_object('count', count(*), 'source', 'manual')
        from inserted
      having count(*) > 0
    )
    select jsonb_build_object('data', jsonb_agg(jsonb_build_object(
             'id', c.id,
             'front', c.front,
             'back', c.back,
             'source', c.source,
             'session_id', c.session_id,
             'candidate_id', c.candidate_id,
             'created_at', c.created_at,
             'updated_at', c.updated_at) order by i.ord))
      into v_result
      from inserted c
      join given i on i.id = c.id
    having count(*) > 0;
    if found then
      perform set_config('response.status', '201', true);
      return v_result;
    end if;
  end if;
  return flashcards_private.create_flashcards_checked(create_flashcards.items);
end;
$$;

grant execute on function flashcards_private.create_flashcards(jsonb) to authenticated;

/**
 * update_flashcard step by step (its previous body): every check in the
 * documented order, each raising its error. Only the fast path below calls it,
 * with whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function flashcards_private.update_flashcard_checked(
  id text,
  front text default null,
  back text default null
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_id uuid := core.parse_uuid(update_flashcard_checked.id, 'id');
  v_front text;
  v_back text;
  v_card flashcards.flashcards;
begin
  if update_flashcard_checked.front is null and update_flashcard_checked.back is null then
    perform core.invalid_field('front', 'give a front, a back or both');
  end if;
  if update_flashcard_checked.front is not null then
    v_front := flashcards_private.card_text(to_jsonb(update_flashcard_checked.front), 'front', 200);
  end if;
  if update_flashcard_checked.back is not null then
    v_back := flashcards_private.card_text(to_jsonb(update_flashcard_checked.back), 'back', 500);
  end if;
  select * into v_card from flashcards.flashcards f
   where f.id = v_id and f.user_id = v_user_id and f.deleted_at is null
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Flashcard not found',
      jsonb_build_object('id', update_flashcard_checked.id));
  end if;
  update flashcards.flashcards f
     set front = coalesce(v_front, f.front),
         back = coalesce(v_back, f.back),
         source = case when f.source = 'ai' and (coalesce(v_front, f.front) <> f.front
                                                 or coalesce(v_back, f.back) <> f.back)
                       then 'ai_edited' else f.source end,
         updated_at = now()
   where f.id = v_card.id
  returning * into v_card;
  perform core.log_event('flashcards', 'flashcard_updated', v_user_id, 'flashcard', v_card.id,
    jsonb_build_object('source', v_card.source));
  return jsonb_build_object('data', flashcards_private.card_dto(v_card));
end;
$$;

/**
 * Edit one of the caller's cards (flashcards.update_flashcard): front and/or back
 * (404 otherwise; at least one side). An `ai` card whose text changes becomes
 * `ai_edited`. One flashcard_updated event. The common case in one statement;
 * anything else goes to update_flashcard_checked.
 */
create or replace function flashcards_private.update_flashcard(
  id text,
  front text default null,
  back text default null
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_id uuid := case when update_flashcard.id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                    then update_flashcard.id::uuid end;
  v_front text := btrim(update_flashcard.front);
  v_back text := btrim(update_flashcard.back);
  v_result jsonb;
begin
  -- the checks of card_text, as conditions that hold
  if v_user_id is not null and v_id is not null
     and (v_front is not null or v_back is not null)
     and coalesce(char_length(v_front) between 1 and 200, true)
     and coalesce(char_length(v_back) between 1 and 500, true) then
    with updated as (
      update flashcards.flashcards f
         set front = coalesce(v_front, f.front),
             back = coalesce(v_back, f.back),
             source = case when f.source = 'ai' and (coalesce(v_front, f.front) <> f.front
                                                     or coalesce(v_back, f.back) <> f.back)
                           then 'ai_edited' else f.source end,
             updated_at = now()
       where f.id = v_id and f.user_id = v_user_id and f.deleted_at is null
      returning f.*
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'flashcards', 'flashcard_updated', u.user_id, 'flashcard', u.id,
             jsonb_build_object('source', u.source)
        from updated u
    )
    select jsonb_build_object('data', jsonb_build_object(
             'id', c.id,
             'front', c.front,
             'back', c.back,
             'source', c.source,
             'session_id', c.session_id,
             'candidate_id', c.candidate_id,
             'created_at', c.created_at,
             'updated_at', c.updated_at))
      into v_result
      from updated c;
    if found then
      return v_result;
    end if;
  end if;
  return flashcards_private.update_flashcard_checked(update_flashcard.id,
    update_flashcard.front, update_flashcard.back);
end;
$$;

grant execute on function flashcards_private.update_flashcard(text, text, text) to authenticated;

/**
 * delete_flashcards step by step (its previous body): every check in the
 * documented order, each raising its error. Only the fast path below calls it,
 * with whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function flashcards_private.delete_flashcards_checked(ids jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_ids uuid[];
  v_deleted integer;
begin
  perform flashcards_private.check_batch(delete_flashcards_checked.ids, 'ids', 100);
  select array_agg(core.parse_uuid(
           case when jsonb_typeof(e.value) = 'string' then e.value #>> '{}' else 'x' end,
           format('ids[%s]', e.ord - 1)))
    into v_ids
    from jsonb_array_elements(delete_flashcards_checked.ids) with ordinality as e(value, ord);
  update flashcards.flashcards f set deleted_at = now(), updated_at = now()
   where f.id = any (v_ids) and f.user_id = v_user_id and f.deleted_at is null;
  get diagnostics v_deleted = row_count;
  if v_deleted > 0 then
    perform core.log_event('flashcards', 'flashcards_deleted', v_user_id, null, null,
      jsonb_build_object('count', v_deleted));
  end if;
  return jsonb_build_object('data', jsonb_build_object('deleted', v_deleted));
end;
$$;

/**
 * Soft-delete 1..100 of the caller's cards by id (flashcards.delete_flashcards);
 * ids that are not the caller's (or already deleted) are skipped. {data:
 * {deleted: n}}; one flashcards_deleted event when any was. The common case (at
 * least one deleted) in one statement; anything else goes to
 * delete_flashcards_checked, which also tells a caller whose account is gone
 * (401) from one with nothing to delete.
 */
create or replace function flashcards_private.delete_flashcards(ids jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_sub text := nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub';
  v_user_id uuid := case when v_sub ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                         then v_sub::uuid end;
  v_deleted bigint;
begin
  -- the checks of check_batch and parse_uuid, as conditions that hold for every id
  if v_user_id is not null
     -- (in parentheses: IF's condition would end at the CASE's THEN)
     and (case when jsonb_typeof(delete_flashcards.ids) = 'array'
               then jsonb_array_length(delete_flashcards.ids) between 1 and 100
               else false end)
     and not exists (
           select from jsonb_array_elements(delete_flashcards.ids) e
            where (jsonb_typeof(e.value) = 'string'
                   and e.value #>> '{}' ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$')
                  is not true) then
    with deleted as (
      update flashcards.flashcards f set deleted_at = now(), updated_at = now()
       where f.id = any (array(select (e.value #>> '{}')::uuid
                                 from jsonb_array_elements(delete_flashcards.ids) e))
         and f.user_id = v_user_id and f.deleted_at is null
      returning f.id
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'flashcards', 'flashcards_deleted', v_user_id, null, null,
             jsonb_build_object('count', count(*))
        from deleted
      having count(*) > 0
    )
    select count(*) into v_deleted from deleted;
    if v_deleted > 0 then
      return jsonb_build_object('data', jsonb_build_object('deleted', v_deleted));
    end if;
  end if;
  return flashcards_private.delete_flashcards_checked(delete_flashcards.ids);
end;
$$;

grant execute on function flashcards_private.delete_flashcards(jsonb) to authenticated;
