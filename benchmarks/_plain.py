"""What the benchmarks share."""

import os
import platform

import torch

# The network and optimizer as in a plain loop: no input scaling, embedding,
# dropout, schedule, early stopping or weight decay, so that every contender
# trains exactly the same model for the same number of epochs.
PLAIN_RECIPE = dict(
    dropout=0.0,
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


def machine() -> str:
    """The processor, cores, torch build and threads (and GPU) of this run."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if "model name" in line)
    except (OSError, StopIteration):
        pass
    threads = torch.get_num_threads()
    desc = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {threads} threads"
    if torch.cuda.is_available():
        desc += f", GPU {torch.cuda.get_device_name()}"
    return desc
