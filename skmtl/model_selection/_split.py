"""Cross-validation splitters for multi-task targets with missing labels."""

from __future__ import annotations

import heapq
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection._split import _BaseKFold
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_consistent_length

from ..targets import read_tasks


def _label_matrix(y: Any) -> tuple[np.ndarray, int]:
    """Encode every (task, label) pair of ``y`` as one integer id.

    Returns an ``(n_samples, n_tasks)`` int64 matrix of label ids, ``-1``
    where a row has no label for a task, and the number of distinct ids.
    Labels are told apart by hashing (:func:`pandas.factorize`), never by
    sorting, so a task may mix strings with numbers.
    """
    cols = list(read_tasks(y).values())
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
