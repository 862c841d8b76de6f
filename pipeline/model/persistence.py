"""The trained model: estimator, thresholds, cue lists and card; saved and loaded safely.

A model directory holds ``model.skops`` (the fitted scikit-learn estimator, in skops'
format, which cannot run code when loaded), ``scorer.npz`` (the same model as arrays,
:mod:`pipeline.model.scorer`: what prediction computes with, loaded without
scikit-learn) and ``model.json`` (the card: label columns, thresholds, cue terms,
config, training-data fingerprint, cross-validated metrics, library versions and the
sha256 of both files).

Scoring always goes through the scorer, so ``predict`` and ``evaluate`` give the same
numbers; the estimator is deserialised only when something needs it (``info``,
feature weights), or at once with ``load_model(..., estimator=True)``.

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

from pipeline.config import Config, Preprocess, config_from_dict
from pipeline.errors import PipelineError
from pipeline.model.decisions import Decisions
from pipeline.model.scorer import SCORER_FILE, LinearScorer, SentenceScores
from pipeline.text.cues import CueMatcher
from pipeline.text.preprocess import Preprocessor, Sentence
from pipeline.text.segments import SegmentMaker, Segments

MODEL_FILE = "model.skops"
CARD_FILE = "model.json"
#: ``model.skops`` holds ``{"format", "estimator", "sealed"}``: the estimator, and what
#: gives its output columns meaning (config with the label order, thresholds, cue
#: lists, document rule) as JSON, so the sha256 in the card covers them too. Format 2
#: held a bare scikit-learn pipeline with the thresholds beside it; format 3 a document
#: rule without length bands; format 4 had no ``scorer.npz``.
SEALED_FORMAT = 5
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
    """A fitted model with the config and card it came with.

    ``scorer`` computes every score and ``decisions`` makes every decision; the
    scikit-learn ``estimator`` they were exported from is loaded on first use when the
    model came from a directory (``path``).
    """

    config: Config
    estimator_: Any = None
    card: dict[str, Any] = field(default_factory=dict)
    scorer: LinearScorer | None = None
    path: Path | None = None

    def __post_init__(self) -> None:
        if self.scorer is None:
            if self.estimator_ is None:
                raise ValueError("a TraffickingModel needs an estimator or a scorer")
            self.scorer = self.estimator_.scorer()

    @property
    def estimator(self) -> Any:
        """The fitted :class:`~pipeline.model.estimator.TraffickingClassifier`."""
        if self.estimator_ is None:
            if self.path is None:
                raise PipelineError("this model has no estimator to load")
            self.estimator_ = _load_estimator(self, Path(self.path))
        return self.estimator_

    @property
    def columns(self) -> list[tuple[str, str]]:
        return self.config.all_labels

    @property
    def decisions(self) -> Decisions:
        """The document rule (thresholds, evidence per length band)."""
        found = self.__dict__.get("_decisions")
        if found is None:
            d = self.scorer.meta["decisions"]
            found = self._decisions = Decisions(
                np.asarray(d["thresholds"], dtype=float), np.asarray(d["evidence"], float),
                np.asarray(d["null_rate"], dtype=float),
                tuple(int(b) for b in d["length_bands"]), float(d["false_alarm"]),
                self.scorer.arrays.get("needed_table"))
        return found

    @property
    def thresholds(self) -> np.ndarray:
        """Sentence thresholds, one per label column."""
        return self.decisions.thresholds

    @property
    def cues(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.scorer.meta["cue_terms"].items()}

    @property
    def preprocessor(self) -> Preprocessor:
        found = self.__dict__.get("_preprocessor")
        if found is None:
            p = self.scorer.meta["preprocess"]
            settings = Preprocess(spacy_model=p["spacy_model"], lang=p["lang"],
                                  batch_size=int(p["batch_size"]),
                                  cache_chunk=int(p["cache_chunk"]))
            found = self._preprocessor = Preprocessor(settings, max_chars=int(p["max_chars"]))
        return found

    @property
    def segment_maker(self) -> SegmentMaker:
        found = self.__dict__.get("_maker")
        if found is None:
            found = self._maker = SegmentMaker(CueMatcher(self.cues, self.preprocessor,
                                                          source="cue terms"))
        return found

    def prepare(self) -> TraffickingModel:
        """Set up spaCy and the scorer's tables now rather than on the first batch."""
        self.preprocessor.nlp  # noqa: B018
        self.scorer.prepare()
        return self

    def score_segments(self, segments: Segments) -> np.ndarray:
        """Probability per label column for each segment, in [0, 1]."""
        return self.scorer.score(segments)

    def score_sentences(self, texts: Sequence[str],
                        sentences: Sequence[list[Sentence]] | None = None) -> SentenceScores:
        """Every sentence's scores (``sentences``: the texts already split, if at hand)."""
        texts = [str(t) for t in texts]
        if sentences is None:
            sentences = list(self.preprocessor.stream(texts))
        segments, owners = self.segment_maker.sentences(texts, sentences)
        return SentenceScores(self.score_segments(segments), owners, list(sentences),
                              segments.cues)

    def decide(self, scored: SentenceScores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Document labels, evidence counts and evidence needed for scored texts."""
        return self.decisions.document_labels(scored.scores, scored.owners,
                                              len(scored.sentences))


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
    other = [name for name in entries if name not in (MODEL_FILE, CARD_FILE, SCORER_FILE)]
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
                  "thresholds": _by_set(model.columns, model.estimator.thresholds_),
                  "cues": dict(model.estimator.cue_terms or {}),
                  "decision": decision_card(model)}
        card.update(sealed)
        sealed_json = json.dumps(sealed, ensure_ascii=False)
        sio.dump({"format": SEALED_FORMAT, "estimator": model.estimator,
                  "sealed": sealed_json}, tmp / MODEL_FILE)
        scorer = model.estimator.scorer()
        probe = _probe(scorer)
        scorer.check(model.estimator.score_segments(probe), probe)
        scorer.arrays["sealed"] = np.array(sealed_json)
        scorer.arrays["format"] = np.array(SEALED_FORMAT)
        scorer.save(tmp / SCORER_FILE)
        card["files"] = {MODEL_FILE: sha256_file(tmp / MODEL_FILE),
                         SCORER_FILE: sha256_file(tmp / SCORER_FILE)}
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


def load_model(path: Path, *, expect: Config | None = None,
               estimator: bool = True) -> TraffickingModel:
    """Load and verify a model directory.

    The card must parse, ``scorer.npz`` must match the card's sha256, and the card must
    agree with what is sealed in it; the scorer must give one score per label column.
    With ``estimator`` (the default), ``model.skops`` is loaded and verified too (its
    sha256, only trusted types, the same sealed card, one score per label column);
    without it, only when first used, and scikit-learn is not imported (prediction).
    With ``expect``, the label sets must equal its own.
    """
    path = Path(path)
    recover(path)
    card_path, scorer_path = path / CARD_FILE, path / SCORER_FILE
    if not path.is_dir():
        raise PipelineError(f"{path}: no model directory here (train one with `trafficlens train`)")
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
        files = card["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not a mapping")
    except FileNotFoundError:
        raise PipelineError(f"{card_path}: model card missing") from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise PipelineError(
            f"{card_path}: corrupt model card ({type(err).__name__}: {err})") from None
    if SCORER_FILE not in files:
        raise PipelineError(f"{path}: saved by an older trafficlens (before the fast "
                            "scorer); retrain it with `trafficlens train`")
    if scorer_path.is_dir():
        raise PipelineError(f"{scorer_path}: a directory, not the scorer file; restore the "
                            "model or retrain it")
    if not scorer_path.is_file():
        raise PipelineError(f"{scorer_path}: scorer file missing")
    if sha256_file(scorer_path) != files[SCORER_FILE]:
        raise PipelineError(f"{scorer_path}: file does not match the sha256 in {CARD_FILE} "
                            "(changed or truncated); retrain or restore the model")
    if not estimator and (path / MODEL_FILE).exists():
        # not deserialised, but a damaged model directory is refused (a worker given
        # only the card and the scorer has nothing more to check)
        _check_digest(path / MODEL_FILE, files.get(MODEL_FILE))
    scorer = LinearScorer.load(scorer_path)
    sealed = _sealed_in_scorer(scorer, scorer_path)
    _same_as_card(card, sealed, card_path, SCORER_FILE)
    config, thresholds, cues = _read_card(sealed, card_path)
    check_versions(card.get("versions", {}), path, estimator=estimator)
    if expect is not None:
        want = {s.name: list(s.labels) for s in expect.label_sets}
        have = {s.name: list(s.labels) for s in config.label_sets}
        if want != have:
            raise PipelineError(f"{path}: model labels {have} differ from the config's {want}; "
                                "retrain the model with this config")
    model = TraffickingModel(config, None, card, scorer, path)
    _check_scorer(model, scorer_path, thresholds, cues)
    if estimator:
        model.estimator  # noqa: B018 (loads and verifies model.skops now)
    return model


def _load_estimator(model: TraffickingModel, path: Path) -> Any:
    """Deserialise and verify ``model.skops`` of the model directory ``path``."""
    card_path, model_path = path / CARD_FILE, path / MODEL_FILE
    _check_digest(model_path, model.card.get("files", {}).get(MODEL_FILE))
    stored = _load_skops(model_path)
    if not (isinstance(stored, dict) and stored.get("format") == SEALED_FORMAT):
        raise PipelineError(f"{path}: saved by an older trafficlens (before the single "
                            "estimator with document decisions); retrain it with "
                            "`trafficlens train`")
    estimator, sealed = stored.get("estimator"), _sealed(stored, model_path)
    _same_as_card(model.card, sealed, card_path, MODEL_FILE)
    _, thresholds, cues = _read_card(sealed, card_path)
    _check_estimator(model, estimator, model_path, thresholds, cues)
    probe = _probe(model.scorer)  # the scorer must give the estimator's scores
    try:
        model.scorer.check(estimator.score_segments(probe), probe)
    except PipelineError:
        raise PipelineError(f"{path / SCORER_FILE}: gives other scores than {MODEL_FILE}; "
                            "retrain or restore the model") from None
    return estimator


def _check_digest(model_path: Path, digest: object) -> None:
    if not model_path.is_file():
        raise PipelineError(f"{model_path}: model file missing")
    if sha256_file(model_path) != digest:
        raise PipelineError(f"{model_path}: file does not match the sha256 in {CARD_FILE} "
                            "(changed or truncated); retrain or restore the model")


def _same_as_card(card: dict[str, Any], sealed: dict[str, Any], card_path: Path,
                  name: str) -> None:
    for key in SEALED_KEYS:
        if card.get(key) != sealed[key]:
            raise PipelineError(f"{card_path}: {key} differ from those sealed in "
                                f"{name} (edited by hand?); restore the card or "
                                "retrain the model")


def _sealed_in_scorer(scorer: LinearScorer, scorer_path: Path) -> dict[str, Any]:
    try:
        stamp = scorer.arrays["format"]
        if stamp.shape != () or stamp.dtype.kind not in "iu" or int(stamp) != SEALED_FORMAT:
            raise PipelineError(f"{scorer_path}: saved by another trafficlens version; "
                                "retrain it with `trafficlens train`")
        return _sealed({"sealed": str(scorer.arrays["sealed"])}, scorer_path)
    except (KeyError, TypeError, ValueError) as err:
        raise PipelineError(f"{scorer_path}: damaged model ({err})") from None


def _probe(scorer: LinearScorer) -> Segments:
    """A few segments made of the model's own n-grams and cue counts, to compare the
    scorer with scikit-learn on inputs that light up many features."""
    from pipeline.model.ngrams import split_terms

    words = split_terms(scorer.arrays["words.tokens"]) if "words.tokens" in scorer.arrays \
        else []
    texts = [" ".join(words[i::7][:400]) for i in range(7)] + ["", "probe"]
    n_cues = next((int(b["width"]) for b in scorer.meta["blocks"] if b["name"] == "cues"),
                  len(scorer.meta["cue_terms"]))
    cues = np.arange(len(texts) * n_cues, dtype=np.float32).reshape(len(texts), n_cues) % 3
    return Segments(texts, texts, cues)


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


def _check_estimator(model: TraffickingModel, estimator: Any, model_path: Path,
                     thresholds: np.ndarray, cues: dict[str, list[str]]) -> None:
    """Refuse an estimator that does not score into the card's label columns with the
    card's thresholds and cue terms."""
    from pipeline.model.estimator import TraffickingClassifier

    n = len(model.columns)
    if not isinstance(estimator, TraffickingClassifier) or not hasattr(estimator, "rule_"):
        raise PipelineError(f"{model_path}: not a trafficlens model (it holds "
                            f"{type(estimator).__name__}, not a fitted TraffickingClassifier)")
    want = [f"{s}:{lab}" for s, lab in model.columns]
    if list(estimator.classes_) != want or len(estimator.thresholds_) != n:
        raise PipelineError(f"{model_path}: the estimator's label columns "
                            f"({', '.join(map(str, estimator.classes_))}) differ from the "
                            f"card's ({', '.join(want)})")
    if not np.allclose(np.round(estimator.thresholds_, 6), thresholds) or \
            dict(estimator.cue_terms or {}) != cues:
        raise PipelineError(f"{model_path}: the estimator's thresholds or cue terms differ "
                            "from those sealed with it; retrain the model")
    probe = Segments(["probe"], ["probe"], np.zeros((1, len(cues)), dtype=np.float32))
    try:
        shape = estimator.score_segments(probe).shape
    except Exception as err:  # whatever scikit-learn raises for a mismatched estimator
        raise PipelineError(f"{model_path}: cannot score with this model "
                            f"({type(err).__name__}: {err})") from None
    if shape != (1, n):
        raise PipelineError(f"{model_path}: the model gives {shape[1]} scores per segment, "
                            f"the card names {n} label columns")


def _check_scorer(model: TraffickingModel, scorer_path: Path, thresholds: np.ndarray,
                  cues: dict[str, list[str]]) -> None:
    """Refuse a scorer whose thresholds, cue terms or number of scores differ from the
    card's."""
    n = len(model.columns)
    try:
        sizes = {model.scorer.n_labels, len(model.thresholds), len(model.cues)}
        table = model.decisions.needed_table
        if table is not None:
            sizes.add(table.shape[1] if table.ndim == 2 and len(table) else -1)
    except Exception as err:  # a hand-made file: any entry may be missing or misshapen
        raise PipelineError(f"{scorer_path}: damaged model ({type(err).__name__}: "
                            f"{err}); retrain or restore the model") from None
    if sizes != {n}:
        raise PipelineError(f"{scorer_path}: the scorer has {model.scorer.n_labels} label "
                            f"columns, the card names {n} label columns; retrain the model")
    try:
        same = (
                np.allclose(np.round(model.thresholds, 6), thresholds) and model.cues == cues)
        shape = model.score_segments(Segments(["probe"], ["probe"], np.zeros(
            (1, len(cues)), dtype=np.float32))).shape
    except Exception as err:  # a hand-made file: any array may be missing or misshapen
        raise PipelineError(f"{scorer_path}: cannot score with this model "
                            f"({type(err).__name__}: {err})") from None
    if not same:
        raise PipelineError(f"{scorer_path}: the scorer's thresholds or cue terms differ "
                            "from those sealed with it; retrain the model")
    if shape != (1, n):
        raise PipelineError(f"{scorer_path}: the model gives {shape[1]} scores per segment, "
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


def check_versions(trained: dict[str, str], path: Path, *, estimator: bool = True) -> None:
    """Refuse a model whose scikit-learn major.minor differs from the installed one
    (its estimator may not load or may score differently; not checked when only the
    scorer is used); warn for spaCy, whose tokenizer may split text differently."""
    from importlib.metadata import version

    if not isinstance(trained, dict):
        raise PipelineError(f"{path}: corrupt model card (versions: expected a mapping, got "
                            f"{type(trained).__name__})")
    have = trained.get("scikit-learn")
    if estimator and have and _minor(have) != _minor(version("scikit-learn")):
        raise PipelineError(
            f"{path}: trained with scikit-learn {have}, installed {version('scikit-learn')}; "
            "retrain it with `trafficlens train` (or install the matching scikit-learn)")
    have = trained.get("spacy")
    if have and _minor(have) != _minor(version("spacy")):
        warnings.warn(f"{path}: trained with spaCy {have}, installed {version('spacy')}; "
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
