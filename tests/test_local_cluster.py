"""The local cluster (`make run`, the tests) behaves like a Supabase database."""

from __future__ import annotations

import tempfile
from pathlib import Path

import psycopg
import pytest

from python_functions.local.cluster import LocalCluster, free_port, throwaway_cluster


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


def test_a_data_directory_without_the_projects_settings_gets_them_at_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An earlier version, killed between initdb and writing its settings, left a data
    directory without them; started as it is, it would run in the machine's zone."""
    monkeypatch.setenv("TZ", "America/Los_Angeles")
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="pf-bare-", dir="/tmp")), free_port())
    try:
        cluster.init()
        conf = cluster.data_dir / "postgresql.conf"
        conf.write_text(conf.read_text().split("\n# added by")[0])  # initdb's own file
        cluster.start()
        with psycopg.connect(cluster.admin_dsn) as conn:
            assert conn.execute("select current_setting('TimeZone'),"
                                " current_setting('logging_collector')").fetchone() == (
                "UTC", "on")
        cluster.stop()
        cluster.start()  # once: a second start adds nothing
        assert conf.read_text().count("# added by") == 1
    finally:
        cluster.destroy()
