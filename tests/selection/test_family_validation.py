"""The default validates with the task's protocol (issue 15): a configured split replayed inside
the training events (:meth:`HoldoutSplit.validation_within`) is what :class:`FamilySearch`
chooses on, with the split's test filter, so the choice is made on the task it is judged on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data import validate_dataset
from recommender.errors import InvalidParameterError
from recommender.evaluation.evaluate import evaluate
from recommender.features import build_feature_set
from recommender.models import MODELS
from recommender.selection import FamilySearch, build_model
from recommender.spec import (
    ColdResourceSplit,
    GivenSplit,
    LeaveLastNSplit,
    RandomSplit,
    TemporalSplit,
)
from time_worlds import START, niche_then_blockbusters


def _hourly_events(n: int = 100) -> pd.DataFrame:
    """One event an hour; every fourth an enrolment, the others views."""
    return pd.DataFrame({
        "event_id": [f"e{i:03d}" for i in range(n)],
        "learner_id": [f"l{i % 5}" for i in range(n)],
        "resource_id": [f"r{i % 7}" for i in range(n)],
        "event_type": ["enroll" if i % 4 == 0 else "view" for i in range(n)],
        "value": float("nan"),
        "timestamp": [START + pd.Timedelta(hours=i) for i in range(n)],
    })


def test_a_temporal_split_is_replayed_inside_the_training_events_with_its_filters() -> None:
    """100 hourly events, cut at hour 80: 20 % are held out (before the enrolment filter), so
    the validation cut leaves the last 20 % of the 80 training events after it: hour 64."""
    events = _hourly_events()
    spec = TemporalSplit(cut=START + pd.Timedelta(hours=80), test_event_types=["enroll"],
                         candidates="open", active_days=7)
    result = spec.build(events)
    assert result.report["n_test"] == 5 and result.report["n_test_dropped_by_type"] == 15

    inner = spec.validation_within(result, result.train)
    assert isinstance(inner, TemporalSplit)
    assert pd.Timestamp(inner.cut) == START + pd.Timedelta(hours=64)
    assert inner.horizon_end is None
    assert inner.test_event_types == ["enroll"]
    assert (inner.candidates, inner.active_days) == ("open", 7)
    validation = inner.build(result.train)
    assert len(validation.train) == 64
    assert list(validation.test["event_id"]) == [f"e{i:03d}" for i in range(64, 80, 4)]

    # the fit on every event: the same share at its end
    every = spec.validation_within(result, events)
    assert pd.Timestamp(every.cut) == START + pd.Timedelta(hours=80)


def test_other_kinds_are_replayed_as_they_are_configured() -> None:
    events = _hourly_events()
    for spec in (RandomSplit(test_ratio=0.3, seed=4, test_event_types=["enroll"]),
                 LeaveLastNSplit(n=2), ColdResourceSplit(resource_share=0.2, seed=1)):
        inner = spec.validation_within(spec.build(events), events)
        assert type(inner) is type(spec) and inner.model_dump() == spec.model_dump()


def test_a_given_split_is_replayed_as_a_random_share_of_each_learner_s_events(tmp_path) -> None:
    """The given pairs are test pairs (absent from training): validation holds out the share of
    events the file held out, at random per learner, with the same test filter."""
    events = _hourly_events()
    held = events[events["learner_id"] == "l0"][["learner_id", "resource_id"]].drop_duplicates()
    path = tmp_path / "held_out.csv"
    held.to_csv(path, index=False)
    spec = GivenSplit(path=path, test_event_types=["enroll"])
    result = spec.build(events)
    inner = spec.validation_within(result, result.train)
    assert isinstance(inner, RandomSplit) and inner.test_event_types == ["enroll"]
    assert inner.test_ratio == pytest.approx(20 / 100)  # l0's 20 events of 100


def test_the_task_s_validation_chooses_what_the_task_rewards() -> None:
    """Latest events are views of a learner's own niche courses; new enrolments after the cut
    are blockbusters they have not taken. Validated on each learner's latest events the search
    picks a model that gives learners their own courses back; validated on the experiment's
    protocol replayed inside training (a temporal cut, enrolments only) it picks popularity,
    which is also what wins on the test split."""
    world = validate_dataset(*niche_then_blockbusters())
    spec = TemporalSplit(cut=START + pd.Timedelta(days=240), test_event_types=["enroll"])
    split = spec.build(world.events)
    train = build_feature_set(world, split.train)
    settings = {"candidates": ["popularity", "ease"], "hybrid_parts": 0, "budget_factor": 1e9}

    latest = build_model("auto", settings, random_state=0).fit(train)
    assert latest.validation_name_ == "leave_last_fraction(0.2)"
    task = build_model("auto", settings, random_state=0,
                       validation=spec.validation_within(split, split.train)).fit(train)
    assert task.validation_name_.startswith("temporal(") and task.validation_name_.endswith(
        "[enroll]")

    scores = task.cv_results_.set_index("candidate")["ndcg_at_10"]
    assert task.best_params_["candidate"] == "popularity"
    assert scores["popularity"] > scores.drop("popularity").max() + 0.1
    wrong = latest.best_params_["candidate"]
    assert wrong != "popularity"
    assert latest.cv_results_.set_index("candidate").loc["popularity", "ndcg_at_10"] < 0.2

    on_test = {name: evaluate(model, train, split.test, (10,))["ndcg_at_10"]
               for name, model in (("task", task), ("latest", latest))}
    plain = evaluate(MODELS["popularity"]().fit(train), train, split.test, (10,))
    assert on_test["task"] == pytest.approx(plain["ndcg_at_10"])
    assert on_test["task"] > on_test["latest"] + 0.1


def test_content_mapping_scores_resources_new_to_the_validation_as_a_bundle_serves_them() -> None:
    """Resource N is first used after the validation cut: with ``cold_resources =
    "content_mapping"`` a candidate's validation score is evaluate() of that candidate, fitted
    on the events before the cut, with N's content-mapped vector (what a bundle would serve),
    not of the candidate as fitted."""
    from recommender.evaluation.report_metrics import candidate_exclusions
    from recommender.models.cold_start import map_cold_resources
    from recommender.selection.hybrid import held_out_features, learner_subset
    from time_worlds import dated_features

    events = [(f"l{i:02d}", r, d) for i in range(40) for r, d in (("A", i % 9), ("B", 10 + i % 7))]
    events += [(f"l{i:02d}", "C", 20 + i % 5) for i in range(0, 40, 2)]
    events += [(f"l{i:02d}", "N", 40 + i % 5) for i in range(40)]
    features = dated_features(events)
    spec = TemporalSplit(cut=START + pd.Timedelta(days=30))
    settings = {"candidates": ["ease"], "hybrid_parts": 0, "budget_factor": 1e9,
                "validation": spec}
    mapped = FamilySearch(cold_resources="content_mapping", **settings).fit(features)
    fitted = FamilySearch(**settings).fit(features)

    train, validation = held_out_features(features, spec.build(features.events), None)
    assert train.resource_map.index_of("N") not in train.interactions.nonzero()[1]
    model, n_mapped = map_cold_resources(MODELS["ease"]().fit(train), train)
    assert n_mapped == 1
    learner_idx = np.sort(train.learner_map.indices_of(validation["learner_id"].unique()))
    model.learner_factors_ = model.learner_factors_[learner_idx]
    expected = evaluate(model, learner_subset(train, learner_idx), validation, (10,),
                        candidate_exclusions(train, "all"))["ndcg_at_10"]
    scores = mapped.cv_results_.set_index("candidate")["ndcg_at_10"]
    assert scores["ease"] == pytest.approx(expected)
    assert scores["ease"] != pytest.approx(
        fitted.cv_results_.set_index("candidate").loc["ease", "ndcg_at_10"])
    with pytest.raises(InvalidParameterError, match="cold_resources"):
        FamilySearch(cold_resources="mapped").fit(features)
