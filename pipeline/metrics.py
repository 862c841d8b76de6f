"""Multi-label metrics per label set, with scikit-learn's definitions (zero_division=0)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import f1_score, precision_recall_fscore_support


def set_metrics(Y: np.ndarray, P: np.ndarray, labels: list[str]) -> dict[str, Any]:
    """``macro_f1``, ``micro_f1``, ``samples_f1`` and ``per_label`` for one label set."""
    Y, P = np.asarray(Y, dtype=int), np.asarray(P, dtype=int)
    prec, rec, f1, support = precision_recall_fscore_support(
        Y, P, average=None, labels=list(range(len(labels))), zero_division=0)
    return {
        "macro_f1": _r(f1_score(Y, P, average="macro", zero_division=0)),
        "micro_f1": _r(f1_score(Y, P, average="micro", zero_division=0)),
        # scikit-learn scores a record with no true and no predicted label 0 here
        "samples_f1": _r(f1_score(Y, P, average="samples", zero_division=0)) if len(Y) else 0.0,
        "per_label": {
            lab: {"precision": _r(prec[j]), "recall": _r(rec[j]), "f1": _r(f1[j]),
                  "support": int(support[j])}
            for j, lab in enumerate(labels)
        },
    }


def all_metrics(Y: np.ndarray, P: np.ndarray, columns: list[tuple[str, str]]) -> dict[str, Any]:
    """Metrics for every label set in ``columns`` (set, label), plus ``n_records``."""
    out: dict[str, Any] = {}
    for set_name in dict.fromkeys(s for s, _ in columns):
        idx = [j for j, (s, _) in enumerate(columns) if s == set_name]
        out[set_name] = set_metrics(Y[:, idx], P[:, idx], [columns[j][1] for j in idx])
    out["n_records"] = len(Y)
    return out


def _r(x: float) -> float:
    return round(float(x), 4)
