"""--mask-pii end to end: no personal data of the PII fixture collection in any output of
predict, evaluate or report, and the same labels as without masking."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MANIFEST = json.loads((FIXTURES / "pii" / "manifest.json").read_text(encoding="utf-8"))
VALUES = sorted({i["value"] for d in MANIFEST["documents"].values() for i in d["pii"]})


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def leaks(text: str) -> list[str]:
    """Personal data in ``text``, also as JSON, HTML or Markdown would escape it."""
    plain = html.unescape(text).replace("\\", "")
    return [v for v in VALUES if v in text or v in plain or json.dumps(v)[1:-1] in text]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pii_inputs")
    for f in sorted((FIXTURES / "pii").glob("*.txt")):
        shutil.copy(f, folder / f.name)
    return folder


@pytest.mark.parametrize("level", ["document", "sentence"])
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_predict_masks_every_output_and_keeps_the_labels(inputs: Path, model_dir: Path,
                                                         tmp_path: Path, level: str,
                                                         suffix: str):
    plain, masked = tmp_path / f"plain{suffix}", tmp_path / f"masked{suffix}"
    for out, extra in ((plain, []), (masked, ["--mask-pii"])):
        res = invoke("predict", inputs, "--model", model_dir, "--out", out, "--level", level,
                     "--evidence", 50, "-q", *extra)
        assert res.exit_code == 0, res.output
    read = {".jsonl": lambda p: pd.read_json(p, lines=True), ".csv": pd.read_csv,
            ".parquet": pd.read_parquet}[suffix]
    a, b = read(plain), read(masked)
    text_columns = [c for c in a.columns if c in ("text", "evidence")]
    assert text_columns
    assert leaks(plain.read_text(encoding="utf-8", errors="replace") if suffix != ".parquet"
                 else a[text_columns].to_json())  # the fixture does hold personal data
    shown = (masked.read_text(encoding="utf-8") if suffix != ".parquet"
             else b.to_json(force_ascii=False))
    assert leaks(shown) == []
    assert "[NAME]" in shown and "[PHONE]" in shown
    same = [c for c in a.columns if c not in text_columns]
    pd.testing.assert_frame_equal(a[same], b[same])  # labels, scores, offsets, counts


def test_evaluate_masks_quoted_passages(model_dir: Path, tmp_path: Path, test_toml: Path):
    data = tmp_path / "annotated.jsonl"
    with data.open("w", encoding="utf-8") as fh:
        for f in sorted((FIXTURES / "pii").glob("*.txt")):
            lines = [x for x in f.read_text(encoding="utf-8").split("\n") if x.strip()]
            for i, line in enumerate(lines):
                fh.write(json.dumps({"id": f"{f.stem}#{i}", "doc": f.stem, "seq": i,
                                     "text": line, "stage": [], "technology": []}) + "\n")
    for name, extra in (("plain", []), ("masked", ["--mask-pii"])):
        res = invoke("evaluate", "--model", model_dir, "--data", data, "--config", test_toml,
                     "--report-dir", tmp_path / name, *extra)
        assert res.exit_code == 0, res.output

    def written(name: str) -> str:
        return "".join(p.read_text(encoding="utf-8") for p in (tmp_path / name).iterdir()
                       if p.suffix in (".md", ".html", ".json"))

    assert leaks(written("plain"))
    assert leaks(written("masked")) == []
    plain = json.loads((tmp_path / "plain" / "metrics.json").read_text(encoding="utf-8"))
    masked = json.loads((tmp_path / "masked" / "metrics.json").read_text(encoding="utf-8"))
    assert plain == masked


def test_report_masks_and_says_so(inputs: Path, model_dir: Path, tmp_path: Path):
    docs, sents = tmp_path / "d.jsonl", tmp_path / "s.jsonl"
    assert invoke("predict", inputs, "--model", model_dir, "--out", docs, "-q").exit_code == 0
    assert invoke("predict", inputs, "--model", model_dir, "--out", sents, "--level",
                  "sentence", "-q").exit_code == 0
    res = invoke("report", docs, sents, "--out", tmp_path / "r.html", "--mask-pii")
    assert res.exit_code == 0, res.output
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert leaks(page) == [] and '"masked":true' in page


def test_a_bad_pii_setting_fails_before_any_work(inputs: Path, model_dir: Path,
                                                 tmp_path: Path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text((Path("configs/default.toml").read_text(encoding="utf-8"))
                   .replace('ner_model = ""', 'ner_model = "no_such_pipeline_xx"'),
                   encoding="utf-8")
    out = tmp_path / "out.jsonl"
    res = invoke("predict", inputs, "--model", model_dir, "--out", out, "--mask-pii",
                 "--config", cfg)
    assert res.exit_code == 1
    assert "pii.ner_model: cannot load spaCy pipeline 'no_such_pipeline_xx'" in res.stderr
    assert "Traceback" not in res.output and not out.exists()
