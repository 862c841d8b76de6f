"""Fit a model: preprocess, cross-validate for thresholds, fit on all data, save.

Thresholds are tuned on out-of-fold scores from a multi-label stratified K-fold, each
held-out passage scored exactly as ``predict`` scores a document (maximum over its
sentences), so the tuned thresholds fit the way the model is used.
"""

from __future__ import annotations

import platform
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import __version__
from pipeline.classifier import build_estimator
from pipeline.config import Config
from pipeline.corpus import Passage, fingerprint, groups_of, label_matrix, read_corpus
from pipeline.cues import CueMatcher, read_cues
from pipeline.errors import collect
from pipeline.metrics import all_metrics
from pipeline.model import TraffickingModel, check_target, save_model
from pipeline.outputs import check_writable_dir
from pipeline.preprocess import Preprocessor
from pipeline.segments import SegmentMaker, max_by_owner
from pipeline.stratify import multilabel_kfold
from pipeline.thresholds import LabelThresholds

Progress = Callable[[str], None]


def library_versions() -> dict[str, str]:
    import joblib
    import scipy
    import sklearn
    import skops
    import spacy

    return {"trafficlens": __version__, "python": platform.python_version(),
            "spacy": spacy.__version__, "scikit-learn": sklearn.__version__,
            "scipy": scipy.__version__, "numpy": np.__version__,
            "joblib": joblib.__version__, "skops": skops.__version__}


def check_label_counts(Y: np.ndarray, config: Config) -> None:
    """Every label needs at least as many positives as there are CV folds."""
    k = config.thresholds.cv_folds
    counts = Y.sum(axis=0)
    problems = [f"{s}.{lab}: {int(c)} positive passage(s), need at least {k} for "
                f"{k}-fold threshold tuning (add examples or lower thresholds.cv_folds)"
                for (s, lab), c in zip(config.all_labels, counts, strict=True) if c < k]
    if problems:
        raise collect(problems, "too few examples")


def fit_model(passages: Sequence[Passage], config: Config,
              progress: Progress | None = None) -> TraffickingModel:
    """Fit the estimator and thresholds of ``config`` on ``passages``."""
    say = progress or (lambda _msg: None)
    Y = label_matrix(passages, config)
    check_label_counts(Y, config)
    texts = [p.text for p in passages]
    pre = Preprocessor(config.preprocess, cache_dir=config.paths.cache,
                       max_chars=config.predict.max_chars)
    cues = read_cues(config.paths.cues, config)  # a bad cue file fails before the long work
    maker = SegmentMaker(CueMatcher(cues, pre, source=str(config.paths.cues)))
    say(f"preprocessing {len(texts)} passages with spaCy")
    sentences = pre.process(texts)
    sent_segs, owners = maker.sentences(texts, sentences)
    whole = maker.passages(texts, sentences, (sent_segs, owners))

    k = config.thresholds.cv_folds
    oof = np.zeros(Y.shape, dtype=float)
    for fold, (train_idx, test_idx) in enumerate(
            multilabel_kfold(Y, k, config.seed, groups_of(passages)), 1):
        say(f"cross-validation fold {fold}/{k}")
        est = _fit(_estimator(config, Y[train_idx]), whole.take(train_idx), Y[train_idx])
        rows = np.flatnonzero(np.isin(owners, test_idx))
        scores = est.predict_proba(sent_segs.take(rows)) if len(rows) else None
        local = {j: i for i, j in enumerate(test_idx)}
        if scores is not None:
            oof[test_idx] = max_by_owner(scores, np.array([local[o] for o in owners[rows]]),
                                         len(test_idx))
    t = config.thresholds
    tuner = LabelThresholds(grid_start=t.grid_start, grid_stop=t.grid_stop,
                            grid_step=t.grid_step, default=t.default).fit(oof, Y)
    say("fitting the final model on all passages")
    estimator = _fit(_estimator(config, Y), whole, Y)
    cv = all_metrics(Y, tuner.transform(oof), config.all_labels)
    card = {
        "name": "trafficlens model",
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "label_sets": {s.name: list(s.labels) for s in config.label_sets},
        "training_data": {"n_passages": len(passages), "sha256": fingerprint(passages),
                          "files": sorted({p.path for p in passages}),
                          "prevalence": _prevalence(Y, config)},
        "cv_metrics": {"folds": k, "note": "out-of-fold scores, thresholds tuned on the same "
                       "scores (slightly optimistic)", **cv},
        "versions": library_versions(),
    }
    return TraffickingModel(config, estimator, tuner.thresholds_, cues, card,
                            _maker=maker, _preprocessor=pre)


def _prevalence(Y: np.ndarray, config: Config) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for j, (s, lab) in enumerate(config.all_labels):
        out.setdefault(s, {})[lab] = round(float(Y[:, j].mean()), 4)
    return out


def _estimator(config: Config, Y: np.ndarray) -> Any:
    return build_estimator(config, min_positives=int(Y.sum(axis=0).min()))


def _fit(estimator: Any, segments: Any, Y: np.ndarray) -> Any:
    with warnings.catch_warnings():
        # a label absent from a fold is predicted as constant; check_label_counts
        # already guarantees it is present overall
        warnings.filterwarnings("ignore", message="Label .* is present in all training")
        warnings.filterwarnings("ignore", message="Label not .* present in all training")
        return estimator.fit(segments, Y)


def fit_and_save(config: Config, data: Sequence[Path] | None, out: Path, *,
                 force: bool = False, progress: Progress | None = None) -> TraffickingModel:
    """Read the corpus (``data`` or the config's ``paths.train``), fit and save to ``out``."""
    paths = list(data) if data else list(config.paths.train)
    check_target(out, force=force)  # before the long fit, not after it
    check_writable_dir(Path(out).parent, "--out")
    passages = read_corpus(paths, config.label_sets, exclude=config.data.holdout_files)
    model = fit_model(passages, config, progress)
    save_model(model, out, force=force)
    return model
