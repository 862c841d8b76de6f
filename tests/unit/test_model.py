"""pipeline.model.persistence: the model directory, saved with skops and loaded with checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Config, config_from_dict
from pipeline.errors import PipelineError
from pipeline.model.persistence import (
    CARD_FILE,
    MODEL_FILE,
    TraffickingModel,
    _config_for_load,
    load_model,
    save_model,
    sha256_file,
)
from pipeline.model.scorer import SCORER_FILE

TEXTS = ["Her passport was taken on arrival and she was told she owed money.",
         "Profits were laundered through crypto wallets.\n\nThe ads ran on escort sites.",
         "The weather was fine.", ""]


def test_round_trip_gives_identical_scores(fitted_model: TraffickingModel,
                                           model: TraffickingModel):
    before = fitted_model.estimator.predict_proba(TEXTS)
    after = model.estimator.predict_proba(TEXTS)
    assert before.shape == (len(TEXTS), 13)
    assert np.array_equal(before, after)
    assert np.array_equal(fitted_model.thresholds, model.thresholds)
    assert model.cues == fitted_model.cues
    assert model.config.to_dict() == fitted_model.config.to_dict()
    assert model.columns == fitted_model.columns
    assert np.array_equal(model.estimator.predict(TEXTS), fitted_model.estimator.predict(TEXTS))
    assert np.array_equal(model.estimator.rule_.evidence_, fitted_model.estimator.rule_.evidence_)


def test_scores_are_probabilities(model: TraffickingModel):
    scores = model.estimator.predict_proba(TEXTS)
    assert ((scores >= 0) & (scores <= 1)).all()
    assert not scores[-1].any()  # the empty text has no sentence: all zeros


def test_score_is_max_over_sentences(model: TraffickingModel):
    text = TEXTS[1]
    sentences = list(model.preprocessor.stream([text]))
    scored = model.score_sentences([text], sentences)
    assert len(scored.scores) == len(sentences[0]) == 2 and scored.owners.tolist() == [0, 0]
    np.testing.assert_allclose(model.estimator.predict_proba([text])[0],
                               scored.scores.max(axis=0), atol=1e-12)


def test_sentence_labels_use_per_label_thresholds(model: TraffickingModel):
    scores = np.vstack([model.thresholds, model.thresholds - 1e-6])
    assert model.estimator.rule_.sentence_labels(scores).tolist() == [[1] * 13, [0] * 13]


def test_a_one_sentence_document_is_labelled_as_its_sentence(model: TraffickingModel):
    rule = model.estimator.rule_
    scores = np.vstack([model.thresholds, model.thresholds - 1e-6])
    labels, _, needed = rule.document_labels(scores, np.array([0, 1]), 2)
    assert labels.tolist() == [[1] * 13, [0] * 13]
    assert needed.tolist() == [[1] * 13, [1] * 13]


def test_card_contents(model_dir: Path, model: TraffickingModel, config: Config, passages):
    card = json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8"))
    assert card["files"][MODEL_FILE] == sha256_file(model_dir / MODEL_FILE)
    assert card["label_sets"] == {s.name: list(s.labels) for s in config.label_sets}
    assert card["training_data"]["n_passages"] == len(passages)
    for (s, lab), t in zip(model.columns, model.thresholds, strict=True):
        assert card["thresholds"][s][lab] == pytest.approx(t)
        assert 0.05 <= t <= 0.95
    assert card["cv_metrics"]["folds"] == 3
    assert set(card["versions"]) >= {"trafficlens", "spacy", "scikit-learn", "skops"}


def test_config_survives_the_card(config: Config):
    again = config_from_dict(_config_for_load(json.loads(json.dumps(config.to_dict()))))
    assert again.to_dict() == config.to_dict()


def test_save_refuses_existing_dir(fitted_model: TraffickingModel, model_copy: Path):
    before = (model_copy / CARD_FILE).read_bytes()
    with pytest.raises(PipelineError, match="already exists") as err:
        save_model(fitted_model, model_copy)
    assert "--force" in str(err.value) and str(model_copy) in str(err.value)
    assert (model_copy / CARD_FILE).read_bytes() == before  # untouched


def test_save_with_force_replaces(fitted_model: TraffickingModel, model_copy: Path):
    out = model_copy
    card = json.loads((out / CARD_FILE).read_text(encoding="utf-8"))
    card["created"] = "stale"
    (out / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    save_model(fitted_model, out, force=True)
    assert sorted(p.name for p in out.iterdir()) == [CARD_FILE, MODEL_FILE, SCORER_FILE]
    assert json.loads((out / CARD_FILE).read_text(encoding="utf-8"))["created"] != "stale"
    # no temp or .old dirs left
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name]
    assert np.array_equal(load_model(out).estimator.predict_proba(TEXTS[:1]),
                          fitted_model.estimator.predict_proba(TEXTS[:1]))


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def set_card_sha(model_dir: Path) -> None:
    card = json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8"))
    card["files"][MODEL_FILE] = sha256_file(model_dir / MODEL_FILE)
    (model_dir / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")


def test_tampered_model_file(model_copy: Path):
    flip_byte(model_copy / MODEL_FILE)
    with pytest.raises(PipelineError, match="does not match the sha256") as err:
        load_model(model_copy)
    assert str(model_copy / MODEL_FILE) in str(err.value)


def test_truncated_model_file(model_copy: Path):
    path = model_copy / MODEL_FILE
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(PipelineError, match="changed or truncated"):
        load_model(model_copy)


def test_damaged_model_file_with_matching_sha(model_copy: Path):
    path = model_copy / MODEL_FILE
    path.write_bytes(path.read_bytes()[:1000])
    set_card_sha(model_copy)  # the checksum no longer protects: skops must fail cleanly
    with pytest.raises(PipelineError, match="cannot load model"):
        load_model(model_copy)


def test_untrusted_type_is_refused(model_copy: Path):
    import skops.io as sio

    from pipeline.model.thresholds import LabelThresholds

    foreign = LabelThresholds().fit(np.array([[0.2], [0.8]]), np.array([[0], [1]]))
    sio.dump(foreign, model_copy / MODEL_FILE)
    set_card_sha(model_copy)
    with pytest.raises(PipelineError) as err:
        load_model(model_copy)
    # refused by our own allow-list check, before skops is asked to build anything
    assert str(err.value).startswith(f"{model_copy / MODEL_FILE}: refused:")
    assert "pipeline.model.thresholds.LabelThresholds" in str(err.value)


@pytest.mark.parametrize("content", ["{not json", "[]", '{"config": {}}', ""])
def test_corrupt_card(model_copy: Path, content: str):
    (model_copy / CARD_FILE).write_text(content, encoding="utf-8")
    with pytest.raises(PipelineError) as err:
        load_model(model_copy)
    assert str(model_copy / CARD_FILE) in str(err.value)
    assert "corrupt model card" in str(err.value) or "labels" in str(err.value)


def test_card_missing_a_threshold(model_copy: Path):
    card = json.loads((model_copy / CARD_FILE).read_text(encoding="utf-8"))
    del card["thresholds"]["technology"]["ai"]
    (model_copy / CARD_FILE).write_text(json.dumps(card), encoding="utf-8")
    with pytest.raises(PipelineError, match="thresholds differ from those sealed in"):
        load_model(model_copy)


def test_missing_files_and_dir(model_copy: Path, tmp_path: Path):
    with pytest.raises(PipelineError, match="no model directory"):
        load_model(tmp_path / "nowhere")
    (model_copy / MODEL_FILE).unlink()
    with pytest.raises(PipelineError, match="model file missing"):
        load_model(model_copy)
    (model_copy / CARD_FILE).unlink()
    with pytest.raises(PipelineError, match="model card missing"):
        load_model(model_copy)


def test_expect_checks_label_sets(model_dir: Path, config: Config):
    assert load_model(model_dir, expect=config).columns == config.all_labels
    other = config_from_dict({"labels": {"stage": {"labels": ["recruitment", "control"]}}})
    with pytest.raises(PipelineError, match="differ from the config"):
        load_model(model_dir, expect=other)


@pytest.mark.parametrize("kind", ["file", "folder with other files", "symlink"])
def test_force_never_replaces_what_is_not_a_model_directory(
        fitted_model: TraffickingModel, model_dir: Path, tmp_path: Path, kind: str):
    out = tmp_path / "target"
    if kind == "file":
        out.write_text("my notes", encoding="utf-8")
    elif kind == "symlink":
        out.symlink_to(model_dir, target_is_directory=True)
    else:
        out.mkdir()
        (out / "notes.txt").write_text("my notes", encoding="utf-8")
        (out / CARD_FILE).write_text("{}", encoding="utf-8")
    before = sorted((p.name, p.is_symlink()) for p in tmp_path.rglob("*"))
    with pytest.raises(PipelineError, match=r"not a model directory|a symlink"):
        save_model(fitted_model, out, force=True)
    assert sorted((p.name, p.is_symlink()) for p in tmp_path.rglob("*")) == before
    if kind == "file":
        assert out.read_text(encoding="utf-8") == "my notes"


def test_save_into_an_empty_folder(fitted_model: TraffickingModel, tmp_path: Path):
    out = tmp_path / "empty"
    out.mkdir()
    save_model(fitted_model, out)
    assert sorted(p.name for p in out.iterdir()) == [CARD_FILE, MODEL_FILE, SCORER_FILE]
