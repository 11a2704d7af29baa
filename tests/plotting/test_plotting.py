"""skmtl.plotting draws what the history and task_affinity_ hold."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from support import make_clf

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from skmtl.plotting import plot_learning_curves, plot_task_affinity, plot_task_weights  # noqa: E402

#: What every function that takes a skmtl model says of another estimator.
TAKES = "takes a MultiTaskClassifier, a MultiTaskRegressor or a Pipeline ending in one"


@pytest.fixture(scope="module")
def fitted():
    from support import make_tasks

    X, Y = make_tasks()
    return make_clf(max_epochs=4, task_weighting="dwa", affinity_every=1).fit(X, Y), X, Y


def test_learning_curves_are_the_per_task_losses(fitted):
    clf, _, _ = fitted
    ax = plot_learning_curves(clf)
    lines = {line.get_label(): line for line in ax.get_lines()}
    for task in clf.tasks_:
        for phase in ("train", "valid"):
            line = lines[f"{task} ({phase})"]
            np.testing.assert_array_equal(line.get_ydata(), clf.history[:, f"{phase}_loss_{task}"])
            np.testing.assert_array_equal(line.get_xdata(), clf.history[:, "epoch"])
        assert lines[f"{task} (valid)"].get_linestyle() == "--"


def test_learning_curves_of_the_metric(fitted):
    clf, _, _ = fitted
    ax = plot_learning_curves(clf, metric=True)
    assert [line.get_label() for line in ax.get_lines()] == [str(t) for t in clf.tasks_]
    for line, task in zip(ax.get_lines(), clf.tasks_, strict=True):
        np.testing.assert_array_equal(line.get_ydata(), clf.history[:, f"valid_acc_{task}"])
    assert ax.get_ylabel() == "validation score"


def test_task_weights_follow_the_weighting(fitted):
    clf, _, _ = fitted
    ax = plot_task_weights(clf)
    for line, task in zip(ax.get_lines(), clf.tasks_, strict=True):
        np.testing.assert_array_equal(line.get_ydata(), clf.history[:, f"weight_{task}"])
    assert "dwa" in ax.get_title()


def test_task_affinity_heatmap_shows_the_matrix(fitted):
    clf, _, _ = fitted
    ax = plot_task_affinity(clf)
    np.testing.assert_array_equal(ax.images[0].get_array(), clf.task_affinity_.to_numpy())
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == [str(t) for t in clf.tasks_]
    frame = pd.DataFrame([[0.0, -0.5], [-0.5, 0.0]], index=["a", "b"], columns=["a", "b"])
    ax = plot_task_affinity(frame)
    assert ax.images[0].get_clim() == (-0.5, 0.5)  # centred on zero


def test_a_pipeline_and_a_given_axes(fitted):
    import matplotlib.pyplot as plt

    _, X, Y = fitted
    pipe = make_pipeline(StandardScaler(), make_clf(max_epochs=2)).fit(X, Y)
    _, ax = plt.subplots()
    assert plot_learning_curves(pipe, ax=ax) is ax
    assert len(ax.get_lines()) == 2 * len(pipe[-1].tasks_)


def test_foreign_or_unfitted_estimators_are_refused():
    with pytest.raises(TypeError, match=f"skmtl.plotting {TAKES}"):
        plot_learning_curves(LogisticRegression())
    with pytest.raises(NotFittedError):
        plot_task_weights(make_clf())


def test_the_selection_run_of_auto_epochs_can_be_plotted():
    from support import make_tasks

    from skmtl import MultiTaskClassifier

    X, Y = make_tasks()
    clf = MultiTaskClassifier(hidden_units=(8,), patience=2, random_state=0, bag_folds=None).fit(
        X, Y
    )
    ax = plot_learning_curves(clf, selection=True, metric=True)
    first = ax.get_lines()[0]
    np.testing.assert_allclose(
        first.get_ydata(), clf.selection_history_[:, f"valid_acc_{clf.tasks_[0]}"]
    )
    # the final fit has no validation split: training losses only
    assert len(plot_learning_curves(clf).get_lines()) == len(clf.tasks_)
    with pytest.raises(ValueError, match="only a fit with max_epochs='auto'") as info:
        plot_learning_curves(make_clf().fit(X, Y), selection=True)
    assert "bag" not in str(info.value)  # said of a bag only
    bag = MultiTaskClassifier(hidden_units=(8,), patience=2, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match=r"network has\. A bag \(bag_folds\) has none"):
        plot_learning_curves(bag, selection=True)
    # no validation scores to draw: said, not an empty plot
    for run in (clf, make_clf(max_epochs=0).fit(X, Y)):
        with pytest.raises(ValueError, match="metric=True plots the validation scores, and"):
            plot_learning_curves(run, metric=True)
