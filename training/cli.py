"""The ``recommender`` command line: data, training, tuning, registry, delivery, serving, demo.

It lives in ``training/`` because it is the composition root: it wires the library
(``recommender``) to the training pipeline, and the library never imports it back. The command
groups live in :mod:`training.commands`; every command turns a :class:`RecommenderError` into a
clear message and a non-zero exit.
"""

from __future__ import annotations

import typer

from experiments.cli import experiment_app
from training.commands import data, deliver, models, serve, train
from training.tracking import quiet_mlflow_logs

app = typer.Typer(
    help="Learning-resource recommender: data, training, registry, delivery, serving, demo.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def _setup() -> None:
    """Learning-resource recommender."""
    quiet_mlflow_logs()


app.add_typer(data.app, name="data")
app.add_typer(models.app, name="models")
app.add_typer(experiment_app, name="experiment")
train.register(app)
deliver.register(app)
serve.register(app)


def main() -> None:
    app()
