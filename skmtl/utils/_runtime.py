"""Torch runtime choices: which device to use and how to seed training."""

from __future__ import annotations

import functools
import numbers
import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import check_random_state


@functools.cache
def _auto_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_device(device):
    """Map ``"auto"`` to ``"cuda"`` when CUDA is available, else ``"cpu"``."""
    if isinstance(device, str) and device == "auto":
        return _auto_device()  # read on every batch, so asked of CUDA only once
    return device


def torch_seed(random_state, *key: int) -> int | None:
    """A seed for torch from ``random_state`` (None: no seed), one per ``key``."""
    if random_state is None:
        return None
    if isinstance(random_state, numbers.Integral):
        base = _int_base_seed(int(random_state))
    else:  # a RandomState instance: each call draws anew from it
        base = _base_seed(random_state)
    return _keyed_seed(base, key) if key else base


def _base_seed(random_state) -> int:
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


# a fit reseeds every epoch; a new RandomState or SeedSequence each time
# cost a small table's fit about as much as a step
_int_base_seed = functools.lru_cache(maxsize=64)(_base_seed)


@functools.lru_cache(maxsize=1024)
def _keyed_seed(base: int, key: tuple[int, ...]) -> int:
    return int(np.random.SeedSequence([base, *key]).generate_state(1)[0])


def reseed(random_state, key: int) -> None:
    """Seed torch for one part of a fit: ``key`` 0 the validation split, ``e``
    the epoch ``e``. A run resumed at an epoch then draws the split, the
    shuffling and the dropout of the uninterrupted run."""
    seed = torch_seed(random_state, key)
    if seed is not None:
        seed_torch(seed)


def seed_torch(seed: int) -> None:
    """What ``torch.manual_seed`` does for the generators this machine has.

    ``torch.manual_seed`` also queues a seed for each accelerator backend
    that is not initialised, formatting a stack trace for each: about a
    millisecond a call, which a small table's fit paid every epoch. The
    streams drawn are the same.
    """
    if torch._C._get_privateuse1_backend_name() != "privateuseone":
        torch.manual_seed(seed)  # a custom backend: only torch knows how to seed it
        return
    torch.default_generator.manual_seed(seed)
    for name in ("cuda", "xpu", "mtia"):
        backend = getattr(torch, name, None)
        if backend is not None and backend.is_available():
            backend.manual_seed_all(seed)
    if torch.backends.mps.is_available():
        torch.mps.manual_seed(seed)


@contextmanager
def seeded_torch(random_state) -> Iterator[None]:
    """Seed torch for the duration of the block and restore its state after.

    Seeding inside :func:`torch.random.fork_rng` makes training repeatable
    without changing the caller's global random state; :func:`reseed` seeds
    each part of the fit within it. ``random_state=None`` leaves torch's
    generator as it is.
    """
    seed = torch_seed(random_state)
    if seed is None:
        yield
        return
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        seed_torch(seed)
        yield


def cpu_cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def fit_threads(n_threads, device) -> int | None:
    """Torch's intra-op threads for a fit: ``n_threads`` if an int; ``None``
    (leave them as they are) for ``None`` or off the CPU; for ``"auto"`` on
    the CPU, torch's own count (``OMP_NUM_THREADS`` or the physical cores)
    but no more than the cores this process may run on.

    The count never depends on the machine's load: a different count sums
    in another order, and a fit with ``random_state`` must repeat bit for
    bit. On a 2-core machine that another process keeps busy, pass
    ``n_threads=1``: two threads then wait for each other at every step
    (docs/performance.md).
    """
    try:
        on_cpu = torch.device(device).type == "cpu"
    except (RuntimeError, TypeError, ValueError):  # refused by the parameter check
        return None
    if n_threads is None or not on_cpu:
        return None
    if n_threads != "auto":
        return int(n_threads)
    return max(1, min(torch.get_num_threads(), cpu_cores()))


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """Run the block with ``count`` torch threads (``None``: as they are),
    then restore the caller's setting."""
    before = torch.get_num_threads()
    if count is None or count == before:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
