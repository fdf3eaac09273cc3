-- =============================================================================
-- API DOCS
-- The comments PostgREST's OpenAPI description (`GET /rest/v1/` with
-- `Accept-Profile: <schema>`) and Supabase Studio's API docs show for each exposed
-- schema, table and function: a schema's first line is the API's title, a table's or
-- a function's first line its summary, the rest (after a blank line) its description.
-- The contract they state is the README's (one table per app); comments only, no
-- behaviour changes.
-- =============================================================================

-- -----------------------------------------------------------------------------
-- pullups
-- -----------------------------------------------------------------------------

comment on schema pullups is $$Pull-up trainer

Planned and logged pull-up sessions (5 sets of 0-60 reps), their lifecycle
(planned -> in_progress -> completed | failed) and the AI quota. Call the RPCs with the
user's session; tables are read-only (RLS: your rows). Errors answer
{code, message, details, hint} with the status of their code.$$;

comment on table pullups.sessions is $$Your pull-up sessions

Read-only here (RLS: your rows); write through the RPCs. One active (planned or
in_progress) session per user; finished sessions are immutable.$$;
comment on table pullups.generation_error_logs is $$Why your failed AI generations failed

One row per failed generation: error code and message, the provider's HTTP status.$$;

comment on function pullups.create_session(text, jsonb, text, integer, text) is $$Create a session (201)

A planned session from today to 30 days ahead, or a past completed or failed one to log.
sets: 5 integers 0-60; rpe 1-10; notes up to 2000 characters. meta.warnings may name
REST_PERIOD or MULTIPLE_SAME_DAY. Errors: 400 VALIDATION_ERROR (details.field),
INVALID_SETS; 409 ACTIVE_SESSION_CONFLICT.$$;
comment on function pullups.start_session(text) is $$Start a planned session

planned -> in_progress. Errors: 404 NOT_FOUND (also another user's session), 422
INVALID_STATUS.$$;
comment on function pullups.complete_session(text, jsonb, integer) is $$Complete the session in progress

in_progress -> completed; the sets are kept when omitted. Errors: 400 INVALID_SETS, 404
NOT_FOUND, 422 INVALID_STATUS.$$;
comment on function pullups.fail_session(text, text) is $$Fail the session in progress

in_progress -> failed; sets and rpe are kept; reason (up to 500 characters) is recorded
only in the session_failed event. Answers Cache-Control: no-store and an ETag. Errors: 400
VALIDATION_ERROR, 404 NOT_FOUND, 422 INVALID_STATUS.$$;
comment on function pullups.get_session(text) is $$One session

With its ETag. Errors: 404 NOT_FOUND (also another user's session).$$;
comment on function pullups.list_sessions(text[], text, text, text, text, integer, integer) is $$Your sessions, a page at a time

{data: {sessions}, meta: {pagination}}. Filters: status (an array), date_from, date_to;
sort session_date, created_at or total_reps, sort_order asc or desc; page_size 1-100
(default 20), page_offset. Errors: 400 VALIDATION_ERROR.$$;
comment on function pullups.update_session(text, text, jsonb, integer, text, text) is $$Edit an active session

Only the given fields change; an AI session's edit sets isModified. if_match: the ETag
the edit was made against. Errors: 400 VALIDATION_ERROR or INVALID_SETS, 403
SESSION_IMMUTABLE, 404 NOT_FOUND, 409 VERSION_CONFLICT.$$;
comment on function pullups.delete_session(text) is $$Delete a session (204)

Errors: 403 SESSION_IMMUTABLE (a finished session), 404 NOT_FOUND.$$;
comment on function pullups.ai_quota() is $$Your AI generation quota

{data: {limit, used, remaining, resetsAt}}: 5 successful generations per rolling 24 h;
failures do not count.$$;
comment on function pullups.begin_generation(uuid, text, integer, boolean) is $$Service only: open an AI generation for a user

Called by the AI service (service_role) before the provider call. 409
ACTIVE_SESSION_CONFLICT or GENERATION_IN_PROGRESS; 400 MISSING_MAX_PULLUPS without a
finished session or max_pullups; reserves a quota slot (403 AI_LIMIT_REACHED). Returns
{generationId, model, context}.$$;
comment on function pullups.finish_generation(uuid, uuid, jsonb) is $$Service only: close an AI generation with its outcome

Called by the AI service (service_role) after the provider call; records every provider
call. Success stores the AI session and answers 201 {data: {session, generation}, meta};
a failure releases the quota slot and answers 200 {data: {generation, error}, meta}.$$;

-- -----------------------------------------------------------------------------
-- workouts
-- -----------------------------------------------------------------------------

comment on schema workouts is $$Workout plans

Training plans (yours to create, read, update and delete) and the sessions trained from
them, each keeping a snapshot of its plan. Call the RPCs with the user's session; RLS
keeps every row to its owner. Errors answer {code, message, details, hint} with the
status of their code.$$;

comment on table workouts.plans is $$Your training plans

Yours to read and write directly too (RLS: your rows), or through the plan RPCs.$$;
comment on table workouts.training_sessions is $$Your training sessions

Read-only here (RLS: your rows); write through the RPCs. session is the plan's snapshot;
ended_at is null while the session is in progress.$$;

comment on function workouts.start_session(text, text, jsonb) is $$Start a session from one of your plans (201)

The snapshot is validated and normalised; the plan is marked has_sessions. Errors: 400
VALIDATION_ERROR (details.path, e.g. session.exercises[0].sets[2].planned_reps),
PLAN_NOT_FOUND (another user's, archived or missing plan); 409 ACTIVE_SESSION_CONFLICT.$$;
comment on function workouts.update_session(text, jsonb) is $$Replace the snapshot of a session in progress

Errors: 400 VALIDATION_ERROR, SESSION_COMPLETED; 404 NOT_FOUND.$$;
comment on function workouts.complete_session(text, jsonb) is $$Complete a session

ended_at = now(), with the snapshot given, if any. Errors: 400 SESSION_COMPLETED, 404
NOT_FOUND.$$;
comment on function workouts.get_session(text) is $$One session, with its snapshot

Errors: 404 NOT_FOUND (also another user's session).$$;
comment on function workouts.list_sessions(text, text, text, boolean, integer, integer, text, text) is $$Your sessions, a page at a time, without snapshots

{data: SessionSummary[], pagination}. Filters: plan_id, date_from, date_to, completed;
sort started_at, date or ended_at, sort_order asc or desc; page_size 1-100 (default 20),
page_offset. Errors: 400 VALIDATION_ERROR.$$;
comment on function workouts.create_plan(text, text, jsonb) is $$Create a plan (201)

name 1-200 characters, description up to 2000, plan an object with a days array (default
{"days": []}, up to 256 KiB). Errors: 400 VALIDATION_ERROR.$$;
comment on function workouts.get_plan(text) is $$One plan

Errors: 404 NOT_FOUND.$$;
comment on function workouts.list_plans(boolean, integer, integer) is $$Your plans, newest first

{data: PlanResponse[], pagination}; archived ones with include_archived. Errors: 400
VALIDATION_ERROR.$$;
comment on function workouts.update_plan(text, text, text, jsonb, boolean) is $$Edit a plan

Only the given fields change (an empty description clears it). Errors: 400
VALIDATION_ERROR, 404 NOT_FOUND.$$;
comment on function workouts.delete_plan(text) is $$Delete a plan (204)

Its sessions keep their snapshots (plan_id becomes null). Errors: 404 NOT_FOUND.$$;

-- -----------------------------------------------------------------------------
-- flashcards
-- -----------------------------------------------------------------------------

comment on schema flashcards is $$Flashcards

Your cards, written by hand or reviewed from AI candidates, and the AI generation sessions
they came from. Call the RPCs with the user's session; tables are read-only (RLS: your
rows). Errors answer {code, message, details, hint} with the status of their code.$$;

comment on table flashcards.flashcards is $$Your flashcards

Read-only here (RLS: your rows); write through the RPCs. source: manual, ai or ai_edited.$$;
comment on table flashcards.ai_generation_sessions is $$Your AI generation sessions

Read-only (RLS: your rows), with their counts of candidates, of those accepted (edited
or not) and of those rejected.$$;
comment on table flashcards.candidates is $$The candidates of your AI generation sessions

Read-only (RLS: your rows); review them with review_candidates.$$;

comment on function flashcards.review_candidates(text, jsonb) is $$Accept, edit or reject a session's candidates

actions: 1-100 {candidate_id, action: accept | edit | reject, front?, back?}, all or
nothing; accepted cards are ai, edited ones ai_edited. Errors: 400 VALIDATION_ERROR
(details.field, e.g. actions[2].front), 404 NOT_FOUND, 409 CANDIDATE_ALREADY_REVIEWED, 422
INVALID_STATUS (the session is not completed).$$;
comment on function flashcards.create_flashcards(jsonb) is $$Create cards by hand (201)

items: 1-100 {front, back} (front up to 200 characters, back up to 500). Errors: 400
VALIDATION_ERROR.$$;
comment on function flashcards.list_flashcards(text, integer, integer, text, text) is $$Your cards, a page at a time

{data: [card], pagination}. search: full text over front and back (websearch syntax);
sort created_at, updated_at or front, sort_order asc or desc; page_size 1-100 (default
20), page_offset. Errors: 400 VALIDATION_ERROR.$$;
comment on function flashcards.update_flashcard(text, text, text) is $$Edit a card

An ai card whose text changes becomes ai_edited. Errors: 400 VALIDATION_ERROR, 404
NOT_FOUND.$$;
comment on function flashcards.delete_flashcards(jsonb) is $$Delete cards

ids: 1-100 of your cards (others' ids are skipped); {data: {deleted: n}}. Errors: 400
VALIDATION_ERROR.$$;
comment on function flashcards.list_ai_sessions(integer, integer) is $$Your AI generation sessions, newest first

With their counts, without their input text. Errors: 400 VALIDATION_ERROR.$$;
comment on function flashcards.get_ai_session(text) is $$One AI generation session

With its input text and its candidates (status, card). Errors: 404 NOT_FOUND.$$;
comment on function flashcards.begin_ai_session(uuid, text, text) is $$Service only: open an AI generation session

Called by the AI service (service_role) before the provider call: input 1,000-10,000
characters, a flashcards.ai rate-limit slot (429 RATE_LIMITED). Returns {sessionId, model,
maxCandidates}.$$;
comment on function flashcards.finish_ai_session(uuid, uuid, jsonb) is $$Service only: close an AI generation session with its outcome

Called by the AI service (service_role) after the provider call; records every provider
call. Success stores the candidates and answers 201 {id, candidates}; a failure answers
200 {id, error: {code}}.$$;

-- -----------------------------------------------------------------------------
-- recipes
-- -----------------------------------------------------------------------------

comment on schema recipes is $$Recipe drafts

No draft is stored: the AI service opens and closes each draft here (service_role only)
to rate-limit it and record its OCR and provider calls. Clients call the AI service's
POST /functions/v1/ai/recipes/draft.$$;

comment on function recipes.begin_draft(uuid) is $$Service only: open a recipe draft

Called by the AI service (service_role): a recipes.draft rate-limit slot (429
RATE_LIMITED). Returns {draftId}.$$;
comment on function recipes.finish_draft(uuid, uuid, jsonb) is $$Service only: close a recipe draft with its calls

Called by the AI service (service_role): records its OCR and provider calls. Returns
{draftId, recordedCalls}.$$;
