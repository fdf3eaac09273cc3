-- =============================================================================
-- recipes ("pycha", seed 002): a recipe draft from text or a photo. Nothing of
-- a draft is stored: the only traces are the rate-limit reservation and one
-- core.ai_calls row per OCR or provider call (sizes, statuses, timings).
--
--   recipes          exposed: the service API only (no tables, no client RPC)
--   recipes_private  not exposed: the security definer functions behind it
-- =============================================================================

create schema if not exists recipes;
create schema if not exists recipes_private;
grant usage on schema recipes to anon, authenticated, service_role;
grant usage on schema recipes_private to service_role;

-- =============================================================================
-- QUOTA: 20 drafts per hour per user; every request counts (the limit protects
-- the provider and OCR bill)
-- =============================================================================

insert into core.quota_policies (bucket, max_count, window_length, failures_count,
                                 reservation_ttl, error_status, error_code, error_message)
values ('recipes.draft', 20, interval '1 hour', true, interval '3 minutes', 429,
        'RATE_LIMITED', 'Too many recipe drafts: 20 per hour')
on conflict (bucket) do nothing;

-- =============================================================================
-- FUNCTIONS (service-only)
-- =============================================================================

/**
 * Open a draft for a user: the user must exist (401); takes one recipes.draft
 * slot (429 RATE_LIMITED with Retry-After) and counts against the ai.calls ceiling. Returns {draftId}: the reservation,
 * which also names the draft's rows in core.ai_calls.
 */
create or replace function recipes_private.begin_draft(user_id uuid)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_draft_id uuid;
begin
  if begin_draft.user_id is null
     or not exists (select from auth.users u where u.id = begin_draft.user_id) then
    perform core.api_error(401, 'UNAUTHORIZED', 'Unknown user');
  end if;
  v_draft_id := core.quota_reserve('recipes.draft', begin_draft.user_id);
  perform core.count_ai_attempt(begin_draft.user_id);
  return jsonb_build_object('draftId', v_draft_id);
end;
$$;

grant execute on function recipes_private.begin_draft(uuid) to service_role;

/**
 * Close a draft: records its OCR and provider calls in core.ai_calls and settles
 * the reservation (it counts either way). outcome = {status: success|timeout|
 * error, calls: [...]}. 404 for a draft that is not this user's; a draft closed
 * already records nothing more. Returns {draftId, recordedCalls}.
 */
create or replace function recipes_private.finish_draft(
  user_id uuid,
  draft_id uuid,
  outcome jsonb
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_status text := finish_draft.outcome ->> 'status';
  v_call jsonb;
  v_recorded integer := 0;
begin
  if v_status is null or v_status not in ('success', 'timeout', 'error') then
    perform core.invalid_field('outcome', 'outcome.status must be success, timeout or error');
  end if;
  perform from core.quota_reservations r
   where r.id = finish_draft.draft_id and r.user_id = finish_draft.user_id
     and r.bucket = 'recipes.draft'
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Draft not found');
  end if;
  if core.quota_settle(finish_draft.draft_id, v_status = 'success') then
    for v_call in
      select value from jsonb_array_elements(
        case jsonb_typeof(finish_draft.outcome -> 'calls')
          when 'array' then finish_draft.outcome -> 'calls' else '[]' end)
    loop
      perform core.record_ai_call('recipes', finish_draft.user_id, finish_draft.draft_id, v_call);
      v_recorded := v_recorded + 1;
    end loop;
  end if;
  return jsonb_build_object('draftId', finish_draft.draft_id, 'recordedCalls', v_recorded);
end;
$$;

grant execute on function recipes_private.finish_draft(uuid, uuid, jsonb) to service_role;

-- =============================================================================
-- SERVICE API (exposed, executable by service_role only)
-- =============================================================================

/**
 * Open a recipe draft (see recipes_private.begin_draft).
 */
create or replace function recipes.begin_draft(user_id uuid)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select recipes_private.begin_draft(user_id)
$$;

grant execute on function recipes.begin_draft(uuid) to service_role;

/**
 * Close a recipe draft with its calls (see recipes_private.finish_draft).
 */
create or replace function recipes.finish_draft(user_id uuid, draft_id uuid, outcome jsonb)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select recipes_private.finish_draft(user_id, draft_id, outcome)
$$;

grant execute on function recipes.finish_draft(uuid, uuid, jsonb) to service_role;
