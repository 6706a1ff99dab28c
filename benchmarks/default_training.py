"""The default model's training time beside one raw ``implicit`` ALS fit, at about a million events.

The default is what ``recommender train`` fits for a config naming only the data
(:class:`recommender.selection.FamilySearch`: candidates fitted and scored on a validation split,
a blend of the best families, the winner refitted on every event), bounded by ten default ALS
fits (or its 20 s floor, which binds only on small data). The raw side is ``implicit``'s ``AlternatingLeastSquares`` with our ALS defaults on the
same matrix (single-threaded BLAS, as implicit advises and our adapter does). Both run in one
invocation, raw first and again last (the fastest of the two is the reference: on a shared
machine the least disturbed run), each in a fresh process loading the same pickled features.

The matrix is the sample world's (``generate_world(35000, 5000, 0)``: about a million events).
Run: ``.venv/bin/python benchmarks/default_training.py`` (``--help`` for sizes).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BOUND = 10.0  # the default's fit may take this many raw default ALS fits


def worker(kind: str, path: str) -> None:
    """One fit in this process; prints a JSON line."""
    with open(path, "rb") as handle:
        features = pickle.load(handle)
    from recommender.selection import build_model

    if kind == "raw":
        import numpy as np
        import scipy.sparse as sp
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        params = build_model("als", random_state=0).implicit_params()
        user_items = sp.csr_matrix(features.interactions, dtype=np.float32)
        started = time.perf_counter()
        with threadpool_limits(1, "blas"):
            AlternatingLeastSquares(**params).fit(user_items, show_progress=False)
        print(json.dumps({"seconds": time.perf_counter() - started}))
        return
    search = build_model("auto", random_state=0)
    started = time.perf_counter()
    search.fit(features)
    seconds = time.perf_counter() - started
    table = search.cv_results_
    print(json.dumps({
        "seconds": seconds, "budget": search.budget_seconds_,
        "floor": search.min_budget_seconds_,
        "reference": search.reference_seconds_, "refit": search.refit_seconds_,
        "best": search.best_params_["candidate"], "metric": search.metric,
        "rows": json.loads(table.to_json(orient="records")),
    }))


def run_job(kind: str, path: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    out = subprocess.run([sys.executable, __file__, "--worker", kind, "--features", path],
                         capture_output=True, text=True, env=env, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=35_000)
    parser.add_argument("--resources", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--features", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.worker:
        worker(args.worker, args.features)
        return
    from recommender.data.sample_world import generate_world
    from recommender.features import build_feature_set

    print(f"generating the sample world ({args.learners:,} learners, "
          f"{args.resources:,} resources) ...", file=sys.stderr, flush=True)
    world = generate_world(args.learners, args.resources, args.seed)
    features = build_feature_set(world)
    n_learners, n_resources = features.shape
    print(f"interaction matrix: {n_learners:,} learners x {n_resources:,} resources, "
          f"{features.interactions.nnz:,} non-zero pairs from {len(world.events):,} events; "
          f"{os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "features.pkl")
        with open(path, "wb") as handle:
            pickle.dump(features, handle, protocol=pickle.HIGHEST_PROTOCOL)
        raw = [run_job("raw", path)["seconds"]]
        print(f"  raw implicit ALS {raw[0]:8.2f} s", file=sys.stderr, flush=True)
        default = run_job("default", path)
        print(f"  default          {default['seconds']:8.2f} s", file=sys.stderr, flush=True)
        raw.append(run_job("raw", path)["seconds"])
        print(f"  raw implicit ALS {raw[1]:8.2f} s", file=sys.stderr, flush=True)

    metric = default["metric"]
    print(f"\n{'candidate':<14} {'family':<14} {metric:>11} {'fit s':>7} {'score s':>8}  status")
    for row in default["rows"]:
        score = row.get(metric)
        fit, scored = row.get("fit_seconds"), row.get("evaluate_seconds")
        mark = " *" if row.get("chosen") else ""
        print(f"{row['candidate'] + mark:<14} {row['family']:<14} "
              f"{'-' if score is None else format(score, '.4f'):>11} "
              f"{'-' if fit is None else format(fit, '.2f'):>7} "
              f"{'-' if scored is None else format(scored, '.2f'):>8}  {row['status']}")
    best_raw = min(raw)
    ratio = default["seconds"] / best_raw
    print(f"\nraw implicit ALS fit (defaults, all events): {best_raw:.2f} s "
          f"(best of 2: {raw[0]:.2f}, {raw[1]:.2f})")
    print(f"default (auto) training: {default['seconds']:.2f} s = {ratio:.1f} x the raw ALS fit; "
          f"chose {default['best']}; refit {default['refit']:.2f} s")
    print(f"its own budget: {default['budget']:.2f} s, the larger of {BOUND:.0f} x its reference "
          f"ALS fit on the validation split ({default['reference']:.2f} s) and its floor "
          f"({default['floor']:.0f} s)")
    bound = max(BOUND * best_raw, default["floor"])
    verdict = "OK" if default["seconds"] <= bound else "OVER"
    floor_note = (f"; the {default['floor']:.0f} s floor binds at this size"
                  if default["floor"] > BOUND * best_raw else "")
    print(f"{verdict}: the default's training at {ratio:.1f} x one raw default ALS fit "
          f"(bound {BOUND:.0f} x{floor_note})")
    if verdict == "OVER":
        raise SystemExit(1)


if __name__ == "__main__":
    main()
