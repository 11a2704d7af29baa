"""compare_single_task: the multi-task model against one model per task."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import KFold
from support import make_clf

from skmtl import compare_single_task, task_scorer


def test_compare_single_task_matches_a_manual_cross_validation(penguins):
    X, Y = penguins
    clf = make_clf(max_epochs=5)
    table = compare_single_task(clf, X, Y, cv=2, random_state=3)
    assert list(table.index) == ["species", "sex", "island"]
    assert list(table.columns) == ["multi_task", "single_task", "gain", "gain_std"]
    np.testing.assert_allclose(table["gain"], table["multi_task"] - table["single_task"])
    # the same numbers by hand, for one task
    multi, single = [], []
    for train, test in KFold(2, shuffle=True, random_state=3).split(X):
        joint = make_clf(max_epochs=5).fit(X.iloc[train], Y.iloc[train])
        multi.append(task_scorer("sex")(joint, X.iloc[test], Y.iloc[test]))
        rows = Y["sex"].iloc[train].notna().to_numpy()
        alone = make_clf(max_epochs=5).fit(X.iloc[train][rows], Y.iloc[train][rows][["sex"]])
        single.append(task_scorer("sex")(alone, X.iloc[test], Y.iloc[test][["sex"]]))
    assert table.loc["sex", "multi_task"] == pytest.approx(np.mean(multi))
    assert table.loc["sex", "single_task"] == pytest.approx(np.mean(single))


def test_compare_single_task_accepts_dict_and_scoring(tasks_data):
    X, Y = tasks_data
    table = compare_single_task(make_clf(), X, Y, cv=2, scoring="balanced_accuracy")
    assert list(table.index) == ["binary", "colour", "flag"]
    assert ((table["multi_task"] > 0) & (table["multi_task"] <= 1)).all()


def test_compare_single_task_needs_named_tasks(tasks_data):
    X, Y = tasks_data
    with pytest.raises(ValueError, match="needs Y as a DataFrame or a dict"):
        compare_single_task(make_clf(), X, pd.DataFrame(Y).to_numpy(), cv=2)
