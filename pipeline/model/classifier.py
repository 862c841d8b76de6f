"""The per-label binary classifier: logistic regression or a sigmoid-calibrated linear SVM."""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.svm import LinearSVC

from pipeline.errors import PipelineError


def build_classifier(*, classifier: str = "linear_svm", C: float = 1.0,
                     class_weight: str | None = "balanced", max_iter: int = 2000,
                     calibration_folds: int = 3, calibration_ensemble: bool = False,
                     random_state: int | None = None,
                     min_positives: int | None = None) -> OneVsRestClassifier:
    """An unfitted one-vs-rest classifier, one binary linear model per label column.

    ``min_positives`` (the rarest label's count in the data to fit) caps the folds of
    the SVM's internal calibration, which needs positives in every fold.
    """
    weight = None if class_weight in (None, "", "none") else class_weight
    if classifier == "logreg":
        base = LogisticRegression(C=C, class_weight=weight, max_iter=max_iter,
                                  solver="liblinear", random_state=random_state)
    else:  # "linear_svm", validated by the caller
        base = CalibratedClassifierCV(
            LinearSVC(C=C, class_weight=weight, max_iter=max_iter, random_state=random_state),
            method="sigmoid", cv=_calibration_folds(calibration_folds, min_positives),
            ensemble=calibration_ensemble)
    return OneVsRestClassifier(base)


def _calibration_folds(wanted: int, min_positives: int | None) -> int:
    if min_positives is None:
        return wanted
    if min_positives < 2:
        raise PipelineError(f"linear_svm calibration needs at least 2 positives per label in "
                            f"every fit; the rarest label has {min_positives}")
    return max(2, min(wanted, min_positives))
