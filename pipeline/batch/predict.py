"""Classify documents: split into sentences, score each, decide per document.

A document's score for a label is its best sentence's score; its labels follow the
document rule of :mod:`pipeline.model.thresholds` (enough evidence sentences for its
length). Each record counts, per label, the document's evidence sentences and the
number it needed, and quotes the best of them with character offsets into the text.
With ``mask`` set, quoted text has its personal data replaced (:mod:`pipeline.text.pii`)
after the labels are decided; offsets still point into the original text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from typing import Any

import numpy as np

from pipeline.errors import PipelineError
from pipeline.io.inputs import Document
from pipeline.io.outputs import jsonl_line
from pipeline.model.persistence import TraffickingModel
from pipeline.text.pii import PiiMasker
from pipeline.text.preprocess import Sentence

LEVELS = ("document", "sentence")
ENGINES = ("local", "dask")


@dataclass(frozen=True)
class PredictOptions:
    """How a ``predict`` run classifies: one record per document or per sentence, how
    many evidence sentences to quote (None: the model's config), documents per batch,
    where batches run (``local`` processes or a ``dask`` cluster), and what personal
    data to mask in quoted text (a config's ``[pii]`` settings; None: no masking)."""

    level: str = "document"
    evidence: int | None = None
    batch_docs: int = 64
    engine: str = "local"
    n_jobs: int = 1
    scheduler: str | None = None
    mask: Any = None  # pipeline.config.Pii

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise PipelineError(f"--level: {self.level!r} is not one of {', '.join(LEVELS)}")
        if self.engine not in ENGINES:
            raise PipelineError(f"--engine: {self.engine!r} is not one of {', '.join(ENGINES)}")
        if self.n_jobs < 1:
            raise PipelineError(f"--n-jobs: must be >= 1, got {self.n_jobs}")
        if self.batch_docs < 1:
            raise PipelineError(f"predict.batch_docs: must be >= 1, got {self.batch_docs}")
        if self.evidence is not None and self.evidence < 0:
            raise PipelineError(f"--evidence: must be >= 0, got {self.evidence}")


@dataclass(frozen=True)
class Encoded:
    """A batch's records as JSONL lines, with the counts a run reports."""

    lines: list[str]
    documents: int
    sentences: int
    errors: int

    @classmethod
    def of(cls, records: Iterable[dict[str, Any]], level: str = "document") -> Encoded:
        lines, documents, sentences, errors = [], 0, 0, 0
        for r in records:
            lines.append(jsonl_line(r))
            if level == "document" or r.get("sentence") in (None, 1):
                documents += 1
                errors += r.get("error") is not None
            sentences += r.get("n_sentences", 1 if r.get("sentence") else 0)
        return cls(lines, documents, sentences, errors)


def batches(items: Iterable[Document], size: int) -> Iterator[list[Document]]:
    """Consecutive lists of at most ``size`` items (the last may be shorter)."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def predict_documents(model: TraffickingModel, documents: Iterable[Document],
                      options: PredictOptions = PredictOptions()) -> Iterator[dict[str, Any]]:
    """Yield output records, in input order: one per document (or per sentence)."""
    k = model.config.predict.evidence_per_label if options.evidence is None else options.evidence
    rule = model.decisions
    masker = None if options.mask is None else masker_for(options.mask)
    for batch in batches(documents, options.batch_docs):
        ok = [d for d in batch if d.error is None]
        scored = model.score_sentences([d.text or "" for d in ok])
        labels, counts, needed = model.decide(scored)
        position = {id(doc): i for i, doc in enumerate(ok)}
        for doc in batch:
            if doc.error is not None:
                yield error_record(model, doc, options.level)
                continue
            i = position[id(doc)]
            sents, sent_scores = scored.sentences[i], scored.of(i)
            if options.level == "sentence":
                yield from _sentence_records(model, doc, sents, sent_scores,
                                             rule.sentence_labels(sent_scores), masker)
            else:
                yield _document_record(model, doc, sents, sent_scores, k, labels[i],
                                       counts[i], needed[i], masker)


@lru_cache(maxsize=4)
def masker_for(settings: Any) -> PiiMasker:
    """One masker per ``[pii]`` settings and process (its spaCy objects load once)."""
    return PiiMasker.from_config(settings)


def _quoted(text: str, spans: list[tuple[int, int]], masker: PiiMasker | None) -> list[str]:
    """The text of each ``(start, end)`` of a document, masked when ``masker`` is set."""
    if masker is None:
        return [text[a:b] for a, b in spans]
    return masker.mask_spans(text, spans)


@lru_cache(maxsize=8)
def _layout(label_sets: tuple) -> tuple[list[tuple[str, list[tuple[int, str]]]],
                                        tuple[list[int], list[str], list[int], list[str]] | None]:
    """Per label set, its (column, label) pairs; and the stage and technology columns
    and labels of the same-sentence table (None without both sets). Computed once per
    label layout, not per record."""
    per_set, j = [], 0
    for s in label_sets:
        per_set.append((s.name, [(j + i, lab) for i, lab in enumerate(s.labels)]))
        j += len(s.labels)
    index = {(name, lab): col for name, cols in per_set for col, lab in cols}
    sets = {s.name: s for s in label_sets}
    if "stage" not in sets or "technology" not in sets:
        return per_set, None
    rows, cols = list(sets["stage"].labels), list(sets["technology"].labels)
    return per_set, ([index[("stage", lab)] for lab in rows], rows,
                     [index[("technology", lab)] for lab in cols], cols)


def _per_set(model: TraffickingModel, values: np.ndarray, kind: type = float
             ) -> dict[str, dict[str, Any]]:
    per_set, _ = _layout(model.config.label_sets)
    shown = ([round(v, 4) for v in np.asarray(values, dtype=float).tolist()]
             if kind is float else [kind(v) for v in values])
    return {name: {lab: shown[j] for j, lab in cols} for name, cols in per_set}


def _label_lists(model: TraffickingModel, decided: np.ndarray) -> dict[str, list[str]]:
    per_set, _ = _layout(model.config.label_sets)
    return {name: [lab for j, lab in cols if decided[j]] for name, cols in per_set}


def _same_sentence(model: TraffickingModel, decided: np.ndarray
                   ) -> dict[str, dict[str, int]] | None:
    """Per (stage, technology): how many sentences carry both labels (sentence labels)."""
    _, table = _layout(model.config.label_sets)
    if table is None:
        return None
    row_cols, row_labels, col_cols, col_labels = table
    a = decided[:, row_cols].astype(np.int64)
    b = decided[:, col_cols].astype(np.int64)
    both = (a.T @ b).tolist()  # sentences carrying each (row, column) pair
    return {x: dict(zip(col_labels, both[i], strict=True)) for i, x in enumerate(row_labels)}


def error_record(model: TraffickingModel, doc: Document, level: str = "document"
                 ) -> dict[str, Any]:
    """The record of a document that could not be read: no labels, the reason in ``error``."""
    n = len(model.columns)
    labels, scores = _label_lists(model, np.zeros(n)), _per_set(model, np.zeros(n))
    if level == "sentence":
        return {"id": f"{doc.id}#0", "doc_id": doc.id, "source": doc.source, "sentence": None,
                "start": None, "end": None, "text": None, "labels": labels, "scores": scores,
                "error": doc.error}
    record = {"id": doc.id, "source": doc.source, "n_sentences": 0, "labels": labels,
              "scores": scores, "evidence_sentences": _per_set(model, np.zeros(n), int),
              "evidence_needed": _per_set(model, np.ones(n), int),
              "evidence": {s.name: {} for s in model.config.label_sets}, "error": doc.error}
    same = _same_sentence(model, np.zeros((0, n), dtype=bool))
    if same is not None:
        record["same_sentence"] = same
    return record


def _document_record(model: TraffickingModel, doc: Document, sents: list[Sentence],
                     sent_scores: np.ndarray, k: int, decided: np.ndarray,
                     counts: np.ndarray, needed: np.ndarray,
                     masker: PiiMasker | None = None) -> dict[str, Any]:
    rule = model.decisions
    n = len(model.columns)
    doc_scores = sent_scores.max(axis=0) if len(sents) else np.zeros(n)
    evidence_mask = rule.evidence_mask(sent_scores, len(sents))
    evidence: dict[str, dict[str, list[dict[str, Any]]]] = {s.name: {} for s in
                                                             model.config.label_sets}
    quoted: list[tuple[str, str, int, float]] = []  # set, label, sentence, score
    for j, (s, lab) in enumerate(model.columns):
        if not decided[j]:
            continue
        evidence[s][lab] = []
        order = np.argsort(-sent_scores[:, j], kind="stable")[:k]
        quoted += [(s, lab, int(i), round(float(sent_scores[i, j]), 4))
                   for i in order if evidence_mask[i, j]]
    texts = _quoted(doc.text or "", [(sents[i].start, sents[i].end) for *_, i, _ in quoted],
                    masker)
    for (s, lab, i, score), quote in zip(quoted, texts, strict=True):
        evidence[s][lab].append({"text": quote, "score": score, "start": sents[i].start,
                                 "end": sents[i].end})
    record = {"id": doc.id, "source": doc.source, "n_sentences": len(sents),
              "labels": _label_lists(model, decided), "scores": _per_set(model, doc_scores),
              "evidence_sentences": _per_set(model, counts, int),
              "evidence_needed": _per_set(model, needed, int),
              "evidence": evidence, "error": None}
    same = _same_sentence(model, rule.sentence_labels(sent_scores).astype(bool)
                          if len(sents) else np.zeros((0, n), dtype=bool))
    if same is not None:
        record["same_sentence"] = same
    return record


def _sentence_records(model: TraffickingModel, doc: Document, sents: list[Sentence],
                      sent_scores: np.ndarray, decided: np.ndarray,
                      masker: PiiMasker | None = None) -> Iterator[dict[str, Any]]:
    if not sents:  # still one record, so the document is not lost
        record = error_record(model, doc, "sentence")
        record["error"] = "no sentence with words in this document"
        yield record
        return
    texts = _quoted(doc.text or "", [(sent.start, sent.end) for sent in sents], masker)
    for n, (sent, row, labels, quote) in enumerate(
            zip(sents, sent_scores, decided, texts, strict=True), 1):
        yield {"id": f"{doc.id}#{n}", "doc_id": doc.id, "source": doc.source, "sentence": n,
               "start": sent.start, "end": sent.end, "text": quote,
               "labels": _label_lists(model, labels), "scores": _per_set(model, row),
               "error": None}
