"""pipeline.model.thresholds: per-label F1-maximising thresholds."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import f1_score

from pipeline.model.decisions import Decisions
from pipeline.model.thresholds import DocumentRule, LabelThresholds, f1_at

GRID = np.round(np.arange(5, 96) / 100, 2)


def brute_force(scores: np.ndarray, y: np.ndarray, default: float = 0.5) -> tuple[float, float]:
    """Best grid threshold by scikit-learn's F1; ties to the one closest to ``default``."""
    f1s = np.array([f1_score(y, scores >= t, zero_division=0) for t in GRID])
    ties = GRID[np.isclose(f1s, f1s.max())]
    return float(ties[np.argmin(np.abs(ties - default))]), float(f1s.max())


@pytest.mark.parametrize("threshold", [0.0, 0.2, 0.5, 0.75, 1.0])
def test_f1_at_matches_sklearn(threshold: float):
    rng = np.random.RandomState(0)
    scores, y = rng.rand(40), rng.randint(0, 2, 40)
    assert f1_at(scores, y, threshold) == pytest.approx(
        f1_score(y, scores >= threshold, zero_division=0))


def test_picks_f1_maximising_threshold():
    # positives at 0.18, 0.22, 0.31, 0.70; negatives at 0.12 and 0.40.
    # F1 is 8/9 for any threshold in (0.12, 0.18]; at the default 0.5 it is only 0.4.
    scores = np.array([[0.12], [0.18], [0.22], [0.31], [0.40], [0.70]])
    y = np.array([[0], [1], [1], [1], [0], [1]])
    tuner = LabelThresholds().fit(scores, y)
    assert tuner.thresholds_[0] == pytest.approx(0.18)  # of 0.13..0.18, closest to 0.5
    assert tuner.best_f1_[0] == pytest.approx(8 / 9)
    assert (tuner.thresholds_[0], tuner.best_f1_[0]) == pytest.approx(brute_force(scores[:, 0],
                                                                                  y[:, 0]))
    assert f1_at(scores[:, 0], y[:, 0], tuner.thresholds_[0]) > f1_at(scores[:, 0], y[:, 0], 0.5)


def test_columns_tuned_independently_and_match_brute_force():
    rng = np.random.RandomState(3)
    Y = rng.randint(0, 2, (60, 4))
    scores = np.clip(Y * 0.3 + rng.rand(60, 4) * 0.7, 0, 1)
    tuner = LabelThresholds().fit(scores, Y)
    for j in range(4):
        best_t, best_f1 = brute_force(scores[:, j], Y[:, j])
        assert tuner.thresholds_[j] == pytest.approx(best_t)
        assert tuner.best_f1_[j] == pytest.approx(best_f1)


def test_ties_go_to_the_threshold_nearest_default():
    scores = np.array([[0.1], [0.9]])
    y = np.array([[0], [1]])  # every threshold in (0.1, 0.9] is perfect
    assert LabelThresholds(default=0.5).fit(scores, y).thresholds_[0] == pytest.approx(0.5)
    assert LabelThresholds(default=0.3).fit(scores, y).thresholds_[0] == pytest.approx(0.3)


def test_grid_stop_is_included():
    scores, y = np.array([[0.94], [0.96]]), np.array([[0], [1]])
    assert LabelThresholds().fit(scores, y).thresholds_[0] == pytest.approx(0.95)


def test_label_without_positives_gets_default():
    scores = np.array([[0.2, 0.9], [0.8, 0.1], [0.6, 0.3]])
    Y = np.array([[0, 0], [1, 0], [1, 0]])
    tuner = LabelThresholds(default=0.425).fit(scores, Y)  # deliberately off the grid
    assert tuner.thresholds_[1] == 0.425 and tuner.best_f1_[1] == 0.0
    assert 0.2 < tuner.thresholds_[0] <= 0.6


def test_coarse_grid():
    scores, y = np.array([[0.15], [0.18], [0.7]]), np.array([[0], [1], [1]])
    fine = LabelThresholds().fit(scores, y)
    assert fine.thresholds_[0] == pytest.approx(0.18) and fine.best_f1_[0] == 1.0
    coarse = LabelThresholds(grid_start=0.1, grid_stop=0.9, grid_step=0.1).fit(scores, y)
    # the coarse grid has nothing in (0.15, 0.18]: 0.1 (F1 0.8) beats 0.2 (F1 2/3)
    assert coarse.thresholds_[0] == pytest.approx(0.1)
    assert coarse.best_f1_[0] == pytest.approx(0.8)


def test_sentence_labels_use_thresholds_inclusively():
    rule = Decisions(np.array([0.3, 0.6]), np.zeros((1, 2)), np.zeros((1, 2)), (), 0.01)
    out = rule.sentence_labels(np.array([[0.3, 0.59], [0.29, 0.6]]))
    assert out.tolist() == [[1, 0], [0, 1]] and out.dtype == np.int8


def test_estimator_contract():
    tuner = LabelThresholds(grid_step=0.05, default=0.4)
    assert tuner.get_params() == {"grid_start": 0.05, "grid_stop": 0.95, "grid_step": 0.05,
                                  "default": 0.4}
    assert not hasattr(tuner, "thresholds_")
    with pytest.raises(NotFittedError):
        DocumentRule().sentence_labels(np.zeros((1, 1)))
    assert clone(tuner).get_params() == tuner.get_params()
    assert tuner.fit(np.array([[0.2], [0.8]]), np.array([[0], [1]])) is tuner
