"""How much to trust a figure: bootstrap intervals, length bands, label-free documents.

Label supports in an evaluation set are small (a few dozen documents), so every
macro-F1 comes with a bootstrap 95% interval; document figures are broken down by
length, and documents built only from label-free passages show whether document
labels inflate with length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pipeline.model.thresholds import f1_columns

#: Document length bands in sentences: (name, smallest, largest).
BANDS = (("1", 1, 1), ("2-5", 2, 5), ("6-20", 6, 20), ("21+", 21, None))


def _macro(Y: np.ndarray, P: np.ndarray, columns: list[tuple[str, str]]
           ) -> dict[str, float | None]:
    """Macro-F1 per label set over labels with support (as :mod:`pipeline.evaluation.metrics`)."""
    f1 = f1_columns(P, Y)
    support = np.asarray(Y, dtype=bool).sum(axis=0) > 0
    out: dict[str, float | None] = {}
    for s in dict.fromkeys(s for s, _ in columns):
        idx = [j for j, (name, _) in enumerate(columns) if name == s and support[j]]
        out[s] = round(float(f1[idx].mean()), 4) if idx else None
    return out


def bootstrap_macro_f1(Y: np.ndarray, P: np.ndarray, columns: list[tuple[str, str]], *,
                       groups: Sequence[object] | None = None, n_resamples: int = 1000,
                       seed: int = 0, level: float = 0.95) -> dict[str, list[float] | None]:
    """Percentile interval of each label set's macro-F1 over resamples of the rows.

    With ``groups`` (a sentence's document), whole groups are resampled, so sentences
    of one document do not count as independent evidence.
    """
    Y, P = np.asarray(Y), np.asarray(P)
    if groups is None:
        members = [np.array([i]) for i in range(len(Y))]
    else:
        index: dict[object, list[int]] = {}
        for i, g in enumerate(groups):
            index.setdefault(g, []).append(i)
        members = [np.array(v) for v in index.values()]
    sets = list(dict.fromkeys(s for s, _ in columns))
    if not members or n_resamples < 1:
        return dict.fromkeys(sets)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {s: [] for s in sets}
    for _ in range(n_resamples):
        rows = np.concatenate([members[i] for i in rng.integers(len(members), size=len(members))])
        for s, v in _macro(Y[rows], P[rows], columns).items():
            if v is not None:
                draws[s].append(v)
    tail = (1 - level) / 2 * 100
    return {s: ([round(float(np.percentile(v, tail)), 4),
                 round(float(np.percentile(v, 100 - tail)), 4)] if v else None)
            for s, v in draws.items()}


def length_bands(Y: np.ndarray, P: np.ndarray, lengths: np.ndarray,
                 columns: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Document count, mean labels per document (true and predicted) and macro-F1 per
    length band."""
    rows = []
    for name, lo, hi in BANDS:
        mask = (lengths >= lo) & (lengths <= (hi if hi is not None else np.inf))
        entry: dict[str, Any] = {"band": name, "documents": int(mask.sum()),
                                 "true_labels": round(float(Y[mask].sum(1).mean()), 2)
                                 if mask.any() else None,
                                 "predicted_labels": round(float(P[mask].sum(1).mean()), 2)
                                 if mask.any() else None}
        entry.update({f"{s}_macro_f1": v for s, v in
                      (_macro(Y[mask], P[mask], columns) if mask.any()
                       else dict.fromkeys(dict.fromkeys(s for s, _ in columns))).items()})
        rows.append(entry)
    return rows


def label_free_documents(scores: np.ndarray, Y: np.ndarray,
                         decide: Callable[[np.ndarray, np.ndarray, int], np.ndarray], *,
                         sizes: Sequence[int] = (1, 5, 20), n_documents: int = 200,
                         seed: int = 0) -> dict[str, Any]:
    """Share of documents made of ``k`` random label-free passages that get any label.

    ``scores`` are the passages' scores, ``decide(scores, owners, n_docs)`` the document
    rule. A rule whose labels do not inflate with length keeps the share flat in ``k``.
    """
    free = np.flatnonzero(np.asarray(Y).sum(axis=1) == 0)
    out: dict[str, Any] = {"label_free_passages": len(free), "documents": n_documents,
                           "any_label": {}}
    rng = np.random.default_rng(seed)
    for k in sizes:
        if len(free) < k:
            out["any_label"][str(k)] = None
            continue
        rows = np.concatenate([rng.choice(free, size=k, replace=False)
                               for _ in range(n_documents)])
        owners = np.repeat(np.arange(n_documents), k)
        labels = decide(scores[rows], owners, n_documents)
        out["any_label"][str(k)] = round(float(labels.any(axis=1).mean()), 4)
    return out


def excerpts(scores: np.ndarray, Y: np.ndarray, owners: np.ndarray,
             columns: list[tuple[str, str]],
             decide: Callable[[np.ndarray, np.ndarray, int], np.ndarray],
             sentence_labels: Callable[[np.ndarray], np.ndarray], *,
             sizes: Sequence[int] = (3, 10)) -> list[dict[str, Any]]:
    """Macro-F1 on excerpts: consecutive, non-overlapping runs of ``k`` sentences of each
    document, labelled by the document rule and by their best sentence.

    Short texts (ads, chat messages, quoted paragraphs) are what a corpus of long
    documents lacks; excerpts of its documents stand in for them.
    """
    owners = np.asarray(owners)
    rows_by_doc: dict[int, list[int]] = {}
    for i, o in enumerate(owners):
        rows_by_doc.setdefault(int(o), []).append(i)
    out = []
    for k in sizes:
        windows = [rows[i:i + k] for rows in rows_by_doc.values()
                   for i in range(0, len(rows) - k + 1, k)]
        entry: dict[str, Any] = {"sentences": k, "excerpts": len(windows)}
        if windows:
            rows = np.concatenate(windows)
            local = np.repeat(np.arange(len(windows)), k)
            truth = np.zeros((len(windows), Y.shape[1]), dtype=bool)
            np.logical_or.at(truth, local, np.asarray(Y, dtype=bool)[rows])
            best = np.zeros_like(truth)
            np.logical_or.at(best, local, sentence_labels(scores[rows]).astype(bool))
            for name, P in (("rule", decide(scores[rows], local, len(windows))),
                            ("best_sentence", best)):
                entry.update({f"{name}_{s}_macro_f1": v
                              for s, v in _macro(truth, P, columns).items()})
        out.append(entry)
    return out
