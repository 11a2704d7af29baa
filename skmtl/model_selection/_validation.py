"""``cross_val_predict`` for multi-task targets: out-of-fold predictions of every task."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_consistent_length

from ..estimators import final_step, is_multi_task
from ..targets import TaskEncoder
from ._split import MultiTaskStratifiedKFold


def _take_rows(Y: Any, rows: np.ndarray) -> Any:
    """The rows of ``Y``, in its kind; a dict is indexed task by task."""
    if isinstance(Y, Mapping):
        return {task: _safe_indexing(values, rows) for task, values in Y.items()}
    return _safe_indexing(Y, rows)


def _full_encoder(model, Y: Any) -> TaskEncoder:
    """The target encoding a fit of ``model`` on all of ``Y`` would make: its
    tasks, their types and classes (``classes=`` included)."""
    encoder = TaskEncoder(
        task_names=model.task_names,
        classes=model.classes,
        task_types=model.task_types,
        default_type=model._default_task_type,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each fold's fit warns where it applies
        encoder.fit_transform(Y)
    return encoder


def _n_rows(values: Any) -> int:
    shape = getattr(values, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) else len(values)


def _fold_params(params: dict, n_samples: int, train: np.ndarray) -> dict:
    """Fit parameters of a training fold: per-row arrays cut to its rows."""
    out = {}
    for key, value in params.items():
        per_row = hasattr(value, "__len__") and not isinstance(value, (str, bytes, Mapping))
        if per_row and _n_rows(value) == n_samples:
            value = _safe_indexing(value, train)
        out[key] = value
    return out


def _full_codes(full: TaskEncoder, task, labels: np.ndarray) -> np.ndarray:
    """Positions of a fold's labels among the classes of a fit on all of ``Y``."""
    codes = pd.Index(full.classes_[task]).get_indexer(labels)
    if (codes < 0).any():
        raise ValueError(
            f"A fold's model of task {task!r} has classes {pd.unique(labels[codes < 0])} "
            f"that a fit on all of Y does not ({full.classes_[task].tolist()}); give the "
            "task's labels one type, or fix its classes with classes=."
        )
    return codes


def _fit_and_predict(estimator, X, Y, train, test, method, params, full):
    """Fit a clone on the training rows; the test rows' predictions as
    per-task columns in the codes of ``full`` (``predict``), or per-task
    probabilities with ``full``'s class columns (``predict_proba``)."""
    X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
    model = clone(estimator).fit(X_train, _take_rows(Y, train), **params)
    encoder = final_step(model).target_encoder_
    if method == "predict":
        output = model.predict(X_test)
        columns = []
        for task in full.tasks_:
            values = encoder.task_column(output, task)
            if full.types_[task] == "regression":
                values = (values.astype(np.float64) - full.center_[task]) / full.scale_[task]
            else:
                values = _full_codes(full, task, values)
            columns.append(values)
        return columns
    proba = model.predict_proba(X_test)
    if not isinstance(proba, dict):
        proba = {full.tasks_[0]: proba}
    columns = []
    for task, classes in full.classes_.items():
        out = np.zeros((len(test), len(classes)), dtype=proba[task].dtype)
        out[:, _full_codes(full, task, encoder.classes_[task])] = proba[task]
        columns.append(out)
    return columns


def cross_val_predict(
    estimator: Any,
    X: Any,
    Y: Any,
    *,
    groups: Any = None,
    cv: Any = None,
    method: str = "predict",
    n_jobs: int | None = None,
    verbose: int = 0,
    params: dict | None = None,
    pre_dispatch: int | str = "2*n_jobs",
) -> Any:
    """Out-of-fold predictions of a multi-task model, in the kind ``predict`` gives.

    scikit-learn's :func:`~sklearn.model_selection.cross_val_predict` for a
    :class:`~skmtl.MultiTaskClassifier`, a :class:`~skmtl.MultiTaskRegressor`
    or a Pipeline ending in one: every row is predicted by a clone fitted on
    the folds that do not hold it. It takes ``Y`` in every kind ``fit``
    takes (a dict too), with missing labels, and stratifies on every task
    by default.

    Parameters
    ----------
    estimator : MultiTaskClassifier, MultiTaskRegressor or Pipeline
        Cloned and fitted once per fold; never fitted itself.
    X : array-like, sparse matrix or DataFrame of shape (n_samples, ...)
    Y : dict, DataFrame, or array-like of shape (n_samples,) or (n_samples, n_tasks)
        The targets, NaN or None where a label is missing.
    groups : array-like of shape (n_samples,), optional
        Passed to the splitter's ``split`` (for a group splitter).
    cv : int, splitter or iterable, default=None
        ``None``: ``MultiTaskStratifiedKFold(5)``; an int ``k``:
        ``MultiTaskStratifiedKFold(k)`` (not scikit-learn's choice by
        ``type_of_target``, which fails on multi-task ``Y``); or any
        splitter or iterable of ``(train, test)`` index arrays whose test
        folds hold every row exactly once.
    method : {"predict", "predict_proba"}, default="predict"
        What to give for each row.
    n_jobs : int, default=None
        Folds fitted in parallel, as in scikit-learn (joblib; ``-1``: all
        cores).
    verbose : int, default=0
        joblib's verbosity.
    params : dict, optional
        Passed to ``estimator.fit``; arrays with one entry per row are cut
        to each fold's training rows.
    pre_dispatch : int or str, default="2*n_jobs"
        As in scikit-learn.

    Returns
    -------
    dict, DataFrame or ndarray
        ``method="predict"``: the labels, in the kind of ``Y`` as ``predict``
        returns them (a dict of 1-D arrays, a DataFrame with ``Y``'s columns,
        dtypes and index, a 2-D array, or a 1-D array). ``"predict_proba"``:
        ``{task: ndarray of shape (n_samples, n_classes)}`` of the
        classification tasks (one array for 1-D ``Y``).

    Raises
    ------
    ValueError
        If ``method`` is not one of the above, or the test folds are not a
        partition of the rows.
    TypeError
        If ``estimator`` is not a skmtl model or a Pipeline ending in one.

    Notes
    -----
    The probability columns of a task are the same for every fold: the
    classes a fit on all of ``Y`` gives (``classes_[task]``: the sorted
    labels, a categorical's declared categories, or those fixed with
    ``classes=``). A class absent from a fold's training rows has
    probability 0 in that fold's rows, as in scikit-learn. Every row is
    predicted, labelled or not; a fold whose training rows lack every label
    of a task fails to fit (fix its classes with ``classes=`` to keep the
    task when it still has some label).

    Examples
    --------
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl.datasets import load_penguins
    >>> from skmtl.model_selection import cross_val_predict
    >>> X, Y = load_penguins(return_X_y=True)
    >>> X = X.fillna(X.mean())
    >>> clf = MultiTaskClassifier(max_epochs=5, random_state=0)
    >>> predicted = cross_val_predict(clf, X, Y, cv=3)
    >>> predicted.shape, predicted.columns.tolist()
    ((344, 3), ['species', 'sex', 'island'])
    >>> proba = cross_val_predict(clf, X, Y, cv=3, method="predict_proba")
    >>> {task: p.shape for task, p in proba.items()}
    {'species': (344, 3), 'sex': (344, 2), 'island': (344, 3)}
    """
    if method not in ("predict", "predict_proba"):
        raise ValueError(f"method must be 'predict' or 'predict_proba'; got {method!r}.")
    model = final_step(estimator)
    if not is_multi_task(model):
        raise TypeError(
            "skmtl's cross_val_predict takes a MultiTaskClassifier, a MultiTaskRegressor "
            f"or a Pipeline ending in one; got {type(model).__name__}. For another "
            "estimator, use sklearn.model_selection.cross_val_predict."
        )
    if method == "predict_proba" and not hasattr(estimator, "predict_proba"):
        raise ValueError(f"{type(estimator).__name__} has no predict_proba.")
    full = _full_encoder(model, Y)
    if method == "predict_proba" and not full.classes_:
        raise ValueError("Y has no classification task to give probabilities for.")
    n_samples = _n_rows(X)
    check_consistent_length(X, full.transform(Y))
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        cv = MultiTaskStratifiedKFold(cv)
    cv = check_cv(MultiTaskStratifiedKFold(5) if cv is None else cv)
    splits = list(cv.split(X, Y, groups))
    test_rows = np.concatenate([test for _, test in splits])
    if len(test_rows) != n_samples or not np.array_equal(np.sort(test_rows), np.arange(n_samples)):
        raise ValueError(
            "cross_val_predict needs test folds that hold every row exactly once (a "
            "partition), as K-fold splitters give."
        )
    fit_params = params or {}
    parallel = Parallel(n_jobs=n_jobs, verbose=verbose, pre_dispatch=pre_dispatch)
    folds = parallel(
        delayed(_fit_and_predict)(
            estimator,
            X,
            Y,
            train,
            test,
            method,
            _fold_params(fit_params, n_samples, train),
            full,
        )
        for train, test in splits
    )
    order = np.empty(n_samples, dtype=np.int64)
    order[test_rows] = np.arange(n_samples)
    columns = [np.concatenate(parts)[order] for parts in zip(*folds, strict=True)]
    if method == "predict_proba":
        return full.format_proba(columns)
    index = Y.index if isinstance(Y, pd.DataFrame) else None
    return full.decode(columns, index=index)
