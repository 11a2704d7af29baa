"""The default training recipe for tabular data, and where it applies.

``feature_scaling`` and ``numeric_embedding`` are made for 2-D tables of
numbers. Their ``"auto"`` settings decide from ``X`` itself:

=====================  =======================  ==============================
X                      ``feature_scaling``      ``numeric_embedding``
=====================  =======================  ==============================
dense 2-D              ``"quantile"`` (0/1      ``"piecewise_linear"`` for
                       columns as they are)     skmtl's own MLPs, on the
                                                columns with more than two
                                                values, unless more than
                                                :data:`MAX_EMBEDDED_COLUMNS`
                                                or fewer than
                                                :data:`MIN_EMBEDDED_ROWS` rows
sparse 2-D             none (keeps sparsity)    none
N-D (images, ...)      none                     none
=====================  =======================  ==============================

An explicit request that cannot apply (scaling N-D X, a scaler that would
densify sparse X, embedding for a custom trunk) is an error, never ignored.
The width, batch size and validation split that follow the data, and the
early-stopping and learning-rate callbacks of the recipe, live here too;
the epoch count is :mod:`skmtl.epochs`'s.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.base import TransformerMixin
from sklearn.preprocessing import (
    MaxAbsScaler,
    RobustScaler,
    StandardScaler,
)
from skorch.callbacks import EpochScoring, EpochTimer, LRScheduler, PassthroughScoring

from . import epochs
from .callbacks import (
    BestEpochEarlyStopping,
    DivergenceGuard,
    EpochDecay,
    RecipeLRScheduler,
    TaskPrintLog,
)
from .history import TaskHistory
from .metrics import mean_valid_accuracy
from .scaling import TabularQuantileTransformer, two_valued_columns
from .split import MultiTaskValidSplit
from .validation import check_features

#: ``numeric_embedding="auto"`` embeds at most this many columns: beyond it
#: the embedding's width (16 per column) would dwarf the network it feeds.
MAX_EMBEDDED_COLUMNS = 256

#: ... and only from this many training rows: below it the embedding's
#: parameters (``n_bins`` x 16 per column) cost more accuracy than they add
#: (docs/accuracy.md: +2.0 points on penguins without it).
MIN_EMBEDDED_ROWS = 500

#: Scalers that keep a sparse matrix sparse.
_SPARSE_SAFE = ("maxabs", None)


def auto_batch_size(n_rows: int) -> int:
    """``batch_size="auto"``: the power of two nearest ``n_rows / 10``, clipped
    to [16, 256], so that a small table still gets about ten steps per epoch.
    A step on the CPU costs about the same per row from 256 rows up, so a
    larger batch would only take steps away from a large table."""
    return int(np.clip(2 ** round(np.log2(max(n_rows, 1) / 10)), 16, 256))


def auto_hidden_units(n_rows: int) -> tuple[int, ...]:
    """``hidden_units="auto"``: three layers, 256 wide up to 50,000 rows and
    512 beyond: more data carries more structure to fit, and the wider
    network roughly doubles the cost of a step."""
    return (512,) * 3 if n_rows > WIDE_ROWS else (256,) * 3


#: ``hidden_units="auto"`` widens the trunk beyond this many training rows.
WIDE_ROWS = 50_000


def hidden_units(net) -> Any:
    """The resolved ``hidden_units``: :func:`auto_hidden_units` of the
    training rows for ``"auto"`` (read in fit, as ``hidden_units_``)."""
    if net.hidden_units == "auto":
        return getattr(net, "hidden_units_", auto_hidden_units(0))
    return net.hidden_units


def resolve_sizes(net, n_rows: int, *, reset: bool) -> None:
    """Set ``hidden_units_`` (on a new fit) and ``max_epochs_`` (each fit)
    from the parameters and the ``n_rows`` of the training data."""
    if reset:
        net.hidden_units_ = (
            auto_hidden_units(n_rows) if net.hidden_units == "auto" else net.hidden_units
        )
    net.max_epochs_ = epochs.max_epochs(net, n_rows)


def batch_size(net, iterator_kwargs: dict, n_rows: int, training: bool) -> int:
    """The batch size of an epoch's iterator: ``iterator_*__batch_size``, else
    ``batch_size``; ``"auto"`` is :func:`auto_batch_size` of the ``n_rows`` of
    the training set, and ``predict_batch_size`` for inference."""
    size = iterator_kwargs.get("batch_size", net.batch_size)
    if size != "auto":
        return size
    return auto_batch_size(n_rows) if training else net.predict_batch_size


def show_batch_sizes(net, dataset_train, dataset_valid) -> None:
    """With ``batch_size="auto"``, set ``iterator_*__batch_size`` to the sizes
    in use for this epoch, for callbacks that count batches from the
    parameters (skorch's ``ProgressBar``); :func:`hide_batch_sizes` undoes it."""
    if net.batch_size != "auto":
        return
    shown = net.__dict__.setdefault("_shown_batch_sizes_", set())
    for phase, data in (("train", dataset_train), ("valid", dataset_valid)):
        key = f"iterator_{phase}__batch_size"
        if data is not None and (key in shown or key not in net.__dict__):
            net.__dict__[key] = batch_size(net, {}, len(data), phase == "train")
            shown.add(key)


def hide_batch_sizes(net) -> None:
    """Remove what :func:`show_batch_sizes` set: ``"auto"`` is the parameter again."""
    for key in net.__dict__.pop("_shown_batch_sizes_", ()):
        net.__dict__.pop(key, None)


def _input_kind(X) -> str:
    if sp.issparse(X):
        return "sparse"
    return "tabular" if X.ndim == 2 else "nd"


def resolve_feature_scaling(kind, X) -> str | None:
    """The scaling ``feature_scaling=kind`` means for ``X``; raise where it cannot apply."""
    shape = _input_kind(X)
    if kind == "auto":
        return "quantile" if shape == "tabular" else None
    if kind is not None and shape == "nd":
        raise ValueError(
            f"feature_scaling={kind!r} scales the columns of a 2-D table, but X has "
            f"shape {X.shape}; use feature_scaling='auto' or None (and normalise "
            "images or sequences in the trunk or before fit)."
        )
    if shape == "sparse" and kind not in _SPARSE_SAFE:
        raise ValueError(
            f"feature_scaling={kind!r} would make sparse X dense; use "
            "feature_scaling='maxabs' (keeps sparsity), 'auto' or None."
        )
    return kind


def make_feature_scaler(kind: str | None, n_rows: int, random_state=None):
    """The unfitted scikit-learn transformer behind a resolved ``feature_scaling``.

    ``"quantile"`` maps each feature through its empirical CDF to a standard
    normal, which makes heavy tails, skew and odd units harmless to an MLP
    (the preprocessing of the TabM and RTDL papers), and leaves 0/1 columns
    as they are (:class:`~skmtl.scaling.TabularQuantileTransformer`); the
    number of quantiles follows the data size so that small tables get a
    smooth map.
    ``"standard"``, ``"robust"`` and ``"maxabs"`` are scikit-learn's scalers;
    ``None`` leaves the features as given.
    """
    if kind is None:
        return None
    if kind == "quantile":
        return TabularQuantileTransformer(
            n_quantiles=int(min(n_rows, np.clip(n_rows // 30, 10, 1000))),
            output_distribution="normal",
            random_state=random_state,
        )
    return {"standard": StandardScaler, "robust": RobustScaler, "maxabs": MaxAbsScaler}[kind]()


def scale_features(scaler: TransformerMixin, X):
    """``X`` through a fitted scaler: C-contiguous float32, or CSR float32 if sparse."""
    out = scaler.transform(X)
    if sp.issparse(out):
        return sp.csr_matrix(out, dtype=np.float32)
    return np.ascontiguousarray(out, dtype=np.float32)


def network_input(net, X):
    """``X`` as the fitted ``net``'s network takes it: checked (when given as
    a DataFrame, sparse or not float32, e.g. to ``net.forward``) and through
    the fitted ``feature_scaler_``. Every array reaching the network passes
    here, in fit, predict and ``forward`` alike."""
    if hasattr(net, "n_features_in_") and (
        isinstance(X, pd.DataFrame)
        or sp.issparse(X)
        or (isinstance(X, np.ndarray) and X.dtype != np.float32)
    ):
        X = check_features(net, X, reset=False)
    if getattr(net, "feature_scaler_", None) is not None and (
        isinstance(X, np.ndarray) or sp.issparse(X)
    ):
        X = scale_features(net.feature_scaler_, X)
    return X


#: The explicit ``numeric_embedding`` settings.
EMBEDDING_KINDS = ("piecewise_linear", "periodic")

#: Bin edges are read off at most this many rows.
_BIN_ROWS = 100_000


def embedded_columns(kind, X, *, own_mlp: bool) -> list[int] | None:
    """The columns the numeric embedding embeds, or ``None`` for no embedding.

    ``own_mlp``: whether the network is skmtl's own MLP or experts (a custom
    ``module`` gets ``X`` as it is). 0/1 columns (one-hot, flags) gain nothing
    from an embedding and pass through.
    """
    if kind is None:
        return None
    shape = _input_kind(X)
    if kind in EMBEDDING_KINDS:
        if not own_mlp:
            raise ValueError(
                f"numeric_embedding={kind!r} belongs to skmtl's own MLP trunk and "
                "experts; a custom module= gets X as it is. Use numeric_embedding="
                "'auto' or None, or embed inside your module."
            )
        if shape != "tabular":
            raise ValueError(
                f"numeric_embedding={kind!r} embeds the columns of a dense 2-D table; "
                f"X is {'sparse' if shape == 'sparse' else f'of shape {X.shape}'}. Use "
                "numeric_embedding='auto' or None."
            )
    elif not own_mlp or shape != "tabular":  # "auto"
        return None
    columns = np.flatnonzero(~two_valued_columns(X)).tolist()
    if kind == "auto" and (len(columns) > MAX_EMBEDDED_COLUMNS or len(X) < MIN_EMBEDDED_ROWS):
        return None
    return columns


def _embedding(kind):
    """An explicit ``numeric_embedding`` setting: ``"auto"`` is ``"piecewise_linear"``."""
    return "piecewise_linear" if kind == "auto" else kind


def embedding_kind(net) -> str | None:
    """The embedding the fitted ``net`` uses; none without a column to embed."""
    return _embedding(net.numeric_embedding) if net.embedded_columns_ else None


def embedding_bins(X, scaler, columns, n_bins: int) -> list[list[float]]:
    """The quantile bin edges of each column in ``columns`` of the training
    ``X`` through the fitted ``scaler`` (or None), by
    ``rtdl_num_embeddings.compute_bins``, read off at most 100,000 rows
    (only those are scaled here); as lists of floats, so that they pickle
    and save as JSON."""
    from rtdl_num_embeddings import compute_bins

    rows = np.arange(X.shape[0])
    if len(rows) > _BIN_ROWS:
        rows = np.sort(np.random.default_rng(0).choice(rows, _BIN_ROWS, replace=False))
        X = X[rows]
    if scaler is not None:
        X = scale_features(scaler, X)
    values = torch.as_tensor(np.ascontiguousarray(X[:, columns], dtype=np.float32))
    # at most one bin per two rows: a small table gets bins it can fill
    n_bins = max(1, min(n_bins, len(rows) // 2))
    return [edges.tolist() for edges in compute_bins(values, n_bins)]


def fit_recipe(net, X, *, own_mlp: bool):
    """The fitted ``feature_scaler_`` (or None), the ``embedded_columns_``
    (or None) and the ``embedding_bins_`` (or None) of ``net`` for the
    training data ``X``."""
    scaling = resolve_feature_scaling(net.feature_scaling, X)
    scaler = make_feature_scaler(scaling, X.shape[0], net.random_state)
    columns = embedded_columns(net.numeric_embedding, X, own_mlp=own_mlp)
    if scaler is None:
        _warn_large_values(X)
    else:
        scaler.fit(X)
    bins = None
    if columns and _embedding(net.numeric_embedding) == "piecewise_linear":
        bins = embedding_bins(X, scaler, columns, net.n_bins)
    return scaler, columns, bins


#: Unscaled features beyond this magnitude get a warning: a network's first
#: layer saturates or overflows on them.
LARGE_VALUE = 1e6


def _warn_large_values(X) -> None:
    values = X.data if sp.issparse(X) else X
    if not values.size:
        return
    largest = max(float(values.max()), -float(values.min()))
    if largest > LARGE_VALUE:
        warnings.warn(
            f"X has values of magnitude up to {largest:.3g} and is not scaled; a "
            "network trains poorly or diverges on such inputs. Scale X: keep "
            "feature_scaling='auto' for a table, or scale it before the estimator.",
            UserWarning,
            stacklevel=7,  # the caller of fit
        )


def validation_split(net):
    """The ``train_split`` in use: ``"auto"`` holds out 20% (stratified, see
    :class:`~skmtl.split.MultiTaskValidSplit`) for early stopping and for
    choosing the epochs (:mod:`skmtl.epochs`), and trains on every row
    otherwise."""
    if isinstance(net.train_split, str) and net.train_split == "auto":
        if stops_early(net):
            return MultiTaskValidSplit(epochs.SELECTION_SPLIT)
        return None
    return net.train_split


def stops_early(net) -> bool:
    """Whether this fit stops early: ``early_stopping``, or choosing the epochs."""
    current = epochs.phase(net)
    if current is not None:
        return current[0] == "select"
    return net.early_stopping is not False


def monitor(net) -> tuple[str, bool]:
    """The history key that early stopping and ``lr_schedule="plateau"``
    watch, and whether lower is better (for a name with "loss" in it)."""
    if validation_split(net) is None:
        return "train_loss", True
    name = net.early_stopping
    if not isinstance(name, str):
        name = net._default_monitor
    return name, "loss" in name


def default_callbacks(net) -> list[tuple[str, Any]]:
    """The estimators' default callbacks: the per-task history first (its
    columns feed the rest), the divergence guard, skorch's timer and scores,
    :func:`recipe_callbacks` and the compact epoch table."""
    return [
        ("task_history", TaskHistory()),
        ("divergence_guard", DivergenceGuard()),
        ("epoch_timer", EpochTimer()),
        ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ("valid_loss", PassthroughScoring(name="valid_loss")),
        ("valid_acc", EpochScoring(mean_valid_accuracy, name="valid_acc", lower_is_better=False)),
        *recipe_callbacks(net),
        ("print_log", TaskPrintLog()),
    ]


def _schedules_itself(net) -> bool:
    """Whether ``callbacks`` holds a skorch ``LRScheduler`` of the user's."""
    given = net.callbacks if isinstance(net.callbacks, (list, tuple)) else []
    found = (cb[1] if isinstance(cb, tuple) else cb for cb in given)
    return any(isinstance(cb, LRScheduler) or cb is LRScheduler for cb in found)


def recipe_callbacks(net) -> list[tuple[str, Any]]:
    """The callbacks behind ``lr_schedule`` and ``early_stopping``: the
    epoch decay (:class:`~skmtl.callbacks.EpochDecay`) or skorch's
    ``LRScheduler``, none if the user passes an ``LRScheduler`` of their own,
    and ``EarlyStopping(load_best=True)``.

    Both read the validation split; without one the plateau schedule
    watches the training loss and early stopping is off. skorch builds
    callbacks inside ``set_params`` too, which must not raise, so bad values
    are read leniently here and refused by the parameter check in ``fit``.
    """
    patience = net.patience if isinstance(net.patience, int) else 1
    name, lower = monitor(net)
    callbacks = []
    if _schedules_itself(net):
        pass  # the user's own LRScheduler callback sets the rate alone
    elif net.lr_schedule == "plateau":
        # decay well before early stopping would give up, so a stalled run
        # gets a smaller step first
        scheduler = RecipeLRScheduler(
            policy="ReduceLROnPlateau",
            monitor=name,
            mode="min" if lower else "max",
            factor=0.2,
            patience=max(1, patience // 3),
        )
        callbacks.append(("lr_scheduler", scheduler))
    elif net.lr_schedule in ("cosine", "linear"):
        callbacks.append(("lr_scheduler", EpochDecay(net.lr_schedule)))
    if stops_early(net) and validation_split(net) is not None:
        stopper = BestEpochEarlyStopping(
            monitor=name, lower_is_better=lower, patience=patience, threshold=0.0
        )
        callbacks.append(("early_stopping", stopper))
    return callbacks
