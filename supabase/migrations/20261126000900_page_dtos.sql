-- =============================================================================
-- Page-level DTOs: a list builds its page's JSON in one function call instead
-- of one call per row (each call of a function with its pinned search_path
-- costs about 5 µs: 100 µs for a page of 20 cards).
--
-- The page functions repeat the shape of the one-row helpers (session_dto,
-- card_dto) rather than wrap them: with one-row helpers returning the first
-- element of the page function, pullups.get_session measured 133 instead of
-- 119 µs (make bench rpcs). tests/test_page_dtos.py checks that both give the same
-- JSON for the same rows. plpgsql, not sql: Postgres 15 plans a non-inlined sql
-- function's query on every call (measured about +100 µs a call).
-- =============================================================================

-- =============================================================================
-- PULLUPS
-- =============================================================================

/**
 * The SessionDTOs of rows, in their order: a JSON array, [] for none (the shape
 * of pullups_private.session_dto).
 */
create or replace function pullups_private.session_dtos(p_sessions pullups.sessions[])
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  return (select coalesce(jsonb_agg(jsonb_build_object(
           'id', s.id,
           'status', s.status,
           'sessionDate', s.session_date,
           'sets', to_jsonb(s.sets),
           'totalReps', s.total_reps,
           'rpe', s.rpe,
           'isAiGenerated', s.is_ai_generated,
           'isModified', s.is_modified,
           'aiComment', s.ai_comment,
           'notes', s.notes,
           'startedAt', s.started_at,
           'finishedAt', s.finished_at,
           'createdAt', s.created_at,
           'updatedAt', s.updated_at) order by s.ordinality), '[]'::jsonb)
    from unnest(p_sessions) with ordinality as s);
end;
$$;

grant execute on function pullups_private.session_dtos(pullups.sessions[])
  to authenticated, service_role;

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
    'data', jsonb_build_object('sessions', pullups_private.session_dtos(v_rows)),
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
-- FLASHCARDS
-- =============================================================================

/**
 * The Flashcard DTOs of rows, in their order: a JSON array, [] for none (the
 * shape of flashcards_private.card_dto).
 */
create or replace function flashcards_private.card_dtos(p_cards flashcards.flashcards[])
  returns jsonb
  language plpgsql
  stable
  set search_path = ''
as $$
begin
  return (select coalesce(jsonb_agg(jsonb_build_object(
           'id', c.id, 'front', c.front, 'back', c.back, 'source', c.source,
           'session_id', c.session_id, 'candidate_id', c.candidate_id,
           'created_at', c.created_at, 'updated_at', c.updated_at) order by c.ordinality),
         '[]'::jsonb)
    from unnest(p_cards) with ordinality as c);
end;
$$;

grant execute on function flashcards_private.card_dtos(flashcards.flashcards[])
  to authenticated, service_role;

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
    'data', flashcards_private.card_dtos(v_rows),
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
