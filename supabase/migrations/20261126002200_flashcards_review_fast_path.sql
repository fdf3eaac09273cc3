-- =============================================================================
-- flashcards.review_candidates in one statement when nothing is wrong. It walked
-- its actions one by one (a lock, an insert and an update per candidate, and the
-- helpers for each): 2.36-2.40x the minimal SQL for ten accepts (make bench
-- rpcs), and its cost grows with the batch (up to 100 actions). Now the actions
-- are checked with plain expressions, then one statement locks the session and
-- the candidates, and when every action found its pending candidate it creates
-- the cards, marks the candidates, adds to the counts, logs the event and builds
-- the answer. Anything it does not finish (an action in another form, a candidate
-- reviewed already or not in the session, a session not completed) has written
-- nothing and goes to review_candidates_checked, the walk it replaces, which
-- raises the precise error. tests/test_write_fast_paths.py compares both paths.
-- =============================================================================

-- =============================================================================
-- FLASHCARDS
-- =============================================================================

/**
 * review_candidates step by step (its previous body): every check in the
 * documented order, each raising its error. Only the fast path below calls it,
 * with whatever that path did not finish; no grant, as it runs as the definer.
 */
create or replace function flashcards_private.review_candidates_checked(session_id text, actions jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_session_id uuid := core.parse_uuid(review_candidates_checked.session_id, 'session_id');
  v_session flashcards.ai_generation_sessions;
  v_item jsonb;
  v_index integer := 0;
  v_field text;
  v_action text;
  v_candidate flashcards.candidates;
  v_front text;
  v_back text;
  v_card flashcards.flashcards;
  v_cards jsonb := '[]'::jsonb;
  v_seen uuid[] := '{}'::uuid[];
  v_accepted integer := 0;
  v_edited integer := 0;
  v_rejected integer := 0;
begin
  if v_session_id is null then
    perform core.invalid_field('session_id', 'session_id is required');
  end if;
  perform flashcards_private.check_batch(review_candidates_checked.actions, 'actions', 100);
  select * into v_session from flashcards.ai_generation_sessions s
   where s.id = v_session_id and s.user_id = v_user_id
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Generation session not found',
      jsonb_build_object('sessionId', v_session_id));
  end if;
  if v_session.status <> 'completed' then
    perform core.api_error(422, 'INVALID_STATUS',
      format('Cannot review candidates of a %s session', v_session.status),
      jsonb_build_object('currentStatus', v_session.status, 'requiredStatus', 'completed'));
  end if;

  for v_item in select value from jsonb_array_elements(review_candidates_checked.actions) loop
    v_field := format('actions[%s]', v_index);
    if jsonb_typeof(v_item) is distinct from 'object' then
      perform core.invalid_field(v_field, v_field || ' must be an object');
    end if;
    v_action := v_item ->> 'action';
    if v_action is null or v_action not in ('accept', 'edit', 'reject') then
      perform core.invalid_field(v_field || '.action', 'action must be accept, edit or reject');
    end if;
    select * into v_candidate from flashcards.candidates c
     where c.id = core.parse_uuid(v_item ->> 'candidate_id', v_field || '.candidate_id')
       and c.session_id = v_session.id
       for update;
    if not found then
      perform core.api_error(404, 'NOT_FOUND', 'Candidate not found in this session',
        jsonb_build_object('field', v_field || '.candidate_id',
                           'candidateId', v_item ->> 'candidate_id'));
    end if;
    if v_candidate.id = any (v_seen) then
      perform core.invalid_field(v_field || '.candidate_id',
        'each candidate may be reviewed once per call');
    end if;
    v_seen := v_seen || v_candidate.id;
    if v_candidate.status <> 'pending' then
      perform core.api_error(409, 'CANDIDATE_ALREADY_REVIEWED',
        'This candidate was reviewed already',
        jsonb_build_object('candidateId', v_candidate.id, 'status', v_candidate.status));
    end if;

    if v_action = 'reject' then
      update flashcards.candidates c set status = 'rejected', reviewed_at = now()
       where c.id = v_candidate.id;
      v_rejected := v_rejected + 1;
    else
      v_front := v_candidate.front;
      v_back := v_candidate.back;
      if v_action = 'edit' then
        if v_item -> 'front' is null and v_item -> 'back' is null then
          perform core.invalid_field(v_field, 'edit needs a front or a back');
        end if;
        if v_item -> 'front' is not null then
          v_front := flashcards_private.card_text(v_item -> 'front', v_field || '.front', 200);
        end if;
        if v_item -> 'back' is not null then
          v_back := flashcards_private.card_text(v_item -> 'back', v_field || '.back', 500);
        end if;
      end if;
      insert into flashcards.flashcards (user_id, front, back, source, session_id, candidate_id)
      values (v_user_id, v_front, v_back,
              case when v_action = 'edit' then 'ai_edited' else 'ai' end::flashcards.card_source,
              v_session.id, v_candidate.id)
      returning * into v_card;
      update flashcards.candidates c
         set status = case when v_action = 'edit' then 'edited' else 'accepted' end
                        ::flashcards.candidate_status,
             flashcard_id = v_card.id, reviewed_at = now()
       where c.id = v_candidate.id;
      v_cards := v_cards || jsonb_build_array(flashcards_private.card_dto(v_card));
      if v_action = 'edit' then
        v_edited := v_edited + 1;
      else
        v_accepted := v_accepted + 1;
      end if;
    end if;
    v_index := v_index + 1;
  end loop;

  update flashcards.ai_generation_sessions s
     set accepted_unedited_count = s.accepted_unedited_count + v_accepted,
         accepted_edited_count = s.accepted_edited_count + v_edited,
         rejected_count = s.rejected_count + v_rejected
   where s.id = v_session.id
  returning * into v_session;
  perform core.log_event('flashcards', 'candidates_reviewed', v_user_id,
    'ai_generation_session', v_session.id,
    jsonb_build_object('accepted', v_accepted, 'edited', v_edited, 'rejected', v_rejected));
  return jsonb_build_object(
    'data', jsonb_build_object('flashcards', v_cards,
                               'session', flashcards_private.session_summary(v_session)),
    'meta', jsonb_build_object('accepted', v_accepted, 'edited', v_edited,
                               'rejected', v_rejected));
end;
$$;

/**
 * Review candidates of one of the caller's completed sessions, all or nothing
 * (flashcards.review_candidates; the rules are review_candidates_checked's). The
 * common case in one statement; anything else goes to review_candidates_checked.
 */
create or replace function flashcards_private.review_candidates(session_id text, actions jsonb)
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
  v_session_id uuid := case when review_candidates.session_id ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$'
                            then review_candidates.session_id::uuid end;
  v_result jsonb;
begin
  if v_user_id is not null and v_session_id is not null
     and jsonb_typeof(review_candidates.actions) = 'array'
     and jsonb_array_length(review_candidates.actions) between 1 and 100
     -- every action in a form that needs no further check, each candidate once
     and not exists (
       select from jsonb_array_elements(review_candidates.actions) a
        where case
          when jsonb_typeof(a) <> 'object' then true
          when jsonb_typeof(a -> 'candidate_id') is distinct from 'string' then true
          when not (a ->> 'candidate_id') ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' then true
          when a ->> 'action' in ('accept', 'reject') then false
          when a ->> 'action' = 'edit' then
            (a -> 'front' is null and a -> 'back' is null)
            or (a -> 'front' is not null
                and (jsonb_typeof(a -> 'front') <> 'string'
                     or char_length(btrim(a ->> 'front')) not between 1 and 200))
            or (a -> 'back' is not null
                and (jsonb_typeof(a -> 'back') <> 'string'
                     or char_length(btrim(a ->> 'back')) not between 1 and 500))
          else true
        end)
     and (select count(distinct (a ->> 'candidate_id')::uuid) = count(*)
            from jsonb_array_elements(review_candidates.actions) a) then
    with acts as (
      select (t.a ->> 'candidate_id')::uuid as candidate_id, t.a ->> 'action' as action,
             t.a, t.ord
        from jsonb_array_elements(review_candidates.actions) with ordinality as t(a, ord)
    ), session as (
      select g.id
        from flashcards.ai_generation_sessions g
       where g.id = v_session_id and g.user_id = v_user_id and g.status = 'completed'
         for update
    ), targets as (
      select c.id, c.session_id, x.action, x.ord,
             case when x.action = 'edit' and x.a -> 'front' is not null
                  then btrim(x.a ->> 'front') else c.front end as front,
             case when x.action = 'edit' and x.a -> 'back' is not null
                  then btrim(x.a ->> 'back') else c.back end as back
        from flashcards.candidates c
        join acts x on x.candidate_id = c.id
        join session s on s.id = c.session_id
       where c.status = 'pending'
         for update of c
    ), tally as (
      -- all or nothing: every action found its pending candidate
      select count(*) = (select count(*) from acts) as complete,
             count(*) filter (where t.action = 'accept') as accepted,
             count(*) filter (where t.action = 'edit') as edited,
             count(*) filter (where t.action = 'reject') as rejected
        from targets t
    ), cards as (
      insert into flashcards.flashcards (user_id, front, back, source, session_id, candidate_id)
      select v_user_id, t.front, t.back,
             case when t.action = 'edit' then 'ai_edited' else 'ai' end::flashcards.card_source,
             t.session_id, t.id
        from targets t, tally
       where tally.complete and t.action <> 'reject'
       order by t.ord
      returning *
    ), marked as (
      update flashcards.candidates c
         set status = case t.action when 'accept' then 'accepted' when 'edit' then 'edited'
                                    else 'rejected' end::flashcards.candidate_status,
             flashcard_id = k.id,
             reviewed_at = now()
        from targets t
        left join cards k on k.candidate_id = t.id
        cross join tally
       where tally.complete and c.id = t.id
    ), counted as (
      update flashcards.ai_generation_sessions g
         set accepted_unedited_count = g.accepted_unedited_count + tally.accepted,
             accepted_edited_count = g.accepted_edited_count + tally.edited,
             rejected_count = g.rejected_count + tally.rejected
        from tally
       where tally.complete and g.id = v_session_id
      returning g.*, tally.accepted, tally.edited, tally.rejected
    ), event as (
      insert into core.events (app, event_type, user_id, entity_type, entity_id, data)
      select 'flashcards', 'candidates_reviewed', v_user_id, 'ai_generation_session', g.id,
             jsonb_build_object('accepted', g.accepted, 'edited', g.edited,
                                'rejected', g.rejected)
        from counted g
    )
    select jsonb_build_object(
             'data', jsonb_build_object(
               'flashcards', coalesce((
                 select jsonb_agg(jsonb_build_object(
                          'id', k.id, 'front', k.front, 'back', k.back, 'source', k.source,
                          'session_id', k.session_id, 'candidate_id', k.candidate_id,
                          'created_at', k.created_at, 'updated_at', k.updated_at)
                        order by t.ord)
                   from cards k join targets t on t.id = k.candidate_id), '[]'::jsonb),
               'session', jsonb_build_object(
                 'id', g.id, 'model', g.model, 'status', g.status,
                 'error_code', g.error_code, 'input_length', char_length(g.input_text),
                 'candidates_count', g.candidates_count,
                 'accepted_unedited_count', g.accepted_unedited_count,
                 'accepted_edited_count', g.accepted_edited_count,
                 'rejected_count', g.rejected_count,
                 'duration_ms', g.duration_ms,
                 'created_at', g.created_at, 'finished_at', g.finished_at)),
             'meta', jsonb_build_object('accepted', g.accepted, 'edited', g.edited,
                                        'rejected', g.rejected))
      into v_result
      from counted g;
    if found then
      return v_result;
    end if;
  end if;
  return flashcards_private.review_candidates_checked(review_candidates.session_id,
      review_candidates.actions);
end;
$$;

grant execute on function flashcards_private.review_candidates(text, jsonb) to authenticated;
