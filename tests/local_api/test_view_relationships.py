"""/rest/v1/{view}: the keys a view carries over from the tables under it, as PostgREST
v16.1's schema cache infers them (python_functions/local/api/keys.py;
`allViewsKeyDependencies`, `addViewM2OAndO2ORels`, `addViewPrimaryKeys`): embedding from and
to views (through views, renamed columns, a view of a table in a schema not exposed, a view
of itself), a column carried twice, and a view's primary key for PUT and `Location`. After
PostgREST's `EmbedDisambiguationSpec.hs`, on a schema of this module's own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.http_fixtures import ServerThread
from tests.local_api.conftest import get_json, pgrst_error, probe_api

SCHEMA = "view_probe"
PRIVATE = "view_probe_private"

_OBJECTS = f"""
begin;
create schema {SCHEMA};
create schema {PRIVATE};
set local search_path = {SCHEMA};
create table clients (id int primary key, name text);
create table projects (id int primary key, name text, client_id int references clients);
create table tasks (id int primary key, name text, project_id int references projects);
create view projects_view as select id, name, client_id from projects;
create view projects_view_view as select id as project, name from projects_view;
create view tasks_view as select id as task_id, name, project_id, project_id as project
  from tasks;
-- a subquery's own target list comes first in the rule's text; names that need escaping
create view odd as select p.id as "id(p", p.client_id as "client(id"
  from (select * from projects where id > 1) p;
create view client_totals as
  select client_id, count(*) as n from projects group by client_id;
create table {PRIVATE}.jobs (id int primary key, parent_id int references {PRIVATE}.jobs);
create view job as select * from {PRIVATE}.jobs;
create table {PRIVATE}.notes (id int primary key, body text,
                              project_id int references {SCHEMA}.projects);
create view notes as select * from {PRIVATE}.notes;
create table {PRIVATE}.screens (id int primary key, name text);
create table {PRIVATE}.labels (id int primary key, name text);
create table {PRIVATE}.label_screen (
  label_id int references {PRIVATE}.labels, screen_id int references {PRIVATE}.screens,
  primary key (label_id, screen_id));
create view screens as select * from {PRIVATE}.screens;
create view labels as select * from {PRIVATE}.labels;
create view label_screen as select * from {PRIVATE}.label_screen;
insert into {PRIVATE}.screens values (1, 'home'), (2, 'map'), (3, 'cart');
insert into {PRIVATE}.labels values (1, 'fruit'), (2, 'vehicles');
insert into {PRIVATE}.label_screen values (1, 1), (2, 2), (2, 3), (1, 3);
insert into clients values (1, 'Microsoft'), (2, 'Apple');
insert into projects values (1, 'Windows 7', 1), (2, 'Windows 10', 1), (3, 'IOS', 2);
insert into tasks values (1, 'Design w7', 1), (2, 'Code w7', 1), (3, 'Design IOS', 3);
insert into {PRIVATE}.jobs values (1, null), (2, 1);
insert into {PRIVATE}.notes values (1, 'ship it', 3);
grant usage on schema {SCHEMA}, {PRIVATE} to anon;
grant select on all tables in schema {SCHEMA}, {PRIVATE} to anon;
grant insert, update on projects, projects_view to anon;
commit;
"""


@pytest.fixture
def probe(admin: psycopg.Connection[Any], database_url: str) -> Iterator[ServerThread]:
    try:
        with probe_api(admin, database_url, SCHEMA, _OBJECTS) as server:
            yield server
    finally:
        admin.execute(f"drop schema if exists {PRIVATE} cascade")


def test_a_view_embeds_and_is_embedded_by_the_keys_of_the_tables_under_it(
        rest: httpx.Client) -> None:
    hinted = get_json(rest, "/tasks", id="eq.1",
                  select="id,projects_view!tasks_project_id_fkey(name,clients(name))")
    assert hinted == [{"id": 1, "projects_view": {"name": "Windows 7",
                                                  "clients": {"name": "Microsoft"}}}]
    children = get_json(rest, "/projects_view", id="eq.1", select="name,tasks(name)",
                    **{"tasks.order": "id"})
    assert children == [{"name": "Windows 7", "tasks": [{"name": "Design w7"},
                                                        {"name": "Code w7"}]}]
    # through a view of a view, its key column renamed
    nested = get_json(rest, "/projects_view_view", project="eq.3", select="name,tasks(name)")
    assert nested == [{"name": "IOS", "tasks": [{"name": "Design IOS"}]}]
    # a grouped column is still the table's
    totals = get_json(rest, "/client_totals", select="n,clients(name)", order="client_id")
    assert totals == [{"n": 2, "clients": {"name": "Microsoft"}},
                      {"n": 1, "clients": {"name": "Apple"}}]


def test_the_outer_query_of_a_view_counts_whatever_its_columns_are_called(
        rest: httpx.Client) -> None:
    rows = get_json(rest, "/odd", select='"id(p",clients(name)', order='"id(p"')
    assert rows == [{"id(p": 2, "clients": {"name": "Microsoft"}},
                    {"id(p": 3, "clients": {"name": "Apple"}}]
    assert "PUT" in rest.options("/odd").headers["allow"].split(",")


def test_a_view_of_a_table_in_a_schema_not_exposed_carries_its_foreign_key(
        rest: httpx.Client) -> None:
    assert get_json(rest, "/notes", select="body,projects(name)") == [
        {"body": "ship it", "projects": {"name": "IOS"}}]
    assert get_json(rest, "/projects", select="name,notes(body)", id="eq.3") == [
        {"name": "IOS", "notes": [{"body": "ship it"}]}]


def test_views_of_tables_not_exposed_embed_many_to_many_through_a_view_of_their_junction(
        rest: httpx.Client) -> None:
    rows = get_json(rest, "/screens", select="id,labels(name)", order="id",
                **{"labels.order": "name"})
    assert rows == [{"id": 1, "labels": [{"name": "fruit"}]},
                    {"id": 2, "labels": [{"name": "vehicles"}]},
                    {"id": 3, "labels": [{"name": "fruit"}, {"name": "vehicles"}]}]


def test_a_column_as_the_target_names_a_table_never_a_view(rest: httpx.Client) -> None:
    # tasks.project_id references projects, which projects_view carries too: the column
    # picks the table (`not relFTableIsView`)
    assert get_json(rest, "/tasks", id="eq.3", select="id,project_id(name)") == [
        {"id": 3, "project_id": {"name": "IOS"}}]
    assert get_json(rest, "/projects_view", id="eq.3", select="name,client_id(name)") == [
        {"name": "IOS", "client_id": {"name": "Apple"}}]


def test_a_column_carried_twice_gives_a_relationship_for_each(rest: httpx.Client) -> None:
    both = pgrst_error(rest.get("/tasks_view", params={"select": "task_id,projects(name)"}),
                       300, "PGRST201")
    assert [d["relationship"] for d in both["details"]] == [
        "tasks_project_id_fkey using tasks_view(project) and projects(id)",
        "tasks_project_id_fkey using tasks_view(project_id) and projects(id)"]
    picked = get_json(rest, "/tasks_view", task_id="eq.3", select="task_id,projects!project(name)")
    assert picked == [{"task_id": 3, "projects": {"name": "IOS"}}]


def test_a_view_of_a_table_with_itself_embeds_parent_and_children(rest: httpx.Client) -> None:
    # its table in a schema not exposed, as in PostgREST's spec: exposed, its own key to
    # itself would be a second way from the view by the column
    rows = get_json(rest, "/job", select="id,parent_id(id),children:job!parent_id(id)", order="id")
    assert rows == [{"id": 1, "parent_id": None, "children": [{"id": 2}]},
                    {"id": 2, "parent_id": {"id": 1}, "children": []}]


def test_a_view_has_its_tables_primary_key_for_put_and_location(
        rest: httpx.Client, admin: psycopg.Connection[Any]) -> None:
    assert "PUT" in rest.options("/projects_view").headers["allow"].split(",")
    assert "PUT" not in rest.options("/client_totals").headers["allow"].split(",")
    put = rest.put("/projects_view", params={"id": "eq.9"},
                   json={"id": 9, "name": "Vista", "client_id": 1},
                   headers={"Prefer": "return=representation"})
    assert put.status_code == 201, put.text
    assert put.json() == [{"id": 9, "name": "Vista", "client_id": 1}]
    located = rest.post("/projects_view", json={"id": 10, "name": "XP", "client_id": 1},
                        headers={"Prefer": "return=headers-only"})
    assert located.status_code == 201, located.text
    assert located.headers["location"] == "/projects_view?id=eq.10"
    assert admin.execute(f"select name from {SCHEMA}.projects where id >= 9 order by id"
                         ).fetchall() == [("Vista",), ("XP",)]
