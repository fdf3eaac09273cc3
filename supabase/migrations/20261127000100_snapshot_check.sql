-- =============================================================================
-- The workout snapshot check (normalized_session, on every workout write) does
-- less at each call:
-- * It walks the exercises and sets in plpgsql instead of one set-based query.
--   The query took about as long to check the three sets of the one exercise
--   that changed during a workout as all twelve (Postgres sets up a query's
--   plan and the function calls in its expressions at each execution); the loop
--   evaluates the same conditions as plain expressions.
-- * An update skips what the stored snapshot already holds: an exercise equal to
--   the one at the same place (as before), and now also a set equal to the one
--   at the same place in the stored exercise at the same place. A set's rules
--   depend on nothing around it, so logging one set checks that set alone.
-- * A set equal to the last set checked is skipped: a plan's sets are often the
--   same (3 x 8 at 60 kg), and a set equal to a valid one is valid (and in the
--   normalised shape if that one was).
-- Measured side by side (bench.abba, 5 rounds, two runs per step, on the rpcs
-- benchmark's 4-exercise 12-set snapshot, its sets all equal):
-- workouts.update_session (one set logged) 71-80 µs less for the loop, 17-22 µs
-- less for the set skip; workouts.start_session (every set checked) 36-42 µs
-- less for the loop, 108 µs less for the repeat skip. By hand (pgbench, each
-- call a transaction of its own), for 50 exercises of 25 sets, the loop alone:
-- 2.6-3.1 against 6.0-6.7 ms with one exercise changed, about the same (11.8
-- against 11.3-14.2 ms) with every set checked.
-- Same name, arguments, answers and checks (last defined in 20261126001500),
-- but for one: a set stored before a rule changed is no longer checked again
-- when only its exercise's name changes. tests/workouts/
-- test_snapshot_normalisation.py runs every case both ways.
-- =============================================================================

-- =============================================================================
-- WORKOUTS
-- =============================================================================

/**
 * workouts_private.normalize_session's answer, fast: the same checks as plain
 * expressions, exercise by exercise and set by set; a valid snapshot already in
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
  v_size integer := octet_length(p_session::text);  -- printed once (9 µs for 12 sets)
  v_exercises jsonb := p_session -> 'exercises';
  v_known jsonb := p_known -> 'exercises';
  v_exercise jsonb;
  v_sets jsonb;
  v_set jsonb;
  v_known_sets jsonb;
  v_checked jsonb;  -- the last set checked, valid
begin
  -- CASE, not AND: each check may assume the ones before it held
  v_ok := case
    when jsonb_typeof(p_session) is distinct from 'object' then false
    when v_size > 262144 then false
    when p_session ? 'date' and p_session ->> 'date' is distinct from p_date::text then false
    when jsonb_typeof(v_exercises) is distinct from 'array' then false
    when jsonb_array_length(v_exercises) > 50 then false
    when jsonb_typeof(p_session -> 'plan_name') is distinct from 'string' then false
    when char_length(btrim(p_session ->> 'plan_name')) = 0
      or char_length(p_session ->> 'plan_name') > 200 then false
    when jsonb_typeof(p_session -> 'day_name') is distinct from 'string' then false
    when char_length(btrim(p_session ->> 'day_name')) = 0
      or char_length(p_session ->> 'day_name') > 200 then false
    else true
  end;
  if v_ok then
    <<exercises>>
    for i in 0 .. jsonb_array_length(v_exercises) - 1 loop
      v_exercise := v_exercises -> i;
      -- an exercise stored as it is at the same place was checked when it was written
      continue when v_exercise = v_known -> i;
      v_ok := case
        when jsonb_typeof(v_exercise) <> 'object' then false
        when jsonb_typeof(v_exercise -> 'sets') is distinct from 'array' then false
        when jsonb_array_length(v_exercise -> 'sets') > 50 then false
        when jsonb_typeof(v_exercise -> 'name') is distinct from 'string' then false
        when char_length(btrim(v_exercise ->> 'name')) = 0
          or char_length(v_exercise ->> 'name') > 200 then false
        else true
      end;
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
        v_ok := case
          when jsonb_typeof(v_set) <> 'object' then false
          when jsonb_typeof(v_set -> 'completed') is distinct from 'boolean' then false
          else
            -- planned_reps: required whole number 0..1000
            case when jsonb_typeof(v_set -> 'planned_reps') = 'number'
                 then (v_set ->> 'planned_reps')::numeric between 0 and 1000
                      and (v_set ->> 'planned_reps')::numeric % 1 = 0
                 else false end
            -- planned_weight, actual_weight: null or 0..10000
            and case coalesce(jsonb_typeof(v_set -> 'planned_weight'), 'null')
                  when 'null' then true
                  when 'number' then (v_set ->> 'planned_weight')::numeric between 0 and 10000
                  else false end
            and case coalesce(jsonb_typeof(v_set -> 'actual_weight'), 'null')
                  when 'null' then true
                  when 'number' then (v_set ->> 'actual_weight')::numeric between 0 and 10000
                  else false end
            -- actual_reps: null or whole 0..1000; rest_seconds: null or whole 0..3600
            and case coalesce(jsonb_typeof(v_set -> 'actual_reps'), 'null')
                  when 'null' then true
                  when 'number' then (v_set ->> 'actual_reps')::numeric between 0 and 1000
                                 and (v_set ->> 'actual_reps')::numeric % 1 = 0
                  else false end
            and case coalesce(jsonb_typeof(v_set -> 'rest_seconds'), 'null')
                  when 'null' then true
                  when 'number' then (v_set ->> 'rest_seconds')::numeric between 0 and 3600
                                 and (v_set ->> 'rest_seconds')::numeric % 1 = 0
                  else false end
        end;
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
