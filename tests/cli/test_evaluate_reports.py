"""evaluate: full reports, baselines, --compare against an earlier run, --gate, --cv."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.model.persistence import load_model, save_model

runner = CliRunner()


def _evaluate(model_dir: Path, data: Path, report_dir: Path, config: Path, *extra: str):
    return runner.invoke(app, ["evaluate", "--model", str(model_dir), "--data", str(data),
                               "--report-dir", str(report_dir), "--config", str(config),
                               *extra])


@pytest.fixture
def weakened(model_dir: Path, tmp_path: Path) -> Path:
    """The session model with every threshold raised to 0.99: far fewer labels predicted."""
    weak = tmp_path / "weak_model"
    model = load_model(model_dir)
    model.estimator.rule_.thresholds_[:] = 0.99
    save_model(model, weak)  # saved, not hand-edited: the card's thresholds are sealed
    return weak


@pytest.fixture
def gate_config(test_toml: Path, tmp_path: Path):
    def write(stage: float, technology: float) -> Path:
        path = tmp_path / f"gates_{stage}_{technology}.toml"
        path.write_text(test_toml.read_text() +
                        f"\n[gates]\nmacro_f1 = {{ stage = {stage}, technology = {technology} }}\n")
        return path

    return write


def test_report_files_and_self_contained_html(model_dir, mini_path, test_toml, tmp_path):
    result = _evaluate(model_dir, mini_path, tmp_path / "r", test_toml)
    assert result.exit_code == 0, result.output
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert {"metrics.json", "report.md", "report.html", "pr_stage.png", "pr_technology.png",
            "reliability_stage.png", "reliability_technology.png"} <= names
    for png in (tmp_path / "r").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "r" / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4
    assert not re.search(r"""src=['"](?!data:)""", html)  # nothing loaded from elsewhere
    metrics = json.loads((tmp_path / "r" / "metrics.json").read_text())
    recruitment = metrics["stage"]["per_label"]["recruitment"]
    assert {"tp", "fp", "fn", "tn", "threshold", "brier"} <= set(recruitment)
    assert recruitment["tp"] + recruitment["fn"] == recruitment["support"]
    assert sum(recruitment[k] for k in ("tp", "fp", "fn", "tn")) == metrics["n_records"]
    assert {"subset_accuracy", "hamming_loss"} <= set(metrics["technology"])
    assert set(metrics["baselines"]) == {"keyword", "prior"}
    assert metrics["baselines"]["prior"]["stage"]["macro_f1"] == 0.0
    md = (tmp_path / "r" / "report.md").read_text()
    for heading in ("Model and baselines", "stage: strongest features",
                    "stage: most confident errors"):
        assert heading in md


def test_compare_marks_the_drops_of_a_weakened_model(model_dir, weakened, mini_path,
                                                     test_toml, tmp_path):
    assert _evaluate(model_dir, mini_path, tmp_path / "good", test_toml).exit_code == 0
    old = tmp_path / "good" / "metrics.json"
    same = _evaluate(model_dir, mini_path, tmp_path / "same", test_toml, "--compare", str(old))
    assert same.exit_code == 0 and "DROP" not in same.output
    weak = _evaluate(weakened, mini_path, tmp_path / "weak", test_toml, "--compare", str(old))
    assert weak.exit_code == 0, weak.output
    assert "DROP stage.(macro)" in weak.output
    comparison = json.loads((tmp_path / "weak" / "metrics.json").read_text())["comparison"]
    assert comparison["drops"] >= 3
    assert all(r["delta"] < -comparison["tolerance"] for r in comparison["rows"] if r["drop"])
    assert "| DROP |" in (tmp_path / "weak" / "report.md").read_text()


def test_compare_with_unreadable_old_metrics_is_one_line_error(model_dir, mini_path, test_toml,
                                                               tmp_path):
    bad = tmp_path / "old.json"
    bad.write_text("{not json")
    result = _evaluate(model_dir, mini_path, tmp_path / "r", test_toml, "--compare", str(bad))
    assert result.exit_code == 1 and "old.json" in result.output
    assert "Traceback" not in result.output


def test_gate_passes_above_and_fails_below(model_dir, weakened, mini_path, gate_config,
                                           tmp_path):
    config = gate_config(0.5, 0.5)
    good = _evaluate(model_dir, mini_path, tmp_path / "good", config, "--gate")
    assert good.exit_code == 0, good.output
    assert "quality gate passed" in good.output
    bad = _evaluate(weakened, mini_path, tmp_path / "bad", config, "--gate")
    assert bad.exit_code == 1
    assert "quality gate FAILED" in bad.output
    assert re.search(r"stage macro-F1 0\.\d+ < gate 0\.500", bad.output)
    gate = json.loads((tmp_path / "bad" / "metrics.json").read_text())["gate"]
    assert gate["passed"] is False and gate["failures"]


def test_cv_reports_mean_and_std(mini_path, test_toml, tmp_path):
    result = runner.invoke(app, ["evaluate", "--cv", "2", "--data", str(mini_path),
                                 "--config", str(test_toml), "--report-dir", str(tmp_path / "cv"),
                                 "--thresholds.cv_folds", "2"])
    assert result.exit_code == 0, result.output
    assert re.search(r"\| stage \| macro_f1 \| 0\.\d{3} ± 0\.\d{3} \|", result.output)
    cv = json.loads((tmp_path / "cv" / "cv_metrics.json").read_text())
    assert cv["folds"] == 2 and cv["n_records"] == 54
    assert set(cv["technology"]["macro_f1"]) == {"mean", "std"}


HOSTILE = ("![x](http://tracker.example/t.png) <img src=x onerror=alert(1)> "
           "<script>alert(2)</script> </td></table> *bold* `code` | pipe")


def _assert_inert(text: str, markdown: bool = True) -> None:
    """No payload survives as markup (in Markdown, also no image or link syntax)."""
    raws = ["<script", "<img src=x", "</td></table>", "<b>p1"]
    for raw in raws + (["](http://tracker", "![x]"] if markdown else []):
        assert raw not in text, raw


def test_report_escapes_passage_text_and_ids(model_dir, tmp_path):
    data = tmp_path / "hostile.jsonl"
    data.write_text(json.dumps({"id": "<b>p1</b>|x", "text": HOSTILE, "stage": ["control"],
                                "technology": []}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["evaluate", "--model", str(model_dir), "--data", str(data),
                                 "--report-dir", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    html = (tmp_path / "r" / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert\\(2\\)&lt;/script&gt;" in md  # shown, as text
    assert "&lt;b&gt;p1&lt;/b&gt;\\|x" in md
    _assert_inert(md)
    _assert_inert(html, markdown=False)
    (row,) = [line for line in md.splitlines() if line.startswith("| control | FN |")]
    assert row.count(" | ") == 4  # the passage stays in its one cell of the table row


def test_summary_markdown_escapes_label_names(tmp_path):
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "a", "labels": {"stage": [HOSTILE], "technology": []},
                                 "same_sentence": {HOSTILE: {}}, "error": None}) + "\n",
                     encoding="utf-8")
    result = runner.invoke(app, ["summarize", str(preds), "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    md = (tmp_path / "s" / "stage_technology.md").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in md
    _assert_inert(md)
