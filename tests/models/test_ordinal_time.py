"""Ordinal time: timestamps read as each learner's event order. Known steps by hand; a
sequence model's lists are the same whether the log carries real dates or only their ranks,
which under real dates they are not; a fold-in of new events reads their order too."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data import validate_dataset
from recommender.features import InteractionWeights, build_feature_set
from recommender.features.ordinal import ORIGIN, as_ordinal
from recommender.models import ColdStart, RecentPopularityModel, SequenceModel
from recommender.spec import FeaturesSection

START = pd.Timestamp("2024-03-01", tz="UTC")


def test_steps_count_back_from_each_learners_latest_event():
    events = pd.DataFrame({
        "learner_id": ["a", "a", "a", "a", "b"],
        "timestamp": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-05", "2024-02-09",
                                     "2023-06-01"], utc=True),
    })
    steps = (ORIGIN - as_ordinal(events)["timestamp"]).dt.days.tolist()
    assert steps == [2, 1, 1, 0, 0]


def _world(day_of: dict[tuple[str, int], float]) -> pd.DataFrame:
    """Learners l0..l11 each open R0, R1, R2 (in that order) then one of X/Y; the gap before
    the last one is what real dates say and ranks do not: l0..l5 wait long before X, l6..l11
    open Y right away."""
    rows = []
    for i in range(12):
        learner = f"l{i:02d}"
        last = "X" if i < 6 else "Y"
        for step, resource in enumerate(["R0", "R1", "R2", last]):
            rows.append((learner, resource, day_of[(learner, step)]))
    return pd.DataFrame(rows, columns=["learner_id", "resource_id", "day"])


def _dataset(frame: pd.DataFrame):
    ids = sorted(frame["resource_id"].unique())
    learners = sorted(frame["learner_id"].unique())
    events = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(frame))],
        "learner_id": frame["learner_id"], "resource_id": frame["resource_id"],
        "event_type": "view", "value": 1.0,
        "timestamp": [(START + pd.Timedelta(days=float(d))).isoformat() for d in frame["day"]],
    })
    return validate_dataset(
        pd.DataFrame({"learner_id": learners, "group": "adult_learner"}),
        pd.DataFrame({"resource_id": ids, "title": ids, "category": "digital_literacy",
                      "mode": "online"}),
        events)


# Real dates: irregular gaps (l0..l5 wait 30 days before X); ranks: 0, 1, 2, 3 for everyone.
DATES = {(f"l{i:02d}", s): float(i + [0, 2, 3, 33 if i < 6 else 4][s]) for i in range(12)
         for s in range(4)}
RANKS = {(f"l{i:02d}", s): float(s) for i in range(12) for s in range(4)}


def _lists(model, day_of, weights, k=3):
    features = build_feature_set(_dataset(_world(day_of)), weights=weights)
    model.fit(features)
    top, _ = model.recommend(np.arange(len(features.learner_map)), k=k)
    return top, features


@pytest.mark.parametrize("make", [lambda: SequenceModel(horizon_days=2.0, decay_days=1.0,
                                                        anchor_days=1.0),
                                  lambda: RecentPopularityModel(window_days=2.0)])
def test_ordinal_time_orders_as_dates_do(make):
    ordinal = InteractionWeights(ordinal_time=True)
    from_dates, features = _lists(make(), DATES, ordinal)
    from_ranks, _ = _lists(make(), RANKS, ordinal)
    np.testing.assert_array_equal(from_dates, from_ranks)
    assert (features.events["timestamp"] <= ORIGIN).all()
    # Read as dates, the gaps matter: the lists differ.
    dated, _ = _lists(make(), DATES, InteractionWeights())
    ranked, _ = _lists(make(), RANKS, InteractionWeights())
    assert not np.array_equal(dated, ranked)


def test_a_fold_in_reads_new_events_as_order_too():
    ordinal = InteractionWeights(ordinal_time=True)
    model = SequenceModel(horizon_days=2.0, decay_days=1.0, anchor_days=1.0)
    _, features = _lists(model, RANKS, ordinal)
    cold = ColdStart(model, weights=ordinal).fit(features)

    def fresh(days: list[float]) -> pd.DataFrame:
        return pd.DataFrame({
            "event_id": ["n1", "n2"], "learner_id": "newcomer", "resource_id": ["R0", "R1"],
            "event_type": "view", "value": 1.0,
            "timestamp": [START + pd.Timedelta(days=d) for d in days]})

    near = cold.learner_vector(events=fresh([400.0, 401.0]))
    far = cold.learner_vector(events=fresh([400.0, 900.0]))
    assert near.cold_start == "fold_in"
    np.testing.assert_allclose(near.vector, far.vector)
    dated = ColdStart(model, weights=InteractionWeights()).fit(features)  # gaps count
    assert not np.allclose(dated.learner_vector(events=fresh([400.0, 401.0])).vector,
                           dated.learner_vector(events=fresh([400.0, 900.0])).vector)


def test_the_features_section_sets_ordinal_time():
    assert FeaturesSection.model_validate({"time": "ordinal"}).build().ordinal_time
    assert not FeaturesSection().build().ordinal_time
    with pytest.raises(ValueError, match="time"):
        FeaturesSection.model_validate({"time": "weeks"})


@pytest.mark.parametrize("split", [
    {"kind": "rolling", "cut_days": [30], "start": "2024-01-01"},
    {"kind": "temporal", "cut": "2024-06-01", "candidates": "active"},
])
def test_date_cuts_are_refused_under_ordinal_time(tmp_path, split):
    from experiments.config import load_config as load_experiment
    from recommender.errors import ConfigError
    from training import toml_writer

    path = tmp_path / "exp.toml"
    path.write_text(toml_writer.dumps({
        "name": "x", "data": {"source": "sample", "n_learners": 20}, "split": split,
        "features": {"time": "ordinal"}, "models": [{"name": "popularity"}]}))
    with pytest.raises(ConfigError, match="time = 'ordinal'"):
        load_experiment(path)


def test_a_bundle_under_ordinal_time_carries_no_completion_dates():
    from recommender.bundle import build_bundle

    frame = _world(RANKS)
    dataset = _dataset(frame)
    events = dataset.events.assign(event_type="complete")
    dataset = validate_dataset(dataset.learners, dataset.resources, events)
    for weights, carried in ((InteractionWeights(ordinal_time=True), False),
                             (InteractionWeights(), True)):
        features = build_feature_set(dataset, weights=weights)
        model = RecentPopularityModel(window_days=2.0).fit(features)
        bundle = build_bundle(model, None, features, {"version": "t"}, weights=weights)
        assert (bundle.completions is not None) is carried
