"""Turn texts into :class:`Segments`: whole passages or sentences.

This is where spaCy output (sentences, normalised tokens) and cue counts meet, so
training, evaluation and prediction build their inputs the same way. Segment texts
(for character n-grams) are normalised as the tokens are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.text.cues import CueMatcher
from pipeline.text.normalize import normalize_text
from pipeline.text.preprocess import Sentence


@dataclass
class Segments:
    """Parallel lists describing segments; ``cues`` is (n_segments x n_labels)."""

    texts: list[str]
    tokens: list[str]  # normalised tokens joined by single spaces
    cues: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, index: Sequence[int]) -> Segments:
        """The segments at ``index`` (for cross-validation folds)."""
        idx = list(index)
        return Segments([self.texts[i] for i in idx], [self.tokens[i] for i in idx],
                        self.cues[idx])


class SegmentMaker:
    """Builds segments from preprocessed texts, adding cue counts."""

    def __init__(self, cue_matcher: CueMatcher) -> None:
        self.cue_matcher = cue_matcher

    def passages(self, texts: Sequence[str], sentences: Sequence[list[Sentence]],
                 per_sentence: tuple[Segments, np.ndarray] | None = None) -> Segments:
        """One segment per text, its sentences' tokens joined (training unit).

        Its cue counts are the sums of its sentences' counts; pass ``per_sentence`` (what
        :meth:`sentences` returned for the same texts) to reuse them instead of matching again.
        """
        segs, owners = per_sentence or self.sentences(texts, sentences)
        cues = np.zeros((len(texts), segs.cues.shape[1]), dtype=np.float32)
        np.add.at(cues, owners, segs.cues)
        tokens = [" ".join(t for s in sents for t in s.tokens) for sents in sentences]
        return Segments([normalize_text(t).text for t in texts], tokens, cues)

    def sentences(self, texts: Sequence[str], sentences: Sequence[list[Sentence]]
                  ) -> tuple[Segments, np.ndarray]:
        """One segment per sentence, plus the index of the text each belongs to."""
        seg_texts, tokens, owners = [], [], []
        for i, (text, sents) in enumerate(zip(texts, sentences, strict=True)):
            # each sentence normalised on its own: the same text as slicing the
            # normalised document (the changes are local), without a copy of the document
            seg_texts.extend(normalize_text(text[s.start:s.end]).text for s in sents)
            tokens.extend(s.tokens for s in sents)
            owners.extend([i] * len(sents))
        cues = self.cue_matcher.counts_many(tokens)  # one pass over the whole batch
        return (Segments(seg_texts, list(map(" ".join, tokens)), cues),
                np.array(owners, dtype=int))


def max_by_owner(scores: np.ndarray, owners: np.ndarray, n_owners: int) -> np.ndarray:
    """Per-text maximum of sentence scores (0 for a text with no sentence)."""
    out = np.zeros((n_owners, scores.shape[1]), dtype=np.float64)
    if len(owners):
        np.maximum.at(out, owners, scores)
    return out
