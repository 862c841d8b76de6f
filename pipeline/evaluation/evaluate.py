"""Score a model on annotated passages, and on the documents they come from.

A passage is labelled as the guide's unit (its best sentence against the sentence
thresholds). When the passages are the sentences of whole documents, the documents
are labelled as ``predict`` labels them, by the document rule (a document's gold
labels are the union of its sentences'), with a row per length band. Every macro-F1
has a bootstrap 95% interval, and documents made only of label-free passages show
whether labels inflate with length. Besides the model's metrics, an evaluation holds
the keyword and prior baselines on the same passages, the most confident errors per
label, and the strongest features per label, so a reviewer can judge the model from
one report.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline.config import Report
from pipeline.corpus.read import Passage, groups_of, is_document_corpus, label_matrix, read_corpus
from pipeline.errors import PipelineError
from pipeline.evaluation.baselines import keyword_baseline, prior_baseline
from pipeline.evaluation.metrics import all_metrics
from pipeline.evaluation.robustness import (
    bootstrap_macro_f1,
    excerpts,
    label_free_documents,
    length_bands,
)
from pipeline.model.persistence import TraffickingModel
from pipeline.text.segments import max_by_owner


@dataclass
class Evaluation:
    """Truth, scores and decisions for every passage, and the metrics they give."""

    passages: list[Passage]
    Y: np.ndarray
    scores: np.ndarray
    P: np.ndarray
    metrics: dict[str, Any]
    baselines: dict[str, dict[str, Any]] = field(default_factory=dict)
    keyword: np.ndarray | None = None  # the keyword baseline's decisions per passage


def evaluate_passages(model: TraffickingModel, passages: Sequence[Passage],
                      settings: Report | None = None) -> Evaluation:
    """Label each passage as the guide's unit (its best sentence against the sentence
    thresholds); compare with the gold labels and the baselines. Sentences of whole
    documents are also scored as documents, by the document rule. ``settings`` (default:
    the model's config) say how many bootstrap resamples and label-free documents."""
    settings = settings or model.config.report
    texts = [p.text for p in passages]
    Y = label_matrix(passages, model.config)
    scored = model.score_sentences(texts)
    scores = max_by_owner(scored.scores, scored.owners, len(texts))
    P = model.decisions.sentence_labels(scores)
    metrics = all_metrics(Y, P, model.columns, scores, model.thresholds)
    keyword = keyword_baseline(model, scored.cues, scored.owners, len(texts))
    baselines = {
        "keyword": all_metrics(Y, keyword, model.columns),
        "prior": all_metrics(Y, prior_baseline(model, len(texts)), model.columns),
    }
    metrics["baselines"] = _macro_micro(baselines, model)
    groups = groups_of(passages) if is_document_corpus(passages) else None
    metrics["intervals"] = bootstrap_macro_f1(Y, P, model.columns, groups=groups,
                                              n_resamples=settings.bootstrap,
                                              seed=model.config.seed)
    metrics["label_free"] = label_free_documents(
        scores, Y, lambda s, o, n: model.decisions.document_labels(s, o, n)[0],
        sizes=settings.label_free_sizes, n_documents=settings.label_free_documents,
        seed=model.config.seed)
    evaluation = Evaluation(list(passages), Y, scores, P, metrics, baselines, keyword)
    if groups is not None:
        metrics["documents"] = document_metrics(evaluation, model, settings)
    return evaluation


def document_metrics(evaluation: Evaluation, model: TraffickingModel,
                     settings: Report | None = None) -> dict[str, Any]:
    """Metrics per document, labelled by the document rule from its sentences' scores
    (as ``predict`` labels it); its gold labels are the union of its sentences'."""
    docs = list(dict.fromkeys(str(p.extra["doc"]) for p in evaluation.passages))
    index = {d: i for i, d in enumerate(docs)}
    owners = np.array([index[str(p.extra["doc"])] for p in evaluation.passages])
    Y = max_by_owner(evaluation.Y, owners, len(docs)).astype(np.int8)
    scores = max_by_owner(evaluation.scores, owners, len(docs))
    P, _, _ = model.decisions.document_labels(evaluation.scores, owners, len(docs))
    out = all_metrics(Y, P, model.columns, scores)
    out["n_documents"] = len(docs)
    lengths = np.bincount(owners, minlength=len(docs))
    everything = np.ones_like(Y)
    baselines = {"keyword": all_metrics(Y, max_by_owner(evaluation.keyword, owners, len(docs))
                                        .astype(np.int8), model.columns),
                 "prior": all_metrics(Y, prior_baseline(model, len(docs)), model.columns),
                 "all_labels": all_metrics(Y, everything, model.columns),
                 "best_sentence": all_metrics(Y, model.decisions.sentence_labels(scores),
                                              model.columns)}
    out["baselines"] = _macro_micro(baselines, model)
    settings = settings or model.config.report
    out["intervals"] = bootstrap_macro_f1(Y, P, model.columns, n_resamples=settings.bootstrap,
                                          seed=model.config.seed)
    out["length_bands"] = length_bands(Y, P, lengths, model.columns)
    rule = model.decisions
    out["excerpts"] = excerpts(evaluation.scores, evaluation.Y, owners, model.columns,
                               lambda s, o, n: rule.document_labels(s, o, n)[0],
                               rule.sentence_labels, sizes=settings.excerpt_sizes)
    return out


def _macro_micro(baselines: dict[str, dict[str, Any]], model: TraffickingModel
                 ) -> dict[str, dict[str, dict[str, float]]]:
    return {name: {s: {"macro_f1": m[s]["macro_f1"], "micro_f1": m[s]["micro_f1"]}
                   for s in _sets(model)}
            for name, m in baselines.items()}


def evaluate_files(model: TraffickingModel, data: Sequence[Path],
                   settings: Report | None = None) -> Evaluation:
    """Read annotated JSONL (validated against the model's label sets) and evaluate."""
    return evaluate_passages(model, read_corpus(data, model.config.label_sets), settings)


def _sets(model: TraffickingModel) -> list[str]:
    return [s.name for s in model.config.label_sets]


def confident_errors(evaluation: Evaluation, model: TraffickingModel, limit: int
                     ) -> dict[tuple[str, str], dict[str, list[dict[str, Any]]]]:
    """Per label, the false positives with the highest scores and false negatives with
    the lowest, at most ``limit`` of each."""
    out = {}
    for j, col in enumerate(model.columns):
        y, p, s = evaluation.Y[:, j], evaluation.P[:, j], evaluation.scores[:, j]
        fp = np.flatnonzero((y == 0) & (p == 1))
        fn = np.flatnonzero((y == 1) & (p == 0))
        fp = fp[np.argsort(-s[fp], kind="stable")][:limit]
        fn = fn[np.argsort(s[fn], kind="stable")][:limit]
        out[col] = {
            kind: [{"id": evaluation.passages[i].id, "score": round(float(s[i]), 3),
                    "text": evaluation.passages[i].text} for i in idx]
            for kind, idx in (("false_positives", fp), ("false_negatives", fn))
        }
    return out


def top_features(model: TraffickingModel, k: int) -> dict[tuple[str, str], list[tuple[str, float]]]:
    """The ``k`` features with the largest positive weight per label (linear models)."""
    classifier = model.estimator.pipeline_.named_steps["classifier"]
    names = model.estimator.get_feature_names_out()
    out = {}
    for j, col in enumerate(model.columns):
        coef = _coefficients(classifier.estimators_[j])
        if coef is None:
            out[col] = []
            continue
        order = np.argsort(-coef, kind="stable")[:k]
        out[col] = [(str(names[i]), round(float(coef[i]), 3)) for i in order if coef[i] > 0]
    return out


def _coefficients(estimator: Any) -> np.ndarray | None:
    if hasattr(estimator, "coef_"):
        return np.asarray(estimator.coef_).ravel()
    calibrated = getattr(estimator, "calibrated_classifiers_", None)
    if calibrated:  # CalibratedClassifierCV: average the folds' linear models
        return np.mean([np.asarray(c.estimator.coef_).ravel() for c in calibrated], axis=0)
    return None


def compare(metrics: dict[str, Any], old_path: Path, tolerance: float) -> dict[str, Any]:
    """Changes against an earlier ``metrics.json``: macro-F1 per set and F1 per label.

    A change below ``-tolerance`` is marked as a drop.
    """
    try:
        old = json.loads(Path(old_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise PipelineError(f"{old_path}: cannot read earlier metrics ({err})") from None
    rows = []
    for set_name, m in metrics.items():
        if not isinstance(m, dict) or "per_label" not in m:
            continue
        o = old.get(set_name)
        if not isinstance(o, dict) or "per_label" not in o:
            raise PipelineError(f"{old_path}: {set_name}: missing in the earlier metrics")
        items = [("(macro)", m["macro_f1"], o.get("macro_f1"))]
        items += [(lab, v["f1"], o["per_label"].get(lab, {}).get("f1"))
                  for lab, v in m["per_label"].items()]
        for label, new, before in items:  # None: no support, in this run or the earlier
            delta = None if before is None or new is None else round(new - before, 4)
            rows.append({"set": set_name, "label": label, "old": before, "new": new,
                         "delta": delta, "drop": delta is not None and delta < -tolerance})
    return {"against": str(old_path), "tolerance": tolerance, "rows": rows,
            "drops": sum(r["drop"] for r in rows)}


def _macro_gates(figures: dict[str, Any], minimums: dict[str, float], prefix: str
                 ) -> list[str]:
    """Label sets of ``figures`` whose macro-F1 is below its minimum (or undefined)."""
    failures = []
    for set_name, minimum in minimums.items():
        entry = figures.get(set_name)
        value = entry.get("macro_f1") if isinstance(entry, dict) else None
        if not isinstance(entry, dict) or "per_label" not in entry:
            failures.append(f"{prefix}{set_name}: no such label set in the metrics")
        elif value is None:
            failures.append(f"{prefix}{set_name} macro-F1 n/a (no label has support in the "
                            "data)")
        elif value < minimum:
            failures.append(f"{prefix}{set_name} macro-F1 {value:.3f} < gate {minimum:.3f}")
    return failures


def check_gates(metrics: dict[str, Any], gates: dict[str, Any]) -> list[str]:
    """Figures below the config's ``[gates]``; an empty list means the gate passes.

    ``document_macro_f1`` gates apply only where there are document-level figures (the
    data are sentences of documents); passages are gated by the others alone.
    """
    failures = _macro_gates(metrics, gates.get("macro_f1", {}), "")
    documents = metrics.get("documents")  # only sentences of documents have these figures
    if documents:
        failures += _macro_gates(documents, gates.get("document_macro_f1", {}), "documents: ")
    for key, minimum in gates.get("label_f1", {}).items():
        set_name, _, label = key.partition(".")
        figures = metrics.get(set_name)
        entry = (figures.get("per_label", {}).get(label) if isinstance(figures, dict)
                 else None)
        value = None if entry is None else entry["f1"]
        if entry is None:
            failures.append(f"{key}: no such label in the metrics")
        elif value is None:
            failures.append(f"{key} F1 n/a (no passage in the data has this label)")
        elif value < minimum:
            failures.append(f"{key} F1 {value:.3f} < gate {minimum:.3f}")
    return failures
