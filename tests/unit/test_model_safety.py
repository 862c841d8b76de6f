"""Model files from elsewhere: untrusted types, version mismatches, interrupted saves."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from typer.testing import CliRunner

import pipeline.model.persistence as model_module
from pipeline.cli import app
from pipeline.errors import PipelineError
from pipeline.model.persistence import CARD_FILE, MODEL_FILE, load_model, save_model
from pipeline.model.scorer import SCORER_FILE

runner = CliRunner()
CALLED: list[str] = []


def _marker(*args, **kwargs):  # pragma: no cover - must never run
    CALLED.append("ran")


def _rewrite_card_hash(model_dir: Path) -> None:
    card = json.loads((model_dir / CARD_FILE).read_text())
    for name in (MODEL_FILE, SCORER_FILE):
        card["files"][name] = hashlib.sha256((model_dir / name).read_bytes()).hexdigest()
    (model_dir / CARD_FILE).write_text(json.dumps(card))


def _inject(model_dir: Path, payload: object) -> None:
    """Add an object to the saved estimator, re-dump, and fix the card's sha256 as an
    attacker who controls both files would."""
    stored = sio.load(model_dir / MODEL_FILE, trusted=model_module.TRUSTED_TYPES)
    stored["estimator"].pipeline_.named_steps["features"].hook_ = payload
    sio.dump(stored, model_dir / MODEL_FILE)
    _rewrite_card_hash(model_dir)


def test_injected_function_is_refused_without_running(model_copy):
    _inject(model_copy, os.system)
    with pytest.raises(PipelineError) as err:
        load_model(model_copy)
    assert "refused" in str(err.value) and "system" in str(err.value)


def test_injected_custom_object_never_runs_in_predict_and_is_refused_by_info(model_copy,
                                                                            tmp_path):
    """predict computes with scorer.npz only: the tampered model.skops is never
    deserialised there; commands that load the estimator refuse it."""
    _inject(model_copy, [_marker])
    doc = tmp_path / "doc.txt"
    doc.write_text("Recruiters posted fake jobs abroad.")
    result = runner.invoke(app, ["predict", str(doc), "--model", str(model_copy)])
    assert result.exit_code == 0 and CALLED == []
    result = runner.invoke(app, ["info", "--model", str(model_copy)])
    assert result.exit_code == 1
    assert "refused" in result.output and "_marker" in result.output
    assert "Traceback" not in result.output
    assert CALLED == []


def test_untampered_model_still_loads(model_copy):
    model = load_model(model_copy)
    assert model.estimator.predict_proba(["Bitcoin wallets hid the profits."]).shape == (1, 13)


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


# --- hand-edited cards and foreign estimators (issue 13, items 11 and 14) ---------------


def _edit_card(model_dir: Path, edit) -> None:
    card = json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8"))
    edit(card)
    (model_dir / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")


def _swap_two_labels(card):
    labels = card["config"]["label_sets"]["stage"]["labels"]
    labels[0], labels[1] = labels[1], labels[0]


def _remove_a_label(card):
    card["config"]["label_sets"]["stage"]["labels"].remove("control")
    del card["thresholds"]["stage"]["control"]
    del card["cues"]["stage:control"]


def _add_a_label(card):
    card["config"]["label_sets"]["stage"]["labels"].append("extra")
    card["thresholds"]["stage"]["extra"] = 0.5
    cues = list(card["cues"].items())
    cues.insert(5, ("stage:extra", []))  # after the last stage label, as training orders them
    card["cues"] = dict(cues)


def _threshold_5(card):
    card["thresholds"]["stage"]["control"] = 5


def _cues_as_a_string(card):
    card["cues"]["stage:control"] = "debt bondage"


def _cue_list_of_numbers(card):
    card["cues"]["stage:control"] = [123]


EDITS = [_swap_two_labels, _remove_a_label, _add_a_label, _threshold_5, _cues_as_a_string,
         _cue_list_of_numbers]


@pytest.mark.parametrize("edit", EDITS, ids=lambda f: f.__name__.strip("_"))
def test_hand_edited_card_is_refused(model_copy, edit):
    _edit_card(model_copy, edit)
    with pytest.raises(PipelineError, match=r"differ from those sealed in scorer\.npz"):
        load_model(model_copy)


@pytest.mark.parametrize("edit", EDITS, ids=lambda f: f.__name__.strip("_"))
def test_hand_edited_card_is_one_line_error_in_predict(model_copy, tmp_path, edit):
    _edit_card(model_copy, edit)
    doc = tmp_path / "doc.txt"
    doc.write_text("Recruiters posted fake jobs abroad.")
    result = runner.invoke(app, ["predict", str(doc), "--model", str(model_copy)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr.startswith("error: ") and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def _unseal(model_dir: Path) -> None:
    """Rewrite the model as trafficlens saved it before the seal: the bare estimator."""
    stored = sio.load(model_dir / MODEL_FILE, trusted=model_module.TRUSTED_TYPES)
    sio.dump(stored["estimator"], model_dir / MODEL_FILE)
    _rewrite_card_hash(model_dir)


def test_model_saved_by_an_older_trafficlens_is_refused_saying_retrain(model_copy):
    _unseal(model_copy)
    with pytest.raises(PipelineError, match=r"older trafficlens.*retrain"):
        load_model(model_copy)


def _reseal(model_dir: Path, edit) -> None:
    """Edit the card and the copies sealed in model.skops and scorer.npz alike, as an
    attacker who controls every file would, so only the model itself disagrees."""
    stored = sio.load(model_dir / MODEL_FILE, trusted=model_module.TRUSTED_TYPES)
    sealed = json.loads(stored["sealed"])
    edit(sealed)
    stored["sealed"] = json.dumps(sealed)
    sio.dump(stored, model_dir / MODEL_FILE)
    with np.load(model_dir / SCORER_FILE) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["sealed"] = np.array(json.dumps(sealed))
    np.savez(model_dir / SCORER_FILE, **arrays)
    card = json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8"))
    card.update(sealed)
    (model_dir / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    _rewrite_card_hash(model_dir)


def _all_thresholds_half(card):
    for per in card["thresholds"].values():
        for lab in per:
            per[lab] = 0.5


@pytest.mark.parametrize(("edit", "fragment"), [
    (_add_a_label, "label columns"),
    (_remove_a_label, "label columns"),
    (_swap_two_labels, "expected one list per label column, in order"),
    (_all_thresholds_half, "thresholds or cue terms differ"),
    (_threshold_5, "thresholds: each must be a number from 0 to 1"),
    (_cues_as_a_string, "cues.stage:control: expected a list of strings"),
])
def test_resealed_card_is_still_checked_against_the_estimator(model_copy, edit, fragment):
    _reseal(model_copy, edit)
    with pytest.raises(PipelineError, match=re.escape(fragment)):
        load_model(model_copy)


@pytest.mark.parametrize("sealed", [True, False], ids=["sealed", "bare"])
def test_valid_skops_file_holding_another_estimator_is_refused(model_copy, sealed):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    other = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    if sealed:
        stored = sio.load(model_copy / MODEL_FILE, trusted=model_module.TRUSTED_TYPES)
        stored["estimator"] = other
        sio.dump(stored, model_copy / MODEL_FILE)
    else:
        sio.dump(other, model_copy / MODEL_FILE)
    _rewrite_card_hash(model_copy)
    with pytest.raises(PipelineError, match="not a trafficlens model" if sealed
                       else "older trafficlens"):
        load_model(model_copy)
