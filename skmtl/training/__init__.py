"""How a fit trains: the recipe, the epochs, the steps, the callbacks and the scores they log."""

from ._callbacks import (
    BestEpochEarlyStopping,
    CpuPickled,
    DivergenceGuard,
    EpochDecay,
    RecipeLRScheduler,
    TaskPrintLog,
)
from ._epochs import best_epochs, epoch_budget
from ._prediction import forward_logits, per_task, predicted_codes
from ._recipe import (
    ARCHITECTURES,
    FEATURE_SCALINGS,
    LR_SCHEDULES,
    NUMERIC_EMBEDDINGS,
    DataSummary,
    Recipe,
    bag_member,
    bag_size,
    batch_size,
    default_callbacks,
    embedding_kind,
    plan,
    selects_epochs,
    summarize,
    user_callbacks,
)
from ._scoring import mean_valid_accuracy, score_codes, task_accuracies
from ._states import copy_states, load_states
from ._steps import autocast, set_mode, train_step, validation_step
from ._task_history import TaskHistory
from ._valid_split import MultiTaskValidSplit

__all__ = [
    "ARCHITECTURES",
    "FEATURE_SCALINGS",
    "LR_SCHEDULES",
    "NUMERIC_EMBEDDINGS",
    "DataSummary",
    "Recipe",
    "bag_member",
    "bag_size",
    "batch_size",
    "default_callbacks",
    "embedding_kind",
    "plan",
    "selects_epochs",
    "summarize",
    "user_callbacks",
    "best_epochs",
    "epoch_budget",
    "copy_states",
    "load_states",
    "autocast",
    "set_mode",
    "train_step",
    "validation_step",
    "BestEpochEarlyStopping",
    "CpuPickled",
    "DivergenceGuard",
    "EpochDecay",
    "MultiTaskValidSplit",
    "RecipeLRScheduler",
    "TaskHistory",
    "TaskPrintLog",
    "forward_logits",
    "mean_valid_accuracy",
    "per_task",
    "predicted_codes",
    "score_codes",
    "task_accuracies",
]
