"""Every decision the model makes from its scores, in one place (see
:mod:`pipeline.model.thresholds` for how the numbers are tuned).

:class:`Decisions` holds a fitted rule's numbers and applies them with numpy, so
prediction decides without importing scikit-learn or scipy.stats (together about two
seconds of start-up). The evidence a document needs is a binomial quantile; a saved
model carries it for every length up to :data:`TABLE_LENGTHS`, computed beyond that.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Document lengths (sentences) whose needed evidence a saved model keeps in a table.
TABLE_LENGTHS = 5000


def needed_count(lengths: np.ndarray, rate: float | np.ndarray,
                 false_alarm: float) -> np.ndarray:
    """The smallest ``m >= 1`` with ``P(Binomial(n, rate) >= m) <= false_alarm``, per ``n``.

    That is one more than the binomial quantile at ``1 - false_alarm`` (the smallest
    ``k`` whose cumulative probability reaches it), found by bisection on the
    cumulative distribution.
    """
    from scipy.special import bdtr  # a third of a second to import: only when needed

    n, rate = np.broadcast_arrays(np.asarray(lengths, dtype=np.int64), np.asarray(rate, float))
    q = 1.0 - false_alarm
    lo = np.full(n.shape, -1, dtype=np.int64)  # cdf(lo) < q (cdf(-1) = 0)
    hi = n.copy()  # cdf(hi) >= q (cdf(n) = 1)
    while True:
        open_ = hi - lo > 1
        if not open_.any():
            break
        mid = (lo + hi) // 2
        reached = bdtr(mid, n, rate) >= q
        hi = np.where(open_ & reached, mid, hi)
        lo = np.where(open_ & ~reached, mid, lo)
    return np.maximum(1, hi + 1)


@dataclass(frozen=True)
class Decisions:
    """A fitted decision rule: sentence thresholds, and the evidence documents need.

    ``evidence`` and ``null_rate`` have one row per length band (``length_bands`` are
    the bands' upper ends, the last band open), one column per label.
    """

    thresholds: np.ndarray
    evidence: np.ndarray
    null_rate: np.ndarray
    length_bands: tuple[int, ...]
    false_alarm: float
    #: ``needed(n)`` for n = 0, 1, ... (precomputed), or None
    needed_table: np.ndarray | None = None

    def with_table(self, lengths: int = TABLE_LENGTHS) -> Decisions:
        """The same rule, with :meth:`needed` precomputed for lengths 0 to ``lengths``."""
        table = self.needed(np.arange(lengths + 1)).astype(np.int64)
        return Decisions(self.thresholds, self.evidence, self.null_rate, self.length_bands,
                         self.false_alarm, table)

    def band_index(self, n_sentences: int | np.ndarray) -> np.ndarray:
        """The band index of each document length (0 and 1 go with the first band)."""
        return np.searchsorted(np.asarray(self.length_bands), np.asarray(n_sentences),
                               side="left")

    def sentence_labels(self, scores: np.ndarray) -> np.ndarray:
        """Binary decisions (int8) per sentence or passage."""
        return (np.asarray(scores) >= self.thresholds).astype(np.int8)

    def evidence_mask(self, scores: np.ndarray, n_sentences: int | np.ndarray) -> np.ndarray:
        """Which sentences count as evidence for each label (boolean, like ``scores``).

        ``n_sentences`` is the length of the document the rows belong to: one number for
        the rows of one document, or one per row. In a one-sentence document the
        evidence is the labelled sentence.
        """
        n = np.asarray(n_sentences)
        floor = np.where((n == 1)[..., None], self.thresholds,
                         self.evidence[self.band_index(n)])
        return np.asarray(scores) >= floor

    def needed(self, n_sentences: int | np.ndarray) -> np.ndarray:
        """Evidence sentences a document of ``n_sentences`` needs, per label (a document
        of 0 sentences is never labelled)."""
        n = np.atleast_1d(np.asarray(n_sentences))
        table = self.needed_table
        if table is not None and (not len(n) or n.max() < len(table)):
            out = table[n]
        else:
            out = needed_count(n[:, None], self.null_rate[self.band_index(n)],
                               self.false_alarm)
            out[n <= 1] = 1
        return out if np.ndim(n_sentences) else out[0]

    def document_labels(self, scores: np.ndarray, owners: np.ndarray, n_docs: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per document: labels (int8), evidence counts and evidence needed.

        ``scores`` holds one row per sentence, ``owners`` each sentence's document.
        A one-sentence document is labelled as its sentence is.
        """
        owners = np.asarray(owners, dtype=int)
        scores = np.asarray(scores)
        n_labels = len(self.thresholds)
        counts = np.zeros((n_docs, n_labels), dtype=int)
        lengths = np.bincount(owners, minlength=n_docs) if len(owners) else np.zeros(
            n_docs, dtype=int)
        if len(owners):
            np.add.at(counts, owners, self.evidence_mask(scores, lengths[owners]).astype(int))
        need = self.needed(lengths).reshape(n_docs, n_labels)
        labels = ((counts >= need) & (lengths[:, None] > 0)).astype(np.int8)
        return labels, counts, need
