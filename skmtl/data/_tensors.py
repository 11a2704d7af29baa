"""The fast data path: tensors moved to the device once, batched by slicing.

skorch's default ``Dataset`` + ``DataLoader`` index one row at a time and
collate the rows again, then copy every batch to the device. For data that
is already an in-memory array, :class:`TensorData` holds ``X`` and ``y`` as
tensors on the training device and :class:`TensorBatches` draws each batch
by indexing with a slice of one ``torch.randperm`` per epoch: no per-row
Python, no collate, no per-batch host-to-device copy. ``X`` may have any
number of dimensions (tables, images, sequences).

Sparse ``X`` stays a scipy CSR matrix in host memory (:class:`SparseData`):
each batch's rows are densified on their own and copied to the device, so
the whole matrix is never dense. A memory-mapped ``X`` stays in its file
(:class:`MappedData`): each batch's rows are read, scaled and copied on
their own, so the whole table is never in memory.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch
from skorch.dataset import Dataset as SkorchDataset
from torch.utils.data import DataLoader, Dataset, Subset

from ._mapped import RELEASE_BYTES, is_mapped, mapped_bytes, read_rows, release_pages
from ._scaling import scale_features

#: The most float32 values an inference batch of sparse or mapped ``X`` may hold (64 MB).
SPARSE_BATCH_VALUES = 2**24

# DataLoader options that only skorch's own data path can honour
_DATALOADER_ONLY = {"collate_fn", "sampler", "batch_sampler", "generator", "worker_init_fn"}


class TensorData(Dataset):
    """``X`` and optional ``y`` as tensors on one device.

    It is a regular map-style ``Dataset`` (``__getitem__`` returns
    ``(X[i], y[i])``), so skorch's splits, ``data_from_dataset`` and scoring
    callbacks read it as usual; the training loop batches it with
    :class:`TensorBatches` instead.
    """

    def __init__(self, X: torch.Tensor, y: torch.Tensor | None = None):
        self.X = X
        self.y = y

    @property
    def device(self) -> torch.device:
        return self.X.device

    @property
    def index_device(self) -> torch.device:
        """Where row indices and permutations live: with ``X``."""
        return self.X.device

    def __len__(self) -> int:
        return len(self.X)

    def take(self, rows) -> torch.Tensor:
        """The rows ``rows`` (a slice or an index tensor) of ``X``."""
        return self.X[rows]

    def __getitem__(self, i):
        # skorch's convention for a dataset without targets
        return self.take(i), (self.y[i] if self.y is not None else torch.zeros(1))


class HostData(TensorData):
    """``X`` kept on the host; each batch's rows are gathered there and moved
    to ``device``, where ``y`` (a tensor) is. Subclasses say how rows are
    read (:meth:`take`)."""

    def __init__(self, X, y: torch.Tensor | None, device):
        self.X = X
        self.y = y
        self._device = torch.device(device)

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def index_device(self) -> torch.device:
        # rows are gathered on the host: their indices stay there
        return torch.device("cpu")

    def __len__(self) -> int:
        return self.X.shape[0]


class SparseData(HostData):
    """Sparse ``X`` kept as CSR on the host; rows are densified per batch."""

    def take(self, rows) -> torch.Tensor:
        if isinstance(rows, torch.Tensor):
            rows = rows.cpu().numpy()
        dense = self.X[rows].toarray()
        return torch.from_numpy(dense).to(self._device, non_blocking=True)


class MappedData(HostData):
    """A memory-mapped ``X`` left in its file; each batch's rows are read
    (in file order, as float32), passed through the fitted ``scaler`` and
    moved to ``device``. The pages the reads brought in are released every
    :data:`~skmtl.data._mapped.RELEASE_BYTES` of pages they may have mapped
    (:func:`~skmtl.data._mapped.mapped_bytes`)."""

    def __init__(self, X, y: torch.Tensor | None, device, scaler=None):
        super().__init__(X, y, device)
        self.scaler = scaler
        self._unreleased = 0

    def take(self, rows) -> torch.Tensor:
        if isinstance(rows, torch.Tensor):
            rows = rows.cpu().numpy()
        one = not isinstance(rows, slice) and np.ndim(rows) == 0  # skorch's dataset[i]
        block = read_rows(self.X, [rows] if one else rows)
        self._unreleased += mapped_bytes(self.X, len(block), isinstance(rows, slice))
        if self._unreleased >= RELEASE_BYTES:
            self._unreleased = 0
            release_pages(self.X)
        if self.scaler is not None:
            block = scale_features(self.scaler, block)
        return torch.from_numpy(block[0] if one else block).to(self._device, non_blocking=True)


def tensor_view(dataset) -> tuple[TensorData, torch.Tensor | None] | None:
    """``(data, row indices or None)`` if ``dataset`` is (a Subset of) TensorData."""
    if isinstance(dataset, TensorData):
        return dataset, None
    if isinstance(dataset, Subset) and isinstance(dataset.dataset, TensorData):
        data = dataset.dataset
        rows = torch.as_tensor(
            np.asarray(dataset.indices), dtype=torch.long, device=data.index_device
        )
        return data, rows
    return None


def uses_fast_path(net, X) -> bool:
    """Whether ``net`` batches ``X`` with :class:`TensorBatches` (``data_on_device``)."""
    if not net.data_on_device:
        return False
    if not (sp.issparse(X) or is_mapped(X) or (isinstance(X, np.ndarray) and X.dtype != object)):
        return False
    if net.dataset is not SkorchDataset or net.get_params_for("dataset"):
        return False
    for name in ("iterator_train", "iterator_valid"):
        if getattr(net, name) is not DataLoader:
            return False
        if _DATALOADER_ONLY & set(net.get_params_for(name)):
            return False
    device = torch.device(net.device)
    host = sp.issparse(X) or is_mapped(X)  # read on the host a batch at a time
    if net.data_on_device == "auto" and device.type == "cuda" and not host:
        free, _ = torch.cuda.mem_get_info(device)
        return X.nbytes < free // 2
    return True


def make_tensor_data(X, y, device, scaler=None) -> TensorData:
    """``X`` (float32) and ``y`` on ``device``; sparse ``X`` stays on the host,
    a memory-mapped ``X`` in its file (``scaler`` scales its batches; other
    ``X`` comes scaled)."""
    y_t = None if y is None else torch.as_tensor(np.asarray(y), device=device)
    if is_mapped(X):
        return MappedData(X, y_t, device, scaler)
    if sp.issparse(X):
        return SparseData(sp.csr_matrix(X, dtype=np.float32), y_t, device)
    dtype = torch.float32 if X.dtype.kind in "fiub" else None
    return TensorData(torch.as_tensor(X, dtype=dtype, device=device), y_t)


def eval_batch_size(X, batch_size: int) -> int:
    """``batch_size`` for inference on the matrix ``X``: for sparse or
    memory-mapped ``X``, capped so that a batch holds at most
    :data:`SPARSE_BATCH_VALUES` values (``-1``, all rows, becomes the cap);
    otherwise unchanged."""
    if not (sp.issparse(X) or is_mapped(X)):
        return batch_size
    width = int(np.prod(X.shape[1:], dtype=np.int64))
    cap = max(1, SPARSE_BATCH_VALUES // max(width, 1))
    return cap if batch_size == -1 else min(batch_size, cap)


def dataset_matrix(dataset):
    """The ``X`` that (a Subset of) a dataset holds, or None."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return getattr(dataset, "X", None)


def loader(net, dataset, kwargs: dict, batch_size: int, *, training: bool):
    """skorch's ``DataLoader`` for data off the fast path, as skorch's
    ``get_iterator`` builds it, with ``batch_size`` resolved and, for
    inference on sparse ``X``, capped: skorch's collate would stack the rows."""
    if not training:
        batch_size = eval_batch_size(dataset_matrix(dataset), batch_size)
    iterator = net.iterator_train if training else net.iterator_valid
    batch_size = len(dataset) if batch_size == -1 else batch_size
    return iterator(dataset, **{**kwargs, "batch_size": batch_size})


def tensor_batches(module, dataset, batch_size: int, *, training: bool = False, **kwargs):
    """:class:`TensorBatches` of (a Subset of) :class:`TensorData`, for the
    estimators' ``get_iterator``: ``shuffle`` and ``drop_last`` from the
    ``iterator_*`` options; batches for inference capped for sparse ``X``
    (:func:`eval_batch_size`)."""
    data, rows = tensor_view(dataset)
    norms = (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)
    batch_norm = any(isinstance(m, norms) for m in module.modules())
    return TensorBatches(
        data,
        rows,
        batch_size=batch_size if training else eval_batch_size(data.X, batch_size),
        shuffle=bool(kwargs.get("shuffle", False)),
        drop_last=bool(kwargs.get("drop_last", False)),
        # batch norm cannot train on a batch of one row: fold it into the last
        min_last=2 if training and batch_norm else 1,
    )


class TensorBatches:
    """Mini-batches of a :class:`TensorData`, drawn by slicing a permutation.

    Parameters
    ----------
    data : TensorData
    rows : torch.Tensor or None
        The row indices to iterate over (a validation split's subset), or all.
    batch_size : int
        ``-1`` means one batch with every row.
    shuffle : bool
        Draw a new ``torch.randperm`` each epoch (seeded by torch's generator).
    drop_last : bool
        Skip the last batch when it is smaller than ``batch_size``.
    min_last : int
        A last batch with fewer rows than this joins the one before it.
    shard : tuple of int, optional
        ``(rank, world_size)``: this process takes every ``world_size``-th
        row of each batch, from ``rank`` on, so that the processes of a
        distributed fit read disjoint shards of the same batches.
    """

    def __init__(
        self,
        data: TensorData,
        rows: torch.Tensor | None = None,
        *,
        batch_size: int,
        shuffle: bool = False,
        drop_last: bool = False,
        min_last: int = 1,
        shard: tuple[int, int] | None = None,
    ):
        self.data = data
        self.shard = shard
        self.rows = rows
        self.n = len(data) if rows is None else len(rows)
        self.batch_size = max(self.n, 1) if batch_size == -1 else int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive int or -1; got {batch_size!r}.")
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.min_last = min_last

    def _bounds(self) -> list[tuple[int, int]]:
        starts = range(0, self.n, self.batch_size)
        bounds = [(a, min(a + self.batch_size, self.n)) for a in starts]
        if bounds and self.drop_last and bounds[-1][1] - bounds[-1][0] < self.batch_size:
            bounds.pop()
        if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] < self.min_last:
            bounds[-2:] = [(bounds[-2][0], bounds[-1][1])]
        return bounds

    def __len__(self) -> int:
        return len(self._bounds())

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        data, y = self.data, self.data.y
        order = self.rows
        if self.shuffle:
            perm = torch.randperm(self.n, device=data.index_device)
            order = perm if order is None else order[perm.to(order.device)]
        for start, stop in self._bounds():
            # contiguous rows are a zero-copy view; otherwise one gather per batch
            sel = slice(start, stop) if order is None else order[start:stop]
            if self.shard is not None:
                rank, world = self.shard
                sel = slice(start + rank, stop, world) if order is None else sel[rank::world]
            if y is None:
                rows = data.take(sel)
                yield rows, torch.zeros(len(rows))
            else:  # sparse rows' indices are on the host, y on the device
                yield data.take(sel), y[sel if isinstance(sel, slice) else sel.to(y.device)]
