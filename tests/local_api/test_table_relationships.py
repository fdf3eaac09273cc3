"""/rest/v1/{table} embeds by the relationships PostgREST v16.1's schema cache derives
(python_functions/local/api/tables.py; `SchemaCache.addM2MRels`, `allComputedRels`,
`Plan.findRel`): many-to-many through a junction table, a table with itself, a foreign key's
constraint or column named in place of the table, and computed relationships (a function of
a table's row). The tables and the expected answers follow PostgREST's own spec
(`test/spec/fixtures/schema.sql`, `EmbedDisambiguationSpec.hs`, `ComputedRelsSpec.hs`),
without its views, on a schema of this module's own."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from supabase import ClientOptions, create_client
from tests.http_fixtures import ANON_KEY, ServerThread
from tests.local_api.conftest import get_json, pgrst_error, schema_probe

SCHEMA = "relationship_probe"


def tables(schema: str) -> str:
    """This module's objects and rows, made in `schema` (which exists)."""
    return f"""
set local search_path = {schema};
create table users (id int primary key, name text);
create table clients (id int primary key, name text);
create table projects (id int primary key, name text, client_id int references clients);
create table tasks (id int primary key, name text, project_id int references projects);
create table users_tasks (user_id int references users, task_id int references tasks,
                          primary key (user_id, task_id));
-- a surrogate key: its two foreign keys make no many-to-many
create table assignments (id int primary key, user_id int references users,
                          project_id int references projects);
create table big_projects (big_project_id int primary key, name text);
create table sites (site_id int primary key, name text,
                    main_project_id int references big_projects (big_project_id));
alter table sites rename constraint sites_main_project_id_fkey to main_project;
create table jobs (job_id int, name text, site_id int not null references sites (site_id),
                   big_project_id int not null references big_projects (big_project_id),
                   primary key (job_id, site_id, big_project_id));
create table family_tree (id text primary key, name text not null, parent text);
alter table family_tree add constraint pptr foreign key (parent) references family_tree (id);
create table organizations (id int primary key, name text,
                            referee int references organizations (id),
                            auditor int references organizations (id));
create table posters (id int primary key, name text);
create table subscriptions (subscriber int references posters (id),
                            subscribed int references posters (id),
                            primary key (subscriber, subscribed));
create table designers (id int primary key, name text);
create table videogames (id int primary key, name text, designer_id int references designers);
create function computed_designers(videogames) returns setof designers
  language sql stable rows 1 as 'select * from designers where id = $1.designer_id';
create function computed_designers_noset(videogames) returns designers
  language sql stable as 'select * from designers where id = $1.designer_id';
create function computed_videogames(designers) returns setof videogames
  language sql stable as 'select * from videogames where designer_id = $1.id';
-- named as the tables their foreign key joins: they take its place, and answer nothing
create function designers(videogames) returns setof designers
  language sql stable rows 1 as 'select * from designers where false';
create function videogames(designers) returns setof videogames
  language sql stable as 'select * from videogames where false';

insert into users values (1, 'Angela'), (2, 'Michael'), (3, 'Dwight');
insert into clients values (1, 'Microsoft'), (2, 'Apple');
insert into projects values (1, 'Windows 7', 1), (2, 'Windows 10', 1), (3, 'IOS', 2);
insert into tasks values (1, 'Design w7', 1), (2, 'Code w7', 1), (3, 'Design w10', 2),
                         (4, 'Design IOS', 3);
insert into users_tasks values (1, 1), (1, 2), (2, 2), (2, 4);
insert into big_projects values (1, 'big project 1'), (2, 'big project 2');
insert into sites values (1, 'site 1', 1), (2, 'site 2', null);
insert into jobs values (1, 'job 1', 1, 1), (2, 'job 2', 2, 1), (3, 'job 3', 2, 2);
insert into family_tree values ('1', 'Parental Unit', null), ('2', 'Kid One', '1'),
                               ('3', 'Kid Two', '1'), ('4', 'Grandkid', '2');
insert into organizations values (1, 'Referee Org', null, null), (2, 'Auditor Org', null, null),
                                 (3, 'Acme', 1, 2), (4, 'Umbrella', 1, 2);
insert into posters values (1, 'Mark'), (2, 'Elon'), (3, 'Bill'), (4, 'Jeff');
insert into subscriptions values (1, 2), (3, 1), (4, 1);
insert into designers values (1, 'Sid Meier'), (2, 'Hironobu Sakaguchi');
insert into videogames values (1, 'Civilization I', 1), (2, 'Civilization II', 1),
                              (3, 'Final Fantasy I', 2), (4, 'Final Fantasy II', 2);
grant usage on schema {schema} to anon, authenticated;
grant select on all tables in schema {schema} to anon, authenticated;
grant insert on {schema}.users, {schema}.videogames to anon;
grant execute on all functions in schema {schema} to anon;
"""


# a local API exposing only this module's schema (read only, but `users`' inserts)
probe = schema_probe(SCHEMA, tables)


def test_a_junction_whose_key_holds_both_foreign_keys_embeds_many_to_many_both_ways(
        rest: httpx.Client) -> None:
    users = get_json(rest, "/users", select="name,tasks(name)", order="id",
                 **{"tasks.order": "id.desc"})
    assert users == [{"name": "Angela", "tasks": [{"name": "Code w7"}, {"name": "Design w7"}]},
                     {"name": "Michael", "tasks": [{"name": "Design IOS"}, {"name": "Code w7"}]},
                     {"name": "Dwight", "tasks": []}]
    tasks = get_json(rest, "/tasks", select="id,users(name)", id="in.(2,3)", order="id",
                 **{"users.order": "name"})
    assert tasks == [{"id": 2, "users": [{"name": "Angela"}, {"name": "Michael"}]},
                     {"id": 3, "users": []}]
    # the junction stays a table of its own, one-to-many from each side
    direct = get_json(rest, "/users", select="id,users_tasks(task_id)", id="eq.2",
                  **{"users_tasks.order": "task_id"})
    assert direct == [{"id": 2, "users_tasks": [{"task_id": 2}, {"task_id": 4}]}]


def test_a_many_to_many_embed_takes_filters_inner_nesting_spreads_and_counts(
        rest: httpx.Client) -> None:
    filtered = get_json(rest, "/users", select="name,tasks(name)", order="id",
                    **{"tasks.name": "like.Design*"})
    assert [u["tasks"] for u in filtered] == [[{"name": "Design w7"}], [{"name": "Design IOS"}],
                                              []]
    inner = rest.get("/users", params={"select": "name,tasks!inner(name)", "order": "id",
                                       "tasks.name": "eq.Code w7"},
                     headers={"Prefer": "count=exact"})
    assert inner.status_code == 200, inner.text
    assert inner.headers["content-range"] == "0-1/2"
    assert [u["name"] for u in inner.json()] == ["Angela", "Michael"]
    # a to-one embed inside a many-to-many one, then through it to the clients
    nested = get_json(rest, "/users", select="id,tasks(id,projects(name,clients(name)))",
                  id="eq.2", **{"tasks.order": "id"})
    assert nested == [{"id": 2, "tasks": [
        {"id": 2, "projects": {"name": "Windows 7", "clients": {"name": "Microsoft"}}},
        {"id": 4, "projects": {"name": "IOS", "clients": {"name": "Apple"}}}]}]
    spread = get_json(rest, "/users", select="id,...tasks(task:name)", order="id",
                  **{"tasks.order": "id"})
    assert spread == [{"id": 1, "task": ["Design w7", "Code w7"]},
                      {"id": 2, "task": ["Code w7", "Design IOS"]}, {"id": 3, "task": []}]
    # a many-to-many embed sorts nothing above it (`PGRST118`)
    related = rest.get("/users", params={"select": "id,tasks(name)", "order": "tasks(name)"})
    assert pgrst_error(related, 400, "PGRST118")["details"] == (
        "'users' and 'tasks' do not form a many-to-one or one-to-one relationship")


def test_a_written_rows_answer_embeds_many_to_many(rest: httpx.Client,
                                                   admin: psycopg.Connection[Any]) -> None:
    try:
        created = rest.post("/users", params={"select": "name,tasks(name)"},
                            json={"id": 9, "name": "Pam"},
                            headers={"Prefer": "return=representation"})
        assert created.status_code == 201, created.text
        assert created.json() == [{"name": "Pam", "tasks": []}]
    finally:
        admin.execute(f"delete from {SCHEMA}.users where id = 9")


def test_a_foreign_key_and_a_junction_to_one_table_are_ambiguous_until_hinted(
        rest: httpx.Client) -> None:
    both = pgrst_error(rest.get("/sites", params={"select": "*,big_projects(*)"}), 300, "PGRST201")
    assert both == {
        "code": "PGRST201",
        "details": [
            {"cardinality": "many-to-one", "embedding": "sites with big_projects",
             "relationship": "main_project using sites(main_project_id) and"
                             " big_projects(big_project_id)"},
            {"cardinality": "many-to-many", "embedding": "sites with big_projects",
             "relationship": "jobs using jobs_site_id_fkey(site_id) and"
                             " jobs_big_project_id_fkey(big_project_id)"}],
        "hint": "Try changing 'big_projects' to one of the following:"
                " 'big_projects!main_project', 'big_projects!jobs'. Find the desired"
                " relationship in the 'details' key.",
        "message": "Could not embed because more than one relationship was found for 'sites'"
                   " and 'big_projects'"}
    through_jobs = get_json(rest, "/sites", select="site_id,big_projects!jobs(name)",
                            order="site_id", **{"big_projects.order": "name"})
    assert through_jobs == [
        {"site_id": 1, "big_projects": [{"name": "big project 1"}]},
        {"site_id": 2, "big_projects": [{"name": "big project 1"}, {"name": "big project 2"}]}]
    by_key = get_json(rest, "/sites", select="name,big_projects!main_project(name)", site_id="eq.1")
    assert by_key == [{"name": "site 1", "big_projects": {"name": "big project 1"}}]
    by_column = get_json(rest, "/sites", select="name,main_project_id(name)", site_id="eq.1")
    assert by_column == [{"name": "site 1", "main_project_id": {"name": "big project 1"}}]
    by_constraint = get_json(rest, "/sites", select="name,main_project(name)", site_id="eq.1")
    assert by_constraint == [{"name": "site 1", "main_project": {"name": "big project 1"}}]


def test_foreign_keys_outside_the_junctions_key_make_no_many_to_many(rest: httpx.Client) -> None:
    none = pgrst_error(rest.get("/users", params={"select": "id,projects(name)"}), 400, "PGRST200")
    assert none["details"] == ("Searched for a foreign key relationship between 'users' and"
                               f" 'projects' in the schema '{SCHEMA}', but no matches were"
                               " found.")
    through = get_json(rest, "/users", select="id,assignments(projects(name))", id="eq.1")
    assert through == [{"id": 1, "assignments": []}]
    typo = pgrst_error(rest.get("/users", params={"select": "id,taskz(name)"}), 400, "PGRST200")
    assert typo["hint"] == "Perhaps you meant 'tasks' instead of 'taskz'."
    hinted = pgrst_error(rest.get("/users", params={"select": "id,tasks!assignments(name)"}),
                    400, "PGRST200")
    assert hinted["details"] == ("Searched for a foreign key relationship between 'users' and"
                                 " 'tasks' using the hint 'assignments' in the schema"
                                 f" '{SCHEMA}', but no matches were found.")
    assert hinted["hint"] is None  # `tasks` is one of the tables users embed: no other name


def test_a_table_embeds_itself_as_children_by_name_and_as_parent_by_column(
        rest: httpx.Client) -> None:
    children = get_json(rest, "/family_tree", select="name,children:family_tree(name)", id="eq.1",
                    **{"children.order": "id"})
    assert children == [{"name": "Parental Unit",
                         "children": [{"name": "Kid One"}, {"name": "Kid Two"}]}]
    parent = get_json(rest, "/family_tree", select="name,parent(name,parent(name))", id="eq.4")
    assert parent == [{"name": "Grandkid",
                       "parent": {"name": "Kid One", "parent": {"name": "Parental Unit"}}}]
    # two keys to itself: the hint names the referencing column of the children's side
    audited = get_json(rest, "/organizations", select="name,auditees:organizations!auditor(name)",
                   id="eq.2", **{"auditees.order": "id"})
    assert audited == [{"name": "Auditor Org",
                        "auditees": [{"name": "Acme"}, {"name": "Umbrella"}]}]
    ambiguous = pgrst_error(rest.get("/organizations", params={"select": "organizations(name)"}),
                       300, "PGRST201")
    assert [d["relationship"] for d in ambiguous["details"]] == [
        "organizations_auditor_fkey using organizations(id) and organizations(auditor)",
        "organizations_referee_fkey using organizations(id) and organizations(referee)"]


def test_a_table_with_itself_through_a_junction_is_reached_by_spreading_the_junction(
        rest: httpx.Client) -> None:
    # PostgREST does not pick a many-to-many of a table with itself by the table's name
    pgrst_error(rest.get("/posters", params={"select": "posters(*)"}), 400, "PGRST200")
    subscribers = get_json(rest, "/posters", id="eq.1", select=(
        "*,subscribers:subscriptions!subscribed(...posters!subscriber(*))"),
        **{"subscribers.order": "subscriber"})
    assert subscribers == [{"id": 1, "name": "Mark",
                            "subscribers": [{"id": 3, "name": "Bill"}, {"id": 4, "name": "Jeff"}]}]
    subscribed = get_json(rest, "/posters", id="eq.1",
                      select="*,subscriptions!subscriber(...posters!subscribed(*))")
    assert subscribed == [{"id": 1, "name": "Mark", "subscriptions": [{"id": 2, "name": "Elon"}]}]


def test_a_function_of_a_tables_row_embeds_as_a_computed_relationship(
        rest: httpx.Client) -> None:
    designer = get_json(rest, "/videogames", select="name,designer:computed_designers(name)",
                    order="id", id="in.(1,3)")
    assert designer == [{"name": "Civilization I", "designer": {"name": "Sid Meier"}},
                        {"name": "Final Fantasy I", "designer": {"name": "Hironobu Sakaguchi"}}]
    noset = get_json(rest, "/videogames", select="name,designer:computed_designers_noset(name)",
                 id="eq.1")
    assert noset == [{"name": "Civilization I", "designer": {"name": "Sid Meier"}}]
    games = get_json(rest, "/designers", select="name,videogames:computed_videogames(name)",
                 order="id", **{"videogames.order": "id"})
    assert games == [
        {"name": "Sid Meier", "videogames": [{"name": "Civilization I"},
                                             {"name": "Civilization II"}]},
        {"name": "Hironobu Sakaguchi", "videogames": [{"name": "Final Fantasy I"},
                                                      {"name": "Final Fantasy II"}]}]
    inner = rest.get("/designers", params={
        "select": "name,videogames:computed_videogames!inner(name)",
        "videogames.name": "eq.Civilization I"}, headers={"Prefer": "count=exact"})
    assert inner.status_code == 200, inner.text
    assert inner.headers["content-range"] == "0-0/1"
    assert inner.json() == [{"name": "Sid Meier", "videogames": [{"name": "Civilization I"}]}]
    # a function named as the table takes the foreign key's place, both ways
    assert get_json(rest, "/videogames", select="*,designers!inner(*)") == []
    assert get_json(rest, "/designers", select="*,videogames!inner(*)") == []


def test_a_written_rows_answer_embeds_a_computed_relationship(
        rest: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    try:
        created = rest.post("/videogames",
                            params={"select": "name,designer:computed_designers(name)"},
                            json={"id": 5, "name": "Chrono Trigger", "designer_id": 2},
                            headers={"Prefer": "return=representation"})
        assert created.status_code == 201, created.text
        assert created.json() == [{"name": "Chrono Trigger",
                                   "designer": {"name": "Hironobu Sakaguchi"}}]
    finally:
        admin.execute(f"delete from {SCHEMA}.videogames where id = 5")


def test_supabase_py_embeds_many_to_many(probe: ServerThread) -> None:
    client = create_client(probe.url, ANON_KEY, ClientOptions(schema=SCHEMA))
    answer = (client.table("users").select("name, tasks(name)").eq("id", 1)
              .order("name", foreign_table="tasks").execute())
    assert answer.data == [{"name": "Angela", "tasks": [{"name": "Code w7"},
                                                        {"name": "Design w7"}]}]
