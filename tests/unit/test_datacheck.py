"""pipeline.corpus.datacheck: label counts, shares, duplicates and templated openings."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from pipeline.config import Config, DataChecks
from pipeline.corpus.datacheck import check_corpus, format_check, near_duplicate_pairs
from pipeline.corpus.read import Passage, label_matrix

TEXTS = [
    "Recruiters posted fake waitressing jobs abroad on social media.",
    "Her passport was taken on arrival and she was told she owed money.",
    "Profits were laundered through three crypto exchanges.",
    "The children were forced to perform in front of a webcam.",
    "Escort listings were placed on classified websites every morning.",
    "Interviews were coded independently by two researchers.",
]


def passage(pid: str, text: str, stage=(), technology=(), register="news") -> Passage:
    return Passage(pid, text, {"stage": tuple(stage), "technology": tuple(technology)},
                   {"register": register})


def with_checks(config: Config, **checks) -> Config:
    return dataclasses.replace(config, data=DataChecks(**checks))


@pytest.fixture
def clean() -> list[Passage]:
    return [passage("p1", TEXTS[0], ["recruitment"], ["clearnet"]),
            passage("p2", TEXTS[1], ["control"]),
            passage("p3", TEXTS[2], ["proceeds"], ["cryptocurrency"], register="report"),
            passage("p4", TEXTS[3], ["exploitation"], ["camera_microphone"], register="report"),
            passage("p5", TEXTS[4], ["advertisement"], ["clearnet"], register="ad"),
            passage("p6", TEXTS[5], register="ad")]


def test_fixture_corpus_passes(passages, config: Config):
    result = check_corpus(passages, config)
    assert result.ok, result.failures
    assert result.n == len(passages)
    Y = label_matrix(passages, config)
    flat = [result.label_counts[s][lab] for s, lab in config.all_labels]
    assert flat == Y.sum(axis=0).tolist()
    stage_cols = [j for j, (s, _) in enumerate(config.all_labels) if s == "stage"]
    assert result.unlabeled_share["stage"] == pytest.approx(
        (Y[:, stage_cols].sum(axis=1) == 0).mean())
    assert result.registers == {"fixture": len(passages)}
    assert format_check(result).endswith("data check: OK")


def test_clean_sample(clean, config: Config):
    result = check_corpus(clean, with_checks(config, max_opening_share=0.5))
    assert result.ok, result.failures
    assert result.registers == {"ad": 2, "news": 2, "report": 2}
    assert result.label_counts["technology"]["clearnet"] == 2
    assert result.unlabeled_share["technology"] == pytest.approx(2 / 6)


def test_exact_duplicates_ignore_case_and_spacing(clean, config: Config):
    dup = passage("p7", "  " + TEXTS[2].upper().replace(" ", "   ") + "\n", ["proceeds"])
    result = check_corpus([*clean, dup], with_checks(config, max_opening_share=0.5))
    assert result.exact_duplicates == [("p3", "p7")]
    assert result.near_duplicates == []  # an exact duplicate is not also reported as near
    assert result.failures == ["1 exact duplicate text(s)"]
    text = format_check(result)
    assert "duplicate: p3 = p7" in text and "data check: FAILED" in text


def test_near_duplicates(clean, config: Config):
    near = passage("p7", TEXTS[1].replace("money", "cash"), ["control"])
    result = check_corpus([*clean, near], with_checks(config, max_opening_share=0.5))
    assert [(a, b) for a, b, _ in result.near_duplicates] == [("p2", "p7")]
    assert 0.8 < result.near_duplicates[0][2] < 1.0
    assert not result.ok and "near-duplicate" in result.failures[0]


def test_near_duplicate_pairs_match_jaccard():
    texts = [TEXTS[0], TEXTS[0].replace("fake", "false"), TEXTS[1], "short", "short!"]

    def grams(t: str) -> set[str]:
        t = " ".join(t.lower().split())
        return {t[k:k + 5] for k in range(max(1, len(t) - 4))}

    expected = []
    for i, j in itertools.combinations(range(len(texts)), 2):
        a, b = grams(texts[i]), grams(texts[j])
        jac = len(a & b) / len(a | b)
        if jac > 0.5:
            expected.append((i, j, jac))
    found = near_duplicate_pairs(texts, 0.5, 5)
    assert [(i, j) for i, j, _ in found] == [(i, j) for i, j, _ in expected]
    assert [f[2] for f in found] == pytest.approx([e[2] for e in expected])
    assert (0, 1) in [(i, j) for i, j, _ in found]
    assert near_duplicate_pairs([], 0.5) == []


def test_overused_openings(clean, config: Config):
    templated = [passage(f"t{i}", f"In this case the victim {w} was moved.")
                 for i, w in enumerate(["Anna", "Bea", "Cleo"])]
    result = check_corpus([*clean, *templated], with_checks(config, max_opening_share=0.2))
    assert result.openings == [("in this case", 3)]
    assert "opening(s) of 3 words" in result.failures[0]
    relaxed = check_corpus([*clean, *templated], with_checks(config, max_opening_share=0.5))
    assert relaxed.openings == []


@pytest.mark.parametrize(("checks", "failure"), [
    ({"min_passages": 7}, "6 passages, need at least 7"),
    ({"min_positives": 2}, "stage.recruitment: 1 positives, need at least 2"),
    ({"min_unlabeled_share": {"stage": 0.5}},
     "stage: 16.7% of passages without a label, need at least 50%"),
    ({"min_registers": 4, "min_per_register": 1}, "3 registers with >= 1 passages"),
    ({"min_registers": 2, "min_per_register": 3}, "0 registers with >= 3 passages"),
])
def test_configured_checks(clean, config: Config, checks, failure):
    result = check_corpus(clean, with_checks(config, max_opening_share=0.5, **checks))
    assert any(f.startswith(failure) for f in result.failures), result.failures
    assert not result.ok and failure in format_check(result)


@pytest.mark.parametrize("checks", [
    {"min_passages": 6}, {"min_unlabeled_share": {"stage": 0.1}},
    {"min_registers": 3, "min_per_register": 2},
])
def test_configured_checks_pass_at_the_limit(clean, config: Config, checks):
    assert check_corpus(clean, with_checks(config, max_opening_share=0.5, **checks)).ok


def test_format_check_tables(clean, config: Config):
    text = format_check(check_corpus(clean, with_checks(config, max_opening_share=0.5)))
    assert text.startswith("passages: 6")
    assert any(line.split() == ["stage.recruitment", "1", "16.7%"] for line in text.splitlines())
    assert any(line.split() == ["technology", "(no", "label)", "2", "33.3%"]
               for line in text.splitlines())
    assert any(line.split() == ["report", "2"] for line in text.splitlines())
