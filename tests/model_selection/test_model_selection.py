"""MultiTaskStratifiedKFold: a partition of the rows, stratified on every task's labels."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    StratifiedKFold,
    cross_val_score,
    cross_validate,
)
from sklearn.utils.multiclass import type_of_target
from support import make_clf, make_tasks

from skmtl import task_scorer
from skmtl.model_selection import MultiTaskStratifiedKFold
from skmtl.model_selection._split import _label_matrix

# ---------------------------------------------------------------- helpers


def _test_folds(splits, n):
    """The test fold of every row, checking that the splits partition ``range(n)``."""
    folds = np.full(n, -1)
    for f, (train, test) in enumerate(splits):
        assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)  # sorted, unique
        assert (folds[test] == -1).all(), "a row is in two test folds"
        folds[test] = f
        assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
    assert (folds >= 0).all(), "a row is in no test fold"
    return folds


def _labels(Y):
    """``{(task, label): boolean mask}`` of every label of every task of a DataFrame."""
    masks = {}
    for task in Y.columns:
        col = Y[task]
        for value in col.dropna().unique():
            masks[task, value] = (col == value).fillna(False).to_numpy(dtype=bool)
    return masks


def _deviations(Y, splits, tasks=None):
    """``|count in test fold - share|`` for every (task, label) and fold.

    A fold's share of a label is the label's count times the fold's fraction of the rows.
    """
    Y = Y if tasks is None else Y[tasks]
    folds = _test_folds(list(splits), len(Y))
    sizes = np.bincount(folds)
    out = []
    for mask in _labels(Y).values():
        counts = np.bincount(folds[mask], minlength=len(sizes))
        out.append(np.abs(counts - mask.sum() * sizes / len(Y)))
    return np.concatenate(out)


def _imbalanced(n=600, seed=0):
    """Four imbalanced tasks of different label types, with missing labels."""
    rng = np.random.default_rng(seed)
    Y = pd.DataFrame(
        {
            "species": rng.choice(["x", "y", "z"], size=n, p=[0.8, 0.15, 0.05]),
            "binary": rng.choice([0, 1], size=n, p=[0.9, 0.1]).astype(float),
            "grade": rng.choice(5, size=n, p=[0.5, 0.2, 0.15, 0.1, 0.05]),
            "rare": rng.choice(["p", "q"], size=n, p=[0.7, 0.3]).astype(object),
        }
    )
    Y.loc[rng.random(n) < 0.3, "binary"] = np.nan
    Y.loc[rng.random(n) < 0.9, "rare"] = None
    return Y


def _folds(cv, y):
    n = len(next(iter(y.values()))) if isinstance(y, dict) else len(y)
    return _test_folds(cv.split(np.zeros((n, 1)), y), n)


# ------------------------------------------------------- partition property


label_matrices = st.integers(2, 6).flatmap(
    lambda k: st.tuples(
        st.just(k),
        st.integers(k, 60).flatmap(
            lambda n: st.lists(
                st.lists(st.sampled_from([None, "a", "b", 0, 1, 2]), min_size=n, max_size=n),
                min_size=1,
                max_size=4,
            )
        ),
        st.booleans(),
        st.integers(0, 2**16),
    )
)


@given(case=label_matrices)
def test_folds_partition_the_rows_with_kfold_sizes(case):
    k, columns, shuffle, seed = case
    Y = pd.DataFrame({f"t{j}": pd.Series(col, dtype=object) for j, col in enumerate(columns)})
    cv = MultiTaskStratifiedKFold(k, shuffle=shuffle, random_state=seed if shuffle else None)
    folds = _folds(cv, Y)
    kfold_sizes = [len(test) for _, test in KFold(k).split(Y)]
    assert np.bincount(folds, minlength=k).tolist() == kfold_sizes  # differ by at most 1
    assert cv.get_n_splits(Y, Y) == k


def test_rows_without_any_label_fill_the_folds():
    Y = _imbalanced(100)
    Y.iloc[::3] = None  # a third of the rows have no label at all
    cv = MultiTaskStratifiedKFold(4)
    assert np.bincount(_folds(cv, Y)).tolist() == [25, 25, 25, 25]
    # they take what room the labelled rows leave: the labelled rows stay stratified
    assert _deviations(Y, cv.split(Y, Y)).max() < 2
    shuffled = KFold(4, shuffle=True, random_state=0).split(Y)
    assert _deviations(Y, shuffled).max() > 2


# ------------------------------------------------------ stratification quality


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_label_of_every_task_closer_to_its_share_than_kfold(seed):
    Y = _imbalanced(seed=seed)
    ours = [_deviations(Y, MultiTaskStratifiedKFold(5).split(Y, Y))]
    ours += [
        _deviations(Y, MultiTaskStratifiedKFold(5, shuffle=True, random_state=s).split(Y, Y))
        for s in range(3)
    ]
    kfold = [_deviations(Y, KFold(5).split(Y))]
    kfold += [_deviations(Y, KFold(5, shuffle=True, random_state=s).split(Y)) for s in range(5)]
    worst_ours = max(d.max() for d in ours)
    # the worst miss of every one of our splits beats the best KFold split's worst miss
    assert worst_ours < min(d.max() for d in kfold)
    assert max(d.mean() for d in ours) < min(d.mean() for d in kfold) / 3
    assert worst_ours <= 2.5  # rows; the shares themselves are fractional


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_other_tasks_better_than_stratified_kfold_on_the_first(seed):
    Y = _imbalanced(seed=seed)
    others = ["binary", "grade", "rare"]
    skf = list(StratifiedKFold(5).split(Y, Y["species"]))
    ours = list(MultiTaskStratifiedKFold(5).split(Y, Y))
    ours_others, skf_others = _deviations(Y, ours, others), _deviations(Y, skf, others)
    assert ours_others.max() <= skf_others.max()
    assert ours_others.sum() < skf_others.sum() / 3
    # and the first task, which StratifiedKFold balances to within a row, stays close
    assert _deviations(Y, ours, ["species"]).max() < 2


@given(
    k=st.integers(2, 6),
    per_fold=st.integers(1, 20),
    n_classes=st.integers(1, 6),
    missing=st.floats(0, 0.5),
    seed=st.integers(0, 2**16),
    shuffle=st.booleans(),
)
def test_one_task_deals_classes_like_stratified_kfold(
    k, per_fold, n_classes, missing, seed, shuffle
):
    # with equal fold sizes, each class's counts in two folds differ by at most one
    rng = np.random.default_rng(seed)
    n = k * per_fold
    y = rng.choice(n_classes, size=n, p=rng.dirichlet(np.ones(n_classes) / 2)).astype(float)
    y[rng.random(n) < missing] = np.nan
    cv = MultiTaskStratifiedKFold(k, shuffle=shuffle, random_state=seed if shuffle else None)
    folds = _folds(cv, y)
    for value in np.unique(y[~np.isnan(y)]):
        assert np.ptp(np.bincount(folds[y == value], minlength=k)) <= 1


def _random_tasks(seed):
    """2 to 5 tasks of 2 to 6 classes of random sizes, 0-90% missing, and a fold count."""
    rng = np.random.default_rng(seed)
    n, k = int(rng.integers(30, 400)), int(rng.integers(2, 8))
    Y = {}
    for t in range(int(rng.integers(2, 6))):
        c = int(rng.integers(2, 7))
        col = rng.choice(c, size=n, p=rng.dirichlet(np.ones(c) / 2)).astype(float)
        col[rng.random(n) < rng.uniform(0, 0.9)] = np.nan
        Y[f"t{t}"] = col
    return pd.DataFrame(Y), k


def test_random_multi_task_data_far_better_than_kfold():
    ours, kfold = [], []
    for seed in range(40):
        Y, k = _random_tasks(seed)
        ours.append(_deviations(Y, MultiTaskStratifiedKFold(k).split(Y, Y)).max())
        kfold.append(_deviations(Y, KFold(k).split(Y)).max())
    assert np.mean(ours) < np.mean(kfold) / 4


def test_one_task_with_unequal_folds_as_good_as_stratified_kfold():
    ours, skf = [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n, k, c = int(rng.integers(20, 300)), int(rng.integers(2, 8)), int(rng.integers(2, 7))
        Y = pd.DataFrame({"y": rng.choice(c, size=n, p=rng.dirichlet(np.ones(c) / 2))})
        ours.append(_deviations(Y, MultiTaskStratifiedKFold(k).split(Y, Y)).max())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # classes rarer than k
            skf.append(_deviations(Y, StratifiedKFold(k).split(Y, Y["y"])).max())
    assert np.mean(ours) <= np.mean(skf)


def test_penguins_stratified_where_kfold_is_not(penguins):
    _, Y = penguins  # rows sorted by species and island: unshuffled KFold is very skewed
    ours = _deviations(Y, MultiTaskStratifiedKFold(5).split(Y, Y))
    kfold = _deviations(Y, KFold(5).split(Y))
    assert ours.max() < 2 < kfold.max() / 10


# ------------------------------------------------------------ missing labels


def test_missing_labels_are_no_label():
    # a task labelled on 10% of the rows, all at the end: KFold puts them in one fold
    Y = _imbalanced(600)
    Y["late"] = None
    Y.loc[540:, "late"] = np.where(np.arange(60) % 3, "u", "v")
    folds = _folds(MultiTaskStratifiedKFold(5), Y)
    labelled = Y["late"].notna().to_numpy()
    assert np.bincount(folds[labelled], minlength=5).tolist() == [12] * 5
    for value in ("u", "v"):
        counts = np.bincount(folds[(Y["late"] == value).to_numpy()], minlength=5)
        assert np.ptp(counts) <= 1
    kfold = _test_folds(KFold(5).split(Y), len(Y))
    assert np.bincount(kfold[labelled], minlength=5).tolist() == [0, 0, 0, 0, 60]


def test_a_task_without_labels_changes_nothing():
    Y = _imbalanced(200)
    with_empty = Y.assign(empty=np.nan)
    for shuffle, seed in ((False, None), (True, 3)):
        cv = MultiTaskStratifiedKFold(4, shuffle=shuffle, random_state=seed)
        assert np.array_equal(_folds(cv, Y), _folds(cv, with_empty))


@pytest.mark.parametrize("marker", [np.nan, None, pd.NA])
def test_every_missing_marker_gives_the_same_folds(marker):
    Y = _imbalanced(150)
    expected = _folds(MultiTaskStratifiedKFold(3), Y)
    marked = Y.astype(object).where(Y.notna(), marker)
    assert np.array_equal(_folds(MultiTaskStratifiedKFold(3), marked), expected)


# ------------------------------------------------------------ kinds of Y


def test_every_kind_of_y_gives_the_same_folds():
    Y = _imbalanced(120)
    cv = MultiTaskStratifiedKFold(4, shuffle=True, random_state=0)
    expected = _folds(cv, Y)
    as_dict = {task: Y[task].to_numpy() for task in Y.columns}
    as_array = Y.to_numpy(dtype=object)
    shuffled_index = Y.set_axis(np.arange(len(Y))[::-1] * 7)  # the index plays no part
    # a list of rows too: NaN stays missing (a plain np.asarray would make it "nan")
    for y in (as_dict, as_array, as_array.tolist(), shuffled_index):
        assert np.array_equal(_folds(cv, y), expected)


def test_one_task_as_array_series_list_or_column():
    y = _imbalanced(90)["species"]
    cv = MultiTaskStratifiedKFold(3)
    expected = _folds(cv, y)
    for same in (y.to_numpy(), y.tolist(), y.to_frame(), y.to_numpy()[:, None]):
        assert np.array_equal(_folds(cv, same), expected)


def test_labels_of_mixed_types_are_told_apart_without_sorting():
    # one task mixes str and int labels: sklearn's type_of_target cannot sort them
    y = pd.Series(["a", 1, "a", 1, "b", np.nan] * 10, dtype=object)
    with pytest.raises(TypeError, match="not supported between instances"):
        type_of_target(y)
    folds = _folds(MultiTaskStratifiedKFold(5), y)
    for value in ("a", 1, "b"):
        rows = (y == value).to_numpy()
        assert np.bincount(folds[rows], minlength=5).tolist() == [rows.sum() // 5] * 5


def test_same_value_in_two_tasks_is_two_labels():
    ids, n_labels = _label_matrix({"a": [0, 1, None, 1], "b": [1, 1, 0, None]})
    assert n_labels == 4
    assert ids.tolist() == [[0, 2], [1, 2], [-1, 3], [1, -1]]
    # task a's 1s, 10 of them, are spread evenly whatever task b's 1s do
    a = np.array([1] * 10 + [0] * 50)
    b = np.array([1] * 5 + [0] * 25 + [1] * 30)
    for seed in range(5):
        cv = MultiTaskStratifiedKFold(5, shuffle=True, random_state=seed)
        folds = _folds(cv, {"a": a, "b": b})
        assert np.bincount(folds[a == 1], minlength=5).tolist() == [2] * 5


# ------------------------------------------------------------ reproducibility


def test_random_state_makes_the_folds_repeatable():
    Y = _imbalanced(200)
    a = _folds(MultiTaskStratifiedKFold(5, shuffle=True, random_state=7), Y)
    b = _folds(MultiTaskStratifiedKFold(5, shuffle=True, random_state=7), Y)
    c = _folds(MultiTaskStratifiedKFold(5, shuffle=True, random_state=8), Y)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    rng_state = np.random.RandomState(7)  # a generator moves on: the next split differs
    cv = MultiTaskStratifiedKFold(5, shuffle=True, random_state=rng_state)
    assert not np.array_equal(_folds(cv, Y), _folds(cv, Y))


def test_no_shuffle_depends_on_y_alone():
    Y = _imbalanced(200)
    cv = MultiTaskStratifiedKFold(5)
    np.random.seed(0)  # noqa: NPY002 (the global generator plays no part)
    a = _folds(cv, Y)
    np.random.seed(1)  # noqa: NPY002
    assert np.array_equal(_folds(cv, Y), a)
    assert np.array_equal(_folds(MultiTaskStratifiedKFold(5), Y.copy()), a)
    # ties go to the earlier label, row and fold: label 0 is dealt to folds 0, 1, 2, 0, ...
    # in row order, then label 1 likewise
    assert _folds(MultiTaskStratifiedKFold(3), np.array([0, 1] * 6)).tolist() == [
        0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2,
    ]  # fmt: skip


# ------------------------------------------------------------------ errors


def test_y_none_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="y is None.*split\\(X, Y\\).*KFold"):
        next(MultiTaskStratifiedKFold(3).split(np.zeros((10, 2))))


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one row per sample.*\\[10, 9\\]"):
        next(MultiTaskStratifiedKFold(3).split(np.zeros((10, 2)), np.zeros(9)))
    with pytest.raises(ValueError, match="different lengths"):
        next(MultiTaskStratifiedKFold(3).split(None, {"a": [0, 1, 0], "b": [1, 0]}))


def test_more_splits_than_rows_is_refused_with_the_fix():
    Y = pd.DataFrame({"a": ["x", "y", "x"], "b": [0, 1, np.nan]})
    with pytest.raises(
        ValueError, match="Cannot split 3 rows into n_splits=4.*n_splits=3 or fewer"
    ):
        next(MultiTaskStratifiedKFold(4).split(Y, Y))
    assert len(list(MultiTaskStratifiedKFold(3).split(Y, Y))) == 3
    with pytest.raises(ValueError, match="Cannot split 1 rows.*at least 2 rows"):
        next(MultiTaskStratifiedKFold(2).split(None, ["x"]))


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n_splits": 1}, ValueError, "at least one train/test split"),
        ({"n_splits": 2.5}, ValueError, "Integral"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        ({"random_state": 0}, ValueError, "no effect since shuffle is False"),
    ],
)
def test_bad_parameters_are_refused(params, error, match):
    with pytest.raises(error, match=match):
        MultiTaskStratifiedKFold(**params)


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.zeros((4, 2, 2)), "3 dimensions"),
        ({}, "empty dict"),
        (pd.DataFrame(index=range(4)), "no columns"),
        ({"a": np.zeros((4, 2))}, "must be 1-D"),
    ],
)
def test_unusable_y_is_refused(y, match):
    with pytest.raises(ValueError, match=match):
        next(MultiTaskStratifiedKFold(2).split(None, y))


def test_groups_are_ignored_with_a_warning():
    y = np.array([0, 1] * 5)
    with pytest.warns(UserWarning, match="groups parameter is ignored"):
        folds = _test_folds(MultiTaskStratifiedKFold(2).split(y, y, groups=y), 10)
    assert np.array_equal(folds, _folds(MultiTaskStratifiedKFold(2), y))


def test_repr_and_params():
    cv = MultiTaskStratifiedKFold(3, shuffle=True, random_state=1)
    assert repr(cv) == "MultiTaskStratifiedKFold(n_splits=3, random_state=1, shuffle=True)"
    assert cv.get_n_splits() == 3


# ----------------------------------------------- with skmtl's model selection


def _mixed_frame(n=120, seed=0):
    """Task columns of strings, of ints, and of floats with NaN: sklearn cannot sort them."""
    X, Y = make_tasks(n=n, seed=seed)
    rng = np.random.default_rng(seed)
    binary = Y["binary"].astype(float)
    binary[rng.random(n) < 0.2] = np.nan
    return X, pd.DataFrame({"colour": Y["colour"], "binary": binary, "flag": Y["flag"]})


def test_default_integer_cv_fails_on_mixed_columns():
    # pins a scikit-learn limitation: if this starts passing, the user guide can say so
    X, Y = _mixed_frame()
    with pytest.raises(TypeError, match="not supported between instances of"):
        GridSearchCV(make_clf(), {"lr": [0.01]}, cv=3).fit(X, Y)
    with pytest.raises(TypeError, match="not supported between instances of"):
        cross_val_score(make_clf(), X, Y, cv=3)


def test_search_and_cross_val_score_on_mixed_columns():
    X, Y = _mixed_frame()
    # error_score="raise": no fit may fail silently into a NaN
    search = GridSearchCV(
        make_clf(), {"lr": [0.01, 0.03]}, cv=MultiTaskStratifiedKFold(3), error_score="raise"
    ).fit(X, Y)
    scores = cross_val_score(make_clf(), X, Y, cv=MultiTaskStratifiedKFold(3), error_score="raise")
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert np.isfinite(search.best_score_)
    assert len(scores) == 3 and np.isfinite(scores).all()


def _hard_frame(n=120):
    """A 1-row class, a task with 2 labels in all, and a 95/5 task."""
    X, Y = _mixed_frame(n)
    rare = np.where(np.arange(n) % 2, "a", "b").astype(object)
    rare[7] = "r"  # one row: absent from the training rows of the fold that tests it
    sparse = np.full(n, np.nan)
    sparse[[5, 50]] = [0.0, 1.0]  # no label at all in at least one test fold
    skewed = np.where(np.arange(n) % 20 == 3, "minor", "major")
    return X, Y.assign(rare=rare, sparse=sparse, skewed=skewed)


HARD_CLASSES = {"rare": ["a", "b", "r"], "sparse": [0.0, 1.0]}


def test_hard_folds_with_fixed_classes_keep_predict_proba_shapes():
    X, Y = _hard_frame()
    cv = MultiTaskStratifiedKFold(3)
    scoring = {
        "mean": lambda est, X, y: est.score(X, y),
        "sparse": task_scorer("sparse"),
        "skewed": task_scorer("skewed", "balanced_accuracy"),
    }
    result = cross_validate(
        make_clf(classes=HARD_CLASSES),
        X,
        Y,
        cv=cv,
        scoring=scoring,
        return_estimator=True,
        error_score="raise",
    )
    assert np.isfinite(result["test_mean"]).all()
    assert np.isfinite(result["test_skewed"]).all()
    splits = list(cv.split(X, Y))
    for (_, test), est, sparse_score in zip(
        splits, result["estimator"], result["test_sparse"], strict=True
    ):
        shapes = {task: proba.shape for task, proba in est.predict_proba(X[test]).items()}
        assert shapes == {
            "colour": (len(test), 3),
            "binary": (len(test), 2),
            "flag": (len(test), 2),
            "rare": (len(test), 3),
            "sparse": (len(test), 2),
            "skewed": (len(test), 2),
        }
        # task_scorer is NaN (as documented) exactly where the test fold has no label
        assert np.isnan(sparse_score) == Y["sparse"].iloc[test].isna().all()
        # the 95/5 task's minority reaches every test fold
        assert (Y["skewed"].iloc[test] == "minor").sum() == 2
    assert np.isnan(result["test_sparse"]).sum() == 1


def test_hard_folds_in_a_grid_search():
    X, Y = _hard_frame()
    search = GridSearchCV(
        make_clf(classes=HARD_CLASSES),
        {"lr": [0.01, 0.03]},
        cv=MultiTaskStratifiedKFold(3, shuffle=True, random_state=0),
        error_score="raise",
    ).fit(X, Y)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict_proba(X)["rare"].shape == (len(X), 3)


def test_hard_folds_without_fixed_classes_fail_clearly():
    # a task with one label in a training fold cannot be fitted unless its classes are fixed
    X, Y = _hard_frame()
    with pytest.raises(ValueError, match="only one class.*classes="):
        cross_validate(make_clf(), X, Y, cv=MultiTaskStratifiedKFold(3), error_score="raise")


def test_predict_proba_columns_vary_across_folds_unless_classes_are_fixed():
    X, Y = _hard_frame()
    Y = Y.drop(columns="sparse")
    cv = MultiTaskStratifiedKFold(3)
    widths = {}
    for params in ({}, {"classes": {"rare": HARD_CLASSES["rare"]}}):
        result = cross_validate(
            make_clf(**params), X, Y, cv=cv, return_estimator=True, error_score="raise"
        )
        assert np.isfinite(result["test_score"]).all()
        widths[bool(params)] = sorted(
            est.predict_proba(X[test])["rare"].shape[1]
            for (_, test), est in zip(cv.split(X, Y), result["estimator"], strict=True)
        )
    assert widths == {False: [2, 3, 3], True: [3, 3, 3]}


def test_a_task_labelled_only_in_a_test_fold_needs_fixed_classes():
    # one labelled row: one training fold has no label for the task at all
    X, Y = _mixed_frame()
    Y["once"] = np.nan
    Y.loc[3, "once"] = 1.0
    with pytest.raises(ValueError, match="Task 'once' has no labels.*classes="):
        cross_validate(make_clf(), X, Y, cv=MultiTaskStratifiedKFold(3), error_score="raise")
    # with its classes fixed, that fold builds the head untrained, with a warning
    with pytest.warns(UserWarning, match="'once' has no labels in Y; its head is built"):
        result = cross_validate(
            make_clf(classes={"once": [0.0, 1.0]}),
            X,
            Y,
            cv=MultiTaskStratifiedKFold(3),
            error_score="raise",
            return_estimator=True,
        )
    assert np.isfinite(result["test_score"]).all()
    shapes = {est.predict_proba(X)["once"].shape for est in result["estimator"]}
    assert shapes == {(len(X), 2)}
