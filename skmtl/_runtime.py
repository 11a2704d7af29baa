"""Torch runtime choices: which device to use and how to seed training."""

from __future__ import annotations

import functools
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
    base = int(check_random_state(random_state).randint(0, 2**31 - 1))
    if not key:
        return base
    return int(np.random.SeedSequence([base, *key]).generate_state(1)[0])


def reseed(random_state, key: int) -> None:
    """Seed torch for one part of a fit: ``key`` 0 the validation split, ``e``
    the epoch ``e``. A run resumed at an epoch then draws the split, the
    shuffling and the dropout of the uninterrupted run."""
    seed = torch_seed(random_state, key)
    if seed is not None:
        torch.manual_seed(seed)


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
        torch.manual_seed(seed)
        yield
