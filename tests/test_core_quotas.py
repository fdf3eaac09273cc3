"""core quotas: reservations race safely, settle by policy, expire, and roll with the window."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import psycopg
import pytest

from python_functions.db import rpc
from tests.conftest import SERVICE_ROLE_CLAIMS, Api, assert_error, race_rpc


def _policy(admin: psycopg.Connection[Any], bucket: str, *, limit: int = 5, status: int = 403,
            code: str = "AI_LIMIT_REACHED", failures_count: bool = False,
            window: str = "24 hours", ttl: str = "3 minutes") -> str:
    admin.execute(
        "insert into core.quota_policies (bucket, max_count, window_length, failures_count,"
        " reservation_ttl, error_status, error_code, error_message)"
        " values (%s, %s, %s::interval, %s, %s::interval, %s, %s, 'limit reached')",
        (bucket, limit, window, failures_count, ttl, status, code),
    )
    return bucket


def _reserve(api: Api, bucket: str, user_id: str) -> rpc.RpcResponse:
    return api.service("core.quota_reserve", p_bucket=bucket, p_user_id=user_id)


def _report(api: Api, bucket: str, user_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api.service("core.quota_report", p_bucket=bucket,
                                       p_user_id=user_id).body
    return body


def test_racing_reservations_never_exceed_the_limit(
    admin: psycopg.Connection[Any], database_url: str
) -> None:
    bucket = _policy(admin, "test.race", limit=5)
    user_id = str(uuid.uuid4())
    responses = race_rpc(database_url, 50, "core.quota_reserve",
                         {"p_bucket": bucket, "p_user_id": user_id}, SERVICE_ROLE_CLAIMS)
    assert Counter(r.status for r in responses) == {200: 5, 403: 45}
    assert {r.body["code"] for r in responses if not r.ok} == {"AI_LIMIT_REACHED"}
    stored = admin.execute(
        "select count(*) from core.quota_reservations where bucket = %s", (bucket,)
    ).fetchone()
    assert stored == (5,)


def test_spent_quota_raises_the_policy_error_with_the_report(
    api: Api, admin: psycopg.Connection[Any]
) -> None:
    bucket = _policy(admin, "test.spent", limit=1)
    user_id = str(uuid.uuid4())
    assert _reserve(api, bucket, user_id).ok
    response = _reserve(api, bucket, user_id)
    body = assert_error(response, 403, "AI_LIMIT_REACHED")
    assert body["details"]["limit"] == 1 and body["details"]["remaining"] == 0
    assert response.header("Retry-After") is None


def test_rate_limit_policy_answers_429_with_retry_after(
    api: Api, admin: psycopg.Connection[Any]
) -> None:
    bucket = _policy(admin, "test.rate", limit=2, status=429, code="RATE_LIMITED",
                     window="1 minute")
    user_id = str(uuid.uuid4())
    for _ in range(2):
        settle = api.service("core.quota_settle",
                             p_reservation_id=_reserve(api, bucket, user_id).body,
                             p_success=True)
        assert settle.body is True
    response = _reserve(api, bucket, user_id)
    assert_error(response, 429, "RATE_LIMITED")
    retry_after = int(response.header("Retry-After") or "0")
    assert 1 <= retry_after <= 60


def test_quotas_are_per_user(api: Api, admin: psycopg.Connection[Any]) -> None:
    bucket = _policy(admin, "test.per_user", limit=1)
    assert _reserve(api, bucket, str(uuid.uuid4())).ok
    assert _reserve(api, bucket, str(uuid.uuid4())).ok


@pytest.mark.parametrize(("failures_count", "remaining_after_failure"), [(False, 1), (True, 0)])
def test_failure_frees_the_slot_only_where_failures_do_not_count(
    api: Api, admin: psycopg.Connection[Any], failures_count: bool,
    remaining_after_failure: int,
) -> None:
    bucket = _policy(admin, f"test.failures_{failures_count}".lower(), limit=1,
                     failures_count=failures_count)
    user_id = str(uuid.uuid4())
    reservation = _reserve(api, bucket, user_id).body
    assert _report(api, bucket, user_id)["remaining"] == 0
    assert api.service("core.quota_settle", p_reservation_id=reservation,
                       p_success=False).body is True
    assert _report(api, bucket, user_id)["remaining"] == remaining_after_failure


def test_settling_twice_is_refused_without_changing_the_outcome(
    api: Api, admin: psycopg.Connection[Any]
) -> None:
    bucket = _policy(admin, "test.twice", limit=1)
    user_id = str(uuid.uuid4())
    reservation = _reserve(api, bucket, user_id).body
    assert api.service("core.quota_settle", p_reservation_id=reservation, p_success=True).body
    assert api.service("core.quota_settle", p_reservation_id=reservation,
                       p_success=False).body is False
    assert _report(api, bucket, user_id)["used"] == 1


def test_unsettled_reservation_stops_counting_when_it_expires(
    api: Api, admin: psycopg.Connection[Any]
) -> None:
    bucket = _policy(admin, "test.expiry", limit=1)
    user_id = str(uuid.uuid4())
    reservation = _reserve(api, bucket, user_id).body  # the request "crashes" here
    assert_error(_reserve(api, bucket, user_id), 403, "AI_LIMIT_REACHED")
    admin.execute("update core.quota_reservations set expires_at = now() - interval '1 second'"
                  " where id = %s", (reservation,))
    assert _report(api, bucket, user_id)["used"] == 0
    assert _reserve(api, bucket, user_id).ok


def test_the_window_rolls(api: Api, admin: psycopg.Connection[Any]) -> None:
    bucket = _policy(admin, "test.window", limit=2)
    user_id = str(uuid.uuid4())
    for _ in range(2):
        api.service("core.quota_settle", p_reservation_id=_reserve(api, bucket, user_id).body,
                    p_success=True)
    assert_error(_reserve(api, bucket, user_id), 403, "AI_LIMIT_REACHED")
    # the older success leaves the 24 h window
    admin.execute(
        "update core.quota_reservations set reserved_at = now() - interval '24 hours 1 second'"
        " where id = (select id from core.quota_reservations where bucket = %s"
        " order by reserved_at limit 1)", (bucket,))
    report = _report(api, bucket, user_id)
    assert (report["used"], report["remaining"]) == (1, 1)
    assert _reserve(api, bucket, user_id).ok


def test_report_says_when_the_next_slot_frees(api: Api, admin: psycopg.Connection[Any]) -> None:
    bucket = _policy(admin, "test.report", limit=3)
    user_id = str(uuid.uuid4())
    empty = _report(api, bucket, user_id)
    assert empty == {"limit": 3, "used": 0, "remaining": 3, "resetsAt": None}
    api.service("core.quota_settle", p_reservation_id=_reserve(api, bucket, user_id).body,
                p_success=True)
    admin.execute("update core.quota_reservations set reserved_at = '2030-01-01T10:00:00Z'"
                  " where bucket = %s", (bucket,))
    admin.execute("update core.quota_policies set window_length = interval '100 years'"
                  " where bucket = %s", (bucket,))
    report = _report(api, bucket, user_id)
    assert report["used"] == 1
    assert report["resetsAt"].startswith("2130-01-01T10:00:00")


def test_operators_change_limits_with_plain_sql(api: Api, admin: psycopg.Connection[Any]) -> None:
    bucket = _policy(admin, "test.operator", limit=1)
    user_id = str(uuid.uuid4())
    assert _reserve(api, bucket, user_id).ok
    assert not _reserve(api, bucket, user_id).ok
    admin.execute("update core.quota_policies set max_count = 2 where bucket = %s", (bucket,))
    assert _reserve(api, bucket, user_id).ok


def test_clients_cannot_touch_quotas(api: Api, alice: Any) -> None:
    assert_error(api("core.quota_reserve", alice, p_bucket="pullups.ai",
                     p_user_id=alice.id), 403, "42501")
    assert_error(api("core.quota_settle", alice, p_reservation_id=str(uuid.uuid4()),
                     p_success=False), 403, "42501")
