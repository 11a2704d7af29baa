"""Cross-validation splitters for multi-task targets with missing labels."""

from __future__ import annotations

import heapq
import numbers
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.model_selection._split import _BaseKFold
from sklearn.utils import _safe_indexing, check_random_state
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_consistent_length

from .targets import TaskEncoder
from .views import _final_step, _is_multi_task

__all__ = ["MultiTaskStratifiedKFold", "cross_val_predict"]


def _task_columns(y: Any) -> list[pd.Series]:
    """Split ``y`` (dict, DataFrame, 2-D or 1-D array-like) into one Series per task.

    Unlike ``fit`` this is lenient: a task may have a single class, no label
    at all, or labels of mixed types; the splitter only needs to tell labels
    apart.
    """
    if isinstance(y, Mapping):
        if not y:
            raise ValueError("Y is an empty dict; give at least one task.")
        cols = []
        for task, values in y.items():
            if np.ndim(values) != 1:
                raise ValueError(
                    f"Y[{task!r}] must be 1-D (one label per row); got shape {np.shape(values)}."
                )
            if not isinstance(values, (pd.Series, pd.api.extensions.ExtensionArray)):
                values = np.asarray(values)
            cols.append(pd.Series(values).reset_index(drop=True))
        lengths = {task: len(col) for task, col in zip(y, cols, strict=True)}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"The tasks in Y have different lengths: {lengths}. Every task needs one "
                "entry per row of X (use None or NaN for a missing label)."
            )
        return cols
    if isinstance(y, pd.DataFrame):
        if y.shape[1] == 0:
            raise ValueError("Y is a DataFrame with no columns; give at least one task.")
        return [y.iloc[:, j].reset_index(drop=True) for j in range(y.shape[1])]
    if isinstance(y, pd.Series):
        return [y.reset_index(drop=True)]
    if hasattr(y, "toarray"):
        raise ValueError("A sparse Y is not supported; pass a dense array or a DataFrame.")
    # a list of rows mixing str and NaN would become all str (NaN as "nan") in a plain array
    arr = np.asarray(y, dtype=object) if isinstance(y, (list, tuple)) else np.asarray(y)
    if arr.ndim == 1:
        return [pd.Series(arr)]
    if arr.ndim == 2:
        if arr.shape[1] == 0:
            raise ValueError("Y has no columns; give at least one task.")
        return [pd.Series(arr[:, j]) for j in range(arr.shape[1])]
    raise ValueError(
        "Y must be a dict of tasks, a DataFrame, or a 1-D or 2-D array; got an array "
        f"with {arr.ndim} dimensions."
    )


def _label_matrix(y: Any) -> tuple[np.ndarray, int]:
    """Encode every (task, label) pair of ``y`` as one integer id.

    Returns an ``(n_samples, n_tasks)`` int64 matrix of label ids, ``-1``
    where a row has no label for a task, and the number of distinct ids.
    Labels are told apart by hashing (:func:`pandas.factorize`), never by
    sorting, so a task may mix strings with numbers.
    """
    cols = _task_columns(y)
    ids = np.empty((len(cols[0]), len(cols)), dtype=np.int64)
    offset = 0
    for j, col in enumerate(cols):
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        ids[:, j] = np.where(codes >= 0, codes + offset, -1)
        offset += len(uniques)
    return ids, offset


class MultiTaskStratifiedKFold(_BaseKFold):
    """K-fold cross-validation stratified on the labels of every task.

    scikit-learn's :class:`~sklearn.model_selection.StratifiedKFold`
    stratifies on one label per row, and the integer ``cv`` of
    ``GridSearchCV`` or ``cross_val_score`` calls ``type_of_target(Y)``,
    which fails on a DataFrame mixing string and numeric task columns and
    does not stratify a multi-task ``Y`` at all. This splitter uses
    *iterative stratification* (Sechidis, Tsoumakas and Vlahavas, 2011):
    every ``(task, label)`` pair is one label, and the rows are dealt out
    label by label, rarest label first, each to the fold that most lacks
    that label, so that every fold holds its share of the rows of every
    label of every task.

    A missing label (``NaN``, ``None``, ``pd.NA``) is no label: the row
    counts only for the labels it has. Rows with no label at all fill the
    folds last. Fold sizes are those of :class:`~sklearn.model_selection.KFold`:
    the first ``n_samples % n_splits`` folds have ``n_samples // n_splits + 1``
    rows, the others ``n_samples // n_splits``, so sizes differ by at most one.

    Parameters
    ----------
    n_splits : int, default=5
        Number of folds, at least 2.
    shuffle : bool, default=False
        Whether to visit the rows, and to break ties between labels and
        between folds, in a random order. With ``shuffle=False`` ties go to
        the earlier row, label and fold, so the split depends on ``Y`` alone.
    random_state : int, RandomState instance or None, default=None
        Seed of the shuffling when ``shuffle=True``; must be ``None``
        otherwise. Pass an int for the same folds at every call of ``split``.

    See Also
    --------
    sklearn.model_selection.StratifiedKFold : Stratified on a single label.
    sklearn.model_selection.KFold : Not stratified.

    Notes
    -----
    A fold's share of a label is the label's row count times the fold's
    fraction of the rows. The label with the fewest rows still unplaced
    goes first; each of its rows goes to the fold, among those not yet
    full, that lacks the most whole rows of that label, then the one that
    lacks the row's labels of the other tasks most, then the one with the
    largest fraction of its size still free. With a single task and
    ``n_samples`` divisible by ``n_splits`` this deals every class out like
    :class:`~sklearn.model_selection.StratifiedKFold`: its counts in any
    two folds differ by at most one. With several tasks no split can meet
    every share at once; on generated imbalanced data with missing labels
    the worst count over all labels and folds misses its share by about one
    row on average (under four at worst), against about five rows for a
    shuffled :class:`~sklearn.model_selection.KFold`.

    Labels are compared by equality within each task (through
    :func:`pandas.factorize`), never sorted. Every distinct value is a
    label, so bin a continuous target (e.g. with :func:`pandas.qcut`) before
    stratifying on it. A label with fewer rows than ``n_splits`` cannot
    reach every test fold, and a label of a single row is missing from one
    training fold: fix the classes with
    ``MultiTaskClassifier(classes={task: [...]})`` to keep
    ``predict_proba``'s columns the same in every fold.

    References
    ----------
    K. Sechidis, G. Tsoumakas and I. Vlahavas, "On the stratification of
    multi-label data", ECML PKDD 2011, pp. 145-158.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skmtl.model_selection import MultiTaskStratifiedKFold
    >>> Y = pd.DataFrame({
    ...     "species": ["Adelie", "Adelie", "Gentoo", "Gentoo", "Adelie", "Gentoo"],
    ...     "sex": [0, np.nan, 1, 0, 1, np.nan],
    ... })
    >>> X = np.zeros((6, 2))
    >>> cv = MultiTaskStratifiedKFold(n_splits=2)
    >>> for train, test in cv.split(X, Y):
    ...     print(test, Y["species"].iloc[test].tolist(), Y["sex"].iloc[test].tolist())
    [0 4 5] ['Adelie', 'Adelie', 'Gentoo'] [0.0, 1.0, nan]
    [1 2 3] ['Adelie', 'Gentoo', 'Gentoo'] [nan, 1.0, 0.0]

    Each fold gets one of each sex, and the species split as evenly as
    three rows allow; the missing sex labels count for nothing.

    In a search, pass it as ``cv``:

    >>> from sklearn.model_selection import GridSearchCV
    >>> from skmtl import MultiTaskClassifier
    >>> search = GridSearchCV(
    ...     MultiTaskClassifier(), {"lr": [1e-3, 1e-2]},
    ...     cv=MultiTaskStratifiedKFold(5, shuffle=True, random_state=0),
    ... )
    """

    def __init__(
        self, n_splits: int = 5, *, shuffle: bool = False, random_state: Any = None
    ) -> None:
        super().__init__(n_splits=n_splits, shuffle=shuffle, random_state=random_state)

    def split(
        self, X: Any, y: Any = None, groups: Any = None
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Generate the indices of the training and test rows of each fold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features) or None
            Training data; only its number of rows is used (``None`` takes
            it from ``y``).
        y : dict, DataFrame or array-like of shape (n_samples,) or (n_samples, n_tasks)
            The targets ``Y``, in any kind ``MultiTaskClassifier.fit``
            accepts; ``NaN``, ``None`` and ``pd.NA`` mark missing labels.
        groups : None
            Ignored (with a warning when given); exists for compatibility.

        Yields
        ------
        train : ndarray
            The indices of the training rows of the fold, sorted.
        test : ndarray
            The indices of the test rows of the fold, sorted.
        """
        if groups is not None:
            warnings.warn(
                f"The groups parameter is ignored by {type(self).__name__}.",
                UserWarning,
                stacklevel=2,
            )
        test_folds = self._test_folds(X, y)
        indices = np.arange(len(test_folds))
        for fold in range(self.n_splits):
            in_test = test_folds == fold
            yield indices[~in_test], indices[in_test]

    def _test_folds(self, X: Any, y: Any) -> np.ndarray:
        """The test fold of every row."""
        if y is None:
            raise ValueError(
                f"{type(self).__name__} stratifies on the labels, but y is None. Pass the "
                "targets: split(X, Y), or cross_val_score(model, X, Y, cv=...). To split "
                "without labels, use sklearn.model_selection.KFold."
            )
        labels, n_labels = _label_matrix(y)
        n_samples = len(labels)
        if X is not None:
            try:
                check_consistent_length(X, labels)
            except ValueError as exc:
                raise ValueError(
                    f"X and Y must have one row per sample, but they differ ({exc}). "
                    "Pass the Y of the same rows as X."
                ) from None
        if self.n_splits > n_samples:
            fix = (
                f"Use n_splits={n_samples} or fewer, or more rows."
                if n_samples > 1
                else "Cross-validation needs at least 2 rows."
            )
            raise ValueError(
                f"Cannot split {n_samples} rows into n_splits={self.n_splits} folds: every "
                f"test fold needs at least one row. {fix}"
            )
        rng = check_random_state(self.random_state) if self.shuffle else None
        return _iterative_stratification(labels, n_labels, self.n_splits, rng)


def _best_fold(keys: list[tuple | None], rng: np.random.RandomState | None) -> int:
    """The fold with the greatest key (``None``: a full fold); a tie goes to
    a random one of them, or to the first without ``rng``."""
    best = max(key for key in keys if key is not None)
    ties = [j for j, key in enumerate(keys) if key == best]
    if rng is None or len(ties) == 1:
        return ties[0]
    return ties[rng.randint(len(ties))]


def _iterative_stratification(
    labels: np.ndarray, n_labels: int, n_splits: int, rng: np.random.RandomState | None
) -> np.ndarray:
    """Assign every row of ``labels`` (label ids, -1 missing) to a test fold.

    Sechidis et al.'s iterative stratification, with fold sizes fixed up
    front (a fold takes no row beyond its size), a label's demand compared
    in whole rows, and ties broken by the row's other labels and by how
    full the folds are. Demands are integers scaled by ``n_samples``, so
    ties are exact.
    """
    n_samples = len(labels)
    k = n_splits
    sizes = np.full(k, n_samples // k, dtype=np.int64)
    sizes[: n_samples % k] += 1

    order = rng.permutation(n_samples) if rng is not None else np.arange(n_samples)
    rows_labels = [[int(i) for i in row[row >= 0]] for row in labels]
    members: list[list[int]] = [[] for _ in range(n_labels)]
    for r in order:
        for i in rows_labels[r]:
            members[i].append(int(r))
    totals = [len(m) for m in members]

    # need[i][j] * n_samples: rows of label i that fold j still lacks
    need = [[total * int(size) for size in sizes] for total in totals]
    capacity = [int(s) for s in sizes]  # rows fold j still takes
    # room * other_size orders the folds by the fraction of their size still
    # free, in integers: sizes are s and s + 1, so other_size is the other one
    other_size = [int(sizes.min() + sizes.max() - s) for s in sizes]
    label_rank = rng.permutation(n_labels) if rng is not None else np.arange(n_labels)
    remaining = list(totals)
    test_folds = np.full(n_samples, -1, dtype=np.int64)

    # the label with the fewest unassigned rows, by a heap with lazy updates
    heap = [(remaining[i], int(label_rank[i]), i) for i in range(n_labels) if remaining[i]]
    heapq.heapify(heap)
    while heap:
        count, _, label = heapq.heappop(heap)
        if count != remaining[label] or count == 0:
            continue  # stale: the label has fewer rows left, or none
        label_need = need[label]
        for r in members[label]:
            if test_folds[r] >= 0:
                continue
            others = [need[i] for i in rows_labels[r] if i != label]
            # the open fold lacking this label most (in whole rows), then the
            # row's other labels most, then the emptiest
            keys = [
                (
                    -(-label_need[j] // n_samples),
                    sum(other[j] for other in others),
                    room * other_size[j],
                )
                if room > 0
                else None
                for j, room in enumerate(capacity)
            ]
            fold = _best_fold(keys, rng)
            test_folds[r] = fold
            capacity[fold] -= 1
            for i in rows_labels[r]:
                need[i][fold] -= n_samples
                remaining[i] -= 1
                if i != label and remaining[i]:
                    heapq.heappush(heap, (remaining[i], int(label_rank[i]), i))

    # rows without any label fill what is left of each fold
    for r in order:
        if test_folds[r] < 0:
            fold = _best_fold([(room,) if room > 0 else None for room in capacity], rng)
            test_folds[r] = fold
            capacity[fold] -= 1
    return test_folds


# ----------------------------------------------------------- cross_val_predict


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
    encoder = _final_step(model).target_encoder_
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
    model = _final_step(estimator)
    if not _is_multi_task(model):
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
