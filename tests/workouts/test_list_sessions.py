"""workouts.list_sessions: summaries, filters, pagination totals, sorts, and the indexes used."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User, assert_error
from tests.workouts.conftest import finished_history, snapshot

MakePlan = Callable[..., str]
DAY = dt.date(2026, 11, 1)


@pytest.fixture
def history(api: Api, alice: User, bob: User, make_plan: MakePlan) -> dict[str, Any]:
    push, pull = make_plan(alice, "Push"), make_plan(alice, "Pull")
    done = finished_history(api, alice, [push, pull, push, pull],
                            [DAY + dt.timedelta(days=d) for d in (0, 2, 4, 6)])
    running = api("workouts.start_session", alice, plan_id=push, date="2026-11-09",
                  session=snapshot("2026-11-09")).body
    finished_history(api, bob, [make_plan(bob)], [DAY])
    return {"push": push, "pull": pull, "done": done, "running": running}


def _ids(response: Any) -> list[str]:
    return [s["id"] for s in response.body["data"]]


def test_summaries_leave_out_the_snapshot(api: Api, alice: User,
                                          history: dict[str, Any]) -> None:
    response = api("workouts.list_sessions", alice)
    assert response.status == 200
    first = response.body["data"][0]
    assert "session" not in first
    assert set(first) == {"id", "plan_id", "date", "plan_name", "day_name", "started_at",
                          "ended_at", "completed", "created_at", "updated_at"}
    assert response.body["pagination"] == (
        {"limit": 20, "offset": 0, "total": 5, "total_capped": False}
    )


def test_newest_first_by_default(api: Api, alice: User, history: dict[str, Any]) -> None:
    expected = [history["running"]["id"]] + [s["id"] for s in reversed(history["done"])]
    assert _ids(api("workouts.list_sessions", alice)) == expected


def test_filters(api: Api, alice: User, history: dict[str, Any]) -> None:
    done = history["done"]
    by_plan = api("workouts.list_sessions", alice, plan_id=history["pull"])
    assert _ids(by_plan) == [done[3]["id"], done[1]["id"]]
    ranged = api("workouts.list_sessions", alice, date_from="2026-11-02", date_to="2026-11-05")
    assert _ids(ranged) == [done[2]["id"], done[1]["id"]]
    assert ranged.body["pagination"]["total"] == 2
    finished = api("workouts.list_sessions", alice, completed=True)
    assert finished.body["pagination"]["total"] == 4
    in_progress = api("workouts.list_sessions", alice, completed=False)
    assert _ids(in_progress) == [history["running"]["id"]]


@pytest.mark.parametrize(("sort", "sort_order"), [
    ("date", "asc"), ("date", "desc"), ("started_at", "asc"), ("started_at", "desc"),
    ("ended_at", "asc"), ("ended_at", "desc")])
def test_each_sort_order(api: Api, alice: User, history: dict[str, Any], sort: str,
                         sort_order: str) -> None:
    order = sort_order
    rows = api("workouts.list_sessions", alice, sort=sort, sort_order=order).body["data"]
    present = [r[sort] for r in rows if r[sort] is not None]
    assert present == sorted(present, reverse=(order == "desc"))
    if sort == "ended_at":  # the session in progress: first when newest first, else last
        index = 0 if order == "desc" else -1
        assert rows[index]["id"] == history["running"]["id"]


def test_pagination_keeps_the_total(api: Api, alice: User, history: dict[str, Any]) -> None:
    pages = [api("workouts.list_sessions", alice, page_size=2, page_offset=o, sort="date",
                 sort_order="asc")
             for o in (0, 2, 4, 6)]
    seen = [i for page in pages for i in _ids(page)]
    assert len(seen) == len(set(seen)) == 5
    assert all(p.body["pagination"]["total"] == 5 for p in pages)
    assert _ids(pages[3]) == []


@pytest.mark.parametrize(("args", "field"), [
    ({"page_size": 0}, "page_size"), ({"page_size": 101}, "page_size"),
    ({"page_offset": -1}, "page_offset"),
    ({"sort": "session"}, "sort"), ({"sort_order": "random"}, "sort_order"),
    ({"plan_id": "x"}, "plan_id"), ({"date_to": "2026-02-30"}, "date_to"),
])
def test_bad_list_arguments_are_400(api: Api, alice: User, args: dict[str, Any],
                                    field: str) -> None:
    body = assert_error(api("workouts.list_sessions", alice, **args), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == field


def test_list_uses_indexes_not_a_sequential_scan(
    admin: psycopg.Connection[Any], bootstrap_url: str, alice: User
) -> None:
    """A few thousand rows over many users: every variant of the list query uses an index."""
    admin.execute("""
        insert into auth.users (id, email)
        select gen_random_uuid(), 'bulk' || g || '@tests.invalid' from generate_series(1, 200) g;
        insert into workouts.plans (id, user_id, name)
        select gen_random_uuid(), id, 'plan' from auth.users where email like '%@tests.invalid';
        insert into workouts.training_sessions (user_id, plan_id, date, session, started_at,
                                                ended_at)
        select p.user_id, p.id, date '2026-01-01' + g, '{"plan_name": "p"}',
               timestamptz '2026-01-01' + g * interval '1 day',
               timestamptz '2026-01-01' + g * interval '1 day' + interval '1 hour'
          from workouts.plans p cross join generate_series(1, 25) g;
        analyze workouts.training_sessions;
    """)
    plan_id = admin.execute("select id::text from workouts.plans where user_id = %s",
                            (alice.id,)).fetchone()
    assert plan_id is not None
    variants: list[dict[str, Any]] = [
        {}, {"sort": "date", "sort_order": "asc"}, {"sort": "ended_at"}, {"completed": True},
        {"plan_id": plan_id[0]}, {"date_from": "2026-01-10", "date_to": "2026-01-20"},
    ]
    plans: list[str] = []
    def collect(diag: psycopg.errors.Diagnostic) -> None:
        plans.append(diag.message_primary or "")

    # auto_explain may only be loaded by a superuser: the stand-in's bootstrap user
    with psycopg.connect(bootstrap_url, autocommit=True) as superuser:
        superuser.add_notice_handler(collect)
        _explain_variants(superuser, alice, variants, plans)


def _explain_variants(admin: psycopg.Connection[Any], alice: User,
                      variants: list[dict[str, Any]], plans: list[str]) -> None:
    for args in variants:
        plans.clear()
        with admin.transaction(force_rollback=True):
            admin.execute("load 'auto_explain'")
            admin.execute("set local auto_explain.log_min_duration = 0;"
                          " set local auto_explain.log_nested_statements = on;"
                          " set local auto_explain.log_format = 'json';"
                          " set local client_min_messages = log")
            admin.execute("select set_config('role', 'authenticated', true),"
                          " set_config('request.jwt.claims', %s, true)",
                          (json.dumps(alice.claims),))
            names = ", ".join(f'"{k}" => %({k})s' for k in args)
            admin.execute(f"select workouts.list_sessions({names})", args)
        nested = [json.loads(p[p.index("{"):]) for p in plans
                  if "training_sessions" in p and "Query Text" in p]
        assert len(nested) == 2, plans  # the count and the page
        for explained in nested:
            text = json.dumps(explained)
            assert '"Relation Name": "training_sessions"' in text
            assert "Seq Scan" not in text, (args, text)
            assert "Index" in text


def test_filter_by_someone_elses_plan_returns_nothing(
    api: Api, bob: User, history: dict[str, Any]
) -> None:
    response = api("workouts.list_sessions", bob, plan_id=history["push"])
    assert response.body == (
        {"data": [], "pagination": {"limit": 20, "offset": 0, "total": 0, "total_capped": False}}
    )
    unknown = api("workouts.list_sessions", bob, plan_id=str(uuid.uuid4()))
    assert unknown.body["pagination"]["total"] == 0


def test_get_with_query_string_arguments_answers_like_post(
    api: Api, alice: User, history: dict[str, Any]
) -> None:
    """The GET form supabase-js uses for `{get: true}`: every argument a query string."""
    args: dict[str, Any] = {"plan_id": history["push"], "completed": True, "sort": "date",
                            "sort_order": "asc",
            "page_size": 1, "page_offset": 1, "date_from": "2026-11-01"}
    posted = api("workouts.list_sessions", alice, **args)
    as_query: dict[str, Any] = {k: str(v).lower() if isinstance(v, bool) else str(v)
                                for k, v in args.items()}
    got = api("workouts.list_sessions", alice, method="GET", **as_query)
    assert got.status == posted.status == 200
    assert got.body == posted.body
    assert got.body["pagination"] == {"limit": 1, "offset": 1, "total": 2, "total_capped": False}
