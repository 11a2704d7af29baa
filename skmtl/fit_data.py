"""What ``fit`` does before skorch trains: check, encode, fit the recipe.

:func:`prepare_fit` turns the user's ``X`` and ``Y`` into the network's input
and the ``(n, n_tasks)`` codes, and sets the fitted attributes that do not
belong to skorch (``target_encoder_``, ``tasks_``, ``classes_``,
``feature_scaler_``, ``embedded_columns_``, ``embedding_bins_``,
``task_weights_``);
:func:`forget_fit` removes them again when a fit fails.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from skorch.dataset import Dataset

from . import recipe
from ._runtime import fit_threads, seeded_torch, torch_threads
from .metrics import labelled
from .network import EXPERTS
from .parameters import check_parameters, check_task_weights
from .targets import TaskEncoder, encoded
from .validation import check_features, check_n_rows, check_target_shape

#: What a fit sets besides skorch's own attributes.
FITTED = (
    *("module_", "criterion_", "weighting_", "optimizer_", "target_encoder_", "tasks_"),
    *("classes_", "task_weights_", "feature_scaler_", "embedded_columns_", "embedding_bins_"),
    *("input_shape_", "n_features_in_", "feature_names_in_", "hidden_units_", "max_epochs_"),
    "selection_history_",
)


def _fit_targets(net, X, Y, classes) -> np.ndarray:
    """Encode ``Y`` anew and choose the recipe for ``X``."""
    encoder = TaskEncoder(
        task_names=net.task_names,
        classes=net.classes if classes is None else classes,
        task_types=net.task_types,
        default_type=net._default_task_type,
    )
    check_target_shape(X, Y)
    codes = encoder.fit_transform(Y)
    check_n_rows(X, codes)
    own_mlp = net.module is None or net.architecture in EXPERTS
    net.feature_scaler_, net.embedded_columns_, net.embedding_bins_ = recipe.fit_recipe(
        net, X, own_mlp=own_mlp
    )
    net.target_encoder_ = encoder
    net.tasks_ = list(encoder.tasks_)
    net.__dict__.pop("classes_", None)
    if encoder.classes_:  # only a model with classification tasks has classes_
        one_task = encoder.kind_ == "1d"
        net.classes_ = encoder.classes_[net.tasks_[0]] if one_task else dict(encoder.classes_)
    return codes


def prepare_fit(net, X, Y, *, reset: bool, classes=None, **fit_params):
    """Check the parameters and data and encode ``Y`` (anew when ``reset``);
    drop the rows without any label, with a warning.

    Returns ``X`` as the network takes it and the codes, marked encoded.
    """
    name = type(net).__name__
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
    check_parameters(net)
    X = check_features(net, X, reset=reset)
    if reset:
        net.__dict__.pop("selection_history_", None)
        codes = _fit_targets(net, X, Y, classes)
    else:
        codes = net.target_encoder_.transform(Y)
        check_n_rows(X, codes)
    net.task_weights_ = check_task_weights(net.task_weights, net.tasks_)
    if not reset:  # a warm fit keeps its loss module; give it this fit's task_weights
        net.criterion_.weights.copy_(torch.as_tensor(net.task_weights_))
    rows = labelled(codes).any(axis=1)
    if not rows.all():
        if not rows.any():
            raise ValueError("Y has no labels at all; every row misses every task.")
        warnings.warn(
            f"Dropped {int((~rows).sum())} row(s) of Y that have no label for any task.",
            UserWarning,
            stacklevel=4,  # the caller of fit or partial_fit
        )
        X, codes = X[rows], codes[rows]
    recipe.resolve_sizes(net, X.shape[0], reset=reset)
    return X, encoded(codes)


def forget_fit(net) -> None:
    """After a failed fit, be unfitted rather than half updated."""
    net.initialized_ = False
    for attr in FITTED:
        net.__dict__.pop(attr, None)


@contextmanager
def fitting(net, *, reset: bool) -> Iterator[None]:
    """The frame of a ``fit`` or ``partial_fit``: torch seeded from
    ``random_state`` and its threads as :func:`~skmtl._runtime.fit_threads`
    chooses (both restored after); a first fit that fails is forgotten
    (:func:`forget_fit`)."""
    with seeded_torch(net.random_state), torch_threads(fit_threads(net.n_threads, net.device)):
        try:
            yield
        except BaseException:
            if reset:
                forget_fit(net)
            raise
        finally:
            recipe.hide_batch_sizes(net)


def validation_data(net, dataset) -> tuple:
    """``X`` checked and ``Y`` encoded, as in fit, of a validation ``Dataset``
    given with its own labels (skorch's ``predefined_split``)."""
    X = check_features(net, dataset.X, reset=False)
    codes = net.target_encoder_.transform(dataset.y)
    check_n_rows(X, codes)
    return X, codes


def split_datasets(net, X, y, **fit_params) -> tuple:
    """The training and validation datasets of a fit: ``recipe.validation_split``
    (``train_split="auto"`` resolved), as skorch's ``get_split_datasets`` calls
    ``train_split``; with ``skorch.helper.predefined_split(Dataset(X_valid,
    Y_valid))``, ``X_valid`` is checked and ``Y_valid`` (any kind ``fit``
    takes) encoded like the training data."""
    dataset_train, dataset_valid = net.get_dataset(X, y), None
    split = recipe.validation_split(net)
    if split is not None:
        dataset_train, dataset_valid = split(dataset_train, y, **fit_params)
    if type(dataset_valid) is Dataset and dataset_valid.y is not None:
        dataset_valid = net.get_dataset(*validation_data(net, dataset_valid))
    return dataset_train, dataset_valid
