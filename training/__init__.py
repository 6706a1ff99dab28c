"""Retraining from the command line: configs, tracked runs, registry, tuning, delivery lists."""
