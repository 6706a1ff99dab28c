"""Personalised learning-resource recommendations for lifelong-learning platforms."""

__version__ = "0.1.0"
