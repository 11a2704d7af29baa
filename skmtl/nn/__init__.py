"""The network's parts: trunks, embeddings, experts, the multi-task loss and task weighting."""

from ._experts import EXPERTS, PLE, MMoE
from ._gradients import cosine_matrix, min_norm_weights, project_conflicting
from ._losses import MultiTaskLoss
from ._modules import (
    ACTIVATIONS,
    EMBEDDINGS,
    BaggedModule,
    Dropout,
    MLPTrunk,
    MultiTaskModule,
    PeriodicEmbedding,
    PiecewiseLinearEmbedding,
    accepts_argument,
    mask_levels,
    trunk_output_width,
)
from ._weighting import STRATEGIES, TaskWeighting, make_weighting

__all__ = [
    "ACTIVATIONS",
    "BaggedModule",
    "Dropout",
    "EMBEDDINGS",
    "EXPERTS",
    "MLPTrunk",
    "MMoE",
    "MultiTaskLoss",
    "MultiTaskModule",
    "PLE",
    "PeriodicEmbedding",
    "PiecewiseLinearEmbedding",
    "STRATEGIES",
    "TaskWeighting",
    "accepts_argument",
    "cosine_matrix",
    "make_weighting",
    "mask_levels",
    "min_norm_weights",
    "project_conflicting",
    "trunk_output_width",
]
