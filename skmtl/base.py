"""``BaseMultiTaskNet``: a skorch ``NeuralNet`` with one head per task."""

from __future__ import annotations

import functools
from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.utils.validation import _check_sample_weight, check_is_fitted
from skorch import NeuralNet
from skorch.utils import to_tensor

from . import epochs, persistence, recipe
from ._runtime import reseed, resolve_device
from .fit_data import fitting, prepare_fit, split_datasets
from .metrics import score_codes
from .network import build_criterion, build_module, optimizer_kwargs
from .parameters import check_callbacks, check_parameters, estimator_repr
from .prediction import forward_logits, predicted_codes
from .targets import EncodedTargets
from .tensor_data import (
    loader,
    make_tensor_data,
    tensor_batches,
    tensor_view,
    uses_fast_path,
)
from .training import autocast, train_step, validation_step
from .validation import check_features, check_n_rows
from .weighting import make_weighting


class BaseMultiTaskNet(NeuralNet):
    """What :class:`~skmtl.MultiTaskClassifier` and
    :class:`~skmtl.MultiTaskRegressor` share: a skorch ``NeuralNet`` with a
    shared network and one head per task. Not meant to be used directly; its
    parameters are documented on those two classes.
    """

    #: The type of a task that ``task_types`` does not name.
    _default_task_type = "classification"
    #: What early stopping and the plateau schedule watch by default.
    _default_monitor = "valid_loss"

    def __init__(
        self,
        module=None,
        *,
        hidden_units="auto",
        dropout=0.15,
        activation="relu",
        norm=None,
        numeric_embedding="auto",
        n_bins=48,
        ensemble_size=None,
        feature_scaling="auto",
        early_stopping=False,
        patience=10,
        lr_schedule="linear",
        weight_decay=1e-4,
        task_weights=None,
        task_weighting="equal",
        architecture="shared",
        affinity_every=64,
        task_types=None,
        regression_loss="mse",
        classes=None,
        task_names=None,
        random_state=None,
        data_on_device="auto",
        mixed_precision="auto",
        fused_optimizer="auto",
        predict_batch_size=8192,
        n_threads="auto",
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=2e-3,
        max_epochs="auto",
        batch_size="auto",
        train_split="auto",
        device="auto",
        verbose=0,
        **kwargs,
    ):
        # Stored before skorch's __init__: afterwards skorch refuses a torch
        # module instance (e.g. activation=nn.GELU()) as a plain attribute.
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.activation = activation
        self.norm = norm
        self.numeric_embedding = numeric_embedding
        self.n_bins = n_bins
        self.ensemble_size = ensemble_size
        self.feature_scaling = feature_scaling
        self.early_stopping = early_stopping
        self.patience = patience
        self.lr_schedule = lr_schedule
        self.weight_decay = weight_decay
        self.task_weights = task_weights
        self.task_weighting = task_weighting
        self.architecture = architecture
        self.affinity_every = affinity_every
        self.task_types = task_types
        self.regression_loss = regression_loss
        self.classes = classes
        self.task_names = task_names
        self.random_state = random_state
        self.data_on_device = data_on_device
        self.mixed_precision = mixed_precision
        self.fused_optimizer = fused_optimizer
        self.predict_batch_size = predict_batch_size
        self.n_threads = n_threads
        # skorch leaves training batches unshuffled unless asked; a
        # scikit-learn user expects shuffling, as MLPClassifier does.
        kwargs.setdefault("iterator_train__shuffle", True)
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            **kwargs,
        )

    # -------------------------------------------------- parameters and device
    # Not a skorch hook: skorch reads ``self.device`` wherever it moves data
    # (pinned by tests/test_hooks.py), so "auto" stays the parameter (for
    # clone and get_params) while skorch reads a real device.
    @property
    def device(self):
        """The torch device in use; ``"auto"`` reads as ``"cuda"`` or ``"cpu"``."""
        return resolve_device(self.__dict__.get("device"))

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    def _get_param_names(self):
        # Not a skorch hook: skorch lists its private bookkeeping set
        # _params_to_validate as a parameter (pinned by a test); __init__
        # rebuilds it, and clone must not pass it back.
        return [k for k in super()._get_param_names() if k != "_params_to_validate"]

    def get_params(self, deep: bool = True, **kwargs) -> dict:
        return {**super().get_params(deep=deep, **kwargs), "device": self.__dict__["device"]}

    def set_params(self, **params):
        check_callbacks(params.get("callbacks"))
        return super().set_params(**params)

    def __getstate__(self) -> dict:
        return persistence.stamp_version(super().__getstate__())

    def __setstate__(self, state: dict) -> None:
        persistence.check_version(state, type(self).__name__)
        # skorch maps CUDA tensors to the CPU on load from state["device"],
        # which must be a real device (pinned by a test); "auto" is put back.
        requested = state["device"]
        state["device"] = resolve_device(requested)
        super().__setstate__(state)
        if requested == "auto":
            self.__dict__["device"] = requested

    def __repr__(self) -> str:
        return estimator_repr(self)

    def __sklearn_is_fitted__(self) -> bool:
        # scikit-learn's protocol (check_is_fitted); skorch before 1.3.1 has
        # none, and skorch's attributes set in __init__ would read as fitted
        return bool(self.__dict__.get("initialized_")) and "target_encoder_" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = True
        return tags

    def get_default_callbacks(self):
        """skorch hook: the per-task history first, then skorch's scoring, the
        recipe's schedule and early stopping, and the compact epoch table
        (:func:`skmtl.recipe.default_callbacks`)."""
        return recipe.default_callbacks(self)

    # ----------------------------------------------------------------- build

    def initialize_module(self):
        """skorch hook: build the trunk from ``module``/``module__*`` and one head
        per task (see :func:`skmtl.network.build_module`)."""
        self.module_ = persistence.add_fit_digest(self, build_module(self))
        return self

    def initialize_criterion(self):
        """skorch hook: the masked per-task loss ``criterion_`` and the
        ``weighting_``, a second criterion that skorch moves, trains and saves."""
        self.criterion_ = build_criterion(self)
        self.weighting_ = make_weighting(self.task_weighting, len(self.tasks_))
        return self

    def initialize_optimizer(self, triggered_directly=None):
        """skorch hook: the optimizer as skorch builds it, plus ``weight_decay``
        and ``fused=True`` where ``fused_optimizer`` says."""
        args, kwargs = self.get_params_for_optimizer("optimizer", self.get_all_learnable_params())
        self.optimizer_ = self.optimizer(*args, **optimizer_kwargs(self, kwargs))
        return self

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """skorch hook: seed the epoch from ``(random_state, epoch)``, so a resumed
        run repeats the uninterrupted one; show the batch sizes ``"auto"`` chose
        as ``iterator_*__batch_size`` for skorch's ``ProgressBar`` (fit removes them)."""
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        recipe.show_batch_sizes(self, dataset_train, dataset_valid)
        reseed(self.random_state, len(self.history))

    # ------------------------------------------------------- loss and steps

    def get_task_losses(self, y_pred, y_true) -> torch.Tensor:
        """Each task's mean loss over the batch's rows labelled for it, shape
        ``(n_tasks,)`` (zero for a task with no label), from the module's
        per-task logits and ``y_true``'s class codes (``-1``: missing)."""
        return self.criterion_.task_losses(y_pred, to_tensor(y_true, device=self.device))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """skorch hook: the objective that training back-propagates.

        In training, the ``task_weighting`` combination of the weighted task
        losses (their plain sum for a gradient strategy, which combines the
        task gradients instead); otherwise the sum of the weighted task
        losses. A subclass may add terms, e.g. a penalty: training follows.
        """
        losses = self.criterion_(y_pred, to_tensor(y_true, device=self.device))
        weighting = self.weighting_
        if training and not weighting.per_task_gradients:
            present = self.criterion_.present() if weighting.uses_presence else None
            return weighting.combine(losses, present)
        return losses.sum()

    def infer(self, x, **fit_params):
        """skorch hook: the forward pass, under bf16 autocast where ``mixed_precision`` says."""
        with autocast(self):
            return super().infer(x, **fit_params)

    def train_step_single(self, batch, **fit_params):
        """skorch hook: one forward and backward, as ``task_weighting`` says
        (see :func:`skmtl.training.train_step`)."""
        custom_loss = type(self).get_loss is not BaseMultiTaskNet.get_loss
        return train_step(self, batch, custom_loss=custom_loss, **fit_params)

    def validation_step(self, batch, **fit_params):
        """skorch hook: the loss of a validation batch, with per-task sums for the history."""
        return validation_step(self, batch, **fit_params)

    # ------------------------------------------------------------ data path

    def get_dataset(self, X, y=None):
        """skorch hook: arrays become device tensors (the fast data path).

        Every array reaching the network passes the fitted ``feature_scaler_``
        here (fit, predict and ``forward`` alike). Dense ``X`` (as float32)
        and ``y`` are copied to the training device once; sparse ``X`` stays
        sparse on the host and is densified a batch at a time; anything else
        goes to skorch's ``Dataset`` as usual.
        """
        X = recipe.network_input(self, X)
        if isinstance(y, EncodedTargets):
            y = np.asarray(y)  # torch's collate knows plain arrays only
        if not uses_fast_path(self, X):
            return super().get_dataset(X, y)
        return make_tensor_data(X, y, self.device)

    def get_iterator(self, dataset, training=False):
        """skorch hook: batch a :class:`~skmtl.tensor_data.TensorData` by slicing a permutation.

        Honours ``batch_size`` (``"auto"`` resolved from the training set's
        size), ``iterator_train__shuffle``, ``iterator_*__batch_size`` and
        ``iterator_*__drop_last``; other data goes through skorch's
        ``DataLoader``, in batches capped for sparse ``X``.
        """
        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        batch_size = recipe.batch_size(self, kwargs, len(dataset), training)
        if tensor_view(dataset) is not None:
            options = {k: v for k, v in kwargs.items() if k in ("shuffle", "drop_last")}
            return tensor_batches(self.module_, dataset, batch_size, training=training, **options)
        return loader(self, dataset, kwargs, batch_size, training=training)

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch hook: the split in use (``train_split="auto"``: one only where
        a run needs validation scores), drawn from ``random_state`` alone; a
        ``predefined_split`` validation set's own labels are encoded
        (:func:`skmtl.fit_data.split_datasets`)."""
        reseed(self.random_state, 0)
        return split_datasets(self, X, y, **fit_params)

    # ------------------------------------------------------------------- fit

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch hook: ``max_epochs_`` epochs unless ``epochs`` says otherwise
        (``max_epochs="auto"`` is resolved from the data in fit)."""
        epochs = getattr(self, "max_epochs_", self.max_epochs) if epochs is None else epochs
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    def _train(self, entry, X, y, *, reset: bool, classes=None, **fit_params):
        with fitting(self, reset=reset):
            X, codes = prepare_fit(self, X, y, reset=reset, classes=classes, **fit_params)
            return entry(X, codes, **fit_params)

    def fit(self, X, y, **fit_params):
        """Build the network from the data and train it.

        Parameters
        ----------
        X : array-like, sparse matrix or N-D array of shape (n_samples, ...)
            Numeric features (encode categorical columns first): a 2-D
            table, a sparse matrix (kept sparse), or, with a custom
            ``module``, images ``(n, C, H, W)``, sequences ``(n, T, F)`` or
            any other sample shape.
        y : dict, DataFrame, or array-like of shape (n_samples,) or (n_samples, n_tasks)
            The targets ``Y``: labels per task; NaN, None or pd.NA mark a
            missing label. Rows with no label at all are dropped with a warning.
        **fit_params
            Passed to the module's forward, as in skorch (and to
            ``train_split``, which by default takes only ``groups``, refused).

        Returns
        -------
        self
        """
        reset = not (self.warm_start and self.initialized_)
        # skorch's fit: initialize (unless warm), then partial_fit with the codes
        entry = super().fit
        if reset and epochs.selects(self):  # max_epochs="auto": choose, then refit
            train = functools.partial(self._train, entry, X, y, reset=True, **fit_params)
            return epochs.select_then_refit(self, train, recipe.monitor)
        return self._train(entry, X, y, reset=reset, **fit_params)

    def partial_fit(self, X, y, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs, building the network on the first call.

        Parameters
        ----------
        X, y
            As in :meth:`fit`. After the first call, ``y`` may hold a subset
            of the tasks; labels must be among the fitted classes.
        classes : dict, optional
            On the first call, ``{task: labels}`` as the ``classes`` parameter.
        **fit_params
            As in :meth:`fit`.

        Returns
        -------
        self
        """
        if isinstance(y, EncodedTargets):  # from fit, through skorch's NeuralNet.fit
            return super().partial_fit(X, y, **fit_params)
        reset = not self.initialized_
        return self._train(super().partial_fit, X, y, reset=reset, classes=classes, **fit_params)

    def load_params(self, f_params=None, **kwargs) -> None:
        """Load skorch's params files, refusing those from a fit on other data.

        The arguments are skorch's. A file that is unreadable, or saved from a
        fit with another scaling, embedded columns, tasks or classes, raises
        ``ValueError`` and leaves the estimator as it was.
        """
        persistence.load_params(self, super().load_params, f_params=f_params, **kwargs)

    # --------------------------------------------------------------- predict

    def _checked(self, X):
        check_is_fitted(self)
        check_parameters(self, ["predict_batch_size"])  # may be set after fit
        return check_features(self, X, reset=False)

    def predict(self, X) -> Any:
        """Predict the label of every task.

        Parameters
        ----------
        X : array-like, sparse matrix or N-D array of shape (n_samples, ...)

        Returns
        -------
        dict, DataFrame or ndarray
            In the kind of ``Y`` given to ``fit``: a dict of 1-D arrays; a
            DataFrame with the same columns (and the index of ``X`` when ``X`` is
            a DataFrame); an array of shape ``(n_samples, n_tasks)``; or a 1-D
            array. Labels are the original labels.
        """
        index = X.index if isinstance(X, pd.DataFrame) else None
        codes = predicted_codes(self, forward_logits(self, self._checked(X)))
        return self.target_encoder_.decode(codes, index=index)

    def score_tasks(self, X, y, sample_weight=None) -> dict[Hashable, float]:
        """Each task's score on the rows of ``Y`` labelled for it.

        Accuracy for a classification task, R^2 for a regression task.

        Parameters
        ----------
        X : array-like, sparse matrix or N-D array of shape (n_samples, ...)
        y : dict, DataFrame or array-like
            Targets of any kind accepted by ``fit``; a dict or DataFrame may hold a subset
            of the fitted tasks. A label the model never saw counts as wrong.
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        dict
            ``{task: score}`` for the tasks in ``Y``; NaN where a task has no
            label (or, for R^2, fewer than two).
        """
        X = self._checked(X)
        codes, tasks = self.target_encoder_.transform(y, unknown="mark", return_tasks=True)
        check_n_rows(X, codes)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        predicted = predicted_codes(self, forward_logits(self, X))
        return score_codes(self.target_encoder_, tasks, codes, predicted, sample_weight)

    def score(self, X, y, sample_weight=None) -> float:
        """Mean over the tasks in ``Y`` of :meth:`score_tasks`.

        Parameters
        ----------
        X : array-like, sparse matrix or N-D array of shape (n_samples, ...)
        y : dict, DataFrame or array-like
        sample_weight : array-like of shape (n_samples,), optional

        Returns
        -------
        float
        """
        scores = np.array(list(self.score_tasks(X, y, sample_weight).values()))
        if np.isnan(scores).all():
            raise ValueError("Y has no label to score: every entry is missing.")
        return float(np.nanmean(scores))
