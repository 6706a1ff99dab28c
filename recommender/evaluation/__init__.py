"""Offline evaluation: splits, metrics (each defined once) and model evaluation."""
