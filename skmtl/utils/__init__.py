"""Helpers shared by every layer: the device, seeds and torch's threads, and
files written whole or not at all."""

from ._files import is_file_object, write_atomically
from ._runtime import (
    cpu_cores,
    fit_threads,
    reseed,
    resolve_device,
    seed_torch,
    seeded_torch,
    torch_seed,
    torch_threads,
)
from ._warnings import user_stacklevel

__all__ = [
    "is_file_object",
    "write_atomically",
    "cpu_cores",
    "fit_threads",
    "reseed",
    "resolve_device",
    "seed_torch",
    "seeded_torch",
    "torch_seed",
    "torch_threads",
    "user_stacklevel",
]
