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

test: setup lint
	@$(PY) -m pytest $(PYTEST_ARGS)

bench:
	@scripts/setup.sh bench
	@$(PY) -m bench $(BENCH_ARGS)

clean: stop
	rm -rf .local
