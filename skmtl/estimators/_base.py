"""``BaseMultiTaskNet``: a skorch ``NeuralNet`` with one head per task."""

from __future__ import annotations

import copy
import dataclasses
import pickle
import warnings
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, _num_samples, check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import Checkpoint, LoadInitState, TrainEndCheckpoint
from skorch.dataset import Dataset
from skorch.history import History
from skorch.utils import to_tensor

from ..data import (
    MappedRows,
    check_features,
    check_n_rows,
    check_target_shape,
    is_mapped,
    loader,
    make_feature_scaler,
    make_tensor_data,
    quantile_bins,
    sample_rows,
    scale_features,
    tensor_batches,
    tensor_view,
    uses_fast_path,
    warn_large_values,
)
from ..nn import ACTIVATIONS, STRATEGIES, BaggedModule, TaskWeighting, make_weighting
from ..targets import EncodedTargets, TaskEncoder, encoded, labelled, read_tasks
from ..training import (
    ARCHITECTURES,
    FEATURE_SCALINGS,
    LR_SCHEDULES,
    NUMERIC_EMBEDDINGS,
    autocast,
    bag_member,
    bag_size,
    batch_size,
    best_epochs,
    copy_states,
    default_callbacks,
    forward_logits,
    load_states,
    plan,
    predicted_codes,
    score_codes,
    selects_epochs,
    summarize,
    train_step,
    user_callbacks,
    validation_step,
)
from ..utils import (
    fit_threads,
    reseed,
    resolve_device,
    seeded_torch,
    torch_seed,
    torch_threads,
    user_stacklevel,
)
from ._fitted_state import (
    DIGEST,
    FITTED,
    KEPT,
    UNSET_WHEN_NONE,
    as_fitted,
    check_version,
    fit_digest,
    stamp_version,
)
from ._network import build_criterion, build_module, optimizer_kwargs
from ._parameters import (
    BOOL_OR_AUTO,
    POSITIVE_OR_ALL,
    Device,
    HiddenUnits,
    Kind,
    ModuleClass,
    check_callbacks,
    check_parameters,
    check_task_weights,
    estimator_repr,
)

#: The key of a bag's draws from ``random_state``: its folds, and each member's seed.
_BAG_KEY = 2**20


def _rows(X) -> int:
    """The rows of ``X`` as ``fit`` gets it (the bag's rule reads them before
    the checks; a bad ``X`` is then refused by those)."""
    try:
        return _num_samples(X)
    except TypeError:
        return 0


def _networks_in(f_params) -> int | None:
    """The networks a params file holds: a bag's count, 0 for one network;
    None where the file cannot be read."""
    if f_params is None:
        return None
    try:
        if hasattr(f_params, "seek"):
            f_params.seek(0)
        state = torch.load(f_params, map_location="cpu", weights_only=True)
        return len({key.split(".")[1] for key in state if key.startswith("members.")})
    except Exception:  # unreadable, or not a state dict: the caller's message says so
        return None


def _check_callbacks_need_no_validation(callbacks) -> None:
    """Refuse a callback of the user's that watches a validation score in a
    fit that holds no rows out (skorch would fail on the missing key)."""
    for cb in user_callbacks(callbacks):
        monitor = getattr(cb, "monitor", None)
        if isinstance(monitor, str) and monitor.startswith("valid_"):
            raise ValueError(
                f"callbacks holds {type(cb).__name__}(monitor={monitor!r}), which watches a "
                "validation score, but this fit trains on every row: train_split='auto' "
                "holds rows out only for skmtl's own choice of epochs. Set "
                "early_stopping=True (early stopping on a stratified 20% split), or "
                "train_split=MultiTaskValidSplit(0.2) for your callback."
            )


def _labelled_rows(Y, task_names) -> int | None:
    """The rows of ``Y`` with a label for some task (the rows that train), or
    None where ``Y`` cannot be read (``fit`` refuses it with its own error)."""
    try:
        columns = read_tasks(Y, task_names)
    except (TypeError, ValueError):
        return None
    has = [column.notna().to_numpy() for column in columns.values()]
    return int(np.logical_or.reduce(has).sum()) if has else 0


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

    # scikit-learn's convention: every parameter's constraints, declared once
    # and checked at the start of fit (check_parameters)
    _parameter_constraints: dict = {
        "module": [None, ModuleClass(), callable],
        "hidden_units": [StrOptions({"auto"}), HiddenUnits()],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS)), ModuleClass(), callable],
        "norm": [StrOptions({"batch", "layer"}), None],
        "numeric_embedding": [StrOptions(set(NUMERIC_EMBEDDINGS)), None],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "ensemble_size": [Interval(Integral, 1, None, closed="left"), None],
        "bag_folds": [StrOptions({"auto"}), Interval(Integral, 2, None, closed="left"), None],
        "feature_scaling": [StrOptions(set(FEATURE_SCALINGS)), None],
        "early_stopping": ["boolean", str],
        "patience": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES)), None],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "task_weights": [Kind(Mapping, "a dict {task: weight}"), None],
        "task_weighting": [StrOptions(set(STRATEGIES)), Kind(TaskWeighting, "a TaskWeighting")],
        "architecture": [StrOptions(set(ARCHITECTURES))],
        "affinity_every": [Interval(Integral, 0, None, closed="left")],
        "task_types": [StrOptions({"infer", "classification", "regression"}), dict, None],
        "regression_loss": [StrOptions({"mse", "huber"})],
        "classes": [dict, list, tuple, "array-like", None],
        "task_names": ["array-like", None],
        "random_state": ["random_state"],
        "data_on_device": BOOL_OR_AUTO,
        "mixed_precision": BOOL_OR_AUTO,
        "fused_optimizer": BOOL_OR_AUTO,
        "predict_batch_size": POSITIVE_OR_ALL,
        "n_threads": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "criterion": [ModuleClass(), callable],
        "optimizer": [callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "batch_size": [*POSITIVE_OR_ALL, StrOptions({"auto"})],
        "train_split": [StrOptions({"auto"}), callable, None],
        "device": [Device()],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
    }

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
        bag_folds="auto",
        feature_scaling="auto",
        early_stopping=False,
        patience="auto",
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
        self.bag_folds = bag_folds
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
    # (pinned by tests/estimators/test_hooks.py), so "auto" stays the parameter (for
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
        return stamp_version(super().__getstate__())

    def __setstate__(self, state: dict) -> None:
        check_version(state, type(self).__name__)
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
        (:func:`skmtl.training.default_callbacks`)."""
        return default_callbacks(self.get_params(deep=False), self._recipe())

    def _recipe(self):
        """The recipe of the fit in progress (or the last); skorch also builds
        callbacks outside fit (``initialize``, ``set_params``), where it is
        resolved from the parameters alone."""
        recipe = self.__dict__.get("recipe_")
        if recipe is None:
            params = self.get_params(deep=False)
            recipe = plan(params, default_monitor=self._default_monitor)
        return recipe

    # ----------------------------------------------------------------- build

    def initialize_module(self):
        """skorch hook: build the trunk from ``module``/``module__*`` and one head
        per task (see :func:`skmtl.estimators._network.build_module`)."""
        module = build_module(self)
        # what predict takes from fit besides the weights, in every params file
        module.register_buffer(DIGEST, fit_digest(self))
        self.module_ = module
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
        if self.batch_size == "auto":
            self._show_batch_sizes(dataset_train, dataset_valid)
        reseed(self._run_state(), len(self.history))

    def _show_batch_sizes(self, dataset_train, dataset_valid) -> None:
        # skorch's ProgressBar counts batches from iterator_*__batch_size;
        # fit removes them again (_hide_batch_sizes)
        shown = self.__dict__.setdefault("_shown_batch_sizes_", set())
        params = self.get_params(deep=False)
        for phase, data in (("train", dataset_train), ("valid", dataset_valid)):
            key = f"iterator_{phase}__batch_size"
            if data is not None and (key in shown or key not in self.__dict__):
                self.__dict__[key] = batch_size(params, {}, len(data), phase == "train")
                shown.add(key)

    def _hide_batch_sizes(self) -> None:
        for key in self.__dict__.pop("_shown_batch_sizes_", ()):
            self.__dict__.pop(key, None)

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
        sparse on the host and is densified a batch at a time; a memory-mapped
        ``X`` stays in its file and is read and scaled a batch at a time;
        anything else goes to skorch's ``Dataset`` as usual.
        """
        X = self._network_input(X)
        if isinstance(y, EncodedTargets):
            y = np.asarray(y)  # torch's collate knows plain arrays only
        if not uses_fast_path(self, X):
            return super().get_dataset(X, y)
        return make_tensor_data(X, y, self.device, self.__dict__.get("feature_scaler_"))

    def _network_input(self, X):
        """``X`` as the fitted network takes it: checked (when given as a
        DataFrame, sparse or not float32, e.g. to ``forward``) and through the
        fitted ``feature_scaler_``. Every array reaching the network passes
        here, in fit, predict and ``forward`` alike."""
        if hasattr(self, "n_features_in_") and (
            isinstance(X, pd.DataFrame)
            or sp.issparse(X)
            or (isinstance(X, np.ndarray) and X.dtype != np.float32)
        ):
            X = check_features(self, X, reset=False)
        if getattr(self, "feature_scaler_", None) is not None and (
            (isinstance(X, np.ndarray) and not is_mapped(X)) or sp.issparse(X)
        ):  # a mapped X is scaled a batch at a time (skmtl.data.MappedData)
            X = scale_features(self.feature_scaler_, X)
        return X

    def get_iterator(self, dataset, training=False):
        """skorch hook: batch a :class:`~skmtl.data.TensorData` by slicing a permutation.

        Honours ``batch_size`` (``"auto"`` resolved from the training set's
        size), ``iterator_train__shuffle``, ``iterator_*__batch_size`` and
        ``iterator_*__drop_last``; other data goes through skorch's
        ``DataLoader``, in batches capped for sparse ``X``.
        """
        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        size = batch_size(self.get_params(deep=False), kwargs, len(dataset), training)
        if tensor_view(dataset) is not None:
            options = {k: v for k, v in kwargs.items() if k in ("shuffle", "drop_last")}
            return tensor_batches(self.module_, dataset, size, training=training, **options)
        return loader(self, dataset, kwargs, size, training=training)

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch hook: the split in use (``train_split="auto"``: one only where
        a run needs validation scores), drawn from ``random_state`` alone; with
        ``skorch.helper.predefined_split(Dataset(X_valid, Y_valid))``,
        ``X_valid`` is checked and ``Y_valid`` (any kind ``fit`` takes) encoded
        like the training data."""
        reseed(self.random_state, 0)
        dataset_train, dataset_valid = self.get_dataset(X, y), None
        split = self._recipe().train_split
        if split is not None:
            dataset_train, dataset_valid = split(dataset_train, y, **fit_params)
        if type(dataset_valid) is Dataset and dataset_valid.y is not None:
            X_valid = check_features(self, dataset_valid.X, reset=False)
            codes = self.target_encoder_.transform(dataset_valid.y)
            check_n_rows(X_valid, codes)
            dataset_valid = self.get_dataset(X_valid, codes)
        return dataset_train, dataset_valid

    # ------------------------------------------------------------------- fit

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch hook: ``max_epochs_`` epochs unless ``epochs`` says otherwise
        (``max_epochs="auto"`` is resolved from the data in fit)."""
        epochs = getattr(self, "max_epochs_", self.max_epochs) if epochs is None else epochs
        return super().fit_loop(X, y, epochs=epochs, **fit_params)

    def _run_state(self, member: int | None = None):
        """What seeds torch in the run in progress: ``random_state``, or a
        bag member's own draw from it (its network, batches and dropout)."""
        if member is None:
            member = getattr(self.__dict__.get("recipe_"), "member", None)
        if member is None or self.random_state is None:
            return self.random_state
        return torch_seed(self.random_state, _BAG_KEY, member)

    @contextmanager
    def _fitting(self, *, reset: bool, phase=None) -> Iterator[None]:
        """The frame of a ``fit`` or ``partial_fit``: torch seeded from
        ``random_state`` (a bag member's ``phase``: from its own draw) and its
        threads as ``n_threads`` says (both restored after); a first fit that
        fails is forgotten, so the estimator is unfitted rather than half
        updated."""
        check_parameters(self, ["n_threads"])  # read before fit's own checks
        threads = fit_threads(self.n_threads, self.device)
        member = bag_member(phase)
        state = self.random_state if member is None else self._run_state(member)
        with seeded_torch(state), torch_threads(threads):
            try:
                yield
            except BaseException:
                if reset:
                    self.initialized_ = False
                    for name in FITTED:
                        self.__dict__.pop(name, None)
                raise
            finally:
                self._hide_batch_sizes()

    def _train(self, entry, X, y, *, reset: bool, classes=None, phase=None, **fit_params):
        with self._fitting(reset=reset, phase=phase):
            X, codes = self._prepare_fit(
                X, y, reset=reset, classes=classes, phase=phase, **fit_params
            )
            return entry(X, codes, **fit_params)

    def _prepare_fit(self, X, Y, *, reset: bool, classes=None, phase=None, **fit_params):
        """Check the parameters and data, encode ``Y`` (anew when ``reset``),
        resolve the recipe and, when ``reset``, fit the feature scaler and
        the embedding's bins; drop the rows without any label, with a warning.

        Returns ``X`` as the network takes it and the codes, marked encoded.
        """
        name = type(self).__name__
        if "sample_weight" in fit_params:
            raise ValueError(
                f"{name}.fit does not take sample_weight; weigh whole tasks with "
                "task_weights={task: weight}, or resample the rows."
            )
        if Y is None:
            raise ValueError(
                f"{name} requires y to be passed, but the target y is None. Pass Y as a "
                "dict of tasks, a DataFrame, or a 1-D or 2-D array."
            )
        check_parameters(self)
        X = self._check_X(X, reset=reset)
        if reset:
            for name in ("selection_history_", "bag_size_", "bag_histories_"):
                self.__dict__.pop(name, None)
            encoder = TaskEncoder(
                task_names=self.task_names,
                classes=self.classes if classes is None else classes,
                task_types=self.task_types,
                default_type=self._default_task_type,
            )
            check_target_shape(X, Y)
            codes = encoder.fit_transform(Y)
        else:
            encoder = self.target_encoder_
            codes = encoder.transform(Y)
        check_n_rows(X, codes)
        rows = labelled(codes).any(axis=1)
        params = self.get_params(deep=False)
        recipe = plan(
            params,
            summarize(X, int(rows.sum()), inputs=reset),
            default_monitor=self._default_monitor,
            phase=phase,
            hidden_units=None if reset else getattr(self, "hidden_units_", None),
        )
        if reset:
            # a bag's networks share one scaling: its sample drawn from the bag's seed
            bagged = bag_member(phase) is not None and self.random_state is None
            self._fit_inputs(X, recipe, phase[3] if bagged else self.random_state)
            self._set_targets(encoder)
        # the final run of a chosen-epochs fit holds no rows out either
        if recipe.train_split is None or recipe.phase == "select":
            _check_callbacks_need_no_validation(self.callbacks)
        self.recipe_ = recipe
        self.hidden_units_ = recipe.hidden_units
        self.max_epochs_ = recipe.max_epochs
        self.task_weights_ = check_task_weights(self.task_weights, self.tasks_)
        if not reset:  # a warm fit keeps its loss module; give it this fit's task_weights
            self.criterion_.weights.copy_(torch.as_tensor(self.task_weights_))
        if not rows.all():
            if not rows.any():
                raise ValueError("Y has no labels at all; every row misses every task.")
            warnings.warn(
                f"Dropped {int((~rows).sum())} row(s) of Y that have no label for any task.",
                UserWarning,
                stacklevel=user_stacklevel(),
            )
            # a mapped X keeps its rows in its file
            X = MappedRows(X, np.flatnonzero(rows)) if is_mapped(X) else X[rows]
            codes = codes[rows]
        return X, encoded(codes)

    def _check_X(self, X, *, reset: bool):
        """``X`` checked (:func:`skmtl.data.check_features`); on a new fit, an
        N-D ``X``'s sample shape is kept as ``input_shape_`` and its flattened
        width as ``n_features_in_`` (scikit-learn's ``validate_data`` sets
        them for a table)."""
        X = check_features(self, X, reset=reset)
        if reset:
            if sp.issparse(X) or X.ndim == 2:
                self.__dict__.pop("input_shape_", None)
            else:
                self.input_shape_ = tuple(X.shape[1:])
                self.n_features_in_ = int(np.prod(self.input_shape_))
                self.__dict__.pop("feature_names_in_", None)
        return X

    def _fit_inputs(self, X, recipe, random_state) -> None:
        """Fit what the recipe puts in front of the network: the feature
        scaler, the embedded columns and the embedding's bins."""
        if is_mapped(X):  # a bounded sample of the rows, never all of them
            X = sample_rows(X)
        scaler = make_feature_scaler(recipe.feature_scaling, X.shape[0], random_state)
        if scaler is None:
            warn_large_values(X)
        else:
            scaler.fit(X)
        bins = None
        if recipe.numeric_embedding == "piecewise_linear":
            bins = quantile_bins(X, scaler, recipe.embedded_columns, self.n_bins)
        self.feature_scaler_ = scaler
        self.embedded_columns_ = recipe.embedded_columns
        self.embedding_bins_ = bins

    def _set_targets(self, encoder: TaskEncoder) -> None:
        """The fitted target encoder and its views ``tasks_`` and ``classes_``."""
        self.target_encoder_ = encoder
        self.tasks_ = list(encoder.tasks_)
        self.__dict__.pop("classes_", None)
        if encoder.classes_:  # only a model with classification tasks has classes_
            one_task = encoder.kind_ == "1d"
            self.classes_ = encoder.classes_[self.tasks_[0]] if one_task else dict(encoder.classes_)

    def _restore_fitted(self, encoder: TaskEncoder, scaler, kept: dict) -> None:
        """Become fitted from a model file: the rebuilt target encoder and
        feature scaler and the :data:`~skmtl.estimators._fitted_state.KEPT`
        values (skmtl.load builds the network after)."""
        self._set_targets(encoder)
        self.feature_scaler_ = scaler
        for name in KEPT:
            value = kept.get(name)
            if value is None and name in UNSET_WHEN_NONE:
                continue
            setattr(self, name, as_fitted(name, value))

    def _restore_history(self, history) -> None:
        """The history a model file kept, once ``initialize`` has begun a new one."""
        self.history_ = history

    def _select_then_refit(self, X, y, **fit_params):
        """``max_epochs="auto"``: a selection run on 80% of the rows, then a
        new network on every row for the selection's best epoch count
        (:mod:`skmtl.training._epochs`)."""
        entry = super().fit
        self._train(entry, X, y, reset=True, phase=("select", 0), **fit_params)
        selection = copy.deepcopy(self.history)  # skorch clears the history object on a new fit
        recipe = self.recipe_
        epochs = best_epochs(selection, recipe.monitor, recipe.lower_is_better)
        self._train(entry, X, y, reset=True, phase=("refit", epochs), **fit_params)
        self.selection_history_ = selection
        return self

    def _fit_bag(self, X, y, size: int, **fit_params):
        """``bag_folds``: ``size`` networks, the ``i``-th trained on every fold
        of ``size`` but the ``i``-th and stopped at its best epoch there
        (:class:`~skmtl.training._valid_split.BagFoldSplit`); the model is
        their :class:`~skmtl.nn.BaggedModule`."""
        entry = super().fit
        seed = self._bag_seed()
        members, histories, reasons = [], [], []
        for i in range(size):
            self.initialized_ = False  # each network is built anew, warm_start or not
            self._train(entry, X, y, reset=True, phase=("bag", i, size, seed), **fit_params)
            members.append(self.module_)
            histories.append(copy.deepcopy(self.history))
            if self.stopped_reason_ is not None:
                reasons.append(f"network {i} of the bag: {self.stopped_reason_}")
        self._become_bag(members, histories)
        self.stopped_reason_ = reasons[0] if reasons else None
        return self

    def _bag_plan(self, X, y) -> int | None:
        """The networks a new fit on ``(X, y)`` bags (:func:`~skmtl.training.bag_size`
        of its labelled rows), or None for one; raises for a bad ``bag_folds``
        and for what a bag cannot honour, before anything is trained."""
        check_parameters(self, ["bag_folds"])  # read before fit's own checks
        # only "auto" reads the rows; an int or None bags as it says
        rows = _labelled_rows(y, self.task_names) if self.bag_folds == "auto" else None
        size = bag_size(self.get_params(deep=False), _rows(X) if rows is None else rows)
        if size is not None:
            self._check_bag()
        return size

    def _check_bag(self) -> None:
        """Refuse what a bag cannot honour."""
        split = self.train_split
        if not (isinstance(split, str) and split == "auto"):
            raise ValueError(
                f"bag_folds={self.bag_folds!r} holds out each fold in turn, so it takes no "
                f"train_split; got train_split={split!r}. Leave train_split='auto', or set "
                "bag_folds=None to train one network on your split."
            )
        found = user_callbacks(self.callbacks)
        if any(isinstance(cb, Checkpoint | TrainEndCheckpoint | LoadInitState) for cb in found):
            raise ValueError(
                f"bag_folds={self.bag_folds!r} trains its networks one after another, and a "
                "Checkpoint or LoadInitState callback would save or load one of them. Set "
                "bag_folds=None to checkpoint one network, or save the fitted bag with "
                "skmtl.save."
            )

    def _bag_seed(self) -> int:
        """The seed of a bag's folds, which every member draws alike."""
        seed = torch_seed(self.random_state, _BAG_KEY)
        return int(np.random.default_rng().integers(2**31 - 1)) if seed is None else seed

    def _become_bag(self, members: list, histories: list) -> None:
        """Become the bag of the trained ``members`` (their runs' histories in
        ``histories``): one :class:`~skmtl.nn.BaggedModule`, its optimizer, and
        ``max_epochs_`` the median of the members' best epochs."""
        recipe = self.recipe_
        # the bag's record: a later fit or partial_fit seeds from random_state
        self.recipe_ = dataclasses.replace(recipe, member=None)
        with self._fitting(reset=True):
            for member in members:
                delattr(member, DIGEST)  # the bag carries the one digest
            bag = BaggedModule(members)
            self.bag_size_ = len(members)
            bag.register_buffer(DIGEST, fit_digest(self))
            self.module_ = bag.to(self.device)
            self.initialize_optimizer()
        self.bag_histories_ = histories
        self.history_ = histories[-1]
        best = [best_epochs(h, recipe.monitor, recipe.lower_is_better) for h in histories]
        self.max_epochs_ = int(np.median(best))

    def _packed_start(self, X, y, *, phase=None):
        """Begin a fit as :meth:`fit` would (the checks, the encoded targets,
        the recipe of ``phase``, the scaler, a network built from the same
        seed, the same validation split) and stop before the first epoch.

        A packed search (:class:`~skmtl.model_selection.PackedGridSearchCV`)
        trains the network with others (:func:`skmtl.training.train_packed`)
        and hands the weights back to :meth:`_packed_finish`. Returns the
        training and validation datasets. A bag's member ``i`` starts with
        ``phase=("bag", i, size, seed)`` and the bag is assembled by
        :meth:`_packed_bag`.
        """
        with self._fitting(reset=True, phase=phase):
            X, codes = self._prepare_fit(X, y, reset=True, phase=phase)
            self.initialize()
            return self.get_split_datasets(X, codes)

    def _packed_bag(self, members: list) -> None:
        """Become the bag of packed members: each a copy of this estimator
        begun with a bag phase by :meth:`_packed_start` and finished by
        :meth:`_packed_finish`, in member order."""
        self._become_bag([m.module_ for m in members], [m.history_ for m in members])

    def _packed_finish(self, state: Mapping, history, selection=None) -> None:
        """Become fitted from a packed run: the weights and buffers in
        ``state`` (by name), the run's epoch rows as ``history_`` and, after
        a chosen-epochs search, the selection run's as ``selection_history_``."""
        module = self.module_
        with torch.no_grad():
            for name, tensor in [*module.named_parameters(), *module.named_buffers()]:
                if name in state:
                    tensor.copy_(state[name])
        self.history_ = History([{**row, "batches": []} for row in history])
        if selection is not None:
            # the refit run of a chosen-epochs fit, on every row
            self.selection_history_ = History([{**row, "batches": []} for row in selection])
            self.recipe_ = dataclasses.replace(
                self.recipe_,
                phase="refit",
                max_epochs=len(history),
                train_split=None,
                stops_early=False,
                monitor="train_loss",
                lower_is_better=True,
            )
            self.max_epochs_ = len(history)

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
        params = self.get_params(deep=False)
        if reset:
            with self._fitting(reset=True):  # a refused fit is forgotten like a failed one
                size = self._bag_plan(X, y)
            if size is not None:
                return self._fit_bag(X, y, size, **fit_params)
        if reset and selects_epochs(params):
            return self._select_then_refit(X, y, **fit_params)
        # skorch's fit: initialize (unless warm), then partial_fit with the codes
        return self._train(super().fit, X, y, reset=reset, **fit_params)

    def partial_fit(self, X, y, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs, building the network on the first call.

        Parameters
        ----------
        X, y
            As in :meth:`fit`. After the first call, ``y`` may hold a subset
            of the tasks; labels must be among the fitted classes.
        classes : dict, optional
            On the first call, ``{task: labels}`` as the ``classes`` parameter;
            a later call may repeat them, and refuses others.
        **fit_params
            As in :meth:`fit`.

        Returns
        -------
        self
        """
        if isinstance(y, EncodedTargets):  # from fit, through skorch's NeuralNet.fit
            return super().partial_fit(X, y, **fit_params)
        reset = not self.initialized_
        if not reset and classes is not None and hasattr(self, "target_encoder_"):
            self.target_encoder_.check_classes(classes)
        if reset and isinstance(self.bag_folds, Integral):
            with self._fitting(reset=True):
                raise ValueError(
                    f"bag_folds={self.bag_folds!r} bags in fit; partial_fit trains the network "
                    "it builds on its first call, one network. Call fit first (partial_fit "
                    "then trains every network of the bag), or set bag_folds=None."
                )
        return self._train(super().partial_fit, X, y, reset=reset, classes=classes, **fit_params)

    def load_params(self, f_params=None, **kwargs) -> None:
        """Load skorch's params files, refusing those from a fit on other data.

        The arguments are skorch's. A file that is unreadable, or saved from a
        fit with another scaling, embedded columns, tasks or classes, raises
        ``ValueError`` and leaves the estimator as it was.
        """
        load = super().load_params
        kwargs["f_params"] = f_params
        if not self.initialized_ or not hasattr(self, "target_encoder_"):
            load(**kwargs)  # skorch's own error for an uninitialized net
            return
        before, history = copy_states(self), self.history

        def restore() -> None:
            load_states(self, before)
            self.history_ = history

        expected = getattr(self.module_, DIGEST).clone()
        try:
            load(**kwargs)
        except FileNotFoundError:
            raise
        except (EOFError, OSError, RuntimeError, pickle.UnpicklingError, ValueError) as exc:
            restore()
            if DIGEST in str(exc) and "Missing key" in str(exc):
                raise ValueError(
                    "The params file holds no fit digest: it was saved by another "
                    "version of skmtl or by another model, so what predict depends on "
                    "besides the weights cannot be checked. Refit, or save the whole "
                    "estimator with pickle."
                ) from exc
            files = [repr(v) for k, v in kwargs.items() if k.startswith("f_") and v is not None]
            saved = _networks_in(kwargs.get("f_params"))
            here = len(self.module_.members) if isinstance(self.module_, BaggedModule) else 0
            if saved is not None and saved != here:

                def kind(n: int) -> str:
                    return f"a bag of {n} networks" if n else "one network"

                raise ValueError(
                    f"The params file holds {kind(saved)}, but this estimator's model is "
                    f"{kind(here)} (bag_folds). Build it with clf.set_params(max_epochs=0, "
                    f"bag_folds={saved or None}).fit(X, Y) on the same data, then load_params."
                ) from exc
            raise ValueError(
                f"Could not load the params file(s) {', '.join(files) or 'of the checkpoint'}: "
                f"{type(exc).__name__}: {exc or 'the file is empty or truncated'}. Save "
                "them again with save_params."
            ) from exc
        if not torch.equal(getattr(self.module_, DIGEST).cpu(), expected.cpu()):
            restore()
            raise ValueError(
                "The params file was saved from a model fitted on other data: its feature "
                "scaling, embedded columns, tasks or classes differ from this estimator's, "
                "and save_params/load_params carry the weights only. Load it into the "
                "estimator that was fitted with it (e.g. unpickled), or save and load the "
                "whole estimator with pickle."
            )

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


def final_step(estimator):
    """The multi-task model itself, also when it ends a Pipeline."""
    steps = getattr(estimator, "steps", None)
    return steps[-1][1] if steps else estimator


def is_multi_task(model) -> bool:
    """Whether ``model`` is one of skmtl's estimators."""
    return isinstance(model, BaseMultiTaskNet)


def multi_task_model(estimator, caller: str) -> BaseMultiTaskNet:
    """The fitted skmtl estimator that ``estimator`` is or ends in (a
    Pipeline's last step); a ``TypeError`` naming ``caller`` for any other
    estimator, scikit-learn's ``NotFittedError`` for an unfitted one."""
    model = final_step(estimator)
    if not is_multi_task(model):
        what = type(model).__name__
        if model is not estimator:
            what = f"a Pipeline ending in {what}"
        raise TypeError(
            f"{caller} takes a MultiTaskClassifier, a MultiTaskRegressor or a Pipeline "
            f"ending in one; got {what}."
        )
    check_is_fitted(model)
    return model
