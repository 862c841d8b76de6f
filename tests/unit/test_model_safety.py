"""Model files from elsewhere: untrusted types, version mismatches, interrupted saves."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import skops.io as sio
from typer.testing import CliRunner

import pipeline.model as model_module
from pipeline.cli import app
from pipeline.errors import PipelineError
from pipeline.model import CARD_FILE, MODEL_FILE, load_model, save_model

runner = CliRunner()
CALLED: list[str] = []


def _marker(*args, **kwargs):  # pragma: no cover - must never run
    CALLED.append("ran")


def _rewrite_card_hash(model_dir: Path) -> None:
    card = json.loads((model_dir / CARD_FILE).read_text())
    card["files"][MODEL_FILE] = hashlib.sha256((model_dir / MODEL_FILE).read_bytes()).hexdigest()
    (model_dir / CARD_FILE).write_text(json.dumps(card))


def _inject(model_dir: Path, payload: object) -> None:
    """Add an object to the saved estimator, re-dump, and fix the card's sha256 as an
    attacker who controls both files would."""
    estimator = sio.load(model_dir / MODEL_FILE, trusted=model_module.TRUSTED_TYPES)
    estimator.named_steps["features"].hook_ = payload
    sio.dump(estimator, model_dir / MODEL_FILE)
    _rewrite_card_hash(model_dir)


def test_injected_function_is_refused_without_running(model_copy):
    _inject(model_copy, os.system)
    with pytest.raises(PipelineError) as err:
        load_model(model_copy)
    assert "refused" in str(err.value) and "system" in str(err.value)


def test_injected_custom_object_is_refused_by_predict(model_copy, tmp_path):
    _inject(model_copy, [_marker])
    doc = tmp_path / "doc.txt"
    doc.write_text("Recruiters posted fake jobs abroad.")
    result = runner.invoke(app, ["predict", str(doc), "--model", str(model_copy)])
    assert result.exit_code == 1
    assert "refused" in result.output and "_marker" in result.output
    assert "Traceback" not in result.output
    assert CALLED == []


def test_untampered_model_still_loads(model_copy):
    model = load_model(model_copy)
    assert model.score_texts(["Bitcoin wallets hid the profits."]).shape == (1, 13)


def _set_version(model_dir: Path, library: str, version: str) -> None:
    card = json.loads((model_dir / CARD_FILE).read_text())
    card["versions"][library] = version
    (model_dir / CARD_FILE).write_text(json.dumps(card))


def test_other_sklearn_minor_version_is_an_error_saying_retrain(model_copy):
    _set_version(model_copy, "scikit-learn", "0.1.0")
    with pytest.raises(PipelineError, match=r"scikit-learn 0\.1\.0.*retrain"):
        load_model(model_copy)


def test_other_spacy_minor_version_warns(model_copy):
    _set_version(model_copy, "spacy", "2.0.0")
    with pytest.warns(UserWarning, match=r"spaCy 2\.0\.0.*retrain"):
        load_model(model_copy)


def test_label_sets_must_match_the_expected_config(model_copy, config):
    from dataclasses import replace

    other = replace(config, label_sets=config.label_sets[:1])
    with pytest.raises(PipelineError, match="retrain"):
        load_model(model_copy, expect=other)


def test_interrupted_replacement_keeps_the_old_model(model_copy, fitted_model, monkeypatch):
    before = (model_copy / MODEL_FILE).read_bytes()
    real_replace = os.replace
    calls = []

    def replace_then_die(src, dst):
        calls.append((src, dst))
        real_replace(src, dst)
        if len(calls) == 1:  # old model set aside; die before the new one moves in
            raise KeyboardInterrupt

    monkeypatch.setattr(model_module.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        save_model(fitted_model, model_copy, force=True)
    monkeypatch.undo()
    assert not model_copy.exists()  # the window the recovery exists for
    loaded = load_model(model_copy)  # recovers the set-aside model
    assert (model_copy / MODEL_FILE).read_bytes() == before
    assert loaded.thresholds.shape == (13,)
    assert not [p for p in model_copy.parent.iterdir() if p.name.startswith(".model_copy")]


def test_save_refuses_existing_directory_without_force(model_copy, fitted_model):
    with pytest.raises(PipelineError, match="--force"):
        save_model(fitted_model, model_copy)
    shutil.rmtree(model_copy)
    save_model(fitted_model, model_copy)
    assert (model_copy / CARD_FILE).is_file()
