"""The rolling protocol on a hand-made world whose windows can be worked out by hand.

Days from 2024-03-01: learner a opens r1 (day 1) then r1 and r2 (day 10); b opens r3 (day 2)
and r2 (day 11); c opens r4 (day 3) only; d opens r5 on day 12, but r5 was scheduled to close
on day 7. Cut on day 8 with a 7-day horizon: first accesses are a->r2, b->r2 (r5 is closed and
drops out; r1 is a repeat for a).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data import validate_dataset
from recommender.errors import InvalidParameterError
from recommender.evaluation.rolling import (
    closed_resources,
    rolling_cuts,
    rolling_evaluate,
    rolling_window,
    trailing_cuts,
)
from recommender.features import FeatureSet, build_feature_set
from recommender.models import PopularityModel, RecentPopularityModel

START = pd.Timestamp("2024-03-01", tz="UTC")
CUT = START + pd.Timedelta(days=8)


@pytest.fixture(scope="module")
def world() -> FeatureSet:
    plan = [("a", "r1", 1), ("a", "r1", 10), ("a", "r2", 10), ("b", "r3", 2), ("b", "r2", 11),
            ("c", "r4", 3), ("d", "r5", 12)]
    events = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(plan))],
        "learner_id": [p[0] for p in plan],
        "resource_id": [p[1] for p in plan],
        "event_type": "view",
        "value": 1.0,
        "timestamp": [(START + pd.Timedelta(days=p[2])).isoformat() for p in plan],
    })
    resources = pd.DataFrame({
        "resource_id": [f"r{i}" for i in range(1, 6)],
        "title": [f"course {i}" for i in range(1, 6)],
        "category": "digital_literacy",
        "mode": "online",
        "available_until": [None] * 4 + [(START + pd.Timedelta(days=7)).isoformat()],
    })
    learners = pd.DataFrame({"learner_id": list("abcd"), "group": "adult_learner"})
    return build_feature_set(validate_dataset(learners, resources, events))


def _ids(features: FeatureSet, idx: np.ndarray, kind: str) -> list[str]:
    mapping = features.learner_map if kind == "learner" else features.resource_map
    return [mapping.id_of(int(i)) for i in idx]


def test_first_access_window_scores_only_what_is_new_to_each_learner(world: FeatureSet) -> None:
    window = rolling_window(world, CUT, 7.0)
    assert window.horizon_end == CUT + pd.Timedelta(days=7)
    assert len(window.train.events) == 3  # days 1, 2, 3
    assert _ids(world, window.learner_idx, "learner") == ["a", "b"]
    for row, learner in enumerate(["a", "b"]):
        relevant = window.relevant[row].indices
        assert _ids(world, relevant, "resource") == ["r2"], learner
    a = world.learner_map.index_of("a")
    assert _ids(world, window.exclude[a].indices, "resource") == ["r1"]  # opened before the cut
    assert window.report["n_relevant"] == 2 and window.report["n_relevant_new_to_cohort"] == 2
    assert window.report["n_relevant_closed"] == 1  # d -> r5 after r5 closed
    assert _ids(world, window.closed, "resource") == ["r5"]


def test_repeat_mode_counts_repeats(world: FeatureSet) -> None:
    window = rolling_window(world, CUT, 7.0, mode="repeat")
    a_row = list(_ids(world, window.learner_idx, "learner")).index("a")
    assert _ids(world, window.relevant[a_row].indices, "resource") == ["r1", "r2"]
    assert window.exclude.nnz == 0  # nothing completed or dismissed


def test_closed_resources_uses_the_availability_windows(world: FeatureSet) -> None:
    assert list(closed_resources(world.resources, CUT, CUT + pd.Timedelta(days=1))) == [4]
    assert len(closed_resources(world.resources, START, START + pd.Timedelta(days=1))) == 0


def test_rolling_evaluate_scores_every_model_on_the_same_rows(world: FeatureSet) -> None:
    models = {"popularity": PopularityModel(),
              "recent": RecentPopularityModel(window_days=7.0, group_column=None)}
    cuts = [CUT, START + pd.Timedelta(days=1)]  # the day-1 cut has nothing before it to learn
    result = rolling_evaluate(world, models, cuts, horizon_days=7.0)
    assert result.models == ("popularity", "recent") and result.mode == "first_access"
    assert list(result.windows["cut"]) == sorted(cuts)
    first = result.scores[result.scores["cut"] == CUT]
    assert len(first) == 4 and set(first["learner_id"]) == {"a", "b"}
    # At the day-8 cut r1, r3, r4 were opened once each and r2 never: every list ranks r2 after
    # the others, so for a (r1 excluded) r2 comes third, for b (r3 excluded) third as well.
    expected = 1.0 / np.log2(4)
    assert np.allclose(result.values("recent")[-2:], expected)
    summary = result.summary()
    assert list(summary.index) == ["popularity", "recent"]
    assert summary.loc["recent", "n"] == len(result.values("recent"))
    comparison = result.compare("popularity", "recent", n_resamples=50)
    assert comparison.n_learners == len(result.values("recent"))


def test_cut_helpers() -> None:
    assert rolling_cuts("2024-03-01", [60, 90]) == [
        pd.Timestamp("2024-04-30", tz="UTC"), pd.Timestamp("2024-05-30", tz="UTC"),
    ]
    end = pd.Timestamp("2024-03-22", tz="UTC")
    cuts = trailing_cuts(end, 3, 7.0)
    assert len(cuts) == 3 and cuts[-1] - cuts[-2] == pd.Timedelta(days=7)
    assert cuts[-1] > end - pd.Timedelta(days=7) and cuts[-1] + pd.Timedelta(days=7) > end


@pytest.mark.parametrize(("kwargs", "name"), [
    ({"mode": "sometimes"}, "mode"), ({"horizon_days": 0}, "horizon_days"),
    ({"cut": "not a date"}, "cut"),
])
def test_bad_parameters_name_themselves(world: FeatureSet, kwargs: dict, name: str) -> None:
    arguments = {"cut": CUT, **kwargs}
    with pytest.raises(InvalidParameterError, match=name):
        rolling_window(world, **arguments)
    with pytest.raises(InvalidParameterError, match="models"):
        rolling_evaluate(world, {}, [CUT])
