"""The trained model: estimator, thresholds, cue lists and card; saved and loaded safely.

A model directory holds ``model.skops`` (the fitted scikit-learn pipeline, in skops'
format, which cannot run code when loaded) and ``model.json`` (the card: label
columns, thresholds, cue terms, config, training-data fingerprint, cross-validated
metrics, library versions and the sha256 of ``model.skops``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from pipeline.config import Config, config_from_dict
from pipeline.cues import CueMatcher
from pipeline.errors import PipelineError
from pipeline.features import Segments
from pipeline.preprocess import Preprocessor, Sentence
from pipeline.segments import SegmentMaker, max_by_owner

MODEL_FILE = "model.skops"
CARD_FILE = "model.json"
#: Types inside model.skops that skops may build besides its own safe defaults.
TRUSTED_TYPES = [
    "pipeline.features.SegmentVectorizer",
    "sklearn.calibration._CalibratedClassifier",  # linear_svm
    "sklearn.calibration._SigmoidCalibration",  # linear_svm
    "sklearn.multiclass._ConstantPredictor",  # OneVsRest, for a label with one class
]


@dataclass
class TraffickingModel:
    """A fitted estimator with its label columns, thresholds and cue terms."""

    config: Config
    estimator: Pipeline
    thresholds: np.ndarray
    cues: dict[str, list[str]]
    card: dict[str, Any] = field(default_factory=dict)
    _maker: SegmentMaker | None = field(default=None, repr=False)
    _preprocessor: Preprocessor | None = field(default=None, repr=False)

    @property
    def columns(self) -> list[tuple[str, str]]:
        return self.config.all_labels

    @property
    def preprocessor(self) -> Preprocessor:
        if self._preprocessor is None:
            self._preprocessor = Preprocessor(self.config.preprocess,
                                              max_chars=self.config.predict.max_chars)
        return self._preprocessor

    @property
    def segment_maker(self) -> SegmentMaker:
        if self._maker is None:
            self._maker = SegmentMaker(CueMatcher(self.cues, self.preprocessor))
        return self._maker

    def score_segments(self, segments: Segments) -> np.ndarray:
        """Probability per label column for each segment, in [0, 1]."""
        if len(segments) == 0:
            return np.zeros((0, len(self.columns)))
        return np.clip(self.estimator.predict_proba(segments), 0.0, 1.0)

    def score_sentences(self, texts: Sequence[str], sentences: Sequence[list[Sentence]]
                        ) -> tuple[np.ndarray, np.ndarray]:
        """Sentence scores for preprocessed texts, and each sentence's text index."""
        segs, owners = self.segment_maker.sentences(texts, sentences)
        return self.score_segments(segs), owners

    def score_texts(self, texts: Sequence[str],
                    sentences: Sequence[list[Sentence]] | None = None) -> np.ndarray:
        """Per-text scores: the maximum over each text's sentences (as ``predict`` does)."""
        if sentences is None:
            sentences = list(self.preprocessor.stream(texts))
        scores, owners = self.score_sentences(texts, sentences)
        return max_by_owner(scores, owners, len(texts))

    def decide(self, scores: np.ndarray) -> np.ndarray:
        """Binary decisions from scores using the per-label thresholds."""
        return (np.asarray(scores) >= self.thresholds).astype(np.int8)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _old(out: Path) -> Path:
    return out.with_name(f".{out.name}.old")


def recover(out: Path) -> None:
    """Finish an interrupted replacement: if only the set-aside old model exists, restore it.

    ``save_model`` moves the old directory aside and the new one in with two renames;
    a run killed between them leaves ``.<name>.old`` and no ``<name>``.
    """
    out = Path(out)
    old = _old(out)
    if old.is_dir() and not out.exists():
        os.replace(old, out)
    elif old.is_dir():
        shutil.rmtree(old, ignore_errors=True)


def check_target(out: Path, *, force: bool) -> None:
    """Refuse to replace an existing model directory unless ``force``, and anything
    else (a file, a symlink, a folder holding other files) even with ``force``: replacing
    it would delete what the user keeps there."""
    out = Path(out)
    recover(out)
    if out.is_symlink():
        raise PipelineError(f"{out}: a symlink, not a model directory; give the real path")
    if not out.exists():
        return
    if not out.is_dir():
        raise PipelineError(f"{out}: a file, not a model directory; choose another --out "
                            "(--force replaces only model directories)")
    entries = sorted(p.name for p in out.iterdir())
    other = [name for name in entries if name not in (MODEL_FILE, CARD_FILE)]
    if other:
        raise PipelineError(f"{out}: not a model directory (it holds {', '.join(other[:3])}"
                            f"{', ...' if len(other) > 3 else ''}); choose another --out "
                            "(--force replaces only model directories)")
    if entries and not force:
        raise PipelineError(f"{out}: a model already exists here; use --force to replace it")


def save_model(model: TraffickingModel, out: Path, *, force: bool = False) -> Path:
    """Write the model directory atomically; refuse to replace one unless ``force``.

    Files are written into a temporary directory beside ``out``, which then replaces
    ``out``; an interrupted save leaves the previous model loadable.
    """
    import skops.io as sio

    out = Path(out)
    check_target(out, force=force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; a model is shared with colleagues
    try:
        sio.dump(model.estimator, tmp / MODEL_FILE)
        card = dict(model.card)
        card["thresholds"] = _by_set(model.columns, model.thresholds)
        card["cues"] = model.cues
        card["config"] = model.config.to_dict()
        card["files"] = {MODEL_FILE: sha256_file(tmp / MODEL_FILE)}
        (tmp / CARD_FILE).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
        if out.exists():
            old = _old(out)
            os.replace(out, old)
            os.replace(tmp, out)
            shutil.rmtree(old)
        else:
            os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def load_model(path: Path, *, expect: Config | None = None) -> TraffickingModel:
    """Load and verify a model directory.

    The card must parse, ``model.skops`` must match the card's sha256, and the file
    may hold only trusted types. With ``expect``, the label sets must equal its own.
    """
    import skops.io as sio

    path = Path(path)
    recover(path)
    card_path, model_path = path / CARD_FILE, path / MODEL_FILE
    if not path.is_dir():
        raise PipelineError(f"{path}: no model directory here (train one with `trafficlens train`)")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        config = config_from_dict(_config_for_load(card["config"]), source=card_path)
        digest = card["files"][MODEL_FILE]
        columns = config.all_labels
        thresholds = np.array([card["thresholds"][s][lab] for s, lab in columns], dtype=float)
        cues = {k: list(v) for k, v in card["cues"].items()}
    except FileNotFoundError:
        raise PipelineError(f"{card_path}: model card missing") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise PipelineError(
            f"{card_path}: corrupt model card ({type(err).__name__}: {err})") from None
    if not model_path.is_file():
        raise PipelineError(f"{model_path}: model file missing")
    if sha256_file(model_path) != digest:
        raise PipelineError(f"{model_path}: file does not match the sha256 in {CARD_FILE} "
                            "(changed or truncated); retrain or restore the model")
    try:
        untrusted = [t for t in sio.get_untrusted_types(file=model_path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise PipelineError(f"{model_path}: refused: it holds types this project never "
                                f"writes: {', '.join(untrusted)}")
        estimator = sio.load(model_path, trusted=TRUSTED_TYPES)
    except PipelineError:
        raise
    except Exception as err:  # skops raises many types for a damaged file
        raise PipelineError(
            f"{model_path}: cannot load model ({type(err).__name__}: {err})") from None
    check_versions(card.get("versions", {}), path)
    if expect is not None:
        want = {s.name: list(s.labels) for s in expect.label_sets}
        have = {s.name: list(s.labels) for s in config.label_sets}
        if want != have:
            raise PipelineError(f"{path}: model labels {have} differ from the config's {want}; "
                                "retrain the model with this config")
    return TraffickingModel(config, estimator, thresholds, cues, card)


def _minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def check_versions(trained: dict[str, str], path: Path) -> None:
    """Refuse a model whose scikit-learn major.minor differs from the installed one
    (its estimators may not load or may score differently); warn for spaCy, whose
    tokenizer may split text differently."""
    import warnings

    import sklearn
    import spacy

    have = trained.get("scikit-learn")
    if have and _minor(have) != _minor(sklearn.__version__):
        raise PipelineError(
            f"{path}: trained with scikit-learn {have}, installed {sklearn.__version__}; "
            "retrain it with `trafficlens train` (or install the matching scikit-learn)")
    have = trained.get("spacy")
    if have and _minor(have) != _minor(spacy.__version__):
        warnings.warn(f"{path}: trained with spaCy {have}, installed {spacy.__version__}; "
                      "predictions may differ slightly, retraining is advised", stacklevel=2)


def _by_set(columns: list[tuple[str, str]], values: np.ndarray) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for (s, lab), v in zip(columns, values, strict=True):
        out.setdefault(s, {})[lab] = round(float(v), 6)
    return out


def _config_for_load(stored: dict[str, Any]) -> dict[str, Any]:
    """Turn the card's config copy back into the TOML-shaped mapping it came from."""
    raw = {k: v for k, v in stored.items() if k != "label_sets"}
    raw["labels"] = stored["label_sets"]
    return raw
