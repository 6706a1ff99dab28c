"""Group-aware selection on a tiny world whose rural minority a popularity model fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.data import validate_dataset
from recommender.errors import ConfigError, InvalidParameterError
from recommender.features import build_feature_set
from recommender.models import GroupPopularityModel
from recommender.selection import FamilySearch, build_model, family
from recommender.selection.equity import GroupAwareSearch, group_objective

POPULAR = {"global_weight": 100.0}  # global popularity ranks (nearly) everything
BY_GROUP = {"global_weight": 0.0}  # each group's own popularity


def under_served_world():
    """100 urban learners in five groups u0..u4 of 20, and 10 rural learners in group r; ten
    events each, the last two held out for validation. Urban learners come back to r0 (15 of
    each group of 20 used it before) and all of a group used its own resource n<group> once;
    rural learners come back to r5 (all 10 used it before). Everything else is a one-off.

    At k = 2, popularity lists r0 then an urban group's resource for everyone: urban ndcg 1,
    rural 0 (mean 100/110 = 0.909, worst 0). Group popularity lists the group's own resource,
    then r0 for urban learners (ndcg 1/log2(3) = 0.631) and r5 first for rural ones (ndcg 1):
    mean 0.665, worst 0.631. The mean prefers popularity; half weight on the worst group
    prefers group popularity (0.648 against 0.455)."""
    learners, rows = [], []
    for n in range(110):
        urban = n < 100
        group = f"u{n // 20}" if urban else "r"
        learner_id = f"l{n:03d}"
        learners.append({"learner_id": learner_id, "group": group, "languages": "zh",
                         "urban_rural": "urban" if urban else "rural"})
        one_offs = [f"f{n}_{m}" for m in range(8)]
        if urban:
            earlier = ([f"n{n // 20}"] + (["r0"] if n % 20 < 15 else []) + one_offs)[:8]
            later = ["r0", "r0"]
        else:
            earlier, later = (["r5"] + one_offs)[:8], ["r5", "r5"]
        for day, resource_id in enumerate(earlier + later):
            rows.append({"event_id": f"e{len(rows)}", "learner_id": learner_id,
                         "resource_id": resource_id, "event_type": "view", "value": "",
                         "timestamp": f"2024-01-{1 + day:02d}T{n % 24:02d}:00:00Z"})
    events = pd.DataFrame(rows)
    resource_ids = sorted(set(events["resource_id"]))
    resources = pd.DataFrame({"resource_id": resource_ids, "title": resource_ids,
                              "category": "digital_literacy", "mode": "online", "language": "zh"})
    return build_feature_set(validate_dataset(pd.DataFrame(learners), resources, events))


def _search(features, worst_weight: float) -> GroupAwareSearch:
    return GroupAwareSearch(GroupPopularityModel(), [POPULAR, BY_GROUP], attribute="urban_rural",
                            worst_weight=worst_weight, k=2, min_group_size=10).fit(features)


def test_mean_alone_keeps_popularity_and_the_worst_group_moves_the_choice() -> None:
    features = under_served_world()
    by_mean = _search(features, 0.0)
    assert by_mean.best_params_ == POPULAR
    results = by_mean.cv_results_.set_index("global_weight")
    assert results.loc[100.0, "worst_group"] == "rural"
    assert results.loc[100.0, "worst_group_mean"] == pytest.approx(0.0)
    assert results.loc[100.0, "ndcg_at_2"] == pytest.approx(100 / 110)
    assert results.loc[0.0, "worst_group"] == "urban"
    assert results.loc[0.0, "worst_group_mean"] == pytest.approx(1 / np.log2(3))
    assert results.loc[0.0, "ndcg_at_2"] == pytest.approx((100 / np.log2(3) + 10) / 110)

    fair = _search(features, 0.5)
    assert fair.best_params_ == BY_GROUP
    assert fair.best_score_ == pytest.approx(0.5 * (100 / np.log2(3) + 10) / 110 + 0.5 / np.log2(3))
    assert fair.best_estimator_.global_weight == 0.0  # refitted with the choice
    # the fitted search is the chosen model to its callers: a rural learner gets r5 first
    rural = features.learner_map.indices_of(["l105"])
    top = fair.recommend(rural, 1)[0][0]
    assert features.resource_map.ids[top[0]] == "r5"


def test_objective_and_bad_parameters() -> None:
    assert group_objective(0.8, 0.2, 0.5) == pytest.approx(0.5)
    assert group_objective(0.8, float("nan"), 0.5) == pytest.approx(0.8)
    features = under_served_world()
    with pytest.raises(InvalidParameterError, match="attribute"):
        GroupAwareSearch(GroupPopularityModel(), [POPULAR], attribute="nope").fit(features)
    with pytest.raises(InvalidParameterError, match="param_grid"):
        GroupAwareSearch(GroupPopularityModel(), []).fit(features)
    with pytest.raises(InvalidParameterError, match="worst_weight"):
        GroupAwareSearch(GroupPopularityModel(), [POPULAR], worst_weight=2).fit(features)


# The default search's candidate table reduced to popularity (standing in for the budget's
# unit, "als") and group popularity, so its choice has a known answer on this world.
TWO_SETTINGS = {"als": ("popularity", {}), "by_group": ("group_popularity", BY_GROUP)}


def _family(features, worst_weight: float, **params) -> FamilySearch:
    params = {"metric": "ndcg_at_2", "k_values": (2,), "hybrid_parts": 0, "budget_factor": 1e9,
              "group_attributes": ("urban_rural",), "min_group_size": 10, **params}
    return FamilySearch(worst_weight=worst_weight, **params).fit(features)


def test_the_default_search_counts_the_worst_group_when_asked(monkeypatch) -> None:
    monkeypatch.setattr(family, "CANDIDATES", TWO_SETTINGS)
    features = under_served_world()
    by_mean = _family(features, 0.0)
    table = by_mean.cv_results_.set_index("candidate")
    assert by_mean.best_params_["candidate"] == "als"  # popularity: the mean's choice
    assert by_mean.best_score_ == pytest.approx(100 / 110)
    # the worst group is reported even when it does not count
    assert table.loc["als", "worst_group"] == "rural"
    assert table.loc["als", "worst_attribute"] == "urban_rural"
    assert table.loc["als", "worst_group_mean"] == pytest.approx(0.0)
    assert table.loc["by_group", "worst_group_mean"] == pytest.approx(1 / np.log2(3))
    assert table.loc["als", "objective"] == table.loc["als", "ndcg_at_2"]

    fair = _family(features, 0.5)
    assert fair.best_params_["candidate"] == "by_group"
    assert fair.best_score_ == pytest.approx(0.5 * (100 / np.log2(3) + 10) / 110 + 0.5 / np.log2(3))
    assert fair.best_estimator_.global_weight == 0.0  # refitted with the choice
    rural = features.learner_map.indices_of(["l105"])
    assert features.resource_map.ids[fair.recommend(rural, 1)[0][0][0]] == "r5"

    # the blend's weights are chosen by the same objective: its row is the best of its grid
    blended = _family(features, 0.5, hybrid_parts=2)
    rows = blended.cv_results_.set_index("candidate")
    assert rows.loc["hybrid", "status"] == "scored"
    assert rows.loc["hybrid", "objective"] == pytest.approx(group_objective(
        rows.loc["hybrid", "ndcg_at_2"], rows.loc["hybrid", "worst_group_mean"], 0.5))


def test_the_default_search_refuses_a_bad_objective() -> None:
    features = under_served_world()
    with pytest.raises(InvalidParameterError, match="group_attributes"):
        FamilySearch(worst_weight=0.5, group_attributes=("nope",)).fit(features)
    with pytest.raises(InvalidParameterError, match="worst_weight"):
        FamilySearch(worst_weight=1.5).fit(features)


def test_a_config_sets_the_default_search_objective() -> None:
    search = build_model("auto", {"worst_weight": 0.5, "group_attributes": ["urban_rural"]})
    assert isinstance(search, FamilySearch)
    assert (search.worst_weight, list(search.group_attributes)) == (0.5, ["urban_rural"])
    assert build_model("auto").worst_weight == 0.0  # the shipped default: the mean alone
    with pytest.raises(ConfigError, match="worst_weight"):
        build_model("auto", {"worst_weight": "half"})
