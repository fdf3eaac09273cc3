"""Benchmarks (`make bench`): not part of `make test`; results go to bench/results/."""
