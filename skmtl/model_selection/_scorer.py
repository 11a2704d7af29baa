"""``task_scorer``: scikit-learn scorers of one task, or of the mean over tasks."""

from __future__ import annotations

from collections.abc import Callable, Hashable

import numpy as np
from sklearn.metrics import get_scorer, log_loss, make_scorer
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import check_is_fitted

from ..estimators import ClassifierTaskView, RegressorTaskView, final_step

#: ``"neg_log_loss"``, which :class:`TaskScorer` gives the task's classes.
_LOG_LOSS = get_scorer("neg_log_loss")

#: ``metric=None``: each task's own score, as the estimator's ``score``.
_OWN = {False: get_scorer("accuracy"), True: get_scorer("r2")}


#: The ``task`` of :func:`task_scorer` that averages over the tasks of ``Y``.
MEAN = "mean"


class TaskScorer:
    """Scorer of one task, or the mean over tasks, of a multi-task model; see
    :func:`task_scorer`."""

    def __init__(self, task: Hashable | list, scorer: Callable | None):
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
        model = final_step(estimator)
        check_is_fitted(model)
        tasks = self._tasks(model, y)
        if tasks is None:
            return self._score_task(estimator, model, X, y, self.task, kwargs)
        scores = [self._score_task(estimator, model, X, y, task, kwargs) for task in tasks]
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
        scorer = _OWN[regression] if self.scorer is None else self.scorer
        if self.scorer is _LOG_LOSS and not regression:
            # a fold's rows may lack some of the model's classes: name them all
            scorer = make_scorer(
                log_loss,
                response_method="predict_proba",
                greater_is_better=False,
                labels=view.classes_,
            )
        try:
            return scorer(view, X_task, labels, **kwargs)
        except ValueError as exc:
            kind = "regression" if regression else "classification"
            fix = "use metric=None (accuracy, R^2 for a regression task) or one that does"
            if self._tasks(model, y) is not None:
                fix += ", or pass the list of the tasks it suits as task"
            raise ValueError(
                f"{self!r} failed on {kind} task {task!r}: {exc} If the metric does not "
                f"suit a {kind} task, {fix}."
            ) from exc

    def __repr__(self) -> str:
        return f"task_scorer({self.task!r}, {self.scorer!r})"


def task_scorer(
    task: Hashable | list, metric: str | Callable | None = None, **kwargs
) -> TaskScorer:
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
    metric : str, callable or None, default=None
        None: each task's own score, as the estimator's ``score``: accuracy
        for a classification task, R^2 for a regression task. Or a
        scikit-learn scoring name (``"accuracy"``, ``"balanced_accuracy"``,
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
    accuracy (R^2 for a regression task), which equals ``task_scorer("mean")``.

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
    if metric is None or isinstance(metric, str):
        if kwargs:
            raise TypeError(
                "Extra arguments only apply to a callable metric; with a scoring "
                "name, pass e.g. metric='f1_macro' instead."
            )
        if metric is None:
            return TaskScorer(task, None)
        return TaskScorer(task, _LOG_LOSS if metric == "neg_log_loss" else get_scorer(metric))
    return TaskScorer(task, make_scorer(metric, **kwargs))
