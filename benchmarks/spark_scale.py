"""One machine against Spark as the sample world grows: ALS fit and the delivery export.

For each size (default 1M, 4M and 16M events: the sample world with 30 events a learner, so
the learners grow with the events and the catalog stays 5,000 resources) this prints, side by
side: implicit's ALS fit (seconds, peak RSS of the process that holds the data) beside Spark
MLlib's (local mode on this machine, from the events as a Parquet directory: seconds, the
Python driver's peak RSS and the Spark JVM's), and the delivery export's rows/s on both
engines (the same bundle; the single-machine export in one process, Spark's with the same
delivery core in every partition), with the ratios.

Each measurement runs in its own process, so each peak RSS (``getrusage`` high-water mark,
plus ``VmHWM`` of the Spark JVM) is that step's alone. Both engines fit the same factors,
iterations and confidences. Timings on a shared machine are noisy: compare the ratios of one
run. Run: ``.venv/bin/python benchmarks/spark_scale.py`` on a quiet machine (about 35 min
on 2 cores; ``--sizes 1e5,4e5`` for a quick run; ``--help``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVENTS_PER_LEARNER = 30.0
N_RESOURCES = 5_000
FACTORS, ITERATIONS, K = 32, 10, 10
DRIVER_MEMORY = "6g"


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def jvm_peak_mib(spark: object) -> float:
    """The Spark JVM's resident high-water mark (local mode: driver and executors)."""
    pid = spark.sparkContext._gateway.proc.pid  # type: ignore[attr-defined]
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def engine(master: str):
    from recommender.spec import SparkEngine

    return SparkEngine(kind="spark", master=master, driver_memory=DRIVER_MEMORY,
                       shuffle_partitions=8, conf={"spark.ui.enabled": "false"})


# --- steps, each in its own process --------------------------------------------------------

def step_generate(world: Path, events: int) -> dict:
    from recommender.data import write_dataset
    from recommender.data.sample_world import generate_world

    learners = max(1, round(events / EVENTS_PER_LEARNER))
    data = generate_world(learners, N_RESOURCES, 0, events_per_learner=EVENTS_PER_LEARNER)
    write_dataset(data, world, fmt="parquet")
    # the events again as a directory of part files, as a platform's nightly export would be
    parts = world / "events_parts"
    parts.mkdir()
    for n, lo in enumerate(range(0, len(data.events), 1_000_000)):
        data.events.iloc[lo:lo + 1_000_000].to_parquet(parts / f"part-{n:05d}.parquet",
                                                       index=False)
    return {"learners": len(data.learners), "events": len(data.events)}


def step_implicit_fit(world: Path, bundle: Path) -> dict:
    from recommender.bundle import build_bundle, save_bundle
    from recommender.data import load_directory
    from recommender.features import build_feature_set
    from recommender.models import ALSModel

    features = build_feature_set(load_directory(world))
    started = time.perf_counter()
    model = ALSModel(factors=FACTORS, iterations=ITERATIONS, regularization=0.05).fit(features)
    seconds = time.perf_counter() - started
    peak = peak_rss_mib()
    save_bundle(build_bundle(model, None, features, {"version": "scale"}), bundle)
    return {"seconds": seconds, "peak_mib": peak, "pairs": int(features.interactions.nnz)}


def step_spark_fit(world: Path, master: str) -> dict:
    import pandas as pd

    from recommender.features import IdMap
    from recommender.models import ALSModel
    from recommender.spark import fit_spark_als, spark_confidences, spark_session

    spark = spark_session(engine(master))
    learners = IdMap("learner", pd.read_parquet(world / "learners.parquet",
                                                columns=["learner_id"])["learner_id"])
    resources = IdMap("resource", pd.read_parquet(world / "resources.parquet",
                                                  columns=["resource_id"])["resource_id"])
    started = time.perf_counter()
    events = spark.read.parquet(str(world / "events_parts"))
    pairs = spark_confidences(spark, events, learners, resources).cache()
    n_pairs = pairs.count()
    fit_spark_als(pairs, len(learners), len(resources),
                  ALSModel(factors=FACTORS, iterations=ITERATIONS, regularization=0.01))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mib": peak_rss_mib(), "jvm_peak_mib": jvm_peak_mib(spark),
            "pairs": n_pairs}


def step_local_export(bundle: Path, out: Path) -> dict:
    from recommender.bundle import load_bundle
    from training.deliver import export_delivery_lists

    stats = export_delivery_lists(load_bundle(bundle), out, k=K, now="2025-01-01T00:00:00Z")
    return {"rows": stats.rows, "seconds": stats.seconds, "peak_mib": peak_rss_mib()}


def step_spark_export(bundle: Path, out: Path, master: str) -> dict:
    from recommender.bundle import load_bundle
    from recommender.spark import spark_session
    from training.spark_jobs import export_lists_on_spark

    loaded = load_bundle(bundle)
    started = time.perf_counter()
    stats = export_lists_on_spark(loaded, out, engine(master), k=K, now="2025-01-01T00:00:00Z",
                                  index_factory="NormPrunedFlat,approx", learners_per_task=20_000)
    seconds = time.perf_counter() - started
    return {"rows": stats.rows, "seconds": seconds, "peak_mib": peak_rss_mib(),
            "jvm_peak_mib": jvm_peak_mib(spark_session(engine(master)))}


STEPS = {"generate": step_generate, "implicit_fit": step_implicit_fit,
         "spark_fit": step_spark_fit, "local_export": step_local_export,
         "spark_export": step_spark_export}


def run_step(name: str, **kwargs: object) -> dict:
    """Run one step in a fresh interpreter and return what it measured."""
    done = subprocess.run(
        [sys.executable, __file__, "--step", name, "--kwargs", json.dumps(
            {k: str(v) if isinstance(v, Path) else v for k, v in kwargs.items()})],
        capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(events: int, scratch: Path, master: str) -> dict:
    world, bundle = scratch / f"world-{events}", scratch / f"bundle-{events}"
    found = {"size": run_step("generate", world=world, events=events)}
    found["implicit"] = run_step("implicit_fit", world=world, bundle=bundle)
    found["spark"] = run_step("spark_fit", world=world, master=master)
    found["local_export"] = run_step("local_export", bundle=bundle,
                                     out=scratch / f"lists-{events}.parquet")
    found["spark_export"] = run_step("spark_export", bundle=bundle,
                                     out=scratch / f"lists-{events}", master=master)
    return found


def header() -> None:
    print(f"ALS: {FACTORS} factors, {ITERATIONS} iterations; export k={K}; Spark local mode "
          f"({os.cpu_count()} cores, driver memory {DRIVER_MEMORY}); peak RSS in MiB")
    print(f"{'events':>11} {'learners':>9} {'pairs':>10} | {'implicit s':>10} {'Spark s':>8} "
          f"{'ratio':>6} | {'implicit MiB':>12} {'Spark py MiB':>12} {'Spark JVM MiB':>13} | "
          f"{'local rows/s':>12} {'Spark rows/s':>12} {'ratio':>6} | {'export MiB':>10} "
          f"{'Spark py MiB':>12} {'Spark JVM MiB':>13}", flush=True)


def report(found: dict) -> None:
    """One size's line (printed as soon as it is measured)."""
    size, implicit, spark = found["size"], found["implicit"], found["spark"]
    local, on_spark = found["local_export"], found["spark_export"]
    local_rate = local["rows"] / local["seconds"]
    spark_rate = on_spark["rows"] / on_spark["seconds"]
    print(f"{size['events']:>11,} {size['learners']:>9,} {implicit['pairs']:>10,} | "
          f"{implicit['seconds']:>10.1f} {spark['seconds']:>8.1f} "
          f"{spark['seconds'] / implicit['seconds']:>6.1f} | "
          f"{implicit['peak_mib']:>12,.0f} {spark['peak_mib']:>12,.0f} "
          f"{spark['jvm_peak_mib']:>13,.0f} | {local_rate:>12,.0f} {spark_rate:>12,.0f} "
          f"{spark_rate / local_rate:>6.2f} | {local['peak_mib']:>10,.0f} "
          f"{on_spark['peak_mib']:>12,.0f} {on_spark['jvm_peak_mib']:>13,.0f}", flush=True)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e6,4e6,16e6",
                        help="comma-separated event counts (default 1e6,4e6,16e6)")
    parser.add_argument("--master", default="local[*]")
    parser.add_argument("--scratch", type=Path, default=None,
                        help="where worlds, bundles and lists go (default: a temporary dir)")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--kwargs", default="{}", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.step:
        kwargs = json.loads(args.kwargs)
        kwargs = {k: Path(v) if k in ("world", "bundle", "out") else v for k, v in kwargs.items()}
        print(json.dumps(STEPS[args.step](**kwargs)))
        return
    sizes = [int(float(size)) for size in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="spark-scale-") as default_scratch:
        scratch = args.scratch or Path(default_scratch)
        scratch.mkdir(parents=True, exist_ok=True)
        header()
        for events in sizes:
            started = time.perf_counter()
            report(measure(events, scratch, args.master))
            print(f"# {events:,} events measured in {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
