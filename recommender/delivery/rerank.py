"""Re-ranking a learner's candidate list: diversity, equal service and calibration, one knob each.

All three work on a candidate list (resource_idx with model scores, best first, ``-1`` = empty
slot) that already passed the hard constraints, so every candidate is a resource the learner can
reach; each first rescales the scores to [0, 1] within the list (min-max), so a parameter means
the same for every model and every learner. :func:`rerank` runs them as one greedy pick, and a
list is never shorter than ``min(k, candidates)``.

* **Diversity** (:func:`mmr_rerank`), maximal marginal relevance (Carbonell and Goldstein 1998):
  pick, one at a time, the candidate maximising ``(1 - diversity) * relevance - diversity *
  max cosine to the resources already picked``. 0 is the model's own ranking; raising it raises
  intra-list diversity and lowers accuracy.
* **Equal service** (:func:`exposure_rerank`), an exposure constraint (after Singh and Joachims
  2018, "Fairness of exposure in rankings"): resources that serve the learner where they are
  (:func:`local_resources`: offline and blended resources in or next to the learner's region)
  get a target share of the ``k`` slots, and so do the others: at ``equal_service = 1`` the
  count of served slots is ``round(k * share)`` (floor and ceiling of the target); lower values
  loosen both bounds towards the model's own list (0 = no constraint); the most relevant of each
  side fill its slots, listed by relevance. The delivery core sets the share to the local
  resources' share of everything the learner can reach (and adds the learner's best local ones
  to the candidates); without it, their :func:`fair_share` of the list's relevance. It replaces
  a flat score boost, which raised community providers' share well past their relevance while
  leaving the group gap where it was.
* **Calibration** (:func:`calibrated_rerank`), Steck 2018 ("Calibrated recommendations"): the
  list's category mix follows the mix of the learner's own history (``interest_mix``): each pick
  maximises ``(1 - calibration) * relevance - calibration * KL(interest_mix || list mix)``, the
  list mix smoothed with 1% of the interest mix so the divergence stays finite.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from recommender.checks import check_k as _check_k
from recommender.checks import check_number
from recommender.features.catalog import CatalogArrays
from recommender.errors import InvalidParameterError

# The shipped defaults of the equity knobs (the serving settings start from them), chosen by
# the stated rule of experiments/tradeoffs.py on its trade-off curves of the shipped default
# model on the sample world before commit 95134b4 (results/tradeoffs_sample_auto_before_95134b4.md);
# on today's world the rule picks 0.5 / 0.25 by a gap difference inside the noise, not shipped
# (experiments/README.md, "The list knobs on the default model").
DEFAULT_EQUAL_SERVICE = 0.9
DEFAULT_CALIBRATION = 0.0


def _check_unit(name: str, value: object) -> float:
    return check_number(name, value, 0.0, 1.0)


@dataclass(frozen=True)
class ListPolicy:
    """How served lists are re-ranked: the one pair of knobs every front end that delivers to
    learners passes (the API from its settings, ``recommender deliver``, the pyfunc model and
    the console), so that each serves the list the others do. Evaluation of a model's own
    ranking asks for :data:`PLAIN` instead."""

    equal_service: float = DEFAULT_EQUAL_SERVICE
    calibration: float = DEFAULT_CALIBRATION

    def __post_init__(self) -> None:
        object.__setattr__(self, "equal_service", _check_unit("equal_service", self.equal_service))
        object.__setattr__(self, "calibration", _check_unit("calibration", self.calibration))


PLAIN = ListPolicy(equal_service=0.0, calibration=0.0)  # the model's own ranking

COMMUNITY_PROVIDER_TYPES: tuple[str, ...] = (
    "community_school", "community_college", "library_museum",
)


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
    return rerank(resource_idx, scores, k, resource_vectors=resource_vectors, diversity=diversity)


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




def local_resources(
    catalog: CatalogArrays, resource_idx: np.ndarray, learner_region: str | None
) -> np.ndarray:
    """Per candidate: offline or blended and held in or next to the learner's region (the
    community schools, colleges and centres a learner can walk into); none when the region is
    unknown. Equal service's protected set: the resources a national online catalog crowds out."""
    resource_idx = np.asarray(resource_idx, dtype=np.int64)
    safe = np.maximum(resource_idx, 0)
    code = catalog.region_code(learner_region)
    if code < 0:
        return np.zeros(resource_idx.shape, dtype=bool)
    near = np.append(catalog.near[code], False)[catalog.region.codes[safe]]
    return catalog.in_person[safe] & near & (resource_idx >= 0)


def fair_share(relevance_in_list: np.ndarray, served: np.ndarray) -> float:
    """The served candidates' share of the list's relevance (min-max relevance; all 0 -> their
    share of the candidates): the share of slots :func:`exposure_rerank` gives them."""
    rel = np.asarray(relevance_in_list, dtype=np.float64)
    served = np.asarray(served, dtype=bool)
    if rel.size == 0:
        return 0.0
    total = rel.sum()
    return float(rel[served].sum() / total) if total > 0 else float(served.mean())


def exposure_bounds(k: int, share: float, equal_service: float) -> tuple[int, int]:
    """(fewest, most) served slots among ``k``: ``round(k * share)`` both ways at
    ``equal_service = 1``, loosened linearly to (0, k) at 0."""
    target = k * share
    low = int(np.floor(equal_service * target + 0.5))
    high = k - int(np.floor(equal_service * (k - target) + 0.5))
    return low, max(low, high)


def category_mix(categories: np.ndarray, n_categories: int) -> np.ndarray | None:
    """The category distribution of a history (codes >= 0); None when there is none."""
    codes = np.asarray(categories, dtype=np.int64)
    codes = codes[codes >= 0]
    if codes.size == 0:
        return None
    counts = np.bincount(codes, minlength=n_categories).astype(np.float64)
    return counts / counts.sum()


def exposure_rerank(
    resource_idx: np.ndarray,
    scores: np.ndarray,
    served: np.ndarray,
    k: int,
    equal_service: float,
    target_share: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` with the served candidates' slot count held to ``target_share`` (default:
    their :func:`fair_share` of this list) by :func:`exposure_bounds`, best relevance first.

    Returns ``(resource_idx, relevance)``, padded like :func:`mmr_rerank`; never fewer than
    ``min(k, candidates)`` items (a side that runs out leaves its slots to the other).
    """
    return rerank(resource_idx, scores, k, served=served, equal_service=equal_service,
                  target_share=target_share)


def calibrated_rerank(
    resource_idx: np.ndarray,
    scores: np.ndarray,
    categories: np.ndarray,
    mix: np.ndarray,
    k: int,
    calibration: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` whose category mix follows ``mix`` (Steck 2018); ``categories`` holds a code
    per candidate (``-1``: none), ``mix`` a distribution over the codes."""
    return rerank(resource_idx, scores, k, categories=categories, interest_mix=mix,
                  calibration=calibration)


_SMOOTHING = 0.01  # Steck's alpha: the list mix is (1 - a) * list + a * interests


def _kl_if_added(mix: np.ndarray, counts: np.ndarray, n_picked: int) -> np.ndarray:
    """KL(mix || smoothed list mix) were one more item of each category added (one per code)."""
    after = (counts[None, :] + np.eye(len(counts))) / (n_picked + 1)
    smoothed = (1.0 - _SMOOTHING) * after + _SMOOTHING * mix[None, :]
    support = mix > 0
    return (mix[support] * np.log(mix[support] / smoothed[:, support])).sum(axis=1)


def rerank(
    resource_idx: np.ndarray,
    scores: np.ndarray,
    k: int,
    *,
    resource_vectors: np.ndarray | None = None,
    diversity: float = 0.0,
    served: np.ndarray | None = None,
    equal_service: float = 0.0,
    target_share: float | None = None,
    categories: np.ndarray | None = None,
    interest_mix: np.ndarray | None = None,
    calibration: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Every knob in one greedy pick; all 0 = the model's order (ties: lower resource_idx).

    Each step takes the candidate with the best ``(1 - calibration) * ((1 - diversity) *
    relevance - diversity * max cosine to the picked) - calibration * KL(interest mix || list
    mix)`` among those the exposure bounds still allow (served ones when the served minimum
    needs every slot left; other ones once the served maximum is reached). The bounds hold the
    served slots to ``target_share`` (the caller's: e.g. the served resources' relevance share
    among everything the learner can reach), by default their :func:`fair_share` of this list. Without diversity
    and calibration the chosen set is listed by relevance. Returns ``(resource_idx,
    relevance)`` padded with -1 / -inf to ``k``.
    """
    k = _check_k(k)
    diversity = _check_unit("diversity", diversity)
    equal_service = _check_unit("equal_service", equal_service)
    calibration = _check_unit("calibration", calibration)
    raw_idx = np.asarray(resource_idx, dtype=np.int64).ravel()
    keep = (raw_idx >= 0) & np.isfinite(np.asarray(scores, dtype=np.float64).ravel())
    candidates, values = _valid(resource_idx, scores)
    rel = relevance(values)
    n = len(candidates)
    is_served = _per_candidate("served", served, raw_idx, keep, bool)
    codes = _per_candidate("categories", categories, raw_idx, keep, np.int64)
    if diversity > 0.0 and resource_vectors is None:
        raise InvalidParameterError("resource_vectors", None, "vectors when diversity > 0")
    calibrate = calibration > 0.0 and interest_mix is not None and codes is not None
    constrain = equal_service > 0.0 and is_served is not None
    if n == 0 or not (diversity > 0.0 or calibrate or constrain):
        order = np.lexsort((candidates, -rel))[:k]
        return _pad(candidates[order], rel[order], k)
    length = min(k, n)
    if constrain:
        share = fair_share(rel, is_served) if target_share is None else check_number(
            "target_share", target_share, 0.0, 1.0)
        low, high = exposure_bounds(length, share, equal_service)
    else:
        low, high = 0, length
    unit = None
    if diversity > 0.0:
        vectors = np.asarray(resource_vectors, dtype=np.float64)[candidates]
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit = np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)
    if calibrate:
        mix = np.asarray(interest_mix, dtype=np.float64)
        safe_codes = np.where(codes >= 0, codes, len(mix))  # no category: its own code
        mix = np.append(mix, 0.0)
        counts = np.zeros(len(mix))
    picked = np.zeros(n, dtype=bool)
    closest = np.zeros(n)
    order = np.empty(length, dtype=np.int64)
    n_served = 0
    for step in range(length):
        value = (1.0 - diversity) * rel - diversity * closest if step else rel.copy()
        if calibrate:
            value = (1.0 - calibration) * value - calibration * _kl_if_added(
                mix, counts, step)[safe_codes]
        value[picked] = -np.inf
        if constrain:
            if low - n_served >= length - step and (is_served & ~picked).any():
                value[~is_served] = -np.inf
            elif n_served >= high and (~is_served & ~picked).any():
                value[is_served] = -np.inf
        best = int(np.argmax(value))
        order[step] = best
        picked[best] = True
        n_served += int(constrain and is_served[best])
        if calibrate:
            counts[safe_codes[best]] += 1
        if unit is not None:
            similarity = unit @ unit[best]  # one row per pick: k matrix-vector products
            closest = similarity if step == 0 else np.maximum(closest, similarity)
    if unit is None and not calibrate:
        order = order[np.lexsort((candidates[order], -rel[order]))]
    return _pad(candidates[order], rel[order], k)


def _per_candidate(
    name: str, values: np.ndarray | None, raw_idx: np.ndarray, keep: np.ndarray, dtype: type
) -> np.ndarray | None:
    """A per-slot array of the raw list, checked and cut to the kept candidates."""
    if values is None:
        return None
    values = np.asarray(values, dtype=dtype).ravel()
    if values.shape != raw_idx.shape:
        raise InvalidParameterError(name, values.shape, f"one per resource_idx, {raw_idx.shape}")
    return values[keep]


def rerank_many(
    resource_idx: np.ndarray,
    scores: np.ndarray,
    k: int,
    *,
    resource_vectors: np.ndarray | None = None,
    diversity: float = 0.0,
    served: np.ndarray | None = None,
    equal_service: float = 0.0,
    target_share: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise :func:`rerank` over (n_learners, n_candidates) arrays (``target_share``: one
    per row, or None); returns (n_learners, k)."""
    resource_idx = np.atleast_2d(resource_idx)
    scores = np.atleast_2d(scores)
    out_idx = np.full((len(resource_idx), k), -1, dtype=np.int64)
    out_values = np.full((len(resource_idx), k), -np.inf)
    for row in range(len(resource_idx)):
        out_idx[row], out_values[row] = rerank(
            resource_idx[row], scores[row], k, resource_vectors=resource_vectors,
            diversity=diversity, served=None if served is None else served[row],
            equal_service=equal_service,
            target_share=None if target_share is None else float(target_share[row]),
        )
    return out_idx, out_values
