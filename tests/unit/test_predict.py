"""pipeline.batch.predict: document and sentence records, evidence offsets, error records."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.batch.predict import PredictOptions, predict_documents
from pipeline.io.inputs import Document, read_inputs
from pipeline.model.persistence import TraffickingModel

DOCS = [
    Document("d1", "d1", "Her passport was taken on arrival.\n\n"
                         "She was sold on an escort site for bitcoin. The weather was fine."),
    Document("bad", "bad.txt", error="binary file (NUL bytes), not text"),
    Document("d2", "d2", "Recruiters posted fake jobs abroad on social media."),
    Document("d3", "d3", "... !!!"),  # no sentence with words
    Document("d4", "d4", "Profits were laundered through crypto wallets and bank transfers."),
]


@pytest.fixture(scope="module")
def doc_records(model: TraffickingModel) -> list[dict]:
    return list(predict_documents(model, DOCS))


def test_one_record_per_document_in_order(doc_records):
    assert [r["id"] for r in doc_records] == [d.id for d in DOCS]
    assert [r["source"] for r in doc_records] == [d.source for d in DOCS]


def test_error_record(doc_records, model: TraffickingModel):
    bad = doc_records[1]
    assert bad["error"] == "binary file (NUL bytes), not text"
    assert bad["n_sentences"] == 0
    assert bad["labels"] == {"stage": [], "technology": []}
    assert all(v == 0.0 for s in bad["scores"].values() for v in s.values())
    assert bad["evidence"] == {"stage": {}, "technology": {}}


def test_document_scores_labels_and_thresholds(doc_records, model: TraffickingModel):
    ok = [d for d in DOCS if d.error is None]
    expected = model.estimator.predict_proba([d.text for d in ok])
    decided = model.estimator.predict([d.text for d in ok])
    records = [r for r in doc_records if r["error"] is None]
    for row, labels, r in zip(expected, decided, records, strict=True):
        for j, (s, lab) in enumerate(model.columns):
            assert r["scores"][s][lab] == pytest.approx(row[j], abs=1e-4)
            assert (lab in r["labels"][s]) == bool(labels[j])
            # the rule: enough evidence sentences for the document's length
            assert (lab in r["labels"][s]) == (
                r["evidence_sentences"][s][lab] >= r["evidence_needed"][s][lab] > 0
                and r["n_sentences"] > 0)
    assert records[0]["n_sentences"] == 3
    assert records[2]["n_sentences"] == 0 and records[2]["labels"] == {"stage": [],
                                                                       "technology": []}
    # the fixture model does find something in these clear cases: a one-sentence document
    # is labelled as its sentence; in a longer one the sentence is at least evidence
    assert "recruitment" in records[1]["labels"]["stage"]
    assert records[0]["evidence_sentences"]["stage"]["control"] >= 1


def test_evidence_offsets_slice_the_document(doc_records, model: TraffickingModel):
    texts = {d.id: d.text for d in DOCS}
    sentence_spans = {
        (r["doc_id"], r["start"], r["end"]): r["text"]
        for r in predict_documents(model, DOCS, PredictOptions(level="sentence"))
        if r["error"] is None}
    n_evidence = 0
    for r in doc_records:
        for s, per_label in r["evidence"].items():
            assert set(per_label) == set(r["labels"][s])  # evidence for each label, no other
            for lab, items in per_label.items():
                j = model.columns.index((s, lab))
                assert 1 <= len(items) <= model.config.predict.evidence_per_label
                assert [e["score"] for e in items] == sorted((e["score"] for e in items),
                                                             reverse=True)
                assert items[0]["score"] == r["scores"][s][lab]  # best sentence = doc score
                for e in items:
                    assert texts[r["id"]][e["start"]:e["end"]] == e["text"]
                    assert sentence_spans[(r["id"], e["start"], e["end"])] == e["text"]
                    rule = model.estimator.rule_
                    floor = (model.thresholds[j] if r["n_sentences"] == 1
                             else rule.evidence_[rule.band_index(r["n_sentences"]), j])
                    assert e["score"] >= round(float(floor), 4) - 1e-4
                    n_evidence += 1
    assert n_evidence >= 3


def test_evidence_count(model: TraffickingModel):
    one = next(predict_documents(model, DOCS[2:3], PredictOptions(evidence=1)))
    none = next(predict_documents(model, DOCS[2:3], PredictOptions(evidence=0)))
    assert one["labels"] == none["labels"] and one["labels"]["stage"]
    assert all(len(items) == 1 for per in one["evidence"].values() for items in per.values())
    assert all(items == [] for per in none["evidence"].values() for items in per.values())


def test_sentence_level(model: TraffickingModel):
    records = list(predict_documents(model, DOCS, PredictOptions(level="sentence")))
    d1 = [r for r in records if r["doc_id"] == "d1"]
    assert [r["id"] for r in d1] == ["d1#1", "d1#2", "d1#3"]
    assert [r["sentence"] for r in d1] == [1, 2, 3]
    assert [r["text"] for r in d1] == ["Her passport was taken on arrival.",
                                       "She was sold on an escort site for bitcoin.",
                                       "The weather was fine."]
    for r in d1:
        assert DOCS[0].text[r["start"]:r["end"]] == r["text"]
    # one record for each readable sentence, one for each document without any
    assert [r["doc_id"] for r in records] == ["d1", "d1", "d1", "bad", "d2", "d3", "d4"]
    assert records[3]["error"].startswith("binary") and records[3]["sentence"] is None
    assert records[5]["id"] == "d3#0" and records[5]["error"].startswith("no sentence")
    # a document's scores are the maximum of its sentences' scores
    doc = next(predict_documents(model, DOCS[:1]))
    for s, per in doc["scores"].items():
        for lab, score in per.items():
            assert score == max(r["scores"][s][lab] for r in d1)
    # sentence labels follow the thresholds (scores are rounded to 4 places)
    for r in d1:
        for j, (s, lab) in enumerate(model.columns):
            score = r["scores"][s][lab]
            if score >= model.thresholds[j] + 1e-4:
                assert lab in r["labels"][s]
            elif score < model.thresholds[j] - 1e-4:
                assert lab not in r["labels"][s]


def test_batching_does_not_change_results(model: TraffickingModel, doc_records):
    many = [Document(f"n{i}", "s", f"Victim number {i} was recruited online. She left.")
            for i in range(7)]
    small = list(predict_documents(model, DOCS + many, PredictOptions(batch_docs=2)))
    large = list(predict_documents(model, DOCS + many, PredictOptions(batch_docs=64)))
    assert small == large
    assert small[:len(DOCS)] == doc_records


def test_predict_on_read_inputs(model: TraffickingModel, input_folder):
    records = list(predict_documents(model, read_inputs([str(input_folder.root)])))
    assert {r["id"] for r in records} == input_folder.ids
    assert len(records) == len(input_folder.ids)
    for r in records:
        if r["id"] in input_folder.errors:
            assert input_folder.errors[r["id"]] in r["error"]
        else:
            assert r["error"] is None and r["n_sentences"] >= 1
            text = input_folder.texts[r["id"]]
            for per in r["evidence"].values():
                for items in per.values():
                    assert all(text[e["start"]:e["end"]] == e["text"] for e in items)
    scores = np.array([[v for s in r["scores"].values() for v in s.values()] for r in records])
    assert ((scores >= 0) & (scores <= 1)).all()
