"""Per-task bookkeeping of training, as a skorch callback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback

from ..nn._gradients import cosine_matrix
from ..targets import labelled
from ._callbacks import CpuPickled


class TaskHistory(CpuPickled, Callback):
    """Record each task's loss, validation score and weight in the history.

    A default callback of skmtl's estimators, first in line, so that the
    callbacks after it (``EarlyStopping``, ``LRScheduler``, ...) can monitor
    ``valid_loss_<task>`` or ``valid_acc_<task>``. It reads what the
    training and validation steps return (``task_sums`` and ``task_counts``
    per batch, ``task_gradients`` on the steps that sample the task affinity)
    and keeps the sums on the training device, so nothing is copied back
    before the epoch ends. Per epoch it records ``train_loss_<task>``,
    ``valid_loss_<task>``, ``valid_acc_<task>`` (``valid_r2_<task>`` and
    ``valid_r2`` for regression tasks) and ``weight_<task>``, then hands the
    epoch's task losses to the ``task_weighting`` (``end_epoch``). At the end
    of training it sets the estimator's ``task_affinity_``.
    """

    def on_train_begin(self, net, **kwargs):
        n, device = len(net.tasks_), net.criterion_.weights.device
        # rows: train, valid
        self.sums_ = torch.zeros(2, n, device=device)
        self.counts_ = torch.zeros(2, n, device=device)
        self.correct_ = torch.zeros(n, device=device)
        # validation sums for R^2 of regression tasks: squared error, y, y^2
        self.moments_ = torch.zeros(3, n, device=device)
        if not len(net.history) or not hasattr(self, "affinity_sum_"):
            # a new fit starts the affinity afresh; partial_fit adds to it
            self.affinity_sum_ = torch.zeros(n, n, device=device)
            self.affinity_steps_ = torch.zeros(n, n, device=device)
        # unpickled on another device, or kept from a fit on another one
        self.affinity_sum_ = self.affinity_sum_.to(device)
        self.affinity_steps_ = self.affinity_steps_.to(device)

    def on_epoch_begin(self, net, **kwargs):
        for buf in (self.sums_, self.counts_, self.correct_, self.moments_):
            buf.zero_()

    def on_batch_end(self, net, batch=None, training=False, **step):
        if "task_sums" not in step:  # a step of a subclass that does not count
            return
        row = 0 if training else 1
        self.sums_[row] += step["task_sums"]
        self.counts_[row] += step["task_counts"]
        if not training:
            self._track_scores(net, step["y_pred"], batch[1])
        sampled = step.get("task_gradients")
        if sampled is not None:  # (per-task gradients, tasks present)
            grads, present = sampled
            both = (present[:, None] & present[None, :]).float()
            self.affinity_sum_ += cosine_matrix(grads) * both
            self.affinity_steps_ += both

    def _track_scores(self, net, y_pred, y_true) -> None:
        """Add a validation batch's correct predictions (classification) or
        error moments (regression) per task."""
        y_true = torch.as_tensor(y_true, device=self.correct_.device)
        if not y_true.is_floating_point():
            hits = [(out.argmax(dim=1) == y_true[:, t]).sum() for t, out in enumerate(y_pred)]
            self.correct_ += torch.stack(hits)
            return
        has_label = labelled(y_true)
        filled = torch.nan_to_num(y_true)
        regression = net.target_encoder_.regression_
        for t, out in enumerate(y_pred):
            if regression[t]:
                err = (out[:, 0].float() - filled[:, t]) ** 2 * has_label[:, t]
                self.moments_[:, t] += torch.stack(
                    [err.sum(), filled[:, t].sum(), (filled[:, t] ** 2).sum()]
                )
            else:
                right = (out.argmax(dim=1) == filled[:, t].long()) & has_label[:, t]
                self.correct_[t] += right.sum().float()

    def _epoch_stats(self) -> dict[str, torch.Tensor]:
        """This epoch's per-task statistics, copied to the CPU in one go."""
        counts = self.counts_.clamp(min=1)
        sse, sy, sy2 = self.moments_
        sst = sy2 - sy**2 / counts[1]
        nan = torch.full_like(sse, float("nan"))
        # no labels: no loss nor accuracy; R^2 needs two labels and some spread
        r2 = torch.where((self.counts_[1] > 1) & (sst > 1e-12), 1 - sse / sst, nan)
        stats = torch.cat(
            [
                torch.where(self.counts_ > 0, self.sums_ / counts, nan),
                torch.where(self.counts_[1:] > 0, self.correct_[None] / counts[1:], nan),
                self.counts_,
                r2[None],
            ]
        ).cpu()
        names = ("train_loss", "valid_loss", "valid_acc", "train_count", "valid_count", "valid_r2")
        return dict(zip(names, stats, strict=True))

    def on_epoch_end(self, net, **kwargs):
        stats = self._epoch_stats()
        weighting = net.weighting_
        weights = (net.criterion_.weights.cpu() * weighting.epoch_weights().cpu()).tolist()
        has_valid = bool(stats["valid_count"].sum() > 0)
        regression = net.target_encoder_.regression_
        record = net.history.record
        for t, task in enumerate(net.tasks_):
            record(f"train_loss_{task}", float(stats["train_loss"][t]))
            if has_valid:
                record(f"valid_loss_{task}", float(stats["valid_loss"][t]))
                score = "valid_r2" if regression[t] else "valid_acc"
                record(f"{score}_{task}", float(stats[score][t]))
            record(f"weight_{task}", weights[t])
        if has_valid and any(regression):
            r2 = [float(stats["valid_r2"][t]) for t, reg in enumerate(regression) if reg]
            r2 = [v for v in r2 if not np.isnan(v)]
            record("valid_r2", float(np.mean(r2)) if r2 else float("nan"))
        if bool(stats["train_count"].sum() > 0):
            device = net.criterion_.weights.device
            weighting.end_epoch(
                stats["train_loss"].to(device), (stats["train_count"] > 0).to(device)
            )

    def on_train_end(self, net, **kwargs):
        steps = self.affinity_steps_.cpu().numpy()
        total = self.affinity_sum_.cpu().numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(steps > 0, total / np.maximum(steps, 1), np.nan)
        net.task_affinity_ = pd.DataFrame(mean, index=net.tasks_, columns=net.tasks_)
