"""How the decision rule's numbers are tuned (applied by
:class:`pipeline.model.decisions.Decisions`, the one place decisions are made).

- A **sentence** (or a training passage) gets a label when its score reaches the
  label's threshold, tuned to maximise the label's F1 on out-of-fold scores.
- A **document** of ``n`` sentences gets a label when at least ``m(n)`` of its
  sentences reach the label's *evidence threshold* for documents of that length (one
  per length band), where ``m(n)`` is the smallest
  count that a document with no sentence of that label would reach with probability
  at most ``false_alarm`` (a binomial tail, from the label's out-of-fold false-positive
  rate at that threshold). So a label-free document gets a label no more often when
  it is long than when it is short, and a long document needs more evidence than a
  short one. The evidence thresholds (never below the sentence thresholds, so evidence
  sentences are labelled sentences) are tuned for document F1 on out-of-fold scores
  of whole documents and of windows cut from them. A one-sentence document is
  labelled as its sentence is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from pipeline.model.decisions import Decisions, needed_count


def f1_at(scores: np.ndarray, y: np.ndarray, threshold: float) -> float:
    """F1 of ``scores >= threshold`` against binary ``y``."""
    return _f1(np.asarray(scores) >= threshold, np.asarray(y) == 1)


def f1_columns(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """F1 of each column of binary ``pred`` against ``truth`` (0 where no true positive);
    a 1-D input gives a 0-d array."""
    pred, truth = np.asarray(pred, dtype=bool), np.asarray(truth, dtype=bool)
    tp = (pred & truth).sum(axis=0)
    fp = (pred & ~truth).sum(axis=0)
    fn = (~pred & truth).sum(axis=0)
    return np.where(tp > 0, 2 * tp / np.maximum(1, 2 * tp + fp + fn), 0.0)


def _f1(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(f1_columns(pred, truth))


def _grid(start: float, stop: float, step: float) -> np.ndarray:
    n_steps = round((stop - start) / step)
    return np.round(start + step * np.arange(n_steps + 1), 6)


class LabelThresholds(BaseEstimator):
    """Choose one threshold per label column from a grid, by best F1 (applied by
    :meth:`pipeline.model.decisions.Decisions.sentence_labels`, the one place
    sentence decisions are made).

    Ties go to the threshold closest to ``default``, which keeps the choice stable
    when several thresholds separate the held-out scores equally well.

    Parameters
    ----------
    grid_start, grid_stop, grid_step : float
        The candidate thresholds (inclusive grid).
    default : float
        Threshold used for a label whose best F1 is 0 (e.g. no positives).
    """

    def __init__(self, *, grid_start=0.05, grid_stop=0.95, grid_step=0.01, default=0.5):
        self.grid_start = grid_start
        self.grid_stop = grid_stop
        self.grid_step = grid_step
        self.default = default

    def fit(self, scores: np.ndarray, Y: np.ndarray) -> LabelThresholds:
        scores, Y = np.asarray(scores), np.asarray(Y)
        grid = _grid(self.grid_start, self.grid_stop, self.grid_step)
        thresholds, best = [], []
        for j in range(Y.shape[1]):
            f1s = np.array([f1_at(scores[:, j], Y[:, j], t) for t in grid])
            top = f1s.max()
            if top == 0:
                thresholds.append(float(self.default))
            else:
                ties = grid[f1s == top]
                thresholds.append(float(ties[np.argmin(np.abs(ties - self.default))]))
            best.append(float(top))
        self.thresholds_ = np.array(thresholds)
        self.best_f1_ = np.array(best)
        return self


class DocumentRule(BaseEstimator):
    """Sentence thresholds, and the evidence a document needs per label (see the module).

    Parameters
    ----------
    false_alarm : float
        Per label, the largest chance that a document with no sentence of the label
        gets it, at any length.
    grid_start, grid_stop, grid_step, default : float
        The sentence-threshold grid of :class:`LabelThresholds`; evidence thresholds
        are searched on the same grid, up to ``evidence_stop``.
    evidence_stop : float
        The highest evidence threshold tried.
    length_bands : tuple of int
        Upper ends of the document lengths (in sentences, from 2) that get their own
        evidence thresholds; the last band is open (default: 2-5, 6-20, 21+). Each band
        is tuned on the training documents of its length and on consecutive windows of
        that length cut from longer ones.
    synthetic_lengths : tuple of int
        Without documents to tune on, passages are shuffled into documents of these
        lengths, in turn (seeded by ``random_state``).
    random_state : int
    """

    def __init__(self, *, false_alarm=0.01, grid_start=0.05, grid_stop=0.95, grid_step=0.01,
                 default=0.5, evidence_stop=0.99, length_bands=(5, 20),
                 synthetic_lengths=(2, 3, 5, 8, 13, 21, 34), random_state=0):
        self.false_alarm = false_alarm
        self.grid_start = grid_start
        self.grid_stop = grid_stop
        self.grid_step = grid_step
        self.default = default
        self.evidence_stop = evidence_stop
        self.length_bands = length_bands
        self.synthetic_lengths = synthetic_lengths
        self.random_state = random_state

    def fit(self, scores: np.ndarray, Y: np.ndarray,
            documents: Sequence[object] | None = None) -> DocumentRule:
        """Tune on out-of-fold ``scores`` of passages with labels ``Y``.

        ``documents`` names each passage's document; without it, the passages are
        shuffled into documents of ``synthetic_lengths`` to tune on.
        """
        scores, Y = np.asarray(scores, dtype=float), np.asarray(Y).astype(bool)
        edges = [int(b) for b in self.length_bands]
        if edges != sorted(set(edges)) or (edges and edges[0] < 2):
            raise ValueError(f"length_bands must rise from 2 or more, got {self.length_bands}")
        tuner = LabelThresholds(grid_start=self.grid_start, grid_stop=self.grid_stop,
                                grid_step=self.grid_step, default=self.default)
        self.thresholds_ = tuner.fit(scores, Y).thresholds_
        self.best_f1_ = tuner.best_f1_
        self.negatives_ = [np.sort(scores[~Y[:, j], j]) for j in range(Y.shape[1])]
        owners, n_docs = (_owners(documents) if documents is not None
                          else self._synthetic(len(scores)))
        members = [np.flatnonzero(owners == d) for d in range(n_docs)]
        evidence = np.tile(self.thresholds_, (len(edges) + 1, 1))
        for band, (lo, hi) in enumerate(self.bands_of(edges)):
            pool = _band_pool(members, lo, hi)
            if pool:
                evidence[band] = self._tune(scores, Y, pool)
        self.evidence_ = evidence
        self.null_rate_ = np.array([[self._null_rate(j, t) for j, t in enumerate(row)]
                                    for row in evidence])
        del self.negatives_  # only needed to fit; keeps the saved model small
        return self

    @staticmethod
    def bands_of(edges: Sequence[int]) -> list[tuple[int, int | None]]:
        """The length bands ``(lo, hi)`` of documents of 2 or more sentences."""
        starts = [2, *(e + 1 for e in edges)]
        return list(zip(starts, [*edges, None], strict=True))

    def band_names(self) -> list[str]:
        """``"2-5"``, ``"6-20"``, ``"21+"``: a name per band, for cards and reports."""
        return [f"{lo}+" if hi is None else f"{lo}-{hi}"
                for lo, hi in self.bands_of(self.length_bands)]

    def _tune(self, scores: np.ndarray, Y: np.ndarray, pool: list[np.ndarray]) -> np.ndarray:
        """The evidence threshold per label with the best document F1 over ``pool``
        (each an array of passage rows forming one document)."""
        rows = np.concatenate(pool)
        owners = np.repeat(np.arange(len(pool)), [len(m) for m in pool])
        lengths = np.array([len(m) for m in pool])
        truth = np.zeros((len(pool), Y.shape[1]), dtype=bool)
        np.logical_or.at(truth, owners, Y[rows])
        grid = _grid(self.grid_start, self.evidence_stop, self.grid_step)
        best = self.thresholds_.copy()
        for j in range(Y.shape[1]):
            top = -1.0
            for t in grid[grid >= self.thresholds_[j] - 1e-9]:
                counts = np.bincount(owners, weights=scores[rows, j] >= t,
                                     minlength=len(pool))
                f1 = _f1(counts >= self._needed(lengths, self._null_rate(j, t)), truth[:, j])
                if f1 > top + 1e-12:
                    top, best[j] = f1, t
        return best

    def _synthetic(self, n: int) -> tuple[np.ndarray, int]:
        """Owners that cut a seeded shuffle of ``n`` passages into documents."""
        order = np.random.default_rng(self.random_state).permutation(n)
        owners = np.empty(n, dtype=int)
        start, doc = 0, 0
        while start < n:
            length = self.synthetic_lengths[doc % len(self.synthetic_lengths)]
            owners[order[start:start + length]] = doc
            start, doc = start + length, doc + 1
        return owners, doc

    def _null_rate(self, j: int, threshold: float) -> float:
        """Share of label-``j``-negative passages scoring at least ``threshold`` (+1 smoothed)."""
        neg = self.negatives_[j]
        over = len(neg) - np.searchsorted(neg, threshold, side="left")
        return float((over + 1) / (len(neg) + 1))

    def _needed(self, lengths: np.ndarray, rate: float | np.ndarray) -> np.ndarray:
        return needed_count(lengths, rate, self.false_alarm)

    @property
    def decisions_(self) -> Decisions:
        """The fitted rule's numbers, as :class:`Decisions` applies them."""
        check_is_fitted(self, "null_rate_")
        return Decisions(np.asarray(self.thresholds_, dtype=float), np.asarray(self.evidence_),
                         np.asarray(self.null_rate_), tuple(int(b) for b in self.length_bands),
                         float(self.false_alarm))

    def band_index(self, n_sentences: int | np.ndarray) -> np.ndarray:
        """The band index of each document length (:class:`Decisions`)."""
        return self.decisions_.band_index(n_sentences)

    def sentence_labels(self, scores: np.ndarray) -> np.ndarray:
        """Binary decisions (int8) per sentence or passage (:class:`Decisions`)."""
        return self.decisions_.sentence_labels(scores)

    def evidence(self, scores: np.ndarray, n_sentences: int | np.ndarray) -> np.ndarray:
        """Which sentences count as evidence for each label (:class:`Decisions`)."""
        return self.decisions_.evidence_mask(scores, n_sentences)

    def needed(self, n_sentences: int | np.ndarray) -> np.ndarray:
        """Evidence sentences a document of ``n_sentences`` needs (:class:`Decisions`)."""
        return self.decisions_.needed(n_sentences)

    def document_labels(self, scores: np.ndarray, owners: np.ndarray, n_docs: int
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per document: labels, evidence counts and evidence needed (:class:`Decisions`)."""
        return self.decisions_.document_labels(scores, owners, n_docs)


def _band_pool(members: list[np.ndarray], lo: int, hi: int | None) -> list[np.ndarray]:
    """Documents of ``lo`` to ``hi`` sentences, and consecutive windows of ``lo``, the
    middle and ``hi`` sentences cut from longer documents (realistic excerpts)."""
    pool = [m for m in members if len(m) >= lo and (hi is None or len(m) <= hi)]
    if hi is None:
        return pool
    for size in sorted({lo, (lo + hi) // 2, hi}):
        for m in members:
            if len(m) > hi:
                pool.extend(m[i:i + size] for i in range(0, len(m) - size + 1, size))
    return pool


def _owners(documents: Sequence[object]) -> tuple[np.ndarray, int]:
    index: dict[object, int] = {}
    owners = np.array([index.setdefault(d, len(index)) for d in documents], dtype=int)
    return owners, len(index)
