# Two commands on a fresh machine: `make run` and `make test`. Both set themselves up.
SHELL := /bin/bash
PY := .venv/bin/python

.PHONY: setup run stop reset types test lint bench clean

setup:
	@scripts/setup.sh

run: setup
	@$(PY) -m python_functions run

stop: setup
	@$(PY) -m python_functions stop

# Like `supabase db reset`: the embedded database re-created from migrations and seed.
reset: setup
	@$(PY) -m python_functions reset

# TypeScript types of the exposed schemas (Supabase's postgres-meta), committed; make test
# fails when they are stale.
types: setup
	@$(PY) -m python_functions types

lint: setup
	@$(PY) -m ruff check .
	@$(PY) -m mypy

# The suite in TEST_WORKERS processes (pytest-xdist), each with a throwaway Postgres of its
# own; a test file stays in one process, so its module fixtures start once. Against
# TEST_DATABASE_URL (one shared database) it runs in one; TEST_WORKERS=0 does that too.
TEST_WORKERS ?= $(if $(TEST_DATABASE_URL),0,2)
test: setup lint
	@$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench:
	@scripts/setup.sh bench
	@$(PY) -m bench $(BENCH_ARGS)

clean: stop
	rm -rf .local
