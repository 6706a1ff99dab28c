"""The ``recommender`` command groups; :mod:`training.cli` wires them into one app."""
