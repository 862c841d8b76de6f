"""Simple alternatives the model must beat, scored on the same passages.

- keyword: a passage gets every label whose cue terms (``configs/cues.toml``, as stored in
  the model) occur in it; the plain keyword list an analyst would otherwise use.
- prior: every passage gets the labels that are true for most training passages (for
  this corpus: none); what a model that learned nothing would answer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.model import TraffickingModel
from pipeline.preprocess import Sentence


def keyword_baseline(model: TraffickingModel, texts: Sequence[str],
                     sentences: Sequence[list[Sentence]] | None = None) -> np.ndarray:
    """Binary decisions: 1 where any cue term of the label occurs in the text."""
    if sentences is None:
        sentences = list(model.preprocessor.stream(texts))
    matcher = model.segment_maker.cue_matcher
    index = {key: j for j, key in enumerate(matcher.keys)}
    columns = [index[f"{s}:{lab}"] for s, lab in model.columns]
    out = np.zeros((len(texts), len(model.columns)), dtype=np.int8)
    for i, sents in enumerate(sentences):
        counts = sum((matcher.counts(s.tokens) for s in sents),
                     np.zeros(len(matcher.keys), dtype=np.float32))
        out[i] = counts[columns] > 0
    return out


def prior_baseline(model: TraffickingModel, n: int) -> np.ndarray:
    """Binary decisions: the majority value of each label in the training data."""
    prevalence = model.card.get("training_data", {}).get("prevalence", {})
    row = np.array([prevalence.get(s, {}).get(lab, 0.0) >= 0.5 for s, lab in model.columns],
                   dtype=np.int8)
    return np.tile(row, (n, 1))
