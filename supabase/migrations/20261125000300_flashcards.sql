-- =============================================================================
-- flashcards: study text in, flashcard candidates out (seed 001), reviewed by
-- the user into their deck. An AI generation session stores the input text,
-- its candidates and the counts of what the user did with them; the deck is
-- the user's flashcards (manual, ai, ai_edited), searchable, soft-deleted.
--
-- Two schemas, as every app:
--   flashcards          exposed: tables, types and the client RPCs (security
--                       invoker; reads run under RLS)
--   flashcards_private  not exposed: helpers and the security definer functions
--                       behind the writing RPCs and the AI service's calls
-- =============================================================================

create schema if not exists flashcards;
create schema if not exists flashcards_private;
grant usage on schema flashcards to anon, authenticated, service_role;
grant usage on schema flashcards_private to authenticated, service_role;

-- =============================================================================
-- TYPES
-- =============================================================================

create type flashcards.generation_status as enum ('pending', 'completed', 'failed');
create type flashcards.candidate_status as enum ('pending', 'accepted', 'edited', 'rejected');
create type flashcards.card_source as enum ('manual', 'ai', 'ai_edited');

-- =============================================================================
-- TABLES
-- =============================================================================

create table flashcards.ai_generation_sessions (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  -- stored trimmed; the length is counted in characters, as the API counts it
  input_text text not null check (char_length(input_text) between 1000 and 10000),
  input_hash text not null check (input_hash ~ '^[0-9a-f]{64}$'),
  model text not null check (char_length(model) between 1 and 200),
  status flashcards.generation_status not null default 'pending',
  error_code text check (char_length(error_code) <= 100),
  candidates_count integer not null default 0 check (candidates_count >= 0),
  accepted_unedited_count integer not null default 0 check (accepted_unedited_count >= 0),
  accepted_edited_count integer not null default 0 check (accepted_edited_count >= 0),
  rejected_count integer not null default 0 check (rejected_count >= 0),
  prompt_tokens integer check (prompt_tokens >= 0),
  completion_tokens integer check (completion_tokens >= 0),
  duration_ms integer check (duration_ms >= 0),
  quota_reservation_id uuid,
  created_at timestamptz not null default now(),
  finished_at timestamptz,
  check (accepted_unedited_count + accepted_edited_count + rejected_count <= candidates_count)
);

comment on column flashcards.ai_generation_sessions.input_hash is
  'sha256 of the trimmed input: finds repeated inputs without reading the text.';

create index ai_generation_sessions_user_created_idx
  on flashcards.ai_generation_sessions (user_id, created_at desc);
create index ai_generation_sessions_pending_idx
  on flashcards.ai_generation_sessions (created_at) where status = 'pending';

create table flashcards.flashcards (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references auth.users (id) on delete cascade,
  front text not null check (char_length(front) between 1 and 200),
  back text not null check (char_length(back) between 1 and 500),
  source flashcards.card_source not null,
  session_id uuid references flashcards.ai_generation_sessions (id) on delete set null,
  candidate_id uuid,
  -- `simple`: no stemming, so it works the same for Polish and English text
  search_vector tsvector generated always as (to_tsvector('simple', front || ' ' || back)) stored,
  deleted_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check ((source = 'manual') = (candidate_id is null))
);

create index flashcards_user_created_idx
  on flashcards.flashcards (user_id, created_at desc) where deleted_at is null;
create index flashcards_user_updated_idx
  on flashcards.flashcards (user_id, updated_at desc) where deleted_at is null;
create index flashcards_user_front_idx
  on flashcards.flashcards (user_id, front) where deleted_at is null;
create index flashcards_search_idx
  on flashcards.flashcards using gin (search_vector) where deleted_at is null;
create index flashcards_session_idx on flashcards.flashcards (session_id);

create table flashcards.candidates (
  id uuid primary key default gen_random_uuid(),
  session_id uuid not null references flashcards.ai_generation_sessions (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  position smallint not null check (position between 1 and 30),
  front text not null check (char_length(front) between 1 and 200),
  back text not null check (char_length(back) between 1 and 500),
  prompt text check (char_length(prompt) <= 1000),
  status flashcards.candidate_status not null default 'pending',
  flashcard_id uuid references flashcards.flashcards (id) on delete set null,
  reviewed_at timestamptz,
  created_at timestamptz not null default now(),
  unique (session_id, position)
);

comment on column flashcards.candidates.prompt is
  'The passage of the input the card was made from, shown beside it while reviewing.';

create index candidates_user_idx on flashcards.candidates (user_id);
create index candidates_flashcard_idx on flashcards.candidates (flashcard_id);

alter table flashcards.flashcards
  add constraint flashcards_candidate_fk foreign key (candidate_id)
  references flashcards.candidates (id) on delete set null;
create unique index flashcards_candidate_idx on flashcards.flashcards (candidate_id);

-- =============================================================================
-- POLICIES: owners read their rows; every write goes through the RPCs
-- =============================================================================

alter table flashcards.ai_generation_sessions enable row level security;
alter table flashcards.candidates enable row level security;
alter table flashcards.flashcards enable row level security;

revoke all on flashcards.ai_generation_sessions, flashcards.candidates, flashcards.flashcards
  from public, anon, authenticated, service_role;
grant select on flashcards.ai_generation_sessions, flashcards.candidates, flashcards.flashcards
  to authenticated, service_role;

create policy ai_generation_sessions_owner_read on flashcards.ai_generation_sessions
  for select to authenticated using (user_id = (select auth.uid()));
create policy candidates_owner_read on flashcards.candidates
  for select to authenticated using (user_id = (select auth.uid()));
create policy flashcards_owner_read on flashcards.flashcards
  for select to authenticated using (user_id = (select auth.uid()) and deleted_at is null);

-- =============================================================================
-- QUOTA: 10 generations per hour per user; failures count too (the limit
-- protects the provider bill, and a failed call costs as much)
-- =============================================================================

insert into core.quota_policies (bucket, max_count, window_length, failures_count,
                                 reservation_ttl, error_status, error_code, error_message)
values ('flashcards.ai', 10, interval '1 hour', true, interval '3 minutes', 429,
        'RATE_LIMITED', 'Too many flashcard generations: 10 per hour')
on conflict (bucket) do nothing;

-- =============================================================================
-- FUNCTIONS: helpers
-- =============================================================================

/**
 * The card DTO of a row.
 */
create or replace function flashcards_private.card_dto(p_card flashcards.flashcards)
  returns jsonb
  language sql
  stable
  set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_card.id, 'front', p_card.front, 'back', p_card.back, 'source', p_card.source,
    'session_id', p_card.session_id, 'candidate_id', p_card.candidate_id,
    'created_at', p_card.created_at, 'updated_at', p_card.updated_at)
$$;

grant execute on function flashcards_private.card_dto(flashcards.flashcards)
  to authenticated, service_role;

/**
 * The summary of a generation session (no input text, no candidates).
 */
create or replace function flashcards_private.session_summary(
  p_session flashcards.ai_generation_sessions
)
  returns jsonb
  language sql
  stable
  set search_path = ''
as $$
  select jsonb_build_object(
    'id', p_session.id, 'model', p_session.model, 'status', p_session.status,
    'error_code', p_session.error_code, 'input_length', char_length(p_session.input_text),
    'candidates_count', p_session.candidates_count,
    'accepted_unedited_count', p_session.accepted_unedited_count,
    'accepted_edited_count', p_session.accepted_edited_count,
    'rejected_count', p_session.rejected_count,
    'duration_ms', p_session.duration_ms,
    'created_at', p_session.created_at, 'finished_at', p_session.finished_at)
$$;

grant execute on function flashcards_private.session_summary(flashcards.ai_generation_sessions)
  to authenticated, service_role;

/**
 * A required card side from JSON: a string, 1..p_max characters after trimming
 * (400 VALIDATION_ERROR naming p_field otherwise). Returns it trimmed.
 */
create or replace function flashcards_private.card_text(
  p_value jsonb,
  p_field text,
  p_max integer
)
  returns text
  language plpgsql
  immutable
  set search_path = ''
as $$
declare
  v_text text;
begin
  if jsonb_typeof(p_value) is distinct from 'string' then
    perform core.invalid_field(p_field, p_field || ' must be a string');
  end if;
  v_text := btrim(p_value #>> '{}');
  if char_length(v_text) not between 1 and p_max then
    perform core.invalid_field(p_field,
      format('%s must be 1 to %s characters', p_field, p_max),
      jsonb_build_object('maxLength', p_max));
  end if;
  return v_text;
end;
$$;

/**
 * An array argument of 1..p_max items (400 VALIDATION_ERROR otherwise).
 */
create or replace function flashcards_private.check_batch(
  p_value jsonb,
  p_field text,
  p_max integer
)
  returns void
  language plpgsql
  immutable
  set search_path = ''
as $$
begin
  if jsonb_typeof(p_value) is distinct from 'array'
     or jsonb_array_length(p_value) not between 1 and p_max then
    perform core.invalid_field(p_field,
      format('%s must be an array of 1 to %s items', p_field, p_max),
      jsonb_build_object('maxItems', p_max));
  end if;
end;
$$;

/**
 * Close a pending generation session as failed: error code, duration, the quota
 * slot settled (it still counts: failures count for this bucket), and the
 * generation_session_failed event.
 */
create or replace function flashcards_private.fail_session(
  p_session flashcards.ai_generation_sessions,
  p_error_code text,
  p_duration_ms integer
)
  returns flashcards.ai_generation_sessions
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_session flashcards.ai_generation_sessions;
begin
  update flashcards.ai_generation_sessions s
     set status = 'failed', error_code = left(p_error_code, 100), duration_ms = p_duration_ms,
         finished_at = now()
   where s.id = p_session.id
  returning * into v_session;
  if v_session.quota_reservation_id is not null then
    perform core.quota_settle(v_session.quota_reservation_id, false);
  end if;
  perform core.log_event('flashcards', 'generation_session_failed', v_session.user_id,
    'ai_generation_session', v_session.id,
    jsonb_build_object('errorCode', p_error_code, 'model', v_session.model,
                       'durationMs', p_duration_ms));
  return v_session;
end;
$$;

/**
 * Close the generation sessions pending past the flashcards.ai reservation TTL (a crashed
 * request's) as failed, ABANDONED. Of one user (begin_ai_session) or of everyone (the
 * sweeper, core.close_abandoned_attempts). Returns how many.
 */
create or replace function flashcards_private.close_abandoned(p_user_id uuid default null)
  returns integer
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_session flashcards.ai_generation_sessions;
  v_closed integer := 0;
begin
  for v_session in
    select * from flashcards.ai_generation_sessions s
     where s.status = 'pending' and (p_user_id is null or s.user_id = p_user_id)
       and s.created_at < now() - core.reservation_ttl('flashcards.ai')
       for update skip locked
  loop
    perform flashcards_private.fail_session(v_session, 'ABANDONED', null);
    v_closed := v_closed + 1;
  end loop;
  return v_closed;
end;
$$;

-- =============================================================================
-- FUNCTIONS: AI generation (service-only; exposed through the service API below)
-- =============================================================================

/**
 * Open a generation session: the user must exist (401), the input 1,000..10,000
 * characters after trimming and the model named (400 VALIDATION_ERROR); closes
 * this user's sessions a crashed request left pending past the reservation TTL;
 * takes a flashcards.ai slot (429 RATE_LIMITED with Retry-After, every request
 * counts); inserts the pending session. Returns {sessionId, model, maxCandidates}.
 */
create or replace function flashcards_private.begin_ai_session(
  user_id uuid,
  input_text text,
  model text
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := begin_ai_session.user_id;
  v_text text := btrim(begin_ai_session.input_text, E' \t\r\n\f\v');
  v_reservation uuid;
  v_session flashcards.ai_generation_sessions;
begin
  if v_user_id is null or not exists (select from auth.users u where u.id = v_user_id) then
    perform core.api_error(401, 'UNAUTHORIZED', 'Unknown user');
  end if;
  if v_text is null or char_length(v_text) not between 1000 and 10000 then
    perform core.invalid_field('input_text',
      'input_text must be 1000 to 10000 characters long',
      jsonb_build_object('minLength', 1000, 'maxLength', 10000,
                         'length', char_length(v_text)));
  end if;
  if begin_ai_session.model is null or char_length(btrim(begin_ai_session.model)) = 0
     or char_length(begin_ai_session.model) > 200 then
    perform core.invalid_field('model', 'model is required');
  end if;

  perform flashcards_private.close_abandoned(v_user_id);

  v_reservation := core.quota_reserve('flashcards.ai', v_user_id);
  perform core.count_ai_attempt(v_user_id);
  insert into flashcards.ai_generation_sessions (user_id, input_text, input_hash, model,
                                                 quota_reservation_id)
  values (v_user_id, v_text, encode(extensions.digest(v_text, 'sha256'), 'hex'),
          begin_ai_session.model, v_reservation)
  returning * into v_session;
  return jsonb_build_object('sessionId', v_session.id, 'model', v_session.model,
                            'maxCandidates', 30);
end;
$$;

grant execute on function flashcards_private.begin_ai_session(uuid, text, text) to service_role;

/**
 * Close a generation session in one transaction and record its provider calls in
 * core.ai_calls. outcome = {status: success|timeout|error, errorCode, durationMs,
 * candidates: [{front, back, prompt}], calls: [...]}.
 * Success: candidates are checked again (trimmed, front 1..200, back 1..500,
 * duplicates of a front dropped case-insensitively, at most 30); with none left
 * it is a failure (AI_INVALID_OUTPUT). Stores them, completes the session with
 * its counts, duration and tokens, settles the quota, logs
 * generation_session_created, answers 201 {id, candidates: [{id, front, back,
 * prompt}]}. Failure: the session records its error code, answers 200 {id, error:
 * {code}}. A session closed meanwhile (abandoned) answers {id, error: {code:
 * GENERATION_CLOSED}} and keeps only the call log.
 */
create or replace function flashcards_private.finish_ai_session(
  user_id uuid,
  session_id uuid,
  outcome jsonb
)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := finish_ai_session.user_id;
  v_outcome jsonb := finish_ai_session.outcome;
  v_status text := v_outcome ->> 'status';
  v_duration integer := core.json_count(v_outcome -> 'durationMs');
  v_error_code text := coalesce(v_outcome ->> 'errorCode', 'AI_PROVIDER_ERROR');
  v_session flashcards.ai_generation_sessions;
  v_call jsonb;
  v_count integer;
  v_candidates jsonb;
  v_calls jsonb := case jsonb_typeof(finish_ai_session.outcome -> 'calls')
                     when 'array' then finish_ai_session.outcome -> 'calls' else '[]' end;
begin
  if v_status is null or v_status not in ('success', 'timeout', 'error') then
    perform core.invalid_field('outcome', 'outcome.status must be success, timeout or error');
  end if;
  select * into v_session from flashcards.ai_generation_sessions s
   where s.id = finish_ai_session.session_id and s.user_id = v_user_id
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Generation session not found');
  end if;

  for v_call in select value from jsonb_array_elements(v_calls) loop
    perform core.record_ai_call('flashcards', v_user_id, v_session.id, v_call);
  end loop;

  if v_session.status <> 'pending' then
    return jsonb_build_object('id', v_session.id,
                              'error', jsonb_build_object('code', 'GENERATION_CLOSED'));
  end if;

  if v_status = 'success' then
    begin
      insert into flashcards.candidates (session_id, user_id, position, front, back, prompt)
      select v_session.id, v_user_id, row_number() over (order by c.ord), c.front, c.back, c.prompt
        from (
          select distinct on (lower(t.front)) t.ord, t.front, t.back, t.prompt
            from (
              select e.ord, btrim(e.item ->> 'front') as front, btrim(e.item ->> 'back') as back,
                     left(nullif(btrim(e.item ->> 'prompt'), ''), 1000) as prompt
                from jsonb_array_elements(
                       case jsonb_typeof(v_outcome -> 'candidates')
                         when 'array' then v_outcome -> 'candidates' else '[]'::jsonb end)
                     with ordinality as e(item, ord)
               where jsonb_typeof(e.item) = 'object'
            ) t
           where char_length(t.front) between 1 and 200 and char_length(t.back) between 1 and 500
           order by lower(t.front), t.ord
        ) c
       order by c.ord
       limit 30;
      get diagnostics v_count = row_count;
    exception when others then  -- whatever it was, the attempt is closed, not left pending
      v_count := 0;
      v_error_code := 'STORE_FAILED';
    end;
    if v_count = 0 then
      v_status := 'error';
      v_error_code := case when v_error_code = 'STORE_FAILED' then v_error_code
                           else 'AI_INVALID_OUTPUT' end;
    end if;
  end if;

  if v_status <> 'success' then
    v_session := flashcards_private.fail_session(v_session, v_error_code, v_duration);
    return jsonb_build_object('id', v_session.id, 'error', jsonb_build_object('code', v_error_code));
  end if;

  update flashcards.ai_generation_sessions s
     set status = 'completed', candidates_count = v_count, duration_ms = v_duration,
         finished_at = now(),
         prompt_tokens = (select least(sum(core.json_count(c -> 'prompt_tokens')), 2147483647)
                            from jsonb_array_elements(v_calls) c),
         completion_tokens = (select least(sum(core.json_count(c -> 'completion_tokens')),
                                           2147483647)
                                from jsonb_array_elements(v_calls) c)
   where s.id = v_session.id
  returning * into v_session;
  perform core.quota_settle(v_session.quota_reservation_id, true);
  perform core.log_event('flashcards', 'generation_session_created', v_user_id,
    'ai_generation_session', v_session.id,
    jsonb_build_object('model', v_session.model, 'candidatesCount', v_count,
                       'inputLength', char_length(v_session.input_text),
                       'durationMs', v_duration));
  select jsonb_agg(jsonb_build_object('id', c.id, 'front', c.front, 'back', c.back,
                                      'prompt', c.prompt) order by c.position)
    into v_candidates
    from flashcards.candidates c where c.session_id = v_session.id;
  perform set_config('response.status', '201', true);
  return jsonb_build_object('id', v_session.id, 'candidates', v_candidates);
end;
$$;

grant execute on function flashcards_private.finish_ai_session(uuid, uuid, jsonb) to service_role;

-- =============================================================================
-- FUNCTIONS: the writes behind the client RPCs (security definer; the caller is
-- the JWT's user, checked inside)
-- =============================================================================

/**
 * Review candidates of one completed session, all or nothing: actions are 1..100
 * {candidate_id, action: accept|edit|reject, front?, back?}; each candidate once
 * per call (400) and once ever (409 CANDIDATE_ALREADY_REVIEWED); edit needs a
 * front or a back (the other side is kept). Creates the cards (source ai, or
 * ai_edited), marks the candidates, adds to the session's counts and logs one
 * candidates_reviewed event. 404 for a session or candidate that is not the
 * caller's; 422 INVALID_STATUS for a session that is not completed.
 */
create or replace function flashcards_private.review_candidates(session_id text, actions jsonb)
  returns jsonb
  language plpgsql
  volatile
  security definer
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_existing_user();
  v_session_id uuid := core.parse_uuid(review_candidates.session_id, 'session_id');
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
  perform flashcards_private.check_batch(review_candidates.actions, 'actions', 100);
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

  for v_item in select value from jsonb_array_elements(review_candidates.actions) loop
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

grant execute on function flashcards_private.review_candidates(text, jsonb) to authenticated;

/**
 * Create 1..100 cards by hand, all or nothing: items [{front, back}]. 201
 * {data: [card]}; one flashcards_created event.
 */
create or replace function flashcards_private.create_flashcards(items jsonb)
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
  perform flashcards_private.check_batch(create_flashcards.items, 'items', 100);
  for v_item in select value from jsonb_array_elements(create_flashcards.items) loop
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

grant execute on function flashcards_private.create_flashcards(jsonb) to authenticated;

/**
 * Edit one of the caller's cards: front and/or back (404 otherwise; at least one
 * side). An `ai` card whose text changes becomes `ai_edited`. One
 * flashcard_updated event.
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
  v_user_id uuid := core.require_existing_user();
  v_id uuid := core.parse_uuid(update_flashcard.id, 'id');
  v_front text;
  v_back text;
  v_card flashcards.flashcards;
begin
  if update_flashcard.front is null and update_flashcard.back is null then
    perform core.invalid_field('front', 'give a front, a back or both');
  end if;
  if update_flashcard.front is not null then
    v_front := flashcards_private.card_text(to_jsonb(update_flashcard.front), 'front', 200);
  end if;
  if update_flashcard.back is not null then
    v_back := flashcards_private.card_text(to_jsonb(update_flashcard.back), 'back', 500);
  end if;
  select * into v_card from flashcards.flashcards f
   where f.id = v_id and f.user_id = v_user_id and f.deleted_at is null
     for update;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Flashcard not found',
      jsonb_build_object('id', update_flashcard.id));
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

grant execute on function flashcards_private.update_flashcard(text, text, text) to authenticated;

/**
 * Soft-delete 1..100 of the caller's cards by id; ids that are not the caller's
 * (or already deleted) are skipped. {data: {deleted: n}}; one flashcards_deleted
 * event when any was.
 */
create or replace function flashcards_private.delete_flashcards(ids jsonb)
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
  perform flashcards_private.check_batch(delete_flashcards.ids, 'ids', 100);
  select array_agg(core.parse_uuid(
           case when jsonb_typeof(e.value) = 'string' then e.value #>> '{}' else 'x' end,
           format('ids[%s]', e.ord - 1)))
    into v_ids
    from jsonb_array_elements(delete_flashcards.ids) with ordinality as e(value, ord);
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

grant execute on function flashcards_private.delete_flashcards(jsonb) to authenticated;

-- =============================================================================
-- CLIENT API: reads (exposed; security invoker, so RLS applies)
-- =============================================================================

/**
 * The caller's generation sessions, newest first, without input text:
 * {data: [summary], pagination: {limit, offset, total}}.
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
    'pagination', jsonb_build_object(
      'limit', list_ai_sessions.page_size, 'offset', list_ai_sessions.page_offset,
      'total', (select count(*) from flashcards.ai_generation_sessions s
                 where s.user_id = v_user_id)));
end;
$$;

grant execute on function flashcards.list_ai_sessions(integer, integer) to authenticated;

/**
 * One of the caller's generation sessions with its input text and candidates
 * (404 otherwise): {data: {session, input_text, candidates}}.
 */
create or replace function flashcards.get_ai_session(session_id text)
  returns jsonb
  language plpgsql
  stable
  security invoker
  set search_path = ''
as $$
declare
  v_user_id uuid := core.require_user();
  v_session flashcards.ai_generation_sessions;
begin
  select * into v_session from flashcards.ai_generation_sessions s
   where s.id = core.parse_uuid(get_ai_session.session_id, 'session_id')
     and s.user_id = v_user_id;
  if not found then
    perform core.api_error(404, 'NOT_FOUND', 'Generation session not found',
      jsonb_build_object('sessionId', get_ai_session.session_id));
  end if;
  return jsonb_build_object('data', jsonb_build_object(
    'session', flashcards_private.session_summary(v_session),
    'input_text', v_session.input_text,
    'candidates', coalesce((
      select jsonb_agg(jsonb_build_object(
               'id', c.id, 'position', c.position, 'front', c.front, 'back', c.back,
               'prompt', c.prompt, 'status', c.status, 'flashcard_id', c.flashcard_id,
               'reviewed_at', c.reviewed_at) order by c.position)
        from flashcards.candidates c where c.session_id = v_session.id), '[]'::jsonb)));
end;
$$;

grant execute on function flashcards.get_ai_session(text) to authenticated;

/**
 * The caller's deck: optional full-text search over front and back (words, quoted
 * phrases, -exclusions: websearch syntax), sort created_at|updated_at|front,
 * sort_order asc|desc, page_size 1..100, page_offset >= 0.
 * {data: [card], pagination: {limit, offset, total}}.
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
  v_query tsquery;
  v_total bigint;
  v_rows jsonb;
begin
  if coalesce(list_flashcards.sort, '') not in ('created_at', 'updated_at', 'front') then
    perform core.invalid_field('sort', 'sort must be one of created_at, updated_at, front');
  end if;
  if coalesce(list_flashcards.sort_order, '') not in ('asc', 'desc') then
    perform core.invalid_field('sort_order', 'sort_order must be asc or desc');
  end if;
  perform core.check_paging(list_flashcards.page_size, list_flashcards.page_offset);
  if char_length(list_flashcards.search) > 200 then
    perform core.invalid_field('search', 'search must be at most 200 characters');
  end if;
  if nullif(btrim(list_flashcards.search), '') is not null then
    v_query := websearch_to_tsquery('simple', list_flashcards.search);
  end if;

  select count(*) into v_total from flashcards.flashcards f
   where f.user_id = v_user_id and f.deleted_at is null
     and (v_query is null or f.search_vector @@ v_query);

  execute format($q$
    select coalesce(jsonb_agg(flashcards_private.card_dto(p) order by p.%1$I %2$s, p.id), '[]')
      from (select * from flashcards.flashcards f
             where f.user_id = $1 and f.deleted_at is null
               and ($2::tsquery is null or f.search_vector @@ $2)
             order by f.%1$I %2$s, f.id
             limit $3 offset $4) p
    $q$, list_flashcards.sort,
    case list_flashcards.sort_order when 'asc' then 'asc' else 'desc' end)
    into v_rows
    using v_user_id, v_query, list_flashcards.page_size, list_flashcards.page_offset;

  return jsonb_build_object('data', v_rows, 'pagination', jsonb_build_object(
    'limit', list_flashcards.page_size, 'offset', list_flashcards.page_offset,
    'total', v_total));
end;
$$;

grant execute on function flashcards.list_flashcards(text, integer, integer, text, text)
  to authenticated;

-- =============================================================================
-- CLIENT API: writes (exposed; security invoker wrappers of the definer
-- functions above)
-- =============================================================================

/**
 * Review candidates of a completed generation session: accept, edit or reject,
 * all or nothing (400, 404, 409 CANDIDATE_ALREADY_REVIEWED, 422 INVALID_STATUS).
 */
create or replace function flashcards.review_candidates(session_id text, actions jsonb)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select flashcards_private.review_candidates(session_id, actions)
$$;

grant execute on function flashcards.review_candidates(text, jsonb) to authenticated;

/**
 * Create 1..100 cards by hand: items [{front, back}]. 201 {data: [card]}.
 */
create or replace function flashcards.create_flashcards(items jsonb)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select flashcards_private.create_flashcards(items)
$$;

grant execute on function flashcards.create_flashcards(jsonb) to authenticated;

/**
 * Edit a card's front and/or back (an `ai` card becomes `ai_edited`); 404.
 */
create or replace function flashcards.update_flashcard(
  id text,
  front text default null,
  back text default null
)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select flashcards_private.update_flashcard(id, front, back)
$$;

grant execute on function flashcards.update_flashcard(text, text, text) to authenticated;

/**
 * Soft-delete 1..100 of the caller's cards: {data: {deleted: n}}.
 */
create or replace function flashcards.delete_flashcards(ids jsonb)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select flashcards_private.delete_flashcards(ids)
$$;

grant execute on function flashcards.delete_flashcards(jsonb) to authenticated;

-- =============================================================================
-- SERVICE API (exposed, executable by service_role only)
-- =============================================================================

/**
 * Open a generation session (see flashcards_private.begin_ai_session).
 */
create or replace function flashcards.begin_ai_session(user_id uuid, input_text text, model text)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select flashcards_private.begin_ai_session(user_id, input_text, model)
$$;

grant execute on function flashcards.begin_ai_session(uuid, text, text) to service_role;

/**
 * Close a generation session with its outcome (see flashcards_private.finish_ai_session).
 */
create or replace function flashcards.finish_ai_session(user_id uuid, session_id uuid, outcome jsonb)
  returns jsonb
  language sql
  volatile
  security invoker
  set search_path = ''
as $$
  select flashcards_private.finish_ai_session(user_id, session_id, outcome)
$$;

grant execute on function flashcards.finish_ai_session(uuid, uuid, jsonb) to service_role;
