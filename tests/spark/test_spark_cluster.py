"""A real cluster, not only local mode: a Spark standalone master and two workers on 127.0.0.1,
started with Spark's own launch classes through the pyspark package's ``spark-class``, and
``recommender train`` fitting on it (each worker runs an executor of the run)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from recommender.bundle import load_bundle
from spark_world import spark_tree
from training import toml_writer

pytestmark = pytest.mark.spark

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _wait_for(log: Path, text: str, count: int, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.is_file() and log.read_text(errors="replace").count(text) >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"{log.name}: no {count} x {text!r} within {seconds} s:\n"
                         f"{log.read_text(errors='replace')[-3000:] if log.is_file() else ''}")


@pytest.fixture
def standalone_cluster(tmp_path: Path) -> Iterator[tuple[str, list[Path]]]:
    """``spark://127.0.0.1:<port>`` with two one-core workers; their work directories."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    spark_class = spark_home / "bin" / "spark-class"
    env = {**os.environ, "SPARK_HOME": str(spark_home), "SPARK_LOCAL_IP": HOST,
           "PYSPARK_PYTHON": sys.executable}
    port = _free_port()
    master_url = f"spark://{HOST}:{port}"
    started: list[subprocess.Popen] = []
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        with open(logs / "master.log", "w") as log:
            started.append(subprocess.Popen(
                [str(spark_class), "org.apache.spark.deploy.master.Master", "--host", HOST,
                 "--port", str(port), "--webui-port", str(_free_port())],
                env=env, stdout=log, stderr=subprocess.STDOUT))
        _wait_for(logs / "master.log", "I have been elected leader", 1, 120)
        work_dirs = []
        for n in (1, 2):
            work_dirs.append(tmp_path / f"worker-{n}")
            with open(logs / f"worker-{n}.log", "w") as log:
                started.append(subprocess.Popen(
                    [str(spark_class), "org.apache.spark.deploy.worker.Worker", master_url,
                     "--host", HOST, "--cores", "1", "--memory", "1G",
                     "--webui-port", str(_free_port()), "--work-dir", str(work_dirs[-1])],
                    env=env, stdout=log, stderr=subprocess.STDOUT))
        _wait_for(logs / "master.log", "Registering worker", 2, 120)
        yield master_url, work_dirs
    finally:
        for process in reversed(started):
            process.terminate()
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def test_train_on_a_standalone_cluster_of_two_workers(standalone_cluster, tmp_path) -> None:
    master_url, work_dirs = standalone_cluster
    tree = spark_tree(
        model={"iterations": 2},
        engine={"master": master_url, "conf": {
            "spark.ui.enabled": "false", "spark.driver.host": HOST,
            "spark.driver.bindAddress": HOST, "spark.executor.memory": "512m",
            "spark.executor.cores": "1", "spark.cores.max": "2",
            "spark.executorEnv.PYTHONPATH": str(ROOT)}})
    config = tmp_path / "cluster.toml"
    config.write_text(toml_writer.dumps(tree), encoding="utf-8")
    bundle_path = tmp_path / "bundle"
    done = subprocess.run(
        [sys.executable, "-m", "training", "train", "--config", str(config), "--out",
         str(bundle_path), "--workdir", str(tmp_path / "work")],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable},
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    assert f"engine: Spark on {master_url}" in done.stderr
    assert "registered spark-model version 1" in done.stdout
    bundle = load_bundle(bundle_path)
    assert bundle.manifest["engine"] == {"kind": "spark", "master": master_url}
    assert bundle.learner_factors.shape == (240, 8) and bundle.can_cold_start
    for work_dir in work_dirs:  # each worker ran an executor of this application
        assert any(work_dir.glob("app-*/*/stderr")), f"no executor ran on {work_dir.name}"
