"""Metrics and scorers over tasks with missing labels."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable

import numpy as np
from sklearn.metrics import get_scorer, log_loss, make_scorer, r2_score
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted
from skorch.utils import to_numpy

from .prediction import per_task, predicted_codes
from .targets import MISSING, UNKNOWN
from .views import ClassifierTaskView, RegressorTaskView, _final_step


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


#: ``"neg_log_loss"``, which :class:`TaskScorer` gives the task's classes.
_LOG_LOSS = get_scorer("neg_log_loss")


#: The ``task`` of :func:`task_scorer` that averages over the tasks of ``Y``.
MEAN = "mean"


class TaskScorer:
    """Scorer of one task, or the mean over tasks, of a multi-task model; see
    :func:`task_scorer`."""

    def __init__(self, task: Hashable | list, scorer: Callable):
        self.task = task
        self.scorer = scorer

    def _tasks(self, model, y) -> list | None:
        """The tasks to average over, or None to score ``self.task`` alone."""
        if isinstance(self.task, list):
            return self.task
        if not (isinstance(self.task, str) and self.task == MEAN):
            return None
        if MEAN in model.tasks_:
            raise ValueError(
                f"The model has a task named {MEAN!r}, so task_scorer({MEAN!r}, ...) is "
                f"ambiguous: pass [{MEAN!r}] to score that task, or the list of tasks to "
                "average over."
            )
        return list(model.target_encoder_._read(y))  # the tasks Y holds

    def __call__(self, estimator, X, y, **kwargs) -> float:
        model = _final_step(estimator)
        check_is_fitted(model)
        tasks = self._tasks(model, y)
        if tasks is None:
            return self._score_task(estimator, model, X, y, self.task, kwargs)
        scores = []
        for task in tasks:
            try:
                scores.append(self._score_task(estimator, model, X, y, task, kwargs))
            except ValueError as exc:
                raise ValueError(
                    f"{self!r} failed on task {task!r}: {exc} To average over some of the "
                    "tasks only (e.g. the classification ones), pass their list as task."
                ) from exc
        scores = np.asarray(scores, dtype=np.float64)
        scores = scores[~np.isnan(scores)]
        return float(scores.mean()) if len(scores) else float("nan")

    def _score_task(self, estimator, model, X, y, task, kwargs) -> float:
        kwargs = dict(kwargs)
        labelled, labels = model.target_encoder_.task_labels(y, task)
        if not labelled.any():
            return float("nan")
        rows = np.flatnonzero(labelled)
        if kwargs.get("sample_weight") is not None:
            kwargs["sample_weight"] = _safe_indexing(kwargs["sample_weight"], rows)
        X_task = _safe_indexing(X, rows)
        regression = model.target_encoder_.types_[task] == "regression"
        view = (RegressorTaskView if regression else ClassifierTaskView)(estimator, task)
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


def task_scorer(task: Hashable | list, metric: str | Callable = "accuracy", **kwargs) -> TaskScorer:
    """Make a scorer of one task, or of the mean over tasks, for ``GridSearchCV(scoring=...)``.

    The scorer predicts with the multi-task estimator (or a Pipeline ending
    in one) and applies ``metric`` to one task at a time, on the rows where
    the task has a label. With ``task="mean"`` (or a list of tasks) it
    returns the mean of the per-task scores.

    Parameters
    ----------
    task : hashable, list or "mean"
        The task's name, as in ``estimator.tasks_``; or ``"mean"``: the mean
        over the tasks in the ``Y`` being scored (all fitted tasks for an
        array ``Y``; those it holds for a dict or DataFrame); or a list of
        task names: the mean over those. A task with no label in ``Y`` (its
        score is NaN) is left out of the mean. If the model has a task named
        ``"mean"``, ``"mean"`` is refused as ambiguous: pass ``["mean"]``
        for that task.
    metric : str or callable, default="accuracy"
        A scikit-learn scoring name (``"accuracy"``, ``"balanced_accuracy"``,
        ``"f1_macro"``, ``"roc_auc_ovr"``, ``"neg_log_loss"``, ``"r2"``, ...) or
        a metric function ``metric(y_true, y_pred, **kwargs)`` passed to
        :func:`sklearn.metrics.make_scorer`. Each task is scored as a plain
        single-task estimator (a :class:`~skmtl.views.ClassifierTaskView` or
        :class:`~skmtl.views.RegressorTaskView`), so the metric must suit
        every task scored: for a model mixing classification and regression
        tasks, list the tasks it applies to.
    **kwargs
        With a callable ``metric``: arguments of ``make_scorer`` and of the
        metric (e.g. ``response_method="predict_proba"``, ``average="macro"``).

    Returns
    -------
    TaskScorer
        ``scorer(estimator, X, y) -> float``, greater is better; NaN when
        ``Y`` has no label for the task (for a mean: for every task averaged).

    Notes
    -----
    scikit-learn's scoring names do not work on a multi-task model as they
    are: ``scoring="accuracy"`` or ``scoring=["accuracy", "f1_macro"]`` in
    ``GridSearchCV`` or ``cross_validate`` gives NaN for every fold, with
    only a ``UserWarning`` ("Scoring failed"). Their scorer reads
    ``classes_`` (a dict of tasks, not an array) and applies the metric to
    the whole ``Y`` and prediction, which neither handles several tasks
    with their own label types nor missing labels; scikit-learn catches the
    error and records ``error_score=nan``. Wrap the names instead::

        scoring={name: task_scorer("mean", name) for name in ["accuracy", "f1_macro"]}

    ``scoring=None`` uses the estimator's own ``score``: the mean per-task
    accuracy (R^2 for a regression task), which for a model without
    regression tasks equals ``task_scorer("mean")``.

    Examples
    --------
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skmtl import MultiTaskClassifier, task_scorer
    >>> search = GridSearchCV(
    ...     MultiTaskClassifier(),
    ...     {"lr": [1e-3, 1e-2]},
    ...     scoring={"species": task_scorer("species"),
    ...              "sex_f1": task_scorer("sex", "f1_macro"),
    ...              "f1_macro": task_scorer("mean", "f1_macro"),
    ...              "two_tasks": task_scorer(["species", "island"], "balanced_accuracy")},
    ...     refit="f1_macro",
    ... )

    The mean of the per-task scores:

    >>> import numpy as np
    >>> from skmtl.datasets import load_penguins
    >>> X, Y = load_penguins(return_X_y=True)
    >>> X = X.fillna(X.mean())
    >>> clf = MultiTaskClassifier(max_epochs=5, random_state=0).fit(X, Y)
    >>> per_task = [task_scorer(t, "f1_macro")(clf, X, Y) for t in clf.tasks_]
    >>> bool(np.isclose(task_scorer("mean", "f1_macro")(clf, X, Y), np.mean(per_task)))
    True
    """
    if isinstance(task, list):
        if not task:
            raise ValueError("task is an empty list; name at least one task to average over.")
        task = list(task)
    if isinstance(metric, str):
        if kwargs:
            raise TypeError(
                "Extra arguments only apply to a callable metric; with a scoring "
                "name, pass e.g. metric='f1_macro' instead."
            )
        return TaskScorer(task, _LOG_LOSS if metric == "neg_log_loss" else get_scorer(metric))
    return TaskScorer(task, make_scorer(metric, **kwargs))
