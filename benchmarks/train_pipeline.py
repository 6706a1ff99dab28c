"""The whole ``train`` pipeline beside raw ``implicit`` ALS on the same matrix, and the batch
delivery export's speed and memory.

For sample worlds of about 100k, 1M and 4M events (``generate_world(events / 30, 5000, 0)``),
times one tracked run of :func:`training.pipeline.train` (dataset summary and content hash,
features, fit, the cold-start fit the bundle carries, bundle save + verify, MLflow
params/metrics/artifacts, pyfunc model, registration), with the hold-out evaluation off and on,
against ``implicit.cpu.als.AlternatingLeastSquares.fit`` on the run's own confidence
matrix with the same parameters and single-threaded BLAS (as our adapter runs it). The
generated world is an input, not part of either time. Then exports every learner's top-10 with
reasons to Parquet from each bundle, and from a synthetic one-million-learner bundle, reporting
rows/s and the export's peak memory above what the loaded bundle already holds (Linux VmHWM,
reset through ``/proc/self/clear_refs``), which should not grow with the number of learners.

Targets (issue 4): at 1M events the pipeline's overhead, everything but the fit (features,
cold start, bundle, MLflow logging), stays under 2x the raw fit; 1M -> 4M grows close to
linearly (x4 events). The whole run's time over the raw fit is printed beside it.

Run: ``.venv/bin/python benchmarks/train_pipeline.py`` (``--sizes 100000`` for a quick look).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recommender.bundle import Bundle
from recommender.data.sample_world import generate_world
from recommender.features import IdMap
from recommender.tracking import use_experiment
from training.config import TrainConfig, parse_config
from training.deliver import export_delivery_lists
from training.pipeline import train
from training.tracking import Tracking, quiet_mlflow_logs

N_RESOURCES = 5000
EVENTS_PER_LEARNER = 30
MAX_RATIO = 2.0


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> None:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _config(n_learners: int, holdout: bool) -> TrainConfig:
    return parse_config({
        "data": {"source": "sample", "n_learners": n_learners, "n_resources": N_RESOURCES},
        "model": {"name": "als"},  # the library defaults: 64 factors, 15 iterations
        "validation": {"enabled": holdout},
        "tracking": {"experiment": "benchmark", "registered_model": "benchmark-als"},
    }, source="benchmark")


def _raw_als_seconds(matrix: sp.csr_matrix, config: TrainConfig) -> float:
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    params = config.model.build(random_state=config.seed).implicit_params()
    user_items = sp.csr_matrix(matrix, dtype=np.float32)
    with threadpool_limits(1, "blas"):
        als = AlternatingLeastSquares(**params)
        started = time.perf_counter()
        als.fit(user_items, show_progress=False)
        return time.perf_counter() - started


def _export(bundle: Bundle, out: Path) -> tuple[float, float, int]:
    """(rows/s, peak MiB above the loaded bundle, rows) of one export at k=10."""
    before = _status_kib("VmRSS")
    _reset_peak()
    stats = export_delivery_lists(bundle, out, k=10, chunk_size=10_000)
    peak = _status_kib("VmHWM") - before
    out.unlink()
    return stats.rows_per_second, peak / 1024, stats.rows


def _steps(metrics: dict[str, float], total: float) -> str:
    """The run's step timings (logged as ``*_seconds`` metrics) and what is left for MLflow."""
    steps = {k.replace("_seconds", ""): v for k, v in metrics.items() if "_seconds" in k}
    steps["mlflow+other"] = total - sum(steps.values())
    return ", ".join(f"{k}={v:.2f}" for k, v in steps.items())


def _synthetic_bundle(n_learners: int, n_resources: int, seed: int = 0) -> Bundle:
    """Random vectors and ~10 history items per learner: export cost does not care why."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    per_learner = 10
    rows = np.repeat(np.arange(n_learners), per_learner)
    cols = rng.integers(0, n_resources, len(rows))
    history = sp.csr_matrix((rng.random(len(rows)).astype(np.float32) + 0.1, (rows, cols)),
                            shape=(n_learners, n_resources))
    done = sp.csr_matrix(history > 0.9, dtype=bool)  # ~the completed share
    learner_ids = np.char.add("L", np.arange(n_learners).astype(str)).astype(object)
    resource_ids = np.char.add("R", np.arange(n_resources).astype(str)).astype(object)
    groups = np.array(["employee", "retiree", "rural_resident", "youth"], dtype=object)
    return Bundle(
        learner_map=IdMap("learner", learner_ids),
        resource_map=IdMap("resource", resource_ids),
        learner_factors=rng.standard_normal((n_learners, 64)).astype(np.float32),
        resource_factors=rng.standard_normal((n_resources, 64)).astype(np.float32),
        exclusions=done,
        interactions=history,
        resources=pd.DataFrame({"resource_id": resource_ids,
                                "title": np.char.add("title ", resource_ids.astype(str))}),
        learners=pd.DataFrame({"learner_id": learner_ids,
                               "group": groups[rng.integers(0, len(groups), n_learners)]}),
        manifest={"version": "synthetic"},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000, 4_000_000],
                        help="target event counts")
    parser.add_argument("--million-learners", type=int, default=1_000_000,
                        help="learners in the synthetic export bundle (0: skip)")
    args = parser.parse_args()
    quiet_mlflow_logs()  # no INFO lines or download bars between the table's rows

    workdir = Path(tempfile.mkdtemp(prefix="bench-train-"))
    tracking = Tracking(uri=f"sqlite:///{workdir / 'mlflow.db'}",
                        artifact_root=workdir / "artifacts")
    use_experiment(tracking.uri, "benchmark", tracking.artifact_root)  # store creation untimed
    print(f"{'events':>10} {'learners':>9} {'raw ALS s':>10} {'train s':>8} {'ratio':>6} "
          f"{'its fit s':>10} {'overhead':>9} {'cold start s':>13} {'+holdout s':>11} {'ratio':>6}")
    results: dict[int, dict[str, float]] = {}
    try:
        for target in args.sizes:
            n_learners = max(1, target // EVENTS_PER_LEARNER)
            world = generate_world(n_learners, N_RESOURCES, 0)
            plain, with_holdout = _config(n_learners, False), _config(n_learners, True)

            started = time.perf_counter()
            run = train(plain, world, tracking, bundle_root=workdir / "bundles")
            pipeline_s = time.perf_counter() - started
            raw_s = _raw_als_seconds(run.bundle.interactions, plain)
            started = time.perf_counter()
            held = train(with_holdout, world, tracking, bundle_root=workdir / "bundles")
            holdout_s = time.perf_counter() - started

            rate, peak, rows = _export(run.bundle, workdir / "lists.parquet")
            hash_s = run.metrics["data_summary_seconds"]
            results[target] = {"events": len(world.events), "pipeline": pipeline_s,
                               "raw": raw_s, "fit": run.metrics["fit_seconds"], "holdout": holdout_s, "rate": rate, "peak": peak,
                               "rows": rows, "learners": n_learners, "hash": hash_s}
            print(f"{len(world.events):>10,} {n_learners:>9,} {raw_s:>10.2f} {pipeline_s:>8.2f} "
                  f"{pipeline_s / raw_s:>5.2f}x {run.metrics['fit_seconds']:>10.2f} "
                  f"{(pipeline_s - run.metrics['fit_seconds']) / raw_s:>8.2f}x "
                  f"{run.metrics['cold_start_seconds']:>13.2f} {holdout_s:>11.2f} "
                  f"{holdout_s / raw_s:>5.2f}x", flush=True)
            print(f"{'':>22}steps: {_steps(run.metrics, pipeline_s)}")
            print(f"{'':>22}with hold-out: {_steps(held.metrics, holdout_s)}", flush=True)
            del world, run, held

        print("\ndelivery export (k=10, chunks of 10,000 learners, with reasons):")
        for target, r in results.items():
            print(f"  {r['learners']:>9,} learners ({r['events']:,.0f} events): "
                  f"{r['rate']:>10,.0f} rows/s, {r['rows']:,} rows, "
                  f"peak +{r['peak']:.0f} MiB above the loaded bundle")
        if args.million_learners:
            bundle = _synthetic_bundle(args.million_learners, N_RESOURCES)
            rate, peak, rows = _export(bundle, workdir / "lists.parquet")
            print(f"  {args.million_learners:>9,} learners (synthetic bundle):   "
                  f"{rate:>10,.0f} rows/s, {rows:,} rows, peak +{peak:.0f} MiB above the bundle")

        print()
        if 1_000_000 in results:
            r = results[1_000_000]
            overhead = r["pipeline"] - r["fit"]
            verdict = "OK" if overhead / r["raw"] < MAX_RATIO else "OVER"
            print(f"1M events: overhead (all but the fit: {overhead:.2f} s) / raw fit = "
                  f"{overhead / r['raw']:.2f}x (target < {MAX_RATIO:.0f}x: {verdict}); "
                  f"whole run / raw fit = {r['pipeline'] / r['raw']:.2f}x without hold-out, "
                  f"{r['holdout'] / r['raw']:.2f}x with it; "
                  f"{(r['pipeline'] - r['hash']) / r['raw']:.2f}x without the "
                  f"{r['hash']:.1f} s of Dataset.content_hash()")
        if 1_000_000 in results and 4_000_000 in results:
            small, large = results[1_000_000], results[4_000_000]
            events = large["events"] / small["events"]
            print(f"1M -> 4M: events x{events:.2f}, pipeline x"
                  f"{large['pipeline'] / small['pipeline']:.2f}, raw fit x"
                  f"{large['raw'] / small['raw']:.2f}, with hold-out x"
                  f"{large['holdout'] / small['holdout']:.2f}, content hash x"
                  f"{large['hash'] / small['hash']:.2f}, pipeline without it x"
                  f"{(large['pipeline'] - large['hash']) / (small['pipeline'] - small['hash']):.2f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
