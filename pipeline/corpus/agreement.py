"""Inter-annotator agreement between two label files over the same passages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import cohen_kappa_score, f1_score

from pipeline.config import Config
from pipeline.corpus.read import Passage, label_matrix
from pipeline.errors import PipelineError


def agreement(first: Sequence[Passage], second: Sequence[Passage],
              config: Config) -> dict[str, Any]:
    """Cohen's kappa per label and macro-F1 per set (second scored against first).

    A label neither annotator gives to any passage counts as full agreement (F1 1).

    Both files must hold the same ids; their order does not matter.
    """
    by_id = {p.id: p for p in first}
    missing = [p.id for p in second if p.id not in by_id]
    if missing or len(first) != len(second):
        raise PipelineError(f"the two files must hold the same ids (e.g. {missing[:3]} "
                            f"are only in the second; {len(first)} vs {len(second)} records)")
    A = label_matrix([by_id[p.id] for p in second], config)
    B = label_matrix(second, config)
    out: dict[str, Any] = {"n": len(second), "kappa": {}, "macro_f1": {},
                           "disagreeing_passages": int((A != B).any(axis=1).sum())}
    for s in config.label_sets:
        idx = [j for j, (name, _) in enumerate(config.all_labels) if name == s.name]
        for j in idx:
            a, b = A[:, j], B[:, j]
            label = config.all_labels[j][1]
            # kappa is undefined when both annotators give one value throughout
            same = np.array_equal(a, b) and len(set(a)) == 1
            out["kappa"][label] = 1.0 if same else round(float(cohen_kappa_score(a, b)), 3)
        # zero_division=1: a label both annotators leave out everywhere is agreement
        out["macro_f1"][s.name] = round(float(
            f1_score(A[:, idx], B[:, idx], average="macro", zero_division=1.0)), 3)
    return out
