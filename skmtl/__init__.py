"""skmtl: multi-task learning that behaves like any scikit-learn estimator."""

from ._version import __version__
from .estimators import MultiTaskClassifier, MultiTaskRegressor, make_tabular_pipeline, task_view
from .io import load, save, to_onnx
from .model_selection import compare_single_task, task_scorer
from .nn import TaskWeighting
from .training import MultiTaskValidSplit

__all__ = [
    "MultiTaskClassifier",
    "MultiTaskRegressor",
    "MultiTaskValidSplit",
    "TaskWeighting",
    "compare_single_task",
    "load",
    "make_tabular_pipeline",
    "save",
    "task_scorer",
    "task_view",
    "to_onnx",
    "__version__",
]
