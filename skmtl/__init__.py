"""skmtl: multi-task learning that behaves like any scikit-learn estimator."""

from .analysis import compare_single_task
from .classifier import MultiTaskClassifier
from .export import to_onnx
from .metrics import task_scorer
from .pipeline import make_tabular_pipeline
from .regressor import MultiTaskRegressor
from .saving import load, save
from .split import MultiTaskValidSplit
from .views import task_view
from .weighting import TaskWeighting

__version__ = "0.1.0"

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
