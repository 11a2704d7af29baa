"""PyTorch modules: the default MLP trunk and the trunk-plus-heads network."""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Sequence
from numbers import Integral

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}
_NORMS = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


def _activation(activation: str | type[nn.Module] | nn.Module) -> nn.Module:
    if isinstance(activation, nn.Module):
        return copy.deepcopy(activation)
    if isinstance(activation, str):
        try:
            return ACTIVATIONS[activation]()
        except KeyError:
            raise ValueError(
                f"Unknown activation {activation!r}; use one of "
                f"{sorted(ACTIVATIONS)} or a torch.nn.Module class."
            ) from None
    return activation()


def mask_levels(p: float) -> tuple[int, float] | None:
    """Drop rate ``p`` as :class:`Dropout` draws it on the CPU: the threshold
    below which a 16-bit draw drops a value (``p`` rounded to 1/65536) and
    the exact inverse keep probability that scales the kept ones; None
    where ``p`` rounds to keeping all or none."""
    dropped = round(p * 65536)
    if not 0 < dropped < 65536:
        return None
    return dropped - 32768, 65536 / (65536 - dropped)


class Dropout(nn.Dropout):
    """``torch.nn.Dropout`` with a cheaper mask on the CPU.

    torch draws a CPU dropout mask one generator call per element, serially:
    for a 256-wide layer that costs more than the layer's matrix product.
    Here each 64-bit draw gives four 16-bit numbers, so the mask takes a
    quarter of the calls; the drop probability is ``p`` rounded to a
    multiple of 1/65536, and the kept values are scaled by the exact inverse
    of the keep probability, so the expectation is unchanged. Other devices,
    ``inplace=True`` and a ``p`` within 1/131072 of 0 or 1 use torch's own
    dropout. Same state and ``repr`` as ``torch.nn.Dropout``.
    """

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        # torch's own where it is fused (CUDA, ...), where asked to work in
        # place, and at a rate that rounds to keeping all or none
        usual = self.inplace or X.device.type != "cpu"
        levels = None if usual or not self.training else mask_levels(self.p)
        if levels is None:
            return super().forward(X)
        threshold, scale = levels
        n = X.numel()
        bits = torch.empty((n + 3) // 4, dtype=torch.int64).random_(-(2**63), None)
        keep = bits.view(torch.int16)[:n].view(X.shape) >= threshold
        # one float mask, scaled: the backward multiplies by it once
        return X * keep.to(X.dtype).mul_(scale)


class _ColumnEmbedding(nn.Module):
    """What the numeric embeddings share: ``embed`` maps the columns in
    ``columns`` to ``(batch, n_columns, dim)``; the others pass through."""

    def __init__(self, in_features: int, columns: Sequence[int] | None, dim: int):
        super().__init__()
        embedded = list(range(in_features)) if columns is None else [int(c) for c in columns]
        passed = sorted(set(range(in_features)) - set(embedded))
        self.register_buffer("embedded", torch.tensor(embedded, dtype=torch.long))
        self.register_buffer("passed", torch.tensor(passed, dtype=torch.long))
        self.out_features = len(embedded) * dim + len(passed)

    def embed(self, values: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        features = self.embed(X[:, self.embedded]).flatten(1)
        return torch.cat([features, X[:, self.passed]], dim=1)


class PeriodicEmbedding(_ColumnEmbedding):
    """Numeric features as learned periodic embeddings (PLR, "lite" form).

    Each embedded feature ``x_j`` becomes ``ReLU(W [cos(2 pi c_j x_j),
    sin(2 pi c_j x_j)])`` with trainable frequencies ``c_j`` (``n_frequencies``
    per feature, initialised from ``N(0, scale^2)``) and one linear map ``W``
    shared by the features. Gorishniy, Rubachev & Babenko, NeurIPS 2022, "On
    Embeddings for Numerical Features in Tabular Deep Learning": such
    embeddings let an MLP fit the sharp, irregular functions of single
    features that trees find easily. Columns outside ``columns`` (e.g.
    one-hot 0/1 columns) pass through unchanged.

    Parameters
    ----------
    in_features : int
    columns : sequence of int, default=None
        The columns to embed; ``None`` embeds all.
    n_frequencies : int, default=16
    dim : int, default=16
        Width of each feature's embedding.
    scale : float, default=1.0
        Standard deviation of the initial frequencies, for features on a
        unit scale (``feature_scaling="quantile"`` gives them one).

    Attributes
    ----------
    out_features : int
        ``dim`` per embedded column plus one per passed-through column.
    """

    def __init__(
        self,
        in_features: int,
        columns: Sequence[int] | None = None,
        n_frequencies: int = 16,
        dim: int = 16,
        scale: float = 1.0,
    ):
        super().__init__(in_features, columns, dim)
        self.frequencies = nn.Parameter(torch.randn(len(self.embedded), n_frequencies) * scale)
        self.linear = nn.Linear(2 * n_frequencies, dim)

    def embed(self, values: torch.Tensor) -> torch.Tensor:
        angles = 2 * torch.pi * self.frequencies * values[..., None]
        return torch.relu(self.linear(torch.cat([angles.cos(), angles.sin()], dim=-1)))


class PiecewiseLinearEmbedding(_ColumnEmbedding):
    """Numeric features through a piecewise-linear encoding and a learned map.

    Each embedded column is encoded against its bin edges (its training
    quantiles): 1 for every bin below the value, the fraction of its own bin,
    0 above; a per-column linear map takes that code to ``dim`` numbers
    (Gorishniy, Rubachev & Babenko, NeurIPS 2022, "On Embeddings for
    Numerical Features in Tabular Deep Learning"). The layers are
    ``rtdl_num_embeddings.PiecewiseLinearEmbeddings`` (version ``"B"``, no
    activation: at initialisation it is a linear embedding, and the
    piecewise part is learned). Columns outside ``columns`` pass through.

    Parameters
    ----------
    in_features : int
    bins : sequence of sequence of float
        The sorted bin edges of each embedded column (at least two each).
    columns : sequence of int, default=None
        The columns to embed, one per entry of ``bins``; ``None`` embeds all.
    dim : int, default=16
        Width of each column's embedding.

    Attributes
    ----------
    out_features : int
        As in :class:`PeriodicEmbedding`.
    """

    def __init__(
        self,
        in_features: int,
        bins: Sequence[Sequence[float]],
        columns: Sequence[int] | None = None,
        dim: int = 16,
    ):
        super().__init__(in_features, columns, dim)
        from rtdl_num_embeddings import PiecewiseLinearEmbeddings

        if len(bins) != len(self.embedded):
            raise ValueError(f"{len(bins)} lists of bin edges for {len(self.embedded)} columns.")
        edges = [torch.as_tensor(b, dtype=torch.float32) for b in bins]
        self.embedding = PiecewiseLinearEmbeddings(edges, dim, activation=False, version="B")

    def embed(self, values: torch.Tensor) -> torch.Tensor:
        return self.embedding(values)


#: ``numeric_embedding`` -> the module that embeds the columns.
EMBEDDINGS = {"periodic": PeriodicEmbedding, "piecewise_linear": PiecewiseLinearEmbedding}


class MLPTrunk(nn.Module):
    """Shared multi-layer perceptron: ``Linear -> [norm] -> activation -> [dropout]``.

    Parameters
    ----------
    in_features : int
        Number of input features.
    hidden_units : int or sequence of int, default=(256, 256)
        Width of each hidden layer; an int is one layer. Empty means the
        trunk is the identity.
    dropout : float, default=0.0
        Dropout probability after each hidden layer.
    activation : str, torch.nn.Module class or instance, default="relu"
        ``"relu"``, ``"gelu"``, ``"silu"``, ``"tanh"``, ``"elu"``,
        ``"leaky_relu"``, a module class such as ``torch.nn.Mish``, or an
        instance such as ``torch.nn.LeakyReLU(0.2)`` (copied per layer).
    norm : {None, "batch", "layer"}, default=None
        Normalisation layer after each linear layer.
    numeric_embedding : {None, "piecewise_linear", "periodic"}, default=None
        Puts a :class:`PiecewiseLinearEmbedding` or a :class:`PeriodicEmbedding`
        of the columns in ``embedded_columns`` in front of the first layer.
    embedded_columns : sequence of int, default=None
        Columns the embedding embeds (``None``: all).
    embedding_bins : sequence of sequence of float, default=None
        The bin edges of each embedded column, for ``"piecewise_linear"``.
    embedding_dim : int, default=16
        Width of each embedded column.
    ensemble_size : int, default=None
        With ``k > 1``: ``k`` members in TabM's packed form (Gorishniy et
        al., ICLR 2025, "TabM"; the ``tabm`` package's BatchEnsemble
        backbone): the layers' weights are shared and each member scales
        them by its own vectors, so the ``k`` members take one fused forward
        pass. The output is then ``(batch, k, width)``; the heads read each
        member, training averages the members' losses and inference their
        probabilities (:func:`member_mean`). Needs equal widths and no
        ``norm``.

    Attributes
    ----------
    out_features : int
        Width of the trunk's output, which the task heads read.
    """

    def __init__(
        self,
        in_features: int,
        hidden_units: int | Sequence[int] = (256, 256),
        dropout: float = 0.0,
        activation: str | type[nn.Module] | nn.Module = "relu",
        norm: str | None = None,
        numeric_embedding: str | None = None,
        embedded_columns: Sequence[int] | None = None,
        embedding_bins: Sequence[Sequence[float]] | None = None,
        embedding_dim: int = 16,
        ensemble_size: int | None = None,
    ):
        super().__init__()
        if numeric_embedding is not None and numeric_embedding not in EMBEDDINGS:
            raise ValueError(
                f"Unknown numeric_embedding {numeric_embedding!r}; use None or one of "
                f"{sorted(EMBEDDINGS)}."
            )
        if numeric_embedding == "piecewise_linear" and embedding_bins is None:
            raise ValueError("numeric_embedding='piecewise_linear' needs embedding_bins.")
        if norm is not None and norm not in _NORMS:
            raise ValueError(f"Unknown norm {norm!r}; use None, 'batch' or 'layer'.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1); got {dropout!r}.")
        if isinstance(hidden_units, Integral):  # one layer, as MLPClassifier allows
            hidden_units = (hidden_units,)
        layers: list[nn.Module] = []
        width = in_features
        if numeric_embedding == "periodic":
            layers.append(PeriodicEmbedding(in_features, embedded_columns, dim=embedding_dim))
        elif numeric_embedding == "piecewise_linear":
            layers.append(
                PiecewiseLinearEmbedding(
                    in_features, embedding_bins, embedded_columns, dim=embedding_dim
                )
            )
        if numeric_embedding is not None:
            width = layers[-1].out_features
        if ensemble_size is not None and ensemble_size > 1:
            # the first scaling is drawn per input feature: an embedded column's
            # numbers share one draw (tabm's "chunks")
            chunks = [1] * width
            if layers:
                chunks = [embedding_dim] * len(layers[0].embedded) + [1] * len(layers[0].passed)
            layers += _packed_ensemble(
                width, hidden_units, dropout, activation, norm, ensemble_size, chunks
            )
            width = int(hidden_units[0])
        else:
            for units in hidden_units:
                layers.append(nn.Linear(width, int(units)))
                if norm is not None:
                    layers.append(_NORMS[norm](int(units)))
                layers.append(_activation(activation))
                if dropout:
                    layers.append(Dropout(dropout))
                width = int(units)
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.layers(X)


def _packed_ensemble(width, hidden_units, dropout, activation, norm, k, chunks) -> list:
    """``tabm``'s view of ``k`` members and its BatchEnsemble MLP backbone."""
    try:
        import tabm
    except ImportError:
        raise ImportError(
            "ensemble_size needs the 'tabm' package: pip install tabm (or skmtl[tabm])."
        ) from None
    units = {int(u) for u in hidden_units}
    if len(units) != 1 or norm is not None or not isinstance(activation, str):
        raise ValueError(
            "ensemble_size packs members of an MLP with equal widths, no norm and an "
            f"activation named as a string; got hidden_units={tuple(hidden_units)!r}, "
            f"norm={norm!r}, activation={activation!r}."
        )
    names = {"relu": "ReLU", "gelu": "GELU", "silu": "SiLU", "tanh": "Tanh", "elu": "ELU"}
    if activation not in names:
        raise ValueError(f"ensemble_size supports the activations {sorted(names)}.")
    backbone = tabm.make_tabm_backbone(
        d_in=width,
        n_blocks=len(hidden_units),
        d_block=units.pop(),
        dropout=dropout,
        activation=names[activation],
        k=k,
        arch_type="tabm",
        start_scaling_init="random-signs" if set(chunks) == {1} else "normal",
        start_scaling_init_chunks=chunks,
    )
    return [tabm.EnsembleView(k=k), backbone]


def member_mean(logits: torch.Tensor) -> torch.Tensor:
    """The log of the members' mean probability, from ``(batch, k, classes)``
    logits: softmax of the result is the ensemble's prediction."""
    return torch.logsumexp(torch.log_softmax(logits.float(), dim=-1), dim=1) - math.log(
        logits.shape[1]
    )


class MultiTaskModule(nn.Module):
    """A shared trunk followed by one linear head per task.

    Parameters
    ----------
    trunk : torch.nn.Module
        Maps a batch ``X`` to features of shape ``(batch, trunk_features)``.
    trunk_features : int
        Width of the trunk's output.
    n_classes : sequence of int
        Number of classes of each task, in task order.

    The forward pass returns a tuple of logits, one ``(batch, n_classes[t])``
    tensor per task: skorch's convention for modules with several outputs.

    Every skmtl network splits its forward pass in two, so that gradient-based
    task weighting can act on the shared representation:
    ``forward(X) == forward_tasks(forward_shared(X), X)``.
    """

    def __init__(self, trunk: nn.Module, trunk_features: int, n_classes: Sequence[int]):
        super().__init__()
        self.trunk = trunk
        self.heads = nn.ModuleList(nn.Linear(trunk_features, k) for k in n_classes)

    def forward_shared(self, X: torch.Tensor, **kwargs) -> torch.Tensor:
        """The representation all tasks share: the trunk's output."""
        return self.trunk(X, **kwargs)

    def forward_tasks(self, shared: torch.Tensor, X: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Each task's logits from the shared representation. A packed
        ensemble's ``(batch, k, width)`` gives each member's logits in
        training, and their :func:`member_mean` otherwise."""
        outputs = tuple(head(shared) for head in self.heads)
        if shared.ndim == 3 and not self.training:
            # a regression head has one output: the members' mean
            return tuple(out.mean(1) if out.shape[-1] == 1 else member_mean(out) for out in outputs)
        return outputs

    def forward(self, X: torch.Tensor, **kwargs) -> tuple[torch.Tensor, ...]:
        return self.forward_tasks(self.forward_shared(X, **kwargs), X)


class BaggedModule(nn.Module):
    """Networks of one architecture, trained apart, that answer as one.

    A bag (the estimators' ``bag_folds``) trains each member on its own
    rows; this module holds the trained members. Its forward pass runs
    every member: in training it gives each task's ``(batch, k, classes)``
    logits, whose members' losses :class:`MultiTaskLoss` averages (so a
    warm fit trains every member on its rows); otherwise the log of the
    members' mean probability (:func:`member_mean`; a regression task's
    mean). ``forward_shared`` stacks the members' shared representations,
    so gradient-based task weighting acts on each.

    Parameters
    ----------
    members : sequence of torch.nn.Module
        Networks with ``forward_shared`` and ``forward_tasks``, such as
        :class:`MultiTaskModule`.
    """

    def __init__(self, members: Sequence[nn.Module]):
        super().__init__()
        self.members = nn.ModuleList(members)
        # one mode for the whole tree (the members come from their runs in
        # eval mode): the estimators switch modes by the top module's flag
        self.train()

    def forward_shared(self, X: torch.Tensor, **kwargs) -> torch.Tensor:
        """Each member's shared representation, stacked on dimension 1."""
        return torch.stack([m.forward_shared(X, **kwargs) for m in self.members], dim=1)

    def forward_tasks(self, shared: torch.Tensor, X: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = [m.forward_tasks(shared[:, i], X) for i, m in enumerate(self.members)]
        if self.training:
            # a member that is itself an ensemble gives (batch, k, classes) already
            return tuple(
                torch.cat([o if o.ndim == 3 else o.unsqueeze(1) for o in task], dim=1)
                for task in zip(*outputs, strict=True)
            )
        stacked = [torch.stack(task, dim=1) for task in zip(*outputs, strict=True)]
        return tuple(out.mean(1) if out.shape[-1] == 1 else member_mean(out) for out in stacked)

    def forward(self, X: torch.Tensor, **kwargs) -> tuple[torch.Tensor, ...]:
        return self.forward_tasks(self.forward_shared(X, **kwargs), X)


def accepts_argument(module_cls: type, name: str) -> bool:
    """Whether ``module_cls(...)`` takes an argument called ``name``."""
    try:
        params = inspect.signature(module_cls).parameters
    except (TypeError, ValueError):
        return False
    return name in params


def trunk_output_width(trunk: nn.Module, sample_shape: Sequence[int]) -> int:
    """Width of ``trunk``'s output: :class:`MLPTrunk`'s ``out_features``, or a
    dry run of any other trunk, whose own ``out_features`` must agree.

    The dry run feeds two samples of zeros of shape ``sample_shape`` in eval
    mode without gradients, so it touches neither the random state nor any
    running statistics. It refuses an output other than one row of features
    per sample (a 3-D output would read as a packed ensemble's members).
    """
    width = getattr(trunk, "out_features", None)
    if isinstance(trunk, MLPTrunk) and isinstance(width, int):
        return width  # a packed ensemble's is (batch, k, width)
    was_training = trunk.training
    trunk.eval()
    device = next(trunk.parameters(), torch.empty(0)).device
    try:
        with torch.no_grad():
            out = trunk(torch.zeros(2, *sample_shape, device=device))
    finally:
        trunk.train(was_training)
    name = type(trunk).__name__
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"The trunk module {name} must return one tensor of shape (n_samples, "
            f"n_features); for 2 samples it returned {shape}. End it with "
            "torch.nn.Flatten() or pool its output to a vector per sample."
        )
    if isinstance(width, int) and out.shape[1] != width:
        raise ValueError(
            f"The trunk module {name} has out_features={width}, but it returned "
            f"{tuple(out.shape)} for 2 samples. Set out_features to its output width, or "
            "drop the attribute: skmtl reads the width from a forward pass."
        )
    return int(out.shape[1])
