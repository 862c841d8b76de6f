"""Scoring a model: metrics, baselines, robustness figures, reports, plots and the
collection summary.
"""
