"""``recommender deliver --engine spark`` writes, as a partitioned Parquet directory, exactly the
rows of the single-machine export for the same bundle: the same delivery core runs in every
partition."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from training.cli import app
from training.deliver import export_delivery_lists

pytestmark = pytest.mark.spark

AS_OF = "2024-09-01T00:00:00Z"


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["learner_id", "rank"]).reset_index(drop=True)


def test_spark_export_equals_the_single_machine_export(spark_run, tmp_path) -> None:
    _, result = spark_run
    local = export_delivery_lists(result.bundle, tmp_path / "lists.parquet", k=7, now=AS_OF,
                                  index_factory="Flat")
    out = tmp_path / "spark-lists"
    cli = CliRunner().invoke(app, [
        "deliver", "--bundle", str(result.bundle_path), "--out", str(out), "--k", "7",
        "--as-of", AS_OF, "--engine", "spark", "--spark-master", "local[2]",
        "--chunk-size", "70", "--workdir", str(tmp_path / "work")],
        env={"RECOMMENDER_INDEX_FACTORY": "Flat"})
    assert cli.exit_code == 0, cli.output
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 4  # 240 learners, 70 per task
    spark_rows = _ordered(pd.read_parquet(out))
    local_rows = _ordered(pd.read_parquet(local.path))
    assert len(local_rows) == local.rows and local.rows > 7 * 200
    pd.testing.assert_frame_equal(spark_rows, local_rows)
    assert f"wrote {local.rows} rows for 240 learners" in cli.output


def test_plans_and_the_store_stay_on_one_machine(spark_run, tmp_path) -> None:
    _, result = spark_run
    cli = CliRunner().invoke(app, [
        "deliver", "--bundle", str(result.bundle_path), "--out", str(tmp_path / "x"),
        "--engine", "spark", "--with-store"])
    assert cli.exit_code != 0
    assert "--engine spark" in cli.output and "--with-store" in cli.output
