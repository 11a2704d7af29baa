"""The estimators, their per-task views and the tabular pipeline."""

from ._base import BaseMultiTaskNet, final_step, is_multi_task, multi_task_model
from ._classifier import MultiTaskClassifier
from ._pipeline import make_tabular_pipeline
from ._regressor import MultiTaskRegressor
from ._views import ClassifierTaskView, RegressorTaskView, task_view

__all__ = [
    "BaseMultiTaskNet",
    "ClassifierTaskView",
    "MultiTaskClassifier",
    "MultiTaskRegressor",
    "RegressorTaskView",
    "final_step",
    "is_multi_task",
    "make_tabular_pipeline",
    "multi_task_model",
    "task_view",
]
