"""Shared benchmark plumbing: a throwaway cluster, timing, and the results file."""

from __future__ import annotations

import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from python_functions import PROJECT_ROOT
from python_functions.local import migrations
from python_functions.local.cluster import LocalCluster, throwaway_cluster

RESULTS_DIR = PROJECT_ROOT / "bench" / "results"


@contextmanager
def benchmark_cluster() -> Iterator[LocalCluster]:
    """A fresh cluster, durable like a real server (fsync on), without pg_stat_statements:
    the earlier runs were timed without its hooks, and it would time into both sides."""
    with throwaway_cluster(durable=True, track_statements=False) as cluster:
        yield cluster


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A benchmark cluster with the project's schema."""
    with benchmark_cluster() as cluster:
        migrations.prepare_database(cluster.dsn, seed=False, bootstrap_dsn=cluster.admin_dsn)
        yield cluster.dsn


class RoundTrips:
    """Counts the round trips a libpq connection makes inside a `with` block, from libpq's
    protocol trace: the Sync messages it sends, and the simple-protocol Query messages (each
    waits for the server before the client can go on). `count` is set when the block ends."""

    def __init__(self, pgconn: Any) -> None:
        self._pgconn = pgconn
        self.count = 0

    def __enter__(self) -> RoundTrips:
        fd, name = tempfile.mkstemp(prefix="trace-")
        self._trace = Path(name)
        self._out = os.fdopen(fd, "w")
        self._pgconn.trace(self._out.fileno())
        return self

    def __exit__(self, *exc: object) -> None:
        self._pgconn.untrace()
        self._out.close()
        lines = self._trace.read_text().splitlines()
        self._trace.unlink()
        self.count = sum(1 for line in lines
                         if "\tF\t" in line and line.split("\t")[3] in ("Sync", "Query"))


def timed_ms(action: Callable[[], Any], iterations: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(iterations):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "median_ms": round(statistics.median(ordered), 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
    }


def write_results(name: str, results: dict[str, Any], markdown: str) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    meta = {"machine": platform.platform(), "python": platform.python_version(),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(meta | results, indent=2) + "\n")
    path = RESULTS_DIR / f"{name}.md"
    path.write_text(f"# {name} benchmark\n\n{meta['when']} on {meta['machine']}\n\n{markdown}\n")
    return path
