"""Classify documents: split into sentences, score each, aggregate per document.

A document's score for a label is the maximum over its sentences, and its labels are
those at or over the label's threshold. Evidence lists, for each predicted label,
the best-scoring sentences with their character offsets in the document text.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

import numpy as np

from pipeline.inputs import Document
from pipeline.model import TraffickingModel
from pipeline.preprocess import Sentence

LEVELS = ("document", "sentence")


def batches(items: Iterable[Document], size: int) -> Iterator[list[Document]]:
    """Consecutive lists of at most ``size`` items (the last may be shorter)."""
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


def predict_documents(model: TraffickingModel, documents: Iterable[Document], *,
                      level: str = "document", evidence: int | None = None,
                      batch_size: int = 64) -> Iterator[dict[str, Any]]:
    """Yield output records, in input order: one per document (or per sentence)."""
    k = model.config.predict.evidence_per_label if evidence is None else evidence
    for batch in batches(documents, batch_size):
        ok = [d for d in batch if d.error is None]
        texts = [d.text or "" for d in ok]
        sentences = list(model.preprocessor.stream(texts))
        scores, owners = model.score_sentences(texts, sentences)
        per_doc: dict[int, tuple[list[Sentence], np.ndarray]] = {}
        for i, doc in enumerate(ok):
            per_doc[id(doc)] = (sentences[i], scores[owners == i])
        for doc in batch:
            if doc.error is not None:
                yield error_record(model, doc, level)
                continue
            sents, sent_scores = per_doc[id(doc)]
            if level == "sentence":
                yield from _sentence_records(model, doc, sents, sent_scores)
            else:
                yield _document_record(model, doc, sents, sent_scores, k)


def _empty(model: TraffickingModel) -> tuple[dict[str, list[str]], dict[str, dict[str, float]]]:
    labels = {s.name: [] for s in model.config.label_sets}
    scores = {s.name: {lab: 0.0 for lab in s.labels} for s in model.config.label_sets}
    return labels, scores


def _labels_scores(model: TraffickingModel, row: np.ndarray):
    labels, scores = _empty(model)
    for j, (s, lab) in enumerate(model.columns):
        scores[s][lab] = round(float(row[j]), 4)
        if row[j] >= model.thresholds[j]:
            labels[s].append(lab)
    return labels, scores


def error_record(model: TraffickingModel, doc: Document, level: str = "document") -> dict[str, Any]:
    """The record of a document that could not be read: no labels, the reason in ``error``."""
    labels, scores = _empty(model)
    if level == "sentence":
        return {"id": f"{doc.id}#0", "doc_id": doc.id, "source": doc.source, "sentence": None,
                "start": None, "end": None, "text": None, "labels": labels, "scores": scores,
                "error": doc.error}
    return {"id": doc.id, "source": doc.source, "n_sentences": 0, "labels": labels,
            "scores": scores, "evidence_sentences": _counts(model, np.zeros(len(model.columns))),
            "evidence": {s.name: {} for s in model.config.label_sets}, "error": doc.error}


def _counts(model: TraffickingModel, counts: np.ndarray) -> dict[str, dict[str, int]]:
    """Per label set and label, how many sentences are at or over the label's threshold."""
    out: dict[str, dict[str, int]] = {s.name: {} for s in model.config.label_sets}
    for j, (s, lab) in enumerate(model.columns):
        out[s][lab] = int(counts[j])
    return out


def _document_record(model: TraffickingModel, doc: Document, sents: list[Sentence],
                     sent_scores: np.ndarray, k: int) -> dict[str, Any]:
    doc_scores = sent_scores.max(axis=0) if len(sents) else np.zeros(len(model.columns))
    labels, scores = _labels_scores(model, doc_scores)
    evidence: dict[str, dict[str, list[dict[str, Any]]]] = {s.name: {} for s in
                                                             model.config.label_sets}
    text = doc.text or ""
    for j, (s, lab) in enumerate(model.columns):
        if lab not in labels[s]:
            continue
        order = np.argsort(-sent_scores[:, j], kind="stable")[:k]
        evidence[s][lab] = [
            {"text": text[sents[i].start:sents[i].end], "score": round(float(sent_scores[i, j]), 4),
             "start": sents[i].start, "end": sents[i].end}
            for i in order if sent_scores[i, j] >= model.thresholds[j]
        ]
    over = (sent_scores >= model.thresholds).sum(axis=0) if len(sents) else np.zeros(
        len(model.columns))
    return {"id": doc.id, "source": doc.source, "n_sentences": len(sents), "labels": labels,
            "scores": scores, "evidence_sentences": _counts(model, over),
            "evidence": evidence, "error": None}


def _sentence_records(model: TraffickingModel, doc: Document, sents: list[Sentence],
                      sent_scores: np.ndarray) -> Iterator[dict[str, Any]]:
    if not sents:  # still one record, so the document is not lost
        labels, scores = _empty(model)
        yield {"id": f"{doc.id}#0", "doc_id": doc.id, "source": doc.source, "sentence": None,
               "start": None, "end": None, "text": None, "labels": labels, "scores": scores,
               "error": "no sentence with words in this document"}
        return
    text = doc.text or ""
    for n, (sent, row) in enumerate(zip(sents, sent_scores, strict=True), 1):
        labels, scores = _labels_scores(model, row)
        yield {"id": f"{doc.id}#{n}", "doc_id": doc.id, "source": doc.source, "sentence": n,
               "start": sent.start, "end": sent.end, "text": text[sent.start:sent.end],
               "labels": labels, "scores": scores, "error": None}
