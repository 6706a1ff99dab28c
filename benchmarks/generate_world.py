"""Time the sample world generator and the data-contract validation on about a million events.

Generation includes the validation ``generate_world`` runs on its own output; the second stage
re-validates the generated tables alone, as a loader would. Peak RSS is the process high-water
mark (``getrusage``), so it covers numpy and pandas buffers, not only Python objects.

Run: ``.venv/bin/python benchmarks/generate_world.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

from recommender.data import validate_dataset
from recommender.data.sample_world import generate_world


def peak_rss_mib() -> float:
    """The process's peak resident set size so far (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=35_000)
    parser.add_argument("--resources", type=int, default=5_000)
    parser.add_argument("--events-per-learner", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args()


def report(stage: str, rows: int, events: int, seconds: float) -> None:
    print(f"{stage:<10} {rows:>11,} {events:>11,} {seconds:>9.2f} "
          f"{rows / seconds:>12,.0f} {events / seconds:>12,.0f} {peak_rss_mib():>14,.0f}")


def main() -> None:
    args = parse_args()
    baseline = peak_rss_mib()
    started = time.perf_counter()
    world = generate_world(args.learners, args.resources, args.seed,
                           events_per_learner=args.events_per_learner)
    generated = time.perf_counter() - started
    rows = len(world.learners) + len(world.resources) + len(world.events)
    events = len(world.events)

    print(f"sample world: {len(world.learners):,} learners, {len(world.resources):,} resources, "
          f"{events:,} events (seed {args.seed}); RSS before generation {baseline:,.0f} MiB")
    print(f"{'stage':<10} {'rows':>11} {'events':>11} {'seconds':>9} {'rows/s':>12} "
          f"{'events/s':>12} {'peak RSS MiB':>14}")
    report("generate", rows, events, generated)

    started = time.perf_counter()
    validate_dataset(world.learners, world.resources, world.events, world.regions)
    report("validate", rows, events, time.perf_counter() - started)


if __name__ == "__main__":
    main()
