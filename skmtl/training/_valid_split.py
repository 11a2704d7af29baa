"""Internal train/validation split for multi-task targets with missing labels."""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit
from skorch.dataset import ValidSplit, get_len
from skorch.utils import to_numpy


def _integral(column: np.ndarray) -> bool:
    labelled = column[~np.isnan(column)]
    return bool(np.all(labelled == np.round(labelled)))


def _strata(y: np.ndarray, min_count: int, max_strata: int) -> np.ndarray | None:
    """The labels to stratify on: the joint label combination of all tasks
    (a missing label counts as its own value), else the first single task,
    whose strata each hold ``min_count`` rows and number at most
    ``max_strata``; None where none does."""
    codes = y.reshape(len(y), -1)
    if codes.dtype.kind == "f":
        # mixed tasks: stratify on the class codes only, never on numbers
        whole = [j for j in range(codes.shape[1]) if _integral(codes[:, j])]
        if not whole:
            return None
        codes = np.nan_to_num(codes[:, whole], nan=-1).astype(np.int64)
    candidates = [np.unique(codes, axis=0, return_inverse=True)[1].ravel()]
    candidates += [codes[:, j] for j in range(codes.shape[1])]
    for labels in candidates:
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() >= min_count and len(counts) <= max_strata:
            return labels
    return None


def _subsets(dataset, idx_train, idx_valid) -> tuple:
    return torch.utils.data.Subset(dataset, idx_train), torch.utils.data.Subset(dataset, idx_valid)


class MultiTaskValidSplit(ValidSplit):
    """Hold out part of the training data for validation, stratified if possible.

    skorch's :class:`~skorch.dataset.ValidSplit` stratifies on a 1-D ``y``
    and fails on a multi-task ``y``. This split stratifies on the joint
    label combination of all tasks (a missing label counts as its own
    value); where some combination is too rare, on the first single task
    whose classes are all frequent enough; and otherwise falls back to a
    shuffled split. It never fails for lack of samples: with too few rows
    to hold any out, it returns no validation set.

    Parameters
    ----------
    cv : float or int, default=0.2
        A float is the fraction held out; an int ``k`` holds out ``1/k``.
    stratified : bool, default=True
        Whether to try the stratified splits before the shuffled one.
    random_state : int, RandomState instance or None, default=None
        Seed of the split. ``None`` draws the seed from torch's random
        generator, so the estimator's ``random_state`` makes the split
        repeatable.

    Examples
    --------
    It is the estimators' default ``train_split``; pass one to change the
    fraction held out:

    >>> import numpy as np
    >>> from skmtl import MultiTaskClassifier, MultiTaskValidSplit
    >>> X = np.random.default_rng(0).normal(size=(200, 4))
    >>> Y = {"a": X[:, 0] > 0, "b": X[:, 1] > 0.5}
    >>> clf = MultiTaskClassifier(
    ...     train_split=MultiTaskValidSplit(0.25, random_state=0), max_epochs=2, random_state=0
    ... ).fit(X, Y)
    >>> "valid_acc" in clf.history[-1]
    True

    Called on a dataset and the class codes of its tasks (a missing label
    is NaN), it returns the training and the validation subsets; here
    stratified on both tasks at once:

    >>> from skorch.dataset import Dataset
    >>> codes = np.stack([Y["a"], Y["b"]], axis=1).astype(float)
    >>> train, valid = MultiTaskValidSplit(0.25, random_state=0)(Dataset(X, codes), codes)
    >>> len(train), len(valid)
    (150, 50)
    >>> codes.mean(axis=0).round(2).tolist(), codes[valid.indices].mean(axis=0).round(2).tolist()
    ([0.46, 0.32], [0.46, 0.3])
    """

    def __init__(self, cv: float | int = 0.2, stratified: bool = True, random_state=None):
        # skorch's constructor rejects random_state with an int cv; here an
        # int is only a fraction, so the seed always applies.
        if isinstance(cv, bool) or not isinstance(cv, Real) or cv <= 0:
            raise ValueError(f"cv must be a positive fraction or int; got {cv!r}.")
        if not isinstance(cv, Integral) and cv >= 1:
            raise ValueError(f"A float cv is the held-out fraction, in (0, 1); got {cv}.")
        self.cv = cv
        self.stratified = stratified
        self.random_state = random_state

    def _fraction(self) -> float:
        return 1.0 / self.cv if isinstance(self.cv, Integral) else float(self.cv)

    def __call__(self, dataset, y=None, groups=None):
        if groups is not None:
            raise ValueError(
                "MultiTaskValidSplit does not split by groups. For a grouped "
                "validation split pass e.g. train_split=skorch.dataset.ValidSplit("
                "GroupKFold(5)) and the groups to fit."
            )
        n = get_len(dataset)
        n_valid = math.ceil(self._fraction() * n)
        if n_valid < 1 or n - n_valid < 1:
            return dataset, None
        seed = self.random_state
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        strata = None
        if self.stratified and y is not None:
            strata = _strata(to_numpy(y), 2, min(n_valid, n - n_valid))
        if strata is None:
            splitter = ShuffleSplit(1, test_size=n_valid, random_state=seed)
        else:
            splitter = StratifiedShuffleSplit(1, test_size=n_valid, random_state=seed)
        return _subsets(dataset, *next(splitter.split(np.arange(n), strata)))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(cv={self.cv!r}, stratified={self.stratified!r}, "
            f"random_state={self.random_state!r})"
        )


class BagFoldSplit:
    """One fold of a bag (``bag_folds``): the rows outside fold ``fold`` of
    ``n_folds`` train, the fold validates.

    Stratified as :class:`MultiTaskValidSplit` is, where every stratum has a
    row for each fold; shuffled otherwise. Every member of a bag draws the
    same folds from ``random_state``. Fewer labelled rows than folds are
    refused (as scikit-learn's ``KFold`` refuses them): a fold without rows
    would leave its network unstopped.
    """

    def __init__(self, n_folds: int, fold: int, random_state: int):
        self.n_folds = n_folds
        self.fold = fold
        self.random_state = random_state

    def __call__(self, dataset, y=None, groups=None):
        if groups is not None:
            raise ValueError(
                "bag_folds cuts the rows into folds without groups. For grouped "
                "validation set bag_folds=None and pass e.g. train_split=skorch.dataset."
                "ValidSplit(GroupKFold(5)) and the groups to fit."
            )
        n = get_len(dataset)
        if n < self.n_folds:
            raise ValueError(
                f"bag_folds holds out each of {self.n_folds} folds in turn, so it needs "
                f"at least {self.n_folds} labelled rows; Y has {n}. Set bag_folds to at "
                f"most {n}, or bag_folds=None to train one network."
            )
        strata = None if y is None else _strata(to_numpy(y), self.n_folds, n // self.n_folds)
        kind = KFold if strata is None else StratifiedKFold
        folds = kind(self.n_folds, shuffle=True, random_state=self.random_state)
        return _subsets(dataset, *list(folds.split(np.arange(n), strata))[self.fold])

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_folds={self.n_folds!r}, fold={self.fold!r}, "
            f"random_state={self.random_state!r})"
        )
