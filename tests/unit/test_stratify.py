"""pipeline.corpus.stratify: multi-label iterative stratification."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.corpus.read import label_matrix
from pipeline.corpus.stratify import iterative_folds, multilabel_kfold, multilabel_split


@pytest.fixture(scope="module")
def Y(passages, config: Config) -> np.ndarray:
    return label_matrix(passages, config)


@pytest.mark.parametrize("k", [2, 3, 4])
@pytest.mark.parametrize("seed", [0, 7, 13, 99])
def test_every_label_in_every_fold(Y: np.ndarray, k: int, seed: int):
    assert (Y.sum(axis=0) >= k).all()  # precondition: enough positives for k folds
    folds = iterative_folds(Y, k, seed)
    for f in range(k):
        per_label = Y[folds == f].sum(axis=0)
        assert (per_label > 0).all(), f"fold {f} lacks labels {np.flatnonzero(per_label == 0)}"


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_partition_rows_evenly(Y: np.ndarray, k: int):
    folds = iterative_folds(Y, k, 7)
    assert folds.shape == (len(Y),) and set(folds.tolist()) == set(range(k))
    sizes = np.bincount(folds, minlength=k)
    assert sizes.max() - sizes.min() <= 2


def test_deterministic(Y: np.ndarray):
    a = iterative_folds(Y, 3, 7)
    b = iterative_folds(Y.copy(), 3, 7)
    assert np.array_equal(a, b)
    splits_a = [(tr.tolist(), te.tolist()) for tr, te in multilabel_kfold(Y, 3, 7)]
    splits_b = [(tr.tolist(), te.tolist()) for tr, te in multilabel_kfold(Y, 3, 7)]
    assert splits_a == splits_b
    # the seed matters (tie-breaking)
    assert any(not np.array_equal(a, iterative_folds(Y, 3, s)) for s in range(1, 6))


def test_kfold_splits_are_complementary(Y: np.ndarray):
    seen = []
    for train, test in multilabel_kfold(Y, 3, 7):
        assert not set(train) & set(test)
        assert sorted([*train, *test]) == list(range(len(Y)))
        seen.extend(test.tolist())
    assert sorted(seen) == list(range(len(Y)))  # each row is held out exactly once


def test_constructed_matrix_with_unlabeled_rows():
    # label 0: 4 rows, label 1: 3 rows (two shared with label 0), plus 5 unlabeled rows
    Y = np.array([[1, 0], [1, 0], [1, 1], [1, 1], [0, 1]] + [[0, 0]] * 5)
    folds = iterative_folds(Y, 2, 1)
    assert (folds >= 0).all()
    for f in range(2):
        assert Y[folds == f].sum(axis=0).tolist()[0] == 2  # 4 positives split 2 / 2
        assert Y[folds == f, 1].sum() >= 1
    assert sorted(np.bincount(folds).tolist()) == [5, 5]


def test_multilabel_split(Y: np.ndarray):
    train, test = multilabel_split(Y, 0.25, 7)
    assert not set(train) & set(test) and len(train) + len(test) == len(Y)
    assert abs(len(test) - len(Y) / 4) <= 2
    assert (Y[test].sum(axis=0) > 0).all()
    again = multilabel_split(Y, 0.25, 7)
    assert np.array_equal(again[1], test)


def test_grouped_folds_keep_each_group_in_one_fold():
    rng = np.random.RandomState(0)
    groups = [f"doc{i // 7}" for i in range(140)]  # 20 documents of 7 sentences
    Y = (rng.rand(140, 4) < 0.2).astype(int)
    seen = {}
    for fold, (train, test) in enumerate(multilabel_kfold(Y, 5, seed=3, groups=groups)):
        assert not {groups[i] for i in train} & {groups[i] for i in test}
        for i in test:
            assert seen.setdefault(groups[i], fold) == fold
    assert len(seen) == 20


def test_unique_groups_give_the_ungrouped_folds():
    rng = np.random.RandomState(1)
    Y = (rng.rand(60, 5) < 0.3).astype(int)
    plain = [t.tolist() for _, t in multilabel_kfold(Y, 3, seed=7)]
    grouped = [t.tolist() for _, t in multilabel_kfold(Y, 3, seed=7,
                                                         groups=[f"p{i}" for i in range(60)])]
    assert plain == grouped
