"""An experiment says what the default chose (issue 15): the choice and its parameters, every
candidate's validation score, the time budget and the validation split, in the report, its
tables and results.md, and in the model's MLflow run; and it hands the default its own split
replayed inside the training events, so on a world where the latest events and the task ask
for different models the default chooses what the task rewards."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from experiments.runner import run_experiment
from recommender.data import validate_dataset
from recommender.data.io import write_dataset
from time_worlds import niche_then_blockbusters

EXPERIMENT = """
name = "auto_recorded"

[data]
source = "directory"
path = "world"

[split]
kind = "temporal"
cut = "2024-10-27"          # day 240 of the world
test_event_types = ["enroll"]

[[models]]
name = "popularity"

[[models]]
name = "auto"
candidates = ["popularity", "ease"]
hybrid_parts = 0
budget_factor = 1000.0
min_budget_seconds = 0.0

[evaluation]
k_values = [10]
main_k = 10
n_resamples = 50
group_attributes = ["group"]
min_group_size = 5
cold_resources = "content_mapping"  # the default validates so too
"""


@pytest.fixture(scope="module")
def auto_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("auto_recorded")
    write_dataset(validate_dataset(*niche_then_blockbusters()), root / "world")
    config = root / "auto.toml"
    config.write_text(EXPERIMENT, encoding="utf-8")
    steps: list[str] = []
    result = run_experiment(config, out_dir=root / "out", on_step=steps.append)
    return result, steps


def test_the_default_chooses_on_the_task_s_protocol(auto_run) -> None:
    result, steps = auto_run
    record = result.runs[1].selection
    assert result.runs[0].selection is None  # popularity chose nothing
    assert record is not None and record.search == "FamilySearch"
    assert record.best == "popularity"  # latest-events validation picks EASE here
    assert record.validation.startswith("temporal(2024-") and record.validation.endswith("[enroll]")
    table = record.candidates.set_index("candidate")
    assert list(table.index) == ["als", "popularity", "ease"]
    assert table["chosen"].sum() == 1 and table.loc["popularity", "chosen"]
    assert table.loc["popularity", "ndcg_at_10"] == table["ndcg_at_10"].max()
    # its lists are popularity's: the same test scores as the plain popularity run
    main = "ndcg_at_10"
    assert result.runs[1].report.summary[main] == pytest.approx(result.runs[0].report.summary[main])
    assert any("chose popularity" in step and "validated on temporal(" in step for step in steps)


def test_the_report_states_the_choice_scores_and_budget(auto_run) -> None:
    result, _ = auto_run
    record = result.runs[1].selection
    page = result.report_path.read_text(encoding="utf-8")
    assert "What the searches chose" in page and record.describe() in page
    assert json.dumps(record.best_params, sort_keys=True) in page.replace("&quot;", '"')
    for candidate in ("als", "popularity", "ease"):
        score = record.candidates.set_index("candidate").loc[candidate, "ndcg_at_10"]
        assert f"{score:.4f}" in page
    assert "within the budget" in record.describe()
    assert "(1000 x one default ALS fit" in record.describe()
    assert "s for the content reader)" in record.describe()  # it validates content-mapped
    saved = pd.read_csv(result.out_dir / "tables" / "selection_auto.csv")
    pd.testing.assert_series_equal(saved["ndcg_at_10"], record.candidates["ndcg_at_10"],
                                   check_names=False)
    markdown = (result.out_dir / "results.md").read_text(encoding="utf-8")
    assert f"- auto: {record.describe()}" in markdown


def test_the_mlflow_run_logs_the_choice_scores_and_budget(auto_run) -> None:
    result, _ = auto_run
    record = result.runs[1].selection
    client = MlflowClient(result.tracking_uri)
    run = client.get_run(result.runs[1].run_id)
    assert run.data.tags["selection.best"] == "popularity"
    assert run.data.params["model.cold_resources"] == "content_mapping"
    assert run.data.params["selection.validation"] == record.validation
    assert json.loads(run.data.params["selection.best_params"]) == record.best_params
    table = record.candidates.set_index("candidate")
    for candidate in ("als", "popularity", "ease"):
        assert run.data.metrics[f"selection.score.{candidate}"] == pytest.approx(
            table.loc[candidate, "ndcg_at_10"])
    assert run.data.metrics["selection_within_budget"] == 1.0
    assert 0 < run.data.metrics["selection_fit_seconds"] <= run.data.metrics[
        "selection_budget_seconds"]
    reader = run.data.metrics["selection_content_reader_seconds"]  # validating content-mapped
    assert reader > 0
    assert run.data.metrics["selection_budget_seconds"] == pytest.approx(
        1000.0 * run.data.metrics["selection_reference_seconds"] + reader)
    artifacts = [item.path for item in client.list_artifacts(run.info.run_id, "selection")]
    assert artifacts == ["selection/candidates.csv"]
