"""types/database.types.ts is what Supabase's generator (postgres-meta) makes of the
migrations now: a migration that changes an RPC or a table without `make types` fails."""

from __future__ import annotations

from python_functions.local import typegen


def test_the_committed_types_match_the_migrations(database_url: str) -> None:
    generated = typegen.generate(database_url)
    committed = typegen.TYPES_FILE.read_text()
    assert generated == committed, "types/database.types.ts is stale: run `make types`"


def test_the_types_cover_every_exposed_schema_and_the_plan_rpcs() -> None:
    committed = typegen.TYPES_FILE.read_text()
    for schema in ("pullups", "workouts", "flashcards", "recipes"):
        assert f"\n  {schema}: {{\n" in committed, schema
    for rpc in ("create_plan", "get_plan", "list_plans", "update_plan", "delete_plan"):
        assert f"      {rpc}: " in committed, rpc
