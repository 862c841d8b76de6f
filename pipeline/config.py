"""Read a TOML run configuration into frozen dataclasses, with dotted overrides.

Every number a user may want to change lives here (as a default) or in
``configs/*.toml``; the rest of the package reads it from :class:`Config`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomllib

from pipeline.errors import PipelineError

CLASSIFIERS = ("logreg", "linear_svm")
GATES = ("macro_f1", "label_f1", "document_macro_f1")


@dataclass(frozen=True)
class LabelSet:
    """One independent set of labels (e.g. ``stage``) and whether records must carry it."""

    name: str
    labels: tuple[str, ...]
    required: bool = True


@dataclass(frozen=True)
class Paths:
    train: tuple[Path, ...] = (Path("data/documents/splits/train.jsonl"),)
    test: Path = Path("data/documents/splits/test.jsonl")
    cues: Path = Path("configs/cues.toml")
    model: Path = Path("models/default")
    cache: Path | None = Path(".cache/trafficlens")


@dataclass(frozen=True)
class Preprocess:
    spacy_model: str = ""  # "" = spacy.blank(lang) + sentencizer + lookup lemmatizer
    lang: str = "en"
    batch_size: int = 256
    cache_chunk: int = 2000  # texts per cached preprocessing call


@dataclass(frozen=True)
class Features:
    word_ngram_range: tuple[int, int] = (1, 2)
    word_min_df: int = 1
    word_max_features: int | None = None
    char: bool = True
    char_ngram_range: tuple[int, int] = (2, 5)
    char_min_df: int = 2
    char_max_features: int | None = 200_000
    sublinear_tf: bool = True
    cues: bool = True
    cue_weight: float = 1.0


@dataclass(frozen=True)
class Model:
    classifier: str = "linear_svm"
    C: float = 1.0
    class_weight: str | None = "balanced"
    max_iter: int = 2000
    calibration_folds: int = 3  # linear_svm only
    calibration_ensemble: bool = False  # linear_svm: keep one model per calibration fold


@dataclass(frozen=True)
class Thresholds:
    cv_folds: int = 5
    grid_start: float = 0.05
    grid_stop: float = 0.95
    grid_step: float = 0.01
    default: float = 0.5


@dataclass(frozen=True)
class Decision:
    """How a document's labels follow from its sentences' scores (pipeline.model.thresholds)."""

    false_alarm: float = 0.01  # per label: chance a document without it gets it, any length
    evidence_stop: float = 0.99  # the highest evidence threshold tried
    length_bands: tuple[int, ...] = (5, 20)  # upper ends of the bands with own thresholds


@dataclass(frozen=True)
class Predict:
    evidence_per_label: int = 3
    batch_docs: int = 64  # documents per batch handed to a worker
    max_chars: int = 900_000  # documents longer than this are processed in pieces


@dataclass(frozen=True)
class Report:
    """What ``evaluate`` puts in its report."""

    max_errors: int = 5  # most confident false positives / negatives shown per label
    top_features: int = 15
    compare_tolerance: float = 0.02  # an F1 drop larger than this is marked
    bootstrap: int = 1000  # resamples behind each macro-F1's 95% interval
    label_free_sizes: tuple[int, ...] = (1, 5, 20)  # passages per label-free document
    label_free_documents: int = 200  # label-free documents built per size
    excerpt_sizes: tuple[int, ...] = (3, 10)  # sentences per excerpt of a test document


@dataclass(frozen=True)
class Pii:
    """What ``--mask-pii`` masks (:mod:`pipeline.text.pii`): the kinds of personal data,
    names to add to the built-in lists and capitalised words never to take for names,
    an installed spaCy pipeline whose PERSON entities count too ("" = patterns only),
    and how many digits a phone number has."""

    kinds: tuple[str, ...] = ("EMAIL", "URL", "WALLET", "IBAN", "CARD", "PHONE", "HANDLE",
                              "NAME")
    names: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()
    ner_model: str = ""
    phone_digits: tuple[int, ...] = (7, 15)


@dataclass(frozen=True)
class DataChecks:
    """What ``trafficlens data check`` requires of a corpus (a minimum of 0 or an empty
    table is not checked) and how ``trafficlens data split`` splits it."""

    min_passages: int = 0
    min_positives: int = 0
    min_unlabeled_share: dict[str, float] = field(default_factory=dict)
    min_registers: int = 0
    min_per_register: int = 0
    max_opening_share: float = 0.02
    opening_words: int = 3
    near_duplicate_jaccard: float = 0.8
    shingle_chars: int = 5
    test_size: float = 0.15
    starter_size: int = 300  # the small starter corpus, a stratified subset of train
    holdout_files: tuple[str, ...] = ("holdout_writer.jsonl",)


@dataclass(frozen=True)
class DocumentChecks:
    """What ``trafficlens data check`` requires of a corpus of whole documents (records
    with a ``doc`` field: one per sentence; a minimum of 0 is not checked) and how
    ``trafficlens data split`` splits it."""

    texts: Path = Path("data/documents/texts")  # where doc ids point: texts/<doc>.txt
    # hashes of the word sequences of published text (pipeline.corpus.overlap); "" = no check
    fingerprint: Path | None = Path("data/documents/provenance/published_8grams.txt")
    min_documents: int = 0
    min_sentences: int = 0
    min_registers: int = 0
    min_docs_per_register: int = 0
    min_unlabeled_share: float = 0.0  # sentences with no label in any set
    min_positives: int = 0  # positive sentences per label
    duplicate_sentence_words: int = 8  # identical sentences this long are duplicates
    near_duplicate_jaccard: float = 0.8  # whole documents, character n-gram Jaccard
    shingle_chars: int = 5
    test_size: float = 0.2  # share of documents in the test split (`data split`)


@dataclass(frozen=True)
class Config:
    label_sets: tuple[LabelSet, ...]
    seed: int = 13
    paths: Paths = field(default_factory=Paths)
    preprocess: Preprocess = field(default_factory=Preprocess)
    features: Features = field(default_factory=Features)
    model: Model = field(default_factory=Model)
    thresholds: Thresholds = field(default_factory=Thresholds)
    decision: Decision = field(default_factory=Decision)
    predict: Predict = field(default_factory=Predict)
    data: DataChecks = field(default_factory=DataChecks)
    documents: DocumentChecks = field(default_factory=DocumentChecks)
    report: Report = field(default_factory=Report)
    pii: Pii = field(default_factory=Pii)
    gates: dict[str, dict[str, float]] = field(default_factory=dict)
    source: Path | None = None

    @property
    def all_labels(self) -> list[tuple[str, str]]:
        """Every ``(set, label)`` pair, in config order: the model's output columns."""
        return [(s.name, lab) for s in self.label_sets for lab in s.labels]

    def with_absolute_paths(self, **paths: Any) -> Config:
        """This config with every path absolute (``paths`` replace ``[paths]`` entries
        first), as a model card records it: valid wherever the model is used later."""
        def absolute(value: Any) -> Any:
            if value is None:  # a setting turned off
                return None
            if isinstance(value, tuple):
                return tuple(Path(v).absolute() for v in value)
            return Path(value).absolute()

        tables = {"paths": dataclasses.replace(self.paths, **paths),
                  "documents": self.documents}
        return dataclasses.replace(self, **{
            section: dataclasses.replace(tables[section], **{
                key: absolute(getattr(tables[section], key)) for key in keys})
            for section, keys in PATH_KEYS.items()})

    def label_set(self, name: str) -> LabelSet:
        for s in self.label_sets:
            if s.name == name:
                return s
        raise PipelineError(f"unknown label set {name!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy, stored in the model card."""

        def plain(value: Any) -> Any:
            if value is None:  # TOML has no null; "" reads back as None for these settings
                return ""
            if isinstance(value, Path):
                return str(value)
            if isinstance(value, (tuple, list)):
                return [plain(v) for v in value]
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            return value

        out = plain(dataclasses.asdict(self))
        out.pop("source", None)
        out["label_sets"] = {s.name: {"labels": list(s.labels), "required": s.required}
                             for s in self.label_sets}
        return out


def parse_overrides(args: list[str]) -> dict[str, Any]:
    """Turn leftover CLI args ``--section.key value`` into ``{"section.key": value}``.

    Values are read as TOML literals (``3``, ``0.5``, ``true``, ``[1, 2]``) and fall
    back to plain strings.
    """
    out: dict[str, Any] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--") or ("." not in arg and arg.split("=")[0] != "--seed"):
            raise PipelineError(f"unexpected argument {arg!r} (overrides look like --model.C 2)")
        key = arg[2:]
        if "=" in key:
            key, raw = key.split("=", 1)
            i += 1
        elif i + 1 < len(args):
            raw = args[i + 1]
            i += 2
        else:
            raise PipelineError(f"override {arg} needs a value")
        out[key.replace("-", "_")] = _literal(raw)
    return out


def _literal(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


#: Settings holding paths: written in a config file, they resolve relative to that file.
PATH_KEYS = {"paths": ("train", "test", "cues", "model", "cache"),
             "documents": ("texts", "fingerprint")}


def load_config(path: Path, overrides: dict[str, Any] | None = None) -> Config:
    """Read ``path`` (TOML), apply dotted ``overrides`` and validate.

    Paths written in the file resolve relative to the file's folder, so a config works
    from any working directory; paths in ``overrides`` (the command line) and defaults
    resolve relative to the working directory.
    """
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as err:
        raise PipelineError(f"{path}: cannot read config: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise PipelineError(f"{path}: invalid TOML: {err}") from None
    _relative_to(raw, Path(path).resolve().parent)
    for key, value in (overrides or {}).items():
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise PipelineError(f"override {key}: {part} is not a section")
        node[leaf] = value
    return config_from_dict(raw, source=Path(path))


def _relative_to(raw: dict[str, Any], base: Path) -> None:
    """Make the relative paths of ``raw``'s path settings relative to ``base``, in place
    (an empty string, which turns a setting off, and non-strings are left for validation)."""
    def resolve(value: Any) -> Any:
        # "~" is the user's home; ".." is left to the OS, which follows symlinks first
        if isinstance(value, str) and value.strip():
            path = Path(value).expanduser()
            return str(path if path.is_absolute() else base / path)
        return value

    for section, keys in PATH_KEYS.items():
        table = raw.get(section)
        if not isinstance(table, dict):
            continue
        for key in keys:
            if key in table:
                value = table[key]
                table[key] = ([resolve(v) for v in value] if isinstance(value, list)
                              else resolve(value))


def config_from_dict(raw: dict[str, Any], source: Path | None = None) -> Config:
    """Build a validated :class:`Config` from a parsed TOML mapping."""
    name = str(source or "config")
    raw = dict(raw)
    labels = raw.pop("labels", None)
    if not isinstance(labels, dict) or not labels:
        raise PipelineError(f"{name}: [labels] must define at least one label set")
    label_sets = []
    for set_name, spec in labels.items():
        if not isinstance(spec, dict) or not spec.get("labels"):
            raise PipelineError(f"{name}: labels.{set_name}: needs a non-empty 'labels' list")
        labs = tuple(str(x) for x in spec["labels"])
        if len(set(labs)) != len(labs):
            raise PipelineError(f"{name}: labels.{set_name}: duplicate label")
        extra = set(spec) - {"labels", "required"}
        if extra:
            raise PipelineError(f"{name}: labels.{set_name}: unknown key(s) {sorted(extra)}")
        label_sets.append(LabelSet(set_name, labs, bool(spec.get("required", True))))
    kwargs: dict[str, Any] = {"label_sets": tuple(label_sets), "source": source}
    if "seed" in raw:
        kwargs["seed"] = _typed(name, "seed", raw.pop("seed"), int)
    sections = {"paths": Paths, "preprocess": Preprocess, "features": Features,
                "model": Model, "thresholds": Thresholds, "decision": Decision,
                "predict": Predict,
                "data": DataChecks, "documents": DocumentChecks, "report": Report,
                "pii": Pii}
    for section, cls in sections.items():
        kwargs[section] = _section(name, section, cls, raw.pop(section, {}))
    kwargs["gates"] = _gates(name, raw.pop("gates", {}))
    for key in raw:
        raise PipelineError(f"{name}: unknown section or key {key!r}")
    cfg = Config(**kwargs)
    _validate(name, cfg)
    return cfg


def _gates(name: str, raw: Any) -> dict[str, dict[str, float]]:
    """``[gates]``: ``macro_f1 = {set = min}``, optional ``label_f1 = {"set.label" = min}``
    and ``document_macro_f1 = {set = min}`` (documents scored whole)."""
    if not isinstance(raw, dict):
        raise PipelineError(f"{name}: [gates] must be a table")
    out = {}
    for key, table in raw.items():
        if key not in GATES or not isinstance(table, dict):
            raise PipelineError(f"{name}: gates.{key}: expected {', '.join(GATES)} tables")
        out[key] = {str(k): _typed(name, f"gates.{key}.{k}", v, float) for k, v in table.items()}
        for k, v in out[key].items():
            if not 0 <= v <= 1:  # also NaN, which no figure is below
                raise PipelineError(f"{name}: gates.{key}.{k}: expected a number from 0 to 1, "
                                    f"got {v}")
    return out


def _section(name: str, section: str, cls: type, values: Any) -> Any:
    if not isinstance(values, dict):
        raise PipelineError(f"{name}: [{section}] must be a table")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    out = {}
    for key, value in values.items():
        if key not in fields:
            raise PipelineError(f"{name}: {section}.{key}: unknown setting "
                                f"(known: {', '.join(fields)})")
        default = getattr(defaults, key)
        # annotations are strings here (postponed evaluation): "Path | None" etc.
        optional = "None" in str(fields[key].type)
        out[key] = _coerce(name, f"{section}.{key}", value, default, optional)
    return cls(**out)


def _coerce(name: str, key: str, value: Any, default: Any, optional: bool = False) -> Any:
    if isinstance(default, Path):
        if value in ("", None):
            if optional:  # e.g. paths.cache = "" turns the cache off
                return None
            raise PipelineError(f"{name}: {key}: needs a path")
        if not isinstance(value, str):
            raise PipelineError(f"{name}: {key}: expected a path string, got {value!r}")
        return Path(value).expanduser()
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise PipelineError(f"{name}: {key}: expected a table, got {value!r}")
        return {str(k): _typed(name, f"{key}.{k}", v, float) for k, v in value.items()}
    if isinstance(default, tuple):
        if key == "paths.train" and isinstance(value, str):
            value = [value]  # one file or folder
        if not isinstance(value, list):
            raise PipelineError(f"{name}: {key}: expected a list, got {value!r}")
        if key == "paths.train":
            if not all(isinstance(v, str) for v in value):
                raise PipelineError(f"{name}: {key}: expected a list of path strings")
            if any(not v.strip() for v in value):
                raise PipelineError(f"{name}: {key}: an empty path (it would read every file "
                                    "of the working directory); remove it")
            return tuple(Path(v).expanduser() for v in value)
        if key.endswith("_range") and len(value) != 2:
            raise PipelineError(f"{name}: {key}: expected [min, max], got {value!r}")
        return tuple(_typed(name, key, v, type(default[0]) if default else str) for v in value)
    if key == "model.class_weight":
        if value not in ("balanced", "none", "", None):
            raise PipelineError(f"{name}: {key}: expected \"balanced\" or \"none\"")
        return value
    if key.endswith("max_features"):  # a count, or none
        return None if value in ("", None, 0) else _typed(name, key, value, int)
    if default is None:
        return value
    if isinstance(default, bool):
        return _typed(name, key, value, bool)
    if isinstance(default, (int, float, str)):
        return _typed(name, key, value, type(default))
    return value


def _typed(name: str, key: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise PipelineError(f"{name}: {key}: expected {kind.__name__}, got {value!r}")
    return value


def _validate(name: str, cfg: Config) -> None:
    if cfg.model.classifier not in CLASSIFIERS:
        raise PipelineError(f"{name}: model.classifier: {cfg.model.classifier!r} is not one of "
                            f"{', '.join(CLASSIFIERS)}")
    if cfg.model.C <= 0:
        raise PipelineError(f"{name}: model.C: must be > 0")
    if cfg.thresholds.cv_folds < 2:
        raise PipelineError(f"{name}: thresholds.cv_folds: must be >= 2")
    t = cfg.thresholds
    if not 0 < t.grid_start < t.grid_stop < 1 or t.grid_step <= 0:
        raise PipelineError(f"{name}: thresholds: need 0 < grid_start < grid_stop < 1 "
                            "and grid_step > 0")
    r = cfg.report
    if r.bootstrap < 0:
        raise PipelineError(f"{name}: report.bootstrap: must be >= 0 (0: no intervals), "
                            f"got {r.bootstrap}")
    if r.label_free_documents < 1:
        raise PipelineError(f"{name}: report.label_free_documents: must be >= 1, "
                            f"got {r.label_free_documents}")
    for key, sizes, least in (("label_free_sizes", r.label_free_sizes, 1),
                              ("excerpt_sizes", r.excerpt_sizes, 2)):
        if not sizes or any(k < least for k in sizes):
            raise PipelineError(f"{name}: report.{key}: needs one or more sizes, each >= "
                                f"{least}, got {list(sizes)}")
    d = cfg.decision
    if not 0 < d.false_alarm < 1:
        raise PipelineError(f"{name}: decision.false_alarm: must be between 0 and 1 "
                            f"(exclusive), got {d.false_alarm}")
    if list(d.length_bands) != sorted(set(d.length_bands)) or any(
            b < 2 for b in d.length_bands):
        raise PipelineError(f"{name}: decision.length_bands: must rise, each 2 or more, "
                            f"got {list(d.length_bands)}")
    if not t.grid_stop <= d.evidence_stop < 1:
        raise PipelineError(f"{name}: decision.evidence_stop: must be from "
                            f"thresholds.grid_stop ({t.grid_stop}) to below 1, "
                            f"got {d.evidence_stop}")
    for key in ("word_ngram_range", "char_ngram_range"):
        lo, hi = getattr(cfg.features, key)
        if not 1 <= lo <= hi:
            raise PipelineError(f"{name}: features.{key}: need 1 <= min <= max")
    positive = {"preprocess.batch_size": cfg.preprocess.batch_size,
                "preprocess.cache_chunk": cfg.preprocess.cache_chunk,
                "predict.max_chars": cfg.predict.max_chars,
                "predict.batch_docs": cfg.predict.batch_docs,
                "model.max_iter": cfg.model.max_iter,
                "features.word_min_df": cfg.features.word_min_df,
                "features.char_min_df": cfg.features.char_min_df}
    for key, value in positive.items():
        if value < 1:
            raise PipelineError(f"{name}: {key}: must be >= 1, got {value}")
    p = cfg.pii
    from pipeline.text.pii import check_kinds

    try:
        check_kinds(p.kinds)
    except PipelineError as err:
        raise PipelineError(f"{name}: {err}") from None
    if len(p.phone_digits) != 2 or not 1 <= p.phone_digits[0] <= p.phone_digits[1]:
        raise PipelineError(f"{name}: pii.phone_digits: expected [fewest, most] with "
                            f"1 <= fewest <= most, got {list(p.phone_digits)}")
    if cfg.predict.evidence_per_label < 0:
        raise PipelineError(f"{name}: predict.evidence_per_label: must be >= 0")
    for key, share in (("data", cfg.data.test_size), ("documents", cfg.documents.test_size)):
        if not 0 < share < 1:
            raise PipelineError(f"{name}: {key}.test_size: must be between 0 and 1")
    d = cfg.documents
    for key, value in (("shingle_chars", d.shingle_chars),
                       ("duplicate_sentence_words", d.duplicate_sentence_words)):
        if value < 1:
            raise PipelineError(f"{name}: documents.{key}: must be >= 1, got {value}")
    if not 0 < d.near_duplicate_jaccard <= 1:
        raise PipelineError(f"{name}: documents.near_duplicate_jaccard: must be in (0, 1]")
    names = [s.name for s in cfg.label_sets]
    if len(set(names)) != len(names):
        raise PipelineError(f"{name}: duplicate label set name")
