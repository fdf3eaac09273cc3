"""`make bench`: run the benchmarks and write bench/results/*.{json,md}."""

from __future__ import annotations

import argparse

from bench import service, workouts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("which", nargs="*",
                        help="benchmarks to run: workouts, service (default: all)")
    parser.add_argument("--workouts-sizes", default="1000,1000000",
                        help="comma-separated training_sessions row counts")
    args = parser.parse_args()
    which = args.which or ["workouts", "service"]
    unknown = set(which) - {"workouts", "service"}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if "workouts" in which:
        workouts.main([int(s) for s in args.workouts_sizes.split(",")])
    if "service" in which:
        service.main()


if __name__ == "__main__":
    main()
