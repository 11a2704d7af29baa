"""Scores during training and of ``score``: per-task accuracy and R^2 on encoded targets."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.metrics import r2_score
from skorch.utils import to_numpy

from ..targets import MISSING, UNKNOWN, labelled
from ._prediction import per_task, predicted_codes


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
    (NaN with fewer than two labels). ``codes`` and ``predicted`` have a
    column per fitted task, in the encoder's order; ``tasks`` are those to
    score, in any order."""
    scores = {}
    for task in tasks:
        col = list(encoder.tasks_).index(task)
        has = labelled(codes[:, col])
        if encoder.types_[task] == "regression":
            weight = None if sample_weight is None else sample_weight[has]
            scores[task] = (
                float(r2_score(codes[has, col], predicted[has, col], sample_weight=weight))
                if has.sum() > 1
                else float("nan")
            )
            continue
        true = np.where(has, codes[:, col], MISSING).astype(np.int64)
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
