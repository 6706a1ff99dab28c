"""Retraining from the command line: pipelines, configs and MLflow tracking."""
