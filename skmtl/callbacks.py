"""Callbacks that skmtl adds to skorch's defaults."""

from __future__ import annotations

from skorch.callbacks import PrintLog


class TaskPrintLog(PrintLog):
    """skorch's epoch table, kept compact for many tasks.

    The history holds ``train_loss_<task>``, ``valid_loss_<task>``,
    ``valid_acc_<task>`` and ``weight_<task>`` for every task; the table shows
    the mean losses and accuracy and each task's validation accuracy, and
    leaves the per-task losses and weights to ``net.history``.
    """

    hidden_prefixes = ("train_loss_", "valid_loss_", "weight_")

    def _sorted_keys(self, keys):
        return super()._sorted_keys([k for k in keys if not k.startswith(self.hidden_prefixes)])
