"""The internal validation split: stratified where possible, never crashing."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset
from support import make_clf

from skmtl import MultiTaskValidSplit


def _split(y, **params):
    y = np.asarray(y)
    X = np.zeros((len(y), 1), dtype=np.float32)
    train, valid = MultiTaskValidSplit(**params)(Dataset(X, y), y)
    if valid is None:
        return np.asarray(train.y if hasattr(train, "y") else y), None
    return y[train.indices], y[valid.indices]


def test_joint_stratification_keeps_every_label_combination():
    # four joint combinations in proportions 40/20/20/20 (missing counts as a value)
    y = np.array([[0, 1]] * 40 + [[1, -1]] * 20 + [[1, 0]] * 20 + [[0, -1]] * 20)
    _, valid = _split(y, cv=0.2, random_state=0)
    rows, counts = np.unique(valid, axis=0, return_counts=True)
    got = dict(zip(map(tuple, rows), counts, strict=True))
    assert got == {(0, -1): 4, (0, 1): 8, (1, -1): 4, (1, 0): 4}


def test_rare_combination_falls_back_to_a_single_task():
    # the joint combination (1, 2) occurs once, but task 0 alone is stratifiable
    y = np.array([[0, 0]] * 50 + [[1, 1]] * 49 + [[1, 2]])
    _, valid = _split(y, cv=0.2, random_state=0)
    assert sorted(np.bincount(valid[:, 0])) == [10, 10]


def test_unstratifiable_targets_fall_back_to_shuffle():
    y = np.arange(30).reshape(-1, 1)  # every class a singleton
    train, valid = _split(y, cv=0.2, random_state=0)
    assert len(valid) == 6 and len(train) == 24
    assert not set(valid.ravel()) & set(train.ravel())


def test_too_few_rows_give_no_validation_set():
    train, valid = _split(np.zeros((1, 1), dtype=int), cv=0.2)
    assert valid is None
    train, valid = _split(np.zeros((2, 1), dtype=int), cv=0.2)
    assert len(train) == len(valid) == 1


def test_int_cv_holds_out_one_kth():
    _, valid = _split(np.tile([0, 1], 50).reshape(-1, 1), cv=5, random_state=0)
    assert len(valid) == 20


def test_seed_from_random_state_or_torch():
    y = np.tile([0, 1, 2], 40).reshape(-1, 1)
    X = np.zeros((len(y), 1), dtype=np.float32)
    split = MultiTaskValidSplit(0.25)
    torch.manual_seed(3)
    first = split(Dataset(X, y), y)[1].indices
    torch.manual_seed(3)
    again = split(Dataset(X, y), y)[1].indices
    np.testing.assert_array_equal(first, again)
    fixed = MultiTaskValidSplit(0.25, random_state=1)
    np.testing.assert_array_equal(
        fixed(Dataset(X, y), y)[1].indices, fixed(Dataset(X, y), y)[1].indices
    )


def test_groups_are_refused_with_advice():
    y = np.zeros((10, 1), dtype=int)
    with pytest.raises(ValueError, match="does not split by groups.*GroupKFold"):
        MultiTaskValidSplit()(Dataset(np.zeros((10, 1)), y), y, groups=np.arange(10))


@pytest.mark.parametrize("cv", [0, -1, 1.5, "a", True])
def test_bad_cv(cv):
    with pytest.raises(ValueError, match="cv"):
        MultiTaskValidSplit(cv)


def test_estimator_trains_with_sparse_missing_labels_and_tiny_data(tasks_data):
    X, Y = tasks_data
    sparse = {t: np.array(v, dtype=object) for t, v in Y.items()}
    rng = np.random.default_rng(0)
    for v in sparse.values():
        v[rng.random(len(v)) < 0.6] = None
    with pytest.warns(UserWarning, match="no label for any task"):
        clf = make_clf(max_epochs=2).fit(X, sparse)
    assert np.isfinite(clf.history[:, "valid_loss"]).all()
    tiny = make_clf(max_epochs=2).fit(X[:2], {"t": [0, 1]})
    assert tiny.history[-1, "batches", -1, "valid_batch_size"] == 1
