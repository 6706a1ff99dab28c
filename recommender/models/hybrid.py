"""Hybrid: a weighted concatenation of parts, so its score is a weighted sum of part scores.

``learner = [c_1 * learner_1, ..., c_n * learner_n]`` and ``resource = [resource_1, ...,
resource_n]`` give ``score = sum_i c_i * score_i`` with ``c_i = w_i / s_i``: ``w_i`` the part's
weight (non-negative, summing to 1) and ``s_i`` the part's typical score spread (root mean
square over learners of the standard deviation of their scores across resources), so parts on
different scales (ALS dot products, content cosines, EASE regressions) count as their weights
say. One FAISS inner-product index still serves it. The width is the sum of the parts' widths
(with EASE, ``n_resources`` of it), and a part weighted 0 keeps its (zero) block.

Weights come from a small grid search on a validation split (:func:`choose_hybrid_weights`);
with ``weights=None`` the model runs that search itself inside ``fit``, on the last
``validation_fraction`` of each learner's training events, then refits the parts on all of them.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
import pandas as pd
from sklearn.base import clone

from recommender.evaluation.evaluate import evaluate
from recommender.evaluation.splits import leave_last_fraction
from recommender.errors import InvalidParameterError, NotFittedError
from recommender.features import (
    FeatureSet,
    IdMap,
    InteractionWeights,
    build_exclusion_matrix,
    build_interaction_matrix,
)
from recommender.models.base import EmbeddingModel, HistoryAges, Profile
from recommender.models.cold_start import fold_in
from recommender.models.state import (
    Arrays,
    Params,
    State,
    jsonable,
    model_state,
    nest,
    restore_model,
    unnest,
    weights_from_state,
    weights_state,
)

PartSpec = str | tuple[str, EmbeddingModel]
DEFAULT_PARTS: tuple[str, ...] = ("als", "ease", "content")


def _resolve_parts(parts: Sequence[PartSpec] | None) -> list[tuple[str, EmbeddingModel]]:
    """``(name, unfitted estimator)`` pairs; a bare name means that MODELS entry's defaults."""
    from recommender.models import MODELS  # the registry imports this module

    specs = DEFAULT_PARTS if parts is None else parts
    if isinstance(specs, str) or not len(specs):
        raise InvalidParameterError(
            "parts", parts, "a non-empty sequence of names or (name, model)"
        )
    resolved: list[tuple[str, EmbeddingModel]] = []
    for spec in specs:
        if isinstance(spec, str):
            if spec not in MODELS or spec == "hybrid":
                allowed = sorted(set(MODELS) - {"hybrid"})
                raise InvalidParameterError("parts", spec, f"one of {allowed}")
            resolved.append((spec, MODELS[spec]()))
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], EmbeddingModel):
            resolved.append((str(spec[0]), clone(spec[1])))
        else:
            raise InvalidParameterError(
                "parts", spec, "a model name or a (name, EmbeddingModel) pair"
            )
    names = [name for name, _ in resolved]
    if len(set(names)) != len(names):
        raise InvalidParameterError("parts", names, "distinct part names")
    return resolved


def _check_weights(weights: Sequence[float] | Mapping[str, float], names: list[str]) -> np.ndarray:
    if isinstance(weights, Mapping):
        if set(weights) != set(names):
            raise InvalidParameterError("weights", dict(weights), f"one weight per part {names}")
        weights = [weights[name] for name in names]
    values = np.asarray(list(weights), dtype=np.float64)
    valid = values.shape == (len(names),) and np.isfinite(values).all()
    if not valid or (values < 0).any() or values.sum() <= 0:
        raise InvalidParameterError(
            "weights", list(weights),
            f"{len(names)} non-negative numbers, not all zero, for {names}",
        )
    return values / values.sum()


def score_scale(
    model: EmbeddingModel, features: FeatureSet, sample: int = 500, seed: int = 0
) -> float:
    """Root mean square, over (a sample of) learners with a history, of the standard deviation
    of each learner's scores across resources: one number that puts parts on one scale."""
    counts = np.diff(features.interactions.indptr)
    warm = np.flatnonzero(counts > 0)
    if warm.size == 0:
        warm = np.arange(model.learner_factors_.shape[0])
    if warm.size > sample:
        warm = np.sort(np.random.default_rng(seed).choice(warm, size=sample, replace=False))
    scores = model.learner_factors_[warm] @ model.resource_factors_.T
    spread = float(np.sqrt(np.mean(np.var(scores, axis=1, dtype=np.float64))))
    return spread if spread > 0 else 1.0


def _learner_subset(features: FeatureSet, learner_idx: np.ndarray) -> FeatureSet:
    """The same features restricted to some learners (rows renumbered 0..n-1 in that order)."""
    return FeatureSet(
        learner_map=IdMap("learner", features.learner_map.ids[learner_idx]),
        resource_map=features.resource_map,
        interactions=features.interactions[learner_idx],
        exclusions=features.exclusions[learner_idx],
        learners=features.learners.iloc[learner_idx].reset_index(drop=True),
        resources=features.resources,
        events=features.events,
    )


def _validation_split(
    features: FeatureSet, fraction: float, weights: InteractionWeights | None
) -> tuple[FeatureSet, pd.DataFrame]:

    split = leave_last_fraction(features.events, fraction)
    train = FeatureSet(
        learner_map=features.learner_map,
        resource_map=features.resource_map,
        interactions=build_interaction_matrix(
            split.train, features.learner_map, features.resource_map, weights
        ),
        exclusions=build_exclusion_matrix(split.train, features.learner_map, features.resource_map),
        learners=features.learners,
        resources=features.resources,
        events=split.train,
    )
    return train, split.test


class HybridModel(EmbeddingModel):
    """Weighted concatenation of part models (see the module docstring).

    ``parts`` are model names from ``MODELS`` or ``(name, model)`` pairs (cloned, never fitted
    in place); default ALS + EASE + content. ``weights`` (a sequence in part order or a mapping
    by name) or ``None`` to choose them on a validation split inside ``fit``;
    ``interaction_weights`` must match those the features were built with, for that split.
    """

    fold_in_ages = None  # a HistoryAges goes on to the parts, each reading its own ages

    def __init__(
        self,
        parts: Sequence[PartSpec] | None = None,
        weights: Sequence[float] | Mapping[str, float] | None = None,
        validation_fraction: float = 0.2,
        interaction_weights: InteractionWeights | None = None,
        grid_step: float = 0.25,
        scale_sample: int = 500,
        random_state: int = 0,
    ) -> None:
        self.parts = parts
        self.weights = weights
        self.validation_fraction = validation_fraction
        self.interaction_weights = interaction_weights
        self.grid_step = grid_step
        self.scale_sample = scale_sample
        self.random_state = random_state

    def fit(self, features: FeatureSet) -> Self:
        resolved = _resolve_parts(self.parts)
        names = [name for name, _ in resolved]
        if self.weights is None:
            train, validation = _validation_split(
                features, self.validation_fraction, self.interaction_weights
            )
            search = choose_hybrid_weights(
                resolved, train, validation, grid=weight_grid(len(resolved), self.grid_step),
                seed=self.random_state,
            )
            weights = np.asarray(search.weights)
            self.weight_search_ = search
        else:
            weights = _check_weights(self.weights, names)
        self.parts_ = [(name, part.fit(features)) for name, part in resolved]
        self.scales_ = np.array(
            [score_scale(part, features, self.scale_sample, self.random_state)
             for _, part in self.parts_]
        )
        self.weights_ = weights
        self._assemble()
        return self

    def _assemble(self, resources: bool = True) -> None:
        self.coefficients_ = (self.weights_ / self.scales_).astype(np.float32)
        self.learner_factors_ = np.ascontiguousarray(np.hstack([
            c * part.learner_factors_ for c, (_, part) in zip(self.coefficients_, self.parts_)
        ]), dtype=np.float32)
        if resources:  # the resource side does not depend on the weights
            self.resource_factors_ = np.ascontiguousarray(
                np.hstack([part.resource_factors_ for _, part in self.parts_]), dtype=np.float32
            )
            self.__dict__.pop("_resource_index", None)

    @property
    def part_names(self) -> list[str]:
        self._check_fitted()
        return [name for name, _ in self.parts_]

    def with_weights(self, weights: Sequence[float] | Mapping[str, float]) -> HybridModel:
        """The same fitted parts under other weights, without refitting anything."""
        self._check_fitted()
        other = copy.copy(self)
        other.weights = weights if isinstance(weights, Mapping) else tuple(map(float, weights))
        other.weights_ = _check_weights(weights, self.part_names)
        other._assemble(resources=False)  # shares the resource vectors and their index
        return other

    def state(self) -> State:
        """Weights, scales and each part's state. The parts' vectors are not stored again: a
        part's resource vectors are its block of the hybrid's; its learner vectors (scaled
        into the hybrid's) are not needed to serve and come back empty."""
        self._check_fitted()
        owner = type(self).__name__
        params: Params = {
            "params": {
                name: jsonable(owner, name, value) for name, value in self.get_params().items()
                if name not in ("parts", "interaction_weights", "weights")
            },
            "interaction_weights": weights_state(self.interaction_weights),
            "weights_": [float(w) for w in self.weights_],
            "scales_": [float(s) for s in self.scales_],
            "parts": [],
        }
        arrays: Arrays = {
            "learner_factors_": self.learner_factors_, "resource_factors_": self.resource_factors_,
        }
        for i, (name, part) in enumerate(self.parts_):
            part_params, part_arrays = model_state(part)
            part_arrays.pop("learner_factors_", None)
            part_arrays.pop("resource_factors_", None)
            params["parts"].append({"name": name, "width": int(part.resource_factors_.shape[1]),
                                    "model": part_params})
            arrays.update(nest(f"parts.{i}", part_arrays))
        return params, arrays

    @classmethod
    def from_state(cls, params: Params, arrays: Arrays) -> HybridModel:
        resource_factors = arrays["resource_factors_"]
        parts: list[tuple[str, EmbeddingModel]] = []
        start = 0
        for i, spec in enumerate(params["parts"]):
            width = int(spec["width"])
            part_arrays = unnest(f"parts.{i}", arrays)
            part_arrays["resource_factors_"] = resource_factors[:, start: start + width]
            part_arrays["learner_factors_"] = np.zeros((0, width), dtype=np.float32)
            parts.append((spec["name"], restore_model(spec["model"], part_arrays)))
            start += width
        model = cls(
            parts=[(name, part) for name, part in parts],
            weights=tuple(params["weights_"]),
            interaction_weights=weights_from_state(params["interaction_weights"]),
            **params["params"],
        )
        model.parts_ = parts
        model.weights_ = np.asarray(params["weights_"], dtype=np.float64)
        model.scales_ = np.asarray(params["scales_"], dtype=np.float64)
        model.coefficients_ = (model.weights_ / model.scales_).astype(np.float32)
        model.learner_factors_ = arrays["learner_factors_"]
        model.resource_factors_ = resource_factors
        return model

    def fold_in(
        self,
        resource_idx: np.ndarray,
        confidence: np.ndarray | None = None,
        profile: Profile | None = None,
        age_days: np.ndarray | HistoryAges | None = None,
    ) -> np.ndarray:
        """Each part folds in the same history (each reading its own ages from a
        :class:`HistoryAges`); the parts are weighted as in training."""
        self._check_fitted()
        return np.concatenate([
            c * fold_in(part, resource_idx, confidence, profile, age_days)
            for c, (_, part) in zip(self.coefficients_, self.parts_)
        ]).astype(np.float32)


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


@dataclass(frozen=True)
class WeightSearch:
    """The chosen weights (part order), their validation score and every grid point's metrics."""

    weights: tuple[float, ...]
    score: float
    metric: str
    table: pd.DataFrame


def choose_hybrid_weights(
    parts: Sequence[PartSpec] | HybridModel,
    train: FeatureSet,
    validation_events: pd.DataFrame,
    grid: Sequence[Sequence[float]] | None = None,
    metric: str = "ndcg_at_10",
    k_values: Sequence[int] = (10,),
    max_learners: int | None = 2000,
    seed: int = 0,
) -> WeightSearch:
    """Grid-search the part weights on validation events with :func:`evaluate`.

    ``parts`` are fitted once on ``train`` (or pass an already fitted :class:`HybridModel`);
    each grid point only reweights the learner side, so the search costs one fit per part plus
    one retrieval per grid point over (a seeded sample of ``max_learners``) validation learners.
    """

    if isinstance(parts, HybridModel):
        if not parts.is_fitted:
            raise NotFittedError(parts)
        hybrid = parts
    else:
        resolved = _resolve_parts(parts)
        hybrid = HybridModel(resolved, weights=[1.0] * len(resolved)).fit(train)
    grid = weight_grid(len(hybrid.parts_)) if grid is None else [tuple(map(float, g)) for g in grid]

    # Score only the validation learners: slice their rows once, reweight them per grid point.
    ids = np.sort(np.asarray(validation_events["learner_id"].unique(), dtype=object).astype(str))
    found = train.learner_map.indices_of(ids, strict=False)
    ids, learner_idx = ids[found >= 0], found[found >= 0]
    if max_learners is not None and len(ids) > max_learners:
        pick = np.sort(np.random.default_rng(seed).choice(len(ids), max_learners, replace=False))
        ids, learner_idx = ids[pick], learner_idx[pick]
    subset = _learner_subset(train, learner_idx)
    blocks = [
        part.learner_factors_[learner_idx] / scale
        for (_, part), scale in zip(hybrid.parts_, hybrid.scales_)
    ]
    view = copy.copy(hybrid)  # shares the resource vectors, so one FAISS index serves the grid
    rows = []
    for weights in grid:
        share = _check_weights(weights, hybrid.part_names)
        view.learner_factors_ = np.ascontiguousarray(
            np.hstack([w * block for w, block in zip(share, blocks)]), dtype=np.float32
        )
        metrics = evaluate(view, subset, validation_events, k_values)
        if metrics["n_test_learners"] == 0:
            raise InvalidParameterError(
                "validation_events", len(validation_events),
                "events of learners and resources known to train (none left to validate on)",
            )
        if metric not in metrics:
            raise InvalidParameterError("metric", metric, f"one of {sorted(metrics)}")
        rows.append({**dict(zip(hybrid.part_names, weights)), **metrics})
    table = pd.DataFrame(rows)
    best = int(np.argmax(table[metric].to_numpy()))
    chosen = tuple(float(w) for w in grid[best])
    score = float(table[metric].iloc[best])
    return WeightSearch(weights=chosen, score=score, metric=metric, table=table)
