"""Sequence-aware models: what a learner needs next, from the order and timing of what they did.

Both are resource-to-resource models in the one embedding space, like EASE: the learner vector
is a time-decayed indicator of the learner's own recent first accesses (their "anchors"), the
resource vector is a column of a resources x resources matrix ``M``, so the inner product is
``sum_j anchor_lj * M[j, r]``.

- :class:`SequenceModel` (``M = T``, first-access transitions): ``T[j, r]`` is, per learner who
  started ``j``, the time-decayed count of learners who started ``r`` within ``horizon_days``
  after ``j`` (``exp(-gap / decay_days)``; pairs started at the very same time, whose order is
  unknown, count both ways with ``same_time_weight``). A course's resources are used largely in
  order, so after A and B the model proposes what usually follows them: learners who always go
  A -> B -> C get C. A first-order Markov chain over first accesses with a decaying window,
  in the spirit of Rendle et al.'s factorised Markov chains (2010) without the factorisation.
  With ``fresh_days`` each column is gated by how much the cohort started ``r`` lately
  (``fresh_floor * max + share started, decayed over fresh_days``): transitions toward what the
  cohort is on now (OULAD rolling nDCG@10 0.50/0.45/0.28 -> 0.60/0.57/0.57).
- :class:`CoAccessModel` (``M = C``, time-decayed co-occurrence): ``C = X^T F`` where row ``m``
  of ``X`` is learner ``m``'s recent first accesses (decayed over ``similarity_days``,
  L2-normalised) and of ``F`` what ``m`` started lately (decayed over ``fresh_days``). Its score
  is the sum over peers of (cosine similarity of recent activity) x (how freshly the peer started
  ``r``): what learners who lately worked on the same resources as you have just started. It
  tracks where a learner stands in the course: a learner two weeks behind resembles the peers
  who were there two weeks ago only through what both did, and gets what those peers do now.

Only the ``top_m`` strongest entries per row of ``M`` are kept. Vectors are ``n_resources`` wide
(fine for course catalogs of hundreds to a few thousand resources); ``rank`` replaces ``M`` by
its truncated SVD (``M ~ (U S^1/2)(V S^1/2)^T``) for large catalogs: the resource vectors become
``V S^1/2`` and a learner's vector their anchors times ``U S^1/2``.

Fold-in recomputes the anchors from a history, so a learner's just-posted events move their list
at once: ``age_days`` (how long before the learner's latest event each resource was last used,
as :class:`recommender.models.cold_start.ColdStart` passes it) decays them; without ages every
resource counts as just used. Fitted learner vectors anchor on first-access ages
(``anchor_on="first_access"``), so folding in a history with first-access ages reproduces them;
``anchor_on="last_use"`` anchors on last-use ages instead, the ages serving's
:class:`~recommender.models.cold_start.ColdStart` passes today. On OULAD's rolling protocol at
development cuts (days 45..195, between the test cuts) first-access anchors score better in
``time_aware`` (nDCG@10 0.533 vs 0.508 on AAA-2013J, 0.600 vs 0.582 on AAA-2014J, 0.493 vs
0.492 on BBB-2013B), so they stay the default.
"""

from __future__ import annotations

from abc import abstractmethod

from typing import Literal, Self

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet
from recommender.models.base import EmbeddingModel, LearnerHistory, Profile
from recommender.models.recency import FirstAccesses, check_positive, first_accesses


# How old a learner's own anchor is: since they first started it, or since they last used it
# (what serving's fold-in passes: recommender.models.cold_start gives last-use ages).
ANCHOR_AGES: tuple[str, ...] = ("first_access", "last_use")


def top_m_per_row(matrix: sp.csr_matrix, m: int) -> sp.csr_matrix:
    """The ``m`` largest entries of each row (ties: lower column first), as CSR."""
    matrix = sp.csr_matrix(matrix)
    matrix.sum_duplicates()
    counts = np.diff(matrix.indptr)
    if counts.size == 0 or counts.max() <= m:
        return matrix
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    order = np.lexsort((matrix.indices, -matrix.data, rows))
    rank = np.arange(len(order)) - matrix.indptr[rows[order]]
    keep = order[rank < m]
    return sp.csr_matrix(
        (matrix.data[keep], (rows[keep], matrix.indices[keep])), shape=matrix.shape
    )


def transition_pairs(
    accesses: FirstAccesses, horizon_days: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(from_resource, to_resource, gap_days)`` for every pair of one learner's first accesses
    with ``0 <= gap <= horizon_days`` (same-time pairs both ways), vectorised over learners."""
    learner = accesses.learner_idx
    if learner.size == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, np.empty(0)
    time = accesses.age_days.max() - accesses.age_days  # days since the oldest first access
    span = float(time.max()) + horizon_days + 1.0
    order = np.lexsort((time, learner))
    key = learner[order] * span + time[order]
    start = np.searchsorted(key, key, side="left")
    stop = np.searchsorted(key, key + horizon_days, side="right")
    length = stop - start
    source = np.repeat(np.arange(len(order)), length)
    offset = np.arange(int(length.sum())) - np.repeat(np.cumsum(length) - length, length)
    target = np.repeat(start, length) + offset
    keep = target != source
    source, target = source[keep], target[keep]
    resource = accesses.resource_idx[order]
    gap = time[order][target] - time[order][source]
    return resource[source], resource[target], gap


class _AnchoredModel(EmbeddingModel):
    """Shared machinery: anchors (decayed recent first accesses) times a resource matrix."""

    anchor_days: float
    top_m: int
    rank: int | None
    anchor_on: str = "first_access"
    normalize_anchors: bool = False

    @property
    def fold_in_ages(self) -> str:  # type: ignore[override]
        """Fold-in ages anchor the way the fit did."""
        return self.anchor_on

    @abstractmethod
    def _resource_matrix(self, accesses: FirstAccesses, features: FeatureSet) -> sp.csr_matrix:
        """The resources x resources matrix whose columns are the resource vectors."""

    def _check_common(self) -> None:
        check_positive("anchor_days", self.anchor_days)
        if isinstance(self.top_m, bool) or not isinstance(self.top_m, (int, np.integer)) or (
            self.top_m < 1
        ):
            raise InvalidParameterError("top_m", self.top_m, "an integer >= 1")
        if self.rank is not None and (
            isinstance(self.rank, bool) or not isinstance(self.rank, (int, np.integer))
            or self.rank < 1
        ):
            raise InvalidParameterError("rank", self.rank, "None or an integer >= 1")

    def _anchors(self, resource_idx: np.ndarray, age_days: np.ndarray, shape: tuple[int, int],
                 learner_idx: np.ndarray) -> sp.csr_matrix:
        weight = np.exp(-np.clip(age_days, 0.0, None) / self.anchor_days)
        anchors = sp.csr_matrix((weight, (learner_idx, resource_idx)), shape=shape)
        anchors.sum_duplicates()
        if self.normalize_anchors:
            norms = np.sqrt(np.asarray(anchors.multiply(anchors).sum(axis=1)).ravel())
            anchors = sp.csr_matrix(sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ anchors)
        return anchors

    def fit(self, features: FeatureSet) -> Self:
        self._check_common()
        accesses = first_accesses(features, getattr(self, "now", None))
        self.now_ = None if accesses.now is None else accesses.now.isoformat()
        n_learners, n_resources = features.shape
        matrix = top_m_per_row(self._resource_matrix(accesses, features), int(self.top_m))
        self.n_links_ = int(matrix.nnz)
        if self.anchor_on not in ANCHOR_AGES:
            raise InvalidParameterError("anchor_on", self.anchor_on, f"one of {list(ANCHOR_AGES)}")
        ages = accesses.age_days if self.anchor_on == "first_access" else accesses.last_age_days
        anchors = self._anchors(
            accesses.resource_idx, ages, (n_learners, n_resources), accesses.learner_idx,
        )
        if self.rank is None:
            self.resource_factors_ = np.ascontiguousarray(matrix.T.toarray(), dtype=np.float32)
            self.learner_factors_ = np.ascontiguousarray(anchors.toarray(), dtype=np.float32)
            return self
        rank = int(min(self.rank, max(min(matrix.shape) - 1, 1)))
        if matrix.nnz == 0:
            left = np.zeros((n_resources, rank))
            right = np.zeros((n_resources, rank))
        else:
            u, s, vt = svds(matrix.astype(np.float64), k=rank, random_state=0)
            root = np.sqrt(s)
            left, right = u * root, vt.T * root
        self.projection_ = np.ascontiguousarray(left, dtype=np.float32)
        self.resource_factors_ = np.ascontiguousarray(right, dtype=np.float32)
        self.learner_factors_ = np.ascontiguousarray(anchors @ self.projection_, dtype=np.float32)
        return self

    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        """Anchors from the history (decayed by the ages the fit anchored on; none given:
        all just used).

        Plain numpy on the history alone (no sparse matrices): this runs on every request
        after a posted event, so it costs microseconds even on a 100k-resource catalog.
        """
        self._check_fitted()
        n_resources = self.resource_factors_.shape[0]
        idx, ages = _history(history.resource_idx, history.confidence,
                             history.age_days(self.anchor_on), n_resources)  # type: ignore[arg-type]
        weight = np.exp(-np.clip(ages, 0.0, None) / self.anchor_days)
        if self.normalize_anchors and weight.size:
            weight /= np.sqrt(np.sum(weight * weight))
        if self.rank is None:
            vector = np.zeros(n_resources, dtype=np.float32)
            vector[idx] = weight
            return vector
        return np.asarray(weight.astype(np.float32) @ self.projection_[idx], dtype=np.float32)


def _history(
    resource_idx: np.ndarray, confidence: np.ndarray | None, age_days: np.ndarray | None,
    n_resources: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Distinct engaged resources of a history and each one's most recent age, validated.

    Duplicates are summed (confidence) and take their youngest age; a resource whose summed
    confidence is not positive (e.g. dismissed) is left out, as in :func:`history_row`.
    """
    resource_idx = np.atleast_1d(np.asarray(resource_idx, dtype=np.int64))
    if resource_idx.size and (resource_idx.min() < 0 or resource_idx.max() >= n_resources):
        raise InvalidParameterError("resource_idx", resource_idx, f"indices in [0, {n_resources})")
    values = {"confidence": confidence, "age_days": age_days}
    arrays = {}
    for name, given in values.items():
        array = np.zeros(len(resource_idx)) if given is None else np.atleast_1d(
            np.asarray(given, dtype=np.float64)
        )
        if array.shape != resource_idx.shape or not np.isfinite(array).all():
            raise InvalidParameterError(
                name, array.shape, f"one finite value per resource_idx {resource_idx.shape}"
            )
        arrays[name] = array
    if confidence is None:
        arrays["confidence"] = np.ones(len(resource_idx))
    unique, inverse = np.unique(resource_idx, return_inverse=True)
    summed = np.bincount(inverse, weights=arrays["confidence"], minlength=len(unique))
    youngest = np.full(len(unique), np.inf)
    np.minimum.at(youngest, inverse, arrays["age_days"])
    keep = summed > 0
    return unique[keep], youngest[keep]


class SequenceModel(_AnchoredModel):
    """First-access transitions: after what you just started, what others started next.

    ``horizon_days`` how far after ``j`` a first access still counts as following it;
    ``decay_days`` the gap's decay; ``same_time_weight`` the weight of pairs started at the
    same timestamp (order unknown, e.g. daily OULAD data); ``anchor_days`` how fast a learner's
    own first accesses stop steering; ``top_m`` transitions kept per resource; ``fresh_days``
    None for plain transitions, else the decay of the freshness gate (``fresh_floor`` its
    floor, a share of the freshest resource's); ``rank`` None for exact ``n_resources``-wide
    vectors, else a truncated SVD; ``now`` the reference time; ``anchor_on`` which age of the
    learner's own resources steers (module docstring).
    """

    def __init__(
        self,
        horizon_days: float = 14.0,
        decay_days: float = 7.0,
        same_time_weight: float = 0.5,
        anchor_days: float = 7.0,
        top_m: int = 100,
        fresh_days: float | None = None,
        fresh_floor: float = 0.01,
        rank: int | None = None,
        now: str | None = None,
        anchor_on: Literal["first_access", "last_use"] = "first_access",
    ) -> None:
        self.anchor_on = anchor_on
        self.horizon_days = horizon_days
        self.decay_days = decay_days
        self.same_time_weight = same_time_weight
        self.anchor_days = anchor_days
        self.top_m = top_m
        self.fresh_days = fresh_days
        self.fresh_floor = fresh_floor
        self.rank = rank
        self.now = now

    def _resource_matrix(self, accesses: FirstAccesses, features: FeatureSet) -> sp.csr_matrix:
        horizon = check_positive("horizon_days", self.horizon_days)
        decay = check_positive("decay_days", self.decay_days)
        same = self.same_time_weight
        if isinstance(same, bool) or not isinstance(same, (int, float)) or same < 0:
            raise InvalidParameterError("same_time_weight", same, "a number >= 0")
        n_resources = features.shape[1]
        source, target, gap = transition_pairs(accesses, horizon)
        weight = np.exp(-gap / decay) * np.where(gap > 0, 1.0, same)
        transitions = sp.csr_matrix(
            (weight, (source, target)), shape=(n_resources, n_resources), dtype=np.float64
        )
        starters = np.bincount(accesses.resource_idx, minlength=n_resources).astype(np.float64)
        matrix = sp.csr_matrix(sp.diags(1.0 / np.maximum(starters, 1.0)) @ transitions)
        if self.fresh_days is None:
            return matrix
        fresh = check_positive("fresh_days", self.fresh_days)
        floor = self.fresh_floor
        if isinstance(floor, bool) or not isinstance(floor, (int, float)) or floor < 0:
            raise InvalidParameterError("fresh_floor", floor, "a number >= 0")
        share = np.bincount(
            accesses.resource_idx, weights=np.exp(-accesses.age_days / fresh),
            minlength=n_resources,
        ) / max(features.shape[0], 1)
        gate = floor * (share.max() if share.size else 0.0) + share
        return sp.csr_matrix(matrix @ sp.diags(gate))


class CoAccessModel(_AnchoredModel):
    """Time-decayed co-occurrence: what learners who lately did what you did have just started.

    ``similarity_days`` decays the first accesses that make two learners alike (and a learner's
    own anchors); ``fresh_days`` decays how recently a peer started a resource; ``top_m`` and
    ``rank`` and ``anchor_on`` as in :class:`SequenceModel`; ``now`` the reference time.
    """

    normalize_anchors = True

    def __init__(
        self,
        similarity_days: float = 14.0,
        fresh_days: float = 7.0,
        top_m: int = 100,
        rank: int | None = None,
        now: str | None = None,
        anchor_on: Literal["first_access", "last_use"] = "first_access",
    ) -> None:
        self.anchor_on = anchor_on
        self.similarity_days = similarity_days
        self.fresh_days = fresh_days
        self.top_m = top_m
        self.rank = rank
        self.now = now

    @property
    def anchor_days(self) -> float:  # the learner side decays like the peers it is compared to
        return self.similarity_days

    def _resource_matrix(self, accesses: FirstAccesses, features: FeatureSet) -> sp.csr_matrix:
        fresh = check_positive("fresh_days", self.fresh_days)
        check_positive("similarity_days", self.similarity_days)
        shape = features.shape
        peers = self._anchors(
            accesses.resource_idx, accesses.age_days, shape, accesses.learner_idx
        )
        started = sp.csr_matrix(
            (np.exp(-accesses.age_days / fresh), (accesses.learner_idx, accesses.resource_idx)),
            shape=shape,
        )
        return sp.csr_matrix(peers.T @ started)
