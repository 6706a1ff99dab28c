"""The ``[engine]`` section: local by default, Spark named with its master and settings, and
every mistake named (file, section, key) before any work; none of it needs PySpark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from recommender.errors import ConfigError
from recommender.spec import LocalEngine, SparkEngine
from training import toml_writer
from training.config import load_config

ROOT = Path(__file__).resolve().parents[2]
TREE = {"data": {"source": "sample", "n_learners": 20}, "model": {"name": "als"}}


def _load(tmp_path: Path, **sections: dict) -> object:
    path = tmp_path / "config.toml"
    path.write_text(toml_writer.dumps({**TREE, **sections}), encoding="utf-8")
    return load_config(path)


def test_local_is_the_default_and_spark_carries_its_settings(tmp_path) -> None:
    assert _load(tmp_path).engine == LocalEngine()
    (tmp_path / "events").mkdir()
    engine = _load(tmp_path, engine={
        "kind": "spark", "master": "spark://127.0.0.1:7077", "executor_memory": "8g",
        "executor_cores": 4, "events": "events", "conf": {"spark.local.dir": "/scratch"}}).engine
    assert isinstance(engine, SparkEngine)
    assert engine.events == (tmp_path / "events").resolve()
    conf = engine.spark_conf()
    assert conf["spark.executor.memory"] == "8g" and conf["spark.executor.cores"] == "4"
    assert conf["spark.local.dir"] == "/scratch" and conf["spark.sql.session.timeZone"] == "UTC"
    assert engine.describe() == {"kind": "spark", "master": "spark://127.0.0.1:7077"}
    assert _load(tmp_path, engine={"kind": "spark"}).engine.master == "local[*]"


@pytest.mark.parametrize(("sections", "expected"), [
    ({"engine": {"kind": "flink"}}, "[engine] key 'kind': unknown value 'flink'"),
    ({"engine": {"kind": "spark", "executor_cores": 0}}, "[engine] key 'executor_cores'"),
    ({"engine": {"kind": "spark", "colour": 1}}, "[engine] unknown key 'colour'"),
    ({"engine": {"kind": "spark", "events": "nowhere"}}, "events Parquet"),
    ({"engine": {"kind": "spark"}, "model": {"name": "bpr"}}, "fits ALS only"),
    ({"engine": {"kind": "spark"}, "model": {"name": "als", "alpha": 0.0}}, "must be > 0"),
    ({"model": {"name": "als", "solver_form": "spark"}}, "set by [engine] kind"),
    ({"engine": {"kind": "spark", "events": "."}, "features": {"time": "ordinal"}},
     "keep their clock times"),
])
def test_mistakes_are_named(tmp_path, sections, expected) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, **sections)
    assert expected in str(caught.value)
    assert str(tmp_path / "config.toml") in str(caught.value)


def test_without_pyspark_everything_imports_and_a_spark_run_says_what_to_install() -> None:
    """PySpark is imported only when Spark is used: with it hidden, the library, the CLI glue
    and a Spark config load, and asking for a session names the extra to install."""
    script = (
        "import sys; sys.modules['pyspark'] = None\n"
        "import recommender.spark, training.spark_jobs, training.cli\n"
        "from recommender.errors import ConfigError\n"
        "from recommender.spark import spark_session\n"
        "from recommender.spec import SparkEngine\n"
        "try:\n"
        "    spark_session(SparkEngine(kind='spark'))\n"
        "except ConfigError as error:\n"
        "    print(error)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "needs PySpark" in done.stdout and "[spark]" in done.stdout
