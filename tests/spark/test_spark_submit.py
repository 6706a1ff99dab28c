"""``spark-submit`` runs the training entry point as the driver (the README's command for a
cluster manager that wants it): the job runs on the master spark-submit was given, and a config
naming another master is refused with both named, never silently overridden."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from recommender.bundle import load_bundle
from spark_world import spark_tree
from training import toml_writer

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]


def _submit(tmp_path: Path, submitted: str, configured: str) -> subprocess.CompletedProcess:
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    config = tmp_path / "job.toml"
    config.write_text(toml_writer.dumps(spark_tree(
        model={"iterations": 2}, engine={"master": configured})), encoding="utf-8")
    return subprocess.run(
        [str(spark_home / "bin" / "spark-submit"), "--master", submitted,
         "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.host=127.0.0.1",
         str(ROOT / "training" / "__main__.py"), "train", "--config", str(config),
         "--out", str(tmp_path / "bundle"), "--workdir", str(tmp_path / "work")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
        env={**os.environ, "SPARK_HOME": str(spark_home), "PYSPARK_PYTHON": sys.executable,
             "PYSPARK_DRIVER_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)})


def test_spark_submit_trains_on_the_master_it_was_given(tmp_path: Path) -> None:
    done = _submit(tmp_path, "local[2]", "local[2]")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert "engine: Spark on local[2]" in done.stdout + done.stderr
    bundle = load_bundle(tmp_path / "bundle")
    assert bundle.manifest["engine"] == {"kind": "spark", "master": "local[2]"}
    assert bundle.learner_factors.shape == (240, 8)


def test_a_config_naming_another_master_is_refused_under_spark_submit(tmp_path: Path) -> None:
    done = _submit(tmp_path, "local[2]", "local[1]")
    assert done.returncode != 0
    assert ("[engine] key 'master': 'local[1]', but spark-submit runs this job on 'local[2]'"
            in done.stderr + done.stdout)
    assert "Traceback" not in done.stdout + done.stderr
    assert not (tmp_path / "bundle").exists()
