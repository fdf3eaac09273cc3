"""POST /sessions/{id}/fail (seed 003) as `pullups.fail_session`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from tests.conftest import Api, User, assert_error
from tests.pullups.conftest import events_for

Factory = Callable[..., dict[str, Any]]


def test_fail_with_reason_keeps_sets_and_records_reason_in_event_only(
    api: Api, alice: User, in_progress: Factory, admin: psycopg.Connection[Any]
) -> None:
    session = in_progress(alice)
    response = api("pullups.fail_session", alice, session_id=session["id"],
                   reason="grip gave out")
    assert response.status == 200
    failed = response.body["data"]["session"]
    assert failed["status"] == "failed"
    assert (failed["sets"], failed["rpe"]) == (session["sets"], session["rpe"])
    assert failed["finishedAt"] is not None
    assert response.body["meta"] == {}
    assert events_for(admin, session["id"])[-1] == (
        "session_failed", {"status": "failed", "reason": "grip gave out"})
    columns = admin.execute(
        "select to_jsonb(s) from pullups.sessions s where id = %s", (session["id"],)
    ).fetchone()
    assert columns is not None and "grip gave out" not in str(columns[0])


def test_fail_without_reason(
    api: Api, alice: User, in_progress: Factory, admin: psycopg.Connection[Any]
) -> None:
    session = in_progress(alice)
    response = api("pullups.fail_session", alice, session_id=session["id"])
    assert response.status == 200
    assert response.body["data"]["session"]["status"] == "failed"
    assert events_for(admin, session["id"])[-1] == (
        "session_failed", {"status": "failed", "reason": None})


def test_fail_sets_no_store_and_an_etag_that_changes_with_the_row(
    api: Api, alice: User, in_progress: Factory
) -> None:
    session = in_progress(alice)
    before = api("pullups.get_session", alice, session_id=session["id"])
    response = api("pullups.fail_session", alice, session_id=session["id"])
    assert response.header("Cache-Control") == "no-store"
    etag = response.header("ETag")
    assert etag and etag.startswith('"') and etag != before.header("ETag")
    after = api("pullups.get_session", alice, session_id=session["id"])
    assert after.header("ETag") == etag


def test_fail_planned_session_is_422(api: Api, alice: User, create: Factory) -> None:
    session = create(alice)
    body = assert_error(api("pullups.fail_session", alice, session_id=session["id"]),
                        422, "INVALID_STATUS")
    assert body["details"]["currentStatus"] == "planned"


@pytest.mark.parametrize("finish", ["complete_session", "fail_session"])
def test_fail_finished_session_is_422(
    api: Api, alice: User, in_progress: Factory, finish: str
) -> None:
    session = in_progress(alice)
    assert api(f"pullups.{finish}", alice, session_id=session["id"]).ok
    body = assert_error(api("pullups.fail_session", alice, session_id=session["id"]),
                        422, "INVALID_STATUS")
    assert body["details"]["currentStatus"] in ("completed", "failed")


def test_fail_missing_session_is_404(api: Api, alice: User) -> None:
    assert_error(api("pullups.fail_session", alice,
                     session_id="6f1c2b4e-0000-4000-8000-000000000000"), 404, "NOT_FOUND")


def test_fail_another_users_session_is_404_and_changes_nothing(
    api: Api, alice: User, bob: User, in_progress: Factory, admin: psycopg.Connection[Any]
) -> None:
    session = in_progress(alice)
    assert_error(api("pullups.fail_session", bob, session_id=session["id"]), 404, "NOT_FOUND")
    status = admin.execute("select status::text from pullups.sessions where id = %s",
                           (session["id"],)).fetchone()
    assert status == ("in_progress",)


def test_fail_without_auth_is_401(api: Api, alice: User, in_progress: Factory) -> None:
    session = in_progress(alice)
    assert_error(api("pullups.fail_session", session_id=session["id"]), 401, "42501")


def test_fail_with_service_key_but_no_user_is_401(
    api: Api, alice: User, in_progress: Factory
) -> None:
    session = in_progress(alice)
    response = api("pullups.fail_session", claims={"role": "authenticated"},
                   session_id=session["id"])
    assert_error(response, 401, "UNAUTHORIZED")


def test_fail_reason_of_501_chars_is_400_and_500_is_fine(
    api: Api, alice: User, in_progress: Factory
) -> None:
    session = in_progress(alice)
    body = assert_error(api("pullups.fail_session", alice, session_id=session["id"],
                            reason="x" * 501), 400, "VALIDATION_ERROR")
    assert body["details"]["field"] == "reason"
    assert api("pullups.fail_session", alice, session_id=session["id"],
               reason="x" * 500).status == 200


def test_fail_malformed_uuid_is_400(api: Api, alice: User) -> None:
    body = assert_error(api("pullups.fail_session", alice, session_id="not-a-uuid"),
                        400, "VALIDATION_ERROR")
    assert body["details"]["field"] == "session_id"
