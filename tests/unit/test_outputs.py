"""Output files: atomic, and readable like files written with open()."""

from __future__ import annotations

import csv
import os
import stat

import pytest

from pipeline.io.outputs import (
    FORMULA_START,
    read_output,
    spreadsheet_plain,
    spreadsheet_safe,
    write_records,
    write_text,
)


def test_written_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "report.md", "# report\n")
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "report.md").stat().st_mode)
    assert mode == 0o644
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


@pytest.mark.parametrize("value", ["=HYPERLINK(\"http://x\")", "+1", "-2+3", "@SUM(A1)",
                                   "\tx", "\rx", "'=already", "''", "'plain", "plain", "",
                                   "a=b"])
def test_spreadsheet_escape_round_trips(value: str):
    safe = spreadsheet_safe(value)
    assert safe[:1] not in FORMULA_START
    assert spreadsheet_plain(safe) == value


def test_csv_output_cells_cannot_start_a_formula(tmp_path):
    record = {"id": "=cmd|' /C calc'!A0", "source": "@src", "n_sentences": 1,
              "labels": {"stage": []}, "scores": {"stage": {"control": 0.25}},
              "evidence": {}, "error": "-bad"}
    out = tmp_path / "p.csv"
    write_records([record], out)
    with open(out, encoding="utf-8", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert (row["id"], row["source"], row["error"]) == ("'=cmd|' /C calc'!A0", "'@src", "'-bad")
    assert row["score_stage_control"] == "0.25"
    (back,) = read_output(out)
    assert (back["id"], back["source"], back["error"]) == (record["id"], "@src", "-bad")
