"""The multi-task regressor: one network, a numeric prediction per task."""

from __future__ import annotations

from sklearn.base import RegressorMixin

from ._base import BaseMultiTaskNet
from ._views import TaskViews


class MultiTaskRegressor(RegressorMixin, TaskViews, BaseMultiTaskNet):
    """One neural network, a shared trunk and a head per numeric task.

    The regression twin of :class:`~skmtl.MultiTaskClassifier`: the same
    parameters, fitted attributes, data path, task weighting, architectures,
    logs and scikit-learn behaviour, with every task a regression task unless
    ``task_types`` says otherwise. Targets are standardised per task for
    training (``center`` and ``scale`` are kept by the fitted
    ``target_encoder_``) and predictions are returned in the original units.

    Parameters
    ----------
    module, hidden_units, dropout, activation, norm, numeric_embedding, n_bins, ensemble_size
        The network: as in :class:`~skmtl.MultiTaskClassifier`.
    bag_folds
        As in :class:`~skmtl.MultiTaskClassifier`; a bag's prediction is its
        networks' mean.
    feature_scaling, patience, lr_schedule, weight_decay, optimizer, lr
        The training recipe: as in :class:`~skmtl.MultiTaskClassifier`.
    max_epochs, batch_size, train_split, predict_batch_size, n_threads, verbose
        As in :class:`~skmtl.MultiTaskClassifier`.
    task_weights, task_weighting, architecture, affinity_every, task_names
        The tasks: as in :class:`~skmtl.MultiTaskClassifier`.
    random_state, device, data_on_device, mixed_precision, fused_optimizer
        Repeatability and the device: as in :class:`~skmtl.MultiTaskClassifier`.
    **kwargs
        skorch's own parameters (``callbacks``, ``optimizer__*``,
        ``iterator_train__*``, ``warm_start``, ...), as in
        :class:`~skmtl.MultiTaskClassifier`.
    early_stopping : bool or str, default=False
        As in :class:`~skmtl.MultiTaskClassifier`, but ``True`` watches
        ``valid_loss`` (the sum of the per-task losses on standardised
        targets), as do ``lr_schedule="plateau"`` and the epoch selection of
        ``max_epochs="auto"``.
    task_types : str or dict, default=None
        ``None`` or ``"regression"``: every task is numeric. A dict such as
        ``{"churn": "classification"}`` mixes in classification tasks (then
        ``classes_`` lists their classes).
    regression_loss : {"mse", "huber"}, default="mse"
        The loss of each numeric task, on its standardised targets.
    criterion, classes
        Used only by classification tasks mixed in with ``task_types``.

    Attributes
    ----------
    tasks_, n_features_in_, feature_names_in_, target_encoder_,
    task_weights_, task_affinity_, bag_size_, bag_histories_
        As in :class:`~skmtl.MultiTaskClassifier`.

    Notes
    -----
    ``score`` is the mean over tasks of each task's R^2 on the rows labelled
    for it (``score_tasks`` gives them per task), as scikit-learn's
    multi-output regressors average R^2 over outputs. Missing targets (NaN,
    None) are left out of the loss and the score; the history logs
    ``valid_r2`` and ``valid_r2_<task>``.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl import MultiTaskRegressor
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> Y = {"a": X[:, 0] * 2.0, "b": X[:, 1] - X[:, 2]}
    >>> model = MultiTaskRegressor(hidden_units=(32,), max_epochs=5, random_state=0)
    >>> sorted(model.fit(X, Y).predict(X[:2]))
    ['a', 'b']
    """

    _default_task_type = "regression"

    # scikit-learn's RegressorMixin.score comes first in the MRO and knows one task
    score = BaseMultiTaskNet.score

    @property
    def predict_proba(self):
        # skorch's NeuralNet has one; a regressor must not (scikit-learn looks)
        raise AttributeError(
            "MultiTaskRegressor has no predict_proba; for probabilities of "
            "classification tasks mixed with numeric ones, use MultiTaskClassifier "
            "with task_types={task: 'regression'}."
        )

    def get_default_callbacks(self):
        """skorch hook: no ``valid_acc`` column; validation is scored by R^2
        (``valid_r2``, per epoch)."""
        return [(name, cb) for name, cb in super().get_default_callbacks() if name != "valid_acc"]
