"""The joint multi-task loss: per-task losses masked for missing labels."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ..targets import MISSING, labelled


class MultiTaskLoss(nn.Module):
    """Each task's weighted mean loss over its labelled rows.

    Parameters
    ----------
    criterion : torch.nn.Module
        Per-row loss of one task, called as ``criterion(logits, target)`` and
        returning one value per row (``reduction="none"``).
    weights : sequence of float
        The static weight of each task. Kept as a buffer, so it moves with
        the module to the training device and is never copied per batch.
    regression : sequence of bool, optional
        Which tasks are regression tasks (trained with ``regression_loss``).
    regression_loss : {"mse", "huber"}

    ``forward`` returns the ``(n_tasks,)`` weighted task losses, which the
    estimator's ``task_weighting`` combines into the training objective. The
    last call's per-task loss sums, label counts and weighted losses stay
    available, detached, as ``last_sums``, ``last_counts`` and
    ``last_losses``, for the reported loss and the per-task history.
    """

    def __init__(
        self,
        criterion: nn.Module,
        weights: Sequence[float],
        regression: Sequence[bool] | None = None,
        regression_loss: str = "mse",
    ):
        super().__init__()
        self.criterion = criterion
        self.regression = list(regression) if regression is not None else [False] * len(weights)
        self.regression_loss = regression_loss
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))
        self.last_sums = self.last_counts = self.last_losses = None

    def _mixed_sums_and_counts(self, y_pred, y_true) -> tuple[torch.Tensor, torch.Tensor]:
        """Float targets (any regression task): NaN marks a missing label."""
        has_label = labelled(y_true)
        filled = torch.nan_to_num(y_true, nan=float(MISSING))
        sums = []
        for t, out in enumerate(y_pred):
            if self.regression[t]:
                error = F.mse_loss if self.regression_loss == "mse" else F.huber_loss
                per_row = error(out[:, 0].float(), filled[:, t], reduction="none")
                sums.append((per_row * has_label[:, t]).sum())
            else:
                codes = filled[:, t].long()
                per_row = self.criterion(out.float(), codes.clamp(min=0))
                sums.append((per_row * has_label[:, t]).sum())
        return torch.stack(sums), has_label.sum(dim=0)

    def _sums_and_counts(self, y_pred, y_true) -> tuple[torch.Tensor, torch.Tensor]:
        """Per task: the summed loss over labelled rows, and how many there are
        (may be 0). A packed ensemble's ``(batch, k, ...)`` outputs count each
        row once: the sum is the mean over the members."""
        if y_pred and y_pred[0].ndim == 3:
            k = y_pred[0].shape[1]
            flat = [out.flatten(0, 1) for out in y_pred]
            sums, _ = self._sums_and_counts(flat, y_true.repeat_interleave(k, dim=0))
            return sums / k, labelled(y_true).sum(dim=0)
        if y_true.is_floating_point():
            return self._mixed_sums_and_counts(y_pred, y_true)
        counts = labelled(y_true).sum(dim=0)
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
            has_label = labelled(y_true)
            sums = [
                (crit(logits.float(), target[:, t]) * has_label[:, t]).sum()
                for t, logits in enumerate(y_pred)
            ]
        return torch.stack(sums), counts

    def task_losses(self, y_pred: Sequence[torch.Tensor], y_true: torch.Tensor) -> torch.Tensor:
        """Each task's mean loss over the rows labelled for it; 0 where none is.

        ``y_pred`` holds the logits of each task; ``y_true`` the
        ``(batch, n_tasks)`` class codes, ``MISSING`` (-1) for no label.
        """
        sums, counts = self._sums_and_counts(y_pred, y_true)
        return sums / counts.clamp(min=1)

    def member_task_losses(
        self, y_pred: Sequence[torch.Tensor], y_true: torch.Tensor
    ) -> torch.Tensor:
        """:meth:`task_losses` of many networks at once, shape ``(members, n_tasks)``.

        ``y_pred`` holds each task's ``(members, batch, n_classes)`` logits and
        ``y_true`` the ``(members, batch, n_tasks)`` codes: a packed search's
        members (:func:`skmtl.training.train_packed`). The default
        cross-entropy takes all members in one kernel per task; any other
        criterion goes through :func:`torch.func.vmap`.
        """
        crit = self.criterion
        fused = type(crit) is nn.CrossEntropyLoss and crit.ignore_index == MISSING
        if not fused or y_true.is_floating_point() or y_pred[0].ndim != 3:
            return torch.func.vmap(self.task_losses)(tuple(y_pred), y_true)
        members, rows = y_true.shape[:2]
        counts = labelled(y_true).sum(dim=1)
        sums = [
            F.cross_entropy(
                logits.flatten(0, 1).float(),
                y_true[..., t].flatten(),
                weight=crit.weight,
                ignore_index=MISSING,
                reduction="none",
                label_smoothing=crit.label_smoothing,
            )
            .view(members, rows)
            .sum(dim=1)
            for t, logits in enumerate(y_pred)
        ]
        return torch.stack(sums, dim=1) / counts.clamp(min=1)

    def forward(self, y_pred: Sequence[torch.Tensor], y_true: torch.Tensor) -> torch.Tensor:
        """:meth:`task_losses` times the static weights, shape ``(n_tasks,)``."""
        sums, counts = self._sums_and_counts(y_pred, y_true)
        losses = self.weights * sums / counts.clamp(min=1)
        self.last_sums, self.last_counts, self.last_losses = sums.detach(), counts, losses.detach()
        return losses

    def present(self) -> torch.Tensor:
        """Whether each task takes part in the last batch: it has a label there
        and a non-zero static weight (a task weighted 0 counts as absent)."""
        return (self.last_counts > 0) & (self.weights > 0)
