"""The embedded stack of `make run` and the tests: a Postgres `cluster`, the `migrations`
runner, the `stack` that starts and stops everything, the local `api` at Supabase's paths,
the offline `provider` and its `models`, and `typegen` (postgres-meta's TypeScript types)."""
