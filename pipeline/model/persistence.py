"""The trained model: estimator, thresholds, cue lists and card; saved and loaded safely.

A model directory holds ``model.skops`` (the fitted scikit-learn pipeline, in skops'
format, which cannot run code when loaded) and ``model.json`` (the card: label
columns, thresholds, cue terms, config, training-data fingerprint, cross-validated
metrics, library versions and the sha256 of ``model.skops``).

What the card's label columns, thresholds and cue lists say is also sealed inside
``model.skops`` (so under its sha256): a card edited by hand (two labels swapped, one
removed, a threshold of 5, cues as a string) no longer matches and is refused, as is
a file holding an estimator that does not give one score per label column.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import Config, config_from_dict
from pipeline.errors import PipelineError
from pipeline.model.estimator import SentenceScores, TraffickingClassifier
from pipeline.model.features import Segments
from pipeline.text.preprocess import Preprocessor, Sentence

MODEL_FILE = "model.skops"
CARD_FILE = "model.json"
#: ``model.skops`` holds ``{"format", "estimator", "sealed"}``: the estimator, and what
#: gives its output columns meaning (config with the label order, thresholds, cue
#: lists, document rule) as JSON, so the sha256 in the card covers them too. Format 2
#: held a bare scikit-learn pipeline with the thresholds beside it; format 3 a document
#: rule without length bands.
SEALED_FORMAT = 4
SEALED_KEYS = ("config", "thresholds", "cues", "decision")
#: Types inside model.skops that skops may build besides its own safe defaults.
TRUSTED_TYPES = [
    "pipeline.model.estimator.TraffickingClassifier",
    "pipeline.model.features.WordNgrams",
    "pipeline.model.features.CharNgrams",
    "pipeline.model.features.CueCounts",
    "pipeline.model.thresholds.DocumentRule",
    "sklearn.calibration._CalibratedClassifier",  # linear_svm
    "sklearn.calibration._SigmoidCalibration",  # linear_svm
    "sklearn.multiclass._ConstantPredictor",  # OneVsRest, for a label with one class
]


@dataclass
class TraffickingModel:
    """A fitted :class:`TraffickingClassifier` with the config and card it came with."""

    config: Config
    estimator: TraffickingClassifier
    card: dict[str, Any] = field(default_factory=dict)

    @property
    def columns(self) -> list[tuple[str, str]]:
        return self.config.all_labels

    @property
    def thresholds(self) -> np.ndarray:
        """Sentence thresholds, one per label column."""
        return self.estimator.thresholds_

    @property
    def cues(self) -> dict[str, list[str]]:
        return dict(self.estimator.cue_terms or {})

    @property
    def preprocessor(self) -> Preprocessor:
        return self.estimator._preprocessor()

    def score_segments(self, segments: Segments) -> np.ndarray:
        """Probability per label column for each segment, in [0, 1]."""
        return self.estimator.score_segments(segments)

    def score_sentences(self, texts: Sequence[str],
                        sentences: Sequence[list[Sentence]] | None = None) -> SentenceScores:
        """Every sentence's scores (``sentences``: the texts already split, if at hand)."""
        return self.estimator.predict_sentences(texts, sentences)


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
        card = dict(model.card)
        sealed = {"config": model.config.to_dict(),
                  "thresholds": _by_set(model.columns, model.thresholds),
                  "cues": model.cues, "decision": decision_card(model)}
        card.update(sealed)
        sio.dump({"format": SEALED_FORMAT, "estimator": model.estimator,
                  "sealed": json.dumps(sealed, ensure_ascii=False)}, tmp / MODEL_FILE)
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

    The card must parse, ``model.skops`` must match the card's sha256 and may hold only
    trusted types, the card must agree with what is sealed in ``model.skops``, and the
    estimator must give one score per label column. With ``expect``, the label sets
    must equal its own.
    """
    path = Path(path)
    recover(path)
    card_path, model_path = path / CARD_FILE, path / MODEL_FILE
    if not path.is_dir():
        raise PipelineError(f"{path}: no model directory here (train one with `trafficlens train`)")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        digest = card["files"][MODEL_FILE]
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
    stored = _load_skops(model_path)
    if isinstance(stored, dict) and stored.get("format") == SEALED_FORMAT:
        estimator, sealed = stored.get("estimator"), _sealed(stored, model_path)
        for key in SEALED_KEYS:
            if card.get(key) != sealed[key]:
                raise PipelineError(f"{card_path}: {key} differ from those sealed in "
                                    f"{MODEL_FILE} (edited by hand?); restore the card or "
                                    "retrain the model")
    else:
        raise PipelineError(f"{path}: saved by an older trafficlens (before the single "
                            "estimator with document decisions); retrain it with "
                            "`trafficlens train`")
    config, thresholds, cues = _read_card(sealed, card_path)
    check_versions(card.get("versions", {}), path)
    if expect is not None:
        want = {s.name: list(s.labels) for s in expect.label_sets}
        have = {s.name: list(s.labels) for s in config.label_sets}
        if want != have:
            raise PipelineError(f"{path}: model labels {have} differ from the config's {want}; "
                                "retrain the model with this config")
    model = TraffickingModel(config, estimator, card)
    _check_estimator(model, model_path, thresholds, cues)
    return model


def _load_skops(model_path: Path) -> Any:
    import skops.io as sio

    try:
        untrusted = [t for t in sio.get_untrusted_types(file=model_path) if t not in TRUSTED_TYPES]
        if untrusted:
            raise PipelineError(f"{model_path}: refused: it holds types this project never "
                                f"writes: {', '.join(untrusted)}")
        return sio.load(model_path, trusted=TRUSTED_TYPES)
    except PipelineError:
        raise
    except Exception as err:  # skops raises many types for a damaged file
        raise PipelineError(
            f"{model_path}: cannot load model ({type(err).__name__}: {err})") from None


def _sealed(stored: dict[str, Any], model_path: Path) -> dict[str, Any]:
    try:
        sealed = json.loads(stored["sealed"])
        if not isinstance(sealed, dict) or set(SEALED_KEYS) - set(sealed):
            raise ValueError("missing entries")
    except (KeyError, TypeError, ValueError) as err:
        raise PipelineError(f"{model_path}: damaged model ({err})") from None
    return sealed


def _read_card(card: dict[str, Any], card_path: Path
               ) -> tuple[Config, np.ndarray, dict[str, list[str]]]:
    """Config, thresholds (label-column order) and cue lists of a card, type-checked."""
    def bad(message: str) -> PipelineError:
        return PipelineError(f"{card_path}: corrupt model card ({message})")

    try:
        config = config_from_dict(_config_for_load(card["config"]), source=card_path)
        columns = config.all_labels
        raw = [card["thresholds"][s][lab] for s, lab in columns]
        cues = card["cues"]
    except PipelineError:
        raise
    except (ValueError, KeyError, TypeError) as err:
        raise bad(f"{type(err).__name__}: {err}") from None
    if not all(isinstance(t, (int, float)) and not isinstance(t, bool) and 0 <= t <= 1
               for t in raw):
        raise bad(f"thresholds: each must be a number from 0 to 1, got {raw}")
    want = [f"{s}:{lab}" for s, lab in columns]
    if not isinstance(cues, dict) or list(cues) != want:
        raise bad(f"cues: expected one list per label column, in order: {', '.join(want)}")
    for key, terms in cues.items():
        if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
            raise bad(f"cues.{key}: expected a list of strings, got {terms!r}")
    return config, np.array(raw, dtype=float), {k: list(v) for k, v in cues.items()}


def _check_estimator(model: TraffickingModel, model_path: Path, thresholds: np.ndarray,
                     cues: dict[str, list[str]]) -> None:
    """Refuse an estimator that does not score into the card's label columns with the
    card's thresholds and cue terms."""
    estimator = model.estimator
    n = len(model.columns)
    if not isinstance(estimator, TraffickingClassifier) or not hasattr(estimator, "rule_"):
        raise PipelineError(f"{model_path}: not a trafficlens model (it holds "
                            f"{type(estimator).__name__}, not a fitted TraffickingClassifier)")
    want = [f"{s}:{lab}" for s, lab in model.columns]
    if list(estimator.classes_) != want or len(estimator.thresholds_) != n:
        raise PipelineError(f"{model_path}: the estimator's label columns "
                            f"({', '.join(map(str, estimator.classes_))}) differ from the "
                            f"card's ({', '.join(want)})")
    if not np.allclose(np.round(estimator.thresholds_, 6), thresholds) or model.cues != cues:
        raise PipelineError(f"{model_path}: the estimator's thresholds or cue terms differ "
                            "from those sealed with it; retrain the model")
    probe = Segments(["probe"], ["probe"], np.zeros((1, len(cues)), dtype=np.float32))
    try:
        shape = model.score_segments(probe).shape
    except Exception as err:  # whatever scikit-learn raises for a mismatched estimator
        raise PipelineError(f"{model_path}: cannot score with this model "
                            f"({type(err).__name__}: {err})") from None
    if shape != (1, n):
        raise PipelineError(f"{model_path}: the model gives {shape[1]} scores per segment, "
                            f"the card names {n} label columns")


def decision_card(model: TraffickingModel) -> dict[str, Any]:
    """The document rule as the card shows it: per length band and label, the evidence
    threshold and the out-of-fold false-positive rate at it."""
    rule = model.estimator.rule_
    bands = rule.band_names()
    return {"false_alarm": float(rule.false_alarm),
            "evidence": {b: _by_set(model.columns, row)
                         for b, row in zip(bands, rule.evidence_, strict=True)},
            "null_rate": {b: _by_set(model.columns, row)
                          for b, row in zip(bands, rule.null_rate_, strict=True)}}


def _minor(version: str) -> str:
    return ".".join(str(version).split(".")[:2])


def check_versions(trained: dict[str, str], path: Path) -> None:
    """Refuse a model whose scikit-learn major.minor differs from the installed one
    (its estimators may not load or may score differently); warn for spaCy, whose
    tokenizer may split text differently."""

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
