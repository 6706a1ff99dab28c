"""``[split] kind = "rolling"`` end to end on a small sample world: the runner reproduces the
library's rolling protocol, compares every model with the baseline, checks the target, logs one
MLflow run per model and writes the report; bad rolling keys fail before any work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from experiments.rolling import build_models, ceilings_ndcg, pool_unopened, scope_features
from experiments.runner import run_experiment
from recommender.data import validate_dataset
from recommender.data.sample_world import generate_world
from recommender.errors import ConfigError
from recommender.evaluation.rolling import rolling_cuts, rolling_evaluate, rolling_window
from recommender.features import InteractionWeights, build_feature_set

ROLLING = """
name = "tiny_rolling"

[data]
source = "sample"
n_learners = 240
n_resources = 60
seed = 3
as_of = "2024-12-31"  # the cuts below are 2024 dates

[split]
kind = "rolling"
start = "2024-06-01"
cut_days = [0, 30, 60]
horizon_days = 14
baseline = "recent_7d"
target = "time_aware"

[[models]]
name = "recent_popularity"
label = "recent_7d"
window_days = 7
group_column = ""

[[models]]
name = "popularity"

[[models]]
name = "time_aware"
validation_cuts = 2

[evaluation]
k_values = [5]
main_k = 5
significance_metrics = ["ndcg"]
n_resamples = 100
"""


@pytest.fixture(scope="module")
def rolling_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("rolling")
    config = root / "tiny_rolling.toml"
    config.write_text(ROLLING, encoding="utf-8")
    return run_experiment(config, out_dir=root / "out")


def test_rolling_run_reproduces_the_library_protocol(rolling_run) -> None:
    dataset = generate_world(n_learners=240, n_resources=60, seed=3, as_of="2024-12-31")
    weights = InteractionWeights()
    features = scope_features(dataset, None, [], weights)
    models = build_models(rolling_run.config, weights)
    direct = rolling_evaluate(
        features, models, rolling_cuts("2024-06-01", [0, 30, 60]), horizon_days=14,
        k_values=(5,), metric_names=("ndcg",), interaction_weights=weights,
    ).summary("ndcg_at_5")["mean"]
    (scope,) = rolling_run.scopes
    got = scope.result.summary("ndcg_at_5")["mean"]
    np.testing.assert_allclose(got.to_numpy(float), direct.to_numpy(float))
    assert list(rolling_run.table.index) == ["recent_7d", "popularity", "time_aware"]
    assert rolling_run.table.loc["recent_7d", "all"].endswith("(+0.0%)")


def test_rolling_run_checks_the_target_against_the_baseline(rolling_run) -> None:
    (row,) = rolling_run.tests.to_dict(orient="records")
    (scope,) = rolling_run.scopes
    base = scope.result.values("recent_7d", "ndcg_at_5")
    target = scope.result.values("time_aware", "ndcg_at_5")
    assert row["(cut, learner) pairs"] == len(base)
    assert row["gain"] == f"{(np.nanmean(target) / np.nanmean(base) - 1) * 100:+.1f}%"
    low = float(row["difference [95% CI]"].split("[")[1].split(",")[0])
    met = np.nanmean(target) >= 1.1 * np.nanmean(base) and low > 0
    assert row["target (+10%, CI > 0)"] == ("met" if met else "NOT met")
    assert row["ceiling: next horizon's popularity"] == f"{scope.ceiling:.3f}"
    assert row["ceiling knowable at the cut"] == f"{scope.knowable_ceiling:.3f}"
    assert 0 < scope.knowable_ceiling <= 1


def test_rolling_run_logs_one_run_per_model_and_writes_the_report(rolling_run) -> None:
    client = MlflowClient(rolling_run.tracking_uri)
    runs = client.search_runs([rolling_run.experiment_id])
    assert sorted(run.data.params["label"] for run in runs) == [
        "popularity", "recent_7d", "time_aware"]
    by_label = {run.data.params["label"]: run for run in runs}
    assert "all.vs_baseline.ci_low" in by_label["time_aware"].data.metrics
    assert "all.vs_baseline.ci_low" not in by_label["recent_7d"].data.metrics
    text = rolling_run.report_path.read_text(encoding="utf-8")
    assert "| time_aware |" in text and "rolling.png" in text
    assert (rolling_run.out_dir / "rolling.png").is_file()
    assert (rolling_run.out_dir / "scores_all.csv").is_file()


@pytest.mark.parametrize(("old", "new", "key"), [
    ('target = "time_aware"', 'target = "nope"', "[split] key 'target'"),
    ("cut_days = [0, 30, 60]", "cut_days = []", "cut_days"),
    ("horizon_days = 14", "horizon_days = 0", "horizon_days"),
])
def test_bad_rolling_keys_fail_before_any_work(tmp_path: Path, old: str, new: str,
                                               key: str) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(ROLLING.replace(old, new), encoding="utf-8")
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        run_experiment(config, out_dir=tmp_path / "out")
    assert not (tmp_path / "out" / "report.md").exists()


def test_knowable_ceiling_pools_unopened_resources_within_their_category() -> None:
    """Before the cut only a opens o1 (quiz); after it a, b and c all open forum f2 and b, c
    open o1. Forums f1, f2 and page p1 were opened by nobody before the cut: the knowable
    ceiling scores f1 and f2 alike (1.5, their mean), p1 apart (0), and o1 keeps its own 2;
    the f1-f2 tie falls to f1 (listed first), so f2 drops a rank below the plain ceiling."""
    start = pd.Timestamp("2024-03-01", tz="UTC")
    plan = [("a", "o1", 1), ("a", "f2", 9), ("b", "f2", 9), ("c", "f2", 10), ("b", "o1", 10),
            ("c", "o1", 11)]
    events = pd.DataFrame({
        "event_id": [f"e{i}" for i in range(len(plan))],
        "learner_id": [p[0] for p in plan], "resource_id": [p[1] for p in plan],
        "event_type": "view", "value": 1.0,
        "timestamp": [(start + pd.Timedelta(days=p[2])).isoformat() for p in plan],
    })
    resources = pd.DataFrame({
        "resource_id": ["o1", "f1", "f2", "p1"], "title": ["quiz", "forum 1", "forum 2", "page"],
        "category": ["quiz", "forum", "forum", "page"], "mode": "online",
    })
    learners = pd.DataFrame({"learner_id": list("abc"), "group": "adult_learner"})
    features = build_feature_set(validate_dataset(learners, resources, events))
    cut = start + pd.Timedelta(days=8)
    window = rolling_window(features, cut, 7.0)
    future = np.asarray(window.relevant.sum(axis=0)).ravel()
    np.testing.assert_allclose(future, [2, 0, 3, 0])
    np.testing.assert_allclose(pool_unopened(features, window, future), [2, 1.5, 1.5, 0])

    plain, knowable = ceilings_ndcg(features, [cut], 7.0, "first_access", 3)
    np.testing.assert_allclose(plain, [1.0, 1.0, 1.0])  # a: f2 first; b, c: f2 then o1
    third, half = 1 / np.log2(3), 1 / np.log2(4)
    # a (o1 excluded): f1, f2 -> f2 at rank 2; b, c: o1, f1, f2 -> hits at ranks 1 and 3
    np.testing.assert_allclose(knowable, [third, (1 + half) / (1 + third), (1 + half) / (1 + third)])
    assert knowable.mean() < plain.mean()
