"""pullups.list_sessions: filters, sorting, paging and their validation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import Api, User, assert_error

Factory = Callable[..., dict[str, Any]]


@pytest.fixture
def history(alice: User, bob: User, create: Factory) -> list[dict[str, Any]]:
    sessions = [
        create(alice, status="completed", days=-10, sets=[1, 1, 1, 1, 1]),
        create(alice, status="failed", days=-7, sets=[5, 5, 0, 0, 0]),
        create(alice, status="completed", days=-4, sets=[9, 9, 9, 9, 9]),
        create(alice, days=3, sets=[2, 1, 1, 1, 1]),
    ]
    create(bob, status="completed", days=-1)
    return sessions


def _ids(response: Any) -> list[str]:
    return [s["id"] for s in response.body["data"]["sessions"]]


def test_default_is_newest_first_with_pagination(api: Api, alice: User,
                                                 history: list[dict[str, Any]]) -> None:
    response = api("pullups.list_sessions", alice)
    assert response.status == 200
    assert _ids(response) == [s["id"] for s in reversed(history)]
    assert response.body["meta"]["pagination"] == (
        {"limit": 20, "offset": 0, "total": 4, "total_capped": False}
    )


def test_filters_by_status_and_dates(api: Api, alice: User,
                                     history: list[dict[str, Any]]) -> None:
    finished = api("pullups.list_sessions", alice, status=["completed", "failed"])
    assert _ids(finished) == [history[2]["id"], history[1]["id"], history[0]["id"]]
    ranged = api("pullups.list_sessions", alice, date_from=history[1]["sessionDate"],
                 date_to=history[2]["sessionDate"])
    assert _ids(ranged) == [history[2]["id"], history[1]["id"]]
    assert ranged.body["meta"]["pagination"]["total"] == 2


def test_sort_and_order(api: Api, alice: User, history: list[dict[str, Any]]) -> None:
    by_reps = api("pullups.list_sessions", alice, sort="total_reps", sort_order="asc")
    assert _ids(by_reps) == [history[0]["id"], history[3]["id"], history[1]["id"],
                             history[2]["id"]]
    oldest = api("pullups.list_sessions", alice, sort="session_date", sort_order="asc")
    assert _ids(oldest) == [s["id"] for s in history]


def test_paging_keeps_the_total(api: Api, alice: User, history: list[dict[str, Any]]) -> None:
    page = api("pullups.list_sessions", alice, page_size=2, page_offset=2, sort="session_date",
               sort_order="asc")
    assert _ids(page) == [history[2]["id"], history[3]["id"]]
    assert page.body["meta"]["pagination"] == (
        {"limit": 2, "offset": 2, "total": 4, "total_capped": False}
    )
    beyond = api("pullups.list_sessions", alice, page_offset=10)
    assert _ids(beyond) == [] and beyond.body["meta"]["pagination"]["total"] == 4


def test_other_users_rows_never_appear(api: Api, bob: User,
                                       history: list[dict[str, Any]]) -> None:
    assert len(_ids(api("pullups.list_sessions", bob))) == 1


@pytest.mark.parametrize(("args", "field"), [
    ({"page_size": 0}, "page_size"), ({"page_size": 101}, "page_size"),
    ({"page_offset": -1}, "page_offset"),
    ({"sort": "user_id"}, "sort"), ({"sort": "session_date; drop table x"}, "sort"),
    ({"sort_order": "sideways"}, "sort_order"), ({"status": ["done"]}, "status"),
    ({"date_from": "yesterday"}, "date_from"),
    ({"date_from": "2026-02-02", "date_to": "2026-01-01"}, "date_from"),
])
def test_bad_arguments_are_400(api: Api, alice: User, args: dict[str, Any], field: str) -> None:
    body = assert_error(api("pullups.list_sessions", alice, **args), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == field


def test_list_is_read_only_and_anon_is_401(api: Api) -> None:
    assert_error(api("pullups.list_sessions"), 401, "42501")


def test_get_with_query_string_arguments_answers_like_post(
    api: Api, alice: User, history: list[dict[str, Any]]
) -> None:
    """supabase-js `rpc('list_sessions', args, {get: true})` sends every argument as a query
    parameter string; none of the names collides with PostgREST's own parameters."""
    args: dict[str, Any] = {"status": ["completed", "failed"], "sort": "total_reps",
                             "sort_order": "asc",
            "page_size": 2, "page_offset": 1}
    posted = api("pullups.list_sessions", alice, **args)
    as_query: dict[str, Any] = {"status": "{completed,failed}", "sort": "total_reps",
                                "sort_order": "asc",
                "page_size": "2", "page_offset": "1"}
    got = api("pullups.list_sessions", alice, method="GET", **as_query)
    assert got.status == posted.status == 200
    assert got.body == posted.body
    assert _ids(got) == [history[1]["id"], history[2]["id"]]
