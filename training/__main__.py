"""``python -m training ...`` is the same command line as ``recommender ...``."""

from training.cli import main

main()
