"""The local cluster (`make run`, the tests) behaves like a Supabase database."""

from __future__ import annotations

import psycopg
import pytest

from python_functions.local.cluster import throwaway_cluster


def test_the_cluster_runs_in_utc_whatever_the_machine_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Supabase's databases run in UTC: timestamps come back as +00:00 and `current_date` is
    the UTC date. initdb would take the machine's zone (a laptop's) instead."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    with throwaway_cluster() as cluster, psycopg.connect(cluster.admin_dsn) as conn:
        row = conn.execute("select current_setting('TimeZone'),"
                           " to_json('2030-01-01T10:00:00Z'::timestamptz)::text").fetchone()
    assert row == ("UTC", '"2030-01-01T10:00:00+00:00"')
