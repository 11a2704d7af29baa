"""Plots of a fitted model: learning curves, task weights, task affinity (extra: plot)."""

from ._plots import plot_learning_curves, plot_task_affinity, plot_task_weights

__all__ = [
    "plot_learning_curves",
    "plot_task_affinity",
    "plot_task_weights",
]
