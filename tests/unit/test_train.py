"""pipeline.model.train: fitting is deterministic, checks its input and refuses to overwrite."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Config, load_config
from pipeline.corpus.read import label_matrix
from pipeline.errors import PipelineError
from pipeline.evaluation.evaluate import evaluate_files
from pipeline.model.persistence import CARD_FILE, TraffickingModel, load_model
from pipeline.model.train import check_label_counts, fit_and_save, fit_model


def test_training_is_deterministic(model_dir: Path, config: Config, mini_path: Path,
                                   tmp_path: Path):
    """Same data and config: identical thresholds, cards and evaluation metrics.

    (tests/cli/test_cli.py compares the metrics.json files `evaluate` writes, byte for byte.)
    """
    again = tmp_path / "again"
    fit_and_save(config, [mini_path], again)
    first, second = load_model(model_dir), load_model(again)
    assert np.array_equal(first.thresholds, second.thresholds)
    card1 = json.loads((model_dir / CARD_FILE).read_text(encoding="utf-8"))
    card2 = json.loads((again / CARD_FILE).read_text(encoding="utf-8"))
    assert card1["thresholds"] == card2["thresholds"]
    assert card1["cv_metrics"] == card2["cv_metrics"]
    assert card1["training_data"]["sha256"] == card2["training_data"]["sha256"]

    metrics = [json.dumps(evaluate_files(m, [mini_path]).metrics, sort_keys=True)
               for m in (first, second)]
    assert metrics[0] == metrics[1]
    n_lines = len(mini_path.read_text(encoding="utf-8").splitlines())
    assert json.loads(metrics[0])["n_records"] == n_lines


def test_different_config_changes_the_model(fitted_model: TraffickingModel, passages,
                                            test_toml: Path):
    """The determinism test above could not pass by ignoring the config."""
    other = fit_model(passages, load_config(test_toml, {"model.C": 0.05}))
    assert not np.array_equal(other.estimator.predict_proba(["Her passport was taken."]),
                              fitted_model.estimator.predict_proba(["Her passport was taken."]))


def test_cv_metrics_in_card(fitted_model: TraffickingModel, config: Config, passages):
    cv = fitted_model.card["cv_metrics"]
    for s in config.label_sets:
        assert 0.0 <= cv[s.name]["macro_f1"] <= 1.0
        assert set(cv[s.name]["per_label"]) == set(s.labels)
    assert cv["n_records"] == len(passages)


def test_too_few_positives(config: Config):
    Y = np.zeros((10, len(config.all_labels)), dtype=int)
    Y[:5, :] = 1
    Y[:2, 3] = 1
    Y[2:, 3] = 0  # stage.exploitation: 2 positives < 3 folds
    with pytest.raises(PipelineError, match=r"stage\.exploitation: 2 positive") as err:
        check_label_counts(Y, config)
    assert "thresholds.cv_folds" in str(err.value)
    Y[:, 3] = Y[:, 0]
    check_label_counts(Y, config)  # 5 positives everywhere: fine


def test_fit_and_save_refuses_existing_out_before_training(config: Config, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch):
    import pipeline.model.train as train

    out = tmp_path / "exists"
    out.mkdir()
    (out / "model.json").write_text("{}", encoding="utf-8")  # an empty folder may be used
    monkeypatch.setattr(train, "read_corpus", lambda *a, **k: pytest.fail("read the corpus"))
    with pytest.raises(PipelineError, match="already exists"):
        fit_and_save(config, None, out)


def test_holdout_file_is_never_trained_on(config: Config, tmp_path: Path, passages,
                                          monkeypatch: pytest.MonkeyPatch, mini_path: Path):
    import pipeline.model.train as train

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "main.jsonl").write_bytes(mini_path.read_bytes())
    (corpus / "holdout_writer.jsonl").write_text(
        '{"id": "h1", "text": "x", "stage": ["bogus"], "technology": []}\n', encoding="utf-8")
    seen = {}

    def fake_fit(passages, cfg, progress=None):
        seen["ids"] = [p.id for p in passages]
        raise PipelineError("stop here")

    monkeypatch.setattr(train, "fit_model", fake_fit)
    with pytest.raises(PipelineError, match="stop here"):
        fit_and_save(config, [corpus], tmp_path / "out")
    assert len(seen["ids"]) == len(passages) and "h1" not in seen["ids"]
    assert not (tmp_path / "out").exists()


def test_thresholds_come_from_out_of_fold_document_scores(passages, config: Config,
                                                          monkeypatch: pytest.MonkeyPatch):
    """Each held-out passage is scored by the fold model that did not see it, as the
    maximum over its sentences (as a one-passage document is scored); thresholds are
    tuned on exactly those scores."""
    import pipeline.model.estimator as estimator_module
    import pipeline.model.train as train
    from pipeline.model.thresholds import LabelThresholds

    folds, fits, tuned = [], [], {}
    real_kfold = estimator_module.multilabel_kfold
    real_fit = estimator_module.TraffickingClassifier._fit_pipeline
    real_tune = LabelThresholds.fit

    def kfold(*args, **kwargs):
        for train_idx, test_idx in real_kfold(*args, **kwargs):
            folds.append((train_idx, test_idx))
            yield train_idx, test_idx

    def fit(self, segments, Y):
        fits.append((len(segments), Y.copy()))
        return real_fit(self, segments, Y)

    def tune(self, scores, Y):
        tuned["scores"], tuned["Y"] = np.array(scores), np.array(Y)
        return real_tune(self, scores, Y)

    monkeypatch.setattr(estimator_module, "multilabel_kfold", kfold)
    monkeypatch.setattr(estimator_module.TraffickingClassifier, "_fit_pipeline", fit)
    monkeypatch.setattr(LabelThresholds, "fit", tune)
    model = train.fit_model(passages, config)

    k = config.thresholds.cv_folds
    Y = label_matrix(passages, config)
    assert len(folds) == k and len(fits) == k + 1  # k fold models, then the final one
    assert fits[-1][0] == len(passages) and np.array_equal(fits[-1][1], Y)
    assert np.array_equal(tuned["Y"], Y)
    texts = [p.text for p in passages]
    est = model.estimator
    for (train_idx, test_idx), (n_fit, Y_fit) in zip(folds, fits, strict=False):
        assert n_fit == len(train_idx) and np.array_equal(Y_fit, Y[train_idx])
        fold = type(est)(**est.get_params())  # holds the fold's pipeline
        fold.rule_, fold.classes_ = est.rule_, est.classes_
        fold.pipeline_ = real_fit(fold, est._maker().passages(
            [texts[i] for i in train_idx], est._preprocessor().process(
                [texts[i] for i in train_idx])), Y[train_idx])
        expected = fold.predict_proba([texts[i] for i in test_idx])
        assert np.allclose(tuned["scores"][test_idx], expected)
    again = real_tune(LabelThresholds(grid_start=config.thresholds.grid_start,
                                      grid_stop=config.thresholds.grid_stop,
                                      grid_step=config.thresholds.grid_step,
                                      default=config.thresholds.default), tuned["scores"], Y)
    assert np.array_equal(model.thresholds, again.thresholds_)


def test_documents_and_passages_train_together(passages, config: Config):
    """data/README.md suggests adding the passage corpus to the document corpus: the
    sentences of a document stay in one fold, each passage is a document of its own."""
    import dataclasses

    from pipeline.corpus.read import groups_of

    half = len(passages) // 2
    mixed = [dataclasses.replace(p, extra={**p.extra, "doc": f"doc{i // 3}"})
             for i, p in enumerate(passages[:half])] + list(passages[half:])
    model = fit_model(mixed, config)
    assert model.card["training_data"]["n_passages"] == len(mixed)
    groups = groups_of(mixed)
    assert len(set(groups)) == half // 3 + (half % 3 > 0) + len(passages) - half
