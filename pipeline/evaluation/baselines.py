"""Simple alternatives the model must beat, scored on the same passages.

- keyword: a passage gets every label whose cue terms (``configs/cues.toml``, as stored in
  the model) occur in it; the plain keyword list an analyst would otherwise use.
- prior: every passage gets the labels that are true for most training passages (for
  this corpus: none); what a model that learned nothing would answer.
"""

from __future__ import annotations

import numpy as np

from pipeline.model.persistence import TraffickingModel
from pipeline.text.segments import max_by_owner


def keyword_baseline(model: TraffickingModel, cues: np.ndarray, owners: np.ndarray,
                     n: int) -> np.ndarray:
    """Binary decisions for ``n`` texts: 1 where any cue term of the label occurs in one of
    the text's sentences (``cues``: the per-sentence cue counts the model computed,
    reused, not matched again; ``owners``: each sentence's text)."""
    index = {key: j for j, key in enumerate(model.cues)}
    columns = [index[f"{s}:{lab}"] for s, lab in model.columns]
    return (max_by_owner(cues[:, columns], owners, n) > 0).astype(np.int8)


def prior_baseline(model: TraffickingModel, n: int) -> np.ndarray:
    """Binary decisions: the majority value of each label in the training data."""
    prevalence = model.card.get("training_data", {}).get("prevalence", {})
    row = np.array([prevalence.get(s, {}).get(lab, 0.0) >= 0.5 for s, lab in model.columns],
                   dtype=np.int8)
    return np.tile(row, (n, 1))
