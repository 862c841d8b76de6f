"""``TraffickingClassifier``: texts in, sentence scores and document labels out.

One scikit-learn estimator holds every step: spaCy preprocessing, segments with cue
counts, the ``words`` / ``chars`` / ``cues`` feature union, one linear classifier per
label, and the decision rule (:mod:`pipeline.model.thresholds`) tuned inside ``fit`` on
out-of-fold scores. So ``clone``, ``cross_val_score`` and ``GridSearchCV`` work on it
as on any classifier, and every fit tunes its own thresholds.

The training unit is a passage (a sentence of a document corpus); at prediction time
a text is a document, scored sentence by sentence.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Sequence
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from pipeline.config import CLASSIFIERS, Config, Preprocess
from pipeline.corpus.stratify import multilabel_kfold
from pipeline.model.classifier import build_classifier
from pipeline.model.features import Segments, build_features
from pipeline.model.scorer import LinearScorer, SentenceScores
from pipeline.model.thresholds import DocumentRule
from pipeline.text.cues import CueMatcher
from pipeline.text.preprocess import Preprocessor, Sentence
from pipeline.text.segments import SegmentMaker, max_by_owner


class TraffickingClassifier(ClassifierMixin, BaseEstimator):
    """Multi-label stage and technology classifier of texts, tuned to its own data.

    Parameters
    ----------
    labels : list of str or None
        Names of the label columns of ``Y`` (``"stage:control"``...); None numbers them.
    cue_terms : dict or None
        ``label column -> terms``, in the order of ``labels``; the ``cues`` features
        and the keyword baseline count them. None: no cue features.
    spacy_model, lang, spacy_batch_size, cache_chunk, cache_dir, max_chars :
        Preprocessing (``[preprocess]`` of the config); ``cache_dir`` None disables the
        on-disk cache.
    word_ngram_range, word_min_df, word_max_features, char, char_ngram_range, char_min_df,
    char_max_features, sublinear_tf, cues, cue_weight :
        The feature union (``[features]``); ``char=False`` or ``cues=False`` drops a step.
    classifier, C, class_weight, max_iter, calibration_folds, calibration_ensemble :
        The per-label linear model (``[model]``).
    cv : int
        Folds of the inner multi-label stratified K-fold whose out-of-fold scores tune
        the thresholds (grouped by document when ``fit`` is given documents).
    grid_start, grid_stop, grid_step, default_threshold :
        Candidate sentence thresholds and the fallback for a label with F1 0.
    false_alarm, evidence_stop, length_bands :
        The document rule (``[decision]``).
    random_state : int
        Seeds the folds and the classifiers.
    verbose : int
        1 or more: report each step of ``fit`` on stderr.
    """

    _parameter_constraints: ClassVar[dict] = {
        "labels": [list, None],
        "cue_terms": [dict, None],
        "spacy_model": [str],
        "lang": [str],
        "spacy_batch_size": [Interval(Integral, 1, None, closed="left")],
        "cache_chunk": [Interval(Integral, 1, None, closed="left")],
        "cache_dir": [str, None],
        "max_chars": [Interval(Integral, 1000, None, closed="left")],
        "word_ngram_range": [tuple, list],
        "word_min_df": [Interval(Integral, 1, None, closed="left")],
        "word_max_features": [Interval(Integral, 1, None, closed="left"), None],
        "char": ["boolean"],
        "char_ngram_range": [tuple, list],
        "char_min_df": [Interval(Integral, 1, None, closed="left")],
        "char_max_features": [Interval(Integral, 1, None, closed="left"), None],
        "sublinear_tf": ["boolean"],
        "cues": ["boolean"],
        "cue_weight": [Interval(Real, 0, None, closed="left")],
        "classifier": [StrOptions(set(CLASSIFIERS))],
        "C": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [StrOptions({"balanced", "none", ""}), None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "calibration_folds": [Interval(Integral, 2, None, closed="left")],
        "calibration_ensemble": ["boolean"],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "grid_start": [Interval(Real, 0, 1, closed="both")],
        "grid_stop": [Interval(Real, 0, 1, closed="both")],
        "grid_step": [Interval(Real, 0, 1, closed="right")],
        "default_threshold": [Interval(Real, 0, 1, closed="both")],
        "false_alarm": [Interval(Real, 0, 1, closed="neither")],
        "evidence_stop": [Interval(Real, 0, 1, closed="both")],
        "length_bands": [tuple, list],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "verbose": ["verbose"],
    }

    def __init__(self, *, labels=None, cue_terms=None, spacy_model="", lang="en",
                 spacy_batch_size=256, cache_chunk=2000, cache_dir=None, max_chars=900_000,
                 word_ngram_range=(1, 2), word_min_df=1, word_max_features=None, char=True,
                 char_ngram_range=(2, 5), char_min_df=2, char_max_features=200_000,
                 sublinear_tf=True, cues=True, cue_weight=1.0, classifier="linear_svm",
                 C=1.0, class_weight="balanced", max_iter=2000, calibration_folds=3,
                 calibration_ensemble=False, cv=5, grid_start=0.05, grid_stop=0.95,
                 grid_step=0.01, default_threshold=0.5, false_alarm=0.01, evidence_stop=0.99,
                 length_bands=(5, 20), random_state=13, verbose=0):
        self.labels = labels
        self.cue_terms = cue_terms
        self.spacy_model = spacy_model
        self.lang = lang
        self.spacy_batch_size = spacy_batch_size
        self.cache_chunk = cache_chunk
        self.cache_dir = cache_dir
        self.max_chars = max_chars
        self.word_ngram_range = word_ngram_range
        self.word_min_df = word_min_df
        self.word_max_features = word_max_features
        self.char = char
        self.char_ngram_range = char_ngram_range
        self.char_min_df = char_min_df
        self.char_max_features = char_max_features
        self.sublinear_tf = sublinear_tf
        self.cues = cues
        self.cue_weight = cue_weight
        self.classifier = classifier
        self.C = C
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.calibration_folds = calibration_folds
        self.calibration_ensemble = calibration_ensemble
        self.cv = cv
        self.grid_start = grid_start
        self.grid_stop = grid_stop
        self.grid_step = grid_step
        self.default_threshold = default_threshold
        self.false_alarm = false_alarm
        self.evidence_stop = evidence_stop
        self.length_bands = length_bands
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def from_config(cls, config: Config, cue_terms: dict[str, list[str]] | None = None
                    ) -> TraffickingClassifier:
        """The estimator a run configuration describes (``[features]``, ``[model]``,
        ``[thresholds]``, ``[decision]``, ``[preprocess]``)."""
        f, m, t, p = config.features, config.model, config.thresholds, config.preprocess
        return cls(
            labels=[f"{s}:{lab}" for s, lab in config.all_labels],
            cue_terms=dict(cue_terms) if cue_terms is not None else None,
            spacy_model=p.spacy_model, lang=p.lang, spacy_batch_size=p.batch_size,
            cache_chunk=p.cache_chunk,
            cache_dir=None if config.paths.cache is None else str(config.paths.cache),
            max_chars=config.predict.max_chars,
            word_ngram_range=tuple(f.word_ngram_range), word_min_df=f.word_min_df,
            word_max_features=f.word_max_features, char=f.char,
            char_ngram_range=tuple(f.char_ngram_range), char_min_df=f.char_min_df,
            char_max_features=f.char_max_features, sublinear_tf=f.sublinear_tf,
            cues=f.cues, cue_weight=f.cue_weight, classifier=m.classifier, C=m.C,
            class_weight=m.class_weight, max_iter=m.max_iter,
            calibration_folds=m.calibration_folds,
            calibration_ensemble=m.calibration_ensemble, cv=t.cv_folds,
            grid_start=t.grid_start, grid_stop=t.grid_stop, grid_step=t.grid_step,
            default_threshold=t.default, false_alarm=config.decision.false_alarm,
            evidence_stop=config.decision.evidence_stop,
            length_bands=tuple(config.decision.length_bands), random_state=config.seed)

    # -- fitting -------------------------------------------------------------------

    def fit(self, X: Sequence[str], Y: np.ndarray, documents: Sequence[object] | None = None
            ) -> TraffickingClassifier:
        """Fit on passages ``X`` with binary labels ``Y`` (n_passages x n_labels).

        ``documents`` names each passage's document: the inner folds then keep a
        document's passages together and the document rule is tuned on whole documents.
        """
        self._validate_params()
        if not self.grid_start < self.grid_stop <= self.evidence_stop:
            raise ValueError(f"the threshold grid needs grid_start < grid_stop <= "
                             f"evidence_stop, got {self.grid_start}, {self.grid_stop}, "
                             f"{self.evidence_stop}")
        texts = _texts(X)
        if len(texts) < self.cv:
            raise ValueError(f"need at least {self.cv} texts, one per threshold-tuning fold "
                             f"(cv={self.cv}); got {len(texts)}")
        Y = _binary(Y, len(texts))
        if self.labels is not None and len(self.labels) != Y.shape[1]:
            raise ValueError(f"Y has {Y.shape[1]} columns, labels names {len(self.labels)}")
        if documents is not None:
            documents = [str(d) for d in documents]
            if len(documents) != len(texts):
                raise ValueError("documents must name one document per text")
        scarce = [self._column(j) for j, c in enumerate(Y.sum(axis=0)) if c < self.cv]
        if scarce:  # still fits (a fold without positives predicts a constant)
            warnings.warn(f"fewer positives than the {self.cv} threshold-tuning folds for "
                          f"{', '.join(scarce)}: their thresholds are unreliable",
                          UserWarning, stacklevel=2)
        self._reset()
        self._say(f"preprocessing {len(texts)} passages with spaCy")
        sentences = self._preprocessor().process(texts)
        per_sentence = self._maker().sentences(texts, sentences)
        passages = self._maker().passages(texts, sentences, per_sentence)
        oof = self._out_of_fold(per_sentence, passages, Y, documents)
        self.rule_ = DocumentRule(
            false_alarm=self.false_alarm, grid_start=self.grid_start,
            grid_stop=self.grid_stop, grid_step=self.grid_step,
            default=self.default_threshold, evidence_stop=self.evidence_stop,
            length_bands=tuple(self.length_bands), random_state=self.random_state,
        ).fit(oof, Y, documents)
        self.oof_scores_ = oof
        self._say(f"fitting the final model on all {len(texts)} passages")
        self.pipeline_ = self._fit_pipeline(passages, Y)
        self.classes_ = np.array(self.labels if self.labels is not None else
                                 [str(j) for j in range(Y.shape[1])])
        return self

    def _out_of_fold(self, per_sentence: tuple[Segments, np.ndarray], passages: Segments,
                     Y: np.ndarray, documents: list[str] | None) -> np.ndarray:
        """Each passage's score from a model that did not see its document: the maximum
        over its sentences, as a one-passage document is scored."""
        segments, owners = per_sentence
        oof = np.zeros(Y.shape, dtype=float)
        for fold, (train, test) in enumerate(
                multilabel_kfold(Y, self.cv, self.random_state, documents), 1):
            self._say(f"cross-validation fold {fold}/{self.cv}")
            pipe = self._fit_pipeline(passages.take(train), Y[train])
            rows = np.flatnonzero(np.isin(owners, test))
            if not len(rows):
                continue
            local = np.searchsorted(test, owners[rows])  # test is sorted
            oof[test] = max_by_owner(_proba(pipe, segments.take(rows)), local, len(test))
        return oof

    def _fit_pipeline(self, passages: Segments, Y: np.ndarray) -> Pipeline:
        use_cues = self.cues and bool(self.cue_terms)
        pipe = Pipeline([
            ("features", build_features(
                word_ngram_range=self.word_ngram_range, word_min_df=self.word_min_df,
                word_max_features=self.word_max_features, char=self.char,
                char_ngram_range=self.char_ngram_range, char_min_df=self.char_min_df,
                char_max_features=self.char_max_features, sublinear_tf=self.sublinear_tf,
                cues=use_cues, cue_weight=self.cue_weight,
                cue_names=list(self.cue_terms or ()))),
            ("classifier", build_classifier(
                classifier=self.classifier, C=self.C, class_weight=self.class_weight,
                max_iter=self.max_iter, calibration_folds=self.calibration_folds,
                calibration_ensemble=self.calibration_ensemble,
                random_state=self.random_state, min_positives=int(Y.sum(axis=0).min()))),
        ])
        with warnings.catch_warnings():
            # a label absent from a fold is predicted as constant; fit checks that
            # every label has positives overall
            warnings.filterwarnings("ignore", message="Label .* is present in all training")
            warnings.filterwarnings("ignore", message="Label not .* present in all training")
            return pipe.fit(passages, Y)

    # -- prediction ----------------------------------------------------------------

    @property
    def thresholds_(self) -> np.ndarray:
        """The sentence threshold of each label column."""
        check_is_fitted(self, "rule_")
        return self.rule_.thresholds_

    def predict_sentences(self, X: Sequence[str],
                          sentences: Sequence[list[Sentence]] | None = None) -> SentenceScores:
        """Scores of every sentence of every text (pass ``sentences`` if already split)."""
        check_is_fitted(self, "pipeline_")
        texts = _texts(X)
        if sentences is None:
            sentences = list(self._preprocessor().stream(texts))
        segments, owners = self._maker().sentences(texts, sentences)
        return SentenceScores(self.score_segments(segments), owners, list(sentences),
                              segments.cues)

    def score_segments(self, segments: Segments) -> np.ndarray:
        """Probability per label column for each segment, in [0, 1]."""
        check_is_fitted(self, "pipeline_")
        if len(segments) == 0:
            return np.zeros((0, len(self.classes_)))
        return _proba(self.pipeline_, segments)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:
        """Per text and label, its best sentence's score (0 for a text without words)."""
        scored = self.predict_sentences(X)
        return max_by_owner(scored.scores, scored.owners, len(scored.sentences))

    def predict(self, X: Sequence[str]) -> np.ndarray:
        """Document labels (n_texts x n_labels, int8) by the document rule."""
        scored = self.predict_sentences(X)
        return self.decide(scored)[0]

    def decide(self, scored: SentenceScores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Document labels, evidence counts and evidence needed for scored texts."""
        return self.rule_.document_labels(scored.scores, scored.owners, len(scored.sentences))

    def scorer(self) -> LinearScorer:
        """The fitted pipeline as a :class:`~pipeline.model.scorer.LinearScorer` (same
        scores, no scikit-learn needed to compute them), with the document rule's
        numbers and the preprocessing settings, so a saved scorer predicts on its own."""
        check_is_fitted(self, "pipeline_")
        rule = self.rule_.decisions_
        scorer = LinearScorer.from_pipeline(self.pipeline_, extra={
            "preprocess": {"spacy_model": self.spacy_model, "lang": self.lang,
                           "batch_size": self.spacy_batch_size,
                           "cache_chunk": self.cache_chunk, "max_chars": self.max_chars},
            "cue_terms": dict(self.cue_terms or {}),
            "decisions": {"thresholds": rule.thresholds.tolist(),
                          "evidence": rule.evidence.tolist(),
                          "null_rate": rule.null_rate.tolist(),
                          "length_bands": list(rule.length_bands),
                          "false_alarm": rule.false_alarm}})
        scorer.arrays["needed_table"] = rule.with_table().needed_table
        return scorer

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """``words__took passport``, ``chars__' onio'``, ``cues__stage:control``..."""
        check_is_fitted(self, "pipeline_")
        return self.pipeline_.named_steps["features"].get_feature_names_out()

    # -- helpers -------------------------------------------------------------------

    def _say(self, message: str) -> None:
        if self.verbose:
            print(message, file=sys.stderr, flush=True)

    def _column(self, j: int) -> str:
        return self.labels[j] if self.labels is not None else str(j)

    def _preprocessor(self) -> Preprocessor:
        pre = self.__dict__.get("_pre")
        if pre is None:
            settings = Preprocess(spacy_model=self.spacy_model, lang=self.lang,
                                  batch_size=self.spacy_batch_size,
                                  cache_chunk=self.cache_chunk)
            pre = self._pre = Preprocessor(settings, cache_dir=self.cache_dir,
                                           max_chars=self.max_chars)
        return pre

    def _maker(self) -> SegmentMaker:
        maker = self.__dict__.get("_segment_maker")
        if maker is None:
            maker = self._segment_maker = SegmentMaker(CueMatcher(
                dict(self.cue_terms or {}), self._preprocessor(), source="cue terms"))
        return maker

    def _reset(self) -> None:
        # preprocessing settings and cue terms may have changed since the last fit
        self.__dict__.pop("_pre", None)
        self.__dict__.pop("_segment_maker", None)

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__())
        state.pop("_pre", None)  # a spaCy pipeline: rebuilt on demand, never saved
        state.pop("_segment_maker", None)
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.two_d_array = False
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags


def _texts(X: Sequence[str]) -> list[str]:
    """The texts of ``X`` as plain ``str`` (numpy string arrays included)."""
    if isinstance(X, (str, bytes)):
        raise TypeError("X: expected a sequence of texts, got one text; wrap it in a list")
    texts = list(X)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise TypeError(f"X[{i}]: expected a text (str), got {type(t).__name__}")
    return [str(t) for t in texts]  # numpy.str_ -> str: spaCy wants exact str


def _binary(Y: object, n: int) -> np.ndarray:
    """``Y`` as an int8 0/1 matrix with ``n`` rows, or a ValueError saying what is wrong."""
    try:
        if np.asarray(Y).dtype.kind in "USV":  # strings, even "0" and "1", are not labels
            raise TypeError
        Y = np.asarray(Y, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("Y must be a binary (0/1) label matrix; it holds values that are "
                         "not numbers") from None
    if Y.ndim != 2 or len(Y) != n:
        raise ValueError(f"Y must be a binary matrix with one row per text; got shape "
                         f"{Y.shape} for {n} texts")
    if not np.isin(Y, (0.0, 1.0)).all():
        bad = Y[~np.isin(Y, (0.0, 1.0))][0]
        raise ValueError(f"Y must be a binary (0/1) label matrix; it holds {bad}")
    return Y.astype(np.int8)


def _proba(pipe: Pipeline, segments: Segments) -> np.ndarray:
    return np.clip(pipe.predict_proba(segments), 0.0, 1.0)
