"""`make bench`: run the benchmarks and write bench/results/*.{json,md}."""

from __future__ import annotations

import argparse

from bench import layers, lists, roundtrips, rpcs, service, soak, workouts

ALL = ("rpcs", "roundtrips", "layers", "lists", "workouts", "service", "soak")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("which", nargs="*",
                        help=f"benchmarks to run: {', '.join(ALL)} (default: all)")
    parser.add_argument("--workouts-sizes", default="1000,1000000",
                        help="comma-separated training_sessions row counts")
    args = parser.parse_args()
    which = args.which or list(ALL)
    unknown = set(which) - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if "rpcs" in which:
        rpcs.main()
    if "roundtrips" in which:
        roundtrips.main()
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
