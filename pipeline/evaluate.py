"""Score a model on annotated passages, exactly as ``predict`` would label them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.corpus import Passage, label_matrix, read_corpus
from pipeline.metrics import all_metrics
from pipeline.model import TraffickingModel
from pipeline.outputs import write_text


@dataclass
class Evaluation:
    """Truth, scores and decisions for every passage, and the metrics they give."""

    passages: list[Passage]
    Y: np.ndarray
    scores: np.ndarray
    P: np.ndarray
    metrics: dict[str, Any]


def evaluate_passages(model: TraffickingModel, passages: Sequence[Passage]) -> Evaluation:
    """Classify each passage as a one-passage document and compare with its labels."""
    Y = label_matrix(passages, model.config)
    scores = model.score_texts([p.text for p in passages])
    P = model.decide(scores)
    return Evaluation(list(passages), Y, scores, P, all_metrics(Y, P, model.columns))


def evaluate_files(model: TraffickingModel, data: Sequence[Path]) -> Evaluation:
    """Read annotated JSONL (validated against the model's label sets) and evaluate."""
    return evaluate_passages(model, read_corpus(data, model.config.label_sets))


def write_report(evaluation: Evaluation, model: TraffickingModel, report_dir: Path,
                 data: Sequence[Path]) -> list[Path]:
    """Write ``metrics.json`` and ``report.md`` to ``report_dir``; return their paths."""
    from pipeline.report import markdown_report

    report_dir = Path(report_dir)
    metrics = dict(evaluation.metrics)
    metrics_path, md_path = report_dir / "metrics.json", report_dir / "report.md"
    write_text(metrics_path, json.dumps(metrics, indent=2) + "\n")
    write_text(md_path, markdown_report(evaluation, model, data))
    return [metrics_path, md_path]
