"""summarize: the stage x technology matrix counts what Table 3 of the thesis counts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import load_config
from pipeline.errors import PipelineError
from pipeline.evaluation.summarize import cooccurrence, label_order, read_predictions, summarize
from pipeline.io.outputs import ResumableOutput, read_output, write_records

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "configs" / "default.toml"
STAGES = ["recruitment", "control", "advertisement", "exploitation", "proceeds"]
TECHS = ["clearnet", "darknet", "telephone", "camera_microphone", "cryptocurrency", "ai",
         "iot_5g", "transport"]
runner = CliRunner()


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def doc(id_: str, stage: list[str], tech: list[str], same: dict | None = None,
        n: int = 3, error: str | None = None) -> dict:
    """A document record as predict writes it; ``same`` fills a zero same_sentence table."""
    record = {"id": id_, "source": f"{id_}.txt", "n_sentences": n,
              "labels": {"stage": stage, "technology": tech},
              "scores": {"stage": {s: float(s in stage) for s in STAGES},
                         "technology": {t: float(t in tech) for t in TECHS}},
              "error": error}
    if same is not None:
        table = {s: dict.fromkeys(TECHS, 0) for s in STAGES}
        for (s, t), k in same.items():
            table[s][t] = k
        record["same_sentence"] = table
    return record


def sentence(doc_id: str, n: int | None, stage: list[str], tech: list[str],
             error: str | None = None) -> dict:
    return {"id": f"{doc_id}#{n or 0}", "doc_id": doc_id, "source": f"{doc_id}.txt",
            "sentence": n, "labels": {"stage": stage, "technology": tech}, "error": error}


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


COLLECTION = [
    # 2 sentences name recruitment + clearnet; control and camera_microphone appear in
    # different sentences only, so they co-occur per document but not per sentence
    doc("a", ["recruitment", "control"], ["clearnet", "camera_microphone"],
        {("recruitment", "clearnet"): 2, ("recruitment", "camera_microphone"): 1}),
    doc("b", ["recruitment"], ["clearnet"], {("recruitment", "clearnet"): 1}),
    doc("c", [], [], n=0, error="cannot decode"),  # older error records lack the table
]
del COLLECTION[2]["scores"]


def test_axes_follow_the_config_with_every_label_zeros_included():
    order = label_order(COLLECTION, load_config(DEFAULT))
    matrix = cooccurrence(COLLECTION, "sentences", order)
    assert list(matrix.index) == STAGES and list(matrix.columns) == TECHS
    assert matrix.loc["proceeds"].sum() == 0 and matrix["transport"].sum() == 0


def test_order_comes_from_the_config_not_a_fixed_list(tmp_path: Path):
    toml = tmp_path / "c.toml"
    toml.write_text('[labels.stage]\nlabels = ["proceeds", "recruitment", "control", '
                    '"advertisement", "exploitation"]\n[labels.technology]\nlabels = '
                    '["transport", "clearnet", "darknet", "telephone", "camera_microphone", '
                    '"cryptocurrency", "ai", "iot_5g"]\n', encoding="utf-8")
    preds = write_jsonl(tmp_path / "p.jsonl", COLLECTION)
    res = invoke("summarize", preds, "--config", toml, "--out", tmp_path / "s")
    assert res.exit_code == 0, res.output
    frame = pd.read_csv(tmp_path / "s" / "stage_technology.csv", index_col=0)
    assert list(frame.index)[:2] == ["proceeds", "recruitment"]
    assert list(frame.columns)[:2] == ["transport", "clearnet"]
    table = res.stdout.split("sentences naming both")[1].splitlines()
    assert table[1].split()[:3] == ["stage", "transport", "clearnet"]
    assert table[2].split() == ["proceeds", *["0"] * 8]


def test_without_a_config_the_records_scores_give_the_order():
    matrix = cooccurrence(COLLECTION, "documents")
    assert list(matrix.index) == STAGES and list(matrix.columns) == TECHS


def test_sentences_are_summed_from_same_sentence():
    matrix = cooccurrence(COLLECTION, "sentences")
    assert matrix.loc["recruitment", "clearnet"] == 3
    assert matrix.loc["recruitment", "camera_microphone"] == 1
    assert matrix.loc["control", "camera_microphone"] == 0  # never in one sentence
    assert matrix.to_numpy().sum() == 4


def test_documents_count_documents_carrying_both():
    matrix = cooccurrence(COLLECTION, "documents")
    assert matrix.loc["recruitment", "clearnet"] == 2
    assert matrix.loc["control", "camera_microphone"] == 1
    assert matrix.to_numpy().sum() == 5


def test_cli_table_and_files_name_what_they_count(tmp_path: Path):
    preds = write_jsonl(tmp_path / "p.jsonl", COLLECTION)
    res = invoke("summarize", preds, "--config", DEFAULT, "--out", tmp_path / "s")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("documents: 3 (1 with errors), 6 sentences")
    assert "stage x technology: sentences naming both (6 sentences of 3 documents):" \
        in res.stdout
    rows = {line.split()[0]: line.split()[1:] for line in res.stdout.splitlines()
            if line.split()[:1] and line.split()[0] in STAGES and len(line.split()) == 9}
    assert list(rows) == STAGES
    assert rows["recruitment"] == ["3", "0", "0", "1", "0", "0", "0", "0"]
    assert rows["control"] == ["0"] * 8
    md = (tmp_path / "s" / "stage_technology.md").read_text(encoding="utf-8")
    assert "## Stage x technology: sentences naming both" in md
    assert "| proceeds | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |" in md
    counts = pd.read_csv(tmp_path / "s" / "label_counts.csv")
    assert len(counts) == len(STAGES) + len(TECHS)
    assert counts.set_index("label").loc["transport", "documents"] == 0

    res = invoke("summarize", preds, "--config", DEFAULT, "--count", "documents",
                 "--out", tmp_path / "d")
    assert res.exit_code == 0, res.output
    assert "stage x technology: documents carrying both (3 documents):" in res.stdout
    md = (tmp_path / "d" / "stage_technology.md").read_text(encoding="utf-8")
    assert "## Stage x technology: documents carrying both" in md
    frame = pd.read_csv(tmp_path / "d" / "stage_technology.csv", index_col=0)
    assert frame.loc["control", "camera_microphone"] == 1


def test_bad_count_is_a_user_error(tmp_path: Path):
    preds = write_jsonl(tmp_path / "p.jsonl", COLLECTION)
    res = invoke("summarize", preds, "--count", "words")
    assert res.exit_code == 1 and "--count" in res.stderr and "documents" in res.stderr


def test_older_records_without_same_sentence_say_what_to_do(tmp_path: Path):
    old = [doc("a", ["control"], ["ai"]), doc("b", [], [])]
    preds = write_jsonl(tmp_path / "old.jsonl", old)
    res = invoke("summarize", preds, "--config", DEFAULT)
    assert res.exit_code == 1
    assert res.stderr.startswith(f"error: {preds}: 2 of 2 document records have no "
                                 "same_sentence")
    assert "--count documents" in res.stderr and "re-run trafficlens predict" in res.stderr
    assert "Traceback" not in res.output
    res = invoke("summarize", preds, "--config", DEFAULT, "--count", "documents")
    assert res.exit_code == 0, res.output


def test_sentence_level_records_count_sentences_not_documents(tmp_path: Path):
    records = [sentence("d1", 1, ["recruitment"], ["clearnet"]),
               sentence("d1", 2, ["recruitment"], ["clearnet", "ai"]),
               sentence("d1", 3, ["control"], []),
               sentence("d1", 4, [], ["telephone"]),
               sentence("d2", 1, ["recruitment"], ["clearnet"]),
               sentence("d3", None, [], [], error="cannot decode")]
    order = label_order(records, load_config(DEFAULT))
    by_sentence = cooccurrence(records, "sentences", order)
    assert by_sentence.loc["recruitment", "clearnet"] == 3
    assert by_sentence.loc["recruitment", "ai"] == 1
    assert by_sentence.loc["control", "telephone"] == 0
    # document labels follow the document rule, which sentence records do not carry
    with pytest.raises(PipelineError, match="document rule"):
        cooccurrence(records, "documents", order)
    summary = summarize(records, "sentences", order)
    assert (summary.documents, summary.errors, summary.sentences) == (3, 1, 5)
    assert list(summary.labels.columns) == ["set", "label", "sentences"]
    counts = summary.labels.set_index("label")["sentences"]
    assert counts["recruitment"] == 3 and counts["clearnet"] == 3 and counts["ai"] == 1
    preds = write_jsonl(tmp_path / "s.jsonl", records)
    res = invoke("summarize", preds, "--config", DEFAULT)
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("documents: 3 (1 with errors), 5 sentences")
    assert "d1: sentence-level records" in res.stdout and "sentences per label:" in res.stdout
    res = invoke("summarize", preds, "--config", DEFAULT, "--count", "documents")
    assert res.exit_code == 1 and "document rule" in res.output


def test_a_file_mixing_documents_and_sentences_is_refused(tmp_path: Path):
    preds = write_jsonl(tmp_path / "m.jsonl", [COLLECTION[0], sentence("d", 1, [], [])])
    with pytest.raises(PipelineError, match=r"m\.jsonl:2: mixes document and sentence"):
        read_predictions(preds)


@pytest.mark.parametrize("table", ['{"recruitment": {"clearnet": -1}}',
                                   '{"recruitment": {"clearnet": "2"}}', '[1]'])
def test_bad_same_sentence_table_names_its_line(tmp_path: Path, table: str):
    preds = tmp_path / "bad.jsonl"
    preds.write_text(json.dumps(COLLECTION[1]) + "\n"
                     + '{"id": "x", "labels": {"stage": []}, "same_sentence": ' + table
                     + ', "error": null}\n', encoding="utf-8")
    with pytest.raises(PipelineError, match=r"bad\.jsonl:2: same_sentence"):
        read_predictions(preds)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("records", [[], [doc("c", [], [], n=0, error="cannot decode")]],
                         ids=["no records", "all unreadable"])
def test_nothing_to_count_is_a_clear_message(tmp_path: Path, records: list[dict]):
    preds = write_jsonl(tmp_path / "p.jsonl", records)
    res = invoke("summarize", preds, "--config", DEFAULT, "--out", tmp_path / "s")
    assert res.exit_code == 0, res.output
    md = (tmp_path / "s" / "stage_technology.md").read_text(encoding="utf-8")
    for text in (res.stdout, md):
        assert "Nothing to count" in text
        assert "Empty DataFrame" not in text and "Index: []" not in text
    assert "Traceback" not in res.output and "Warning" not in res.output
    frame = pd.read_csv(tmp_path / "s" / "stage_technology.csv", index_col=0)
    assert list(frame.index) == STAGES and not frame.to_numpy().any()


def test_no_pair_in_one_sentence_is_said_under_the_zero_table(tmp_path: Path):
    preds = write_jsonl(tmp_path / "p.jsonl",
                        [doc("a", ["control"], ["ai"], {}), doc("b", [], [], {})])
    res = invoke("summarize", preds, "--config", DEFAULT, "--out", tmp_path / "s")
    assert res.exit_code == 0, res.output
    md = (tmp_path / "s" / "stage_technology.md").read_text(encoding="utf-8")
    for text in (res.stdout, md):
        assert "No sentence names both a stage and a technology." in text
        assert "proceeds" in text
    res = invoke("summarize", preds, "--config", DEFAULT, "--count", "documents")
    assert "No document carries" not in res.stdout  # control + ai share document a


class _Imshow:
    """Records the keyword arguments of Axes.imshow, then draws as usual."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import matplotlib.axes

        self.calls: list[dict] = []
        original = matplotlib.axes.Axes.imshow

        def imshow(ax, values, **kwargs):
            self.calls.append(kwargs)
            return original(ax, values, **kwargs)

        monkeypatch.setattr(matplotlib.axes.Axes, "imshow", imshow)


@pytest.mark.parametrize(("values", "vmax"), [([[2, 5], [0, 1]], 5), ([[0, 0], [0, 0]], 1)])
def test_heatmap_colour_scale_starts_at_zero(tmp_path: Path, monkeypatch, values, vmax):
    from pipeline.evaluation.plots import heatmap

    seen = _Imshow(monkeypatch)
    table = pd.DataFrame(np.array(values), index=["r1", "r2"], columns=["c1", "c2"])
    path = heatmap(table, "t", tmp_path / "h.png")
    assert path.stat().st_size > 0
    assert seen.calls == [{"cmap": "Blues", "vmin": 0, "vmax": vmax}]


def test_summary_heatmap_is_drawn_from_zero(tmp_path: Path, monkeypatch):
    seen = _Imshow(monkeypatch)
    records = [doc("a", ["recruitment"], ["clearnet"], {("recruitment", "clearnet"): 4})]
    res = invoke("summarize", write_jsonl(tmp_path / "p.jsonl", records), "--config",
                 DEFAULT, "--out", tmp_path / "s")
    assert res.exit_code == 0, res.output
    assert [(c["vmin"], c["vmax"]) for c in seen.calls] == [(0, 4)]


SAME = {"recruitment": {"clearnet": 2, "camera_microphone": 1, "iot_5g": 0},
        "cross_border": {"clearnet": 0, "camera_microphone": 3, "iot_5g": 4}}


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_same_sentence_round_trips_through_flat_outputs(tmp_path: Path, suffix: str):
    """Label names hold underscores: columns are split at known stage labels."""
    record = {"id": "a", "source": "a.txt", "n_sentences": 5,
              "labels": {"stage": ["recruitment"], "technology": ["iot_5g"]},
              "scores": {"stage": {"recruitment": 0.9, "cross_border": 0.1},
                         "technology": {"clearnet": 0.2, "camera_microphone": 0.3,
                                        "iot_5g": 0.8}},
              "same_sentence": SAME, "evidence": {}, "error": None}
    out = tmp_path / f"p{suffix}"
    if suffix == ".csv":
        write_records([record], out)
        columns = list(pd.read_csv(out).columns)
    else:
        with ResumableOutput(out) as output:  # how predict writes Parquet
            output.write([record])
        columns = list(pd.read_parquet(out).columns)
    assert "same_sentence_cross_border_camera_microphone" in columns
    assert "same_sentence_recruitment_iot_5g" in columns
    (back,) = read_output(out)
    assert back["same_sentence"] == SAME
    assert list(back["same_sentence"]["cross_border"]) == list(SAME["cross_border"])
    assert back["labels"] == record["labels"]  # no same_sentence column read as a label set


def test_summarize_reads_same_sentence_back_from_csv(tmp_path: Path):
    jsonl = write_jsonl(tmp_path / "p.jsonl", COLLECTION[:2])
    out = tmp_path / "p.csv"
    write_records(COLLECTION[:2], out)
    res_csv = invoke("summarize", out, "--config", DEFAULT)
    assert res_csv.exit_code == 0, res_csv.output
    assert res_csv.stdout == invoke("summarize", jsonl, "--config", DEFAULT).stdout
