"""The default training recipe: one policy from the parameters and the data.

:func:`plan` is a pure function of the estimator's parameters and a
:class:`DataSummary` of the training data. It returns a :class:`Recipe`,
every setting a fit resolves from ``"auto"`` or from the data, which the
estimator computes once in ``fit`` (``recipe_``) and everything else reads.

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
The width, epochs, batch size, validation split and what early stopping
watches follow the data and the phase of a chosen-epochs fit
(:mod:`skmtl.training._epochs`).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from skorch.callbacks import EpochScoring, EpochTimer, LRScheduler, PassthroughScoring

from ..data import two_valued_columns
from ..data._scaling import SCALERS, SPARSE_SAFE
from ..nn import EMBEDDINGS, EXPERTS
from ._callbacks import (
    BestEpochEarlyStopping,
    DivergenceGuard,
    EpochDecay,
    RecipeLRScheduler,
    TaskPrintLog,
)
from ._epochs import BAG_FOLDS, BAG_ROWS, PATIENCE, SELECTION_SPLIT, auto_patience, epoch_budget
from ._scoring import mean_valid_accuracy
from ._task_history import TaskHistory
from ._valid_split import BagFoldSplit, MultiTaskValidSplit

#: ``numeric_embedding="auto"`` embeds at most this many columns: beyond it
#: the embedding's width (16 per column) would dwarf the network it feeds.
MAX_EMBEDDED_COLUMNS = 256

#: ... and only from this many training rows: below it the embedding's
#: parameters (``n_bins`` x 16 per column) cost more accuracy than they add
#: (docs/accuracy.md: +2.0 points on penguins without it).
MIN_EMBEDDED_ROWS = 500

#: ``hidden_units="auto"`` widens the trunk beyond this many training rows.
WIDE_ROWS = 50_000

#: The ``lr_schedule`` settings: :class:`~skmtl.training.EpochDecay`'s shapes
#: and skorch's ``ReduceLROnPlateau``.
LR_SCHEDULES = (*EpochDecay.SHAPES, "plateau")

#: The ``feature_scaling`` settings.
FEATURE_SCALINGS = ("auto", *SCALERS)

#: The ``numeric_embedding`` settings.
NUMERIC_EMBEDDINGS = ("auto", *EMBEDDINGS)

#: The ``architecture`` settings: one shared trunk, or experts.
ARCHITECTURES = ("shared", *EXPERTS)


@dataclass(frozen=True)
class DataSummary:
    """What the recipe needs to know of the training data.

    ``n_rows``: rows of ``X``; ``n_labelled``: those with a label for at
    least one task (the rows that train); ``kind``: ``"tabular"``,
    ``"sparse"`` or ``"nd"``; ``many_valued``: for a dense table, the
    columns with more than two distinct values; ``inputs``: whether the
    network is built from this data (a warm fit keeps the scaler and the
    embedding it was built with, and reads neither the columns nor them).
    """

    n_rows: int
    n_labelled: int
    kind: str
    shape: tuple
    many_valued: tuple[int, ...] = ()
    inputs: bool = True


def summarize(X, n_labelled: int, *, inputs: bool = True) -> DataSummary:
    """The :class:`DataSummary` of checked ``X`` with ``n_labelled`` labelled
    rows; its columns are read only for a fit that builds the network
    (``inputs``)."""
    if sp.issparse(X):
        kind = "sparse"
    else:
        kind = "tabular" if X.ndim == 2 else "nd"
    columns = ()
    if inputs and kind == "tabular" and len(X):
        columns = tuple(np.flatnonzero(~two_valued_columns(X)).tolist())
    return DataSummary(X.shape[0], n_labelled, kind, X.shape, columns, inputs)


@dataclass(frozen=True)
class Recipe:
    """The settings of one fit, resolved by :func:`plan` (``recipe_``).

    Attributes
    ----------
    phase : {"select", "refit", "bag"} or None
        The run of a chosen-epochs fit, a member of a bag, or None for a fit
        of ``max_epochs``.
    hidden_units : int or tuple of int
        The trunk's widths (``hidden_units_``).
    max_epochs : int
        The epochs of this run (``max_epochs_``).
    feature_scaling : str or None
        The scaler fitted on ``X`` when the network is built (None on a warm
        fit, which keeps ``feature_scaler_``).
    numeric_embedding : str or None
        The embedding of the many-valued columns, or None (and None on a
        warm fit, which keeps the network's).
    embedded_columns : list of int or None
        The columns it embeds (None on a warm fit: ``embedded_columns_``).
    train_split : callable or None
        The split of the validation rows, or None: all rows train.
    stops_early : bool
        Whether early stopping watches ``monitor``.
    patience : int
        The epochs without improvement that end a run (``patience``;
        ``"auto"``: :func:`~skmtl.training._epochs.auto_patience`, or its
        longest without the data).
    monitor : str
        The history key that early stopping and the plateau schedule watch.
    lower_is_better : bool
        Whether ``monitor`` is better lower (a loss).
    member : int or None
        A bag member's place in its bag (it seeds the member's own network,
        batches and dropout), or None.
    """

    phase: str | None
    hidden_units: Any
    max_epochs: int
    feature_scaling: str | None
    numeric_embedding: str | None
    embedded_columns: list[int] | None
    train_split: Any
    stops_early: bool
    patience: int
    monitor: str
    lower_is_better: bool
    member: int | None = None


def auto_batch_size(n_rows: int) -> int:
    """``batch_size="auto"``: the power of two nearest ``n_rows / 10``, clipped
    to [16, 256], so that a small table still gets about ten steps per epoch.
    A larger batch costs less per row on the CPU, but the steps it takes
    away cost a large table accuracy (docs/performance.md, the fit-cost
    frontier)."""
    return int(np.clip(2 ** round(np.log2(max(n_rows, 1) / 10)), 16, 256))


def auto_hidden_units(n_rows: int) -> tuple[int, ...]:
    """``hidden_units="auto"``: three layers, 256 wide up to 50,000 rows and
    512 beyond: more data carries more structure to fit, and the wider
    network roughly doubles the cost of a step."""
    return (512,) * 3 if n_rows > WIDE_ROWS else (256,) * 3


def batch_size(params: Mapping, iterator_kwargs: Mapping, n_rows: int, training: bool) -> int:
    """The batch size of an epoch's iterator over ``n_rows`` rows:
    ``iterator_*__batch_size``, else ``batch_size``; ``"auto"`` is
    :func:`auto_batch_size` for training and ``predict_batch_size`` for
    inference."""
    size = iterator_kwargs.get("batch_size", params["batch_size"])
    if size != "auto":
        return size
    return auto_batch_size(n_rows) if training else params["predict_batch_size"]


def selects_epochs(params: Mapping) -> bool:
    """Whether a new fit chooses its epochs: ``max_epochs="auto"`` with the
    default split and no explicit early stopping."""
    split = params["train_split"]
    return (
        params["max_epochs"] == "auto"
        and params["early_stopping"] is False
        and isinstance(split, str)
        and split == "auto"
    )


def bag_member(phase) -> int | None:
    """A bag member's place in its bag, from its ``phase``; None for any other run."""
    return phase[1] if phase and phase[0] == "bag" else None


def bag_size(params: Mapping, n_rows: int) -> int | None:
    """The networks a new fit on ``n_rows`` labelled rows bags, or None for one:
    ``bag_folds`` when it is an int; for ``"auto"``, :data:`BAG_FOLDS`
    where the fit would choose its epochs (:func:`selects_epochs`) on
    ``BAG_FOLDS`` to :data:`BAG_ROWS` labelled rows with one network (a packed ensemble,
    ``ensemble_size``, averages its members already)."""
    folds = params["bag_folds"]
    if folds is None:
        return None
    if folds != "auto":
        return int(folds)
    one = params["ensemble_size"] in (None, 1)
    fits = BAG_FOLDS <= n_rows <= BAG_ROWS  # a row for each fold at least
    return BAG_FOLDS if selects_epochs(params) and one and fits else None


def own_mlp(params: Mapping) -> bool:
    """Whether the network is skmtl's own MLP or experts (a custom ``module``
    gets ``X`` as it is)."""
    return params["module"] is None or params["architecture"] in EXPERTS


def _feature_scaling(kind, data: DataSummary) -> str | None:
    """The scaling ``feature_scaling=kind`` means for the data; raise where it cannot apply."""
    if kind == "auto":
        return "quantile" if data.kind == "tabular" else None
    if kind is not None and data.kind == "nd":
        raise ValueError(
            f"feature_scaling={kind!r} scales the columns of a 2-D table, but X has "
            f"shape {data.shape}; use feature_scaling='auto' or None (and normalise "
            "images or sequences in the trunk or before fit)."
        )
    if data.kind == "sparse" and kind not in SPARSE_SAFE:
        raise ValueError(
            f"feature_scaling={kind!r} would make sparse X dense; use "
            "feature_scaling='maxabs' (keeps sparsity), 'auto' or None."
        )
    return kind


def _embedded_columns(kind, data: DataSummary, own: bool) -> list[int] | None:
    """The columns the numeric embedding embeds, or None for no embedding.
    0/1 columns (one-hot, flags) gain nothing from an embedding and pass through."""
    if kind is None:
        return None
    if kind in EMBEDDINGS:
        if not own:
            raise ValueError(
                f"numeric_embedding={kind!r} belongs to skmtl's own MLP trunk and "
                "experts; a custom module= gets X as it is. Use numeric_embedding="
                "'auto' or None, or embed inside your module."
            )
        if data.kind != "tabular":
            what = "sparse" if data.kind == "sparse" else f"of shape {data.shape}"
            raise ValueError(
                f"numeric_embedding={kind!r} embeds the columns of a dense 2-D table; "
                f"X is {what}. Use numeric_embedding='auto' or None."
            )
    elif not own or data.kind != "tabular":  # "auto"
        return None
    columns = list(data.many_valued)
    too_many = len(columns) > MAX_EMBEDDED_COLUMNS
    if kind == "auto" and (too_many or data.n_rows < MIN_EMBEDDED_ROWS):
        return None
    return columns


def embedding_kind(numeric_embedding, embedded_columns) -> str | None:
    """The embedding in use: ``"auto"`` is ``"piecewise_linear"``; none
    without a column to embed."""
    if not embedded_columns:
        return None
    return "piecewise_linear" if numeric_embedding == "auto" else numeric_embedding


def _stops_early(params: Mapping, phase: str | None) -> bool:
    if phase is not None:
        return phase in ("select", "bag")
    return params["early_stopping"] is not False


def _train_split(params: Mapping, stops_early: bool, phase=None):
    """``train_split="auto"`` holds out 20% (stratified, see
    :class:`~skmtl.training.MultiTaskValidSplit`) for early stopping and for
    choosing the epochs, and trains on every row otherwise; a bag member
    holds out its fold (:class:`~skmtl.training._valid_split.BagFoldSplit`)."""
    if phase and phase[0] == "bag":
        _, fold, n_folds, seed = phase
        return BagFoldSplit(n_folds, fold, seed)
    split = params["train_split"]
    if isinstance(split, str) and split == "auto":
        return MultiTaskValidSplit(SELECTION_SPLIT) if stops_early else None
    return split


def _monitor(params: Mapping, split, default_monitor: str) -> tuple[str, bool]:
    if split is None:
        return "train_loss", True
    name = params["early_stopping"]
    if not isinstance(name, str):
        name = default_monitor
    return name, "loss" in name


def plan(
    params: Mapping,
    data: DataSummary | None = None,
    *,
    default_monitor: str = "valid_loss",
    phase: tuple[str, int] | None = None,
    hidden_units=None,
) -> Recipe:
    """The :class:`Recipe` of a fit.

    Parameters
    ----------
    params : mapping
        The estimator's parameters (``get_params(deep=False)``).
    data : DataSummary, optional
        The training data. Without it (callbacks built outside ``fit``) the
        sizes and the input settings are left unresolved.
    default_monitor : str
        What early stopping watches unless ``early_stopping`` names a key.
    phase : tuple, optional
        ``("select", 0)`` or ``("refit", epochs)`` in a chosen-epochs fit;
        ``("bag", fold, n_folds, seed)`` for a member of a bag.
    hidden_units : optional
        The widths of the network a warm fit trains on.
    """
    name = phase[0] if phase else None
    stops = _stops_early(params, name)
    split = _train_split(params, stops, phase)
    monitor, lower = _monitor(params, split, default_monitor)
    widths = hidden_units
    epochs, scaling, embedding, columns = params["max_epochs"], None, None, None
    patience = params["patience"]
    if not isinstance(patience, numbers.Integral):  # "auto" (a bad value is refused in fit)
        patience = auto_patience(data.n_labelled) if data is not None else PATIENCE
    if data is not None:
        if widths is None:
            auto = params["hidden_units"] == "auto"
            widths = auto_hidden_units(data.n_labelled) if auto else params["hidden_units"]
        if name == "refit":
            epochs = phase[1]
        elif epochs == "auto":
            epochs = epoch_budget(data.n_labelled)
        if data.inputs:
            scaling = _feature_scaling(params["feature_scaling"], data)
            columns = _embedded_columns(params["numeric_embedding"], data, own_mlp(params))
            embedding = embedding_kind(params["numeric_embedding"], columns)
    return Recipe(
        phase=name,
        hidden_units=widths,
        max_epochs=epochs,
        feature_scaling=scaling,
        numeric_embedding=embedding,
        embedded_columns=columns,
        train_split=split,
        stops_early=stops,
        patience=patience,
        monitor=monitor,
        lower_is_better=lower,
        member=bag_member(phase),
    )


def default_callbacks(params: Mapping, recipe: Recipe) -> list[tuple[str, Any]]:
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
        *recipe_callbacks(params, recipe),
        ("print_log", TaskPrintLog()),
    ]


def user_callbacks(callbacks) -> list:
    """The callbacks (or callback classes) of the ``callbacks`` parameter,
    without the names of ``(name, callback)`` pairs; none for ``None`` or
    ``"disable"``."""
    given = callbacks if isinstance(callbacks, (list, tuple)) else []
    return [cb[1] if isinstance(cb, tuple) else cb for cb in given]


def _schedules_itself(callbacks) -> bool:
    """Whether ``callbacks`` holds a skorch ``LRScheduler`` of the user's."""
    found = user_callbacks(callbacks)
    return any(isinstance(cb, LRScheduler) or cb is LRScheduler for cb in found)


def recipe_callbacks(params: Mapping, recipe: Recipe) -> list[tuple[str, Any]]:
    """The callbacks behind ``lr_schedule`` and ``early_stopping``: the
    epoch decay (:class:`~skmtl.training.EpochDecay`) or skorch's
    ``LRScheduler``, none if the user passes an ``LRScheduler`` of their own,
    and ``EarlyStopping(load_best=True)``.

    Both read the validation split; without one the plateau schedule
    watches the training loss and early stopping is off. skorch builds
    callbacks inside ``set_params`` too, which must not raise, so bad values
    are read leniently here and refused by the parameter check in ``fit``.
    """
    # an int set after the fit counts (set_params rebuilds the callbacks from
    # the fit's recipe); a recipe pickled before patience="auto" has none
    patience = params["patience"]
    if not isinstance(patience, numbers.Integral):
        patience = getattr(recipe, "patience", PATIENCE)
    name, lower = recipe.monitor, recipe.lower_is_better
    callbacks = []
    schedule = params["lr_schedule"]
    if _schedules_itself(params["callbacks"]):
        pass  # the user's own LRScheduler callback sets the rate alone
    elif schedule == "plateau":
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
    elif schedule in EpochDecay.SHAPES:
        callbacks.append(("lr_scheduler", EpochDecay(schedule)))
    if recipe.stops_early and recipe.train_split is not None:
        stopper = BestEpochEarlyStopping(
            monitor=name, lower_is_better=lower, patience=patience, threshold=0.0
        )
        callbacks.append(("early_stopping", stopper))
    return callbacks
