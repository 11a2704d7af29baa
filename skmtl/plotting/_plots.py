"""Plots of a fitted multi-task estimator's training, with matplotlib.

Each function takes a fitted estimator (or a Pipeline ending in one) and an
optional ``ax``, draws on it (on a new figure's axes when ``ax=None``) and
returns the Axes. Needs the ``plot`` extra: ``pip install skmtl[plot]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..estimators import multi_task_model

__all__ = ["plot_learning_curves", "plot_task_affinity", "plot_task_weights"]


def _axes(ax):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - exercised without the extra
        raise ImportError("skmtl.plotting needs matplotlib: pip install skmtl[plot]") from exc
    if ax is None:
        _, ax = plt.subplots()
    return ax


def _series(history, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Epochs and values of ``key`` in the epochs that recorded it."""
    rows = [(row["epoch"], row[key]) for row in history if key in row]
    if not rows:
        return np.array([]), np.array([])
    epochs, values = zip(*rows, strict=True)
    return np.asarray(epochs), np.asarray(values, dtype=float)


def plot_learning_curves(estimator, *, metric: bool = False, selection: bool = False, ax=None):
    """Each task's training and validation loss (or validation score) by epoch.

    Parameters
    ----------
    estimator : MultiTaskClassifier, MultiTaskRegressor or Pipeline
        Fitted.
    metric : bool, default=False
        Plot each task's validation score (``valid_acc_<task>``, or
        ``valid_r2_<task>`` for a regression task) instead of the losses.
    selection : bool, default=False
        Plot the run that chose the epoch count (``selection_history_``, of
        ``max_epochs="auto"`` with one network, and its validation split)
        instead of the final fit, which trains on every row. A bag
        (``bag_folds``) has no such run; its ``history_`` is its last
        network's, validated on that network's fold.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One solid line per task for training and a dashed one for
        validation (losses), or one line per task (scores).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl.datasets import load_penguins
    >>> from skmtl.plotting import plot_learning_curves
    >>> X, Y = load_penguins(return_X_y=True)
    >>> clf = MultiTaskClassifier(hidden_units=(16,), bag_folds=None, random_state=0)
    >>> clf = clf.fit(X.fillna(X.mean()), Y)
    >>> ax = plot_learning_curves(clf, selection=True)
    >>> len(ax.get_lines())  # train and valid loss of each of the 3 tasks
    6
    """
    model = multi_task_model(estimator, "skmtl.plotting")
    ax = _axes(ax)
    history = model.history
    if selection:
        if not hasattr(model, "selection_history_"):
            message = (
                "selection=True plots the run that chose the epoch count, which only a "
                "fit with max_epochs='auto' (and no early_stopping or train_split) of one "
                "network has."
            )
            if getattr(model, "bag_size_", None):
                message += (
                    " A bag (bag_folds) has none: without selection=True this plots its "
                    "last network, validated on its own fold (bag_histories_ holds each "
                    "network's). Fit with bag_folds=None for one network and its selection run."
                )
            raise ValueError(message)
        history = model.selection_history_
    regression = dict(zip(model.tasks_, model.target_encoder_.regression_, strict=True))
    if metric and not any(key.startswith("valid_") for row in history[-1:] for key in row):
        raise ValueError(
            "metric=True plots the validation scores, and this run has none: it trained "
            "on every row (an int max_epochs, or the refit of max_epochs='auto') or for "
            "no epoch. Plot selection=True for the run that chose the epochs, or fit with "
            "a train_split."
        )
    for task in model.tasks_:
        if metric:
            key = f"valid_r2_{task}" if regression[task] else f"valid_acc_{task}"
            epochs, values = _series(history, key)
            ax.plot(epochs, values, marker=".", label=str(task))
            continue
        (line,) = ax.plot(*_series(history, f"train_loss_{task}"), label=f"{task} (train)")
        epochs, values = _series(history, f"valid_loss_{task}")
        if len(epochs):
            ax.plot(epochs, values, linestyle="--", color=line.get_color(), label=f"{task} (valid)")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation score" if metric else "loss")
    ax.set_title("Learning curves per task")
    ax.legend(fontsize="small")
    return ax


def plot_task_weights(estimator, *, ax=None):
    """Each task's weight by epoch, as the ``task_weighting`` set it.

    Parameters
    ----------
    estimator : MultiTaskClassifier, MultiTaskRegressor or Pipeline
        Fitted. The history records ``weight_<task>`` every epoch: the
        static ``task_weights`` times the weighting's own (constant for
        ``"equal"``, changing for ``"dwa"`` or ``"uncertainty"``).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        One line per task.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl.datasets import load_penguins
    >>> from skmtl.plotting import plot_task_weights
    >>> X, Y = load_penguins(return_X_y=True)
    >>> clf = MultiTaskClassifier(max_epochs=5, task_weighting="dwa", random_state=0)
    >>> ax = plot_task_weights(clf.fit(X.fillna(X.mean()), Y))
    >>> [line.get_label() for line in ax.get_lines()]
    ['species', 'sex', 'island']
    """
    model = multi_task_model(estimator, "skmtl.plotting")
    ax = _axes(ax)
    for task in model.tasks_:
        ax.plot(*_series(model.history, f"weight_{task}"), marker=".", label=str(task))
    ax.set_xlabel("epoch")
    ax.set_ylabel("task weight")
    ax.set_title(f"Task weights ({model.task_weighting!s})")
    ax.legend(fontsize="small")
    return ax


def plot_task_affinity(estimator_or_frame: Any, *, ax=None, cmap: str = "RdBu_r"):
    """A heatmap of a task x task matrix: ``task_affinity_`` or any such frame.

    Parameters
    ----------
    estimator_or_frame : estimator, Pipeline or DataFrame
        A fitted estimator (its ``task_affinity_``: the mean cosine of the
        task gradients on the shared layer) or any 2-D DataFrame, e.g. a
        task x task matrix of your own.
    ax : matplotlib Axes, optional
    cmap : str, default="RdBu_r"
        Centred on zero, so that helping (positive) and competing
        (negative) tasks read apart.

    Returns
    -------
    matplotlib.axes.Axes
        The heatmap, with each cell's value written in it.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skmtl.plotting import plot_task_affinity
    >>> frame = pd.DataFrame([[1.0, 0.2], [0.2, 1.0]], index=["a", "b"], columns=["a", "b"])
    >>> ax = plot_task_affinity(frame)
    >>> [t.get_text() for t in ax.texts]
    ['1.00', '0.20', '0.20', '1.00']
    """
    if isinstance(estimator_or_frame, pd.DataFrame):
        frame = estimator_or_frame
    else:
        frame = multi_task_model(estimator_or_frame, "skmtl.plotting").task_affinity_
    values = frame.to_numpy(dtype=float)
    if values.ndim != 2:
        raise ValueError(f"plot_task_affinity takes a 2-D frame; got shape {values.shape}.")
    ax = _axes(ax)
    finite = np.abs(values[np.isfinite(values)])
    bound = float(finite.max()) if finite.size else 1.0
    image = ax.imshow(values, cmap=cmap, vmin=-bound, vmax=bound)
    ax.set_xticks(range(values.shape[1]), [str(c) for c in frame.columns], rotation=45)
    ax.set_yticks(range(values.shape[0]), [str(i) for i in frame.index])
    for (i, j), value in np.ndenumerate(values):
        ax.text(j, i, "" if np.isnan(value) else f"{value:.2f}", ha="center", va="center")
    ax.figure.colorbar(image, ax=ax)
    ax.set_title("Task affinity")
    return ax
