"""Batch learning plans: the API's plan for every learner, budgets kept, credit shortfalls on
record, constraints held, streamed in chunks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from recommender.bundle import build_bundle, save_bundle
from recommender.delivery import learner_profiles
from recommender.delivery.core import PlanRequest
from recommender.errors import InvalidParameterError
from recommender.features import build_feature_set
from recommender.models import ALSModel
from training.cli import app
from recommender.delivery.credits import credit_ledger
from training.deliver import delivery_core, export_delivery_plans

NOW = pd.Timestamp("2024-09-01", tz="UTC")


@pytest.fixture(scope="module")
def bundle(small_world):
    features = build_feature_set(small_world)
    model = ALSModel(factors=8, iterations=5).fit(features)
    return build_bundle(model, None, features, {"version": "als-plans"},
                        regions=small_world.regions)


@pytest.fixture(scope="module")
def plans(bundle, tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("plans") / "plans.parquet"
    stats = export_delivery_plans(bundle, out, hours_per_week=3, weeks=8, chunk_size=29, now=NOW)
    assert pq.ParquetFile(out).metadata.num_row_groups == -(-len(bundle.learner_map) // 29)
    frame = pd.read_parquet(out)
    assert stats.rows == len(frame) and stats.learners == len(bundle.learner_map)
    return frame


def test_every_learner_has_a_plan_within_budget(bundle, plans) -> None:
    assert set(plans["learner_id"]) == set(bundle.learner_map.ids)
    assert (plans["budget_minutes"] == 3 * 60 * 8).all()
    items = plans.dropna(subset=["resource_id"])
    per_learner = items.groupby("learner_id").agg(
        minutes=("duration_minutes", "sum"), planned=("planned_minutes", "first"),
        credit=("credit_hours", "sum"), credit_planned=("credit_planned", "first"),
        orders=("order", list), weeks=("start_week", list))
    assert (per_learner["planned"] <= 3 * 60 * 8).all()
    np.testing.assert_allclose(per_learner["minutes"], per_learner["planned"])
    np.testing.assert_allclose(per_learner["credit"], per_learner["credit_planned"])
    for orders, weeks in zip(per_learner["orders"], per_learner["weeks"]):
        assert orders == list(range(1, len(orders) + 1))
        assert weeks == sorted(weeks) and weeks[0] == 1 and weeks[-1] <= 8
    assert items["reason"].notna().all()


def test_rows_are_the_core_plan(bundle, plans) -> None:
    core = delivery_core(bundle)
    profiles = learner_profiles(bundle.learners)
    catalog = core.served.catalog
    for learner_idx in range(0, len(bundle.learner_map), 11):
        learner_id = str(bundle.learner_map.ids[learner_idx])
        ledger = credit_ledger(core.served, None, learner_id, now=NOW)
        plan = core.plan(core.learner(learner_id), PlanRequest(hours_per_week=3, weeks=8,
                                                                now=NOW), ledger).plan
        got = plans[plans["learner_id"] == learner_id].dropna(subset=["resource_id"])
        assert got["resource_id"].tolist() == bundle.resource_map.ids[plan.resource_idx].tolist()
        allowed = catalog.mask(None, profiles[learner_idx], now=NOW)
        assert allowed[plan.resource_idx].all()
        assert not np.isin(plan.resource_idx, bundle.exclusions[learner_idx].indices).any()


def earned_in(world, year: int) -> pd.Series:
    """Credit hours per learner from the first completion of each resource in ``year``,
    worked out from the world's events (what the ledger must find in the bundle)."""
    done = world.events[world.events["event_type"] == "complete"]
    first = done.groupby(["learner_id", "resource_id"])["timestamp"].min().reset_index()
    first = first[first["timestamp"].dt.year == year]
    hours = world.resources.set_index("resource_id")["credit_hours"].fillna(0.0)
    first["hours"] = hours.loc[first["resource_id"]].to_numpy()
    return first.groupby("learner_id")["hours"].sum()


def test_credit_learners_are_covered_or_their_shortfall_is_reported(
        bundle, plans, small_world) -> None:
    required = bundle.learners.set_index("learner_id")["credit_hours_required"]
    summary = plans.groupby("learner_id").first()
    earned = earned_in(small_world, NOW.year).reindex(summary.index, fill_value=0.0)
    assert (earned > 0).sum() > 10  # the ledger has something to count
    np.testing.assert_allclose(summary["credit_completed"], earned)
    owes = required[required.fillna(0) > 0].index
    assert len(owes) > 0
    got = summary.loc[owes]
    np.testing.assert_allclose(got["credit_required"],
                               np.maximum(0.0, required.loc[owes] - earned.loc[owes]))
    short = got["shortfall_hours"] > 0
    np.testing.assert_allclose(got["shortfall_hours"],
                               np.maximum(0, got["credit_required"] - got["credit_planned"]),
                               atol=1e-6)
    assert got.loc[short, "shortfall_reason"].isin(["catalog", "candidates", "time_budget"]).all()
    assert got.loc[~short, "shortfall_reason"].isna().all()
    assert (got.loc[~short, "credit_planned"] >= got.loc[~short, "credit_required"]).all()
    others = summary.drop(index=owes)
    assert (others["credit_required"] == 0).all() and (others["shortfall_hours"] == 0).all()


def test_an_empty_plan_still_reports_the_learner(bundle, tmp_path) -> None:
    out = tmp_path / "tiny.parquet"
    export_delivery_plans(bundle, out, hours_per_week=0.05, weeks=1, now=NOW)  # 3 minutes
    frame = pd.read_parquet(out)
    assert set(frame["learner_id"]) == set(bundle.learner_map.ids)
    empty = frame[frame["resource_id"].isna()]
    assert len(empty) > 0 and empty["order"].isna().all()


def test_chunk_size_does_not_change_the_file(bundle, tmp_path) -> None:
    export_delivery_plans(bundle, tmp_path / "a.parquet", hours_per_week=2, weeks=4,
                          chunk_size=1000, now=NOW)
    export_delivery_plans(bundle, tmp_path / "b.parquet", hours_per_week=2, weeks=4,
                          chunk_size=17, now=NOW)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a.parquet"),
                                  pd.read_parquet(tmp_path / "b.parquet"))


@pytest.mark.parametrize("kwargs, name", [
    ({"hours_per_week": 0, "weeks": 4}, "hours_per_week"),
    ({"hours_per_week": 200, "weeks": 4}, "hours_per_week"),
    ({"hours_per_week": 3, "weeks": 0}, "weeks"),
    ({"hours_per_week": 3, "weeks": 500}, "weeks"),
    ({"hours_per_week": 3, "weeks": 4, "chunk_size": 0}, "chunk_size"),
])
def test_bad_parameters_name_the_parameter(bundle, tmp_path, kwargs, name) -> None:
    with pytest.raises(InvalidParameterError, match=name):
        export_delivery_plans(bundle, tmp_path / "x.parquet", now=NOW, **kwargs)
    assert not (tmp_path / "x.parquet").exists()


def test_cli_writes_plans_from_a_bundle_directory(bundle, tmp_path) -> None:
    directory = save_bundle(bundle, tmp_path / "bundle")
    out = tmp_path / "plans.parquet"
    args = ["deliver", "--bundle", str(directory), "--out", str(out), "--workdir",
            str(tmp_path / "work"), "--as-of", "2024-09-01T00:00:00Z"]
    result = CliRunner().invoke(app, [*args, "--plan", "--hours-per-week", "3", "--weeks", "8"])
    assert result.exit_code == 0, result.output
    expected = tmp_path / "expected.parquet"
    export_delivery_plans(bundle, expected, hours_per_week=3, weeks=8, now=NOW)
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(expected))
    missing = CliRunner().invoke(app, [*args, "--plan", "--weeks", "8"])
    assert missing.exit_code != 0 and "--hours-per-week" in missing.output
    bad_time = CliRunner().invoke(app, [*args[:-1], "yesterday-ish"])
    assert bad_time.exit_code == 1 and "--as-of" in bad_time.output


def test_plans_with_the_store_count_recognised_credit(bundle, plans, tmp_path) -> None:
    """``deliver --plan --with-store``: outside learning recorded through the API lowers what
    the plan must cover, exactly as the ledger says (the record counts once)."""
    from datetime import date

    from recommender.store import CreditRecord, Store

    required = bundle.learners.set_index("learner_id")["credit_hours_required"]
    learner_id = str(required[required == 72].index[0])
    before = plans[plans["learner_id"] == learner_id].iloc[0]
    store = Store.from_url(f"sqlite:///{tmp_path / 'serving.db'}")
    store.create_schema()
    record = CreditRecord.of("cb-1", learner_id, 10, "夜校", date(2024, 6, 1), "CERT-9")
    assert store.add_credit(record) and not store.add_credit(record)
    out = tmp_path / "plans.parquet"
    export_delivery_plans(bundle, out, hours_per_week=3, weeks=8, now=NOW, store=store)
    store.dispose()
    after = pd.read_parquet(out).set_index("learner_id").loc[[learner_id]].iloc[0]
    assert after["credit_completed"] == pytest.approx(before["credit_completed"] + 10)
    assert after["credit_required"] == pytest.approx(max(0.0, before["credit_required"] - 10))
