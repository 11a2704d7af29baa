"""Torch runtime choices: which device to use and how to seed training."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

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


@contextmanager
def seeded_torch(random_state, offset: int = 0) -> Iterator[None]:
    """Seed torch for the duration of the block and restore its state after.

    Seeding inside :func:`torch.random.fork_rng` makes training repeatable
    without changing the caller's global random state. ``offset`` (the
    number of epochs already trained) gives each ``partial_fit`` call its own
    stream. ``random_state=None`` leaves torch's generator as it is.
    """
    if random_state is None:
        yield
        return
    seed = (int(check_random_state(random_state).randint(0, 2**31 - 1)) + offset) % (2**31 - 1)
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield
