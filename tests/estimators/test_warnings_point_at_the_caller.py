"""A warning raised while fitting points at the user's call, not inside skmtl,
on the chosen-epochs path (two runs deep) and the plain one alike."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from support import make_clf, make_tasks

from skmtl import MultiTaskClassifier


def unlabelled_rows():
    X, Y = make_tasks(120)
    Y = {task: values.astype(object) for task, values in Y.items()}
    for values in Y.values():
        values[:5] = None
    return X, Y


@pytest.mark.parametrize(
    "make", [lambda: make_clf(max_epochs=1), lambda: MultiTaskClassifier(random_state=0)],
    ids=["plain", "chosen_epochs"],
)  # fmt: skip
def test_the_dropped_rows_warning_points_at_fit(make):
    X, Y = unlabelled_rows()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make().fit(X, Y)
    dropped = [w for w in caught if "Dropped 5 row" in str(w.message)]
    assert dropped and all(w.filename == __file__ for w in dropped)


def test_the_large_values_warning_points_at_fit():
    X, Y = make_tasks(60)
    X = X * 1e7
    with pytest.warns(UserWarning, match="magnitude") as caught:
        make_clf(max_epochs=1, feature_scaling=None).fit(X, Y)
    assert all(w.filename == __file__ for w in caught if "magnitude" in str(w.message))
    assert np.isfinite(X).all()
