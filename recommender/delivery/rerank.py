"""Re-ranking a learner's candidate list for diversity and for equal service, one knob each.

Both work on a candidate list (resource_idx with model scores, best first, ``-1`` = empty slot)
that already passed the hard constraints, and both first rescale the scores to [0, 1] within
the list (min-max), so a parameter means the same for every model and every learner.

* **Diversity** (:func:`mmr_rerank`), maximal marginal relevance (Carbonell and Goldstein 1998):
  pick, one at a time, the candidate maximising ``(1 - diversity) * relevance - diversity *
  max cosine to the resources already picked``. ``diversity`` is in [0, 1]: 0 is the model's
  own ranking; raising it **raises intra-list diversity** (category and vector diversity) and
  **lowers accuracy** (ndcg, recall). Measured with ALS on the sample world
  (``experiments/tradeoffs.py``): each 0.1 up to 0.4 costs about 2-3% of ndcg@10 and buys
  about 5 points of category diversity; past 0.5 accuracy falls faster for little more
  diversity.
* **Equal service** (:func:`equal_service_rerank`): adds ``equal_service`` to the relevance of
  resources that serve learners where they are (see :func:`served_by_community`): providers of
  the community types (community schools and colleges, libraries and museums) and offline or
  blended resources in the learner's own region. These are the providers that reach rural, old
  and disabled learners and that a popularity-trained model under-exposes. ``equal_service``
  is in [0, 1]: 0 changes nothing, 1 puts every such candidate above every other one; raising
  it **raises the exposure share of community and local providers** and **narrows the gap
  between learner groups** when the under-served groups are the ones those providers serve
  (it cannot close a gap those providers do not cause). Accuracy holds up to about 0.2 on the
  sample world (community share 0.48 -> 0.70) and falls steadily beyond 0.3.
"""

from __future__ import annotations

import numpy as np

from recommender.checks import check_k as _check_k
from recommender.checks import check_number
from recommender.features.catalog import CatalogArrays
from recommender.errors import InvalidParameterError

COMMUNITY_PROVIDER_TYPES: tuple[str, ...] = (
    "community_school", "community_college", "library_museum",
)


def _check_unit(name: str, value: object) -> float:
    return check_number(name, value, 0.0, 1.0)


def _valid(resource_idx: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    resource_idx = np.asarray(resource_idx, dtype=np.int64).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if resource_idx.shape != scores.shape:
        raise InvalidParameterError(
            "scores", scores.shape, f"one per resource_idx, {resource_idx.shape}"
        )
    keep = (resource_idx >= 0) & np.isfinite(scores)
    return resource_idx[keep], scores[keep]


def relevance(scores: np.ndarray) -> np.ndarray:
    """Scores min-max scaled to [0, 1] within the list (all equal -> all 1)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return scores
    low, high = scores.min(), scores.max()
    if high - low <= 1e-12:
        return np.ones_like(scores)
    return (scores - low) / (high - low)


def _pad(chosen: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    out_idx = np.full(k, -1, dtype=np.int64)
    out_values = np.full(k, -np.inf, dtype=np.float64)
    out_idx[: len(chosen)] = chosen[:k]
    out_values[: len(chosen)] = values[:k]
    return out_idx, out_values


def mmr_rerank(
    resource_idx: np.ndarray,
    scores: np.ndarray,
    resource_vectors: np.ndarray,
    k: int,
    diversity: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` of one candidate list by maximal marginal relevance.

    Returns ``(resource_idx, relevance)`` in pick order (relevance in [0, 1], from ``scores``),
    padded with -1 / -inf when there are fewer than ``k`` candidates. Similarity is the cosine
    of ``resource_vectors`` rows (content or model vectors; zero vectors are similar to nothing).
    """
    k, diversity = _check_k(k), _check_unit("diversity", diversity)
    candidates, scores = _valid(resource_idx, scores)
    rel = relevance(scores)
    if diversity == 0.0 or len(candidates) <= 1:
        order = np.lexsort((candidates, -rel))[:k]
        return _pad(candidates[order], rel[order], k)
    vectors = np.asarray(resource_vectors, dtype=np.float64)[candidates]
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    n = len(candidates)
    picked = np.zeros(n, dtype=bool)
    closest = np.zeros(n)  # max similarity to anything picked so far
    order = np.empty(min(k, n), dtype=np.int64)
    for step in range(len(order)):
        value = (1.0 - diversity) * rel - diversity * closest if step else rel.copy()
        value[picked] = -np.inf
        best = int(np.argmax(value))
        order[step] = best
        picked[best] = True
        similarity = unit @ unit[best]  # one row per pick: k matrix-vector products, not n x n
        closest = similarity if step == 0 else np.maximum(closest, similarity)
    return _pad(candidates[order], rel[order], k)


def served_by_community(
    catalog: CatalogArrays, resource_idx: np.ndarray, learner_region: str | None
) -> np.ndarray:
    """Per candidate: from a community-type provider, or offline/blended in the learner's region."""
    resource_idx = np.asarray(resource_idx, dtype=np.int64)
    safe = np.maximum(resource_idx, 0)
    community = catalog.provider_type.isin(COMMUNITY_PROVIDER_TYPES)[safe]
    code = catalog.region_code(learner_region)
    local = catalog.in_person[safe] & (catalog.region.codes[safe] == code) & (code >= 0)
    return (community | local) & (resource_idx >= 0)


def equal_service_rerank(
    resource_idx: np.ndarray,
    scores: np.ndarray,
    served: np.ndarray,
    k: int,
    equal_service: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` by ``relevance + equal_service * served`` (ties: served first, then resource_idx).

    ``served`` is a boolean per candidate (e.g. :func:`served_by_community`). Returns
    ``(resource_idx, adjusted relevance)``, padded like :func:`mmr_rerank`.
    """
    k, equal_service = _check_k(k), _check_unit("equal_service", equal_service)
    candidates, adjusted, is_served = _adjusted(resource_idx, scores, served, equal_service)
    order = _boosted_order(candidates, adjusted, is_served)[:k]
    return _pad(candidates[order], adjusted[order], k)


def _boosted_order(candidates: np.ndarray, adjusted: np.ndarray, served: np.ndarray) -> np.ndarray:
    """Best adjusted relevance first; a tie goes to the served candidate, then the lower index
    (so at ``equal_service=1`` the worst served candidate still precedes the best other one)."""
    return np.lexsort((candidates, ~served, -np.round(adjusted, 12)))


def _adjusted(
    resource_idx: np.ndarray, scores: np.ndarray, served: np.ndarray | None, equal_service: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    resource_idx = np.asarray(resource_idx, dtype=np.int64).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if served is None:
        served = np.zeros(resource_idx.shape, dtype=bool)
    served = np.asarray(served, dtype=bool).ravel()
    if served.shape != resource_idx.shape:
        raise InvalidParameterError(
            "served", served.shape, f"one per resource_idx, {resource_idx.shape}"
        )
    keep = (resource_idx >= 0) & np.isfinite(scores)
    candidates, scores, served = resource_idx[keep], scores[keep], served[keep]
    return candidates, relevance(scores) + equal_service * served, served


def rerank(
    resource_idx: np.ndarray,
    scores: np.ndarray,
    k: int,
    *,
    resource_vectors: np.ndarray | None = None,
    diversity: float = 0.0,
    served: np.ndarray | None = None,
    equal_service: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Equal-service boost, then MMR on the boosted relevance; both 0 = the model's order."""
    k = _check_k(k)
    diversity = _check_unit("diversity", diversity)
    equal_service = _check_unit("equal_service", equal_service)
    candidates, adjusted, is_served = _adjusted(resource_idx, scores, served, equal_service)
    if diversity > 0.0:
        if resource_vectors is None:
            raise InvalidParameterError("resource_vectors", None, "vectors when diversity > 0")
        return mmr_rerank(candidates, adjusted, resource_vectors, k, diversity)
    order = _boosted_order(candidates, adjusted, is_served)[:k]
    return _pad(candidates[order], adjusted[order], k)


def rerank_many(
    resource_idx: np.ndarray,
    scores: np.ndarray,
    k: int,
    *,
    resource_vectors: np.ndarray | None = None,
    diversity: float = 0.0,
    served: np.ndarray | None = None,
    equal_service: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise :func:`rerank` over (n_learners, n_candidates) arrays; returns (n_learners, k)."""
    resource_idx = np.atleast_2d(resource_idx)
    scores = np.atleast_2d(scores)
    out_idx = np.full((len(resource_idx), k), -1, dtype=np.int64)
    out_values = np.full((len(resource_idx), k), -np.inf)
    for row in range(len(resource_idx)):
        out_idx[row], out_values[row] = rerank(
            resource_idx[row], scores[row], k, resource_vectors=resource_vectors,
            diversity=diversity, served=None if served is None else served[row],
            equal_service=equal_service,
        )
    return out_idx, out_values
