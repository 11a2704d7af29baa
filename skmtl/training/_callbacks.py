"""Callbacks that skmtl adds to skorch's defaults."""

from __future__ import annotations

import math
import re
import sys
import warnings

import torch
from skorch.callbacks import Callback, EarlyStopping, LRScheduler, PrintLog
from tabulate import tabulate

from ..exceptions import DivergenceWarning
from ._states import copy_states, load_states, refresh_states


class CpuPickled:
    """A callback whose tensors pickle as CPU tensors.

    skorch maps the net's modules to the CPU when a net pickled on CUDA is
    loaded without CUDA, but not the tensors a callback holds (running sums,
    copies of weights); on the CPU those would fail to unpickle.
    """

    def __getstate__(self) -> dict:
        return {key: _on_cpu(value) for key, value in vars(self).items()}


def _on_cpu(value):
    if isinstance(value, torch.Tensor):
        return value.cpu()
    if isinstance(value, dict):
        return type(value)((k, _on_cpu(v)) for k, v in value.items())
    return value


class RecipeLRScheduler(LRScheduler):
    """skorch's ``LRScheduler``, pickled without its torch scheduler.

    The torch scheduler holds the optimizer, and with it the weights, outside
    the part of the net that skorch maps to the CPU on load; skorch builds
    it anew at the start of every fit anyway.
    """

    def __getstate__(self) -> dict:
        return {**vars(self), "lr_scheduler_": None}

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if not _unwatchable(self.monitor, dataset_valid):
            super().on_epoch_end(net, dataset_valid=dataset_valid, **kwargs)


def decay_factor(shape: str, epoch: int, epochs: int) -> float:
    """The share of the initial learning rate that epoch ``epoch`` (0-based)
    of a decay over ``epochs`` epochs trains at: ``1 - k / E`` for
    ``"linear"``, ``(1 + cos(pi k / E)) / 2`` for ``"cosine"``."""
    t = min(max(epoch, 0) / max(epochs, 1), 1.0)
    return 1.0 - t if shape == "linear" else 0.5 * (1.0 + math.cos(math.pi * t))


class EpochDecay(Callback):
    """Decay the learning rate over the epochs of a fit, to zero at its end.

    A fit of ``E`` epochs (``net.max_epochs_``) plans its decay over history
    epochs ``[start, start + E)``; epoch ``start + k`` trains at each
    parameter group's initial rate times ``1 - k / E`` (``shape="linear"``)
    or ``(1 + cos(pi k / E)) / 2`` (``shape="cosine"``). The plan is kept in
    the history (``lr_plan``, with the rate as ``event_lr``), so a fit
    resumed from a checkpoint or a warm start before the plan's end takes it
    up where it stopped; a fit after a finished plan plans anew. A rate set
    since the schedule's last epoch (``set_params(lr=...)`` before a warm
    fit or ``partial_fit``) is the group's initial rate from then on.

    Parameters
    ----------
    shape : {"linear", "cosine"}, default="linear"
    """

    #: The shapes of the decay.
    SHAPES = ("linear", "cosine")

    def __init__(self, shape: str = "linear"):
        self.shape = shape

    def on_train_begin(self, net, **kwargs):
        done = len(net.history)
        plan = net.history[-1].get("lr_plan") if done else None
        if plan is None or plan[1] <= done:
            plan = [done, done + max(1, net.max_epochs_)]
        self.plan_ = list(plan)
        for group in net.optimizer_.param_groups:
            # a rate other than the one this schedule set last was set since
            # (set_params(lr=...) before a warm fit): it starts the decay
            if group.get("scheduled_lr") != group["lr"]:
                group["initial_lr"] = group["lr"]

    def on_epoch_begin(self, net, **kwargs):
        start, end = self.plan_
        factor = decay_factor(self.shape, len(net.history) - 1 - start, end - start)
        for group in net.optimizer_.param_groups:
            group["lr"] = group.setdefault("initial_lr", group["lr"]) * factor
            group["scheduled_lr"] = group["lr"]
        net.history.record("lr_plan", list(self.plan_))
        net.history.record("event_lr", net.optimizer_.param_groups[0]["lr"])


def _unwatchable(monitor, dataset_valid) -> bool:
    """A validation score to watch in a fit whose split left no validation rows
    (a tiny training set): the recipe's callbacks then stand still."""
    return isinstance(monitor, str) and monitor.startswith("valid_") and dataset_valid is None


class TaskPrintLog(PrintLog):
    """skorch's epoch table, kept compact for many tasks.

    The history holds ``train_loss_<task>``, ``valid_loss_<task>``,
    ``valid_acc_<task>`` and ``weight_<task>`` for every task; the table shows
    the mean losses and accuracy, then each task's validation score under
    the task's name (cut to :attr:`task_width` characters), and leaves the
    per-task losses and weights to ``net.history``. Best scores are coloured
    only when the table goes to a terminal, never into a log file or a
    notebook's captured output.
    """

    hidden_prefixes = ("train_loss_", "valid_loss_", "weight_")
    task_prefixes = ("valid_acc_", "valid_r2_")
    task_width = 12

    def _sorted_keys(self, keys):
        return super()._sorted_keys([k for k in keys if not k.startswith(self.hidden_prefixes)])

    def on_epoch_end(self, net, **kwargs):
        # skorch formats the row even when it prints nothing (verbose=0)
        if self.sink is print and not net.verbose:
            return
        super().on_epoch_end(net, **kwargs)

    def _header(self, key: str) -> str:
        for prefix in self.task_prefixes:
            if key.startswith(prefix):
                name, width = key[len(prefix) :], self.task_width
                if len(name) <= width:
                    return name
                # both ends: task names often differ only in their last characters
                return name[: (width - 1) // 2] + "~" + name[-(width // 2) :]
        return key

    def table(self, row):
        headers, formatted = [], []
        for key, value in self._yield_keys_formatted(row):
            headers.append(self._header(key))
            formatted.append(value)
        if len(set(headers)) < len(headers):  # cut names that collide: show them whole
            headers = [key for key, _ in self._yield_keys_formatted(row)]
        return tabulate(
            [formatted],
            headers=headers,
            tablefmt=self.tablefmt,
            floatfmt=self.floatfmt,
            stralign=self.stralign,
        )

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if isinstance(text, str) and not _terminal(self.sink):
            text = _ANSI.sub("", text)
        return text


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _terminal(sink) -> bool:
    """Whether the table's lines go to an interactive terminal."""
    return sink is print and sys.stdout.isatty()


class BestEpochEarlyStopping(CpuPickled, EarlyStopping):
    """skorch's ``EarlyStopping`` with ``load_best=True``, also when no epoch ran.

    skorch reads the last epoch of the history at the end of training to
    decide whether to restore; a fit with ``max_epochs=0`` (building the
    network, e.g. before ``load_params``) has none. When the split leaves no
    validation rows (a tiny training set), there is nothing to watch and it
    stands still.
    """

    def __init__(self, **kwargs):
        super().__init__(load_best=True, **kwargs)

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if not _unwatchable(self.monitor, dataset_valid):
            super().on_epoch_end(net, dataset_valid=dataset_valid, **kwargs)

    def on_train_end(self, net, **kwargs):
        if len(net.history):
            super().on_train_end(net, **kwargs)


class DivergenceGuard(CpuPickled, Callback):
    """Stop training when a loss goes non-finite, keeping the last finite weights.

    A default callback of skmtl's estimators. After every batch it reads the
    batch's loss (which skorch has already copied to the host for the
    history); at every epoch's end it also checks that the weights are
    finite, and keeps a copy of them. On a NaN or infinite loss or weight it
    restores the copy (the last epoch whose losses and weights were all
    finite, or the weights training started from), gives the optimizer a
    fresh state, sets the estimator's ``stopped_reason_`` to a message that
    names the epoch and the task(s), warns with
    :class:`~skmtl.exceptions.DivergenceWarning`, and stops training the
    way skorch's ``EarlyStopping`` does.
    """

    def __getstate__(self) -> dict:
        # the copy of the weights serves one training run; on_train_begin makes it anew
        return {**super().__getstate__(), "weights_": None}

    def on_train_begin(self, net, **kwargs):
        net.stopped_reason_ = None
        self._keep(net)

    def _keep(self, net) -> None:
        self.epoch_ = len(net.history)
        kept = getattr(self, "weights_", None)
        if kept is None or not refresh_states(net, kept):
            self.weights_ = copy_states(net, optimizers=False)

    def on_batch_end(self, net, batch=None, training=False, **step):
        loss = step.get("loss")
        if loss is None or math.isfinite(float(loss)):
            return
        sums = step.get("task_sums")  # None from a subclass's own step
        finite = [True] * len(net.tasks_) if sums is None else torch.isfinite(sums).tolist()
        tasks = [task for task, ok in zip(net.tasks_, finite, strict=True) if not ok]
        phase = "train" if training else "valid"
        done = sum(f"{phase}_loss" in b for b in net.history[-1]["batches"])
        what = f"the loss of task(s) {tasks}" if tasks else "the training objective"
        self._stop(net, f"{what} is {float(loss)} in {phase} batch {done}")

    def on_epoch_end(self, net, **kwargs):
        if not _finite_weights(net):
            self._stop(net, "the weights are no longer finite at its end")
        self._keep(net)

    def on_train_end(self, net, **kwargs):
        if net.stopped_reason_ is None and not _finite_weights(net):
            self._stop(net, "the weights are no longer finite", interrupt=False)

    def _stop(self, net, what: str, interrupt: bool = True) -> None:
        load_states(net, self.weights_)
        net.initialize_optimizer()
        kept = f"the end of epoch {self.epoch_}" if self.epoch_ else "where training started"
        net.stopped_reason_ = (
            f"Training diverged in epoch {len(net.history)}: {what}. Training stopped and "
            f"the weights are restored to {kept}, the last point with finite losses. Lower lr "
            f"(now {net.lr!r}), keep feature_scaling on for X with large values, or "
            "clip gradients (skorch.callbacks.GradientNormClipping)."
        )
        warnings.warn(net.stopped_reason_, DivergenceWarning, stacklevel=2)
        if interrupt:
            raise KeyboardInterrupt  # skorch's way to end training early


def _finite_weights(net) -> bool:
    params = [p.detach() for p in net.module_.parameters() if p.numel()]
    if not params:
        return True
    # each tensor's largest magnitude in one fused call: NaN and inf carry
    # through and nothing overflows (a tensor at a time cost a small table's
    # fit half a millisecond an epoch)
    return bool(torch.stack(torch._foreach_norm(params, float("inf"))).isfinite().all())
