"""Multi-label stratified K-fold (iterative stratification, Sechidis et al., 2011).

Ordinary stratified K-fold works on one label; with 13 overlapping labels some rare
label may end up missing from a fold. Iterative stratification assigns the
passages of the rarest remaining label first, each to the fold that most needs it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


def iterative_folds(Y: np.ndarray, n_splits: int, seed: int) -> np.ndarray:
    """Fold number (0..n_splits-1) of every row of the binary label matrix ``Y``."""
    Y = np.asarray(Y, dtype=bool)
    n = Y.shape[0]
    rng = np.random.RandomState(seed)
    order = rng.permutation(n)  # random tie-breaking, fixed by the seed
    Y = Y[order]
    folds = np.full(n, -1)
    desired = np.full(n_splits, n / n_splits)
    desired_label = np.outer(np.full(n_splits, 1 / n_splits), Y.sum(axis=0))
    remaining = np.ones(n, dtype=bool)
    while remaining.any():
        counts = Y[remaining].sum(axis=0)
        if counts.sum() == 0:
            # unlabeled rows: fill the folds that still want the most rows
            for i in np.flatnonzero(remaining):
                f = int(np.argmax(desired + rng.uniform(0, 1e-6, n_splits)))
                folds[i] = f
                desired[f] -= 1
            break
        label = int(np.argmin(np.where(counts > 0, counts, np.inf)))
        for i in np.flatnonzero(remaining & Y[:, label]):
            want = desired_label[:, label]
            best = np.flatnonzero(want == want.max())
            if len(best) > 1:
                best = best[desired[best] == desired[best].max()]
            f = int(best[rng.randint(len(best))]) if len(best) > 1 else int(best[0])
            folds[i] = f
            desired[f] -= 1
            desired_label[f] -= Y[i]
            remaining[i] = False
    out = np.empty(n, dtype=int)
    out[order] = folds
    return out


def multilabel_kfold(Y: np.ndarray, n_splits: int, seed: int,
                     groups: Sequence[str] | None = None
                     ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(train_index, test_index)`` pairs like scikit-learn's splitters.

    With ``groups`` (e.g. the document of each sentence), rows of a group stay in one
    fold: groups are stratified by the labels any of their rows carries, so sentences
    of one document never score each other out of fold.
    """
    if groups is None:
        folds = iterative_folds(Y, n_splits, seed)
    else:
        names, index = np.unique(np.asarray(groups, dtype=object).astype(str),
                                 return_index=False, return_inverse=True)
        first = np.full(len(names), len(index))
        np.minimum.at(first, index, np.arange(len(index)))
        order = np.argsort(first, kind="stable")  # groups in order of first appearance
        rank = np.empty(len(names), dtype=int)
        rank[order] = np.arange(len(names))
        G = np.zeros((len(names), Y.shape[1]), dtype=bool)
        np.logical_or.at(G, rank[index], np.asarray(Y, dtype=bool))
        folds = iterative_folds(G, n_splits, seed)[rank[index]]
    for f in range(n_splits):
        yield np.flatnonzero(folds != f), np.flatnonzero(folds == f)


def multilabel_split(Y: np.ndarray, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """One label-stratified train/test split with about ``test_size`` of rows in test."""
    n_splits = max(2, round(1 / test_size))
    folds = iterative_folds(Y, n_splits, seed)
    return np.flatnonzero(folds != 0), np.flatnonzero(folds == 0)
