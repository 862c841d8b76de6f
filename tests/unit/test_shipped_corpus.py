"""The shipped corpus keeps what its dataset card (data/README.md) promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.corpus.datacheck import check_corpus
from pipeline.corpus.read import read_corpus
from pipeline.corpus.split import split_passages, starter_subset

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def default_config():
    return load_config(ROOT / "configs" / "default.toml")


@pytest.fixture(scope="module")
def corpus(default_config):
    return read_corpus([ROOT / "data" / "corpus"], default_config.label_sets,
                       exclude=default_config.data.holdout_files)


def _ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_corpus_passes_every_data_check(default_config):
    everything = read_corpus([ROOT / "data" / "corpus"], default_config.label_sets)
    result = check_corpus(everything, default_config)
    assert result.ok, result.failures
    assert len(everything) >= 2000


def test_stored_splits_are_what_the_split_rule_gives(corpus, default_config):
    train, test = split_passages(corpus, default_config)
    splits = ROOT / "data" / "splits"
    assert _ids(splits / "train.jsonl") == [p.id for p in train]
    assert _ids(splits / "test.jsonl") == [p.id for p in test]
    assert _ids(splits / "starter.jsonl") == [p.id for p in starter_subset(train, default_config)]
    stored = {p.id: p for p in read_corpus([splits / "train.jsonl", splits / "test.jsonl"],
                                           default_config.label_sets)}
    assert all(stored[p.id].labels == p.labels and stored[p.id].text == p.text for p in corpus)


def test_holdout_is_separate_and_never_in_a_split(default_config):
    holdout = set(_ids(ROOT / "data" / "corpus" / "holdout_writer.jsonl"))
    assert len(holdout) >= 200
    splits = ROOT / "data" / "splits"
    assert not holdout & set(_ids(splits / "train.jsonl") + _ids(splits / "test.jsonl"))


DOCS = ROOT / "data" / "documents"


def test_document_corpus_passes_every_document_check(default_config):
    from pipeline.corpus.doccheck import check_documents

    sentences = read_corpus([DOCS / "sentences"], default_config.label_sets)
    result = check_documents(sentences, default_config)
    assert result.ok, result.failures
    assert result.n_documents >= 80 and result.n_sentences >= 6000
    assert result.published == [] and default_config.documents.fingerprint is not None
    assert sum(c >= 5 for c in result.registers.values()) >= 8
    assert result.unlabeled_share >= 0.40
    assert min(c for labs in result.label_counts.values() for c in labs.values()) >= 60


def test_document_splits_are_the_split_rule_and_keep_documents_whole(default_config):
    from pipeline.corpus.split import split_documents

    sentences = read_corpus([DOCS / "sentences"], default_config.label_sets,
                            exclude=default_config.data.holdout_files)
    train, test = split_documents(sentences, default_config)
    assert _ids(DOCS / "splits" / "train.jsonl") == [p.id for p in train]
    assert _ids(DOCS / "splits" / "test.jsonl") == [p.id for p in test]
    assert not {p.extra["doc"] for p in train} & {p.extra["doc"] for p in test}
    holdout = read_corpus([DOCS / "sentences" / "wG.jsonl"], default_config.label_sets)
    assert {p.extra["writer"] for p in holdout} == {"wG"}
    assert not {p.id for p in holdout} & {p.id for p in train + test}


def test_double_annotation_sample_covers_15_percent_of_sentences(default_config):
    first = _ids(DOCS / "annotation" / "first_annotator.jsonl")
    second = _ids(DOCS / "annotation" / "second_annotator.jsonl")
    adjudicated = _ids(DOCS / "annotation" / "adjudicated.jsonl")
    assert first == second == adjudicated
    sentences = read_corpus([DOCS / "sentences"], default_config.label_sets)
    assert len(first) >= 0.15 * len(sentences)


@pytest.mark.parametrize("corpus_dir", ["corpus", "documents/sentences"])
def test_shipped_cue_terms_are_precise_on_the_corpus(default_config, corpus_dir: str):
    """The rule stated in configs/cues.toml's [precision] table (`trafficlens data cues`)
    holds on both shipped corpora."""
    import dataclasses

    from pipeline.corpus.cuestats import cue_report
    from pipeline.text.cues import read_precision_rule

    cfg = dataclasses.replace(default_config,
                              paths=dataclasses.replace(default_config.paths, cache=None))
    rule = read_precision_rule(cfg.paths.cues)
    assert rule.min_precision >= 0.5 and rule.min_matches <= 5
    everything = read_corpus([ROOT / "data" / corpus_dir], cfg.label_sets)
    stats = cue_report(cfg, everything)
    low = [(s.label, s.term, s.matched, s.precision) for s in stats
           if rule.violated(s.label, s.term, s.matched, s.precision)]
    assert low == []
    assert sum(s.matched >= rule.min_matches for s in stats) > 100  # the rule is not empty
    terms = {f"{s.label}:{s.term}" for s in stats}
    assert rule.exempt <= terms  # every exemption names a shipped term
