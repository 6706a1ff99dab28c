"""The default model: a family and its main hyper-parameters chosen on a validation split, within
a time budget measured against one default ALS fit.

:class:`FamilySearch` fits each candidate of :data:`CANDIDATES` (EASE, RP3beta, ALS, BPR, the
sequence models, content, popularity, each with a few settings) once on the train side of a
validation split of the events, scores it with :func:`evaluate` on (a seeded sample of) the
validation learners, then blends the best candidates of the strongest
families as a hybrid without refitting them (:func:`score_weight_grid` over the already fitted
parts). The best of all is refitted on every event, as a ``GridSearchCV`` refits its best.

The objective: the validation ``metric``'s mean, or with ``worst_weight`` > 0
:func:`~recommender.selection.equity.group_objective`, ``(1 - worst_weight) * mean +
worst_weight * worst group mean`` over ``group_attributes`` (the group-aware search's
objective, :class:`~recommender.selection.equity.GroupObjective`), for the candidates and the
blend's weights alike; ``cv_results_`` reports each one's worst group either way.

The budget: the first candidate is a default ALS fit, whose seconds are the reference; the whole
``fit`` (search and refit) may take ``budget_factor`` times that, or ``min_budget_seconds`` when
that is more. The floor is for small data: where an ALS fit takes a fifth of a second, ten of
them cannot even score the candidates (each one's scoring on the validation learners costs about
an ALS fit there), so the choice would depend on the machine's load of the moment and stop
after two or three families. Twenty seconds score every candidate on the five data sets of
experiments/README.md (3-10 s each); from about a million events (an ALS fit of 2.5 s on an idle
2-core machine) the factor binds (``benchmarks/default_training.py``). Before each candidate the
search predicts its cost (the same family's last fit and scoring, else the reference) and the
refit of the best so far; a candidate that would not fit in what is left is skipped, and says so
in ``cv_results_``. ``budget_seconds_``, ``reference_seconds_`` and ``fit_seconds_`` report it.
Scoring content-mapped vectors (``cold_resources``) needs one content reader fitted on the
validation split, a fixed cost of validating as the task is scored (seconds on MARS's catalog,
where an ALS fit takes one): its seconds, ``content_reader_seconds_``, are added to the budget
and counted in ``fit_seconds_``.

The validation split: ``validation``, a configured split (a ``[split]`` hold-out section of
:mod:`recommender.spec`, e.g. the task's own protocol replayed inside the training events, as
``experiment run`` and ``train`` hand it), applied to the events being fitted, with its test
filters and candidate rule; without one, the last ``validation_fraction`` of each learner's
events (the hybrid search's :func:`recommender.selection.hybrid.validation_split`).
``validation_name_`` says which was used.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Self, get_args

import numpy as np
import pandas as pd
from sklearn.base import clone

from recommender.callable_params import accepted_params
from recommender.errors import InvalidParameterError, RecommenderError
from recommender.evaluation.report_metrics import candidate_exclusions
from recommender.evaluation.splits import SplitSpec
from recommender.features import FeatureSet, InteractionWeights
from recommender.models import MODELS, ContentModel, HybridModel
from recommender.models.base import EmbeddingModel
from recommender.models.cold_start import map_cold_resources
from recommender.selection.base import SearchCV
from recommender.selection.equity import GroupObjective
from recommender.selection.hybrid import (
    held_out_features,
    learner_subset,
    score_weight_grid,
    validation_split,
    weight_grid,
)

AUTO = "auto"  # the [model] name that asks for this search (and the default of a train config)
REFERENCE = "als"  # the candidate whose fit is the budget's unit: implicit ALS, defaults
# Resource-to-resource models hold n_resources^2 floats for the resources and
# n_learners x n_resources for the learners; above these they are skipped (and say so).
MAX_DENSE_RESOURCES = 8000
MAX_DENSE_CELLS = 400_000_000  # learner vectors of 1.6 GB in float32
DENSE_FAMILIES = frozenset({"ease", "rp3beta"})

# label -> (MODELS family, hyper-parameters); tried in this order (cheap and often strong first,
# so a tight budget still sees them). Not a candidate, by measurement: ALS tuned as Rendle et
# al. 2021 advise ("Revisiting the performance of iALS...", as far as implicit's solver allows:
# 128 factors, ridge 1, alpha 10). On the five data sets of experiments/README.md it was never
# the best single model on the test, lost to default ALS on three, and on Canvas Network a
# validation that could not tell it from EASE lambda 20000 (+0.0002, paired SE 0.0004) chose it
# at 20% below EASE on the test.
CANDIDATES: dict[str, tuple[str, dict[str, Any]]] = {
    "als": ("als", {}),
    "popularity": ("popularity", {}),
    "ease": ("ease", {}),
    "rp3beta": ("rp3beta", {}),
    "content": ("content", {}),
    "sequence": ("sequence", {}),
    "co_occurrence": ("co_occurrence", {}),
    "ease_l1000": ("ease", {"regularization": 1000.0}),
    "bpr": ("bpr", {}),
    "ease_l50": ("ease", {"regularization": 50.0}),
    "ease_l5000": ("ease", {"regularization": 5000.0}),
    # Sparse enrolment logs want a far stronger ridge: on Canvas Network's new enrolments the
    # test ndcg@10 rises from 0.111 at 5000 to 0.114 at 10,000-20,000 (0.113 at 50,000).
    "ease_l20000": ("ease", {"regularization": 20000.0}),
    "rp3beta_b0": ("rp3beta", {"beta": 0.0}),
}
HYBRID = "hybrid"  # the label of the blend row
# How validation scores resources without interactions in its train side: as each candidate
# fitted them, or mapped from their content as serving maps a new resource.
ColdResources = Literal["as_fitted", "content_mapping"]  # a config's choice (experiment, train)
COLD_RESOURCES: tuple[str, ...] = get_args(ColdResources)
OBJECTIVE = "objective"  # the column a candidate is chosen by (the mean when worst_weight is 0)
GROUP_COLUMNS = ("worst_group", "worst_attribute", "worst_group_mean", "relative_gap", OBJECTIVE)


class FamilySearch(SearchCV):
    """Choose a model family and its hyper-parameters on validation data (module docstring).

    ``candidates`` labels of :data:`CANDIDATES` to try (default: all, in that order; ALS is
    always first, as the budget's unit); ``budget_factor`` the whole fit's bound in default ALS
    fits, ``min_budget_seconds`` the bound when that is less (see the module docstring);
    ``hybrid_parts`` how many of the best families to blend (0: no hybrid) on a weight
    grid of ``grid_step``; ``validation`` the split to validate on (a configured split; None:
    ``validation_fraction`` of each learner's latest events), ``metric`` at ``k_values`` on at
    most ``max_learners`` of them (sampled with ``random_state``, which also seeds every
    candidate that takes one); ``worst_weight`` in [0, 1] how much the worst of the
    ``group_attributes`` groups (of at least ``min_group_size`` validation learners) counts
    beside the mean (0: the mean alone); ``cold_resources`` ``"content_mapping"`` scores
    resources without validation-train interactions with their content-mapped vectors.
    """

    estimator_class = EmbeddingModel

    def __init__(
        self,
        candidates: Sequence[str] | None = None,
        budget_factor: float = 10.0,
        min_budget_seconds: float = 20.0,
        hybrid_parts: int = 3,
        grid_step: float = 0.5,
        validation_fraction: float = 0.2,
        interaction_weights: InteractionWeights | None = None,
        metric: str = "ndcg_at_10",
        k_values: Sequence[int] = (10,),
        max_learners: int | None = 1000,
        random_state: int = 0,
        worst_weight: float = 0.0,
        group_attributes: Sequence[str] = ("group",),
        min_group_size: int = 20,
        validation: SplitSpec | None = None,
        cold_resources: str = "as_fitted",
    ) -> None:
        self.candidates = candidates
        self.budget_factor = budget_factor
        self.min_budget_seconds = min_budget_seconds
        self.hybrid_parts = hybrid_parts
        self.grid_step = grid_step
        self.validation_fraction = validation_fraction
        self.interaction_weights = interaction_weights
        self.metric = metric
        self.k_values = k_values
        self.max_learners = max_learners
        self.random_state = random_state
        self.worst_weight = worst_weight
        self.group_attributes = group_attributes
        self.min_group_size = min_group_size
        self.validation = validation
        self.cold_resources = cold_resources

    # --- what is tried ---------------------------------------------------------------------

    def _labels(self) -> list[str]:
        labels = list(CANDIDATES) if self.candidates is None else list(self.candidates)
        unknown = [label for label in labels if label not in CANDIDATES]
        if unknown or not labels:
            raise InvalidParameterError("candidates", self.candidates,
                                        f"labels among {list(CANDIDATES)}")
        return [REFERENCE, *[label for label in dict.fromkeys(labels) if label != REFERENCE]]

    def _build(self, family: str, params: Mapping[str, Any]) -> EmbeddingModel:
        cls = MODELS[family]
        kwargs = dict(params)
        if "random_state" in accepted_params(cls):
            kwargs.setdefault("random_state", self.random_state)
        return cls(**kwargs)

    # --- the search --------------------------------------------------------------------------

    def fit(self, features: FeatureSet) -> Self:
        started = time.perf_counter()
        if not (isinstance(self.budget_factor, (int, float)) and self.budget_factor > 0):
            raise InvalidParameterError("budget_factor", self.budget_factor, "a number > 0")
        if (isinstance(self.min_budget_seconds, bool)
                or not isinstance(self.min_budget_seconds, (int, float))
                or not self.min_budget_seconds >= 0):
            raise InvalidParameterError("min_budget_seconds", self.min_budget_seconds,
                                        "a number of seconds >= 0")
        labels = self._labels()
        if self.cold_resources not in COLD_RESOURCES:
            raise InvalidParameterError("cold_resources", self.cold_resources,
                                        f"one of {list(COLD_RESOURCES)}")
        objective = GroupObjective(self.metric, tuple(self.group_attributes), self.worst_weight,
                                   self.min_group_size)
        objective.check(features.learners)
        train, validation, exclude = self._validation_split(features)
        view = _ValidationView(train, validation, self.max_learners, self.random_state, exclude,
                               "validation_fraction" if self.validation is None else "validation")
        # One content reader maps every candidate's new resources: a cost of the validation,
        # fitted before the reference fit so no candidate's predicted cost carries it.
        self._content, self._cold_content, self.content_reader_seconds_ = None, None, 0.0
        if self.cold_resources == "content_mapping":
            reader_started = time.perf_counter()
            self._content = ContentModel().fit_encoders(train)
            seen = np.asarray((train.interactions != 0).sum(axis=0)).ravel() > 0
            if not seen.all():  # their content encoded once, for every candidate's mapping
                self._cold_content = self._content.encoder_.transform(
                    train.resources.iloc[np.flatnonzero(~seen)])
            self.content_reader_seconds_ = time.perf_counter() - reader_started
        train_share = max(train.interactions.nnz, 1) / max(features.interactions.nnz, 1)
        rows: list[dict[str, Any]] = []
        fitted: dict[str, tuple[EmbeddingModel, float]] = {}  # label -> (model, score)
        cost: dict[str, float] = {}  # family -> seconds of its last fit and scoring
        refit: dict[str, float] = {}  # label -> predicted seconds of a refit on every event
        scoring: dict[str, float] = {}  # label -> seconds its validation scoring took
        self.reference_seconds_ = 0.0
        self.budget_seconds_ = float("inf")
        self.min_budget_seconds_ = float(self.min_budget_seconds)
        for label in labels:
            family, params = CANDIDATES[label]
            row: dict[str, Any] = {"candidate": label, "family": family,
                                   "params": json.dumps(params, sort_keys=True)}
            rows.append(row)
            n_learners, n_resources = features.shape
            if family in DENSE_FAMILIES and (n_resources > MAX_DENSE_RESOURCES
                                             or n_learners * n_resources > MAX_DENSE_CELLS):
                row["status"] = (f"skipped: {n_learners} x {n_resources} is too large for "
                                 f"dense vectors (at most {MAX_DENSE_RESOURCES} resources, "
                                 f"{MAX_DENSE_CELLS:,} cells)")
                continue
            predicted = cost.get(family, self.reference_seconds_)
            if label != REFERENCE and not self._fits(started, predicted, fitted, refit, scoring):
                row["status"] = f"skipped: time budget (predicted {predicted:.2f} s)"
                continue
            fit_started = time.perf_counter()
            try:
                model = self._build(family, params).fit(train)
            except RecommenderError as error:
                row["status"] = f"failed: {error}"
                continue
            row["fit_seconds"] = time.perf_counter() - fit_started
            if label == REFERENCE:
                self.reference_seconds_ = row["fit_seconds"]
                self.budget_seconds_ = (max(self.budget_factor * self.reference_seconds_,
                                            self.min_budget_seconds)
                                        + self.content_reader_seconds_)
            score_started = time.perf_counter()
            model = self._as_served(model, train)
            mapped = time.perf_counter()
            scores = view.score(model, objective, self.k_values)
            row["evaluate_seconds"] = time.perf_counter() - score_started
            row.update(scores)
            score = scores[OBJECTIVE]
            row["status"] = "scored"
            cost[family] = row["fit_seconds"] + row["evaluate_seconds"]
            refit[label] = row["fit_seconds"] / train_share
            scoring[label] = time.perf_counter() - mapped  # a blend scores mapped parts
            fitted[label] = (model, score)
            self._keep_best_of_family(fitted, family)
        if self.hybrid_parts >= 2:
            rows.append(self._blend(started, view, train, fitted, refit, scoring, objective))
            hybrid_row = rows[-1]
            if hybrid_row["status"] == "scored":
                fitted[HYBRID] = (hybrid_row.pop("_model"), hybrid_row[OBJECTIVE])
        if not fitted:
            raise InvalidParameterError("candidates", labels, "at least one candidate that fits")
        order = {row["candidate"]: i for i, row in enumerate(rows)}
        best = max(fitted, key=lambda label: (fitted[label][1], -order[label]))  # first on ties
        for row in rows:
            row["chosen"] = row["candidate"] == best
        self.cv_results_ = pd.DataFrame(rows)
        self.best_score_ = float(fitted[best][1])
        refit_started = time.perf_counter()
        self.best_estimator_ = self._refit(best, fitted[best][0], features)
        self.__dict__.pop("_resource_index", None)
        self.__dict__.pop("_content", None)
        self.__dict__.pop("_cold_content", None)
        self.refit_seconds_ = time.perf_counter() - refit_started
        self.best_params_ = {"candidate": best, **self._described(best, self.best_estimator_)}
        self.fit_seconds_ = time.perf_counter() - started
        self.within_budget_ = bool(self.fit_seconds_ <= self.budget_seconds_)
        return self

    def _validation_split(
        self, features: FeatureSet
    ) -> tuple[FeatureSet, pd.DataFrame, np.ndarray | None]:
        """Train-side features, validation events and the resources no validation learner
        may be offered (the split's candidate rule; None: every resource)."""
        if self.validation is None:
            self.validation_name_ = f"leave_last_fraction({self.validation_fraction:g})"
            train, events = validation_split(features, self.validation_fraction,
                                             self.interaction_weights)
            return train, events, None
        split = self.validation.build(features.events)
        self.validation_name_ = split.name
        train, events = held_out_features(features, split, self.interaction_weights)
        exclude = candidate_exclusions(train, self.validation.candidates,  # type: ignore[arg-type]
                                       window=self.validation.test_window(split),
                                       active_days=self.validation.active_days)
        return train, events, exclude

    def _as_served(self, model: EmbeddingModel, train: FeatureSet) -> EmbeddingModel:
        """With ``cold_resources = "content_mapping"``, resources without validation-train
        interactions get the vectors a bundle would serve them (their content, mapped), as an
        experiment scores its test with that setting; else the model as fitted."""
        if self.cold_resources == "content_mapping":
            model, _ = map_cold_resources(model, train, self.interaction_weights, self._content,
                                          self._cold_content)
        return model

    @staticmethod
    def _keep_best_of_family(fitted: dict[str, tuple[EmbeddingModel, float]],
                             family: str) -> None:
        """Only each family's best model stays in memory (the earlier on ties): the blend
        takes one per family and the winner is the best of its own (an EASE or RP3beta model
        holds n_learners x n_resources floats)."""
        same = [label for label in fitted if CANDIDATES[label][0] == family]
        keep = max(same, key=lambda label: (fitted[label][1], -same.index(label)))
        for label in same:
            if label != keep:
                del fitted[label]

    def _fits(self, started: float, predicted: float,
              fitted: Mapping[str, tuple[EmbeddingModel, float]], refit: Mapping[str, float],
              scoring: Mapping[str, float]) -> bool:
        """Would a candidate costing ``predicted`` seconds still leave time for what follows:
        the blend of the best families so far and the refit of whichever wins (this one, the
        slowest to refit so far, or the blend's parts)?"""
        elapsed = time.perf_counter() - started
        slowest_refit = max(refit.values(), default=0.0)
        blend = 0.0
        if self.hybrid_parts >= 2:
            parts = self._blend_parts(fitted)
            n_grid = len(weight_grid(max(len(parts), 2), self.grid_step))
            blend = self._blend_seconds(parts, n_grid, scoring) + sum(refit[label]
                                                                        for label in parts)
        reserve = max(slowest_refit, predicted, blend)
        return elapsed + predicted + reserve <= self.budget_seconds_

    @staticmethod
    def _blend_seconds(parts: Sequence[str], n_grid: int, scoring: Mapping[str, float]) -> float:
        """Scoring a blend costs about what scoring all its parts does (its vectors are their
        concatenation), once per grid point."""
        return n_grid * sum(scoring.get(label, 0.0) for label in parts)

    def _blend_parts(self, fitted: Mapping[str, tuple[EmbeddingModel, float]]) -> list[str]:
        """The best candidate of each of the ``hybrid_parts`` strongest families."""
        best_of_family: dict[str, str] = {}
        for label, (_, score) in sorted(fitted.items(), key=lambda item: -item[1][1]):
            best_of_family.setdefault(CANDIDATES[label][0], label)
        return list(best_of_family.values())[: self.hybrid_parts]

    def _blend(self, started: float, view: _ValidationView, train: FeatureSet,
               fitted: Mapping[str, tuple[EmbeddingModel, float]], refit: Mapping[str, float],
               scoring: Mapping[str, float], objective: GroupObjective) -> dict[str, Any]:
        """The best candidate of each of the ``hybrid_parts`` strongest families, blended on a
        weight grid without refitting them; the row of the best blend."""
        parts = self._blend_parts(fitted)
        row: dict[str, Any] = {"candidate": HYBRID, "family": HYBRID,
                               "params": json.dumps({"parts": parts})}
        if len(parts) < 2:
            row["status"] = "skipped: fewer than two families scored"
            return row
        grid = weight_grid(len(parts), self.grid_step)
        predicted = self._blend_seconds(parts, len(grid), scoring)
        refit_cost = sum(refit[label] for label in parts)
        elapsed = time.perf_counter() - started
        if elapsed + predicted + refit_cost > self.budget_seconds_:
            row["status"] = (f"skipped: time budget (predicted {predicted:.2f} s to blend, "
                             f"{refit_cost:.2f} s to refit)")
            return row
        blend_started = time.perf_counter()
        hybrid = HybridModel.from_fitted(
            [(label, fitted[label][0]) for label in parts], train, [1.0] * len(parts),
            random_state=self.random_state,
        )
        table = score_weight_grid(hybrid, train, view.validation, grid, self.metric,
                                  self.k_values, self.max_learners, seed=self.random_state,
                                  scorer=objective, exclude_resources=view.exclude_resources)
        best = int(np.argmax(table[OBJECTIVE].to_numpy()))
        weights = tuple(float(w) for w in grid[best])
        row.update({
            "params": json.dumps({"parts": parts, "weights": weights}),
            "evaluate_seconds": time.perf_counter() - blend_started,
            **{column: table[column].iloc[best] for column in (self.metric, *GROUP_COLUMNS)},
            "status": "scored",
            "_model": hybrid.with_weights(weights),
        })
        return row

    def _refit(self, label: str, model: EmbeddingModel, features: FeatureSet) -> EmbeddingModel:
        """The chosen candidate again, unfitted, fitted on every event."""
        if label != HYBRID:
            return clone(model).fit(features)
        blend = model  # a HybridModel over fitted parts: clone refits fresh copies of them
        return HybridModel(
            parts=[(part.name, clone(part.model)) for part in blend.parts_],
            weights=tuple(float(w) for w in blend.weights_),
            random_state=self.random_state,
        ).fit(features)

    @staticmethod
    def _described(label: str, model: EmbeddingModel) -> dict[str, Any]:
        if label == HYBRID:
            return {"family": HYBRID, "parts": {
                part.name: {"model": CANDIDATES[part.name][0], **CANDIDATES[part.name][1]}
                for part in model.parts_
            }, "weights": {part.name: part.weight for part in model.parts_}}
        family, params = CANDIDATES[label]
        return {"family": family, "params": dict(params)}


class _ValidationView:
    """The validation learners (a seeded sample), scored the way the hybrid's search scores
    its grid: each model's rows for them, evaluated on their validation events."""

    def __init__(self, train: FeatureSet, validation: pd.DataFrame, max_learners: int | None,
                 seed: int, exclude_resources: np.ndarray | None = None,
                 parameter: str = "validation_fraction") -> None:
        ids = np.sort(np.asarray(validation["learner_id"].unique(), dtype=object).astype(str))
        found = train.learner_map.indices_of(ids, strict=False)
        learner_idx = found[found >= 0]
        if max_learners is not None and len(learner_idx) > max_learners:
            pick = np.random.default_rng(seed).choice(len(learner_idx), max_learners,
                                                      replace=False)
            learner_idx = learner_idx[np.sort(pick)]
        if learner_idx.size == 0:
            raise InvalidParameterError(
                parameter, len(validation),
                "validation events of learners known to train (none left to validate on)",
            )
        self.validation = validation
        self.exclude_resources = exclude_resources
        self.learner_idx = learner_idx
        self.subset = learner_subset(train, learner_idx)

    def score(self, model: EmbeddingModel, objective: GroupObjective,
              k_values: Sequence[int]) -> dict[str, Any]:
        """The objective's metric and :data:`GROUP_COLUMNS` (its ``objective`` among them)."""
        rows = copy.copy(model)  # shares the resource vectors; only the learners' rows differ
        rows.learner_factors_ = np.ascontiguousarray(model.learner_factors_[self.learner_idx])
        metrics = objective(rows, self.subset, self.validation, k_values, self.exclude_resources)
        if objective.metric not in metrics:
            raise InvalidParameterError("metric", objective.metric, f"one of {sorted(metrics)}")
        return {column: metrics[column] for column in (objective.metric, *GROUP_COLUMNS)}
