-- =============================================================================
-- workouts.list_sessions without dynamic SQL: one static query per whitelisted
-- order, so plpgsql prepares each once per connection instead of planning an
-- EXECUTE on every call. Same signature, answers and errors.
-- =============================================================================

/**
 * The caller's session history as summaries (no snapshot): filters plan_id,
 * date_from/date_to, completed; sort started_at|date|ended_at, sort_order asc|desc;
 * page_size 1..100 (20), page_offset >= 0. {data: SessionSummary[], pagination}.
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
    'pagination', jsonb_build_object(
      'limit', v_limit, 'offset', v_offset,
      'total', (select count(*) from workouts.training_sessions s
                 where s.user_id = v_user_id
                   and (v_plan_id is null or s.plan_id = v_plan_id)
                   and (v_from is null or s.date >= v_from)
                   and (v_to is null or s.date <= v_to)
                   and (v_done is null or (s.ended_at is not null) = v_done))));
end;
$$;
