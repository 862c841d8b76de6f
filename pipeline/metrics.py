"""Multi-label metrics per label set, with scikit-learn's definitions (zero_division=0)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
)


def set_metrics(Y: np.ndarray, P: np.ndarray, labels: list[str],
                scores: np.ndarray | None = None,
                thresholds: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics of one label set.

    Always ``macro_f1``, ``micro_f1``, ``samples_f1``, ``subset_accuracy``,
    ``hamming_loss`` and ``per_label`` (precision, recall, f1, support, tp, fp, fn, tn);
    with ``scores`` also each label's Brier score, with ``thresholds`` its threshold.
    """
    Y, P = np.asarray(Y, dtype=int), np.asarray(P, dtype=int)
    prec, rec, f1, support = precision_recall_fscore_support(
        Y, P, average=None, labels=list(range(len(labels))), zero_division=0)
    per_label = {}
    for j, lab in enumerate(labels):
        y, p = Y[:, j], P[:, j]
        entry = {"precision": _r(prec[j]), "recall": _r(rec[j]), "f1": _r(f1[j]),
                 "support": int(support[j]),
                 "tp": int(np.sum((y == 1) & (p == 1))), "fp": int(np.sum((y == 0) & (p == 1))),
                 "fn": int(np.sum((y == 1) & (p == 0))), "tn": int(np.sum((y == 0) & (p == 0)))}
        if thresholds is not None:
            entry["threshold"] = _r(thresholds[j])
        if scores is not None:
            entry["brier"] = _r(np.mean((np.asarray(scores)[:, j] - y) ** 2)) if len(y) else 0.0
        per_label[lab] = entry
    empty = len(Y) == 0
    return {
        "macro_f1": _r(f1_score(Y, P, average="macro", zero_division=0)),
        "micro_f1": _r(f1_score(Y, P, average="micro", zero_division=0)),
        # scikit-learn scores a record with no true and no predicted label 0 here
        "samples_f1": 0.0 if empty else _r(f1_score(Y, P, average="samples", zero_division=0)),
        "subset_accuracy": 0.0 if empty else _r(accuracy_score(Y, P)),
        "hamming_loss": 0.0 if empty else _r(hamming_loss(Y, P)),
        "per_label": per_label,
    }


def all_metrics(Y: np.ndarray, P: np.ndarray, columns: list[tuple[str, str]],
                scores: np.ndarray | None = None,
                thresholds: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics for every label set in ``columns`` (set, label), plus ``n_records``."""
    out: dict[str, Any] = {}
    for set_name in dict.fromkeys(s for s, _ in columns):
        idx = [j for j, (s, _) in enumerate(columns) if s == set_name]
        out[set_name] = set_metrics(
            Y[:, idx], P[:, idx], [columns[j][1] for j in idx],
            None if scores is None else np.asarray(scores)[:, idx],
            None if thresholds is None else np.asarray(thresholds)[idx])
    out["n_records"] = len(Y)
    return out


def _r(x: float) -> float:
    return round(float(x), 4)
