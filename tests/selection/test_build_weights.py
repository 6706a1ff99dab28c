"""build_model gives the run's interaction weights to a search that rebuilds features (the
hybrid's) and to none that does not, so every shipped configuration builds with them: a
rolling experiment once stopped at its first model because the recency search was handed them."""

from __future__ import annotations

from recommender.features import InteractionWeights
from recommender.selection import (
    HybridWeightSearch,
    RecencyWindowSearch,
    TimeAwareSearch,
    build_model,
)


def test_the_run_weights_reach_only_searches_that_take_them() -> None:
    weights = InteractionWeights(use_value_for=())
    recency = build_model("recent_popularity", {"window_days": "validation"},
                          interaction_weights=weights)
    assert isinstance(recency, RecencyWindowSearch)
    assert isinstance(build_model("time_aware", {}, interaction_weights=weights),
                      TimeAwareSearch)
    hybrid = build_model("hybrid", {}, interaction_weights=weights)
    assert isinstance(hybrid, HybridWeightSearch) and hybrid.interaction_weights is weights


def test_every_shipped_experiment_builds_its_models_with_the_run_weights(tmp_path) -> None:
    from experiments.config import DATA_FOLDERS, REPO_ROOT, load_config

    for folder in DATA_FOLDERS.values():  # the data is not read: the models are only built
        (tmp_path / folder).mkdir()
    built = 0
    for path in sorted((REPO_ROOT / "experiments").glob("*.toml")):
        config, _ = load_config(path, data_root=tmp_path)
        weights = config.features.build()
        for position, spec in enumerate(config.models):
            spec.build(random_state=config.seed, interaction_weights=weights,
                       section=f"models[{position}]")
            built += 1
    assert built > 20
