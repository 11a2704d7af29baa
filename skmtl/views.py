"""Single-task views of a fitted multi-task model, for scikit-learn's tools of one task.

``clf.task("sex")``, or :func:`task_view` for a Pipeline ending in a skmtl
model, is one task of the model as an ordinary fitted classifier (or
regressor): ``RocCurveDisplay``, ``ConfusionMatrixDisplay``,
``CalibratedClassifierCV(FrozenEstimator(view))`` and
``permutation_importance`` take it. The views live beside the estimators,
whose ``task`` method returns them; this module is their public home.
"""

from .estimators import ClassifierTaskView, RegressorTaskView, task_view

__all__ = ["ClassifierTaskView", "RegressorTaskView", "task_view"]
