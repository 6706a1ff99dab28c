"""Fit time and peak memory of every model in MODELS on one interaction matrix, beside raw implicit.

The matrix is the sample world's (``generate_world(35000, 5000, 0)``: about a million events).
Every fit runs in a fresh process that loads the same pickled FeatureSet, so one fit's memory
and warm caches never leak into the next; peak memory is the rise of that process's resident
set during ``fit`` (Linux: ``VmHWM`` after resetting it through ``/proc/self/clear_refs``), so it
counts numpy and native buffers, not only Python objects. ALS and BPR are also fitted with raw
``implicit`` on the same matrix with the same parameters (and the same single-threaded BLAS),
and the overhead of our adapters (ours / raw, best of ``--repeats`` interleaved runs: on a shared
machine the fastest run is the least disturbed one; the ratio of medians is shown beside it)
must stay under 1.5x.

Run: ``.venv/bin/python benchmarks/train_models.py`` (``--help`` for sizes and repeats).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAX_OVERHEAD = 1.5
RAW = ("als", "bpr")  # models with a raw-library counterpart


def _status_kib(field: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _fit_raw(name: str, features) -> None:  # noqa: ANN001  (FeatureSet, imported in the worker)
    """Raw implicit on the same matrix, with our model's default parameters."""
    import numpy as np
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking
    from threadpoolctl import threadpool_limits

    from recommender.selection import build_model

    model = build_model(name, random_state=0)
    user_items = sp.csr_matrix(features.interactions, dtype=np.float32)
    if name == "als":
        with threadpool_limits(1, "blas"):
            AlternatingLeastSquares(**model.implicit_params()).fit(user_items, show_progress=False)
    else:
        params = model.get_params()
        params.pop("fold_in_regularization")
        BayesianPersonalizedRanking(**params).fit(user_items, show_progress=False)


def worker(job: str, path: str) -> None:
    """One fit in this process; prints a JSON line with seconds and peak memory rise."""
    with open(path, "rb") as handle:
        features = pickle.load(handle)
    kind, name = job.split(":")
    from recommender.selection import build_model

    before = _status_kib("VmRSS")
    measured = _reset_peak() and before is not None
    started = time.perf_counter()
    if kind == "ours":
        model = build_model(name, random_state=0).fit(features)
        dim = int(model.resource_factors_.shape[1])
    else:
        _fit_raw(name, features)
        dim = None
    seconds = time.perf_counter() - started
    peak = _status_kib("VmHWM") if measured else None
    rise = (peak - before) / 1024 if peak is not None and before is not None else None
    print(json.dumps({"seconds": seconds, "peak_mib": rise, "dim": dim}))


def run_job(job: str, path: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run(
        [sys.executable, __file__, "--worker", job, "--features", path],
        capture_output=True, text=True, env=env, check=False,
    )
    if out.returncode != 0:
        raise SystemExit(f"{job} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=35_000)
    parser.add_argument("--resources", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="runs per side for ALS and BPR")
    parser.add_argument("--models", nargs="*", default=None, help="subset of MODELS")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--features", help=argparse.SUPPRESS)
    return parser.parse_args()


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args.worker, args.features)
        return
    from recommender.data.sample_world import generate_world
    from recommender.features import build_feature_set
    from recommender.models import MODELS, OPTION_PARTS

    names = args.models or [name for name in MODELS if name not in OPTION_PARTS]
    print(f"generating the sample world ({args.learners:,} learners, "
          f"{args.resources:,} resources) ...", file=sys.stderr, flush=True)
    world = generate_world(args.learners, args.resources, args.seed)
    features = build_feature_set(world)
    n_learners, n_resources = features.shape
    print(f"interaction matrix: {n_learners:,} learners x {n_resources:,} resources, "
          f"{features.interactions.nnz:,} non-zero pairs from {len(world.events):,} events; "
          f"{os.cpu_count()} CPUs")
    results: dict[str, dict[str, list[dict]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "features.pkl")
        with open(path, "wb") as handle:
            pickle.dump(features, handle, protocol=pickle.HIGHEST_PROTOCOL)
        for name in names:
            sides = ("ours", "raw") if name in RAW else ("ours",)
            repeats = args.repeats if name in RAW else 1
            for _ in range(repeats):
                for side in sides:  # interleaved, so drift hits both sides alike
                    result = run_job(f"{side}:{name}", path)
                    results.setdefault(name, {}).setdefault(side, []).append(result)
                    print(f"  {side:>4} {name:<17} {result['seconds']:8.2f} s",
                          file=sys.stderr, flush=True)

    print(f"\n{'model':<17} {'dim':>5} {'ours s':>8} {'raw s':>8} {'ours/raw':>9} {'(medians)':>9} "
          f"{'ours peak MiB':>14} {'raw peak MiB':>13}")
    failures = []
    for name in names:
        ours = [r["seconds"] for r in results[name]["ours"]]
        raw = [r["seconds"] for r in results[name].get("raw", [])]
        ratio = min(ours) / min(raw) if raw else None
        median_ratio = statistics.median(ours) / statistics.median(raw) if raw else None
        peaks = [r["peak_mib"] for r in results[name]["ours"] if r["peak_mib"] is not None]
        raw_peaks = [
            r["peak_mib"] for r in results[name].get("raw", []) if r["peak_mib"] is not None
        ]
        print(f"{name:<17} {results[name]['ours'][0]['dim']:>5} {min(ours):>8.2f} "
              f"{_fmt(min(raw) if raw else None, '8.2f'):>8} {_fmt(ratio, '9.2f'):>9} "
              f"{_fmt(median_ratio, '9.2f'):>9} {_fmt(max(peaks) if peaks else None, '14.0f'):>14} "
              f"{_fmt(max(raw_peaks) if raw_peaks else None, '13.0f'):>13}")
        if ratio is not None and ratio >= MAX_OVERHEAD:
            failures.append(f"{name}: {ratio:.2f}x")
    print(f"\nbest of {args.repeats} interleaved runs for ALS/BPR (ratio of medians in brackets), "
          f"one run otherwise; peak = rise of the fitting process's resident set during fit")
    if failures:
        print(f"FAIL: overhead over raw implicit at or above {MAX_OVERHEAD}x: "
              f"{', '.join(failures)}")
        raise SystemExit(1)
    checked = ", ".join(n for n in names if n in RAW)
    print(f"OK: overhead over raw implicit below {MAX_OVERHEAD}x for {checked}")


if __name__ == "__main__":
    main()
