"""`make bench`: run the benchmarks and write bench/results/*.{json,md}."""

from __future__ import annotations

import argparse

from bench import layers, lists, rpcs, service, soak, workouts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("which", nargs="*",
                        help="benchmarks to run: rpcs, layers, lists, workouts, service, soak"
                             " (default: all)")
    parser.add_argument("--workouts-sizes", default="1000,1000000",
                        help="comma-separated training_sessions row counts")
    args = parser.parse_args()
    which = args.which or ["rpcs", "layers", "lists", "workouts", "service", "soak"]
    unknown = set(which) - {"rpcs", "layers", "lists", "workouts", "service", "soak"}
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if "rpcs" in which:
        rpcs.main()
    if "layers" in which:
        layers.main()
    if "lists" in which:
        lists.main()
    if "workouts" in which:
        workouts.main([int(s) for s in args.workouts_sizes.split(",")])
    if "service" in which:
        service.main()
    if "soak" in which:
        soak.main()


if __name__ == "__main__":
    main()
