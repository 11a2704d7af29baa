"""Does multi-task learning help? Cross-validated comparison with one model per task."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold
from sklearn.utils import _safe_indexing

from ..estimators import final_step
from ._scorer import task_scorer


def _as_frame(Y) -> pd.DataFrame:
    if isinstance(Y, pd.DataFrame):
        return Y.reset_index(drop=True)
    if isinstance(Y, Mapping):
        return pd.DataFrame({task: list(values) for task, values in Y.items()})
    raise ValueError(
        "compare_single_task needs Y as a DataFrame or a dict of tasks, to name them; "
        f"got {type(Y).__name__}."
    )


_PER_TASK_PARAMS = ("task_types", "task_weights", "classes")


def _alone(estimator, task):
    """A clone of ``estimator`` whose per-task dict parameters name ``task`` only."""
    model = clone(estimator)
    steps = getattr(model, "steps", None)
    prefix = f"{steps[-1][0]}__" if steps else ""
    params = final_step(model).get_params(deep=False)
    changes = {
        prefix + name: ({task: value[task]} if task in value else None)
        for name in _PER_TASK_PARAMS
        if isinstance(value := params.get(name), Mapping)
    }
    return model.set_params(**changes)


def compare_single_task(
    estimator, X, Y, *, cv: int = 5, scoring: str | None = None, random_state: int | None = 0
) -> pd.DataFrame:
    """Cross-validated score of each task: one multi-task model against single-task models.

    In every fold, ``estimator`` (a ``MultiTaskClassifier``, a
    ``MultiTaskRegressor`` or a pipeline ending in one) is fitted once on all
    tasks, and once per task on that task alone (on the rows labelled for it,
    with ``task_types``, ``task_weights`` and ``classes`` cut down to that
    task), and each model is scored on the fold's held-out rows labelled for
    the task.

    Parameters
    ----------
    estimator : MultiTaskClassifier or Pipeline
        The configuration to compare; it is cloned, never fitted itself.
    X : array-like or DataFrame of shape (n_samples, n_features)
    Y : DataFrame or dict of tasks
        Missing labels allowed.
    cv : int, default=5
        Number of shuffled folds.
    scoring : str, optional
        A scikit-learn scoring name, applied per task (see
        :func:`skmtl.task_scorer`); greater is better. Default: accuracy for
        a classification task, R^2 for a regression task.
    random_state : int or None, default=0
        Seed of the folds.

    Returns
    -------
    DataFrame
        One row per task: ``multi_task`` and ``single_task`` (mean score over
        the folds), ``gain`` (their difference) and ``gain_std`` (its standard
        deviation over the folds). A positive gain means the task is better
        learned together with the others; a gain within about ``gain_std``
        of zero is no evidence either way.

    Examples
    --------
    >>> from skmtl import MultiTaskClassifier, compare_single_task
    >>> from skmtl.datasets import load_penguins
    >>> X, Y = load_penguins(return_X_y=True)
    >>> X = X.fillna(X.mean())
    >>> X = (X - X.mean()) / X.std()
    >>> table = compare_single_task(MultiTaskClassifier(max_epochs=5), X, Y, cv=2)
    >>> list(table.columns)
    ['multi_task', 'single_task', 'gain', 'gain_std']
    """
    Y = _as_frame(Y)
    tasks = list(Y.columns)
    gains = {task: [] for task in tasks}
    multi = {task: [] for task in tasks}
    single = {task: [] for task in tasks}
    folds = KFold(cv, shuffle=True, random_state=random_state)
    for train, test in folds.split(np.zeros(len(Y))):
        X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
        Y_train, Y_test = Y.iloc[train], Y.iloc[test]
        joint = clone(estimator).fit(X_train, Y_train)
        for task in tasks:
            scorer = task_scorer(task, scoring)  # None: accuracy, or R^2 for regression
            labelled = Y_train[task].notna().to_numpy()
            alone = _alone(estimator, task).fit(
                _safe_indexing(X_train, np.flatnonzero(labelled)), Y_train.loc[labelled, [task]]
            )
            m, s = scorer(joint, X_test, Y_test), scorer(alone, X_test, Y_test[[task]])
            multi[task].append(m)
            single[task].append(s)
            gains[task].append(m - s)
    return pd.DataFrame(
        {
            "multi_task": [np.nanmean(multi[t]) for t in tasks],
            "single_task": [np.nanmean(single[t]) for t in tasks],
            "gain": [np.nanmean(gains[t]) for t in tasks],
            "gain_std": [np.nanstd(gains[t]) for t in tasks],
        },
        index=pd.Index(tasks, name="task"),
    )
