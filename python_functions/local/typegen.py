"""`make types`: TypeScript types of the exposed schemas, by Supabase's own generator.

`@supabase/postgres-meta` (pinned in tools/package.json) is what `supabase gen types
typescript` runs in a container; here it runs with the pinned Node (`local.NODE`) against
the database directly, so it needs no Docker. The output is committed as
types/database.types.ts, and a test fails when it no longer matches the migrations.
"""

from __future__ import annotations

import os
import subprocess

from python_functions import PROJECT_ROOT
from python_functions.local import NODE
from python_functions.local.config import exposed_schemas

TYPES_FILE = PROJECT_ROOT / "types" / "database.types.ts"
GENERATOR = (PROJECT_ROOT / "tools" / "node_modules" / "@supabase" / "postgres-meta" / "dist"
             / "server" / "server.js")
POSTGREST_VERSION = "12"  # the PostgREST behaviour rpc.py and the local API mirror


class TypegenError(RuntimeError):
    pass


def generate(database_url: str) -> str:
    """The generator's output for the exposed schemas of `database_url`."""
    if not NODE.exists() or not GENERATOR.exists():
        raise TypegenError("needs tools/node_modules (scripts/setup.sh installs it)")
    schemas = exposed_schemas()
    env = {**os.environ, "PG_META_DB_URL": database_url, "PG_META_GENERATE_TYPES": "typescript",
           "PG_META_GENERATE_TYPES_INCLUDED_SCHEMAS": ",".join(schemas),
           "PG_META_GENERATE_TYPES_DEFAULT_SCHEMA": schemas[0],
           "PG_META_POSTGREST_VERSION": POSTGREST_VERSION}
    done = subprocess.run([str(NODE), str(GENERATOR)], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    if done.returncode != 0:
        raise TypegenError(f"postgres-meta failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.rstrip("\n") + "\n"


def write(database_url: str) -> bool:
    """Regenerate the committed file; whether it changed."""
    text = generate(database_url)
    changed = not TYPES_FILE.exists() or TYPES_FILE.read_text() != text
    if changed:
        TYPES_FILE.parent.mkdir(parents=True, exist_ok=True)
        TYPES_FILE.write_text(text)
    return changed
