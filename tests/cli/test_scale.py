"""Collection-scale predict: engines agree, interrupted runs resume, formats round-trip."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.run import run_predict

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
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


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
        run_predict([str(collection)], model, model_dir, out=out, batch_docs=4,
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
