-- =============================================================================
-- Capped list totals: every list RPC counts at most core.total_cap() rows past
-- page_offset, so the first page of a user with a long history costs about what
-- it costs for anyone else (an exact count read all 5,000 index entries of a
-- 5,000-session user). Beyond the cap, pagination.total is a lower bound and
-- pagination.total_capped says so. Same signatures, pages and errors.
--
-- An unfiltered list (the usual call) counts with its own query on user_id
-- alone: plpgsql soon runs its statements on a generic plan, which keeps every
-- `(v_x is null or ...)` filter and so reads each counted row from the heap;
-- on user_id alone the count is an index-only scan (measured 28 vs 100 µs for
-- 100 rows, 93 vs 177 µs at the cap).
-- =============================================================================

-- =============================================================================
-- CORE: pagination
-- =============================================================================

/**
 * How many rows past page_offset a list counts before its total stops being
 * exact: 1,000, fifty pages of 20 ahead.
 */
create or replace function core.total_cap()
  returns integer
  language sql
  immutable
  set search_path = ''
as $$
  select 1000
$$;

grant execute on function core.total_cap() to authenticated, service_role;

/**
 * A list's pagination object from `counted`, the matching rows counted with
 * `limit page_offset + core.total_cap() + 1`: {limit, offset, total, total_capped}.
 * Up to the cap, total is exact and total_capped false; past it, total is
 * page_offset + core.total_cap() (there are more) and total_capped true.
 */
create or replace function core.pagination(page_size integer, page_offset integer,
                                           counted bigint)
  returns jsonb
  language sql
  immutable
  set search_path = ''
as $$
  select jsonb_build_object(
    'limit', pagination.page_size, 'offset', pagination.page_offset,
    'total', least(pagination.counted, pagination.page_offset + core.total_cap()),
    'total_capped', pagination.counted > pagination.page_offset + core.total_cap())
$$;

grant execute on function core.pagination(integer, integer, bigint)
  to authenticated, service_role;

-- =============================================================================
-- PULLUPS
-- =============================================================================

/**
 * The caller's sessions, filtered by status (any of) and date range, sorted by a
 * whitelisted column: {data: {sessions}, meta: {pagination}} (see core.pagination).
 */
create or replace function pullups.list_sessions(
  status text[] default null,
  date_from text default null,
  date_to text default null,
  sort text default 'session_date',
  sort_order text default 'desc',
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
  v_from date := core.parse_date(list_sessions.date_from, 'date_from');
  v_to date := core.parse_date(list_sessions.date_to, 'date_to');
  v_limit integer := list_sessions.page_size;
  v_offset integer := list_sessions.page_offset;
  v_statuses pullups.session_status[];
  v_rows pullups.sessions[];
begin
  if list_sessions.status is not null then
    if exists (select from unnest(list_sessions.status) x
                where x is null or x not in ('planned', 'in_progress', 'completed', 'failed')) then
      perform core.invalid_field('status',
        'status must be a list of planned, in_progress, completed, failed');
    end if;
    v_statuses := list_sessions.status::pullups.session_status[];
  end if;
  if coalesce(list_sessions.sort, '') not in ('session_date', 'created_at', 'total_reps') then
    perform core.invalid_field('sort',
      'sort must be one of session_date, created_at, total_reps');
  end if;
  if coalesce(list_sessions.sort_order, '') not in ('asc', 'desc') then
    perform core.invalid_field('sort_order', 'sort_order must be asc or desc');
  end if;
  perform core.check_paging(v_limit, v_offset);
  if v_from > v_to then
    perform core.invalid_field('date_from', 'date_from must not be after date_to');
  end if;

  -- the page's rows in order (ties: created_at the same way, then id)
  case list_sessions.sort || ' ' || list_sessions.sort_order
    when 'session_date desc' then
      v_rows := array(select s from pullups.sessions s
                       where s.user_id = v_user_id
                         and (v_statuses is null or s.status = any (v_statuses))
                         and (v_from is null or s.session_date >= v_from)
                         and (v_to is null or s.session_date <= v_to)
                       order by s.session_date desc, s.created_at desc, s.id
                       limit v_limit offset v_offset);
    when 'session_date asc' then
      v_rows := array(select s from pullups.sessions s
                       where s.user_id = v_user_id
                         and (v_statuses is null or s.status = any (v_statuses))
                         and (v_from is null or s.session_date >= v_from)
                         and (v_to is null or s.session_date <= v_to)
                       order by s.session_date asc, s.created_at asc, s.id
                       limit v_limit offset v_offset);
    when 'created_at desc' then
      v_rows := array(select s from pullups.sessions s
                       where s.user_id = v_user_id
                         and (v_statuses is null or s.status = any (v_statuses))
                         and (v_from is null or s.session_date >= v_from)
                         and (v_to is null or s.session_date <= v_to)
                       order by s.created_at desc, s.created_at desc, s.id
                       limit v_limit offset v_offset);
    when 'created_at asc' then
      v_rows := array(select s from pullups.sessions s
                       where s.user_id = v_user_id
                         and (v_statuses is null or s.status = any (v_statuses))
                         and (v_from is null or s.session_date >= v_from)
                         and (v_to is null or s.session_date <= v_to)
                       order by s.created_at asc, s.created_at asc, s.id
                       limit v_limit offset v_offset);
    when 'total_reps desc' then
      v_rows := array(select s from pullups.sessions s
                       where s.user_id = v_user_id
                         and (v_statuses is null or s.status = any (v_statuses))
                         and (v_from is null or s.session_date >= v_from)
                         and (v_to is null or s.session_date <= v_to)
                       order by s.total_reps desc, s.created_at desc, s.id
                       limit v_limit offset v_offset);
    else -- 'total_reps asc'
      v_rows := array(select s from pullups.sessions s
                       where s.user_id = v_user_id
                         and (v_statuses is null or s.status = any (v_statuses))
                         and (v_from is null or s.session_date >= v_from)
                         and (v_to is null or s.session_date <= v_to)
                       order by s.total_reps asc, s.created_at asc, s.id
                       limit v_limit offset v_offset);
  end case;

  return jsonb_build_object(
    'data', jsonb_build_object('sessions', coalesce((
      select jsonb_agg(pullups_private.session_dto(v_rows[i]) order by i)
        from generate_subscripts(v_rows, 1) as i), '[]'::jsonb)),
    'meta', jsonb_build_object('pagination', core.pagination(v_limit, v_offset,
      case when v_statuses is null and v_from is null and v_to is null then (
        select count(*) from (select from pullups.sessions s
                               where s.user_id = v_user_id
                               limit v_offset + core.total_cap() + 1) counted)
      else (
        select count(*) from (select from pullups.sessions s
                               where s.user_id = v_user_id
                                 and (v_statuses is null or s.status = any (v_statuses))
                                 and (v_from is null or s.session_date >= v_from)
                                 and (v_to is null or s.session_date <= v_to)
                               limit v_offset + core.total_cap() + 1) counted)
      end))
  );
end;
$$;

-- =============================================================================
-- WORKOUTS
-- =============================================================================

/**
 * The caller's session history as summaries (no snapshot): filters plan_id,
 * date_from/date_to, completed; sort started_at|date|ended_at, sort_order asc|desc;
 * page_size 1..100 (20), page_offset >= 0.
 * {data: SessionSummary[], pagination} (see core.pagination).
 */
create or replace function workouts.list_sessions(
  plan_id text default null,
  date_from text default null,
  date_to text default null,
  completed boolean default null,
  page_size integer default 20,
  page_offset integer default 0,
  sort text default 'started_at',
  sort_order text default 'desc'
)
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_plan_id uuid := core.parse_uuid(list_sessions.plan_id, 'plan_id');
  v_from date := core.parse_date(list_sessions.date_from, 'date_from');
  v_to date := core.parse_date(list_sessions.date_to, 'date_to');
  v_done boolean := list_sessions.completed;
  v_limit integer := list_sessions.page_size;
  v_offset integer := list_sessions.page_offset;
  v_rows workouts.training_sessions[];
begin
  if coalesce(list_sessions.sort, '') not in ('started_at', 'date', 'ended_at') then
    perform core.invalid_field('sort', 'sort must be one of started_at, date, ended_at');
  end if;
  if coalesce(list_sessions.sort_order, '') not in ('asc', 'desc') then
    perform core.invalid_field('sort_order', 'sort_order must be asc or desc');
  end if;
  perform core.check_paging(v_limit, v_offset);
  if v_from > v_to then
    perform core.invalid_field('date_from', 'date_from must not be after date_to');
  end if;

  -- The page's rows in order. Postgres' default null order keeps the
  -- (user_id, <sort> desc) indexes usable both ways: by ended_at desc, the
  -- session in progress comes first; asc, last.
  case list_sessions.sort || ' ' || list_sessions.sort_order
    when 'started_at desc' then
      v_rows := array(select s from workouts.training_sessions s
                      where s.user_id = v_user_id
                        and (v_plan_id is null or s.plan_id = v_plan_id)
                        and (v_from is null or s.date >= v_from)
                        and (v_to is null or s.date <= v_to)
                        and (v_done is null or (s.ended_at is not null) = v_done)
                      order by s.started_at desc, s.id desc limit v_limit offset v_offset);
    when 'started_at asc' then
      v_rows := array(select s from workouts.training_sessions s
                      where s.user_id = v_user_id
                        and (v_plan_id is null or s.plan_id = v_plan_id)
                        and (v_from is null or s.date >= v_from)
                        and (v_to is null or s.date <= v_to)
                        and (v_done is null or (s.ended_at is not null) = v_done)
                      order by s.started_at asc, s.id asc limit v_limit offset v_offset);
    when 'date desc' then
      v_rows := array(select s from workouts.training_sessions s
                      where s.user_id = v_user_id
                        and (v_plan_id is null or s.plan_id = v_plan_id)
                        and (v_from is null or s.date >= v_from)
                        and (v_to is null or s.date <= v_to)
                        and (v_done is null or (s.ended_at is not null) = v_done)
                      order by s.date desc, s.id desc limit v_limit offset v_offset);
    when 'date asc' then
      v_rows := array(select s from workouts.training_sessions s
                      where s.user_id = v_user_id
                        and (v_plan_id is null or s.plan_id = v_plan_id)
                        and (v_from is null or s.date >= v_from)
                        and (v_to is null or s.date <= v_to)
                        and (v_done is null or (s.ended_at is not null) = v_done)
                      order by s.date asc, s.id asc limit v_limit offset v_offset);
    when 'ended_at desc' then
      v_rows := array(select s from workouts.training_sessions s
                      where s.user_id = v_user_id
                        and (v_plan_id is null or s.plan_id = v_plan_id)
                        and (v_from is null or s.date >= v_from)
                        and (v_to is null or s.date <= v_to)
                        and (v_done is null or (s.ended_at is not null) = v_done)
                      order by s.ended_at desc, s.id desc limit v_limit offset v_offset);
    else -- 'ended_at asc'
      v_rows := array(select s from workouts.training_sessions s
                      where s.user_id = v_user_id
                        and (v_plan_id is null or s.plan_id = v_plan_id)
                        and (v_from is null or s.date >= v_from)
                        and (v_to is null or s.date <= v_to)
                        and (v_done is null or (s.ended_at is not null) = v_done)
                      order by s.ended_at asc, s.id asc limit v_limit offset v_offset);
  end case;

  return jsonb_build_object(
    'data', coalesce((
      select jsonb_agg(jsonb_build_object(
               'id', s.id, 'plan_id', s.plan_id, 'date', s.date,
               'plan_name', s.session ->> 'plan_name', 'day_name', s.session ->> 'day_name',
               'started_at', s.started_at, 'ended_at', s.ended_at,
               'completed', s.ended_at is not null,
               'created_at', s.created_at, 'updated_at', s.updated_at) order by s.ordinality)
        from unnest(v_rows) with ordinality as s), '[]'::jsonb),
    'pagination', core.pagination(v_limit, v_offset,
      case when v_plan_id is null and v_from is null and v_to is null and v_done is null then (
        select count(*) from (select from workouts.training_sessions s
                               where s.user_id = v_user_id
                               limit v_offset + core.total_cap() + 1) counted)
      else (
        select count(*) from (select from workouts.training_sessions s
                               where s.user_id = v_user_id
                                 and (v_plan_id is null or s.plan_id = v_plan_id)
                                 and (v_from is null or s.date >= v_from)
                                 and (v_to is null or s.date <= v_to)
                                 and (v_done is null or (s.ended_at is not null) = v_done)
                               limit v_offset + core.total_cap() + 1) counted)
      end));
end;
$$;

/**
 * The caller's plans, newest first, archived ones only when asked:
 * {data: PlanResponse[], pagination}; page_size 1..100
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
    'pagination', core.pagination(list_plans.page_size, list_plans.page_offset, (
      select count(*) from (select from workouts.plans p
                             where p.user_id = v_user_id
                               and (coalesce(list_plans.include_archived, false)
                                    or not p.archived)
                             limit list_plans.page_offset + core.total_cap() + 1) counted)));
end;
$$;

-- =============================================================================
-- FLASHCARDS
-- =============================================================================

/**
 * The caller's deck (not deleted), optionally searched (websearch syntax over
 * front and back), sorted by created_at|updated_at|front, sort_order asc|desc;
 * page_size 1..100 (20), page_offset >= 0: {data: Flashcard[], pagination}.
 */
create or replace function flashcards.list_flashcards(
  search text default null,
  page_size integer default 20,
  page_offset integer default 0,
  sort text default 'created_at',
  sort_order text default 'desc'
)
  returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_limit integer := list_flashcards.page_size;
  v_offset integer := list_flashcards.page_offset;
  v_query tsquery;
  v_rows flashcards.flashcards[];
begin
  if coalesce(list_flashcards.sort, '') not in ('created_at', 'updated_at', 'front') then
    perform core.invalid_field('sort', 'sort must be one of created_at, updated_at, front');
  end if;
  if coalesce(list_flashcards.sort_order, '') not in ('asc', 'desc') then
    perform core.invalid_field('sort_order', 'sort_order must be asc or desc');
  end if;
  perform core.check_paging(v_limit, v_offset);
  if char_length(list_flashcards.search) > 200 then
    perform core.invalid_field('search', 'search must be at most 200 characters');
  end if;
  if nullif(btrim(list_flashcards.search), '') is not null then
    v_query := websearch_to_tsquery('simple', list_flashcards.search);
  end if;

  -- the page's cards in order (ties by id)
  case list_flashcards.sort || ' ' || list_flashcards.sort_order
    when 'created_at desc' then
      v_rows := array(select f from flashcards.flashcards f
                       where f.user_id = v_user_id and f.deleted_at is null
                         and (v_query is null or f.search_vector @@ v_query)
                       order by f.created_at desc, f.id
                       limit v_limit offset v_offset);
    when 'created_at asc' then
      v_rows := array(select f from flashcards.flashcards f
                       where f.user_id = v_user_id and f.deleted_at is null
                         and (v_query is null or f.search_vector @@ v_query)
                       order by f.created_at asc, f.id
                       limit v_limit offset v_offset);
    when 'updated_at desc' then
      v_rows := array(select f from flashcards.flashcards f
                       where f.user_id = v_user_id and f.deleted_at is null
                         and (v_query is null or f.search_vector @@ v_query)
                       order by f.updated_at desc, f.id
                       limit v_limit offset v_offset);
    when 'updated_at asc' then
      v_rows := array(select f from flashcards.flashcards f
                       where f.user_id = v_user_id and f.deleted_at is null
                         and (v_query is null or f.search_vector @@ v_query)
                       order by f.updated_at asc, f.id
                       limit v_limit offset v_offset);
    when 'front desc' then
      v_rows := array(select f from flashcards.flashcards f
                       where f.user_id = v_user_id and f.deleted_at is null
                         and (v_query is null or f.search_vector @@ v_query)
                       order by f.front desc, f.id
                       limit v_limit offset v_offset);
    else -- 'front asc'
      v_rows := array(select f from flashcards.flashcards f
                       where f.user_id = v_user_id and f.deleted_at is null
                         and (v_query is null or f.search_vector @@ v_query)
                       order by f.front asc, f.id
                       limit v_limit offset v_offset);
  end case;

  return jsonb_build_object(
    'data', coalesce((
      select jsonb_agg(flashcards_private.card_dto(v_rows[i]) order by i)
        from generate_subscripts(v_rows, 1) as i), '[]'::jsonb),
    'pagination', core.pagination(v_limit, v_offset,
      case when v_query is null then (
        select count(*) from (select from flashcards.flashcards f
                               where f.user_id = v_user_id and f.deleted_at is null
                               limit v_offset + core.total_cap() + 1) counted)
      else (
        select count(*) from (select from flashcards.flashcards f
                               where f.user_id = v_user_id and f.deleted_at is null
                                 and f.search_vector @@ v_query
                               limit v_offset + core.total_cap() + 1) counted)
      end));
end;
$$;

/**
 * The caller's generation sessions, newest first, without input text:
 * {data: [summary], pagination}.
 */
create or replace function flashcards.list_ai_sessions(
  page_size integer default 20,
  page_offset integer default 0
)
  returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
begin
  perform core.check_paging(list_ai_sessions.page_size, list_ai_sessions.page_offset);
  return jsonb_build_object(
    'data', coalesce((
      select jsonb_agg(flashcards_private.session_summary(p) order by p.created_at desc, p.id)
        from (select * from flashcards.ai_generation_sessions s
               where s.user_id = v_user_id
               order by s.created_at desc, s.id
               limit list_ai_sessions.page_size offset list_ai_sessions.page_offset) p),
      '[]'::jsonb),
    'pagination', core.pagination(
      list_ai_sessions.page_size, list_ai_sessions.page_offset, (
      select count(*) from (select from flashcards.ai_generation_sessions s
                             where s.user_id = v_user_id
                             limit list_ai_sessions.page_offset + core.total_cap() + 1)
                           counted)));
end;
$$;
