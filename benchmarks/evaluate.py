"""Time the library's nDCG@10 beside a plain dense numpy computation of the same number.

100k learners, a 5k-resource catalog, 10 recommendations and ~5 relevant resources each (some
of them in the list, so there are hits; some lists padded with -1; some learners with nothing
relevant). The reference builds dense boolean relevance in chunks of learners and looks the
recommended slots up in it: the obvious vectorised way, written independently of the library.

Run: ``.venv/bin/python benchmarks/evaluate.py``
"""

from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from recommender.evaluation.metrics import ndcg_at_k

N_LEARNERS = 100_000
N_RESOURCES = 5_000
K = 10
N_RELEVANT = 5
REPEATS = 3


def make_inputs(seed: int = 0) -> tuple[np.ndarray, sp.csr_matrix]:
    """Recommended lists without repeats, and a relevance matrix overlapping them."""
    rng = np.random.default_rng(seed)
    recommended = rng.integers(0, N_RESOURCES, size=(N_LEARNERS, K))
    while True:  # redraw the ~1% of rows that repeat a resource
        ordered = np.sort(recommended, axis=1)
        repeated = (ordered[:, 1:] == ordered[:, :-1]).any(axis=1)
        if not repeated.any():
            break
        recommended[repeated] = rng.integers(0, N_RESOURCES, size=(int(repeated.sum()), K))
    recommended[rng.random(N_LEARNERS) < 0.05, 7:] = -1  # 5% of lists are short
    # Each relevant resource is, with probability 0.3, one of the learner's recommendations.
    slot = rng.integers(0, K, (N_LEARNERS, N_RELEVANT))
    from_list = recommended[np.arange(N_LEARNERS)[:, None], slot]
    random_pick = rng.integers(0, N_RESOURCES, size=(N_LEARNERS, N_RELEVANT))
    use_list = (rng.random((N_LEARNERS, N_RELEVANT)) < 0.3) & (from_list >= 0)
    picked = np.where(use_list, from_list, random_pick)
    rows = np.repeat(np.arange(N_LEARNERS), N_RELEVANT)
    keep = np.repeat(rng.random(N_LEARNERS) >= 0.02, N_RELEVANT)  # 2% have nothing relevant
    relevant = sp.csr_matrix(
        (np.ones(int(keep.sum())), (rows[keep], picked.ravel()[keep])),
        shape=(N_LEARNERS, N_RESOURCES),
    )
    relevant.sum_duplicates()
    relevant.data[:] = 1.0
    return recommended, relevant


def dense_ndcg(
    recommended: np.ndarray, relevant: sp.csr_matrix, k: int, chunk: int = 10_000
) -> np.ndarray:
    """Reference nDCG@k: dense boolean relevance per chunk of learners, gathered at the slots."""
    n, n_resources = relevant.shape
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])
    n_rel = np.diff(relevant.indptr)
    out = np.empty(n)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        dense = np.zeros((stop - start, n_resources), dtype=bool)
        lo, hi = relevant.indptr[start], relevant.indptr[stop]
        dense[np.repeat(np.arange(stop - start), n_rel[start:stop]), relevant.indices[lo:hi]] = True
        top = recommended[start:stop, :k]
        hits = dense[np.arange(stop - start)[:, None], np.maximum(top, 0)] & (top >= 0)
        dcg = hits @ discounts[: top.shape[1]]
        idcg = ideal[np.minimum(n_rel[start:stop], k)]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:stop] = np.where(idcg > 0, dcg / idcg, np.nan)
    return out


def best_time(fn, *args) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    times, result = [], None
    for _ in range(REPEATS):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return min(times), result  # type: ignore[return-value]


def main() -> None:
    recommended, relevant = make_inputs()
    library_s, ours = best_time(ndcg_at_k, recommended, relevant, K)
    dense_s, reference = best_time(dense_ndcg, recommended, relevant, K)
    same_nan = np.array_equal(np.isnan(ours), np.isnan(reference))
    max_diff = float(np.nanmax(np.abs(ours - reference)))
    if not same_nan or max_diff > 1e-9:
        raise SystemExit(f"disagreement: same NaN pattern={same_nan}, max |diff|={max_diff:.3g}")
    per_100k = 100_000 / N_LEARNERS
    print(
        f"nDCG@{K}: {N_LEARNERS:,} learners x {N_RESOURCES:,} resources, "
        f"{relevant.nnz / N_LEARNERS:.2f} relevant each, mean nDCG {np.nanmean(ours):.4f}, "
        f"{int(np.isnan(ours).sum()):,} learners with nothing relevant (NaN); best of {REPEATS}"
    )
    print(f"  library metrics.ndcg_at_k : {library_s * per_100k * 1000:8.1f} ms per 100k learners")
    print(f"  plain dense numpy         : {dense_s * per_100k * 1000:8.1f} ms per 100k learners")
    print(f"  ratio library / dense     : {library_s / dense_s:8.2f}x")
    print(f"  agree: max |diff| = {max_diff:.2e} (<= 1e-9), same NaN learners")


if __name__ == "__main__":
    main()
