"""The joint multi-task loss: per-task losses masked for missing labels."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .gradients import cosine_matrix
from .targets import MISSING
from .weighting import TaskWeighting, make_weighting


class MultiTaskLoss(nn.Module):
    """Weighted sum over tasks of each task's mean loss on its labelled rows.

    Parameters
    ----------
    criterion : torch.nn.Module
        Per-row loss of one task, called as ``criterion(logits, target)`` and
        returning one value per row (``reduction="none"``).
    weights : sequence of float
        The static weight of each task. Kept as a buffer, so it moves with
        the module to the training device and is never copied per batch.
    weighting : TaskWeighting, optional
        The strategy that turns the weighted task losses into the training
        objective (default: their sum). Its parameters, if any, are trained
        by the estimator's optimizer with the network's.

    The module also keeps, on the device, each epoch's per-task loss sums,
    label counts and (in validation) correct predictions, and the running
    mean of the task-gradient cosine similarities; the estimator reads them
    back once per epoch.
    """

    def __init__(
        self,
        criterion: nn.Module,
        weights: Sequence[float],
        weighting: TaskWeighting | None = None,
        regression: Sequence[bool] | None = None,
        regression_loss: str = "mse",
    ):
        super().__init__()
        if regression_loss not in ("mse", "huber"):
            raise ValueError(f"regression_loss must be 'mse' or 'huber'; got {regression_loss!r}.")
        self.criterion = criterion
        self.regression = list(regression) if regression is not None else [False] * len(weights)
        self.regression_loss = regression_loss
        self.register_buffer("weights", torch.as_tensor(weights, dtype=torch.float32))
        n = len(weights)
        self.weighting = make_weighting("equal", n) if weighting is None else weighting
        self.steps = 0  # training steps taken, for sampling the gradient affinity
        # rows: train, valid
        self.register_buffer("epoch_sums", torch.zeros(2, n), persistent=False)
        self.register_buffer("epoch_counts", torch.zeros(2, n), persistent=False)
        self.register_buffer("epoch_correct", torch.zeros(n), persistent=False)
        # validation sums for R^2 of regression tasks: squared error, y, y^2
        self.register_buffer("epoch_moments", torch.zeros(3, n), persistent=False)
        self.register_buffer("affinity_sum", torch.zeros(n, n), persistent=False)
        # per pair of tasks: the steps on which both had labels
        self.register_buffer("affinity_steps", torch.zeros(n, n), persistent=False)

    def _mixed_sums_and_counts(self, y_pred, y_true) -> tuple[torch.Tensor, torch.Tensor]:
        """Float targets (any regression task): NaN marks a missing label."""
        labelled = ~torch.isnan(y_true)
        filled = torch.nan_to_num(y_true, nan=float(MISSING))
        sums = []
        for t, out in enumerate(y_pred):
            if self.regression[t]:
                error = F.mse_loss if self.regression_loss == "mse" else F.huber_loss
                per_row = error(out[:, 0].float(), filled[:, t], reduction="none")
                sums.append((per_row * labelled[:, t]).sum())
            else:
                codes = filled[:, t].long()
                per_row = self.criterion(out.float(), codes.clamp(min=0))
                sums.append((per_row * labelled[:, t]).sum())
        return torch.stack(sums), labelled.sum(dim=0)

    def _sums_and_counts(self, y_pred, y_true) -> tuple[torch.Tensor, torch.Tensor]:
        """Per task: the summed loss over labelled rows, and how many there are (may be 0)."""
        if y_true.is_floating_point():
            return self._mixed_sums_and_counts(y_pred, y_true)
        counts = (y_true != MISSING).sum(dim=0)
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
        return sums / counts.clamp(min=1)

    def weighted_losses(
        self,
        y_pred: Sequence[torch.Tensor],
        y_true: torch.Tensor,
        *,
        track: str | None = None,
        return_present: bool = False,
    ):
        """:meth:`task_losses` times the static weights; ``track`` ("train" or
        "valid") adds the batch to that phase's epoch statistics. With
        ``return_present``, also whether each task takes part in the batch: it
        has a label there and a non-zero static weight."""
        sums, counts = self._sums_and_counts(y_pred, y_true)
        if track is not None:
            row = 0 if track == "train" else 1
            self.epoch_sums[row] += sums.detach()
            self.epoch_counts[row] += counts
        losses = self.weights * sums / counts.clamp(min=1)
        # a task weighted 0 takes no part either: its loss is 0 like an absent one's
        return (losses, (counts > 0) & (self.weights > 0)) if return_present else losses

    def forward(self, y_pred: Sequence[torch.Tensor], y_true: torch.Tensor) -> torch.Tensor:
        """The sum of the weighted task losses (the reported loss)."""
        return self.weighted_losses(y_pred, y_true).sum()

    def track_correct(self, y_pred: Sequence[torch.Tensor], y_true: torch.Tensor) -> None:
        """Add a validation batch's correct predictions (classification) or
        error moments (regression) per task."""
        if not y_true.is_floating_point():
            hits = [(out.argmax(dim=1) == y_true[:, t]).sum() for t, out in enumerate(y_pred)]
            self.epoch_correct += torch.stack(hits)
            return
        labelled = ~torch.isnan(y_true)
        filled = torch.nan_to_num(y_true)
        hits, moments = [], []
        for t, out in enumerate(y_pred):
            if self.regression[t]:
                err = (out[:, 0].float() - filled[:, t]) ** 2 * labelled[:, t]
                moments.append(
                    torch.stack([err.sum(), filled[:, t].sum(), (filled[:, t] ** 2).sum()])
                )
                hits.append(torch.zeros((), device=y_true.device))
            else:
                right = (out.argmax(dim=1) == filled[:, t].long()) & labelled[:, t]
                hits.append(right.sum().float())
                moments.append(torch.zeros(3, device=y_true.device))
        self.epoch_correct += torch.stack(hits)
        self.epoch_moments += torch.stack(moments, dim=1)

    def track_affinity(self, grads: torch.Tensor, present: torch.Tensor | None = None) -> None:
        """Add one step's task-gradient cosine similarities, for the pairs of
        tasks that both have labels in the batch (an absent task's gradient is
        0, which says nothing about its direction)."""
        if present is None:
            present = torch.ones(len(grads), dtype=torch.bool, device=grads.device)
        both = (present[:, None] & present[None, :]).float()
        self.affinity_sum += cosine_matrix(grads.float()) * both
        self.affinity_steps += both

    def pop_epoch(self) -> dict[str, torch.Tensor]:
        """This epoch's per-task statistics (on the CPU); restarts them."""
        counts = self.epoch_counts.clamp(min=1)
        sse, sy, sy2 = self.epoch_moments
        sst = sy2 - sy**2 / counts[1]
        nan = torch.full_like(sse, float("nan"))
        # no labels: no loss nor accuracy; R^2 needs two labels and some spread
        r2 = torch.where((self.epoch_counts[1] > 1) & (sst > 1e-12), 1 - sse / sst, nan)
        stats = torch.cat(
            [
                torch.where(self.epoch_counts > 0, self.epoch_sums / counts, nan),
                torch.where(self.epoch_counts[1:] > 0, self.epoch_correct[None] / counts[1:], nan),
                self.epoch_counts,
                r2[None],
            ]
        ).cpu()
        for buf in (self.epoch_sums, self.epoch_counts, self.epoch_correct, self.epoch_moments):
            buf.zero_()
        return {
            "train_loss": stats[0],
            "valid_loss": stats[1],
            "valid_acc": stats[2],
            "train_count": stats[3],
            "valid_count": stats[4],
            "valid_r2": stats[5],
        }
