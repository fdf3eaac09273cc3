"""The plan RPCs: what a client does with plans through RPCs alone (the local API serves no
table endpoints), under the same owner rules as the RLS CRUD."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User, assert_error, one, race

DAYS = {"days": [{"name": "Push", "exercises": []}]}


def _create(api: Api, user: User, **fields: Any) -> dict[str, Any]:
    response = api("workouts.create_plan", user, **({"name": "Push / Pull", "plan": DAYS}
                                                    | fields))
    assert response.status == 201, response.body
    plan: dict[str, Any] = response.body
    return plan


def test_create_get_update_and_delete(api: Api, alice: User,
                                      admin: psycopg.Connection[Any]) -> None:
    plan = _create(api, alice, name="  Upper / Lower  ", description="4 days")
    assert plan["name"] == "Upper / Lower" and plan["description"] == "4 days"
    assert plan["plan"] == DAYS and plan["archived"] is False
    assert plan["has_sessions"] is False
    got = api("workouts.get_plan", alice, id=plan["id"])
    assert got.status == 200 and got.body == plan
    updated = api("workouts.update_plan", alice, id=plan["id"], archived=True, description="")
    assert updated.status == 200, updated.body
    assert updated.body["archived"] is True and updated.body["description"] is None
    assert updated.body["name"] == "Upper / Lower"  # not given: unchanged
    deleted = api("workouts.delete_plan", alice, id=plan["id"])
    assert deleted.status == 204 and deleted.body is None
    assert_error(api("workouts.get_plan", alice, id=plan["id"]), 404, "NOT_FOUND")
    events = admin.execute(
        "select event_type from core.events where entity_id = %s order by id",
        (plan["id"],)).fetchall()
    assert [e[0] for e in events] == ["plan_created", "plan_updated", "plan_deleted"]


def test_create_defaults_to_an_empty_plan(api: Api, alice: User) -> None:
    plan = _create(api, alice, plan=None)
    assert plan["plan"] == {"days": []}


def test_another_users_plan_is_404_for_every_rpc(api: Api, alice: User, bob: User) -> None:
    plan = _create(api, alice)
    assert_error(api("workouts.get_plan", bob, id=plan["id"]), 404, "NOT_FOUND")
    assert_error(api("workouts.update_plan", bob, id=plan["id"], name="Mine"), 404,
                 "NOT_FOUND")
    assert_error(api("workouts.delete_plan", bob, id=plan["id"]), 404, "NOT_FOUND")
    assert api("workouts.get_plan", alice, id=plan["id"]).body["name"] == "Push / Pull"


def test_list_plans_pages_newest_first_and_hides_archived(api: Api, alice: User,
                                                          bob: User) -> None:
    ids = [_create(api, alice, name=f"Plan {i}")["id"] for i in range(3)]
    api("workouts.update_plan", alice, id=ids[0], archived=True)
    _create(api, bob)
    listed = api("workouts.list_plans", alice, page_size=1)
    assert listed.status == 200, listed.body
    assert [p["id"] for p in listed.body["data"]] == [ids[2]]
    assert listed.body["pagination"] == {"limit": 1, "offset": 0, "total": 2, "total_capped": False}
    everything = api("workouts.list_plans", alice, include_archived=True)
    assert [p["id"] for p in everything.body["data"]] == ids[::-1]
    assert_error(api("workouts.list_plans", alice, page_size=101), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(("fields", "field"), [
    ({"name": " "}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"description": "x" * 2001}, "description"),
    ({"plan": {"weeks": []}}, "plan"),
    ({"plan": [1]}, "plan"),
    ({"plan": {"days": [{"notes": "x" * 300_000}]}}, "plan"),
])
def test_invalid_fields_are_400_validation_error_and_nothing_is_written(
        api: Api, alice: User, admin: psycopg.Connection[Any], fields: dict[str, Any],
        field: str) -> None:
    created = api("workouts.create_plan", alice, **({"name": "Plan", "plan": DAYS} | fields))
    assert assert_error(created, 400, "VALIDATION_ERROR")["details"]["field"] == field
    plan = _create(api, alice)
    updated = api("workouts.update_plan", alice, id=plan["id"], **fields)
    assert assert_error(updated, 400, "VALIDATION_ERROR")["details"]["field"] == field
    assert one(admin, "select count(*) from workouts.plans where user_id = %s", alice.id) == 1
    assert api("workouts.get_plan", alice, id=plan["id"]).body == plan


def test_a_name_is_required_and_ids_must_be_uuids(api: Api, alice: User) -> None:
    body = assert_error(api("workouts.create_plan", alice, name=None), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == "name"
    for function in ("workouts.get_plan", "workouts.delete_plan"):
        body = assert_error(api(function, alice, id="nope"), 400, "VALIDATION_ERROR")
        assert body["details"]["field"] == "id"


def test_anon_cannot_call_the_plan_rpcs(api: Api) -> None:
    response = api("workouts.list_plans", claims={"role": "anon"})
    assert response.status == 401, response.body


def test_a_started_session_marks_its_plan_and_survives_its_deletion(
        api: Api, alice: User, start: Callable[..., dict[str, Any]]) -> None:
    plan = _create(api, alice)
    session = start(alice, plan["id"])
    assert api("workouts.get_plan", alice, id=plan["id"]).body["has_sessions"] is True
    assert api("workouts.delete_plan", alice, id=plan["id"]).status == 204
    kept = api("workouts.get_session", alice, id=session["id"])
    assert kept.status == 200 and kept.body["plan_id"] is None


def test_concurrent_deletes_of_one_plan_delete_it_once(api: Api, alice: User,
                                                       database_url: str) -> None:
    plan = _create(api, alice)

    def delete(go: Callable[[], object]) -> int:
        with psycopg.connect(database_url, autocommit=True) as conn:
            go()
            return Api(conn)("workouts.delete_plan", alice, id=plan["id"]).status

    assert sorted(race(4, delete)) == [204, 404, 404, 404]
