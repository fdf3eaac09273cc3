-- =============================================================================
-- Workout snapshots already in the normalised shape (what get_session returns,
-- what the apps send back) are only checked, not rebuilt: jsonb_agg and
-- jsonb_build_object over every set cost more than the checks themselves.
-- Same answers and errors (tests/workouts/test_snapshot_normalisation.py).
-- =============================================================================

/**
 * workouts_private.normalize_session in one set-based pass: a snapshot already in
 * the normalised shape (every set with exactly its six fields, nothing extra, as
 * get_session returns it) is only checked, and returned with its date; another
 * valid one is checked and rebuilt by a single query; anything else goes to
 * normalize_session, which walks it item by item to raise the precise
 * 400 VALIDATION_ERROR (the checks here are the same, so it always does).
 */
create or replace function workouts_private.normalized_session(p_session jsonb, p_date date)
  returns jsonb
  language plpgsql
  volatile
  set search_path = ''
as $$
declare
  v_ok boolean;
  v_exact boolean;
  v_exercises jsonb;
  v_result jsonb;
begin
  -- CASE, not AND: each check may assume the ones before it held
  v_ok := case
    when jsonb_typeof(p_session) is distinct from 'object' then false
    when octet_length(p_session::text) > 262144 then false
    when p_session ? 'date' and p_session ->> 'date' is distinct from p_date::text then false
    when jsonb_typeof(p_session -> 'exercises') is distinct from 'array' then false
    when jsonb_array_length(p_session -> 'exercises') > 50 then false
    when jsonb_typeof(p_session -> 'plan_name') is distinct from 'string' then false
    when char_length(btrim(p_session ->> 'plan_name')) = 0
      or char_length(p_session ->> 'plan_name') > 200 then false
    when jsonb_typeof(p_session -> 'day_name') is distinct from 'string' then false
    when char_length(btrim(p_session ->> 'day_name')) = 0
      or char_length(p_session ->> 'day_name') > 200 then false
    else true
  end;
  if v_ok and p_session - '{plan_name,day_name,date,exercises}'::text[] = '{}'::jsonb then
    -- checking is cheaper than rebuilding: the normalised shape comes back as it is
    select coalesce(bool_and(
             case
               when jsonb_typeof(e.value) <> 'object' then false
               when e.value - '{name,sets}'::text[] <> '{}'::jsonb then false
               when jsonb_typeof(e.value -> 'sets') is distinct from 'array' then false
               when jsonb_array_length(e.value -> 'sets') > 50 then false
               when jsonb_typeof(e.value -> 'name') is distinct from 'string' then false
               when char_length(btrim(e.value ->> 'name')) = 0
                 or char_length(e.value ->> 'name') > 200 then false
               else (
                 select coalesce(bool_and(
                          case
                            when jsonb_typeof(s.value) <> 'object' then false
                            when not s.value ?& '{planned_reps,planned_weight,actual_reps,actual_weight,rest_seconds,completed}'::text[]
                              then false
                            when s.value - '{planned_reps,planned_weight,actual_reps,actual_weight,rest_seconds,completed}'::text[]
                                 <> '{}'::jsonb then false
                            when jsonb_typeof(s.value -> 'completed') <> 'boolean' then false
                            else
                              case when jsonb_typeof(s.value -> 'planned_reps') = 'number'
                                   then (s.value ->> 'planned_reps')::numeric between 0 and 1000
                                        and (s.value ->> 'planned_reps')::numeric % 1 = 0
                                   else false end
                              and case jsonb_typeof(s.value -> 'planned_weight')
                                    when 'null' then true
                                    when 'number' then (s.value ->> 'planned_weight')::numeric
                                                       between 0 and 10000
                                    else false end
                              and case jsonb_typeof(s.value -> 'actual_weight')
                                    when 'null' then true
                                    when 'number' then (s.value ->> 'actual_weight')::numeric
                                                       between 0 and 10000
                                    else false end
                              and case jsonb_typeof(s.value -> 'actual_reps')
                                    when 'null' then true
                                    when 'number' then (s.value ->> 'actual_reps')::numeric
                                                       between 0 and 1000
                                                   and (s.value ->> 'actual_reps')::numeric % 1 = 0
                                    else false end
                              and case jsonb_typeof(s.value -> 'rest_seconds')
                                    when 'null' then true
                                    when 'number' then (s.value ->> 'rest_seconds')::numeric
                                                       between 0 and 3600
                                                   and (s.value ->> 'rest_seconds')::numeric % 1 = 0
                                    else false end
                          end), true)
                   from jsonb_array_elements(e.value -> 'sets') as s)
             end), true)
      into v_exact
      from jsonb_array_elements(p_session -> 'exercises') as e;
    if v_exact then
      v_result := p_session || jsonb_build_object('date', p_date);
      if octet_length(v_result::text) <= 262144 then
        return v_result;
      end if;
    end if;
  end if;
  if v_ok then
    select coalesce(bool_and(x.ok), true), coalesce(jsonb_agg(x.item order by x.ord), '[]')
      into v_ok, v_exercises
      from (
        select e.ord,
               case
                 when jsonb_typeof(e.value) <> 'object' then false
                 when jsonb_typeof(e.value -> 'sets') is distinct from 'array' then false
                 when jsonb_array_length(e.value -> 'sets') > 50 then false
                 when jsonb_typeof(e.value -> 'name') is distinct from 'string' then false
                 when char_length(btrim(e.value ->> 'name')) = 0
                   or char_length(e.value ->> 'name') > 200 then false
                 else coalesce(st.ok, true)
               end as ok,
               jsonb_build_object('name', e.value -> 'name',
                                  'sets', coalesce(st.items, '[]')) as item
          from jsonb_array_elements(p_session -> 'exercises') with ordinality as e(value, ord)
          left join lateral (
            select bool_and(
                     case
                       when jsonb_typeof(s.value) <> 'object' then false
                       when jsonb_typeof(s.value -> 'completed') is distinct from 'boolean' then false
                       else
                         -- planned_reps: required whole number 0..1000
                         case when jsonb_typeof(s.value -> 'planned_reps') = 'number'
                              then (s.value ->> 'planned_reps')::numeric between 0 and 1000
                                   and (s.value ->> 'planned_reps')::numeric % 1 = 0
                              else false end
                         -- planned_weight, actual_weight: null or 0..10000
                         and case coalesce(jsonb_typeof(s.value -> 'planned_weight'), 'null')
                               when 'null' then true
                               when 'number' then (s.value ->> 'planned_weight')::numeric
                                                  between 0 and 10000
                               else false end
                         and case coalesce(jsonb_typeof(s.value -> 'actual_weight'), 'null')
                               when 'null' then true
                               when 'number' then (s.value ->> 'actual_weight')::numeric
                                                  between 0 and 10000
                               else false end
                         -- actual_reps: null or whole 0..1000; rest_seconds: null or whole 0..3600
                         and case coalesce(jsonb_typeof(s.value -> 'actual_reps'), 'null')
                               when 'null' then true
                               when 'number' then (s.value ->> 'actual_reps')::numeric
                                                  between 0 and 1000
                                              and (s.value ->> 'actual_reps')::numeric % 1 = 0
                               else false end
                         and case coalesce(jsonb_typeof(s.value -> 'rest_seconds'), 'null')
                               when 'null' then true
                               when 'number' then (s.value ->> 'rest_seconds')::numeric
                                                  between 0 and 3600
                                              and (s.value ->> 'rest_seconds')::numeric % 1 = 0
                               else false end
                     end) as ok,
                   jsonb_agg(jsonb_build_object(
                     'planned_reps', s.value -> 'planned_reps',
                     'planned_weight', s.value -> 'planned_weight',
                     'actual_reps', s.value -> 'actual_reps',
                     'actual_weight', s.value -> 'actual_weight',
                     'rest_seconds', s.value -> 'rest_seconds',
                     'completed', s.value -> 'completed') order by s.ord) as items
              from jsonb_array_elements(case when jsonb_typeof(e.value -> 'sets') = 'array'
                                             then e.value -> 'sets' end)
                   with ordinality as s(value, ord)
          ) st on true
      ) x;
  end if;
  if v_ok then
    -- a missing number and a JSON null both normalise to null
    v_result := jsonb_build_object(
        'plan_name', p_session -> 'plan_name',
        'day_name', p_session -> 'day_name',
        'date', p_date,
        'exercises', v_exercises);
    if octet_length(v_result::text) <= 262144 then
      return v_result;
    end if;
  end if;
  return workouts_private.normalize_session(p_session, p_date);
end;
$$;
