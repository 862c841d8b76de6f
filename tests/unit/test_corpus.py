"""pipeline.corpus.read: reading and validating annotated JSONL."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Config, LabelSet
from pipeline.corpus.read import corpus_files, fingerprint, label_matrix, read_corpus
from pipeline.errors import PipelineError


def problems_of(err: pytest.ExceptionInfo) -> str:
    return str(err.value)


def test_reads_fixture_corpus(passages, mini_path: Path):
    lines = [json.loads(x) for x in mini_path.read_text(encoding="utf-8").splitlines() if x]
    assert [p.id for p in passages] == [r["id"] for r in lines]
    first = passages[0]
    assert first.text == lines[0]["text"]
    assert first.labels == {"stage": tuple(lines[0]["stage"]),
                            "technology": tuple(lines[0]["technology"])}
    assert first.extra == {"register": lines[0]["register"]}
    assert first.path == str(mini_path) and first.line == 1
    assert passages[-1].line == len(lines)


def test_labels_kept_in_config_order(write_jsonl, config: Config, rec):
    path = write_jsonl("c.jsonl", [rec("p1", stage=["proceeds", "recruitment"],
                                       technology=["transport", "clearnet"])])
    (p,) = read_corpus([path], config.label_sets)
    assert p.labels == {"stage": ("recruitment", "proceeds"),
                        "technology": ("clearnet", "transport")}


@pytest.mark.parametrize(("line", "fragments"), [
    pytest.param({"id": "p1", "text": "x", "stage": ["recruit"], "technology": []},
                 [":1: stage: unknown label 'recruit'", "(known: recruitment"], id="unknown-label"),
    pytest.param({"id": "p1", "text": "x", "stage": [], "technology": ["blockchain"]},
                 [":1: technology: unknown label 'blockchain'"], id="unknown-tech-label"),
    pytest.param({"id": "p1", "stage": [], "technology": []},
                 [":1: text: missing or empty text"], id="missing-text"),
    pytest.param({"id": "p1", "text": "   ", "stage": [], "technology": []},
                 [":1: text: missing or empty text"], id="blank-text"),
    pytest.param({"id": "p1", "text": 5, "stage": [], "technology": []},
                 [":1: text: missing or empty text"], id="text-not-string"),
    pytest.param('{"id": "p1", "text": "x", "stage": [', [":1: bad JSON"], id="bad-json"),
    pytest.param("[1, 2]", [":1: expected a JSON object"], id="not-an-object"),
    pytest.param({"id": "p1", "text": "x", "stage": []},
                 [":1: technology: missing label list"], id="missing-label-set"),
    pytest.param({"id": "p1", "text": "x", "stage": "recruitment", "technology": []},
                 [":1: stage: expected a list of strings"], id="labels-not-list"),
    pytest.param({"id": "p1", "text": "x", "stage": ["control", "control"], "technology": []},
                 [":1: stage: label listed twice"], id="label-twice"),
    pytest.param({"text": "x", "stage": [], "technology": []},
                 [":1: id: missing or empty id"], id="missing-id"),
    pytest.param({"id": True, "text": "x", "stage": [], "technology": []},
                 [":1: id: missing or empty id"], id="bool-id"),
])
def test_invalid_record_names_file_line_and_field(write_jsonl, config: Config, line, fragments):
    path = write_jsonl("bad.jsonl", [line])
    with pytest.raises(PipelineError) as err:
        read_corpus([path], config.label_sets)
    message = problems_of(err)
    assert message.startswith("invalid annotated data")
    for fragment in fragments:
        # fragments starting with ":" follow the file name: "bad.jsonl:1: field: ..."
        expected = f"{path}{fragment}" if fragment.startswith(":") else fragment
        assert expected in message


def test_duplicate_id_names_both_lines(write_jsonl, config: Config, rec):
    path = write_jsonl("dup.jsonl", [rec("p1"), rec("p2"), rec("p1", "Other text.")])
    with pytest.raises(PipelineError) as err:
        read_corpus([path], config.label_sets)
    assert f"{path}:3: id: duplicate id 'p1' (first at {path}:1)" in problems_of(err)


def test_duplicate_id_across_files(write_jsonl, config: Config, rec):
    a = write_jsonl("a.jsonl", [rec("same")])
    b = write_jsonl("b.jsonl", [rec("other"), rec("same")])
    with pytest.raises(PipelineError) as err:
        read_corpus([a, b], config.label_sets)
    assert f"{b}:2: id: duplicate id 'same' (first at {a}:1)" in problems_of(err)


def test_all_problems_of_a_file_reported_at_once(write_jsonl, config: Config, rec):
    path = write_jsonl("bad.jsonl", [
        rec("p1", stage=["recruit"]),                       # 1 unknown label
        rec("p2"),                                           # 2 fine
        '{"id": "p3", "text": ',                             # 3 bad JSON
        {"id": "p4", "text": "", "stage": []},               # 4 empty text + missing set
        rec("p2"),                                           # 5 duplicate id
    ])
    with pytest.raises(PipelineError) as err:
        read_corpus([path], config.label_sets)
    message = problems_of(err)
    assert "(5 problems)" in message
    for fragment in (":1: stage: unknown label 'recruit'", ":3: bad JSON", ":4: text:",
                     ":4: technology: missing label list", ":5: id: duplicate id 'p2'"):
        assert f"{path}{fragment}" in message
    assert f"{path}:2:" not in message  # line 2 is fine


def test_problems_of_several_files_reported_together(write_jsonl, config: Config, rec):
    a = write_jsonl("a.jsonl", [rec("a1", stage=["bogus"])])
    b = write_jsonl("b.jsonl", [rec("b1", technology=["bogus2"])])
    with pytest.raises(PipelineError) as err:
        read_corpus([a, b], config.label_sets)
    assert f"{a}:1: stage" in problems_of(err) and f"{b}:1: technology" in problems_of(err)


def test_long_problem_lists_are_capped(write_jsonl, config: Config, rec):
    path = write_jsonl("many.jsonl", [rec(f"p{i}", stage=["bad"]) for i in range(60)])
    with pytest.raises(PipelineError) as err:
        read_corpus([path], config.label_sets)
    assert "(60 problems)" in problems_of(err) and "... and 10 more" in problems_of(err)


def test_optional_label_set_may_be_missing(write_jsonl):
    sets = (LabelSet("stage", ("recruitment", "control")),
            LabelSet("technology", ("clearnet",), required=False))
    path = write_jsonl("opt.jsonl", [{"id": "p1", "text": "x", "stage": ["control"]}])
    (p,) = read_corpus([path], sets)
    assert p.labels == {"stage": ("control",), "technology": ()}


def test_not_utf8_file(tmp_path: Path, config: Config):
    path = tmp_path / "latin.jsonl"
    path.write_bytes('{"id": "p1", "text": "Caf\u00e9", "stage": [], "technology": []}\n'
                     .encode("latin-1"))
    with pytest.raises(PipelineError, match="not UTF-8") as err:
        read_corpus([path], config.label_sets)
    assert str(path) in problems_of(err)


def test_blank_lines_are_skipped_and_line_numbers_kept(write_jsonl, config: Config, rec):
    path = write_jsonl("gaps.jsonl", [rec("p1"), "", "   ", rec("p4")])
    ps = read_corpus([path], config.label_sets)
    assert [(p.id, p.line) for p in ps] == [("p1", 1), ("p4", 4)]


def test_no_passages(write_jsonl, config: Config):
    path = write_jsonl("empty.jsonl", [""])
    with pytest.raises(PipelineError, match="no passages found"):
        read_corpus([path], config.label_sets)


def test_directory_expansion_and_exclude(tmp_path: Path, write_jsonl, config: Config, rec):
    write_jsonl("corpus/b.jsonl", [rec("b1")])
    write_jsonl("corpus/sub/a.jsonl", [rec("a1")])
    write_jsonl("corpus/holdout_writer.jsonl", [rec("h1")])
    (tmp_path / "corpus" / "notes.txt").write_text("ignored", encoding="utf-8")
    files = corpus_files([tmp_path / "corpus"])
    assert [f.relative_to(tmp_path / "corpus").as_posix() for f in files] == \
        ["b.jsonl", "holdout_writer.jsonl", "sub/a.jsonl"]
    ps = read_corpus([tmp_path / "corpus"], config.label_sets, exclude=["holdout_writer.jsonl"])
    assert sorted(p.id for p in ps) == ["a1", "b1"]


def test_missing_path_and_empty_dir(tmp_path: Path, config: Config):
    with pytest.raises(PipelineError, match="no such file or directory"):
        read_corpus([tmp_path / "nope.jsonl"], config.label_sets)
    (tmp_path / "empty").mkdir()
    with pytest.raises(PipelineError, match=r"no \.jsonl files"):
        read_corpus([tmp_path / "empty"], config.label_sets)


def test_label_matrix(passages, config: Config):
    Y = label_matrix(passages, config)
    assert Y.shape == (len(passages), len(config.all_labels))
    for i, p in enumerate(passages):
        expected = [int(lab in p.labels[s]) for s, lab in config.all_labels]
        assert Y[i].tolist() == expected
    assert set(np.unique(Y)) <= {0, 1}


def test_fingerprint_tracks_content(passages):
    import dataclasses

    assert fingerprint(passages) == fingerprint(list(passages))
    changed = list(passages)
    changed[0] = dataclasses.replace(changed[0], labels={"stage": (), "technology": ()})
    assert fingerprint(changed) != fingerprint(passages)
    assert fingerprint(passages[1:]) != fingerprint(passages)


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_unicode_line_separators_inside_a_text_do_not_split_the_line(
        tmp_path: Path, config, rec, separator: str):
    path = tmp_path / "c.jsonl"
    rows = [rec("p1", f"Recruiters posted{separator}fake jobs."), rec("p2")]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows),
                    encoding="utf-8")
    passages = read_corpus([path], config.label_sets)
    assert [(p.id, p.line) for p in passages] == [("p1", 1), ("p2", 2)]
    assert passages[0].text == f"Recruiters posted{separator}fake jobs."
