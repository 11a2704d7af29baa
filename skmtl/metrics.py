"""Metrics and scorers over tasks with missing labels."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import get_scorer, log_loss, make_scorer, r2_score
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted
from skorch.utils import to_numpy

from .prediction import per_task, predicted_codes
from .targets import MISSING, UNKNOWN


def labelled(codes: np.ndarray) -> np.ndarray:
    """Where encoded targets hold a label: not MISSING (int codes), not NaN (floats)."""
    return ~np.isnan(codes) if codes.dtype.kind == "f" else codes != MISSING


def task_accuracies(
    y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray | None = None
) -> np.ndarray:
    """Accuracy of each task column over its labelled rows.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_samples, n_tasks)
        Class codes; ``y_true == MISSING`` marks rows without a label, which
        are left out. Any other code that ``y_pred`` cannot produce (a label
        unknown to the model) counts as wrong.
    sample_weight : ndarray of shape (n_samples,), optional

    Returns
    -------
    ndarray of shape (n_tasks,)
        NaN for a task with no labelled row.
    """
    y_true = np.asarray(y_true).reshape(len(y_true), -1)
    y_pred = np.asarray(y_pred).reshape(len(y_pred), -1)
    weights = np.ones(len(y_true)) if sample_weight is None else np.asarray(sample_weight)
    labelled = y_true != MISSING
    hits = (y_true == y_pred) & labelled
    totals = (labelled * weights[:, None]).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (hits * weights[:, None]).sum(axis=0) / np.where(totals > 0, totals, np.nan)


def mean_valid_accuracy(net, X, y) -> float:
    """Mean per-task accuracy of ``net`` on encoded targets ``y``.

    The scoring function of the ``valid_acc`` column of the training log; it
    works on class codes, so it runs inside skorch's epoch scoring.
    """
    # forward_iter, so that skorch's scoring cache serves the epoch's outputs
    codes = predicted_codes(net, per_task(net.forward_iter(X, device=net.device)))
    y = to_numpy(y)
    classification = [j for j, reg in enumerate(net.target_encoder_.regression_) if not reg]
    if not classification:
        return float("nan")
    y, codes = y[:, classification], codes[:, classification]
    if y.dtype.kind == "f":  # mixed tasks: NaN marks a missing label
        y = np.where(np.isnan(y), MISSING, y).astype(np.int64)
        codes = codes.astype(np.int64)
    return float(np.nanmean(task_accuracies(y, codes)))


def score_codes(encoder, tasks, codes, predicted, sample_weight=None) -> dict:
    """Each task's score from encoded targets and predictions: accuracy on
    the labelled rows of a classification task, R^2 for a regression task
    (NaN with fewer than two labels)."""
    scores = {}
    for j, task in enumerate(tasks):
        col = list(encoder.tasks_).index(task)
        has = labelled(codes[:, j])
        if encoder.types_[task] == "regression":
            weight = None if sample_weight is None else sample_weight[has]
            scores[task] = (
                float(r2_score(codes[has, j], predicted[has, col], sample_weight=weight))
                if has.sum() > 1
                else float("nan")
            )
            continue
        true = np.where(has, codes[:, j], MISSING).astype(np.int64)
        if has.any() and (true[has] == UNKNOWN).all():
            warnings.warn(
                f"None of the labels of task {task!r} in Y is among its classes "
                f"{encoder.classes_[task].tolist()}; check the labels' type (e.g. '1' "
                "against 1).",
                UserWarning,
                stacklevel=3,
            )
        pred = predicted[:, col].astype(np.int64)
        scores[task] = float(task_accuracies(true, pred, sample_weight)[0])
    return scores


def _final_step(estimator):
    """The multi-task model itself, also when it ends a Pipeline."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


class _TaskView(ClassifierMixin, BaseEstimator):
    """One classification task of a fitted multi-task model (or of a Pipeline
    ending in one), seen as a plain classifier by scikit-learn's scorers."""

    def __init__(self, estimator, task):
        self.estimator = estimator
        self.task = task

    @property
    def classes_(self) -> np.ndarray:
        classes = _final_step(self.estimator).classes_
        return classes[self.task] if isinstance(classes, dict) else classes

    def __sklearn_is_fitted__(self) -> bool:
        return True

    def predict(self, X):
        encoder = _final_step(self.estimator).target_encoder_
        return encoder.task_column(self.estimator.predict(X), self.task)

    def predict_proba(self, X):
        proba = self.estimator.predict_proba(X)
        return proba[self.task] if isinstance(proba, dict) else proba


class _RegressionTaskView(RegressorMixin, BaseEstimator):
    """One regression task, seen as a plain regressor by scikit-learn's scorers."""

    __init__ = _TaskView.__init__
    __sklearn_is_fitted__ = _TaskView.__sklearn_is_fitted__
    predict = _TaskView.predict


#: ``"neg_log_loss"``, which :class:`TaskScorer` gives the task's classes.
_LOG_LOSS = get_scorer("neg_log_loss")


class TaskScorer:
    """Scorer of one task of a multi-task classifier; see :func:`task_scorer`."""

    def __init__(self, task: Hashable, scorer: Callable):
        self.task = task
        self.scorer = scorer

    def __call__(self, estimator, X, y, **kwargs) -> float:
        model = _final_step(estimator)
        check_is_fitted(model)
        labelled, labels = model.target_encoder_.task_labels(y, self.task)
        if not labelled.any():
            return float("nan")
        rows = np.flatnonzero(labelled)
        if kwargs.get("sample_weight") is not None:
            kwargs["sample_weight"] = _safe_indexing(kwargs["sample_weight"], rows)
        X_task = _safe_indexing(X, rows)
        regression = model.target_encoder_.types_[self.task] == "regression"
        view = (_RegressionTaskView if regression else _TaskView)(estimator, self.task)
        scorer = self.scorer
        if self.scorer is _LOG_LOSS and not regression:
            # a fold's rows may lack some of the model's classes: name them all
            scorer = make_scorer(
                log_loss,
                response_method="predict_proba",
                greater_is_better=False,
                labels=view.classes_,
            )
        return scorer(view, X_task, labels, **kwargs)

    def __repr__(self) -> str:
        return f"task_scorer({self.task!r}, {self.scorer!r})"


def task_scorer(task: Hashable, metric: str | Callable = "accuracy", **kwargs) -> TaskScorer:
    """Make a scorer of one task, for ``GridSearchCV(scoring=...)``.

    The scorer predicts with the multi-task estimator (or a Pipeline ending
    in one) and applies ``metric`` to that task alone, on the rows where the
    task has a label.

    Parameters
    ----------
    task : hashable
        The task's name, as in ``estimator.tasks_``.
    metric : str or callable, default="accuracy"
        A scikit-learn scoring name (``"accuracy"``, ``"balanced_accuracy"``,
        ``"f1_macro"``, ``"roc_auc_ovr"``, ``"neg_log_loss"``, ...) or a metric
        function ``metric(y_true, y_pred, **kwargs)`` passed to
        :func:`sklearn.metrics.make_scorer`.
    **kwargs
        With a callable ``metric``: arguments of ``make_scorer`` and of the
        metric (e.g. ``response_method="predict_proba"``, ``average="macro"``).

    Returns
    -------
    TaskScorer
        ``scorer(estimator, X, y) -> float``, greater is better; NaN when
        ``Y`` has no label for the task.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skmtl import MultiTaskClassifier, task_scorer
    >>> search = GridSearchCV(
    ...     MultiTaskClassifier(),
    ...     {"lr": [1e-3, 1e-2]},
    ...     scoring={"species": task_scorer("species"),
    ...              "sex_f1": task_scorer("sex", "f1_macro")},
    ...     refit="species",
    ... )
    """
    if isinstance(metric, str):
        if kwargs:
            raise TypeError(
                "Extra arguments only apply to a callable metric; with a scoring "
                "name, pass e.g. metric='f1_macro' instead."
            )
        return TaskScorer(task, _LOG_LOSS if metric == "neg_log_loss" else get_scorer(metric))
    return TaskScorer(task, make_scorer(metric, **kwargs))
