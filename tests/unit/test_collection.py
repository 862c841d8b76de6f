"""pipeline.evaluation.collection: joining predict's outputs, the page's data, escaping."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest

from pipeline.batch.predict import PredictOptions, predict_documents
from pipeline.config import Pii
from pipeline.errors import PipelineError
from pipeline.evaluation.collection import (
    embedded_json,
    read_collection,
    render_html,
    report_data,
)
from pipeline.evaluation.summarize import cooccurrence, read_predictions
from pipeline.io.inputs import Document
from pipeline.io.outputs import write_records
from pipeline.model.persistence import TraffickingModel
from pipeline.text.pii import PiiMasker

HOSTILE = ["<script>window.__xss = 1</script> Recruiters posted jobs on social media.",
           '<img src=x onerror="window.__xss = 2"> She was sold on an escort site.',
           "</td></table></script><!-- Profits went through crypto wallets. -->"]
DOCS = [
    Document("d1", "a/d1.txt", "Her passport was taken on arrival. She was sold on an escort "
                               "site for bitcoin.\n\nThe weather was fine that week."),
    Document("d2", "b/d2.txt", "Recruiters posted fake jobs abroad on social media. "
                               "Call Lina on +44 7700 900123 or mail lina@example.org."),
    Document("bad", "c/bad.pdf", error="encrypted PDF, cannot read text"),
    Document("x", "c/x.txt", " ".join(HOSTILE)),
]


@pytest.fixture(scope="module")
def outputs(model: TraffickingModel, tmp_path_factory: pytest.TempPathFactory
            ) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("collection")
    docs, sents = folder / "docs.jsonl", folder / "sents.jsonl"
    write_records(predict_documents(model, DOCS), docs)
    write_records(predict_documents(model, DOCS, PredictOptions(level="sentence")), sents)
    return docs, sents


def test_both_levels_join_by_document(outputs):
    docs, sents = outputs
    c = read_collection([docs, sents])
    assert [d.id for d in c.docs] == ["d1", "d2", "bad", "x"]
    by_id = {d.id: d for d in c.docs}
    assert by_id["bad"].error == "encrypted PDF, cannot read text"
    assert all(by_id[i].complete for i in ("d1", "d2", "x"))
    # every sentence once, with its sentence-record labels; document labels kept too
    records = read_predictions(sents)
    for d in ("d1", "d2", "x"):
        mine = [r for r in records if r["doc_id"] == d]
        assert len(by_id[d].sentences) == len(mine)
    assert by_id["d1"].labels is not None


def test_the_order_of_the_files_does_not_matter(outputs):
    docs, sents = outputs
    a = report_data(read_collection([docs, sents]))
    b = report_data(read_collection([sents, docs]))
    for key in ("sents", "matrix", "summary"):
        assert a[key] == b[key]


def test_matrix_of_sentence_records_is_summarize_s(outputs):
    docs, sents = outputs
    data = report_data(read_collection([sents]))
    expected = cooccurrence(read_predictions(sents))
    assert data["matrix"]["rows"] == list(expected.index)
    assert data["matrix"]["cols"] == list(expected.columns)
    assert data["matrix"]["counts"] == expected.to_numpy().tolist()
    # document records alone: counted from their same_sentence tables, the same numbers
    assert report_data(read_collection([docs]))["matrix"] == data["matrix"]


def test_document_records_alone_hold_only_their_quotes(outputs):
    docs, _ = outputs
    data = report_data(read_collection([docs]))
    assert data["summary"]["complete"] == 0
    quoted = {(r["id"], q["start"]) for r in read_predictions(docs)
              for table in r["evidence"].values() for quotes in table.values() for q in quotes}
    held = {(data["docs"]["id"][d], start)
            for d, start in zip(data["sents"]["doc"], data["sents"]["start"], strict=True)}
    assert held == quoted
    assert all(p is None for p in data["sents"]["pos"])


def test_a_document_twice_at_one_level_is_an_error_naming_both(outputs, tmp_path: Path):
    docs, sents = outputs
    with pytest.raises(PipelineError, match=r"docs\.jsonl: record 1: document 'd1' is "
                                            r"already in .*docs\.jsonl: record 1"):
        read_collection([docs, docs])
    with pytest.raises(PipelineError, match="sentence 1 of document 'd1' is already in"):
        read_collection([sents, sents])


def test_bad_predictions_name_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "labels": {"stage": []}}\nnot json\n', encoding="utf-8")
    with pytest.raises(PipelineError, match=r"bad\.jsonl:2: bad JSON"):
        read_collection([bad])


def test_embedded_json_cannot_end_its_block():
    text = embedded_json({"t": "</script><!-- <b>&\u2028\u2029"})
    assert "<" not in text and ">" not in text and "&" not in text
    assert "\u2028" not in text and "\u2029" not in text
    assert json.loads(text) == {"t": "</script><!-- <b>&\u2028\u2029"}


def test_hostile_text_is_only_data_in_the_page(outputs):
    docs, sents = outputs
    page = render_html(report_data(read_collection([docs, sents])))
    for needle in ("<script>window", "<img src=x", "</td></table>", "onerror=\"window"):
        assert needle not in page
    assert page.count("<script") == 2  # the data block and the page's own script
    assert "innerHTML" not in page and "insertAdjacentHTML" not in page
    assert not re.search(r"<[a-z]+[^>]*\son[a-z]+\s*=", page)  # no inline handlers at all
    blob = page.split('id="report-data">', 1)[1].split("</script>", 1)[0]
    texts = json.loads(blob)["sents"]["text"]
    assert any("<script>window.__xss = 1</script>" in t for t in texts)


def test_the_policy_allows_only_the_page_s_own_style_and_script(outputs):
    docs, _ = outputs
    page = render_html(report_data(read_collection([docs])))
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page)[1]
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy
    style = page.split("<style>", 1)[1].split("</style>", 1)[0]
    script = page.rsplit("<script>", 1)[1].rsplit("</script>", 1)[0]
    for kind, body in (("style-src", style), ("script-src", script)):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"{kind} 'sha256-{digest}'" in policy
    assert "http://" not in page and "https://" not in page  # nothing to fetch


def test_masked_report_holds_no_personal_data_and_the_same_labels(outputs):
    docs, sents = outputs
    plain = report_data(read_collection([docs, sents]))
    masked = report_data(read_collection([docs, sents]), PiiMasker.from_config(Pii()))
    text = json.dumps(masked)
    for secret in ("Lina", "+44 7700 900123", "lina@example.org"):
        assert secret in json.dumps(plain) and secret not in text
    assert "[PHONE]" in text and "[EMAIL]" in text and "[NAME]" in text
    assert masked["masked"] and not plain["masked"]
    for key in ("labels", "start", "end", "pos", "doc"):
        assert masked["sents"][key] == plain["sents"][key]
    assert masked["docs"] == plain["docs"] and masked["matrix"] == plain["matrix"]
