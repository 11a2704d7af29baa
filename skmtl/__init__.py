"""skmtl: multi-task learning that behaves like any scikit-learn estimator."""

from .classifier import MultiTaskClassifier
from .metrics import task_scorer
from .split import MultiTaskValidSplit

__version__ = "0.1.0"

__all__ = ["MultiTaskClassifier", "MultiTaskValidSplit", "task_scorer", "__version__"]
