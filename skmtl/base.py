"""The multi-task classifier: a skorch ``NeuralNet`` with one head per task."""

from __future__ import annotations

import contextlib
import copy
import inspect
import warnings
from collections.abc import Hashable, Iterable, Mapping
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.metrics import r2_score
from sklearn.utils.validation import _check_sample_weight, check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import (
    EpochScoring,
    EpochTimer,
    LRScheduler,
    PassthroughScoring,
)
from skorch.dataset import Dataset, unpack_data
from skorch.exceptions import NotInitializedError
from skorch.utils import to_tensor
from torch.utils.data import DataLoader

from ._runtime import resolve_device, seeded_torch
from .callbacks import BestEpochEarlyStopping, TaskPrintLog
from .experts import PLE, MMoE
from .losses import MultiTaskLoss
from .metrics import mean_valid_accuracy, task_accuracies
from .modules import MLPTrunk, MultiTaskModule, accepts_argument, trunk_output_width
from .scaling import make_feature_scaler, scale_features
from .split import MultiTaskValidSplit
from .targets import MISSING, UNKNOWN, TaskEncoder
from .tensor_data import TensorBatches, TensorData, tensor_view
from .validation import check_features, check_n_rows
from .weighting import make_weighting

LR_SCHEDULES = ("plateau", "cosine", None)


def auto_batch_size(n_rows: int) -> int:
    """``batch_size="auto"``: 256 rows, fewer for small data (a power of two near
    ``n_rows / 10``, at least 16), so that a small table still gets ten or
    more steps per epoch."""
    return int(min(256, max(16, 2 ** int(np.log2(max(n_rows, 1) / 10)))))


def _labelled(codes: np.ndarray) -> np.ndarray:
    """Where encoded targets hold a label: not MISSING (int codes), not NaN (floats)."""
    return ~np.isnan(codes) if codes.dtype.kind == "f" else codes != MISSING


class BaseMultiTaskNet(NeuralNet):
    """What :class:`~skmtl.MultiTaskClassifier` and
    :class:`~skmtl.MultiTaskRegressor` share: a skorch ``NeuralNet`` with a
    shared network and one head per task. Not meant to be used directly; its
    parameters are documented on those two classes.
    """

    #: The type of a task that ``task_types`` does not name.
    _default_task_type = "classification"

    def __init__(
        self,
        module=None,
        *,
        hidden_units=(256, 256),
        dropout=0.0,
        activation="relu",
        norm=None,
        numeric_embedding="periodic",
        feature_scaling="quantile",
        early_stopping=True,
        patience=20,
        lr_schedule="plateau",
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
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        lr=3e-3,
        max_epochs=100,
        batch_size="auto",
        train_split=MultiTaskValidSplit(0.2),  # noqa: B008 (stateless, as skorch's default)
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

    # ``device`` stays "auto" as a parameter (for clone and get_params), while
    # every skorch internal that reads ``self.device`` gets a real device.
    @property
    def device(self):
        """The torch device in use; ``"auto"`` reads as ``"cuda"`` or ``"cpu"``."""
        return resolve_device(self.__dict__.get("device"))

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    def _get_param_names(self):
        # skorch lists its private bookkeeping set as a parameter; __init__
        # rebuilds it from the keyword arguments, so clone does not need it.
        return [k for k in super()._get_param_names() if k != "_params_to_validate"]

    def get_params(self, deep: bool = True, **kwargs) -> dict:
        params = super().get_params(deep=deep, **kwargs)
        params["device"] = self.__dict__["device"]
        return params

    def set_params(self, **params):
        # skorch builds callbacks inside set_params; reject a wrong type early
        # with a TypeError (what scikit-learn expects) instead of a deep crash.
        callbacks = params.get("callbacks")
        if (
            callbacks is not None
            and callbacks != "disable"
            and not isinstance(callbacks, (list, tuple))
        ):
            raise TypeError(
                f"callbacks must be None, 'disable' or a list of callbacks; got {callbacks!r}."
            )
        return super().set_params(**params)

    def __setstate__(self, state: dict) -> None:
        # skorch maps CUDA tensors to the CPU on load from state["device"],
        # which must be a real device; "auto" is put back afterwards.
        requested = state["device"]
        state["device"] = resolve_device(requested)
        super().__setstate__(state)
        if requested == "auto":
            self.__dict__["device"] = requested

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.input_tags.sparse = True
        return tags

    @property
    def _default_callbacks(self):
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            (
                "valid_acc",
                EpochScoring(mean_valid_accuracy, name="valid_acc", lower_is_better=False),
            ),
            *self._recipe_callbacks(),
            ("print_log", TaskPrintLog()),
        ]

    #: What early stopping and the plateau schedule watch by default.
    _default_monitor = "valid_loss"

    def _monitor(self) -> tuple[str, bool]:
        """The history key that early stopping and ``lr_schedule="plateau"``
        watch, and whether lower is better (for a name with "loss" in it)."""
        if self.train_split is None:
            return "train_loss", True
        name = self.early_stopping
        if not isinstance(name, str):
            name = self._default_monitor
        return name, "loss" in name

    def _check_recipe(self) -> None:
        """Check the training-recipe parameters; called by ``fit``, since
        skorch builds the callbacks already in ``set_params``."""
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {LR_SCHEDULES}; got {self.lr_schedule!r}."
            )
        patience = self.patience
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be a positive int; got {patience!r}.")
        if not isinstance(self.early_stopping, (bool, str)):
            raise ValueError(
                "early_stopping must be True, False or the name of a score in the "
                f"history such as 'valid_loss'; got {self.early_stopping!r}."
            )

    def _recipe_callbacks(self) -> list[tuple[str, Any]]:
        """The callbacks behind ``lr_schedule`` and ``early_stopping``.

        Both read the validation split; with ``train_split=None`` the schedule
        watches the training loss and early stopping is off.
        """
        # skorch builds callbacks in set_params too, which must not raise:
        # bad values are left to _check_recipe in fit
        patience = self.patience if isinstance(self.patience, int) else 1
        schedule = self.lr_schedule if isinstance(self.lr_schedule, str) else None
        monitor, lower = self._monitor()
        callbacks = []
        if schedule == "plateau":
            # decay well before early stopping would give up, so a stalled
            # run gets a smaller step first
            scheduler = LRScheduler(
                policy="ReduceLROnPlateau",
                monitor=monitor,
                mode="min" if lower else "max",
                factor=0.2,
                patience=max(1, patience // 3),
            )
            callbacks.append(("lr_scheduler", scheduler))
        elif schedule == "cosine":
            epochs = self.max_epochs if isinstance(self.max_epochs, int) else 1
            scheduler = LRScheduler(policy="CosineAnnealingLR", T_max=max(1, epochs))
            callbacks.append(("lr_scheduler", scheduler))
        if self.early_stopping is not False and self.train_split is not None:
            stopper = BestEpochEarlyStopping(
                monitor=monitor,
                lower_is_better=lower,
                patience=patience,
                threshold=0.0,
            )
            callbacks.append(("early_stopping", stopper))
        return callbacks

    # ----------------------------------------------------------------- build

    def initialize_module(self):
        """Build the trunk from ``module``/``module__*`` and add one head per task.

        Overrides skorch's hook: the heads' sizes come from the classes found
        by ``fit``, so the network can only be built once data was seen.
        """
        if not hasattr(self, "target_encoder_"):
            raise NotInitializedError(
                f"{type(self).__name__} builds its network from the tasks, classes "
                "and number of features it sees in fit; call fit(X, Y) instead of "
                "initialize(). (fit with max_epochs=0 builds it without training, "
                "e.g. before load_params.)"
            )
        encoder = self.target_encoder_
        # a regression task's head has one output
        n_classes = [
            1 if reg else len(encoder.classes_[t])
            for t, reg in zip(self.tasks_, encoder.regression_, strict=True)
        ]
        experts = {"mmoe": MMoE, "ple": PLE}
        if self.architecture not in ("shared", *experts):
            raise ValueError(
                f"architecture must be 'shared', 'mmoe' or 'ple'; got {self.architecture!r}."
            )
        if self.architecture in experts:
            if self.module is not None:
                raise ValueError(
                    f"architecture={self.architecture!r} builds its own experts from "
                    "hidden_units, dropout and activation; leave module=None and pass "
                    "expert options as module__n_experts=... and the like."
                )
            kwargs = {**self._mlp_kwargs(), **self.get_params_for("module")}
            module = experts[self.architecture](self.n_features_in_, n_classes, **kwargs)
            self.module_ = module.train()
            return self
        kwargs = self.get_params_for("module")
        trunk = self.module
        if trunk is None:
            trunk = MLPTrunk
            kwargs = {**self._mlp_kwargs(), **kwargs}
        if (
            isinstance(trunk, type)
            and "in_features" not in kwargs
            and accepts_argument(trunk, "in_features")
        ):
            kwargs["in_features"] = self.n_features_in_
        if isinstance(trunk, torch.nn.Module) and not kwargs:
            # fit must not train the user's object in place (nor continue from
            # it on the next fit): each fit starts from a copy of it
            trunk = copy.deepcopy(trunk)
        else:
            trunk = self.initialized_instance(trunk, kwargs)
        width = trunk_output_width(trunk, self.n_features_in_)
        # one mode for the whole tree, also for a trunk instance left in eval
        self.module_ = MultiTaskModule(trunk, width, n_classes).train()
        return self

    def _mlp_kwargs(self) -> dict:
        """The estimator's parameters for skmtl's own MLPs: the default trunk
        and each expert (``module__*`` overrides them)."""
        return {
            "hidden_units": self.hidden_units,
            "dropout": self.dropout,
            "activation": self.activation,
            "norm": self.norm,
            "numeric_embedding": self.numeric_embedding,
            "embedded_columns": self.embedded_columns_,
        }

    def initialize_criterion(self):
        """Wrap the per-task ``criterion`` in :class:`~skmtl.losses.MultiTaskLoss`.

        The criterion is built with ``reduction="none"`` (and, where it has
        one, ``ignore_index=-1``, the code of a missing label): skmtl averages
        each task over its labelled rows itself. The task weights live in the
        loss module, on the training device. A criterion instance is copied,
        never changed.
        """
        kwargs = self.get_params_for("criterion")
        if kwargs.get("reduction", "none") != "none":
            raise ValueError(
                "Leave criterion__reduction unset: skmtl averages each task's "
                "loss over the rows labelled for it."
            )
        if isinstance(self.criterion, torch.nn.Module) and not kwargs:
            per_task = copy.deepcopy(self.criterion)
            per_task.reduction = "none"
            if getattr(per_task, "ignore_index", None) == -100:  # torch's default
                per_task.ignore_index = MISSING
        else:
            kwargs["reduction"] = "none"
            criterion_cls = (
                type(self.criterion)
                if isinstance(self.criterion, torch.nn.Module)
                else self.criterion
            )
            if "ignore_index" not in kwargs and accepts_argument(criterion_cls, "ignore_index"):
                kwargs["ignore_index"] = MISSING
            per_task = self.initialized_instance(self.criterion, kwargs)
        weighting = make_weighting(self.task_weighting, len(self.tasks_))
        self.criterion_ = MultiTaskLoss(
            per_task,
            self.task_weights_,
            weighting,
            regression=self.target_encoder_.regression_,
            regression_loss=self.regression_loss,
        )
        return self

    def initialize_optimizer(self, triggered_directly=None):
        """Build the optimizer as skorch does, fused where ``fused_optimizer`` says."""
        args, kwargs = self.get_params_for_optimizer("optimizer", self.get_all_learnable_params())
        if self.weight_decay and "weight_decay" not in kwargs:
            if not accepts_argument(self.optimizer, "weight_decay"):
                raise ValueError(
                    f"weight_decay={self.weight_decay!r} needs an optimizer that takes "
                    f"weight_decay; {self.optimizer!r} does not. Set weight_decay=0."
                )
            kwargs["weight_decay"] = self.weight_decay
        if self._use_fused(kwargs):
            kwargs["fused"] = True
        self.optimizer_ = self.optimizer(*args, **kwargs)
        return self

    def _use_fused(self, kwargs: dict) -> bool:
        if self.fused_optimizer not in ("auto", True, False):
            raise ValueError(
                f"fused_optimizer must be 'auto', True or False; got {self.fused_optimizer!r}."
            )
        if not self.fused_optimizer or "fused" in kwargs or "foreach" in kwargs:
            return False
        if self.fused_optimizer == "auto" and torch.device(self.device).type != "cuda":
            return False
        try:
            return "fused" in inspect.signature(self.optimizer).parameters
        except (TypeError, ValueError):
            return False

    def _set_training(self, training=True):
        # skorch sets the mode of every submodule before every batch; walking
        # the module tree costs about 5% of a small MLP's step on the CPU, so
        # per batch only the top module's mode is compared. run_single_epoch
        # sets the whole tree once per epoch and phase.
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and module.training != training:
                module.train(training)

    # ------------------------------------------------------------------ loss

    def get_task_losses(self, y_pred, y_true) -> torch.Tensor:
        """Each task's mean loss over the rows of the batch labelled for it.

        Parameters
        ----------
        y_pred : tuple of torch.Tensor
            Logits of each task, as returned by the module.
        y_true : torch.Tensor of shape (batch, n_tasks)
            Class codes; ``-1`` marks a missing label.

        Returns
        -------
        torch.Tensor of shape (n_tasks,)
            Zero for a task with no label in the batch.
        """
        return self.criterion_.task_losses(y_pred, to_tensor(y_true, device=self.device))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Weighted sum over tasks of :meth:`get_task_losses` (skorch hook)."""
        return self.criterion_(y_pred, to_tensor(y_true, device=self.device))

    def infer(self, x, **fit_params):
        """skorch's forward step, under bf16 autocast where ``mixed_precision`` says."""
        with self._autocast():
            return super().infer(x, **fit_params)

    def _autocast(self) -> AbstractContextManager:
        if self.mixed_precision not in ("auto", True, False):
            raise ValueError(
                f"mixed_precision must be 'auto', True or False; got {self.mixed_precision!r}."
            )
        device_type = torch.device(self.device).type
        enabled = bool(self.mixed_precision)
        if self.mixed_precision == "auto":
            enabled = device_type == "cuda" and torch.cuda.is_bf16_supported()
        if not enabled:
            return contextlib.nullcontext()
        return torch.autocast(device_type, dtype=torch.bfloat16)

    # --------------------------------------------------------------- steps

    def _affinity_due(self) -> bool:
        if not self.affinity_every or len(self.tasks_) < 2:
            return False
        self.criterion_.steps += 1
        return (self.criterion_.steps - 1) % self.affinity_every == 0

    def train_step_single(self, batch, **fit_params):
        """skorch hook: one forward and backward, as ``task_weighting`` says.

        A one-backward strategy back-propagates its combination of the task
        losses. A gradient strategy (and, every ``affinity_every`` steps, any
        strategy) splits the network at the shared representation ``h``: it
        takes each task's gradient on ``h`` with one head-sized backward per
        task, combines them, and sends the result through the trunk in a
        single backward. The returned loss is the sum of the weighted task
        losses, comparable across strategies.
        """
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        y_true = to_tensor(yi, device=self.device)
        weighting = self.criterion_.weighting
        affinity_due = self._affinity_due()
        if not (weighting.per_task_gradients or affinity_due):
            y_pred = self.infer(Xi, **fit_params)
            if weighting.uses_presence:
                losses, present = self.criterion_.weighted_losses(
                    y_pred, y_true, track="train", return_present=True
                )
            else:  # the hot path of "equal": two fewer ops a step
                losses, present = (
                    self.criterion_.weighted_losses(y_pred, y_true, track="train"),
                    None,
                )
            weighting.combine(losses, present).backward()
            return {"loss": losses.detach().sum(), "y_pred": y_pred}

        X = to_tensor(Xi, device=self.device)
        with self._autocast():
            shared = self.module_.forward_shared(X, **fit_params)
            cut = shared.detach().requires_grad_()
            y_pred = self.module_.forward_tasks(cut, X)
        losses, present = self.criterion_.weighted_losses(
            y_pred, y_true, track="train", return_present=True
        )
        grads = torch.stack(
            [torch.autograd.grad(loss, cut, retain_graph=True)[0].flatten() for loss in losses]
        ).float()
        if affinity_due:
            self.criterion_.track_affinity(grads, present)
        if weighting.per_task_gradients:
            shared_grad, head_weights = weighting.combine_gradients(losses, grads, present)
            (head_weights.detach() * losses).sum().backward()
            shared.backward(shared_grad.view_as(shared).to(shared.dtype))
        else:
            weighting.combine(losses, present).backward()  # heads, and the gradient on the cut
            shared.backward(cut.grad)
        return {"loss": losses.detach().sum(), "y_pred": y_pred}

    def validation_step(self, batch, **fit_params):
        """skorch hook: the loss of a validation batch, also counted per task."""
        self._set_training(False)
        Xi, yi = unpack_data(batch)
        y_true = to_tensor(yi, device=self.device)
        with torch.no_grad():
            y_pred = self.infer(Xi, **fit_params)
            loss = self.criterion_.weighted_losses(y_pred, y_true, track="valid").sum()
            self.criterion_.track_correct(y_pred, y_true)
        return {"loss": loss, "y_pred": y_pred}

    def on_epoch_begin(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        super().on_epoch_begin(net, dataset_train, dataset_valid, **kwargs)
        self.criterion_.pop_epoch()  # drop anything counted outside the epoch

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        """Record per-task losses, validation accuracies and weights in the history.

        Runs before the callbacks' ``on_epoch_end``, so ``EarlyStopping`` and
        friends can monitor ``valid_loss_<task>`` or ``valid_acc_<task>``.
        """
        super().on_epoch_end(net, dataset_train, dataset_valid, **kwargs)
        stats = self.criterion_.pop_epoch()
        weighting = self.criterion_.weighting
        weights = (self.criterion_.weights.cpu() * weighting.epoch_weights().cpu()).tolist()
        has_valid = bool(stats["valid_count"].sum() > 0)
        regression = self.target_encoder_.regression_
        for t, task in enumerate(self.tasks_):
            self.history.record(f"train_loss_{task}", float(stats["train_loss"][t]))
            if has_valid:
                self.history.record(f"valid_loss_{task}", float(stats["valid_loss"][t]))
                if regression[t]:
                    self.history.record(f"valid_r2_{task}", float(stats["valid_r2"][t]))
                else:
                    self.history.record(f"valid_acc_{task}", float(stats["valid_acc"][t]))
            self.history.record(f"weight_{task}", weights[t])
        if has_valid and any(regression):
            r2 = [float(stats["valid_r2"][t]) for t, reg in enumerate(regression) if reg]
            r2 = [v for v in r2 if not np.isnan(v)]
            self.history.record("valid_r2", float(np.mean(r2)) if r2 else float("nan"))
        if bool(stats["train_count"].sum() > 0):
            device = self.criterion_.weights.device
            weighting.end_epoch(
                stats["train_loss"].to(device), (stats["train_count"] > 0).to(device)
            )

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        steps = self.criterion_.affinity_steps.cpu().numpy()
        total = self.criterion_.affinity_sum.cpu().numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(steps > 0, total / np.maximum(steps, 1), np.nan)
        self.task_affinity_ = pd.DataFrame(mean, index=self.tasks_, columns=self.tasks_)

    # ------------------------------------------------------------ data path

    _DATALOADER_ONLY = {"collate_fn", "sampler", "batch_sampler", "generator", "worker_init_fn"}

    def _use_tensor_data(self, X) -> bool:
        if self.data_on_device not in ("auto", True, False):
            raise ValueError(
                f"data_on_device must be 'auto', True or False; got {self.data_on_device!r}."
            )
        if not self.data_on_device or not isinstance(X, np.ndarray) or X.dtype == object:
            return False
        if self.dataset is not Dataset or self.get_params_for("dataset"):
            return False
        for name in ("iterator_train", "iterator_valid"):
            if getattr(self, name) is not DataLoader:
                return False
            if self._DATALOADER_ONLY & set(self.get_params_for(name)):
                return False
        device = torch.device(self.device)
        if self.data_on_device == "auto" and device.type == "cuda":
            free, _ = torch.cuda.mem_get_info(device)
            return X.nbytes < free // 2
        return True

    def get_dataset(self, X, y=None):
        """skorch hook: array input becomes a :class:`~skmtl.tensor_data.TensorData`.

        ``X`` (as float32) and ``y`` are copied to the training device once;
        anything else goes to skorch's ``Dataset`` as usual.
        """
        if hasattr(self, "n_features_in_") and (
            isinstance(X, pd.DataFrame)
            or sp.issparse(X)
            or (isinstance(X, np.ndarray) and X.dtype != np.float32)
        ):
            X = check_features(self, X, reset=False)  # e.g. net.forward(X_float64)
        if isinstance(X, np.ndarray) and getattr(self, "feature_scaler_", None) is not None:
            # every array reaches the network through here: fit, predict, forward
            X = scale_features(self.feature_scaler_, X)
        if not self._use_tensor_data(X):
            return super().get_dataset(X, y)
        dtype = torch.float32 if X.dtype.kind in "fiub" else None
        X_t = torch.as_tensor(X, dtype=dtype, device=self.device)
        y_t = None if y is None else torch.as_tensor(np.asarray(y), device=self.device)
        return TensorData(X_t, y_t)

    def get_iterator(self, dataset, training=False):
        """skorch hook: batch a :class:`TensorData` by slicing a permutation.

        Honours ``batch_size``, ``iterator_train__shuffle``,
        ``iterator_*__batch_size`` and ``iterator_*__drop_last``; other data
        goes through skorch's ``DataLoader``.
        """
        view = tensor_view(dataset)
        kwargs = self.get_params_for("iterator_train" if training else "iterator_valid")
        batch_size = kwargs.get("batch_size", self.batch_size)
        if batch_size == "auto":
            batch_size = auto_batch_size(len(dataset)) if training else self.predict_batch_size
        if view is None:
            if self.batch_size != "auto":
                return super().get_iterator(dataset, training=training)
            # skorch's get_iterator, with the batch size resolved
            iterator = self.iterator_train if training else self.iterator_valid
            batch_size = len(dataset) if batch_size == -1 else batch_size
            return iterator(dataset, **{**kwargs, "batch_size": batch_size})
        return TensorBatches(
            *view,
            batch_size=batch_size,
            shuffle=bool(kwargs.get("shuffle", False)),
            drop_last=bool(kwargs.get("drop_last", False)),
            # batch norm cannot train on a batch of one row: fold it into the last
            min_last=2 if training and self._has_batch_norm() else 1,
        )

    def _has_batch_norm(self) -> bool:
        norms = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
        return any(isinstance(m, norms) for m in self.module_.modules())

    def _defer_loss_readback(self) -> bool:
        """Whether batch losses stay on the device until the epoch ends (GPUs)."""
        return torch.device(self.device).type != "cpu"

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """skorch's epoch loop; on a GPU it reads the batch losses back once.

        skorch calls ``loss.item()`` after every batch, which on a GPU waits
        for the device. On the fast path with a CUDA device each batch's loss
        stays on the device, sits in the history as a 0-d tensor during the
        epoch, and all of them are copied back together, before
        ``on_epoch_end`` (or on an interrupt). On the CPU, where ``item()``
        costs nothing, the history holds floats at once, exactly as skorch's.
        Callbacks see the same calls as on skorch's path.
        """
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_", None)
            if isinstance(module, torch.nn.Module):
                module.train(training)
        if not isinstance(iterator, TensorBatches):
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        deferred = self._defer_loss_readback()
        batches = self.history[-1]["batches"]
        first, losses = len(batches), []
        try:
            for batch in iterator:
                self.notify("on_batch_begin", batch=batch, training=training)
                step = step_fn(batch, **fit_params)
                loss = step["loss"].detach()
                losses.append(loss)
                self.history.record_batch(prefix + "_loss", loss if deferred else loss.item())
                self.history.record_batch(prefix + "_batch_size", len(batch[0]))
                self.notify("on_batch_end", batch=batch, training=training, **step)
        finally:
            if deferred and losses:
                values = torch.stack(losses).tolist()
                for entry, value in zip(batches[first:], values, strict=False):
                    entry[prefix + "_loss"] = value
        self.history.record(prefix + "_batch_count", len(losses))

    # ------------------------------------------------------------------- fit

    def _check_task_weights(self) -> np.ndarray:
        weights = dict.fromkeys(self.tasks_, 1.0)
        given = self.task_weights or {}
        if not isinstance(given, Mapping):
            raise ValueError(f"task_weights must be a dict {{task: weight}}; got {given!r}.")
        unknown = [t for t in given if t not in weights]
        if unknown:
            raise ValueError(
                f"task_weights names task(s) {unknown} that are not in Y; the tasks "
                f"are {self.tasks_}."
            )
        weights.update(given)
        values = np.array([float(w) for w in weights.values()])
        if not np.isfinite(values).all() or (values < 0).any() or values.sum() == 0:
            raise ValueError(
                f"task_weights must be finite, non-negative and not all zero; got {weights}."
            )
        return values

    def _check_fit_data(self, X, Y, *, reset: bool, classes=None):
        if Y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is "
                "None. Pass Y as a dict of tasks, a DataFrame, or a 1-D or 2-D array."
            )
        X = check_features(self, X, reset=reset)
        if reset:
            encoder = TaskEncoder(
                task_names=self.task_names,
                classes=self.classes if classes is None else classes,
                task_types=self.task_types,
                default_type=self._default_task_type,
            )
            codes = encoder.fit_transform(Y)
            check_n_rows(X, codes)
            scaler = make_feature_scaler(self.feature_scaling, len(X), self.random_state)
            self.feature_scaler_ = None if scaler is None else scaler.fit(X)
            self.embedded_columns_ = None
            if self.numeric_embedding is not None:
                # 0/1 columns (one-hot, flags) gain nothing from an embedding
                two_valued = ((X == X.min(axis=0)) | (X == X.max(axis=0))).all(axis=0)
                self.embedded_columns_ = np.flatnonzero(~two_valued).tolist()
            self.target_encoder_ = encoder
            self.tasks_ = list(encoder.tasks_)
            self.__dict__.pop("classes_", None)
            if encoder.classes_:  # only a model with classification tasks has classes_
                one_task = encoder.kind_ == "1d"
                self.classes_ = (
                    encoder.classes_[self.tasks_[0]] if one_task else dict(encoder.classes_)
                )
        else:
            codes = self.target_encoder_.transform(Y)
            check_n_rows(X, codes)
        self.task_weights_ = self._check_task_weights()
        labelled = _labelled(codes).any(axis=1)
        if not labelled.all():
            if not labelled.any():
                raise ValueError("Y has no labels at all; every row misses every task.")
            warnings.warn(
                f"Dropped {int((~labelled).sum())} row(s) of Y that have no label for any task.",
                UserWarning,
                stacklevel=4,  # the caller of fit or partial_fit
            )
            X, codes = X[labelled], codes[labelled]
        return X, codes

    def _sync_task_weights(self) -> None:
        # a warm fit keeps its loss module; give it this fit's task_weights
        self.criterion_.weights.copy_(torch.as_tensor(self.task_weights_))

    def _forget_fit(self) -> None:
        """After a failed (re)fit, be unfitted rather than half updated."""
        self.initialized_ = False
        for attr in (
            "module_",
            "criterion_",
            "optimizer_",
            "target_encoder_",
            "tasks_",
            "classes_",
            "task_weights_",
            "feature_scaler_",
            "embedded_columns_",
        ):
            self.__dict__.pop(attr, None)

    def _train(self, X, y, *, reset: bool, classes=None, **fit_params):
        if "sample_weight" in fit_params:
            raise ValueError(
                f"{type(self).__name__}.fit does not take sample_weight; weigh whole "
                "tasks with task_weights={task: weight}, or resample the rows."
            )
        with seeded_torch(self.random_state, offset=0 if reset else len(self.history)):
            try:
                X, codes = self._check_fit_data(X, y, reset=reset, classes=classes)
                self._check_recipe()
                if reset:
                    self.initialize()
                else:
                    self._sync_task_weights()
            except BaseException:
                if reset:
                    self._forget_fit()
                raise
            # skorch's NeuralNet.fit is initialize + partial_fit; calling its
            # partial_fit keeps our partial_fit from encoding Y a second time
            return NeuralNet.partial_fit(self, X, codes, **fit_params)

    def fit(self, X, y, **fit_params):
        """Build the network from the data and train it.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)
            Numeric features (encode categorical columns first).
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
        return self._train(X, y, reset=reset, _routing_method="fit", **fit_params)

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
        return self._train(X, y, reset=not self.initialized_, classes=classes, **fit_params)

    def get_split_datasets(self, X, y=None, **fit_params):
        """skorch hook: also encode a validation set given with its own labels.

        With ``train_split=skorch.helper.predefined_split(Dataset(X_valid,
        Y_valid))``, ``X_valid`` is checked and ``Y_valid`` (any kind ``fit``
        takes) is encoded like the training data.
        """
        dataset_train, dataset_valid = super().get_split_datasets(X, y, **fit_params)
        if type(dataset_valid) is Dataset and dataset_valid.y is not None:
            X_valid = check_features(self, dataset_valid.X, reset=False)
            codes = self.target_encoder_.transform(dataset_valid.y)
            check_n_rows(X_valid, codes)
            dataset_valid = self.get_dataset(X_valid, codes)
        return dataset_train, dataset_valid

    # --------------------------------------------------------------- predict

    @staticmethod
    def _per_task(outputs: Iterable) -> list[torch.Tensor]:
        """Concatenate the batches of the module's per-task outputs."""
        return [torch.cat(task) for task in zip(*outputs, strict=True)]

    def _codes(self, logits: list[torch.Tensor]) -> np.ndarray:
        """One column per task, copied back in one go: class codes (int64), or
        with any regression task, a float matrix of class codes and
        standardised regression predictions."""
        regression = self.target_encoder_.regression_
        if not any(regression):
            return torch.stack([out.argmax(dim=1) for out in logits], dim=1).cpu().numpy()
        columns = [
            out[:, 0].float() if reg else out.argmax(dim=1).float()
            for out, reg in zip(logits, regression, strict=True)
        ]
        return torch.stack(columns, dim=1).cpu().numpy()

    def _forward_logits(self, X) -> list[torch.Tensor]:
        """Per-task logits of validated ``X``, left on the device.

        On the fast path ``X`` goes to the device once and through the module
        in batches of ``predict_batch_size``.
        """
        dataset = self.get_dataset(X)
        view = tensor_view(dataset)
        if view is None:
            return self._per_task(self.forward_iter(dataset, device=self.device))
        size = self.predict_batch_size
        if isinstance(size, bool) or not isinstance(size, int) or (size < 1 and size != -1):
            raise ValueError(f"predict_batch_size must be a positive int or -1; got {size!r}.")
        batches = TensorBatches(*view, batch_size=size)
        return self._per_task(self.evaluation_step(batch) for batch in batches)

    def _predict_codes(self, X) -> np.ndarray:
        """Class codes ``(n_samples, n_tasks)`` of already validated ``X``."""
        return self._codes(self._forward_logits(X))

    def _checked(self, X) -> np.ndarray:
        check_is_fitted(self)
        return check_features(self, X, reset=False)

    def predict(self, X) -> Any:
        """Predict the label of every task.

        Parameters
        ----------
        X : array-like or sparse matrix of shape (n_samples, n_features)

        Returns
        -------
        dict, DataFrame or ndarray
            In the kind of ``Y`` given to ``fit``: a dict of 1-D arrays; a
            DataFrame with the same columns (and the index of ``X`` when ``X`` is
            a DataFrame); an array of shape ``(n_samples, n_tasks)``; or a 1-D
            array. Labels are the original labels.
        """
        index = X.index if isinstance(X, pd.DataFrame) else None
        codes = self._predict_codes(self._checked(X))
        return self.target_encoder_.decode(codes, index=index)

    def score_tasks(self, X, y, sample_weight=None) -> dict[Hashable, float]:
        """Each task's score on the rows of ``Y`` labelled for it: accuracy for
        a classification task, R^2 for a regression task.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
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
        cols = [self.tasks_.index(t) for t in tasks]
        predicted = self._predict_codes(X)
        scores = {}
        for task, j in zip(tasks, cols, strict=True):
            labelled = _labelled(codes[:, j])
            if self.target_encoder_.types_[task] == "regression":
                weight = None if sample_weight is None else sample_weight[labelled]
                scores[task] = (
                    float(
                        r2_score(codes[labelled, j], predicted[labelled, j], sample_weight=weight)
                    )
                    if labelled.sum() > 1
                    else float("nan")
                )
                continue
            true = np.where(labelled, codes[:, j], MISSING).astype(np.int64)
            if labelled.any() and (true[labelled] == UNKNOWN).all():
                warnings.warn(
                    f"None of the labels of task {task!r} in Y is among its classes "
                    f"{self.target_encoder_.classes_[task].tolist()}; check the labels' "
                    "type (e.g. '1' against 1).",
                    UserWarning,
                    stacklevel=2,
                )
            pred = predicted[:, j].astype(np.int64)
            scores[task] = float(task_accuracies(true, pred, sample_weight)[0])
        return scores

    def score(self, X, y, sample_weight=None) -> float:
        """Mean over the tasks in ``Y`` of :meth:`score_tasks`.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
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
