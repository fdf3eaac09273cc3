"""The embedded stack of `make run` and the tests: a Postgres `cluster`, the `migrations`
runner, the `stack` that starts and stops everything, the local `api` at Supabase's paths,
the offline `provider` and its `models`, `typegen` (postgres-meta's TypeScript types),
`interrupts` (a stop signal while starting, kept out of a child process's start), and the
`lifeline` that ends the services with the run."""

from python_functions import PROJECT_ROOT

NODE = PROJECT_ROOT / "tools" / "node_modules" / ".bin" / "node"
"""The Node.js that tools/package.json pins (scripts/setup.sh installs it with npm ci): 22, as
supabase-js 2.119 requires, whatever the machine has (Debian 12's own is 18). postgres-meta,
the supabase-js example and its tests run on it."""
