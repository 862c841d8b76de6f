"""The scikit-learn estimator chosen in ``[model]``: features, then one classifier per label."""

from __future__ import annotations

from sklearn.calibration import CalibratedClassifierCV
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.features import SegmentVectorizer


def build_estimator(config: Config, *, min_positives: int | None = None) -> Pipeline:
    """An unfitted ``Pipeline(features -> OneVsRest(binary linear classifier))``.

    ``min_positives`` (the rarest label's count in the data to fit) caps the folds of
    the SVM's internal calibration, which needs positives in every fold.
    """
    m = config.model
    class_weight = None if m.class_weight in (None, "", "none") else m.class_weight
    if m.classifier == "logreg":
        base = LogisticRegression(C=m.C, class_weight=class_weight, max_iter=m.max_iter,
                                  solver="liblinear", random_state=config.seed)
    else:  # "linear_svm", validated in config
        base = CalibratedClassifierCV(
            LinearSVC(C=m.C, class_weight=class_weight, max_iter=m.max_iter,
                      random_state=config.seed),
            method="sigmoid", cv=_calibration_folds(m.calibration_folds, min_positives),
            ensemble=m.calibration_ensemble)
    return Pipeline([("features", SegmentVectorizer.from_config(config.features)),
                     ("classifier", OneVsRestClassifier(base))])


def _calibration_folds(wanted: int, min_positives: int | None) -> int:
    if min_positives is None:
        return wanted
    if min_positives < 2:
        raise PipelineError(f"linear_svm calibration needs at least 2 positives per label in "
                            f"every fit; the rarest label has {min_positives}")
    return max(2, min(wanted, min_positives))
