"""The fast data path: tensors moved to the device once, batched by slicing.

skorch's default ``Dataset`` + ``DataLoader`` index one row at a time and
collate the rows again, then copy every batch to the device. For data that
is already an in-memory array, :class:`TensorData` holds ``X`` and ``y`` as
tensors on the training device and :class:`TensorBatches` draws each batch
by indexing with a slice of one ``torch.randperm`` per epoch: no per-row
Python, no collate, no per-batch host-to-device copy.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Subset


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

    def __len__(self) -> int:
        return len(self.X)

    def __getitem__(self, i):
        # skorch's convention for a dataset without targets
        return self.X[i], (self.y[i] if self.y is not None else torch.zeros(1))


def tensor_view(dataset) -> tuple[TensorData, torch.Tensor | None] | None:
    """``(data, row indices or None)`` if ``dataset`` is (a Subset of) TensorData."""
    if isinstance(dataset, TensorData):
        return dataset, None
    if isinstance(dataset, Subset) and isinstance(dataset.dataset, TensorData):
        data = dataset.dataset
        rows = torch.as_tensor(np.asarray(dataset.indices), dtype=torch.long, device=data.X.device)
        return data, rows
    return None


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
    ):
        self.data = data
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
        X, y = self.data.X, self.data.y
        order = self.rows
        if self.shuffle:
            perm = torch.randperm(self.n, device=X.device)
            order = perm if order is None else order[perm]
        for start, stop in self._bounds():
            # contiguous rows are a zero-copy view; otherwise one gather per batch
            sel = slice(start, stop) if order is None else order[start:stop]
            yield X[sel], (y[sel] if y is not None else torch.zeros(stop - start))
