"""Operator experiments: compare models on one split with accuracy, beyond-accuracy and
per-group metrics, tracked in MLflow and written up as an HTML report.

Run one with ``recommender experiment run experiments/<name>.toml``; see ``experiments/README.md``.
The metrics themselves live in :mod:`recommender.evaluation`; this package only orchestrates.
Entry points: :func:`experiments.runner.run_experiment`, :func:`experiments.config.load_config`
and the Typer app :data:`experiments.cli.experiment_app`. Nothing heavy is imported here, so the
command line starts fast.
"""
