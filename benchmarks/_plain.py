"""What the benchmarks share."""

import torch

# The network and optimizer as in a plain loop: no input scaling, embedding,
# schedule, early stopping or weight decay, so that every contender trains
# exactly the same model for the same number of epochs.
PLAIN_RECIPE = dict(
    feature_scaling=None,
    numeric_embedding=None,
    early_stopping=False,
    lr_schedule=None,
    weight_decay=0.0,
    optimizer=torch.optim.Adam,
)


def status_mb(field: str) -> float:
    """``VmRSS`` (resident now) or ``VmHWM`` (peak) of this process, in MB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")
