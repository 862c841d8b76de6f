"""Collection-scale predict: engines agree, interrupted runs resume, formats round-trip."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.batch.predict import PredictOptions
from pipeline.batch.run import run_predict
from pipeline.cli import app

runner = CliRunner()
SENTENCES = [
    "Recruiters posted fake jobs abroad on social media.",
    "Her passport was taken and she was told she owed money.",
    "The videos were sold on an onion forum for bitcoin.",
    "Shelters offer counselling and legal aid to survivors.",
    "A drone dropped phones into the labour camp.",
]


@pytest.fixture
def collection(tmp_path: Path) -> Path:
    """30 small text documents plus one empty file (an error record)."""
    root = tmp_path / "docs"
    root.mkdir()
    for i in range(30):
        text = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(1 + i % 4))
        (root / f"doc{i:02d}.txt").write_text(text, encoding="utf-8")
    (root / "empty.txt").write_bytes(b"")
    return root


def _records(path: Path) -> list[dict]:
    # \n only: the records may hold U+2028 raw, as json.dumps(ensure_ascii=False) writes it
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n")
            if line.strip()]


def _predict(model_dir: Path, inputs: Path, out: Path, *extra: str):
    result = runner.invoke(app, ["predict", str(inputs), "--model", str(model_dir),
                                 "--out", str(out), "--quiet", *extra])
    assert result.exit_code == 0, result.output
    return _records(out) if out.suffix == ".jsonl" else out


def test_process_pool_gives_the_same_records(model_dir, collection, tmp_path):
    local = _predict(model_dir, collection, tmp_path / "local.jsonl")
    pooled = _predict(model_dir, collection, tmp_path / "pool.jsonl", "--n-jobs", "2")
    assert len(local) == 31
    assert pooled == local


def test_dask_local_cluster_gives_the_same_records(model_dir, collection, tmp_path):
    local = _predict(model_dir, collection, tmp_path / "local.jsonl")
    dask = _predict(model_dir, collection, tmp_path / "dask.jsonl",
                    "--engine", "dask", "--n-jobs", "2")
    assert dask == local


def test_resume_completes_an_interrupted_run(model, model_dir, collection, tmp_path):
    out = tmp_path / "preds.jsonl"
    seen = []

    def interrupt_after_12(docs):
        for doc in docs:
            if len(seen) == 12:
                raise KeyboardInterrupt
            seen.append(doc.id)
            yield doc

    with pytest.raises(KeyboardInterrupt):
        run_predict([str(collection)], model, model_dir, PredictOptions(batch_docs=4), out=out,
                    wrap=interrupt_after_12)
    partial = out.with_name(out.name + ".partial")
    assert not out.exists() and partial.exists()
    written = _records(partial)
    assert 0 < len(written) <= 12
    with open(partial, "a", encoding="utf-8") as fh:  # a record cut off mid-write
        fh.write('{"id": "' + str(collection / "doc29.txt") + '", "sour')
    stats = run_predict([str(collection)], model, model_dir, out=out, resume=True)
    records = _records(out)
    ids = [r["id"] for r in records]
    assert len(ids) == len(set(ids)) == 31
    assert set(ids) == {str(p) for p in collection.iterdir()}
    assert stats.skipped == len(written)
    assert not partial.exists()


def test_resume_after_a_complete_run_adds_only_new_documents(model_dir, collection, tmp_path):
    out = tmp_path / "preds.csv"
    _predict(model_dir, collection, out)
    (collection / "new.txt").write_text("Money mules moved the profits abroad.")
    result = runner.invoke(app, ["predict", str(collection), "--model", str(model_dir),
                                 "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    assert "already done (skipped): 31" in result.output
    frame = pd.read_csv(out)
    assert len(frame) == 32 and frame["id"].is_unique


def test_parquet_output_has_one_row_per_document(model_dir, collection, tmp_path):
    out = _predict(model_dir, collection, tmp_path / "preds.parquet")
    frame = pd.read_parquet(out)
    assert len(frame) == 31
    assert {"id", "stage", "technology", "score_stage_recruitment", "error"} <= set(frame.columns)
    assert frame.loc[frame["id"].str.endswith("empty.txt"), "error"].item() == "empty file"


def test_resume_needs_an_output_file(model_dir, collection):
    result = runner.invoke(app, ["predict", str(collection), "--model", str(model_dir),
                                 "--resume"])
    assert result.exit_code == 1 and "--resume needs --out" in result.output


# --- resume by input position, unique ids (issue 13, item 5) ---------------------------


def _interrupted(model, model_dir, inputs, out, after: int, **options) -> None:
    """Run predict and stop it (KeyboardInterrupt) once ``after`` documents were read."""
    seen = []

    def interrupt(docs):
        for doc in docs:
            if len(seen) == after:
                raise KeyboardInterrupt
            seen.append(doc.id)
            yield doc

    with pytest.raises(KeyboardInterrupt):
        run_predict([str(i) for i in inputs], model, model_dir,
                    PredictOptions(batch_docs=2, **options), out=out, wrap=interrupt)


@pytest.mark.filterwarnings("ignore:.*duplicate id:UserWarning")
def test_duplicate_ids_are_made_unique_and_resume_keeps_every_row(model, model_dir, tmp_path):
    table = tmp_path / "rows.csv"
    table.write_text("id,text\n" + "".join(f"r{i // 2},{SENTENCES[i % 5]}\n" for i in range(9)),
                     encoding="utf-8")
    out = tmp_path / "preds.jsonl"
    with pytest.warns(UserWarning, match="duplicate id 'r0', written as 'r0#2'"):
        _interrupted(model, model_dir, [table], out, after=5)
    with pytest.warns(UserWarning, match="duplicate id"):
        run_predict([str(table)], model, model_dir, out=out, resume=True)
    records = _records(out)
    assert [r["id"] for r in records] == ["r0", "r0#2", "r1", "r1#2", "r2", "r2#2", "r3",
                                          "r3#2", "r4"]
    assert [r["source"] for r in records] == [f"{table}:{n}" for n in range(2, 11)]


def test_resume_with_undecodable_file_names_adds_nothing_twice(model_dir, tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    for i, raw in enumerate([b"caf\xe9.txt", b"na\xefve.txt", b"plain.txt"]):
        path = os.fsencode(root) + b"/" + raw
        with open(path, "wb") as fh:
            fh.write(SENTENCES[i].encode())
    out = tmp_path / "preds.jsonl"
    first = _predict(model_dir, root, out)
    result = runner.invoke(app, ["predict", str(root), "--model", str(model_dir),
                                 "--out", str(out), "--resume"])
    assert result.exit_code == 0, result.output
    assert "already done (skipped): 3" in result.output
    assert _records(out) == first


def test_resume_at_sentence_level_redoes_a_document_cut_short(model, model_dir, collection,
                                                             tmp_path):
    full = tmp_path / "full.jsonl"
    run_predict([str(collection)], model, model_dir, PredictOptions(level="sentence"), out=full)
    out = tmp_path / "preds.jsonl"
    _interrupted(model, model_dir, [collection], out, after=6, level="sentence")
    partial = out.with_name(out.name + ".partial")
    lines = partial.read_text(encoding="utf-8").splitlines(keepends=True)
    last_doc = json.loads(lines[-1])["doc_id"]
    assert sum(json.loads(x)["doc_id"] == last_doc for x in lines) > 1
    partial.write_text("".join(lines[:-1]), encoding="utf-8")  # killed inside a document
    run_predict([str(collection)], model, model_dir, PredictOptions(level="sentence"), out=out,
                resume=True)
    assert _records(out) == _records(full)


def test_resume_reads_back_records_holding_unicode_line_separators(model_dir, tmp_path):
    table = tmp_path / "in.jsonl"
    table.write_text("".join(json.dumps({"id": f"a\u2028{i}", "text": s}, ensure_ascii=False)
                             + "\n" for i, s in enumerate(SENTENCES)), encoding="utf-8")
    out = tmp_path / "preds.jsonl"
    first = _predict(model_dir, table, out)
    result = runner.invoke(app, ["predict", str(table), "--model", str(model_dir),
                                 "--out", str(out), "--resume", "-q"])
    assert result.exit_code == 0, result.output
    assert _records(out) == first and len(first) == len(SENTENCES)


# --- one run per output (issue 13, item 6) ----------------------------------------------


def test_second_run_on_the_same_output_is_refused_at_once(model_dir, collection, tmp_path):
    import fcntl

    out = tmp_path / "preds.jsonl"
    partial = out.with_name(out.name + ".partial")
    partial.write_text('{"id": "x", "source": "x"}\n', encoding="utf-8")
    with open(partial, "a", encoding="utf-8") as running:  # what a running predict holds
        fcntl.flock(running.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = runner.invoke(app, ["predict", str(collection), "--model", str(model_dir),
                                     "--out", str(out), "-q"])
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"error: {partial}: another trafficlens predict is "
                                     "writing this output; wait for it to finish or choose "
                                     "another --out")
    assert partial.read_text(encoding="utf-8") == '{"id": "x", "source": "x"}\n'
    assert not out.exists()
    # once the first run is gone, the output can be written
    assert len(_predict(model_dir, collection, out)) == 31
    assert not partial.exists()


# --- outputs and inputs kept apart (issue 13, item 7) ----------------------------------


def test_out_that_is_an_input_is_refused_and_left_alone(model_dir, tmp_path):
    table = tmp_path / "rows.jsonl"
    content = json.dumps({"id": "a", "text": SENTENCES[0]}) + "\n"
    table.write_text(content, encoding="utf-8")
    result = runner.invoke(app, ["predict", str(table), "--model", str(model_dir),
                                 "--out", str(table)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: --out {table}: is also an input")
    assert table.read_text(encoding="utf-8") == content
    assert not table.with_name(table.name + ".partial").exists()


@pytest.mark.filterwarnings("ignore:.*skipped, it is this run's output:UserWarning")
def test_out_inside_an_input_folder_is_not_read_back(model_dir, collection):
    out = collection / "preds.jsonl"
    first = _predict(model_dir, collection, out)
    assert len(first) == 31
    with pytest.warns(UserWarning, match="preds.jsonl: skipped, it is this run's output"):
        again = runner.invoke(app, ["predict", str(collection), "--model", str(model_dir),
                                    "--out", str(out), "-q"])
    assert again.exit_code == 0, again.output
    assert _records(out) == first
    with pytest.warns(UserWarning, match="skipped, it is this run's output"):
        resumed = runner.invoke(app, ["predict", str(collection), "--model", str(model_dir),
                                      "--out", str(out), "--resume"])
    assert resumed.exit_code == 0 and "already done (skipped): 31" in resumed.output
    assert _records(out) == first


def test_dask_scheduler_that_is_not_an_address_is_a_one_line_error(model_dir, collection,
                                                                   tmp_path):
    out = tmp_path / "preds.jsonl"
    result = runner.invoke(app, ["predict", str(collection), "--model", str(model_dir),
                                 "--out", str(out), "--engine", "dask",
                                 "--scheduler", "not a url"])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --scheduler not a url: cannot connect")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists() and not out.with_name(out.name + ".partial").exists()


def test_resumed_csv_output_keeps_formula_prefixes_single(model_dir, tmp_path):
    table = tmp_path / "rows.jsonl"
    table.write_text(json.dumps({"id": "=1+1", "text": SENTENCES[0]}) + "\n", encoding="utf-8")
    out = tmp_path / "preds.csv"
    _predict(model_dir, table, out)
    table.write_text(table.read_text(encoding="utf-8")
                     + json.dumps({"id": "@two", "text": SENTENCES[1]}) + "\n", encoding="utf-8")
    _predict(model_dir, table, out, "--resume")
    frame = pd.read_csv(out, keep_default_na=False)
    assert list(frame["id"]) == ["'=1+1", "'@two"]


def test_resumed_csv_output_keeps_earlier_rows_unchanged(model_dir, collection, tmp_path):
    out = tmp_path / "preds.csv"
    _predict(model_dir, collection, out)
    before = pd.read_csv(out, keep_default_na=False, dtype=str)
    (collection / "zz_new.txt").write_text(SENTENCES[2], encoding="utf-8")
    _predict(model_dir, collection, out, "--resume")
    after = pd.read_csv(out, keep_default_na=False, dtype=str)
    assert len(after) == len(before) + 1
    pd.testing.assert_frame_equal(after.iloc[:len(before)], before)  # evidence not re-encoded
