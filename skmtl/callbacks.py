"""Callbacks that skmtl adds to skorch's defaults."""

from __future__ import annotations

from skorch.callbacks import EarlyStopping, PrintLog


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


class BestEpochEarlyStopping(EarlyStopping):
    """skorch's ``EarlyStopping`` with ``load_best=True``, also when no epoch ran.

    skorch reads the last epoch of the history at the end of training to
    decide whether to restore; a fit with ``max_epochs=0`` (building the
    network, e.g. before ``load_params``) has none.
    """

    def __init__(self, **kwargs):
        super().__init__(load_best=True, **kwargs)

    def on_train_end(self, net, **kwargs):
        if len(net.history):
            super().on_train_end(net, **kwargs)
