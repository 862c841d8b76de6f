"""K-fold cross-validation of a whole configuration (features, classifier, thresholds).

Each fold trains exactly as ``train`` does (including its own inner K-fold threshold
tuning) on the other folds and is evaluated as ``evaluate`` does, so the spread across
folds shows how much the figures depend on the particular split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pipeline.config import Config
from pipeline.corpus.read import Passage, groups_of, label_matrix
from pipeline.corpus.stratify import multilabel_kfold
from pipeline.evaluation.evaluate import evaluate_passages
from pipeline.evaluation.metrics import fmt
from pipeline.model.train import check_label_counts, fit_model

SET_METRICS = ("macro_f1", "micro_f1", "samples_f1", "subset_accuracy", "hamming_loss")


def cross_validate(passages: Sequence[Passage], config: Config, k: int,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Mean and standard deviation over ``k`` folds of every set metric and label F1."""
    say = progress or (lambda _msg: None)
    if k < 2:
        from pipeline.errors import PipelineError

        raise PipelineError(f"--cv: need at least 2 folds, got {k}")
    Y = label_matrix(passages, config)
    check_label_counts(Y, config)
    folds = []
    for n, (train_idx, test_idx) in enumerate(
            multilabel_kfold(Y, k, config.seed, groups_of(passages)), 1):
        say(f"fold {n}/{k}: training on {len(train_idx)} passages")
        model = fit_model([passages[i] for i in train_idx], config)
        folds.append(evaluate_passages(model, [passages[i] for i in test_idx]).metrics)
    out: dict[str, Any] = {"folds": k, "n_records": len(passages)}
    for s in config.label_sets:
        entry: dict[str, Any] = {}
        for name in SET_METRICS:
            entry[name] = _mean_std([f[s.name][name] for f in folds])
        entry["per_label"] = {lab: {"f1": _mean_std([f[s.name]["per_label"][lab]["f1"]
                                                    for f in folds])}
                              for lab in s.labels}
        entry["keyword_macro_f1"] = _mean_std([f["baselines"]["keyword"][s.name]["macro_f1"]
                                               for f in folds])
        out[s.name] = entry
    return out


def _mean_std(values: list[float | None]) -> dict[str, float | None]:
    """Mean and standard deviation over the folds where the figure is defined."""
    arr = np.asarray([v for v in values if v is not None], dtype=float)
    if not len(arr):
        return {"mean": None, "std": None}
    return {"mean": round(float(arr.mean()), 4), "std": round(float(arr.std(ddof=1)), 4)
            if len(arr) > 1 else 0.0}


def cv_table(result: dict[str, Any]) -> str:
    """Mean ± std per metric, as a Markdown table (also readable in a terminal)."""
    lines = [f"{result['folds']}-fold cross-validation over {result['n_records']} passages", "",
             "| set | metric | mean ± std |", "|---|---|---|"]
    for s, entry in result.items():
        if not isinstance(entry, dict):
            continue
        for name in (*SET_METRICS, "keyword_macro_f1"):
            v = entry[name]
            lines.append(f"| {s} | {name} | {fmt(v['mean'])} ± {fmt(v['std'])} |")
        for lab, v in entry["per_label"].items():
            lines.append(f"| {s} | F1 {lab} | {fmt(v['f1']['mean'])} ± {fmt(v['f1']['std'])} |")
    return "\n".join(lines) + "\n"
