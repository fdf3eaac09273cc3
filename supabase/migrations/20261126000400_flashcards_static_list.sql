-- =============================================================================
-- flashcards.list_flashcards without dynamic SQL: one static query per
-- whitelisted sort and order, prepared once per connection by plpgsql instead
-- of an EXECUTE planned on every call. Same signature, answers and errors.
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
    'pagination', jsonb_build_object(
      'limit', v_limit, 'offset', v_offset,
      'total', (select count(*) from flashcards.flashcards f
                 where f.user_id = v_user_id and f.deleted_at is null
                   and (v_query is null or f.search_vector @@ v_query))));
end;
$$;
