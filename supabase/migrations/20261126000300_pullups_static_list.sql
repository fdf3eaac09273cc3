-- =============================================================================
-- pullups.list_sessions without dynamic SQL: one static query per whitelisted
-- sort and order, prepared once per connection by plpgsql instead of an EXECUTE
-- planned on every call. Same signature, answers and errors.
-- =============================================================================

/**
 * The caller's sessions, filtered by status (any of) and date range, sorted by a
 * whitelisted column: {data: {sessions}, meta: {pagination: {limit, offset, total}}}.
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
    'meta', jsonb_build_object('pagination', jsonb_build_object(
      'limit', v_limit, 'offset', v_offset,
      'total', (select count(*) from pullups.sessions s
                 where s.user_id = v_user_id
                   and (v_statuses is null or s.status = any (v_statuses))
                   and (v_from is null or s.session_date >= v_from)
                   and (v_to is null or s.session_date <= v_to))))
  );
end;
$$;
