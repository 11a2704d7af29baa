"""The joint multi-task loss: per-task losses masked for missing labels."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .targets import MISSING


class MultiTaskLoss(nn.Module):
    """Weighted sum over tasks of each task's mean loss on its labelled rows.

    Parameters
    ----------
    criterion : torch.nn.Module
        Per-row loss of one task, called as ``criterion(logits, target)`` and
        returning one value per row (``reduction="none"``).
    weights : sequence of float
        The weight of each task. Kept as a buffer, so it moves with the
        module to the training device and is never copied per batch.
    """

    def __init__(self, criterion: nn.Module, weights: Sequence[float]):
        super().__init__()
        self.criterion = criterion
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))

    def _sums_and_counts(self, y_pred, y_true) -> tuple[torch.Tensor, torch.Tensor]:
        """Per task: the summed loss over labelled rows, and how many there are."""
        counts = (y_true != MISSING).sum(dim=0).clamp(min=1)
        crit = self.criterion
        if type(crit) is nn.CrossEntropyLoss and crit.ignore_index == MISSING:
            # one fused kernel per task: cross-entropy summed, missing rows ignored
            sums = [
                F.cross_entropy(
                    logits.float(),
                    y_true[:, t],
                    weight=crit.weight,
                    ignore_index=MISSING,
                    reduction="sum",
                    label_smoothing=crit.label_smoothing,
                )
                for t, logits in enumerate(y_pred)
            ]
        elif getattr(crit, "ignore_index", None) == MISSING:
            sums = [crit(logits.float(), y_true[:, t]).sum() for t, logits in enumerate(y_pred)]
        else:  # a criterion that knows nothing of missing labels: mask its rows
            target = y_true.clamp(min=0)
            labelled = y_true != MISSING
            sums = [
                (crit(logits.float(), target[:, t]) * labelled[:, t]).sum()
                for t, logits in enumerate(y_pred)
            ]
        return torch.stack(sums), counts

    def task_losses(self, y_pred: Sequence[torch.Tensor], y_true: torch.Tensor) -> torch.Tensor:
        """Each task's mean loss over the rows labelled for it; 0 where none is.

        ``y_pred`` holds the logits of each task; ``y_true`` the
        ``(batch, n_tasks)`` class codes, ``MISSING`` (-1) for no label.
        """
        sums, counts = self._sums_and_counts(y_pred, y_true)
        return sums / counts

    def forward(self, y_pred: Sequence[torch.Tensor], y_true: torch.Tensor) -> torch.Tensor:
        sums, counts = self._sums_and_counts(y_pred, y_true)
        return (sums * (self.weights / counts)).sum()
