"""What a hostile tester found in the evidence report and --mask-pii (issue 15), each
break turned into a test."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.batch.predict import PredictOptions, predict_documents
from pipeline.cli import app
from pipeline.evaluation.collection import read_collection, render_html, report_data
from pipeline.io.inputs import Document
from pipeline.io.outputs import write_records
from pipeline.model.persistence import TraffickingModel
from pipeline.text.pii import PiiMasker

DOCS = [Document("d1", "a/d1.txt", "Recruiters posted fake jobs on social media. Her passport "
                                   "was taken on arrival. She was sold on an escort site for "
                                   "bitcoin. Profits went through crypto wallets."),
        Document("d2", "a/d2.txt", "Call Anna on +44 7700 900123. The weather was fine.")]


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def write_lines(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def outputs(model: TraffickingModel, tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("h15")
    docs, sents = folder / "d.jsonl", folder / "s.jsonl"
    write_records(predict_documents(model, DOCS), docs)
    write_records(predict_documents(model, DOCS, PredictOptions(level="sentence")), sents)
    return docs, sents


def user_error(res, fragment: str) -> None:
    assert res.exit_code == 1, res.output
    assert fragment in res.stderr and "Traceback" not in res.output


# -- report: malformed records are data to skip, not tracebacks --

@pytest.mark.parametrize("edit", [
    lambda r: r.update(evidence=[1, 2]),
    lambda r: r.update(evidence="x"),
    lambda r: r.update(scores=[0.5]),
    lambda r: r.update(scores="high"),
    lambda r: r["scores"].update(stage=[0.5]),
    lambda r: r["scores"]["stage"].update(recruitment="x"),
    lambda r: r["scores"]["stage"].update(recruitment=None),
    lambda r: r["scores"]["stage"].update(recruitment=float("inf")),
    lambda r: r["scores"]["stage"].update(recruitment=float("nan")),
    lambda r: r.update(n_sentences=-1000),
    lambda r: r.update(text="broken \ud800 surrogate", source="\ud800"),
], ids=["evidence-list", "evidence-str", "scores-list", "scores-str", "set-list",
        "score-str", "score-null", "score-inf", "score-nan", "negative-n", "surrogate"])
def test_malformed_values_give_a_page_not_a_traceback(outputs, tmp_path: Path, edit):
    docs, sents = outputs
    for source in (docs, sents):
        records = lines(source)
        edit(records[0])
        bad = tmp_path / f"bad_{source.name}"
        bad.write_text("".join(json.dumps(r, allow_nan=True) + "\n" for r in records),
                       encoding="utf-8", errors="surrogatepass")
        res = invoke("report", bad, "--out", tmp_path / "r.html")
        assert res.exit_code == 0, res.output
        page = (tmp_path / "r.html").read_text(encoding="utf-8")
        assert "Infinity" not in page.split("report-data", 1)[1].split("</script>")[0]
        assert "-1000" not in page


def test_sentences_without_offsets_are_all_kept(outputs, tmp_path: Path):
    _, sents = outputs
    records = lines(sents)
    for r in records:
        r["start"] = r["end"] = None
    data = report_data(read_collection([write_lines(tmp_path / "s.jsonl", records)]))
    assert len(data["sents"]["text"]) == len(records)


def test_a_sentence_file_cut_short_is_not_taken_for_the_whole_document(outputs,
                                                                       tmp_path: Path):
    docs, sents = outputs
    full = report_data(read_collection([docs, sents]))
    cut = [r for r in lines(sents) if not (r["doc_id"] == "d1" and r["sentence"] > 1)]
    data = report_data(read_collection([docs, write_lines(tmp_path / "s.jsonl", cut)]))
    d1 = data["docs"]["id"].index("d1")
    assert not data["docs"]["complete"][d1]
    assert data["matrix"] == full["matrix"]  # counted from the document's own table


def test_label_names_that_are_object_properties_or_hold_colons(outputs, tmp_path: Path):
    docs, _ = outputs
    records = lines(docs)
    for r in records:
        r["labels"] = {"constructor": ["__proto__"], "a:b": ["c"], "a": ["b:c"]}
        r["scores"] = {"constructor": {"__proto__": 0.9, "toString": 0.1},
                       "a:b": {"c": 0.8}, "a": {"b:c": 0.7}}
    data = report_data(read_collection([write_lines(tmp_path / "d.jsonl", records)]))
    pairs = [tuple(x) for x in data["labels"]]
    assert ("a:b", "c") in pairs and ("a", "b:c") in pairs and len(set(pairs)) == len(pairs)
    assert sorted(data["docs"]["labels"][0]) == sorted(
        pairs.index(p) for p in [("constructor", "__proto__"), ("a:b", "c"), ("a", "b:c")])
    page = render_html(data)
    assert "labelIndex = new Map()" in page and "bySet = new Map(" in page


def test_a_byte_order_mark_and_an_overfull_csv_row(outputs, tmp_path: Path):
    docs, _ = outputs
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b"\xef\xbb\xbf" + docs.read_bytes())
    assert len(read_collection([bom]).docs) == len(DOCS)
    csv_out = tmp_path / "d.csv"
    assert invoke("report", csv_out, "--out", tmp_path / "x.html").exit_code == 1
    write_records(iter(lines(docs)), csv_out)
    excel = tmp_path / "excel.csv"
    excel.write_bytes(b"\xef\xbb\xbf" + csv_out.read_bytes())
    assert [d.id for d in read_collection([excel]).docs] == ["d1", "d2"]
    over = tmp_path / "over.csv"
    head, first, *rest = csv_out.read_text(encoding="utf-8").split("\n")
    over.write_text("\n".join([head, first + ",x,y", *rest]), encoding="utf-8")
    res = invoke("report", over, "--out", tmp_path / "x.html")
    user_error(res, "cells for")


@pytest.mark.parametrize("out", ["x.jsonl", "nothere/../d.jsonl"])
def test_out_must_be_a_new_html_page(outputs, tmp_path: Path, out: str, monkeypatch):
    docs, _ = outputs
    monkeypatch.chdir(docs.parent)
    before = docs.read_bytes()
    user_error(invoke("report", docs.name, "--out", out), "--out")
    assert docs.read_bytes() == before


def test_a_folder_or_missing_file_is_named(tmp_path: Path):
    user_error(invoke("report", tmp_path, "--out", tmp_path / "x.html"), "is a folder")
    user_error(invoke("report", tmp_path / "no.jsonl", "--out", tmp_path / "x.html"),
               "no such file")


def test_masking_nothing_does_not_claim_masking(outputs):
    docs, sents = outputs
    data = report_data(read_collection([docs, sents]), PiiMasker(kinds=[]))
    assert data["masked"] is False


# -- --mask-pii --

def test_runs_of_capitalised_words_stay_linear_and_masked():
    """A tag list of names and cities in an ad took 41 s and 2.5 GB (each name's span ran
    to the end of the run); a name now spans at most a few words."""
    masker = PiiMasker()
    tags = " ".join(["Anna", "Lina", "Bucharest", "Kira", "Vip", "Party", "Girls"] * 2000)
    masked = masker.mask(tags)
    assert "Anna" not in masked and "Lina" not in masked and "Kira" not in masked
    found = masker.find(tags)
    assert max(s.end - s.start for s in found) < 60


def test_contractions_and_usernames_are_not_names():
    masker = PiiMasker()
    assert masker.mask("Mr. Haroon (Agent): Don't call. Do Van Minh came.") == (
        "Mr. [NAME] (Agent): Don't call. [NAME] came.")
    assert masker.mask("summary_table: counts") == "summary_table: counts"
    assert masker.mask("[21:04] andrei_d: hi") == "[21:04] [NAME]: hi"


@pytest.mark.parametrize("text", ["12 03 2021", "192.168.1.20", "2015-2016-2017-2018"])
def test_dates_addresses_and_years_are_not_numbers_to_mask(text: str):
    assert PiiMasker().mask(f"seen {text} there") == f"seen {text} there"


def test_evaluate_keeps_feature_names(model_dir: Path, tmp_path: Path, test_toml: Path):
    data = tmp_path / "a.jsonl"
    write_lines(data, [{"id": f"p{i}", "text": t, "stage": [], "technology": []}
                       for i, t in enumerate(["Call Anna on +44 7700 900123.",
                                              "Recruiters posted fake jobs on social media."])])
    res = invoke("evaluate", "--model", model_dir, "--data", data, "--config", test_toml,
                 "--report-dir", tmp_path / "r", "--mask-pii")
    assert res.exit_code == 0, res.output
    report = (tmp_path / "r" / "report.md").read_text(encoding="utf-8")
    assert "cues\\_\\_" in report and not re.search(r"\[NAME\]:", report)
    assert "+44 7700 900123" not in report


def test_resume_with_mask_pii_warns_that_earlier_records_stay(model_dir: Path,
                                                              tmp_path: Path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i, d in enumerate(DOCS):
        (folder / f"{i}.txt").write_text(d.text or "", encoding="utf-8")
    out = tmp_path / "o.jsonl"
    assert invoke("predict", folder, "--model", model_dir, "--out", out, "-q").exit_code == 0
    res = invoke("predict", folder, "--model", model_dir, "--out", out, "--resume",
                 "--mask-pii")
    assert res.exit_code == 0, res.output
    assert "--resume keeps the records already in" in res.stderr
