"""pipeline.evaluation.metrics: agreement on "no label" counts; labels without support are n/a."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.evaluation.metrics import all_metrics, fmt, set_metrics

LABELS = ["a", "b", "c"]


def test_label_without_support_is_na_and_left_out_of_macro_f1():
    Y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    m = set_metrics(Y, Y.copy(), LABELS)
    assert m["per_label"]["c"] == {"precision": None, "recall": None, "f1": None,
                                   "support": 0, "tp": 0, "fp": 0, "fn": 0, "tn": 3}
    assert m["macro_f1"] == 1.0  # not (1 + 1 + 0) / 3
    assert m["labels_without_support"] == ["c"]


def test_false_positives_of_an_unsupported_label_still_cost_precision_and_micro():
    Y = np.array([[1, 0, 0], [0, 1, 0]])
    P = np.array([[1, 0, 1], [0, 1, 0]])
    m = set_metrics(Y, P, LABELS)
    assert m["per_label"]["c"]["precision"] == 0.0 and m["per_label"]["c"]["f1"] is None
    assert m["macro_f1"] == 1.0 and m["micro_f1"] < 1.0


def test_empty_versus_empty_passage_counts_as_agreement():
    Y = np.array([[1, 0, 0], [0, 0, 0]])
    m = set_metrics(Y, Y.copy(), LABELS)
    assert m["samples_f1"] == 1.0  # scikit-learn's zero_division=0 gave 0.5


def test_no_label_anywhere_is_agreement_in_micro_and_samples_and_na_in_macro():
    Y = np.zeros((4, 3), dtype=int)
    m = all_metrics(Y, Y.copy(), [("s", lab) for lab in LABELS])["s"]
    assert (m["micro_f1"], m["samples_f1"], m["macro_f1"]) == (1.0, 1.0, None)


@pytest.mark.parametrize(("value", "text"), [(None, "n/a"), (0.5, "0.500")])
def test_fmt(value, text):
    assert fmt(value) == text
