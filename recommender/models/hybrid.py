"""Hybrid: a weighted concatenation of parts, so its score is a weighted sum of part scores.

``learner = [c_1 * learner_1, ..., c_n * learner_n]`` and ``resource = [resource_1, ...,
resource_n]`` give ``score = sum_i c_i * score_i`` with ``c_i = w_i / s_i``: ``w_i`` the part's
weight (non-negative, summing to 1) and ``s_i`` the part's typical score spread (root mean
square over learners of the standard deviation of their scores across resources), so parts on
different scales (ALS dot products, content cosines, EASE regressions) count as their weights
say. One FAISS inner-product index still serves it. The width is the sum of the parts' widths
(with EASE, ``n_resources`` of it), and a part weighted 0 keeps its (zero) block.

The weights are a parameter. Choosing them on validation data is a search that wraps the
model from outside (:class:`selection.HybridWeightSearch`, the ``GridSearchCV``
shape); ``build_model`` returns that search when a config gives no weights.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
from sklearn.base import clone

from recommender.errors import InvalidParameterError
from recommender.features import FeatureSet
from recommender.models.base import EmbeddingModel, LearnerHistory, ModelPart, Profile
from recommender.models.state import (
    Arrays,
    Params,
    State,
    jsonable,
    known_params,
    model_state,
    nest,
    restore_model,
    unnest,
)

PartSpec = str | tuple[str, EmbeddingModel] | tuple[str, Mapping[str, Any]]
# Parts as a table: part name -> its hyper-parameters (``model`` names the family when the part
# name is not a model name, so one family can be a part twice).
PartTable = Mapping[str, Mapping[str, Any]]
DEFAULT_PARTS: tuple[str, ...] = ("als", "ease", "content")
PART_FAMILY_KEY = "model"


def part_list(parts: Sequence[PartSpec] | PartTable | None) -> list[PartSpec]:
    """The parts as a list in their order: a table becomes ``(name, params)`` pairs."""
    specs = DEFAULT_PARTS if parts is None else parts
    if isinstance(specs, Mapping):
        return [(str(name), params) for name, params in specs.items()]
    if isinstance(specs, str) or not len(specs):
        raise InvalidParameterError(
            "parts", parts, "a non-empty sequence of names, (name, model) or (name, params)"
        )
    return [tuple(spec) if isinstance(spec, list) else spec for spec in specs]


def part_family(name: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The ``MODELS`` name of a ``(name, params)`` part and its hyper-parameters."""
    params = dict(params)
    family = params.pop(PART_FAMILY_KEY, name)
    return str(family), params


def resolve_parts(
    parts: Sequence[PartSpec] | PartTable | None,
) -> list[tuple[str, EmbeddingModel]]:
    """``(name, unfitted estimator)`` pairs: a bare name means that MODELS entry's defaults,
    ``(name, params)`` that entry with those hyper-parameters (a config's checked ones come
    as built estimators from ``selection.build_model``), ``(name, model)`` a clone of it."""
    from recommender.models import MODELS  # the registry imports this module

    allowed = sorted(set(MODELS) - {"hybrid"})
    resolved: list[tuple[str, EmbeddingModel]] = []
    for spec in part_list(parts):
        if isinstance(spec, str):
            if spec not in allowed:
                raise InvalidParameterError("parts", spec, f"one of {allowed}")
            resolved.append((spec, MODELS[spec]()))
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], EmbeddingModel):
            resolved.append((str(spec[0]), clone(spec[1])))
        elif isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[1], Mapping):
            family, params = part_family(str(spec[0]), spec[1])
            if family not in allowed:
                raise InvalidParameterError(f"parts.{spec[0]}", family, f"one of {allowed}")
            try:
                resolved.append((str(spec[0]), MODELS[family](**params)))
            except TypeError as error:
                raise InvalidParameterError(f"parts.{spec[0]}", params, str(error)) from None
        else:
            raise InvalidParameterError(
                "parts", spec, "a model name, a (name, EmbeddingModel) or a (name, params) pair"
            )
    names = [name for name, _ in resolved]
    if len(set(names)) != len(names):
        raise InvalidParameterError("parts", names, "distinct part names")
    return resolved


def check_weights(weights: Sequence[float] | Mapping[str, float], names: list[str]) -> np.ndarray:
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


class HybridModel(EmbeddingModel):
    """Weighted concatenation of part models (see the module docstring).

    ``parts`` are model names from ``MODELS``, ``(name, model)`` pairs (cloned, never fitted
    in place), ``(name, params)`` pairs or a table ``{name: params}`` (each part a full model
    spec with its own hyper-parameters; ``model = "<family>"`` in params when ``name`` is a
    label); default ALS + EASE + content. ``weights`` a sequence in part order or a mapping
    by name (required: a search chooses them, see the module docstring). Fitted, ``parts_``
    holds each part as a :class:`ModelPart` (name, fitted model, weight).
    """

    fold_in_ages = None  # the whole history goes on to the parts, each reading its own ages
    # Parameters an older bundle may carry that moved to the selection layer's searches.
    _moved_params = (
        "validation_fraction", "interaction_weights", "grid_step", "validation_cuts",
        "horizon_days", "window_candidates", "k",
    )

    def __init__(
        self,
        parts: Sequence[PartSpec] | PartTable | None = None,
        weights: Sequence[float] | Mapping[str, float] | None = None,
        scale_sample: int = 500,
        random_state: int = 0,
    ) -> None:
        self.parts = parts
        self.weights = weights
        self.scale_sample = scale_sample
        self.random_state = random_state

    def _part_specs(self) -> Sequence[PartSpec] | PartTable | None:
        """The parts to resolve (subclasses build default parts from their own parameters)."""
        return self.parts

    def fit(self, features: FeatureSet) -> Self:
        resolved = resolve_parts(self._part_specs())
        weights = check_weights(self._given_weights(), [name for name, _ in resolved])
        fitted = [(name, part.fit(features)) for name, part in resolved]
        self.scales_ = np.array([
            score_scale(part, features, self.scale_sample, self.random_state)
            for _, part in fitted
        ])
        self._assemble(fitted, weights)
        return self

    @classmethod
    def from_fitted(
        cls,
        fitted: Sequence[tuple[str, EmbeddingModel]],
        features: FeatureSet,
        weights: Sequence[float] | Mapping[str, float],
        scale_sample: int = 500,
        random_state: int = 0,
    ) -> HybridModel:
        """A hybrid of parts already fitted on ``features``, without refitting them: what a
        selection that fitted the parts as candidates of their own blends. Its ``parts`` are
        the fitted models, so a clone refits fresh copies with the same hyper-parameters."""
        names = [name for name, _ in fitted]
        model = cls(parts=list(fitted), weights=weights, scale_sample=scale_sample,
                    random_state=random_state)
        model.scales_ = np.array([
            score_scale(part, features, scale_sample, random_state) for _, part in fitted
        ])
        model._assemble(list(fitted), check_weights(weights, names))
        return model

    def _given_weights(self) -> Sequence[float] | Mapping[str, float]:
        if self.weights is None:
            raise InvalidParameterError(
                "weights", None,
                "part weights (to choose them on validation data, wrap the model in "
                "the selection layer's search, as build_model does when none are configured)",
            )
        return self.weights

    def _assemble(
        self, fitted: Sequence[tuple[str, EmbeddingModel]], weights: np.ndarray,
        resources: bool = True,
    ) -> None:
        self.weights_ = np.asarray(weights, dtype=np.float64)
        self.parts_ = [ModelPart(name, part, float(w))
                       for (name, part), w in zip(fitted, self.weights_)]
        self.coefficients_ = (self.weights_ / self.scales_).astype(np.float32)
        self.learner_factors_ = np.ascontiguousarray(np.hstack([
            c * part.learner_factors_ for c, (_, part) in zip(self.coefficients_, fitted)
        ]), dtype=np.float32)
        if resources:  # the resource side does not depend on the weights
            self.resource_factors_ = np.ascontiguousarray(
                np.hstack([part.resource_factors_ for _, part in fitted]), dtype=np.float32
            )
            self.__dict__.pop("_resource_index", None)

    @property
    def part_names(self) -> list[str]:
        self._check_fitted()
        return [part.name for part in self.parts_]

    def with_weights(self, weights: Sequence[float] | Mapping[str, float]) -> HybridModel:
        """The same fitted parts under other weights, without refitting anything."""
        self._check_fitted()
        other = copy.copy(self)
        other.weights = weights if isinstance(weights, Mapping) else tuple(map(float, weights))
        fitted = [(part.name, part.model) for part in self.parts_]
        # shares the resource vectors and their index
        other._assemble(fitted, check_weights(weights, self.part_names), resources=False)
        return other

    def state(self) -> State:
        """Weights, scales and each part's state. The parts' vectors are not stored again: a
        part's resource vectors are its block of the hybrid's; its learner vectors (scaled
        into the hybrid's) are not needed to serve and come back empty."""
        self._check_fitted()
        owner = type(self).__name__
        params: Params = {
            "params": {
                name: jsonable(owner, name, value)
                for name, value in self.get_params(deep=False).items()
                if name not in ("parts", "weights")
            },
            "weights_": [float(w) for w in self.weights_],
            "scales_": [float(s) for s in self.scales_],
            "parts": [],
        }
        arrays: Arrays = {
            "learner_factors_": self.learner_factors_, "resource_factors_": self.resource_factors_,
        }
        for i, (name, part, _) in enumerate(self.parts_):
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
            **known_params(cls, params["params"], cls._moved_params),
        )
        model.scales_ = np.asarray(params["scales_"], dtype=np.float64)
        model.weights_ = np.asarray(params["weights_"], dtype=np.float64)
        model.parts_ = [ModelPart(name, part, float(w))
                        for (name, part), w in zip(parts, model.weights_)]
        model.coefficients_ = (model.weights_ / model.scales_).astype(np.float32)
        model.learner_factors_ = arrays["learner_factors_"]
        model.resource_factors_ = resource_factors
        return model

    def fold_in(self, history: LearnerHistory, profile: Profile | None = None) -> np.ndarray:
        """Each part folds in the same history (each reading its own ages); the parts are
        weighted as in training."""
        self._check_fitted()
        return np.concatenate([
            c * part.model.fold_in(history, profile)
            for c, part in zip(self.coefficients_, self.parts_)
        ]).astype(np.float32)
