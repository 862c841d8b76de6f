"""Prediction runs: records per document or sentence, engines, streaming runs."""
