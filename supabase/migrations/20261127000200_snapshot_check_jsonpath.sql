-- =============================================================================
-- The workout snapshot check (normalized_session, on every workout write) in
-- jsonpath. plpgsql sets up each expression it evaluates again in every
-- transaction, and the set-up costs per function call in it (each operator,
-- cast and jsonb accessor is looked up and its EXECUTE privilege checked): the
-- set's CASE, about 60 calls, added 28-52 µs to a call in a transaction of its
-- own (by hand, pgbench, eight runs) and 5 µs in a loop in one transaction. A
-- jsonpath constant is one call, parsed once per session: the same set check as
-- one jsonb_path_exists added 6-20 µs (four runs), and the same 5 µs in a loop.
-- So each level's checks (the document, an exercise, a set) are now one
-- jsonpath, but for two kinds of check kept as plain expressions: a string's
-- length (jsonpath has no length; a regular expression ".{201}" costs 4 µs a
-- match) and the object check before each path (lax mode would apply a filter
-- to each element of an array). Lax mode, so that a missing optional field is
-- an empty sequence; as lax mode also unwraps an array in a comparison, every
-- field's type is checked before its value.
-- Measured side by side (bench.abba, 5 rounds, the rpcs benchmark's 4-exercise
-- 12-set snapshot; the new function against the old, then the old against the
-- new): workouts.update_session (one set logged) 50-57 µs less in two runs and
-- 19.5-33.5 µs in six; workouts.start_session 22-27 µs less in two and 27-37 in four.
-- Evaluating costs about what the CASE did once each optional field's usual
-- case (a number) comes first, as each accessor is a lookup: a snapshot of 50
-- exercises of 25 sets, every set checked, in a loop in one transaction (the
-- set-up paid once), 7.2-8.2 against 7.5-8.3 ms (six runs each, one outlier
-- each way); with the null and missing cases first it was 0.4 µs a set slower.
-- Same name, arguments and answers (last defined in 20261127000100): a seeded
-- generator of snapshots in tests/workouts/test_snapshot_normalisation.py checks
-- both functions give the same answer and that no valid one takes the walk.
-- =============================================================================

-- =============================================================================
-- WORKOUTS
-- =============================================================================

/**
 * workouts_private.normalize_session's answer, fast: the same checks, each
 * level's as one jsonpath (the document's, each exercise's, each set's), exercise
 * by exercise and set by set; a valid snapshot already in
 * the normalised shape (no field missing or extra, as get_session returns it)
 * comes back as it is, with its date; another valid one is rebuilt by one query;
 * anything else goes to normalize_session, which walks it item by item to raise
 * the precise 400 VALIDATION_ERROR (the checks here are the same, so it always
 * does). p_known: the snapshot stored so far, if any; an exercise equal to the
 * one at the same place in it was checked when it was written, and is skipped,
 * and so is a set equal to the one at the same place in the stored exercise at
 * the same place, or to the last set checked.
 */
create or replace function workouts_private.normalized_session(
  p_session jsonb,
  p_date date,
  p_known jsonb default null
)
  returns jsonb
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_ok boolean;
  v_exact boolean := true;
  v_result jsonb;
  v_size integer := octet_length(p_session::text);  -- printed once (9-20 µs for 12 sets)
  v_exercises jsonb := p_session -> 'exercises';
  v_known jsonb := p_known -> 'exercises';
  v_exercise jsonb;
  v_sets jsonb;
  v_set jsonb;
  v_known_sets jsonb;
  v_checked jsonb;  -- the last set checked, valid
begin
  -- AND evaluates left to right and stops at the first false: each check may
  -- assume the ones before it held (lax jsonpath unwraps an array where a
  -- scalar is compared, so every type is checked before its value)
  v_ok := v_size <= 262144
    and jsonb_typeof(p_session) = 'object'
    and jsonb_path_exists(p_session, 'lax $ ? (
             (!exists(@.date) || (@.date.type() == "string" && @.date == $date))
          && @.exercises.type() == "array" && @.exercises.size() <= 50
          && @.plan_name.type() == "string" && @.plan_name like_regex "[^ ]" flag "s"
          && @.day_name.type() == "string" && @.day_name like_regex "[^ ]" flag "s")',
      jsonb_build_object('date', p_date::text))
    -- not a regular expression: ".{201}" costs 4 µs a match
    and char_length(p_session ->> 'plan_name') <= 200
    and char_length(p_session ->> 'day_name') <= 200;
  if v_ok then
    <<exercises>>
    for i in 0 .. jsonb_array_length(v_exercises) - 1 loop
      v_exercise := v_exercises -> i;
      -- an exercise stored as it is at the same place was checked when it was written
      continue when v_exercise = v_known -> i;
      v_ok := jsonb_typeof(v_exercise) = 'object'
        and jsonb_path_exists(v_exercise, 'lax $ ? (
                 @.sets.type() == "array" && @.sets.size() <= 50
              && @.name.type() == "string" && @.name like_regex "[^ ]" flag "s")')
        and char_length(v_exercise ->> 'name') <= 200;
      exit exercises when not v_ok;
      v_exact := v_exact and v_exercise - '{name,sets}'::text[] = '{}'::jsonb;
      v_sets := v_exercise -> 'sets';
      v_known_sets := v_known -> i -> 'sets';
      for j in 0 .. jsonb_array_length(v_sets) - 1 loop
        v_set := v_sets -> j;
        -- likewise a set stored as it is at the same place in the same exercise
        continue when v_set = v_known_sets -> j;
        -- a set equal to the last one checked is as valid (a plan's sets often are)
        continue when v_set = v_checked;
        -- planned_reps: a whole number 0..1000; planned_weight, actual_weight: null
        -- or 0..10000; actual_reps: null or whole 0..1000; rest_seconds: null or
        -- whole 0..3600; completed: a boolean (for each, the usual case first: each
        -- accessor is a lookup)
        v_ok := jsonb_typeof(v_set) = 'object'
          and jsonb_path_exists(v_set, 'lax $ ? (
                   @.completed.type() == "boolean"
                && @.planned_reps.type() == "number"
                && @.planned_reps >= 0 && @.planned_reps <= 1000 && @.planned_reps % 1 == 0
                && (@.planned_weight.type() == "number"
                        && @.planned_weight >= 0 && @.planned_weight <= 10000
                    || @.planned_weight.type() == "null" || !exists(@.planned_weight))
                && (@.actual_weight.type() == "number"
                        && @.actual_weight >= 0 && @.actual_weight <= 10000
                    || @.actual_weight.type() == "null" || !exists(@.actual_weight))
                && (@.actual_reps.type() == "number" && @.actual_reps >= 0
                        && @.actual_reps <= 1000 && @.actual_reps % 1 == 0
                    || @.actual_reps.type() == "null" || !exists(@.actual_reps))
                && (@.rest_seconds.type() == "number" && @.rest_seconds >= 0
                        && @.rest_seconds <= 3600 && @.rest_seconds % 1 == 0
                    || @.rest_seconds.type() == "null" || !exists(@.rest_seconds)))');
        exit exercises when not v_ok;
        -- every field present, nothing else: the normalised shape
        v_exact := v_exact
          and v_set ?& '{planned_reps,planned_weight,actual_reps,actual_weight,rest_seconds,completed}'::text[]
          and v_set - '{planned_reps,planned_weight,actual_reps,actual_weight,rest_seconds,completed}'::text[] = '{}'::jsonb;
        v_checked := v_set;
      end loop;
    end loop;
  end if;
  if v_ok then
    if v_exact and p_session - '{plan_name,day_name,date,exercises}'::text[] = '{}'::jsonb then
      -- checking is cheaper than rebuilding; with its date already in, it is the answer
      if p_session -> 'date' = to_jsonb(p_date) then
        return p_session;
      end if;
      v_result := p_session || jsonb_build_object('date', p_date);
      if v_size + 32 <= 262144 then  -- the date adds 22 bytes to the text
        return v_result;
      end if;
    else
      -- unknown keys dropped; a missing number and a JSON null both become null
      v_result := jsonb_build_object(
        'plan_name', p_session -> 'plan_name',
        'day_name', p_session -> 'day_name',
        'date', p_date,
        'exercises', coalesce((
          select jsonb_agg(jsonb_build_object(
                   'name', e.value -> 'name',
                   'sets', (select coalesce(jsonb_agg(jsonb_build_object(
                                     'planned_reps', s.value -> 'planned_reps',
                                     'planned_weight', s.value -> 'planned_weight',
                                     'actual_reps', s.value -> 'actual_reps',
                                     'actual_weight', s.value -> 'actual_weight',
                                     'rest_seconds', s.value -> 'rest_seconds',
                                     'completed', s.value -> 'completed') order by s.ord), '[]')
                              from jsonb_array_elements(e.value -> 'sets')
                                   with ordinality as s(value, ord))) order by e.ord)
            from jsonb_array_elements(p_session -> 'exercises') with ordinality as e(value, ord)),
          '[]'));
    end if;
    if octet_length(v_result::text) <= 262144 then
      return v_result;
    end if;
  end if;
  return workouts_private.normalize_session(p_session, p_date);
end;
$$;
