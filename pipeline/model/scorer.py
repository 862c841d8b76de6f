"""A fitted model's scores as plain array arithmetic: the prediction path.

:meth:`LinearScorer.from_pipeline` reads the fitted ``features`` union and one-vs-rest
``classifier`` of a :class:`~pipeline.model.estimator.TraffickingClassifier` into
arrays: the n-gram look-up tables and idf weights, one coefficient matrix for all
labels (each feature block scaled by its union weight), the intercepts and the sigmoid
calibration of each label's linear model. Scoring a batch is then n-gram counting,
tf-idf, one sparse-dense product and a sigmoid: the same numbers as scikit-learn's
``predict_proba`` (checked when the file is written), without importing scikit-learn.

Saved as ``scorer.npz`` beside ``model.skops`` (no pickled objects: it is read with
``allow_pickle=False``).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from pipeline.errors import PipelineError
from pipeline.model.ngrams import CharIndex, WordIndex, join_terms, split_terms
from pipeline.text.preprocess import Sentence
from pipeline.text.segments import Segments

SCORER_FILE = "scorer.npz"
#: Largest difference from scikit-learn's scores that the check on saving accepts.
TOLERANCE = 1e-9


@dataclass
class SentenceScores:
    """Scores of every sentence of a list of texts (documents).

    ``owners[i]`` is the text of sentence row ``i``; ``sentences[t]`` the sentences of
    text ``t`` (with character offsets into it); ``cues`` the cue-term counts per
    sentence, in label-column order.
    """

    scores: np.ndarray
    owners: np.ndarray
    sentences: list[list[Sentence]]
    cues: np.ndarray

    def of(self, text: int) -> np.ndarray:
        """The score rows of one text's sentences."""
        return self.scores[self.owners == text]


class LinearScorer:
    """Scores segments as the fitted pipeline does (see the module)."""

    #: Segments scored at once (a 50 MB document has some 300,000 sentences): bounds
    #: the memory of the n-gram count matrices; scores do not depend on it.
    ROWS = 4096

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays
        self.meta = json.loads(str(arrays["meta"]))
        self.n_labels = int(self.meta["n_labels"])
        self._blocks: list[tuple[str, Any, np.ndarray, float]] | None = None

    # -- building and saving -------------------------------------------------------

    @classmethod
    def from_pipeline(cls, pipe: Any, extra: dict[str, Any] | None = None) -> LinearScorer:
        """Read a fitted ``Pipeline([("features", union), ("classifier", one_vs_rest)])``;
        ``extra`` (JSON-able) is kept in the file's metadata."""
        union, clf = pipe.named_steps["features"], pipe.named_steps["classifier"]
        weights = union.transformer_weights or {}
        arrays: dict[str, np.ndarray] = {}
        blocks, width = [], 0
        for name, step in union.transformer_list:
            if step is None or (isinstance(step, str) and step == "drop"):
                continue
            weight = float(weights.get(name, 1.0))
            if name in ("words", "chars"):
                vec = step.vectorizer_
                terms = [""] * len(vec.vocabulary_)
                for term, j in vec.vocabulary_.items():
                    terms[j] = term
                arrays[f"{name}.idf"] = np.asarray(vec.idf_, dtype=np.float64)
                if name == "words":
                    for key, value in step.index().to_arrays().items():
                        arrays[f"words.{key}"] = value
                else:
                    arrays["chars.terms"] = join_terms(terms)
                blocks.append({"name": name, "width": len(terms), "weight": weight,
                               "range": [int(x) for x in vec.ngram_range],
                               "sublinear": bool(vec.sublinear_tf)})
                width += len(terms)
            elif name == "cues":
                blocks.append({"name": name, "width": int(step.n_features_out_),
                               "weight": weight})
                width += int(step.n_features_out_)
            else:
                raise PipelineError(f"cannot export feature step {name!r}")
        coef, intercept, a, b, label = [], [], [], [], []
        for j, estimator in enumerate(clf.estimators_):
            for member in _members(estimator, width):
                for values, out in zip(member, (coef, intercept, a, b), strict=True):
                    out.append(values)
                label.append(j)
        arrays["coef"] = np.column_stack(coef).astype(np.float64)
        arrays["intercept"] = np.array(intercept, dtype=np.float64)
        arrays["a"], arrays["b"] = np.array(a, dtype=np.float64), np.array(b, dtype=np.float64)
        arrays["label"] = np.array(label, dtype=np.int64)
        meta = {"n_labels": len(clf.estimators_), "blocks": blocks, **(extra or {})}
        arrays["meta"] = np.array(json.dumps(meta, ensure_ascii=False))
        return cls(arrays)

    def save(self, path: Path) -> None:
        """Write the arrays (``numpy.savez``; no pickled objects)."""
        buffer = io.BytesIO()
        np.savez(buffer, **self.arrays)
        Path(path).write_bytes(buffer.getvalue())

    @classmethod
    def load(cls, path: Path) -> LinearScorer:
        """Read a file :meth:`save` wrote; a damaged one is a :class:`PipelineError`."""
        import zipfile

        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
            scorer = cls(arrays)
            problem = scorer.problem()
        except (OSError, ValueError, KeyError, TypeError, EOFError, AttributeError,
                zipfile.BadZipFile) as err:
            problem = f"{type(err).__name__}: {err}"
        if problem:
            raise PipelineError(f"{path}: cannot load the scorer ({problem}); retrain or "
                                "restore the model")
        return scorer

    def problem(self) -> str:
        """What is wrong with the arrays (shapes, types, ranges, settings), or ""; a
        hand-edited file must fail here, not as a traceback or a runaway loop later."""
        a, meta, n = self.arrays, self.meta, self.n_labels
        blocks = meta.get("blocks")
        if not isinstance(blocks, list) or not blocks or n < 1:
            return "meta: no feature blocks or labels"
        width = 0
        for block in blocks:
            name, w = block.get("name"), block.get("width")
            if name not in ("words", "chars", "cues") or not _count(w):
                return f"meta: bad feature block {block!r}"
            width += w
            if name == "cues":
                continue
            span = block.get("range")
            if not (isinstance(span, list) and len(span) == 2 and _count(span[0]) and
                    _count(span[1]) and span[0] <= span[1] <= 20):
                return f"meta: {name} n-gram range {span!r}"
            idf = a.get(f"{name}.idf")
            if not _floats(idf, (w,)) or (idf <= 0).any():
                return f"{name}.idf: expected {w} positive numbers"
        members = a.get("label")
        if members is None or members.ndim != 1 or members.dtype.kind not in "iu" or \
                not len(members) or set(np.unique(members).tolist()) != set(range(n)):
            return "label: expected the label column of each linear model"
        m = len(members)
        if not _floats(a.get("coef"), (width, m)):
            return f"coef: expected a {width} x {m} array of numbers"
        for key in ("intercept", "a"):
            if not _floats(a.get(key), (m,)):
                return f"{key}: expected {m} numbers"
        b = a.get("b")
        if b is None or b.shape != (m,) or b.dtype.kind != "f" or np.isnan(b).any():
            return f"b: expected {m} numbers"
        for block in blocks:
            if block["name"] == "chars" and len(split_terms(a.get("chars.terms", np.zeros(
                    0, np.uint8)))) != block["width"]:
                return "chars.terms: not one term per character n-gram column"
            if block["name"] != "words":
                continue
            shape = a.get("words.shape")
            size = int(shape[2]) if shape is not None and shape.shape == (4,) else -1
            hi = block["range"][1]
            if size != block["width"] or list(shape[:2]) != block["range"]:
                return "words.shape: does not match the word n-gram block"
            for k in range(1, hi + 1):
                keys, values = a.get(f"words.keys{k}"), a.get(f"words.values{k}")
                if keys is None or values is None or keys.shape != values.shape or \
                        keys.ndim != 1 or values.dtype.kind not in "iu" or \
                        (len(values) and (values.min() < -1 or values.max() >= size)):
                    return f"words.keys{k}/values{k}: damaged word n-gram table"
        p = meta.get("preprocess")
        if not isinstance(p, dict) or not all(_count(p.get(k)) for k in
                                               ("batch_size", "cache_chunk", "max_chars")):
            return "meta: preprocess settings must be counts of at least 1"
        if not isinstance(meta.get("cue_terms"), dict):
            return "meta: no cue terms"
        d = meta.get("decisions")
        try:
            bands = [int(x) for x in d["length_bands"]]
            rows = len(bands) + 1
            thresholds = np.asarray(d["thresholds"], dtype=float)
            evidence = np.asarray(d["evidence"], dtype=float)
            null_rate = np.asarray(d["null_rate"], dtype=float)
            false_alarm = float(d["false_alarm"])
        except (TypeError, KeyError, ValueError):
            return "meta: damaged decision rule"
        if thresholds.shape != (n,) or evidence.shape != (rows, n) or \
                null_rate.shape != (rows, n) or not 0 < false_alarm < 1 or any(
                    not np.isfinite(x).all() or (x < 0).any() or (x > 1).any()
                    for x in (thresholds, evidence, null_rate)):
            return "meta: decision rule numbers out of shape or range"
        table = a.get("needed_table")
        if table is not None and (table.ndim != 2 or table.shape[1] != n or
                                  table.dtype.kind not in "iu" or not len(table) or
                                  (table < 1).any()):
            return "needed_table: expected whole numbers >= 1, one column per label"
        return ""

    def check(self, expected: np.ndarray, segments: Segments) -> None:
        """Refuse to save a scorer that does not give scikit-learn's scores."""
        got = self.score(segments)
        if got.shape != expected.shape or (len(got) and
                                           np.abs(got - expected).max() > TOLERANCE):
            raise PipelineError("the exported scorer disagrees with scikit-learn's scores "
                                "(an unsupported scikit-learn version?)")

    # -- scoring -------------------------------------------------------------------

    def score(self, segments: Segments) -> np.ndarray:
        """Probability per label column for each segment, in [0, 1]."""
        n = len(segments)
        if n == 0:
            return np.zeros((0, self.n_labels))
        if n > self.ROWS:  # rows are independent: bound the n-gram matrices' memory
            return np.vstack([self.score(segments.take(range(i, min(n, i + self.ROWS))))
                              for i in range(0, n, self.ROWS)])
        f = np.tile(self.arrays["intercept"], (n, 1))
        for name, index, coef, block in self._blocks_ready():
            if name == "cues":
                # as CueCounts: log1p in the counts' own precision, then float64
                X = np.log1p(np.asarray(segments.cues)).astype(np.float64)
                f += X @ coef
            else:
                counts = index.counts(segments.tokens if name == "words" else segments.texts)
                f += _unit_rows_product(counts, coef, block)
        with np.errstate(over="ignore"):  # exp(inf) = inf gives p = 0, as it should
            p = 1.0 / (1.0 + np.exp(self.arrays["a"] * f + self.arrays["b"]))
        label = self.arrays["label"]
        if len(label) != self.n_labels:  # several calibrated members per label: their mean
            p = np.stack([p[:, label == j].mean(axis=1) for j in range(self.n_labels)], 1)
        return np.clip(p, 0.0, 1.0)

    def prepare(self) -> LinearScorer:
        """Build the look-up tables now (before forking workers, or timing a run)."""
        self._blocks_ready()
        return self

    def _blocks_ready(self) -> list[tuple[str, Any, np.ndarray, dict[str, Any]]]:
        if self._blocks is None:
            blocks, start = [], 0
            coef = self.arrays["coef"]
            for block in self.meta["blocks"]:
                name, width = block["name"], int(block["width"])
                part = coef[start:start + width] * float(block["weight"])
                start += width
                if name in ("words", "chars"):
                    # tf-idf rows times coef = tf rows times (idf * coef), over the rows'
                    # tf-idf norms: no weighted copy of the (large) sparse matrix
                    idf = np.asarray(self.arrays[f"{name}.idf"], dtype=np.float64)
                    part = idf[:, None] * part
                    block = {**block, "idf2": idf * idf}
                if name == "words":
                    index = WordIndex.from_arrays({k[6:]: v for k, v in self.arrays.items()
                                                   if k.startswith("words.")})
                elif name == "chars":
                    terms = split_terms(self.arrays["chars.terms"])
                    index = CharIndex(dict(zip(terms, range(len(terms)), strict=True)),
                                      tuple(block["range"]))
                else:
                    index = None
                blocks.append((name, index, part, block))
            self._blocks = blocks
        return self._blocks


def _count(value: object) -> bool:
    """A whole number of at least 1 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _floats(array: np.ndarray | None, shape: tuple[int, ...]) -> bool:
    """A finite floating-point array of ``shape``."""
    return (array is not None and array.shape == shape and array.dtype.kind == "f"
            and bool(np.isfinite(array).all()))


def _unit_rows_product(counts: sp.csr_matrix, coef_idf: np.ndarray,
                       block: dict[str, Any]) -> np.ndarray:
    """``tfidf(counts) @ coef`` (:func:`~pipeline.model.ngrams.tfidf`: (sublinear) tf,
    idf, unit rows) computed as ``(tf @ (idf * coef)) / ||tf * idf||`` per row."""
    tf = counts.astype(np.float64, copy=False)
    if block["sublinear"]:
        np.log(tf.data, tf.data)
        tf.data += 1
    product = tf @ coef_idf
    square = sp.csr_matrix((tf.data * tf.data, tf.indices, tf.indptr), shape=tf.shape)
    norms = np.sqrt(square @ block["idf2"])
    norms[norms == 0] = 1.0
    return product / norms[:, None]


def _members(estimator: Any, width: int) -> list[tuple[np.ndarray, float, float, float]]:
    """``(coef, intercept, a, b)`` of each linear model behind one label's probability
    ``expit(-(a * (x @ coef + intercept) + b))`` (averaged over members)."""
    kind = type(estimator).__name__
    if kind == "_ConstantPredictor":  # a label with one class in the training data
        y = float(np.ravel(estimator.y_)[0])
        return [(np.zeros(width), 0.0, 0.0, -np.inf if y >= 0.5 else np.inf)]
    if kind == "CalibratedClassifierCV":
        out = []
        for calibrated in estimator.calibrated_classifiers_:
            if calibrated.method != "sigmoid" or len(calibrated.calibrators) != 1:
                raise PipelineError(f"cannot export calibration {calibrated.method!r}")
            inner, sigmoid = calibrated.estimator, calibrated.calibrators[0]
            out.append((np.ravel(inner.coef_).astype(np.float64),
                        float(np.ravel(inner.intercept_)[0]), float(sigmoid.a_),
                        float(sigmoid.b_)))
        return out
    if kind == "LogisticRegression":
        return [(np.ravel(estimator.coef_).astype(np.float64),
                 float(np.ravel(estimator.intercept_)[0]), -1.0, 0.0)]
    raise PipelineError(f"cannot export a {kind} classifier")
