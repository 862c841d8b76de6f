"""Multi-label metrics per label set, with scikit-learn's definitions.

Agreement on "no label" counts: a passage with no true and no predicted label scores
1 in samples-F1 (``zero_division=1``), and so does a set where neither has any label
in micro-F1. A label with no support (no passage has it) has no recall or F1: they are
None ("n/a"), and macro-F1 averages over the labels with support only. A supported
label that is never predicted has precision 0, as in scikit-learn's ``zero_division=0``.
"""

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
    ``hamming_loss``, ``labels_without_support`` (left out of ``macro_f1``, which is
    None when no label has support) and ``per_label`` (precision, recall, f1, support,
    tp, fp, fn, tn);
    with ``scores`` also each label's Brier score, with ``thresholds`` its threshold.
    """
    Y, P = np.asarray(Y, dtype=int), np.asarray(P, dtype=int)
    prec, rec, f1, support = precision_recall_fscore_support(
        Y, P, average=None, labels=list(range(len(labels))), zero_division=0)
    per_label = {}
    for j, lab in enumerate(labels):
        y, p = Y[:, j], P[:, j]
        tp, fp = int(np.sum((y == 1) & (p == 1))), int(np.sum((y == 0) & (p == 1)))
        supported = bool(support[j])
        entry = {"precision": _r(prec[j]) if supported or fp else None,
                 "recall": _r(rec[j]) if supported else None,
                 "f1": _r(f1[j]) if supported else None,
                 "support": int(support[j]), "tp": tp, "fp": fp,
                 "fn": int(np.sum((y == 1) & (p == 0))), "tn": int(np.sum((y == 0) & (p == 0)))}
        if thresholds is not None:
            entry["threshold"] = _r(thresholds[j])
        if scores is not None:
            entry["brier"] = _r(np.mean((np.asarray(scores)[:, j] - y) ** 2)) if len(y) else 0.0
        per_label[lab] = entry
    empty = len(Y) == 0
    with_support = [f1[j] for j in range(len(labels)) if support[j]]
    return {
        "macro_f1": _r(np.mean(with_support)) if with_support else None,
        "micro_f1": 0.0 if empty else _r(f1_score(Y, P, average="micro", zero_division=1)),
        "samples_f1": 0.0 if empty else _r(f1_score(Y, P, average="samples", zero_division=1)),
        "subset_accuracy": 0.0 if empty else _r(accuracy_score(Y, P)),
        "hamming_loss": 0.0 if empty else _r(hamming_loss(Y, P)),
        "labels_without_support": [lab for j, lab in enumerate(labels) if not support[j]],
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


def fmt(value: float | None, spec: str = ".3f") -> str:
    """A metric for a table: ``n/a`` when it is undefined (a label without support)."""
    return "n/a" if value is None else format(value, spec)
