"""Per-label decision thresholds, tuned to maximise each label's F1 on held-out scores."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted


def f1_at(scores: np.ndarray, y: np.ndarray, threshold: float) -> float:
    """F1 of ``scores >= threshold`` against binary ``y``."""
    pred = scores >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


class LabelThresholds(BaseEstimator):
    """Choose one threshold per label column from a grid, by best F1.

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
        n_steps = round((self.grid_stop - self.grid_start) / self.grid_step)
        grid = np.round(self.grid_start + self.grid_step * np.arange(n_steps + 1), 6)
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

    def transform(self, scores: np.ndarray) -> np.ndarray:
        """Binary decisions (int8) for a score matrix."""
        check_is_fitted(self, "thresholds_")
        return (np.asarray(scores) >= self.thresholds_).astype(np.int8)
