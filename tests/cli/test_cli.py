"""End-to-end tests of the ``trafficlens`` command line (in-process with CliRunner)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline import __version__
from pipeline.cli import app
from pipeline.config import Config
from pipeline.model.persistence import CARD_FILE, MODEL_FILE

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]


def invoke(*args: str, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input)


def flat(text: str) -> str:
    """Output with whitespace runs collapsed (help text is wrapped to the terminal)."""
    return " ".join(text.split())


def assert_user_error(res, *fragments: str) -> None:
    """Exit 1 with one ``error:`` line on stderr naming ``fragments``, and no traceback."""
    assert res.exit_code == 1, res.output
    assert isinstance(res.exception, SystemExit)
    lines = res.stderr.strip().splitlines()
    assert lines and lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in res.stderr
    assert "Traceback" not in res.output


def unwritable_path(tmp_path: Path, where: str, name: str) -> Path:
    """An output path that cannot be written: a folder at the path, or a path under a file."""
    if where == "folder":
        out = tmp_path / name
        out.mkdir()
        return out
    (tmp_path / "plain_file").write_text("x", encoding="utf-8")
    return tmp_path / "plain_file" / name


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


# --- help, version, python -m ----------------------------------------------------------


def leaf_commands() -> list[list[str]]:
    """Every command of the app, found from the app itself (so new ones are covered)."""
    import typer

    def walk(group, prefix: list[str]) -> list[list[str]]:
        out = []
        for name, cmd in sorted(group.commands.items()):
            if hasattr(cmd, "commands"):  # a group such as `data`
                out += walk(cmd, [*prefix, name])
            else:
                out.append([*prefix, name])
        return out

    return walk(typer.main.get_command(app), [])


def test_all_documented_commands_exist():
    assert {" ".join(c) for c in leaf_commands()} >= {
        "train", "evaluate", "predict", "info", "data check"}


@pytest.mark.parametrize("command", [[], *leaf_commands()], ids=lambda c: " ".join(c) or "app")
def test_help_shows_a_runnable_example(command: list[str]):
    res = invoke(*command, "--help")
    assert res.exit_code == 0, res.output
    example = "Example: trafficlens " + (" ".join(command) if command else "predict")
    assert example in flat(res.output)


def test_version():
    res = invoke("--version")
    assert res.exit_code == 0 and res.output.strip() == f"trafficlens {__version__}"


def test_no_arguments_shows_usage():
    res = invoke()
    assert "Usage" in res.output and "predict" in res.output


def test_python_m_pipeline_help():
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    proc = subprocess.run([sys.executable, "-m", "pipeline", "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: trafficlens" in flat(proc.stdout)
    assert "Example: trafficlens predict" in flat(proc.stdout)
    for command in ("train", "evaluate", "predict", "info", "data"):
        assert command in proc.stdout
    assert "Traceback" not in proc.stderr


# --- data cues, data segment ------------------------------------------------------------


def test_data_cues_lists_terms_worst_first(mini_path: Path, test_toml: Path, tmp_path: Path):
    out = tmp_path / "cues.csv"
    res = invoke("data", "cues", "--data", mini_path, "--config", test_toml, "--out", out,
                 "--min-precision", "0")
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out, keep_default_na=False)
    assert {"label", "term", "normal_form", "matched", "correct", "precision"} <= set(frame)
    matched = frame[frame["matched"] > 0]
    precision = matched["precision"].astype(float)
    assert list(precision) == sorted(precision)  # worst first
    assert precision.round(4).equals((matched["correct"] / matched["matched"]).round(4))
    assert (frame[frame["matched"] == 0]["precision"] == "").all()
    row = frame[(frame["label"] == "technology.cryptocurrency")
                & (frame["term"] == "crypto wallet")]
    assert row["normal_form"].item() == "crypto wallet"
    assert "terms on" in res.stdout and "below precision" in res.stdout


def test_data_cues_fails_on_a_term_that_breaks_the_precision_rule(tmp_path: Path,
                                                                  test_toml: Path):
    cues = tmp_path / "cues.toml"
    cues.write_text('[precision]\nmin_precision = 0.5\nmin_matches = 5\n'
                    'exempt = ["stage.control:curfew"]\n\n'
                    '[stage]\nrecruitment = ["police", "fake job"]\n'
                    'control = ["curfew"]\n', encoding="utf-8")
    rows = [{"id": f"p{i}", "text": f"The police met on day {i}. A curfew held.",
             "stage": [], "technology": []} for i in range(6)]
    rows.append({"id": "r", "text": "They posted a fake job.", "stage": ["recruitment"],
                 "technology": []})
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = invoke("data", "cues", "--data", data, "--config", test_toml, "--paths.cues", cues)
    assert res.exit_code == 1, res.output
    lines = {line[31:59].strip(): line[0] for line in res.stdout.splitlines()[1:-1]}
    assert lines == {"police": "!", "curfew": "~", "fake job": " "}  # precision 1.0
    assert "1 below precision 0.50 on >= 5 passages (1 exempt)" in res.stdout


def test_train_rejects_a_cue_term_that_normalises_badly(tmp_path: Path, test_toml: Path):
    cues = tmp_path / "cues.toml"
    cues.write_text('[stage]\nadvertisement = ["escort", "24/7"]\n', encoding="utf-8")
    res = invoke("train", "--config", test_toml, "--out", tmp_path / "m",
                 "--paths.cues", cues)
    assert_user_error(res, str(cues), "stage.advertisement", "'24/7'", "placeholder")
    assert len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_data_segment_writes_a_template_per_sentence(tmp_path: Path, test_toml: Path):
    doc = tmp_path / "case.txt"
    text = "Heading\n\nThey recruited her on Face\u200bbook. She was \u201csold\u201d online."
    doc.write_text(text, encoding="utf-8")
    res = invoke("data", "segment", doc, "--config", test_toml)
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(tmp_path / "case.labels.tsv", sep="\t", keep_default_na=False)
    assert list(frame.columns) == ["seq", "start", "end", "stage", "technology", "text"]
    assert list(frame["seq"]) == [0, 1, 2]
    assert [text[a:b] for a, b in zip(frame["start"], frame["end"], strict=True)] == [
        "Heading", "They recruited her on Face\u200bbook.", "She was \u201csold\u201d online."]
    assert (frame["stage"] == "").all() and (frame["technology"] == "").all()


# --- data cues, data segment: hostile input ---------------------------------------------


def _segment_rows(template: Path) -> list[tuple[int, int]]:
    frame = pd.read_csv(template, sep="\t", keep_default_na=False)
    return list(zip(frame["start"].tolist(), frame["end"].tolist(), strict=True))


@pytest.mark.parametrize("raw", [
    b"First line here.\r\nSecond line here.\r\n\r\nThird paragraph is here.",
    b"\xef\xbb\xbfThe recruiter kept her passport. She was sold online.",
    "Caf\u00e9 workers were forced to work. They were sold online.".encode("latin-1"),
], ids=["crlf", "utf8-bom", "latin1"])
def test_data_segment_offsets_are_the_offsets_predict_gives(tmp_path: Path, test_toml: Path,
                                                            model_dir: Path, raw: bytes):
    # documents.py: "the sentences exactly as predict splits them (same offsets into the
    # original text)". segment reads with Path.read_text (universal newlines, BOM kept,
    # UTF-8 only) while predict decodes the bytes: CRLF and BOM files get other offsets,
    # a cp1252 file is a traceback in segment and a document in predict.
    doc = tmp_path / "case.txt"
    doc.write_bytes(raw)
    seg = invoke("data", "segment", doc, "--config", test_toml)
    assert seg.exit_code == 0, seg.output
    pred = invoke("predict", doc, "--model", model_dir, "-q", "--level", "sentence")
    assert pred.exit_code == 0, pred.output
    predicted = [(r["start"], r["end"]) for r in map(json.loads, pred.stdout.splitlines())]
    assert _segment_rows(tmp_path / "case.labels.tsv") == predicted


@pytest.mark.parametrize("make", [
    lambda p: None,  # missing
    lambda p: p.mkdir(),  # a folder named like a document
], ids=["missing", "folder"])
def test_data_segment_missing_file_or_folder_is_a_user_error(tmp_path: Path, test_toml: Path,
                                                             make):
    doc = tmp_path / "case.txt"
    make(doc)
    res = invoke("data", "segment", doc, "--config", test_toml)
    assert_user_error(res, str(doc))
    assert len(res.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("raw", [
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01",  # not UTF-8
    b"\x00\x00\x00\x01Bud1 hello world. more text\x00",  # valid UTF-8, NUL bytes
    b"",
    b"  \n\n \t ",
], ids=["binary-png", "binary-nul", "empty", "whitespace-only"])
def test_data_segment_rejects_what_predict_cannot_read(tmp_path: Path, test_toml: Path,
                                                       raw: bytes):
    # predict gives these an error record ("binary file", "empty file"); segment crashes
    # on the first and writes a template (of NUL-byte "sentences", or of nothing) for the rest
    doc = tmp_path / "case.txt"
    doc.write_bytes(raw)
    res = invoke("data", "segment", doc, "--config", test_toml)
    assert_user_error(res, str(doc))
    assert not (tmp_path / "case.labels.tsv").exists()


def test_data_segment_unwritable_template_is_a_user_error(tmp_path: Path, test_toml: Path):
    doc = tmp_path / "case.txt"
    doc.write_text("She was sold online.", encoding="utf-8")
    (tmp_path / "case.labels.tsv").mkdir()  # stands in for a read-only target (tests run as root)
    res = invoke("data", "segment", doc, "--config", test_toml)
    assert_user_error(res, "case.labels.tsv")
    assert len(res.stderr.strip().splitlines()) == 1


def test_data_segment_permission_denied_is_a_user_error(tmp_path: Path, test_toml: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    doc = tmp_path / "case.txt"
    doc.write_text("She was sold online.", encoding="utf-8")
    target = tmp_path / "case.labels.tsv"
    real_open = Path.open

    def open_(path, *args, **kwargs):
        if Path(path) == target:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_)
    res = invoke("data", "segment", doc, "--config", test_toml)
    assert_user_error(res, "case.labels.tsv", "Permission denied")


def test_data_segment_does_not_overwrite_an_annotated_template(tmp_path: Path,
                                                               test_toml: Path):
    # an annotator's filled-in template is silently replaced by an empty one
    doc = tmp_path / "case.txt"
    doc.write_text("She was sold online.", encoding="utf-8")
    template = tmp_path / "case.labels.tsv"
    annotated = ("seq\tstart\tend\tstage\ttechnology\ttext\n"
                 "0\t0\t20\tadvertisement\tclearnet\tShe was sold online.\n")
    template.write_text(annotated, encoding="utf-8")
    res = invoke("data", "segment", doc, "--config", test_toml)
    assert template.read_text(encoding="utf-8") == annotated
    assert_user_error(res, str(template))


def test_data_segment_invisible_only_document_has_no_rows(tmp_path: Path, test_toml: Path):
    doc = tmp_path / "case.txt"
    doc.write_text("\u200b\u200d\u2060\ufeff\u202e\u00ad", encoding="utf-8")
    res = invoke("data", "segment", doc, "--config", test_toml)
    assert res.exit_code == 0, res.output
    assert _segment_rows(tmp_path / "case.labels.tsv") == []


@pytest.mark.parametrize("target", ["folder", "under a file"])
def test_data_cues_unwritable_out_is_a_user_error(tmp_path: Path, test_toml: Path,
                                                  mini_path: Path, target: str):
    out = unwritable_path(tmp_path, target, "cues.csv")
    res = invoke("data", "cues", "--data", mini_path, "--config", test_toml, "--out", out)
    assert_user_error(res, str(out))
    assert len(res.stderr.strip().splitlines()) == 1


def test_data_cues_without_data_names_paths_train(tmp_path: Path, test_toml: Path):
    # with paths.train = [] the error is "error: : no passages found"
    config = tmp_path / "notrain.toml"
    config.write_text(re.sub(r"(?m)^train = .*$", "train = []",
                             test_toml.read_text(encoding="utf-8")), encoding="utf-8")
    res = invoke("data", "cues", "--config", config)
    assert_user_error(res)
    assert "error: : " not in res.stderr
    assert "paths.train" in res.stderr or "--data" in res.stderr


def _cue_config(tmp_path: Path, test_toml: Path, cues: str | bytes) -> Path:
    path = tmp_path / "cues.toml"
    if isinstance(cues, bytes):
        path.write_bytes(cues)
    else:
        path.write_text(cues, encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(re.sub(r"(?m)^cues = .*$", f'cues = "{path}"',
                             test_toml.read_text(encoding="utf-8")), encoding="utf-8")
    return config


@pytest.mark.parametrize(("cues", "fragments"), [
    ('[technology]\nai = ["AI", "\\u200b\\u200d"]\n', ["technology.ai", "normalises to nothing"]),
    ('[technology]\nai = ["AI", "!!!"]\n', ["technology.ai", "'!!!'", "normalises to nothing"]),
    ('[technology]\niot_5g = ["5g"]\n', ["technology.iot_5g", "'5g'", "placeholder"]),
    ('[technology]\nai = ["AI", "it is"]\n', ["technology.ai", "stop word"]),
    ('[technology]\nai = ["A"\n', ["cannot read cue terms"]),
    ('[technology]\nai = ["caf\xe9"]\n'.encode("latin-1"), ["cannot read cue terms"]),
    ('[technology]\nrobots = ["robot"]\n', ["technology.robots", "not a label"]),
], ids=["zero-width-only", "punctuation-only", "lowercase-5g", "stop-words", "bad-toml",
        "latin1-file", "unknown-label"])
def test_data_cues_bad_cue_file_is_a_one_line_error(tmp_path: Path, test_toml: Path,
                                                    mini_path: Path, cues, fragments):
    config = _cue_config(tmp_path, test_toml, cues)
    res = invoke("data", "cues", "--data", mini_path, "--config", config)
    assert_user_error(res, str(tmp_path / "cues.toml"), *fragments)
    assert len(res.stderr.strip().splitlines()) == 1


def test_data_cues_odd_but_valid_terms(tmp_path: Path, test_toml: Path, mini_path: Path):
    long_term = "machine learning " * 500
    cues = ('[technology]\nai = ["AI", "AI", "A\\u200bI", "\\U0001F916", " \\t ", '
            f'"{long_term}"]\n')
    config = _cue_config(tmp_path, test_toml, cues)
    out = tmp_path / "cues.csv"
    res = invoke("data", "cues", "--data", mini_path, "--config", config, "--out", out)
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out, keep_default_na=False)
    ai = frame[frame["label"] == "technology.ai"]
    # blank terms are dropped; duplicates and a zero-width split share one normal form
    assert list(ai["term"]).count("AI") == 2 and len(ai) == 5
    assert set(ai[ai["normal_form"] == "ai"]["matched"]) == {ai["matched"].max()}
    assert (ai[ai["normal_form"] == "ai"]["matched"] > 0).all()
    assert "terms on 54 passages" in res.stdout


# --- data check ----------------------------------------------------------------------


def test_data_check_names_line(tmp_path: Path, test_toml: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "p1", "text": "x", "stage": ["recruit"], "technology": []}\n',
                   encoding="utf-8")
    res = invoke("data", "check", bad, "--config", test_toml)
    assert_user_error(res, "bad.jsonl:1", "stage", "'recruit'")
    assert len(res.stderr.strip().splitlines()) == 1


def test_data_check_reports_every_problem(tmp_path: Path, test_toml: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"id": "p1", "text": "fine", "stage": [], "technology": []}\n'
        '{"id": "p2", "text": "x", "stage": ["recruit"], "technology": []}\n'
        '{"id": "p3", "stage": [], "technology": []}\n'
        '{"id": "p4", "text": "y", "stage": []\n'
        '{"id": "p1", "text": "z", "stage": [], "technology": []}\n'
        '{"id": "p6", "text": "w", "stage": []}\n', encoding="utf-8")
    res = invoke("data", "check", bad, "--config", test_toml)
    assert_user_error(res, "(5 problems)", "bad.jsonl:2: stage: unknown label 'recruit'",
                      "bad.jsonl:3: text:", "bad.jsonl:4: bad JSON",
                      "bad.jsonl:5: id: duplicate id 'p1'", "bad.jsonl:6: technology:")
    assert "bad.jsonl:1:" not in res.stderr


def test_data_check_fixture_ok(mini_path: Path, test_toml: Path, passages):
    res = invoke("data", "check", mini_path, "--config", test_toml)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"passages: {len(passages)}")
    assert "data check: OK" in res.stdout


def test_data_check_failed_checks_exit_1(tmp_path: Path, config: Config, mini_path: Path,
                                         passages):
    labels = "\n".join(f"[labels.{s.name}]\nlabels = {json.dumps(list(s.labels))}"
                       for s in config.label_sets)
    cfg = tmp_path / "strict.toml"
    cfg.write_text(f"{labels}\n\n[data]\nmin_passages = 100000\n", encoding="utf-8")
    res = invoke("data", "check", mini_path, "--config", cfg)
    assert res.exit_code == 1
    assert "data check: FAILED" in res.stdout
    assert f"{len(passages)} passages, need at least 100000" in res.stdout


def test_data_check_missing_config(mini_path: Path, tmp_path: Path):
    res = invoke("data", "check", mini_path, "--config", tmp_path / "none.toml")
    assert_user_error(res, "none.toml", "config file not found")


# --- train ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_trained(tmp_path_factory: pytest.TempPathFactory, test_toml: Path):
    out = tmp_path_factory.mktemp("cli") / "model"
    res = invoke("train", "--config", test_toml, "--out", out, "--model.C", "2",
                 "--thresholds.grid_step=0.02")
    return out, res


def test_train_writes_model_and_applies_overrides(cli_trained, passages):
    out, res = cli_trained
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"saved {out} ({len(passages)} passages")
    assert "cross-validated macro-F1: stage" in res.stdout and "technology" in res.stdout
    assert "cross-validation fold 3/3" in res.stderr
    card = json.loads((out / CARD_FILE).read_text(encoding="utf-8"))
    assert (out / MODEL_FILE).is_file()
    assert card["config"]["model"]["C"] == 2.0  # the default (and test.toml) value is 4.0
    assert card["config"]["thresholds"]["grid_step"] == 0.02
    assert card["config"]["seed"] == 7
    assert card["training_data"]["n_passages"] == len(passages)


def test_train_refuses_existing_out(cli_trained, test_toml: Path):
    out, _ = cli_trained
    before = (out / CARD_FILE).read_bytes()
    res = invoke("train", "--config", test_toml, "--out", out)
    assert_user_error(res, str(out), "already exists", "--force")
    assert (out / CARD_FILE).read_bytes() == before


@pytest.mark.parametrize(("args", "fragments"), [
    (["--model.Cee", "2"], ["model.Cee", "unknown setting"]),
    (["--modle.C", "2"], ["'modle'"]),
    (["--model.C", "big"], ["model.C", "expected float"]),
    (["--model.C", "-1"], ["model.C", "must be > 0"]),
    (["--model.C"], ["needs a value"]),
    (["--thresholds.cv_folds", "60"], ["need at least 60"]),
])
def test_train_bad_overrides(tmp_path: Path, test_toml: Path, args, fragments):
    res = invoke("train", "--config", test_toml, "--out", tmp_path / "m", *args)
    assert_user_error(res, *fragments)
    assert not (tmp_path / "m").exists()


def test_train_bad_data_names_line(tmp_path: Path, test_toml: Path, mini_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(mini_path.read_text(encoding="utf-8") +
                   '{"id": "zz", "text": "x", "stage": ["bogus"], "technology": []}\n',
                   encoding="utf-8")
    n = len(bad.read_text(encoding="utf-8").splitlines())
    res = invoke("train", "--config", test_toml, "--data", bad, "--out", tmp_path / "m")
    assert_user_error(res, f"bad.jsonl:{n}: stage: unknown label 'bogus'")
    assert not (tmp_path / "m").exists()


def test_training_twice_gives_identical_metrics(cli_trained, test_toml: Path, mini_path: Path,
                                                tmp_path: Path):
    first, _ = cli_trained
    second = tmp_path / "again"
    res = invoke("train", "--config", test_toml, "--out", second, "--model.C", "2",
                 "--thresholds.grid_step=0.02")
    assert res.exit_code == 0, res.output
    cards = [json.loads((d / CARD_FILE).read_text(encoding="utf-8")) for d in (first, second)]
    assert cards[0]["thresholds"] == cards[1]["thresholds"]
    metrics = []
    for name, model_dir in (("r1", first), ("r2", second)):
        res = invoke("evaluate", "--model", model_dir, "--data", mini_path,
                     "--report-dir", tmp_path / name)
        assert res.exit_code == 0, res.output
        metrics.append((tmp_path / name / "metrics.json").read_bytes())
    assert metrics[0] == metrics[1]


# --- evaluate ------------------------------------------------------------------------


def test_evaluate_writes_metrics(model_dir: Path, mini_path: Path, tmp_path: Path,
                                 config: Config, passages):
    report = tmp_path / "report"
    res = invoke("evaluate", "--model", model_dir, "--data", mini_path, "--report-dir", report)
    assert res.exit_code == 0, res.output
    metrics = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics) >= {s.name for s in config.label_sets} | {"n_records"}
    assert metrics["n_records"] == len(passages)
    for s in config.label_sets:
        m = metrics[s.name]
        assert set(m) >= {"macro_f1", "micro_f1", "samples_f1", "per_label"}
        assert set(m["per_label"]) == set(s.labels)
        for lab, row in m["per_label"].items():
            assert set(row) >= {"precision", "recall", "f1", "support"}
            assert row["support"] == sum(lab in p.labels[s.name] for p in passages)
            assert all(0.0 <= row[k] <= 1.0 for k in ("precision", "recall", "f1"))
        macro = sum(r["f1"] for r in m["per_label"].values()) / len(s.labels)
        assert m["macro_f1"] == pytest.approx(macro, abs=1e-3)
    md = (report / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# trafficlens evaluation") and "| recruitment |" in md
    assert f"records: {len(passages)}" in res.stdout
    assert str(report / "metrics.json") in res.stdout


def test_evaluate_bad_data(model_dir: Path, tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "p1", "text": "x", "stage": [], "technology": ["web"]}\n',
                   encoding="utf-8")
    res = invoke("evaluate", "--model", model_dir, "--data", bad, "--report-dir", tmp_path / "r")
    assert_user_error(res, "bad.jsonl:1: technology: unknown label 'web'")
    assert not (tmp_path / "r").exists()


# --- predict -------------------------------------------------------------------------


def test_predict_folder_one_record_per_document(model_dir: Path, input_folder, tmp_path: Path):
    out = tmp_path / "pred.jsonl"
    res = invoke("predict", input_folder.root, "--model", model_dir, "--out", out)
    assert res.exit_code == 0, res.output
    records = read_jsonl(out)
    assert len(records) == len(input_folder.ids)
    assert {r["id"] for r in records} == input_folder.ids
    for r in records:
        if r["id"] in input_folder.errors:
            assert input_folder.errors[r["id"]] in r["error"]
            assert r["labels"] == {"stage": [], "technology": []}
        else:
            assert r["error"] is None and r["n_sentences"] >= 1
            text = input_folder.texts[r["id"]]
            for per_label in r["evidence"].values():
                for items in per_label.values():
                    for e in items:
                        assert text[e["start"]:e["end"]] == e["text"]
    assert any(items for r in records for per in r["evidence"].values()
               for items in per.values())
    summary = res.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"documents: {len(input_folder.ids)}, ")
    assert f"errors: {len(input_folder.errors)}," in summary and str(out) in summary


def test_predict_sentence_level(model_dir: Path, input_folder, tmp_path: Path):
    out = tmp_path / "sent.jsonl"
    res = invoke("predict", input_folder.root, "--model", model_dir, "--level", "sentence",
                 "--out", out, "-q")
    assert res.exit_code == 0, res.output
    assert res.stderr == ""  # --quiet
    records = read_jsonl(out)
    assert {r["doc_id"] for r in records} == input_folder.ids
    a_txt = str(input_folder.root / "a.txt")
    a = [r for r in records if r["doc_id"] == a_txt]
    assert [r["id"] for r in a] == [f"{a_txt}#1", f"{a_txt}#2"]
    for r in records:
        if r["error"] is None:
            assert input_folder.texts[r["doc_id"]][r["start"]:r["end"]] == r["text"]
    latin = [r for r in records if r["doc_id"].endswith("g_latin1.txt")]
    assert latin and latin[0]["text"].startswith("Caf\u00e9 workers")


def test_predict_evidence_matches_sentence_records(model_dir: Path, tmp_path: Path):
    doc = tmp_path / "case.txt"
    doc.write_text("Case 12\n\nHer passport was taken on arrival.  She owed 9,000 euros.\n\n"
                   "The ads for her were placed on escort websites every morning.\n",
                   encoding="utf-8")
    res_doc = invoke("predict", doc, "--model", model_dir, "-q")
    res_sent = invoke("predict", doc, "--model", model_dir, "-q", "--level", "sentence")
    assert res_doc.exit_code == 0 and res_sent.exit_code == 0
    (record,) = [json.loads(x) for x in res_doc.stdout.splitlines()]
    sentences = {(r["start"], r["end"]): r for r in map(json.loads, res_sent.stdout.splitlines())}
    text = doc.read_text(encoding="utf-8")
    evidence = [e for per in record["evidence"].values() for items in per.values()
                for e in items]
    assert evidence
    for e in evidence:
        assert text[e["start"]:e["end"]] == e["text"] == sentences[(e["start"], e["end"])]["text"]


def test_predict_csv(model_dir: Path, input_folder, tmp_path: Path, config: Config):
    out = tmp_path / "pred.csv"
    res = invoke("predict", input_folder.root, "--model", model_dir, "--out", out, "-q")
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(out, keep_default_na=False)
    assert len(frame) == len(input_folder.ids)
    assert set(frame["id"].astype(str)) == input_folder.ids
    for s, lab in config.all_labels:
        assert frame[f"score_{s}_{lab}"].between(0, 1).all()
    assert {"stage", "technology", "evidence", "error", "n_sentences"} <= set(frame.columns)
    errors = frame[frame["error"] != ""]
    assert set(errors["id"]) == set(input_folder.errors)
    # the same records as JSONL, flattened: labels joined with ";", one column per score
    jsonl = tmp_path / "pred.jsonl"
    assert invoke("predict", input_folder.root, "--model", model_dir, "--out", jsonl,
                  "-q").exit_code == 0
    for r, (_, row) in zip(read_jsonl(jsonl), frame.iterrows(), strict=True):
        assert str(row["id"]) == r["id"]
        for s in ("stage", "technology"):
            assert row[s] == ";".join(r["labels"][s])
            for lab, score in r["scores"][s].items():
                assert row[f"score_{s}_{lab}"] == pytest.approx(score)
        assert (json.loads(row["evidence"]) if row["evidence"] else {}) == r["evidence"]
    assert any(";" in v for v in frame["technology"])  # a document with two labels


def test_predict_stdout_and_stdin(model_dir: Path):
    res = invoke("predict", "-", "--model", model_dir, "-q",
                 input="Her passport was taken on arrival. She could not leave.\n")
    assert res.exit_code == 0, res.output
    (record,) = [json.loads(x) for x in res.stdout.splitlines()]
    assert record["id"] == "stdin" and record["source"] == "stdin"
    assert record["n_sentences"] == 2 and record["error"] is None
    empty = invoke("predict", "-", "--model", model_dir, "-q", input="")
    (record,) = [json.loads(x) for x in empty.stdout.splitlines()]
    assert empty.exit_code == 0 and record["error"] == "empty input on stdin"


def test_predict_evidence_option(model_dir: Path):
    text = "Her passport was taken. She was beaten. She was locked in. She owed money.\n"
    res = invoke("predict", "-", "--model", model_dir, "-q", "--evidence", "1", input=text)
    (record,) = [json.loads(x) for x in res.stdout.splitlines()]
    assert record["labels"]["stage"]
    assert all(len(items) == 1 for per in record["evidence"].values() for items in per.values())


@pytest.mark.parametrize(("args", "fragment"), [
    (["--level", "paragraph"], "--level: 'paragraph' is not one of document, sentence"),
    (["--out", "pred.txt"], "unsupported output format"),
])
def test_predict_bad_options(model_dir: Path, input_folder, tmp_path: Path, args, fragment):
    args = [str(tmp_path / a) if a.endswith(".txt") else a for a in args]
    res = invoke("predict", input_folder.root, "--model", model_dir, *args)
    assert_user_error(res, fragment)
    assert len(res.stderr.strip().splitlines()) == 1


def _tamper(model_dir: Path) -> None:
    path = model_dir / MODEL_FILE
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))


def _truncate(model_dir: Path) -> None:
    path = model_dir / MODEL_FILE
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _corrupt_card(model_dir: Path) -> None:
    (model_dir / CARD_FILE).write_text('{"thresholds": {', encoding="utf-8")


def _remove_dir(model_dir: Path) -> None:
    import shutil

    shutil.rmtree(model_dir)


@pytest.mark.parametrize(("damage", "fragment"), [
    (_tamper, "does not match the sha256"),
    (_truncate, "changed or truncated"),
    (_corrupt_card, "corrupt model card"),
    (_remove_dir, "no model directory"),
])
def test_predict_with_broken_model(model_copy: Path, tmp_path: Path, damage, fragment):
    doc = tmp_path / "doc.txt"
    doc.write_text("Her passport was taken on arrival.", encoding="utf-8")
    damage(model_copy)
    res = invoke("predict", doc, "--model", model_copy)
    assert_user_error(res, fragment, str(model_copy))
    assert len(res.stderr.strip().splitlines()) == 1
    assert res.stdout == ""


# --- predict: offsets with invisible characters ----------------------------------------

HOSTILE_TEXTS = {
    "zw": "\u200b\u200bHer pass\u200bport was taken\u200b.\u200b She was sold on an escort "
          "web\u00adsite.\u2060",
    "bidi": "\u202bThe recruiter\u202c posted fake jobs \u2067abroad\u2069. Payments went "
            "through a crypto\ufeff wallet.",
    "surrogate": "Victims were filmed by cameras\ud800, then threatened. Money went through "
                 "crypto exchanges\udfff.",
    "combining": "Cafe\u0301 workers were forced to work without pay. They were sold online.",
}


def _check_offsets(records: list[dict], texts: dict[str, str], level: str) -> int:
    """Every evidence / sentence span slices the input text to exactly the record's text
    (lone surrogates come back as U+FFFD, one for one)."""
    def same(a: str, b: str) -> bool:
        from pipeline.text.normalize import clean
        return clean(a) == b

    n = 0
    for r in records:
        assert r["error"] is None, r
        if level == "sentence":
            text = texts[r["doc_id"]]
            assert same(text[r["start"]:r["end"]], r["text"])
            n += 1
            continue
        text = texts[r["id"]]
        for per in r["evidence"].values():
            for items in per.values():
                for e in items:
                    assert same(text[e["start"]:e["end"]], e["text"])
                    n += 1
    return n


@pytest.mark.parametrize("fmt", ["txt", "jsonl", "csv"])
@pytest.mark.parametrize("level", ["document", "sentence"])
def test_predict_offsets_slice_inputs_with_invisible_characters(model_dir: Path,
                                                                tmp_path: Path, fmt: str,
                                                                level: str):
    import csv

    # lone surrogates only reach the pipeline through JSON escapes ("\ud800")
    encodable = {k: v for k, v in HOSTILE_TEXTS.items() if k != "surrogate"}
    texts: dict[str, str] = {}
    if fmt == "txt":
        inputs = []
        for name, text in encodable.items():
            path = tmp_path / f"{name}.txt"
            path.write_text(text, encoding="utf-8")
            inputs.append(path)
            texts[str(path)] = text
    elif fmt == "jsonl":
        path = tmp_path / "in.jsonl"
        path.write_text("".join(json.dumps({"id": k, "text": v}) + "\n"
                                for k, v in HOSTILE_TEXTS.items()), encoding="utf-8")
        inputs, texts = [path], dict(HOSTILE_TEXTS)
    else:
        path = tmp_path / "in.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["id", "text"])
            writer.writerows(encodable.items())
        inputs, texts = [path], encodable
    res = invoke("predict", *inputs, "--model", model_dir, "-q", "--level", level)
    assert res.exit_code == 0, res.output
    records = [json.loads(x) for x in res.stdout.splitlines()]
    assert _check_offsets(records, texts, level) > 0


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"])
def test_predict_jsonl_with_a_raw_line_separator_in_a_string_is_one_document(
        model_dir: Path, tmp_path: Path, separator: str):
    # json.dumps(..., ensure_ascii=False) writes U+2028/U+2029/U+0085 raw inside strings;
    # the reader's str.splitlines() cuts the line there: two "bad JSON" records, no document
    path = tmp_path / "in.jsonl"
    text = f"The recruiter{separator}kept her passport. She was sold on an escort site."
    path.write_text(json.dumps({"id": "a", "text": text}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    res = invoke("predict", path, "--model", model_dir, "-q", "--level", "sentence")
    assert res.exit_code == 0, res.output
    records = [json.loads(x) for x in res.stdout.split("\n") if x]
    assert {r["doc_id"] for r in records} == {"a"}
    assert all(r["error"] is None for r in records)
    assert _check_offsets(records, {"a": text}, "sentence") == len(records)


def test_predict_max_chars_above_spacy_limit_is_not_a_traceback(tmp_path: Path,
                                                                test_toml: Path,
                                                                mini_path: Path):
    # predict.max_chars 2000000 is accepted, then a 1.1M-character document hits spaCy's
    # nlp.max_length (1000000): ValueError [E088] with a traceback
    out = tmp_path / "m"
    res = invoke("train", "--config", test_toml, "--data", mini_path, "--out", out,
                 "--predict.max_chars", "2000000")
    if res.exit_code != 0:
        assert_user_error(res, "predict.max_chars")
        return
    doc = tmp_path / "big.txt"
    doc.write_text("Victims were sold on escort sites. " * 32_000, encoding="utf-8")
    pred = invoke("predict", doc, "--model", out, "-q")
    assert pred.exit_code == 0, pred.output
    (record,) = [json.loads(x) for x in pred.stdout.splitlines()]
    assert record["error"] is None and record["n_sentences"] == 32_000


# --- info, summarize, data split, data agreement -------------------------------------


def test_info(model_dir: Path, model, passages):
    res = invoke("info", "--model", model_dir)
    assert res.exit_code == 0, res.output
    card = model.card
    assert f"trained on {len(passages)} passages (sha256 {card['training_data']['sha256']})" \
        in res.stdout
    lines = res.stdout.splitlines()
    rule = model.estimator.rule_
    for j, ((_set, lab), t) in enumerate(zip(model.columns, model.thresholds, strict=True)):
        evidence = " / ".join(f"{row[j]:.2f}" for row in rule.evidence_).split()
        assert any(line.split()[:3] == [lab, "threshold", f"{t:.2f}"]
                   and line.split()[3:4 + len(evidence)] == ["evidence", *evidence]
                   for line in lines), lab
    assert "document rule: false alarm" in res.stdout
    for s in model.config.label_sets:
        assert f"{s.name}: cross-validated macro-F1 {card['cv_metrics'][s.name]['macro_f1']}" \
            in res.stdout
    assert json.loads(lines[-1])["trafficlens"] == __version__


def test_info_missing_model(tmp_path: Path):
    assert_user_error(invoke("info", "--model", tmp_path / "none"), "no model directory")


def test_summarize(model_dir: Path, input_folder, tmp_path: Path):
    out = tmp_path / "pred.jsonl"
    assert invoke("predict", input_folder.root, "--model", model_dir, "--out", out,
                  "-q").exit_code == 0
    records = read_jsonl(out)
    res = invoke("summarize", out)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"documents: {len(records)} ({len(input_folder.errors)} "
                                 "with errors)")
    for r in records:
        assert f"{r['id']}: " in res.stdout
    assert "stage x technology" in res.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n', encoding="utf-8")
    assert_user_error(invoke("summarize", bad), "bad.jsonl:1")


def test_data_split(mini_path: Path, test_toml: Path, tmp_path: Path, passages):
    out = tmp_path / "splits"
    res = invoke("data", "split", mini_path, "--out-dir", out, "--config", test_toml)
    assert res.exit_code == 0, res.output
    train, test = read_jsonl(out / "train.jsonl"), read_jsonl(out / "test.jsonl")
    train_ids, test_ids = {r["id"] for r in train}, {r["id"] for r in test}
    assert not train_ids & test_ids
    assert train_ids | test_ids == {p.id for p in passages}
    assert 0 < len(test) < len(train)
    assert res.stdout.startswith(f"train: {len(train)}, test: {len(test)}")
    original = {p.id: p for p in passages}
    for r in train + test:
        assert r["text"] == original[r["id"]].text
        assert tuple(r["stage"]) == original[r["id"]].labels["stage"]
    # seeded: the same split again
    again = tmp_path / "again"
    assert invoke("data", "split", mini_path, "--out-dir", again,
                  "--config", test_toml).exit_code == 0
    assert (again / "test.jsonl").read_bytes() == (out / "test.jsonl").read_bytes()


def test_data_agreement(mini_path: Path, test_toml: Path, tmp_path: Path, passages):
    rows = read_jsonl(mini_path)
    rows[0]["stage"] = [] if rows[0]["stage"] else ["control"]
    second = tmp_path / "second.jsonl"
    second.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)), encoding="utf-8")
    res = invoke("data", "agreement", mini_path, second, "--config", test_toml)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"passages: {len(passages)}, with any disagreement: 1")
    same = invoke("data", "agreement", mini_path, mini_path, "--config", test_toml)
    assert "with any disagreement: 0" in same.stdout
    assert "stage: macro-F1 1.000" in same.stdout


# --- whole documents: import, check, split, evaluate ---------------------------------------


@pytest.fixture
def document_corpus(tmp_path: Path, test_toml: Path):
    """Four short documents in two registers, templated, filled and imported by the CLI."""
    texts = tmp_path / "texts"
    docs = {
        "news/arrest": "Police arrested two men. They had recruited women through fake job "
                       "ads on Facebook. The trial starts in May.",
        "news/weather": "Rain is expected on Monday. Temperatures will stay mild.",
        "court/ruling": "The court sat at ten. The defendant took her passport and "
                        "threatened her family.",
        "court/fees": "Costs were awarded. Profits were laundered through crypto exchanges.",
    }
    labels = {"news/arrest": {1: ("recruitment", "clearnet")},
              "court/ruling": {1: ("control", "")},
              "court/fees": {1: ("proceeds", "cryptocurrency")}}
    templates = []
    for doc, text in docs.items():
        path = texts / f"{doc}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        assert invoke("data", "segment", path, "--config", test_toml).exit_code == 0
        template = path.with_name(path.stem + ".labels.tsv")
        rows = template.read_text(encoding="utf-8").split("\n")
        for seq, (stage, tech) in labels.get(doc, {}).items():
            cells = rows[seq + 1].split("\t")
            cells[3], cells[4] = stage, tech
            rows[seq + 1] = "\t".join(cells)
        template.write_text("\n".join(rows), encoding="utf-8")
        templates.append(template)
    out = tmp_path / "sentences" / "w1.jsonl"
    res = invoke("data", "import", *templates, "--writer", "w1", "--doc-root", texts,
                 "--out", out, "--config", test_toml)
    assert res.exit_code == 0, res.output
    assert "4 documents, 9 sentences" in res.stdout
    cfg = tmp_path / "docs.toml"
    cfg.write_text(test_toml.read_text(encoding="utf-8").replace("[paths]", "[paths]") +
                   f'\n[documents]\ntexts = "{texts}"\nfingerprint = ""\ntest_size = 0.25\n',
                   encoding="utf-8")
    return out, cfg, texts


def test_data_check_on_documents(document_corpus):
    out, cfg, _ = document_corpus
    res = invoke("data", "check", out, "--config", cfg)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("documents: 4, sentences: 9")
    assert "data check: OK" in res.stdout


def test_data_import_errors_name_the_template(document_corpus, test_toml: Path, tmp_path: Path):
    _, _, texts = document_corpus
    bad = texts / "news" / "bad.labels.tsv"
    (texts / "news" / "bad.txt").write_text("A short text.", encoding="utf-8")
    bad.write_text("seq\tstart\tend\tstage\ttechnology\ttext\n0\t0\t13\tlure\t\tA short text.\n",
                   encoding="utf-8")
    res = invoke("data", "import", bad, "--writer", "w", "--doc-root", texts,
                 "--out", tmp_path / "x.jsonl", "--config", test_toml)
    assert_user_error(res, f"{bad}:2: stage: unknown label 'lure'")
    outside = invoke("data", "import", bad, "--writer", "w", "--doc-root", tmp_path / "other",
                     "--out", tmp_path / "x.jsonl", "--config", test_toml)
    assert_user_error(outside, "not inside --doc-root")


def test_data_split_keeps_documents_whole(document_corpus, tmp_path: Path):
    out, cfg, _ = document_corpus
    res = invoke("data", "split", out, "--out-dir", tmp_path / "splits", "--config", cfg)
    assert res.exit_code == 0, res.output
    assert "train: 3 documents" in res.stdout and "test: 1 documents" in res.stdout
    train = read_jsonl(tmp_path / "splits" / "train.jsonl")
    test = read_jsonl(tmp_path / "splits" / "test.jsonl")
    assert not {r["doc"] for r in train} & {r["doc"] for r in test}
    assert not (tmp_path / "splits" / "starter.jsonl").exists()


def test_evaluate_scores_documents_whole(document_corpus, model_dir: Path, tmp_path: Path,
                                         test_toml: Path):
    out, _, _ = document_corpus
    report = tmp_path / "report"
    res = invoke("evaluate", "--model", model_dir, "--data", out, "--report-dir", report,
                 "--config", test_toml)
    assert res.exit_code == 0, res.output
    metrics = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    docs = metrics["documents"]
    assert docs["n_documents"] == 4 and metrics["n_records"] == 9
    # gold document labels are the union of the sentences' labels
    assert docs["stage"]["per_label"]["recruitment"]["support"] == 1
    assert docs["stage"]["per_label"]["control"]["support"] == 1
    assert docs["technology"]["per_label"]["cryptocurrency"]["support"] == 1
    assert {"keyword", "prior"} <= set(docs["baselines"])
    assert "documents (4, each scored whole as predict does)" in res.stdout
    assert "## Documents" in (report / "report.md").read_text(encoding="utf-8")


def test_document_gate(document_corpus, model_dir: Path, tmp_path: Path, test_toml: Path,
                       mini_path: Path):
    out, _, _ = document_corpus
    records = read_jsonl(out)  # a label no model would find: the gate must catch the miss
    for r in records:
        if r["doc"] == "news/weather":
            r["technology"] = ["transport"]
    out.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    first = invoke("evaluate", "--model", model_dir, "--data", out, "--report-dir",
                   tmp_path / "r0", "--config", test_toml)
    value = json.loads((tmp_path / "r0" / "metrics.json").read_text(encoding="utf-8")
                       )["documents"]["technology"]["macro_f1"]
    assert first.exit_code == 0 and value < 1.0  # the fixture model misses some label
    minimum = round(value + 0.001, 3)
    strict = tmp_path / "strict.toml"
    strict.write_text(test_toml.read_text(encoding="utf-8") +
                      f"\n[gates]\ndocument_macro_f1 = {{ technology = {minimum} }}\n",
                      encoding="utf-8")
    res = invoke("evaluate", "--model", model_dir, "--data", out, "--report-dir",
                 tmp_path / "r", "--config", strict, "--gate")
    assert res.exit_code == 1
    assert "documents: technology macro-F1" in res.stderr
    assert f"< gate {minimum:.3f}" in res.stderr
    passages = invoke("evaluate", "--model", model_dir, "--data", mini_path, "--report-dir",
                      tmp_path / "r2", "--config", strict, "--gate")
    assert passages.exit_code == 0, passages.output  # passages have no document figures
    assert "quality gate passed" in passages.stdout


def test_a_mix_of_passages_and_document_sentences_is_refused(document_corpus, mini_path: Path,
                                                            tmp_path: Path):
    out, cfg, _ = document_corpus
    for command in (["check", out, mini_path], ["split", out, mini_path, "--out-dir",
                                                tmp_path / "s"]):
        res = invoke("data", *command, "--config", cfg)
        assert_user_error(res, "a passage without 'doc'")


def test_data_fingerprint_writes_hashes_only(tmp_path: Path):
    reading = tmp_path / "reading"
    reading.mkdir()
    (reading / "a.txt").write_text("one two three four five six seven eight nine",
                                   encoding="utf-8")
    out = tmp_path / "prints.txt"
    res = invoke("data", "fingerprint", reading, "--out", out)
    assert res.exit_code == 0, res.output
    assert "1 texts, 2 distinct 8-word sequences" in res.stdout
    assert "three" not in out.read_text(encoding="utf-8")
    assert_user_error(invoke("data", "fingerprint", tmp_path / "nope", "--out", out),
                      "no such file or directory")


def test_help_and_readme_point_to_the_projects_labeling_guide():
    root = Path(__file__).resolve().parents[2]
    guide = root / "docs" / "labeling-guide.md"
    assert guide.read_text(encoding="utf-8").startswith("# Labeling guide")
    assert "docs/labeling-guide.md" in flat(invoke("--help").stdout)
    assert "](docs/labeling-guide.md)" in (root / "README.md").read_text(encoding="utf-8")
    shared = root.parent / "shared" / "labeling-guide.md"
    if shared.is_file():  # the fixed definitions the project carries a copy of
        assert guide.read_bytes() == shared.read_bytes()


# --- hostile inputs (issue 13) ---------------------------------------------------------


def test_predict_nul_in_one_csv_row_keeps_every_row(model_dir: Path, tmp_path: Path):
    table = tmp_path / "r.csv"
    table.write_bytes(b"id,text\nr1,job offer on facebook\nr2,bad\x00cell\nr3,passport taken\n")
    res = invoke("predict", table, "--model", model_dir, "-q")
    assert res.exit_code == 0, res.output
    records = [json.loads(x) for x in res.stdout.splitlines()]
    assert [r["id"] for r in records] == ["r1", "r2", "r3"]
    assert [r["error"] is None for r in records] == [True, False, True]


SEPARATED = "Her passport was taken.\u2028She was moved abroad.\u2029Payments went by bitcoin."


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_summarize_reads_every_format_predict_writes(model_dir: Path, tmp_path: Path,
                                                     suffix: str):
    table = tmp_path / "in.jsonl"
    table.write_text(json.dumps({"id": "u\u20281", "text": SEPARATED}, ensure_ascii=False) + "\n"
                     + json.dumps({"id": "u2", "text": "Recruiters posted fake jobs."}) + "\n",
                     encoding="utf-8")
    out = tmp_path / f"pred{suffix}"
    assert invoke("predict", table, "--model", model_dir, "--out", out, "-q").exit_code == 0
    reference = tmp_path / "reference.jsonl"
    assert invoke("predict", table, "--model", model_dir, "--out", reference,
                  "-q").exit_code == 0
    res = invoke("summarize", out)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("documents: 2 (0 with errors)")
    assert res.stdout == invoke("summarize", reference).stdout


def test_summarize_counts_sentence_level_output(model_dir: Path, tmp_path: Path):
    doc = tmp_path / "doc.txt"
    doc.write_text("Her passport was taken. She was sold online.", encoding="utf-8")
    out = tmp_path / "sentences.jsonl"
    assert invoke("predict", doc, "--model", model_dir, "--level", "sentence", "--out", out,
                  "-q").exit_code == 0
    sentences = read_jsonl(out)
    pairs = sum(len(r["labels"]["stage"]) * len(r["labels"]["technology"]) for r in sentences)
    res = invoke("summarize", out, "--out", tmp_path / "s")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"documents: 1 (0 with errors), {len(sentences)} sentences")
    assert "sentences naming both" in res.stdout
    frame = pd.read_csv(tmp_path / "s" / "stage_technology.csv", index_col=0)
    assert frame.to_numpy().sum() == pairs


@pytest.mark.parametrize("labels", ['{"stage": "recruitment"}', '{"stage": null}',
                                    '{"stage": [1]}'])
def test_summarize_bad_label_lists_are_one_line_errors(tmp_path: Path, labels: str):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "labels": {"stage": []}, "error": null}\n'
                   f'{{"id": "b", "labels": {labels}, "error": null}}\n', encoding="utf-8")
    assert_user_error(invoke("summarize", bad), "bad.jsonl:2", "labels.stage")


def test_train_force_refuses_to_turn_a_file_into_a_model(tmp_path: Path, test_toml: Path):
    target = tmp_path / "notes.txt"
    target.write_text("an analyst's notes", encoding="utf-8")
    res = invoke("train", "--config", test_toml, "--out", target, "--force")
    assert_user_error(res, "notes.txt", "not a model directory")
    assert target.read_text(encoding="utf-8") == "an analyst's notes"


def _read_only_dir() -> Path:
    """A folder nobody can create files in, root included (sysfs); skip where there is none."""
    import tempfile

    folder = Path("/sys")
    try:
        fd, tmp = tempfile.mkstemp(dir=folder)
    except OSError:
        return folder
    os.close(fd)
    os.unlink(tmp)
    pytest.skip("no read-only folder on this machine")


def _blocker(tmp_path: Path) -> Path:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    return blocker


@pytest.mark.parametrize("where", ["a folder", "under a file", "read-only"])
def test_predict_unwritable_out_fails_before_the_run(model_dir: Path, tmp_path: Path,
                                                    where: str):
    doc = tmp_path / "doc.txt"
    doc.write_text("Her passport was taken on arrival.", encoding="utf-8")
    out = {"a folder": tmp_path / "folder.jsonl",
           "under a file": _blocker(tmp_path) / "pred.jsonl",
           "read-only": _read_only_dir() / "pred.jsonl"}[where]
    if where == "a folder":
        out.mkdir()
    res = invoke("predict", doc, "--model", model_dir, "--out", out)
    assert_user_error(res, f"--out {out}")
    assert len(res.stderr.strip().splitlines()) == 1
    assert not out.with_name(out.name + ".partial").exists()


@pytest.mark.parametrize("command", ["summarize", "split", "evaluate", "evaluate --cv",
                                     "train"])
def test_output_folder_that_is_a_file_fails_at_once(command: str, model_dir: Path,
                                                    mini_path: Path, test_toml: Path,
                                                    tmp_path: Path):
    blocker = _blocker(tmp_path)
    preds = tmp_path / "p.jsonl"
    preds.write_text('{"id": "a", "labels": {"stage": []}, "error": null}\n', encoding="utf-8")
    args, option = {
        "summarize": (["summarize", preds, "--out", blocker], "--out"),
        "split": (["data", "split", mini_path, "--config", test_toml, "--out-dir", blocker],
                  "--out-dir"),
        "evaluate": (["evaluate", "--model", model_dir, "--data", mini_path,
                      "--report-dir", blocker], "--report-dir"),
        "evaluate --cv": (["evaluate", "--cv", "3", "--config", test_toml, "--data",
                           mini_path, "--report-dir", blocker], "--report-dir"),
        "train": (["train", "--config", test_toml, "--out", blocker / "model"], "--out"),
    }[command]
    res = invoke(*args)
    assert_user_error(res, f"{option} {blocker}")
    assert len(res.stderr.strip().splitlines()) == 1
    assert "cross-validation fold" not in res.stderr  # refused before any work
    assert blocker.read_text(encoding="utf-8") == "not a folder"


@pytest.mark.parametrize(("data", "text", "error"), [
    ("\u201cShe was promised a job\u201d \u2013 the recruiter charged \u20ac500.".encode("cp1252"),
     "\u201cShe was promised a job\u201d \u2013 the recruiter charged \u20ac500.", None),
    ("Her passport was taken.".encode("utf-16"), "Her passport was taken.", None),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01", None, "binary file (NUL bytes), not text"),
])
def test_predict_stdin_is_decoded_like_a_file(model_dir: Path, data: bytes, text, error):
    res = invoke("predict", "-", "--model", model_dir, "--level", "sentence", "-q",
                 input=data)
    assert res.exit_code == 0, res.output
    records = [json.loads(x) for x in res.stdout.splitlines()]
    assert records[0]["error"] == error
    if text is not None:
        assert " ".join(r["text"] for r in records) == text


def test_predict_stdin_over_max_bytes_is_an_error_record(model_dir: Path):
    res = invoke("predict", "-", "--model", model_dir, "-q", "--max-bytes", "10",
                 input=b"Her passport was taken on arrival.")
    (record,) = [json.loads(x) for x in res.stdout.splitlines()]
    assert record["error"] == "input on stdin too large (> 10 bytes)"


def test_data_agreement_on_identical_files_is_perfect_even_for_unused_labels(
        tmp_path: Path, test_toml: Path):
    rows = [{"id": "p1", "stage": ["recruitment"], "technology": []},
            {"id": "p2", "stage": [], "technology": ["clearnet"]}]
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    res = invoke("data", "agreement", path, path, "--config", test_toml)
    assert res.exit_code == 0, res.output
    assert "stage: macro-F1 1.000" in res.stdout and "technology: macro-F1 1.000" in res.stdout


def test_evaluate_report_says_which_labels_have_no_support(model_dir: Path, tmp_path: Path):
    data = tmp_path / "few.jsonl"
    data.write_text(json.dumps({"id": "p1", "text": "Recruiters posted fake jobs abroad.",
                                "stage": ["recruitment"], "technology": []}) + "\n",
                    encoding="utf-8")
    res = invoke("evaluate", "--model", model_dir, "--data", data, "--report-dir",
                 tmp_path / "r")
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["stage"]["per_label"]["control"]["f1"] is None
    assert "control" in metrics["stage"]["labels_without_support"]
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "left out of macro-F1" in md and "| control | " in md and "n/a" in md


@pytest.mark.parametrize("args", [
    ["predict", "x.txt", "--max-bytes", "-5"], ["predict", "x.txt", "--max-bytes", "0"],
    ["predict", "x.txt", "--evidence", "-1"], ["predict", "x.txt", "--n-jobs", "0"],
    ["evaluate", "--data", "x.jsonl", "--cv", "1"], ["evaluate", "--data", "x.jsonl", "--cv", "-3"],
])
def test_numeric_options_out_of_range_are_usage_errors(args: list[str]):
    res = invoke(*args)
    assert res.exit_code == 2, res.output  # click's usage error, before any work
    option = next(a for a in args if a.startswith("--") and a != "--data")
    assert f"Invalid value for '{option}'" in flat(res.output)
    assert "Traceback" not in res.output


# --- hostile-11: whole-document annotation tools ------------------------------------------

ARREST = ("Police arrested two men in Leeds.\n\nThe victims were recruited through a fake job "
          "advert on Facebook. They were moved by van to a house where their phones were "
          "taken. Payments were made in bitcoin.\n")


def _templated(tmp_path: Path, test_toml: Path, text: str = ARREST) -> tuple[Path, Path]:
    """texts/news/a.txt with its template (row seq 1 labelled recruitment/clearnet)."""
    texts = tmp_path / "texts"
    doc = texts / "news" / "a.txt"
    doc.parent.mkdir(parents=True)
    doc.write_text(text, encoding="utf-8")
    assert invoke("data", "segment", doc, "--config", test_toml).exit_code == 0
    template = doc.with_name("a.labels.tsv")
    rows = template.read_text(encoding="utf-8").split("\n")
    cells = rows[2].split("\t")
    cells[3], cells[4] = "recruitment", "clearnet"
    rows[2] = "\t".join(cells)
    template.write_text("\n".join(rows), encoding="utf-8")
    return texts, template


def _import(template, texts: Path, out: Path, test_toml: Path, *more):
    return invoke("data", "import", template, *more, "--writer", "w1", "--doc-root", texts,
                  "--out", out, "--config", test_toml)


def _doc_toml(tmp_path: Path, test_toml: Path, texts: Path, fingerprint: str = "") -> Path:
    cfg = tmp_path / "docs.toml"
    cfg.write_text(test_toml.read_text(encoding="utf-8") +
                   f'\n[documents]\ntexts = "{texts}"\nfingerprint = "{fingerprint}"\n',
                   encoding="utf-8")
    return cfg


@pytest.mark.parametrize("damage", ["empty file", "header only", "row removed",
                                    "text appended to the document"])
def test_data_import_refuses_sentences_no_template_row_covers(tmp_path: Path, test_toml: Path,
                                                              damage: str):
    # BREAK: a template truncated to nothing (or to its header), a row deleted by hand, or
    # a sentence added to the document after templating is imported as sentences with
    # no label, exit 0, without a word: the annotation of those sentences is silently
    # lost (or never made) and the records claim they were read and found unlabelled.
    texts, template = _templated(tmp_path, test_toml)
    rows = template.read_text(encoding="utf-8").split("\n")
    if damage == "empty file":
        template.write_text("", encoding="utf-8")
    elif damage == "header only":
        template.write_text(rows[0] + "\n", encoding="utf-8")
    elif damage == "row removed":
        template.write_text("\n".join(r for i, r in enumerate(rows) if i != 2),
                            encoding="utf-8")
    else:
        with (texts / "news" / "a.txt").open("a", encoding="utf-8") as fh:
            fh.write("\nThe gang also advertised on a darknet forum.\n")
    out = tmp_path / "w1.jsonl"
    res = _import(template, texts, out, test_toml)
    assert_user_error(res, str(template))


@pytest.mark.parametrize("how", ["same path twice", "through a symlinked folder"])
def test_data_import_refuses_the_same_document_twice(tmp_path: Path, test_toml: Path,
                                                     how: str):
    # BREAK: the same template named twice (or once through a symlink to its folder,
    # which resolves to the same doc id) writes every sentence twice with the same ids,
    # exit 0 ("2 documents"); the file is then refused by data check and train as
    # duplicate ids, far from the cause.
    texts, template = _templated(tmp_path, test_toml)
    second = template
    if how != "same path twice":
        (texts / "alias").symlink_to(texts / "news", target_is_directory=True)
        second = texts / "alias" / template.name
    out = tmp_path / "w1.jsonl"
    res = _import(template, texts, out, test_toml, second)
    assert_user_error(res, "news/a")


@pytest.mark.parametrize("target", ["template", "document"])
def test_data_import_out_never_replaces_its_inputs(tmp_path: Path, test_toml: Path,
                                                   target: str):
    # BREAK: --out naming the template (or its .txt) overwrites the annotator's work (or
    # the document) with JSONL, exit 0; predict refuses an --out that is an input.
    texts, template = _templated(tmp_path, test_toml)
    victim = template if target == "template" else texts / "news" / "a.txt"
    before = victim.read_bytes()
    res = _import(template, texts, victim, test_toml)
    assert_user_error(res, "--out")
    assert victim.read_bytes() == before


@pytest.mark.parametrize("where_to", ["folder", "under a file"])
def test_data_import_unwritable_out_is_a_user_error(tmp_path: Path, test_toml: Path,
                                                    where_to: str):
    # BREAK: IsADirectoryError / FileExistsError tracebacks.
    texts, template = _templated(tmp_path, test_toml)
    out = unwritable_path(tmp_path, where_to, "w1.jsonl")
    assert_user_error(_import(template, texts, out, test_toml), str(out))


def test_data_import_reads_a_template_saved_with_a_bom(tmp_path: Path, test_toml: Path):
    # BREAK: a template saved by an editor or spreadsheet as "UTF-8 with BOM" is refused
    # with "seq: missing column" on every row, though the column is there (predict and
    # segment read a BOM'd .txt fine).
    texts, template = _templated(tmp_path, test_toml)
    template.write_bytes(b"\xef\xbb\xbf" + template.read_bytes())
    out = tmp_path / "w1.jsonl"
    res = _import(template, texts, out, test_toml)
    assert res.exit_code == 0, res.output
    assert read_jsonl(out)[1]["stage"] == ["recruitment"]


def test_data_segment_and_import_follow_the_configs_label_sets(tmp_path: Path,
                                                                test_toml: Path):
    # BREAK: label sets come from the config ([labels.*]), but segment writes fixed
    # stage/technology columns and import then dies with KeyError: 'topic' (traceback).
    other = tmp_path / "topic.toml"
    other.write_text(test_toml.read_text(encoding="utf-8").replace(
        "[labels.technology]", "[labels.topic]"), encoding="utf-8")
    texts = tmp_path / "texts"
    doc = texts / "news" / "a.txt"
    doc.parent.mkdir(parents=True)
    doc.write_text(ARREST, encoding="utf-8")
    assert invoke("data", "segment", doc, "--config", other).exit_code == 0
    res = _import(doc.with_name("a.labels.tsv"), texts, tmp_path / "w1.jsonl", other)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert res.exit_code == 0, res.output
    assert all("topic" in r for r in read_jsonl(tmp_path / "w1.jsonl"))


@pytest.mark.parametrize("command", ["check", "split"])
@pytest.mark.parametrize("seq", ["one", None, [1]], ids=["word", "null", "list"])
def test_data_check_and_split_bad_seq_is_a_user_error(tmp_path: Path, test_toml: Path,
                                                      command: str, seq):
    # BREAK: by_document() does int(seq): a sentence record whose seq is not a number is
    # a ValueError/TypeError traceback in data check and data split.
    texts, template = _templated(tmp_path, test_toml)
    out = tmp_path / "sentences" / "w1.jsonl"
    assert _import(template, texts, out, test_toml).exit_code == 0
    records = read_jsonl(out)
    records[1]["seq"] = seq
    out.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    cfg = _doc_toml(tmp_path, test_toml, texts)
    args = ["--out-dir", tmp_path / "splits"] if command == "split" else []
    res = invoke("data", command, out, "--config", cfg, *args)
    assert_user_error(res, "seq")


@pytest.mark.parametrize("content", [b"n = abc\n", b"n = 8.5\n", b"# caf\xe9\nn = 8\n"],
                         ids=["n-not-a-number", "n-decimal", "latin1"])
def test_data_check_garbled_fingerprint_is_a_user_error(tmp_path: Path, test_toml: Path,
                                                        content: bytes):
    # BREAK: read_fingerprint does int(line[4:]) and read_text(utf-8) unguarded:
    # ValueError / UnicodeDecodeError tracebacks.
    texts, template = _templated(tmp_path, test_toml)
    out = tmp_path / "sentences" / "w1.jsonl"
    assert _import(template, texts, out, test_toml).exit_code == 0
    prints = tmp_path / "prints.txt"
    prints.write_bytes(content)
    res = invoke("data", "check", out, "--config", _doc_toml(tmp_path, test_toml, texts, prints))
    assert_user_error(res, str(prints))


@pytest.mark.parametrize("where_to", ["a folder", "under a file", "an input text"])
def test_data_fingerprint_out_is_checked(tmp_path: Path, where_to: str):
    # BREAK: --out a folder or under a file is a traceback (IsADirectoryError,
    # FileExistsError); --out naming one of the published texts replaces it with hashes.
    reading = tmp_path / "reading.txt"
    reading.write_text("one two three four five six seven eight nine", encoding="utf-8")
    if where_to == "a folder":
        out = tmp_path / "outdir"
        out.mkdir()
    elif where_to == "under a file":
        out = reading / "prints.txt"
    else:
        out = reading
    res = invoke("data", "fingerprint", reading, "--out", out)
    assert_user_error(res, str(out))
    assert reading.read_text(encoding="utf-8").startswith("one two")


# --- hostile-11: what held ---------------------------------------------------------------


def test_data_import_survives_hand_edited_templates(tmp_path: Path, test_toml: Path):
    """CRLF line ends, rows in another order, columns swapped, an extra notes column and
    labels with stray spaces import as the annotator meant; a wrong-case label is an
    error naming the line."""
    texts, template = _templated(tmp_path, test_toml)
    rows = [r.split("\t") for r in template.read_text(encoding="utf-8").split("\n") if r]
    header, body = rows[0], rows[1:]
    body[0][3] = " control ; "
    order = [5, 4, 3, 2, 1, 0]
    edited = [[header[i] for i in order] + ["notes"]]
    edited += [[r[i] for i in order] + ["checked"] for r in reversed(body)]
    template.write_bytes("".join("\t".join(r) + "\r\n" for r in edited).encode("utf-8"))
    out = tmp_path / "w1.jsonl"
    res = _import(template, texts, out, test_toml)
    assert res.exit_code == 0, res.output
    records = read_jsonl(out)
    assert [r["seq"] for r in records] == list(range(len(body)))
    assert records[0]["stage"] == ["control"]
    assert records[1]["stage"] == ["recruitment"] and records[1]["technology"] == ["clearnet"]
    template.write_text(template.read_text(encoding="utf-8").replace("recruitment",
                                                                     "Recruitment"),
                        encoding="utf-8")
    assert_user_error(_import(template, texts, out, test_toml), "unknown label 'Recruitment'")


def test_data_import_refuses_a_document_edited_before_the_template(tmp_path: Path,
                                                                   test_toml: Path):
    texts, template = _templated(tmp_path, test_toml)
    doc = texts / "news" / "a.txt"
    doc.write_text("UPDATE:\n\n" + doc.read_text(encoding="utf-8"), encoding="utf-8")
    assert_user_error(_import(template, texts, tmp_path / "w1.jsonl", test_toml),
                      "does not match the document")
    doc.unlink()
    doc.mkdir()  # the .txt is a folder
    assert_user_error(_import(template, texts, tmp_path / "w1.jsonl", test_toml),
                      "no such file")


def test_data_check_texts_folder_set_to_a_file(tmp_path: Path, test_toml: Path):
    texts, template = _templated(tmp_path, test_toml)
    out = tmp_path / "sentences" / "w1.jsonl"
    assert _import(template, texts, out, test_toml).exit_code == 0
    not_a_folder = tmp_path / "texts.txt"
    not_a_folder.write_text("x", encoding="utf-8")
    res = invoke("data", "check", out, "--config", _doc_toml(tmp_path, test_toml, not_a_folder))
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert "annotation(s) that do not fit their text" in res.stdout


def test_data_check_fingerprint_with_crlf_line_ends_still_matches(tmp_path: Path,
                                                                   test_toml: Path):
    texts, template = _templated(tmp_path, test_toml)
    out = tmp_path / "sentences" / "w1.jsonl"
    assert _import(template, texts, out, test_toml).exit_code == 0
    prints = tmp_path / "prints.txt"
    assert invoke("data", "fingerprint", texts / "news" / "a.txt", "--out", prints
                  ).exit_code == 0
    prints.write_bytes(prints.read_bytes().replace(b"\n", b"\r\n"))
    res = invoke("data", "check", out, "--config", _doc_toml(tmp_path, test_toml, texts, prints))
    assert res.exit_code == 1
    assert "word sequence(s) shared with published text" in res.stdout


def test_evaluate_on_the_sentences_of_a_single_document(tmp_path: Path, test_toml: Path,
                                                        model_dir: Path):
    texts, template = _templated(tmp_path, test_toml)
    out = tmp_path / "w1.jsonl"
    assert _import(template, texts, out, test_toml).exit_code == 0
    res = invoke("evaluate", "--model", model_dir, "--data", out, "--report-dir",
                 tmp_path / "r", "--config", test_toml)
    assert res.exit_code == 0, res.output
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["documents"]["n_documents"] == 1 and metrics["n_records"] == 4


@pytest.mark.parametrize("gates", ["macro_f1 = { n_records = 0.5 }",
                                   "document_macro_f1 = { n_documents = 0.5 }",
                                   'label_f1 = { "n_records.x" = 0.5 }'])
def test_a_gate_on_a_figure_that_is_not_a_label_set_is_no_traceback(
        document_corpus, model_dir: Path, tmp_path: Path, test_toml: Path, gates: str):
    """hostile-final: metrics hold counts beside the label sets; a gate naming one
    crashed check_gates with AttributeError ('int' object has no attribute 'get')."""
    out, _, _ = document_corpus
    cfg = tmp_path / "gates.toml"
    cfg.write_text(test_toml.read_text(encoding="utf-8") + f"\n[gates]\n{gates}\n",
                   encoding="utf-8")
    res = invoke("evaluate", "--model", model_dir, "--data", out, "--report-dir",
                 tmp_path / "r", "--config", cfg, "--gate")
    assert res.exit_code == 1, res.output
    assert isinstance(res.exception, SystemExit), res.exception
    assert "n_records" in res.stderr or "n_documents" in res.stderr


def test_a_nan_gate_does_not_pass(document_corpus, model_dir: Path, tmp_path: Path,
                                  test_toml: Path):
    """hostile-final: 'stage = nan' is read as a float gate and `value < nan` is never
    true, so the gate passes whatever the figures are."""
    out, _, _ = document_corpus
    cfg = tmp_path / "gates.toml"
    cfg.write_text(test_toml.read_text(encoding="utf-8")
                   + "\n[gates]\nmacro_f1 = { stage = nan }\n", encoding="utf-8")
    res = invoke("evaluate", "--model", model_dir, "--data", out, "--report-dir",
                 tmp_path / "r", "--config", cfg, "--gate")
    assert res.exit_code == 1, res.output
    assert "quality gate passed" not in res.stdout


def test_document_records_count_the_sentences_over_each_threshold(model_dir: Path,
                                                                  tmp_path: Path,
                                                                  model):
    doc = tmp_path / "case.txt"
    doc.write_text("Recruiters posted fake jobs abroad on social media. The weather was "
                   "mild. They recruited women on Facebook with fake job offers. Her "
                   "passport was taken on arrival.", encoding="utf-8")
    out = tmp_path / "d.jsonl"
    assert invoke("predict", doc, "--model", model_dir, "--out", out, "-q").exit_code == 0
    sent_out = tmp_path / "s.jsonl"
    assert invoke("predict", doc, "--model", model_dir, "--out", sent_out, "-q",
                  "--level", "sentence").exit_code == 0
    (record,) = read_jsonl(out)
    sentences = read_jsonl(sent_out)
    rule = model.estimator.rule_
    evidence = rule.evidence_[rule.band_index(len(sentences))]
    for (s, lab), threshold in zip(model.columns, evidence, strict=True):
        over = sum(r["scores"][s][lab] >= threshold for r in sentences)
        assert record["evidence_sentences"][s][lab] == over
        # the document rule: enough evidence sentences for a document of this length
        needed = record["evidence_needed"][s][lab]
        assert needed == model.estimator.rule_.needed(len(sentences))[model.columns.index(
            (s, lab))]
        assert (over >= needed) == (lab in record["labels"][s])
    assert record["evidence_sentences"]["stage"]["recruitment"] >= 2
    # CSV carries one column per label and reads back to the same record
    csv_out = tmp_path / "d.csv"
    assert invoke("predict", doc, "--model", model_dir, "--out", csv_out, "-q").exit_code == 0
    frame = pd.read_csv(csv_out)
    assert frame["sentences_stage_recruitment"].item() == \
        record["evidence_sentences"]["stage"]["recruitment"]
    from pipeline.io.outputs import read_output

    (back,) = list(read_output(csv_out))
    assert back["evidence_sentences"] == record["evidence_sentences"]
