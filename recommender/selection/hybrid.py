"""The hybrid's part weights, chosen on a validation split: a search around :class:`HybridModel`.

The validation split is the last ``validation_fraction`` of each learner's training events
(:func:`recommender.evaluation.splits.leave_last_fraction`); the parts are fitted once on the
rest, each grid point only reweights the learner side, and :func:`evaluate` scores it on (a
seeded sample of) the validation learners. The best weights are refitted on all the events.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recommender.errors import InvalidParameterError
from recommender.evaluation.evaluate import evaluate
from recommender.evaluation.splits import Split, leave_last_fraction
from recommender.features import (
    FeatureSet,
    IdMap,
    InteractionWeights,
    build_exclusion_matrix,
    build_interaction_matrix,
)
from recommender.models.base import EmbeddingModel
from recommender.models.hybrid import HybridModel, check_weights, resolve_parts
from recommender.selection.base import SearchCV

# What scores a model on validation events: evaluate()'s arguments (the last: resources no
# one may be offered, or None), a row of named values.
Scorer = Callable[[EmbeddingModel, FeatureSet, pd.DataFrame, Sequence[int], "np.ndarray | None"],
                  Mapping[str, Any]]


def weight_grid(n_parts: int, step: float = 0.25) -> list[tuple[float, ...]]:
    """Every weight vector on the simplex with the given step (each part 0, step, ..., 1)."""
    if not 0 < step <= 1 or abs(round(1 / step) - 1 / step) > 1e-9:
        raise InvalidParameterError("grid_step", step, "1/n for a whole number n >= 1")
    ticks = int(round(1 / step))
    grid = [
        tuple(c / ticks for c in combo)
        for combo in itertools.product(range(ticks + 1), repeat=n_parts)
        if sum(combo) == ticks
    ]
    return sorted(grid, key=lambda w: (sum(x * x for x in w), w))  # balanced first: they win ties


def learner_subset(features: FeatureSet, learner_idx: np.ndarray) -> FeatureSet:
    """The same features restricted to some learners (rows renumbered 0..n-1 in that order)."""
    return FeatureSet(
        learner_map=IdMap("learner", features.learner_map.ids[learner_idx]),
        resource_map=features.resource_map,
        interactions=features.interactions[learner_idx],
        exclusions=features.exclusions[learner_idx],
        learners=features.learners.iloc[learner_idx].reset_index(drop=True),
        resources=features.resources,
        events=features.events,
        consumption=features.consumption,
    )


def validation_split(
    features: FeatureSet, fraction: float, weights: InteractionWeights | None
) -> tuple[FeatureSet, pd.DataFrame]:
    """Features of each learner's earlier events, and their last ``fraction`` to validate on."""
    return held_out_features(features, leave_last_fraction(features.events, fraction), weights)


def held_out_features(
    features: FeatureSet, split: Split, weights: InteractionWeights | None
) -> tuple[FeatureSet, pd.DataFrame]:
    """Features of ``split``'s train side (a split of ``features.events``; the same id maps),
    and its test events to validate on."""
    train = FeatureSet(
        learner_map=features.learner_map,
        resource_map=features.resource_map,
        interactions=build_interaction_matrix(
            split.train, features.learner_map, features.resource_map, weights
        ),
        exclusions=build_exclusion_matrix(split.train, features.learner_map, features.resource_map,
                                          features.consumption),
        learners=features.learners,
        resources=features.resources,
        events=split.train,
        consumption=features.consumption,
    )
    return train, split.test


def score_weight_grid(
    hybrid: HybridModel,
    train: FeatureSet,
    validation_events: pd.DataFrame,
    grid: Sequence[Sequence[float]],
    metric: str = "ndcg_at_10",
    k_values: Sequence[int] = (10,),
    max_learners: int | None = 2000,
    seed: int = 0,
    scorer: Scorer = evaluate,
    exclude_resources: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per grid point: the part weights and :func:`evaluate`'s metrics of ``hybrid``
    (fitted on ``train``) reweighted so, on the validation learners (a seeded sample of
    ``max_learners``; ``exclude_resources``: the validation's candidate rule). Only the
    validation learners' rows are reweighted, once per point. ``scorer`` replaces
    :func:`evaluate` (same arguments, its metrics and any more columns, e.g.
    :class:`~recommender.selection.equity.GroupObjective`'s)."""
    hybrid._check_fitted()
    names = [part.name for part in hybrid.parts_]
    ids = np.sort(np.asarray(validation_events["learner_id"].unique(), dtype=object).astype(str))
    found = train.learner_map.indices_of(ids, strict=False)
    ids, learner_idx = ids[found >= 0], found[found >= 0]
    if max_learners is not None and len(ids) > max_learners:
        pick = np.sort(np.random.default_rng(seed).choice(len(ids), max_learners, replace=False))
        ids, learner_idx = ids[pick], learner_idx[pick]
    subset = learner_subset(train, learner_idx)
    blocks = [
        part.model.learner_factors_[learner_idx] / scale
        for part, scale in zip(hybrid.parts_, hybrid.scales_)
    ]
    view = copy.copy(hybrid)  # shares the resource vectors, so one FAISS index serves the grid
    rows = []
    for weights in grid:
        share = check_weights(weights, names)
        view.learner_factors_ = np.ascontiguousarray(
            np.hstack([w * block for w, block in zip(share, blocks)]), dtype=np.float32
        )
        metrics = scorer(view, subset, validation_events, k_values, exclude_resources)
        if metrics["n_test_learners"] == 0:
            raise InvalidParameterError(
                "validation_events", len(validation_events),
                "events of learners and resources known to train (none left to validate on)",
            )
        if metric not in metrics:
            raise InvalidParameterError("metric", metric, f"one of {sorted(metrics)}")
        rows.append({**dict(zip(names, map(float, weights))), **metrics})
    return pd.DataFrame(rows)


class HybridWeightSearch(SearchCV):
    """Grid-search a :class:`HybridModel`'s part weights on a validation split.

    ``estimator`` the hybrid (its ``weights`` are what is searched); ``grid_step`` the grid's
    step on the simplex (:func:`weight_grid`), or ``grid`` explicit weight vectors;
    ``validation_fraction`` of each learner's latest training events to validate on;
    ``interaction_weights`` those the features were built with (for that split); ``metric``
    among :func:`evaluate`'s, at ``k_values``, on at most ``max_learners`` validation learners
    (sampled with the estimator's ``random_state``).
    """

    estimator_class = HybridModel

    def __init__(
        self,
        estimator: HybridModel,
        grid_step: float = 0.25,
        grid: Sequence[Sequence[float]] | None = None,
        validation_fraction: float = 0.2,
        interaction_weights: InteractionWeights | None = None,
        metric: str = "ndcg_at_10",
        k_values: Sequence[int] = (10,),
        max_learners: int | None = 2000,
    ) -> None:
        self.estimator = estimator
        self.grid_step = grid_step
        self.grid = grid
        self.validation_fraction = validation_fraction
        self.interaction_weights = interaction_weights
        self.metric = metric
        self.k_values = k_values
        self.max_learners = max_learners

    def _search(self, features: FeatureSet) -> tuple[dict[str, Any], pd.DataFrame, float]:
        train, validation = validation_split(
            features, self.validation_fraction, self.interaction_weights
        )
        resolved = resolve_parts(self.estimator._part_specs())
        # The parts fitted once on the validation split, each weighted 1 (scales as a hybrid's).
        hybrid = HybridModel(parts=resolved, weights=[1.0] * len(resolved)).fit(train)
        grid = (weight_grid(len(hybrid.parts_), self.grid_step) if self.grid is None
                else [tuple(map(float, g)) for g in self.grid])
        table = score_weight_grid(
            hybrid, train, validation, grid, self.metric, self.k_values, self.max_learners,
            seed=self.estimator.random_state,
        )
        best = int(np.argmax(table[self.metric].to_numpy()))
        weights = tuple(float(w) for w in grid[best])
        return {"weights": weights}, table, float(table[self.metric].iloc[best])
