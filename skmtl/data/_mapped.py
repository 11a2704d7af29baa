"""Data larger than memory: memory-mapped arrays, read a bounded block at a time.

A table of tens of millions of rows is often a ``.npy`` file opened with
``np.load(path, mmap_mode="r")``. skmtl never copies such an ``X`` whole:
the checks read it in blocks of rows, the scaler and the embedding's bins
are fitted on a bounded sample of rows, and training and prediction read
each batch's rows (in file order, then put back in the batch's order) and
scale them on their own. The pages of the file that the reads brought in
are handed back to the operating system after each block, and by the
training data and the sample every :data:`RELEASE_BYTES` of pages they may
have mapped (a row read at random maps the pages around it too), so that
the process's resident memory stays bounded too.
"""

from __future__ import annotations

import contextlib
import mmap
from collections.abc import Iterator

import numpy as np

#: The rows that fit the feature scaler of a mapped ``X`` and the embedding's
#: bins of any ``X``: a bounded sample, as scikit-learn's ``QuantileTransformer``
#: subsamples.
SAMPLE_ROWS = 100_000

#: Bytes a block of the checks reads at once.
BLOCK_BYTES = 64 * 2**20

#: Bytes of a mapping's pages read before they are released from the process.
RELEASE_BYTES = 64 * 2**20

#: What reading one row at random may map: a page fault of a file mapping
#: maps the pages around it too (Linux maps up to 16, 64 KiB).
FAULT_BYTES = 64 * 2**10


class MappedRows:
    """Some rows of a memory-mapped array, not read until a batch needs them
    (what ``fit`` trains on after dropping the rows without a label)."""

    def __init__(self, array: np.memmap, rows: np.ndarray):
        self.array = array
        self.rows = np.asarray(rows, dtype=np.int64)

    @property
    def shape(self) -> tuple:
        return (len(self.rows), *self.array.shape[1:])

    @property
    def ndim(self) -> int:
        return self.array.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.array.dtype

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return read_rows(self.array, self.rows[index])
        if np.ndim(index) == 0:
            return read_rows(self.array, self.rows[[int(index)]])[0]
        return read_rows(self.array, self.rows[np.asarray(index)])


def is_mapped(X) -> bool:
    """Whether ``X`` is a memory-mapped array (or some rows of one)."""
    return isinstance(X, (np.memmap, MappedRows))


def _mapping(array) -> tuple[np.memmap, np.ndarray | None]:
    """The memmap behind ``array`` and the rows it selects (None: all)."""
    if isinstance(array, MappedRows):
        return array.array, array.rows
    return array, None


def release_pages(array) -> None:
    """Hand the pages of ``array``'s file mapping back to the operating system
    (they stay in its page cache); the next read maps them again."""
    handle = getattr(_mapping(array)[0], "_mmap", None)
    if handle is not None and hasattr(mmap, "MADV_DONTNEED"):
        with contextlib.suppress(OSError, ValueError):
            handle.madvise(mmap.MADV_DONTNEED)


def read_rows(array, rows) -> np.ndarray:
    """The rows ``rows`` (indices, or a slice) of a mapped ``array`` as an
    in-memory float32 array (as the network reads ``X``), in the order
    given; read in file order."""
    memmap, selected = _mapping(array)
    if isinstance(rows, slice):
        if selected is None:
            return _as_float32(memmap[rows], copy=True)  # a slice of a memmap is a view
        rows = np.arange(len(selected))[rows]
    rows = np.asarray(rows, dtype=np.int64)
    if selected is not None:
        rows = selected[rows]
    order = np.argsort(rows, kind="stable")
    block = memmap[rows[order]]  # fancy indexing: a copy of these rows only
    out = np.empty_like(block)
    out[order] = block
    return _as_float32(out, copy=False)


def mapped_bytes(array, n_rows: int, in_order: bool) -> int:
    """The bytes of ``array``'s file that reading ``n_rows`` rows may have
    brought into memory: the rows themselves read in order (a slice), up to
    :data:`FAULT_BYTES` a row read at random; at most the whole file."""
    memmap = _mapping(array)[0]
    row_bytes = int(np.prod(memmap.shape[1:], dtype=np.int64)) * memmap.dtype.itemsize
    touched = n_rows * (row_bytes if in_order else max(row_bytes, FAULT_BYTES))
    return min(touched, memmap.nbytes)


def _as_float32(values, *, copy: bool) -> np.ndarray:
    with np.errstate(over="ignore"):  # beyond float32: inf, which the checks report
        if copy:
            return np.array(values, dtype=np.float32, order="C")
        return np.ascontiguousarray(values, dtype=np.float32)


def blocks(array) -> Iterator[np.ndarray]:
    """``array`` (mapped) in consecutive blocks of rows of at most
    :data:`BLOCK_BYTES`, each read into memory, its pages released after."""
    n = len(array)
    row_bytes = max(1, int(np.prod(array.shape[1:], dtype=np.int64)) * array.dtype.itemsize)
    step = max(1, BLOCK_BYTES // row_bytes)
    for start in range(0, n, step):
        yield read_rows(array, slice(start, min(start + step, n)))
        release_pages(array)


def sample_rows(X, n_rows: int | None = None):
    """At most ``n_rows`` (:data:`SAMPLE_ROWS`) rows of ``X``, drawn at random
    with a fixed seed, in file order. An in-memory ``X`` with no more rows is
    returned as it is; a mapped one is read into memory."""
    n_rows = SAMPLE_ROWS if n_rows is None else n_rows
    if len(X) <= n_rows:
        if not is_mapped(X):
            return X
        rows = np.arange(len(X))
    else:
        rows = np.sort(np.random.default_rng(0).choice(len(X), n_rows, replace=False))
    if not is_mapped(X):
        return X[rows]
    # in chunks whose pages are released after each: rows at random map
    # far more of the file than their own bytes
    chunk = max(1, RELEASE_BYTES // mapped_bytes(X, 1, in_order=False))
    parts = []
    for start in range(0, len(rows), chunk):
        parts.append(read_rows(X, rows[start : start + chunk]))
        release_pages(X)
    return np.concatenate(parts)
