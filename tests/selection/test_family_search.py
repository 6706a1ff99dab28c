"""The default model (``name = "auto"``): :class:`FamilySearch` chooses a family and its main
hyper-parameters on a validation split within a budget of default ALS fits, and says what it
tried; the chosen candidate is refitted on every event exactly as a plain fit of it would be."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.data.sample_world import generate_world
from recommender.errors import ConfigError, InvalidParameterError
from recommender.features import FeatureSet, InteractionWeights, build_feature_set
from recommender.models import MODELS, HybridModel
from recommender.selection import CANDIDATES, FamilySearch, build_model
from recommender.selection.hybrid import learner_subset, validation_split
from recommender.selection.record import selection_record

CHEAP = ["popularity", "ease", "rp3beta", "co_occurrence"]


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    return build_feature_set(generate_world(300, 60, 0, events_per_learner=20.0))


@pytest.fixture(scope="module")
def unbounded(features: FeatureSet) -> FamilySearch:
    return FamilySearch(candidates=CHEAP, budget_factor=1e9, random_state=0).fit(features)


def test_every_candidate_is_scored_and_the_best_is_chosen(unbounded: FamilySearch) -> None:
    table = unbounded.cv_results_
    assert list(table["candidate"]) == ["als", *CHEAP, "hybrid"]  # ALS first: the budget's unit
    assert (table["status"] == "scored").all()
    best = table.loc[table["ndcg_at_10"].idxmax()]
    assert table["chosen"].sum() == 1 and bool(best["chosen"])
    assert unbounded.best_score_ == best["ndcg_at_10"]
    assert unbounded.best_params_["candidate"] == best["candidate"]
    scores = table.set_index("candidate")["ndcg_at_10"]
    # the taste models beat popularity on the sample world, and a blend whose grid holds each
    # part alone is at least as good as its best part
    assert scores["ease"] > scores["popularity"] + 0.05
    assert scores["hybrid"] >= scores.drop("hybrid").max() - 1e-9
    assert unbounded.within_budget_ and unbounded.fit_seconds_ <= unbounded.budget_seconds_


def test_the_chosen_candidate_is_refitted_on_every_event_as_a_plain_fit(
    unbounded: FamilySearch, features: FeatureSet
) -> None:
    best = unbounded.best_params_
    if best["candidate"] == "hybrid":
        parts = [(name, MODELS[spec["model"]](**{k: v for k, v in spec.items() if k != "model"}))
                 for name, spec in best["parts"].items()]
        explicit = HybridModel(parts=parts, weights=best["weights"]).fit(features)
    else:
        family, params = CANDIDATES[best["candidate"]]
        explicit = MODELS[family](**params).fit(features)
    assert type(unbounded.best_estimator_) is type(explicit)
    np.testing.assert_allclose(unbounded.resource_factors_, explicit.resource_factors_, rtol=1e-6)
    np.testing.assert_allclose(unbounded.learner_factors_, explicit.learner_factors_, rtol=1e-6)


def test_scores_are_the_validation_metric_of_each_candidate(
    unbounded: FamilySearch, features: FeatureSet
) -> None:
    """A row's score is evaluate() of that candidate fitted on the earlier events, on the
    validation learners (all of them here: fewer than max_learners)."""
    from recommender.evaluation.evaluate import evaluate

    train, validation = validation_split(features, 0.2, None)
    family, params = CANDIDATES["ease"]
    model = MODELS[family](**params).fit(train)
    known = train.learner_map.indices_of(validation["learner_id"].unique(), strict=False)
    learner_idx = np.sort(known[known >= 0])
    model.learner_factors_ = model.learner_factors_[learner_idx]
    expected = evaluate(model, learner_subset(train, learner_idx), validation, (10,))
    scores = unbounded.cv_results_.set_index("candidate")["ndcg_at_10"]
    assert scores["ease"] == pytest.approx(expected["ndcg_at_10"])


def test_a_tight_budget_skips_candidates_and_reports_the_overrun(features: FeatureSet) -> None:
    """budget_factor = 1: the reference ALS fit alone spends the budget, so every other
    candidate (and the blend) is skipped with the reason, and the refit's overrun is reported."""
    search = FamilySearch(candidates=CHEAP, budget_factor=1.0, min_budget_seconds=0).fit(features)
    table = search.cv_results_.set_index("candidate")
    assert table.loc["als", "status"] == "scored" and search.best_params_["candidate"] == "als"
    assert table.drop(index="als")["status"].str.startswith("skipped").all()
    assert table.loc["ease", "status"].startswith("skipped: time budget")
    assert search.budget_seconds_ == pytest.approx(search.reference_seconds_)
    assert not search.within_budget_ and search.fit_seconds_ > search.budget_seconds_


def test_on_small_data_the_floor_lets_every_candidate_be_scored(features: FeatureSet) -> None:
    """The same tight factor with the floor: ten seconds are far more than one ALS fit here, so
    nothing is skipped, the budget is the floor and the record says so."""
    search = FamilySearch(candidates=CHEAP, budget_factor=1.0, min_budget_seconds=10.0)
    search.fit(features)
    assert (search.cv_results_["status"] == "scored").all()
    assert search.budget_seconds_ == pytest.approx(10.0) and search.within_budget_
    assert "the floor of 10 s" in selection_record(search).describe()
    with pytest.raises(InvalidParameterError, match="min_budget_seconds"):
        FamilySearch(min_budget_seconds=-1).fit(features)


def test_auto_is_built_from_a_config_with_the_run_seed_and_weights() -> None:
    weights = InteractionWeights(use_value_for=())
    search = build_model("auto", {"candidates": ["ease"], "budget_factor": 5},
                         random_state=7, interaction_weights=weights)
    assert isinstance(search, FamilySearch) and search.random_state == 7
    assert search.interaction_weights is weights and list(search.candidates) == ["ease"]
    with pytest.raises(ConfigError, match=r"\[model\] key 'candidates': unknown 'esae'"):
        build_model("auto", {"candidates": ["esae"]})
    with pytest.raises(ConfigError, match=r"\[model\] unknown key 'factors'"):
        build_model("auto", {"factors": 8})
    with pytest.raises(InvalidParameterError, match="budget_factor"):
        FamilySearch(budget_factor=0).fit(FeatureSet.__new__(FeatureSet))
