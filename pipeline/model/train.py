"""Fit a model from a config and a corpus, describe it in a card, save it.

The estimator (:class:`~pipeline.model.estimator.TraffickingClassifier`) tunes its own
thresholds and document rule inside ``fit``; this module reads the corpus, checks it
can be fitted, and writes what the card records about the run.
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from pipeline import __version__
from pipeline.config import Config
from pipeline.corpus.read import (
    Passage,
    fingerprint,
    groups_of,
    label_matrix,
    read_corpus,
)
from pipeline.errors import collect
from pipeline.evaluation.metrics import all_metrics
from pipeline.io.outputs import check_writable_dir
from pipeline.model.estimator import TraffickingClassifier
from pipeline.model.persistence import TraffickingModel, check_target, save_model
from pipeline.text.cues import CueMatcher, read_cues
from pipeline.text.preprocess import Preprocessor

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
    """Fit the estimator of ``config`` (features, classifier, decision rule) on ``passages``."""
    say = progress or (lambda _msg: None)
    Y = label_matrix(passages, config)
    check_label_counts(Y, config)
    cues = read_cues(config.paths.cues, config)
    # a bad cue term fails now, naming the cue file, not after the long work
    CueMatcher(cues, Preprocessor(config.preprocess), source=str(config.paths.cues))
    estimator = TraffickingClassifier.from_config(config, cues)
    # sentences of documents stay together (a passage corpus added to them: each passage
    # is a document of its own); without any document the rule tunes on shuffled ones
    documents = groups_of(passages) if any(p.extra.get("doc") for p in passages) else None
    k = config.thresholds.cv_folds
    say(f"fitting on {len(passages)} passages ({k} folds tune the thresholds"
        f"{', grouped by document' if documents is not None else ''})")
    estimator.set_params(verbose=int(progress is not None))
    estimator.fit([p.text for p in passages], Y, documents=documents)
    estimator.set_params(verbose=0)
    rule = estimator.rule_
    cv = all_metrics(Y, rule.sentence_labels(estimator.oof_scores_), config.all_labels)
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
    return TraffickingModel(config, estimator, card)


def _prevalence(Y: np.ndarray, config: Config) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for j, (s, lab) in enumerate(config.all_labels):
        out.setdefault(s, {})[lab] = round(float(Y[:, j].mean()), 4)
    return out


def fit_and_save(config: Config, data: Sequence[Path] | None, out: Path, *,
                 force: bool = False, progress: Progress | None = None) -> TraffickingModel:
    """Read the corpus (``data`` or the config's ``paths.train``), fit and save to ``out``.

    The card's config names the data and the model directory actually used, as absolute
    paths."""
    paths = list(data) if data else list(config.paths.train)
    config = config.with_absolute_paths(train=tuple(Path(p) for p in paths), model=Path(out))
    check_target(out, force=force)  # before the long fit, not after it
    check_writable_dir(Path(out).parent, "--out")
    passages = read_corpus(paths, config.label_sets, exclude=config.data.holdout_files)
    model = fit_model(passages, config, progress)
    save_model(model, out, force=force)
    return model
