"""A tiny experiment end to end: MLflow runs, metrics, report files, group breakdowns, and the
``run``/``compare`` commands. The experiment runs once per module: MLflow's first SQLite
migration alone takes seconds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from typer.testing import CliRunner

from experiments.cli import experiment_app
from experiments.runner import run_experiment

TINY_EXPERIMENT = """
name = "tiny"
description = "A small sample world for the end-to-end tests."

[data]
source = "sample"
n_learners = 240
n_resources = 60
seed = 3
as_of = "2024-12-31"  # the cut below is a 2024 date

[split]
kind = "temporal"
cut = "2024-10-01"

[[models]]
name = "popularity"

[[models]]
name = "group_popularity"

[[models]]
name = "als"
label = "als_small"
factors = 8
iterations = 3

[evaluation]
k_values = [3, 5]
main_k = 5
n_resamples = 100
min_group_size = 5
"""


ACCURACY = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr")
BEYOND = ("coverage", "novelty", "category_diversity", "vector_diversity", "popularity_bias")
cli = CliRunner()


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory):
    """The tiny experiment, run end to end into a temporary directory."""
    root = tmp_path_factory.mktemp("experiment")
    config = root / "tiny.toml"
    config.write_text(TINY_EXPERIMENT, encoding="utf-8")
    steps: list[str] = []
    result = run_experiment(config, out_dir=root / "out", on_step=steps.append)
    return result, steps


def _runs(result):
    client = MlflowClient(result.tracking_uri)
    runs = client.search_runs([result.experiment_id])
    return client, {run.data.params["label"]: run for run in runs}


def test_one_mlflow_run_per_model_under_one_experiment(tiny_run):
    result, steps = tiny_run
    client, runs = _runs(result)
    assert client.get_experiment(result.experiment_id).name == "tiny"
    assert set(runs) == {"popularity", "group_popularity", "als_small"}
    assert {run.data.tags["experiment.invocation"] for run in runs.values()} == {result.invocation}
    assert all(run.info.status == "FINISHED" for run in runs.values())
    assert runs["als_small"].data.params["model"] == "als"
    assert runs["als_small"].data.params["model.factors"] == "8"
    assert runs["popularity"].data.params["split.cut"].startswith("2024-10-01")
    assert steps[0].startswith("loading data") and steps[-1] == "writing the report"


def test_runs_carry_accuracy_beyond_accuracy_groups_and_significance(tiny_run):
    result, _ = tiny_run
    _, runs = _runs(result)
    for label, run in runs.items():
        metrics = run.data.metrics
        for k in (3, 5):
            for name in (*ACCURACY, *BEYOND):
                assert f"{name}_at_{k}" in metrics, (label, name, k)
        assert 0.0 <= metrics["ndcg_at_5"] <= 1.0
        assert metrics["n_test_learners"] > 0
        assert any(key.startswith("exposure_at_5.provider_type.") for key in metrics)
        assert any(key.startswith("exposure_at_5.mode.") for key in metrics)
        for attribute in ("group", "age_band", "urban_rural", "accessibility_needs"):
            assert f"gap.{attribute}.ndcg_at_5" in metrics, (label, attribute)
    assert not any(key.startswith("vs_baseline.") for key in runs["popularity"].data.metrics)
    for label in ("group_popularity", "als_small"):
        metrics = runs[label].data.metrics
        for name in ("mean_difference", "ci_low", "ci_high", "p_value", "significant"):
            assert f"vs_baseline.ndcg_at_5.{name}" in metrics
        assert metrics["vs_baseline.ndcg_at_5.ci_low"] <= metrics["vs_baseline.ndcg_at_5.ci_high"]


def test_every_model_is_judged_on_the_same_learners(tiny_run):
    result, _ = tiny_run
    ids = [run.report.learner_ids for run in result.runs]
    assert all((ids[0] == other).all() for other in ids[1:])
    summary = pd.read_csv(result.out_dir / "tables" / "summary.csv", index_col=0)
    assert list(summary.index) == ["popularity", "group_popularity", "als_small"]


def test_report_html_references_existing_plots(tiny_run):
    result, _ = tiny_run
    assert result.report_path == result.out_dir / "report.html"
    html = result.report_path.read_text(encoding="utf-8")
    images = re.findall(r"<img src='([^']+)'", html)
    assert {"plots/metric_by_k.png", "plots/metric_by_group.png",
            "plots/coverage_vs_popularity_bias.png", "plots/significance.png"} <= set(images)
    for image in images:
        file = result.out_dir / image
        assert file.is_file() and file.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
    for label in ("popularity", "group_popularity", "als_small"):
        assert label in html
    client, runs = _runs(result)
    artifacts = {a.path for a in client.list_artifacts(runs["als_small"].info.run_id, "report")}
    assert "report/report.html" in artifacts


def test_group_breakdown_rows_exist(tiny_run):
    result, _ = tiny_run
    groups = pd.read_csv(result.out_dir / "tables" / "groups.csv")
    assert {"attribute", "value", "metric", "mean", "n_learners", "too_small", "model"} <= set(groups.columns)
    assert {"group", "age_band", "urban_rural", "accessibility_needs"} <= set(groups["attribute"])
    ndcg = groups[(groups["metric"] == "ndcg_at_5") & (groups["model"] == "als_small")]
    assert set(ndcg[ndcg["attribute"] == "urban_rural"]["value"]) == {"rural", "urban"}
    gaps = pd.read_csv(result.out_dir / "tables" / "group_gaps.csv")
    assert len(gaps[(gaps["metric"] == "ndcg_at_5") & (gaps["model"] == "popularity")]) >= 4
    results_md = (result.out_dir / "results.md").read_text(encoding="utf-8")
    assert results_md.startswith("`recommender experiment run") and "| als_small |" in results_md


def test_equity_tables_hold_cis_and_history_strata(tiny_run):
    result, _ = tiny_run
    equity = pd.read_csv(result.out_dir / "tables" / "equity.csv", keep_default_na=False,
                         na_values=[""])
    als = equity[(equity["model"] == "als_small") & (equity["attribute"] == "urban_rural")]
    assert set(als["stratum"]) <= {"all", "0", "1-4", "5-19", "20+"} and "all" in set(als["stratum"])
    overall = als[als["stratum"] == "all"]
    assert (overall["ci_low"] <= overall["mean"]).all() and (overall["mean"] <= overall["ci_high"]).all()
    # the stratum counts add up to the overall count of each group
    by_stratum = als[als["stratum"] != "all"].groupby("value")["n_learners"].sum()
    assert by_stratum.to_dict() == overall.set_index("value")["n_learners"].to_dict()
    html = result.report_path.read_text(encoding="utf-8")
    assert "Relative gap within history strata" in html


def test_compare_prints_every_run_of_the_latest_invocation(tiny_run):
    result, _ = tiny_run
    output = cli.invoke(
        experiment_app, ["compare", "--tracking-uri", result.tracking_uri, "--experiment", "tiny"],
        terminal_width=250,
    )
    assert output.exit_code == 0, output.output
    for label in ("popularity", "group_popularity", "als_small"):
        assert label in output.output
    assert "ndcg@5" in output.output and "coverage@5" in output.output


def test_group_breakdowns_cover_every_metric_in_tables_report_and_mlflow(tiny_run):
    result, _ = tiny_run
    groups = pd.read_csv(result.out_dir / "tables" / "groups.csv", keep_default_na=False,
                         na_values=[""])
    gaps = pd.read_csv(result.out_dir / "tables" / "group_gaps.csv")
    per_learner = ("novelty", "category_diversity", "vector_diversity", "popularity_bias")
    for label in ("popularity", "als_small"):
        mine = groups[groups["model"] == label]
        for metric in (*[f"{name}_at_5" for name in per_learner], "coverage_at_5"):
            for attribute in ("group", "age_band", "urban_rural", "accessibility_needs"):
                assert len(mine[(mine["metric"] == metric) & (mine["attribute"] == attribute)]) >= 2, (label, metric)
                assert len(gaps[(gaps["model"] == label) & (gaps["metric"] == metric)
                                & (gaps["attribute"] == attribute)]) == 1, (label, metric, attribute)
        for column in ("provider_type", "mode"):
            assert mine["metric"].str.startswith(f"exposure_at_5.{column}.").any(), (label, column)

    # the group values are the library's metrics on the group's own learners and lists
    run = result.runs[2]
    report = run.report
    dataset = _dataset(result)
    learners = pd.DataFrame({"learner_id": report.learner_ids}).merge(
        dataset.learners, on="learner_id", how="left")
    from recommender.evaluation.beyond_accuracy import catalog_coverage

    table = report.groups.set_index(["attribute", "value", "metric"]).sort_index()
    for value in ("rural", "urban"):
        rows = (learners["urban_rural"] == value).to_numpy()
        for name in per_learner:
            assert table.loc[("urban_rural", value, f"{name}_at_5"), "mean"] == pytest.approx(
                np.nanmean(report.per_learner[f"{name}_at_5"][rows])), (value, name)
        assert table.loc[("urban_rural", value, "coverage_at_5"), "mean"] == pytest.approx(
            catalog_coverage(report.recommended[rows], len(dataset.resources), 5))
        assert table.loc[("urban_rural", value, "coverage_at_5"), "n_learners"] == rows.sum()
        shares = table.loc[("urban_rural", value)]
        shares = shares[shares.index.str.startswith("exposure_at_5.mode.")]["mean"]
        assert shares.sum() == pytest.approx(1.0)

    _, runs = _runs(result)
    metrics = runs["als_small"].data.metrics
    for name in (*per_learner, "coverage"):
        assert f"gap.urban_rural.{name}_at_5" in metrics, name
        assert f"worst_group.accessibility_needs.{name}_at_5" in metrics, name
    assert any(key.startswith("gap.group.exposure_at_5.provider_type.") for key in metrics)
    assert any(key.startswith("gap.age_band.exposure_at_5.mode.") for key in metrics)
    gap = gaps[(gaps["model"] == "als_small") & (gaps["attribute"] == "urban_rural")
               & (gaps["metric"] == "novelty_at_5")].iloc[0]
    assert metrics["gap.urban_rural.novelty_at_5"] == pytest.approx(gap["gap"])

    html = result.report_path.read_text(encoding="utf-8")
    assert "Beyond accuracy by group" in html and "Exposure by group" in html
    assert "Every metric at k=5: gap between the best- and worst-served group" in html
    for name in ("novelty_at_5", "vector_diversity_at_5", "popularity_bias_at_5", "coverage_at_5"):
        assert name in html, name


def _dataset(result):
    """The experiment's data again, as the runner loaded it."""
    from experiments.config import load_config

    config, _ = load_config(result.config_path)
    return config.data.build(config.seed)


def _split(result):
    return result.config.split.build(_dataset(result).events)


def test_learners_and_resources_only_in_test_are_listed_not_dropped(tiny_run):
    result, _ = tiny_run
    split = _split(result)
    learners = set(split.test["learner_id"]) - set(split.train["learner_id"])
    resources = set(split.test["resource_id"]) - set(split.train["resource_id"])
    assert learners and resources  # the tiny world has both
    table = pd.read_csv(result.out_dir / "tables" / "test_only.csv", dtype=str)
    assert list(table.columns) == ["kind", "id"]
    assert set(table.loc[table["kind"] == "learner", "id"]) == learners
    assert set(table.loc[table["kind"] == "resource", "id"]) == resources
    assert len(table) == len(learners) + len(resources)
    counts = f"{len(learners)} learners and {len(resources)} resources"
    assert counts + " appear only in the test period" in result.report_path.read_text(encoding="utf-8")
    assert counts + " only in test" in (result.out_dir / "results.md").read_text(encoding="utf-8")
    assert result.split_report["n_learners_only_in_test"] == len(learners)


def test_compare_shows_vector_diversity(tiny_run):
    from experiments.compare import runs_table

    result, _ = tiny_run
    table = runs_table(result.tracking_uri, "tiny")["tiny"].set_index("label")
    for run in result.runs:
        assert table.loc[run.spec.key, "vector_diversity@5"] == pytest.approx(
            run.report.summary["vector_diversity_at_5"])
    output = cli.invoke(
        experiment_app, ["compare", "--tracking-uri", result.tracking_uri, "--experiment", "tiny"],
        terminal_width=400,
    )
    assert output.exit_code == 0, output.output
    assert "vector_diversity@5" in output.output


def test_compare_unknown_experiment_names_the_ones_found(tiny_run):
    result, _ = tiny_run
    output = cli.invoke(experiment_app, ["compare", "--tracking-uri", result.tracking_uri,
                                         "--experiment", "nope"])
    assert output.exit_code == 1
    assert "nope" in output.output and "tiny" in output.output


def test_run_with_missing_data_fails_before_any_work(tmp_path: Path):
    config = tmp_path / "x.toml"
    config.write_text('name = "x"\n[data]\nsource = "oulad"\n[split]\nkind = "temporal"\n'
                      'cut = "2015-02-01"\n[[models]]\nname = "popularity"\n', encoding="utf-8")
    output = cli.invoke(experiment_app, ["run", str(config), "--out", str(tmp_path / "out"),
                                         "--data-root", str(tmp_path / "missing")])
    assert output.exit_code == 1
    flat = " ".join(output.output.split())
    assert "[data] key 'path'" in flat and "x.toml" in output.output.replace("\n", "")
    assert not (tmp_path / "out").exists()
