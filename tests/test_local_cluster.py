"""The local cluster (`make run`, the tests) behaves like a Supabase database."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
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


def _pids(pattern: str) -> list[int]:
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def _running(pid: int) -> bool:
    """Neither gone nor a zombie (an orphan's exit waits for whoever adopted it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("reset", [False, True], ids=["init", "destroy and init"])
def test_an_init_waits_for_the_initdb_a_killed_run_left_behind(reset: bool) -> None:
    """SIGKILL cannot be passed on, so initdb outlives a run killed during it and goes on
    writing its half-made directory; the next init (or `make reset`'s destroy) must not
    clear that directory under it, nor run a second initdb there at the same time."""
    root = Path(tempfile.mkdtemp(prefix="pf-orphan-", dir="/tmp"))
    root.chmod(0o755)
    cluster = LocalCluster(root / "pg", free_port())
    partial = cluster.root / "data.partial"
    killed = subprocess.Popen([
        sys.executable, "-c",
        "import sys; from pathlib import Path;"
        " from python_functions.local.cluster import LocalCluster;"
        " LocalCluster(Path(sys.argv[1]), 0).init()", str(cluster.root)])
    try:
        deadline = time.monotonic() + 60
        while not partial.exists():
            assert killed.poll() is None and time.monotonic() < deadline, "no initdb"
            time.sleep(0.01)
        killed.send_signal(signal.SIGKILL)
        killed.wait()
        orphans = _pids(f"initdb -D {partial}")
        assert orphans, "initdb ended with the run: nothing left to race"

        if reset:
            cluster.destroy()
            assert not [pid for pid in orphans if _running(pid)]  # ended before the removal
        cluster.init()
        assert not [pid for pid in orphans if _running(pid)]  # ended before this init's
        cluster.start()
        with psycopg.connect(cluster.admin_dsn) as conn:
            assert conn.execute("select current_setting('TimeZone')").fetchone() == ("UTC",)
    finally:
        for pid in _pids(f"initdb -D {partial}"):
            os.kill(pid, signal.SIGKILL)
        cluster.destroy()
        shutil.rmtree(root, ignore_errors=True)
