"""Every operator query in sql/ops runs against the current schema."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from python_functions import PROJECT_ROOT

OPS = sorted((PROJECT_ROOT / "sql" / "ops").glob("*.sql"))


@pytest.mark.parametrize("path", OPS, ids=[p.name for p in OPS])
def test_ops_query_runs(admin: psycopg.Connection[Any], path: Any) -> None:
    with admin.transaction(force_rollback=True):
        admin.execute(path.read_text())
