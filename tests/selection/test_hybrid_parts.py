"""Hybrid parts are full model specs: each with its own hyper-parameters (a list of
``[name, {params}]`` or a table ``{name: params}``), checked like a model section and searched
by the weight search as given (``tune.space`` addressing them: tests/training/test_tune.py)."""

from __future__ import annotations

import pytest
from two_tastes import tiny_validation_split

from recommender.errors import ConfigError
from recommender.models import ALSModel, EASEModel, HybridModel
from recommender.selection import HybridWeightSearch, build_model

TABLE = {"ease": {"regularization": 50.0},
         "als_small": {"model": "als", "factors": 4, "iterations": 30, "regularization": 0.01}}


def test_list_and_table_forms_build_the_same_parts_with_their_hyper_parameters() -> None:
    listed = build_model("hybrid", {"parts": [["ease", {"regularization": 50}],
                                              ["als_small", TABLE["als_small"]]],
                                    "weights": [0.5, 0.5]}, random_state=3)
    tabled = build_model("hybrid", {"parts": TABLE, "weights": {"ease": 0.5, "als_small": 0.5}},
                         random_state=3)
    for model in (listed, tabled):
        assert isinstance(model, HybridModel)
        (ease_name, ease), (als_name, als) = model.parts
        assert (ease_name, als_name) == ("ease", "als_small")
        assert isinstance(ease, EASEModel) and ease.regularization == 50.0
        assert isinstance(als, ALSModel) and als.factors == 4 and als.random_state == 3


def test_a_bad_part_names_the_part_and_the_key() -> None:
    with pytest.raises(ConfigError, match=r"\[model\] parts\.ease: unknown key 'lambda'"):
        build_model("hybrid", {"parts": {"ease": {"lambda": 300}}})
    with pytest.raises(ConfigError, match=r"\[model\] parts\.ease: key 'regularization'"):
        build_model("hybrid", {"parts": [["ease", {"regularization": "big"}]]})
    with pytest.raises(ConfigError, match=r"parts\.mine: unknown model 'mine'.*model ="):
        build_model("hybrid", {"parts": {"mine": {"factors": 8}}})
    with pytest.raises(ConfigError, match=r"parts\.inner: unknown model 'hybrid'"):
        build_model("hybrid", {"parts": {"inner": {"model": "hybrid"}}})


def test_the_weight_search_keeps_each_parts_hyper_parameters() -> None:
    train, _ = tiny_validation_split()
    search = build_model("hybrid", {"parts": TABLE, "grid_step": 0.5})
    assert isinstance(search, HybridWeightSearch)
    search.fit(train)
    parts = {part.name: part.model for part in search.parts_}
    assert parts["ease"].regularization == 50.0 and parts["als_small"].factors == 4
    assert len(search.cv_results_) == 3  # (1, 0), (0.5, 0.5), (0, 1)
