"""Turn texts into :class:`~pipeline.features.Segments`: whole passages or sentences.

This is where spaCy output (sentences, normalised tokens) and cue counts meet, so
training, evaluation and prediction build their inputs the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pipeline.cues import CueMatcher
from pipeline.features import Segments
from pipeline.preprocess import Sentence


class SegmentMaker:
    """Builds segments from preprocessed texts, adding cue counts."""

    def __init__(self, cue_matcher: CueMatcher) -> None:
        self.cue_matcher = cue_matcher

    def passages(self, texts: Sequence[str], sentences: Sequence[list[Sentence]]) -> Segments:
        """One segment per text, its sentences' tokens joined (training unit)."""
        tokens = [[t for s in sents for t in s.tokens] for sents in sentences]
        cues = self._cues([tuple(s.tokens) for s in sents] for sents in sentences)
        return Segments(list(texts), [" ".join(t) for t in tokens], cues)

    def sentences(self, texts: Sequence[str], sentences: Sequence[list[Sentence]]
                  ) -> tuple[Segments, np.ndarray]:
        """One segment per sentence, plus the index of the text each belongs to."""
        seg_texts, seg_tokens, owners, groups = [], [], [], []
        for i, (text, sents) in enumerate(zip(texts, sentences, strict=True)):
            for s in sents:
                seg_texts.append(text[s.start:s.end])
                seg_tokens.append(" ".join(s.tokens))
                owners.append(i)
                groups.append([s.tokens])
        return Segments(seg_texts, seg_tokens, self._cues(groups)), np.array(owners, dtype=int)

    def _cues(self, groups) -> np.ndarray:
        rows = [sum((self.cue_matcher.counts(toks) for toks in group),
                    np.zeros(len(self.cue_matcher.keys), dtype=np.float32))
                for group in groups]
        if not rows:
            return np.zeros((0, len(self.cue_matcher.keys)), dtype=np.float32)
        return np.vstack(rows)


def max_by_owner(scores: np.ndarray, owners: np.ndarray, n_owners: int) -> np.ndarray:
    """Per-text maximum of sentence scores (0 for a text with no sentence)."""
    out = np.zeros((n_owners, scores.shape[1]), dtype=np.float64)
    if len(owners):
        np.maximum.at(out, owners, scores)
    return out
