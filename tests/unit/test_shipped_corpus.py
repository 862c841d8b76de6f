"""The shipped corpus keeps what its dataset card (data/README.md) promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.config import load_config
from pipeline.corpus import read_corpus
from pipeline.datacheck import check_corpus
from pipeline.split import split_passages, starter_subset

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


def test_shipped_cue_terms_are_precise_on_the_corpus(default_config):
    """The rule stated in configs/cues.toml: every term that matches at least 5 passages
    has precision >= 0.5 (`trafficlens data cues`)."""
    import dataclasses

    from pipeline.cuestats import cue_report

    cfg = dataclasses.replace(default_config,
                              paths=dataclasses.replace(default_config.paths, cache=None))
    everything = read_corpus([ROOT / "data" / "corpus"], cfg.label_sets)
    stats = cue_report(cfg, everything)
    low = [(s.label, s.term, s.matched, s.precision) for s in stats
           if s.matched >= 5 and s.precision < 0.5]
    assert low == []
    assert sum(s.matched >= 5 for s in stats) > 100  # the rule is not empty
