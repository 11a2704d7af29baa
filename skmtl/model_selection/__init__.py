"""Model selection for multi-task targets: splitters, scorers and cross-validation."""

from ._compare import compare_single_task
from ._packed import PackedGridSearchCV, PackedRandomizedSearchCV
from ._scorer import task_scorer
from ._split import MultiTaskStratifiedKFold
from ._validation import cross_val_predict

__all__ = [
    "MultiTaskStratifiedKFold",
    "PackedGridSearchCV",
    "PackedRandomizedSearchCV",
    "compare_single_task",
    "cross_val_predict",
    "task_scorer",
]
