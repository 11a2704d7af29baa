"""Runtime helpers shared by every layer: the device, seeds and torch's threads."""

from ._runtime import (
    cpu_cores,
    fit_threads,
    reseed,
    resolve_device,
    seeded_torch,
    torch_seed,
    torch_threads,
)

__all__ = [
    "cpu_cores",
    "fit_threads",
    "reseed",
    "resolve_device",
    "seeded_torch",
    "torch_seed",
    "torch_threads",
]
