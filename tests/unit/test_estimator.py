"""TraffickingClassifier follows scikit-learn's estimator contract and tunes its own
thresholds inside every fit."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score

from pipeline.corpus.read import label_matrix
from pipeline.model.estimator import TraffickingClassifier
from pipeline.text.cues import read_cues


@pytest.fixture(scope="module")
def data(config, passages):
    texts = [p.text for p in passages]
    return texts, label_matrix(passages, config)


@pytest.fixture(scope="module")
def estimator(config):
    return TraffickingClassifier.from_config(config, read_cues(config.paths.cues, config))


def test_clone_keeps_parameters_untouched(estimator):
    copy = clone(estimator)
    assert copy.get_params() == estimator.get_params()
    assert copy is not estimator
    copy.set_params(C=0.25, cue_weight=0.0)
    assert copy.C == 0.25 and estimator.C != 0.25


def test_fit_sets_thresholds_and_rule(estimator, data):
    texts, Y = data
    fitted = clone(estimator).fit(texts, Y)
    assert fitted.thresholds_.shape == (Y.shape[1],)
    assert np.all((fitted.thresholds_ > 0) & (fitted.thresholds_ < 1))
    assert np.all(fitted.rule_.evidence_ >= fitted.thresholds_ - 1e-9)
    assert fitted.predict(texts[:4]).shape == (4, Y.shape[1])
    assert fitted.predict_proba(texts[:4]).shape == (4, Y.shape[1])
    names = fitted.get_feature_names_out()
    assert any(n.startswith("words__") for n in names)
    assert any(n.startswith("cues__stage:") for n in names)


def test_a_dropped_step_leaves_its_features_out(estimator, data):
    texts, Y = data
    fitted = clone(estimator).set_params(char=False, cues=False).fit(texts, Y)
    names = fitted.get_feature_names_out()
    assert not any(n.startswith(("chars__", "cues__")) for n in names)


@pytest.mark.filterwarnings("ignore:fewer positives")
def test_cross_val_score_runs_on_raw_texts(estimator, data):
    texts, Y = data
    scores = cross_val_score(clone(estimator), texts, Y, cv=KFold(2, shuffle=True,
                                                                  random_state=0),
                             scoring="f1_macro")
    assert scores.shape == (2,)
    assert np.all((scores >= 0) & (scores <= 1))


@pytest.mark.filterwarnings("ignore:fewer positives")
def test_grid_search_tunes_thresholds_inside_each_fit(estimator, data, monkeypatch):
    from pipeline.model import thresholds

    texts, Y = data
    fits = []
    real_fit = thresholds.DocumentRule.fit

    def counting_fit(self, *args, **kwargs):
        fits.append(len(args[0]))
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(thresholds.DocumentRule, "fit", counting_fit)
    search = GridSearchCV(clone(estimator), {"C": [1.0, 4.0], "cue_weight": [0.0, 1.0]},
                          cv=KFold(2, shuffle=True, random_state=0), scoring="f1_micro",
                          refit=True)
    search.fit(texts, Y)
    # 4 candidates x 2 folds, each tuning on its own training part, plus the refit
    assert len(fits) == 4 * 2 + 1
    assert sorted(set(fits)) == sorted({len(texts) - len(texts) // 2, len(texts) // 2,
                                        len(texts)})
    assert set(search.best_params_) == {"C", "cue_weight"}
    assert hasattr(search.best_estimator_, "thresholds_")


def test_same_data_and_seed_give_the_same_model(estimator, data):
    texts, Y = data
    a = clone(estimator).fit(texts, Y)
    b = clone(estimator).fit(texts, Y)
    np.testing.assert_array_equal(a.thresholds_, b.thresholds_)
    np.testing.assert_array_equal(a.predict_proba(texts), b.predict_proba(texts))


def test_bad_parameters_and_inputs_are_clear_errors(estimator, data):
    texts, Y = data
    with pytest.raises(ValueError, match="C"):
        clone(estimator).set_params(C=-1).fit(texts, Y)
    with pytest.raises(ValueError, match="one row per text"):
        clone(estimator).fit(texts, Y[:-1])
    with pytest.raises(TypeError, match=r"X\[1\]"):
        clone(estimator).fit([texts[0], 5, *texts[2:]], Y)
