"""predict, resume and summarize over a folder of hostile inputs: nothing lost, no crash.

Every document in gives exactly one record out, in every output format; each error
record names its file, and a table row's error also its line or row; nothing ends in
a traceback; a resumed run adds nothing twice; summarize reads what predict wrote.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def run(*args: object):
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def records_of(out: Path) -> list[dict]:
    if out.suffix == ".jsonl":
        return [json.loads(x) for x in out.read_text(encoding="utf-8").split("\n") if x.strip()]
    frame = (pd.read_csv(out, keep_default_na=False, dtype=str) if out.suffix == ".csv"
             else pd.read_parquet(out))
    return [{k: (None if v == "" else v) for k, v in row.items()}
            for row in frame.to_dict("records")]


def check_records(records: list[dict], hostile) -> None:
    assert len(records) == hostile.documents
    errors = [r for r in records if r["error"] is not None]
    assert len(errors) == hostile.errors
    for r in errors:
        source = str(r["source"]).lstrip("'")
        file = re.sub(r":(\d+|row \d+)$", "", source)
        assert file.startswith(str(hostile.root)), r
        if file in hostile.table_rows:
            assert source != file, f"a table row's error names no row: {r}"
    per_table = {t: sum(str(r["source"]).startswith(t + ":") for r in records)
                 for t in hostile.table_rows}
    assert per_table == hostile.table_rows


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_every_document_gets_one_record(model_dir, hostile, tmp_path, suffix):
    out = tmp_path / f"preds{suffix}"
    result = run("predict", hostile.root, "--model", model_dir, "--out", out)
    assert result.exit_code == 0, result.output
    check_records(records_of(out), hostile)
    ids = [r["id"] for r in records_of(out)]
    assert len(set(ids)) == len(ids)
    assert f"documents: {hostile.documents}, " in result.stderr
    assert f"errors: {hostile.errors}," in result.stderr


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_resume_adds_nothing_twice_and_summarize_reads_it(model_dir, hostile, tmp_path):
    out = tmp_path / "preds.csv"
    assert run("predict", hostile.root, "--model", model_dir, "--out", out,
               "-q").exit_code == 0
    first = records_of(out)
    again = run("predict", hostile.root, "--model", model_dir, "--out", out, "--resume")
    assert again.exit_code == 0, again.output
    assert f"already done (skipped): {hostile.documents}" in again.stderr
    assert records_of(out) == first
    summary = run("summarize", out, "--out", tmp_path / "summary")
    assert summary.exit_code == 0, summary.output
    assert summary.stdout.startswith(f"documents: {hostile.documents} ({hostile.errors} "
                                     "with errors)")
    md = (tmp_path / "summary" / "stage_technology.md").read_text(encoding="utf-8")
    assert "<script" not in md


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_sentence_level_keeps_every_document(model_dir, hostile, tmp_path):
    out = tmp_path / "sentences.jsonl"
    result = run("predict", hostile.root, "--model", model_dir, "--out", out,
                 "--level", "sentence", "-q")
    assert result.exit_code == 0, result.output
    records = records_of(out)
    firsts = [r for r in records if r["sentence"] in (None, 1)]
    check_records(firsts, hostile)
