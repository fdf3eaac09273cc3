-- =============================================================================
-- The rules of the public surface, proved on the catalog (pgTAP).
-- Run by `make test` (pg_prove, through tests/test_supabase_fidelity.py) and by
-- `supabase test db` where Docker runs.
--
-- Exposed schemas are those of supabase/config.toml [api] schemas (the pytest suite
-- checks that the list below is the same); project schemas are those plus `core` and
-- the `*_private` schemas.
-- =============================================================================
begin;
create extension if not exists pgtap with schema extensions;
select plan(11);

create temporary table exposed (nspname name) on commit drop;
insert into exposed values ('pullups'), ('workouts'), ('flashcards'), ('recipes');

create temporary table project_functions on commit drop as
select n.nspname, p.proname, p.oid, p.prosecdef, p.proconfig,
       n.nspname in (select nspname from exposed) as is_exposed,
       p.proname ~ '^(begin|finish)_' as service_only
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname in (select nspname from exposed)
    or n.nspname = 'core' or n.nspname like '%\_private';

select is(
  (select array_agg(e.nspname::text order by e.nspname) from exposed e
    where exists (select from pg_namespace n where n.nspname = e.nspname)),
  (select array_agg(nspname::text order by nspname) from exposed),
  'every exposed schema exists'
);

select is(
  array(select format('%I.%I', n.nspname, c.relname)
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'p') and not c.relrowsecurity
           and (n.nspname in (select nspname from exposed)
                or n.nspname = 'core' or n.nspname like '%\_private')
         order by 1),
  '{}'::text[],
  'RLS is enabled on every project table'
);

select is(
  array(select format('%I.%I', nspname, proname) from project_functions
         where is_exposed and prosecdef order by 1),
  '{}'::text[],
  'no security definer function in an exposed schema'
);

select is(
  array(select format('%I.%I', nspname, proname) from project_functions
         where is_exposed and has_function_privilege('anon', oid, 'EXECUTE') order by 1),
  '{}'::text[],
  'nothing in an exposed schema is executable by anon'
);

select is(
  array(select format('%I.%I', nspname, proname) from project_functions
         where is_exposed and service_only
           and has_function_privilege('authenticated', oid, 'EXECUTE') order by 1),
  '{}'::text[],
  'service-only RPCs (begin_*, finish_*) are not executable by authenticated'
);

select is(
  array(select format('%I.%I', nspname, proname) from project_functions
         where is_exposed and service_only
           and not has_function_privilege('service_role', oid, 'EXECUTE') order by 1),
  '{}'::text[],
  'service-only RPCs are executable by service_role'
);

select is(
  array(select format('%I.%I', nspname, proname) from project_functions
         where is_exposed and not service_only
           and not has_function_privilege('authenticated', oid, 'EXECUTE') order by 1),
  '{}'::text[],
  'every other function in an exposed schema is a client RPC granted to authenticated'
);

select is(
  array(select format('%I.%I', nspname, proname) from project_functions
         where not exists (select from unnest(proconfig) c where c like 'search_path=%')
         order by 1),
  '{}'::text[],
  'every project function pins its search_path (definer ones included)'
);

select is(
  array(select format('%I.%I', f.nspname, f.proname) from project_functions f
          join pg_type t on t.oid = (select prorettype from pg_proc where oid = f.oid)
         where f.is_exposed and t.typname = 'trigger' order by 1),
  '{}'::text[],
  'no trigger function in an exposed schema'
);

-- Clients write only through RPCs; plans are the one table with owner CRUD (DESIGN §2).
select is(
  array(select format('%I.%I', n.nspname, c.relname)
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind = 'r' and n.nspname in (select nspname from exposed)
           and (has_table_privilege('authenticated', c.oid, 'INSERT')
                or has_table_privilege('authenticated', c.oid, 'UPDATE')
                or has_table_privilege('authenticated', c.oid, 'DELETE')
                or has_any_column_privilege('authenticated', c.oid, 'INSERT')
                or has_any_column_privilege('authenticated', c.oid, 'UPDATE'))
         order by 1),
  array['workouts.plans'],
  'authenticated writes no exposed table directly but workouts.plans'
);

-- PostgREST's OpenAPI description (GET /rest/v1/) and Studio's API docs read these.
select is(
  array(select format('schema %I', nspname) from exposed
         where obj_description(nspname::regnamespace, 'pg_namespace') is null
        union all
        select format('table %I.%I', n.nspname, c.relname)
          from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where c.relkind in ('r', 'v', 'm', 'p') and n.nspname in (select nspname from exposed)
           and obj_description(c.oid, 'pg_class') is null
        union all
        select format('function %I.%I', nspname, proname) from project_functions
         where is_exposed and obj_description(oid, 'pg_proc') is null
        order by 1),
  '{}'::text[],
  'every exposed schema, table and function has a comment (its API docs)'
);

select * from finish();
rollback;
