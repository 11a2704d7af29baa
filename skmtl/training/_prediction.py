"""From a fitted network's outputs to per-task logits and codes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from ..data._tensors import tensor_batches, tensor_view


def per_task(outputs: Iterable) -> list[torch.Tensor]:
    """Concatenate the batches of the module's per-task outputs."""
    return [torch.cat(task) for task in zip(*outputs, strict=True)]


def forward_logits(net, X) -> list[torch.Tensor]:
    """Per-task logits of validated ``X``, left on the device; on the fast
    path in batches of ``predict_batch_size`` (fewer rows for sparse X)."""
    dataset = net.get_dataset(X)
    if tensor_view(dataset) is None:
        return per_task(net.forward_iter(dataset, device=net.device))
    batches = tensor_batches(net.module_, dataset, net.predict_batch_size)
    return per_task(net.evaluation_step(batch) for batch in batches)


def predicted_codes(net, logits: list[torch.Tensor]) -> np.ndarray:
    """One column per task, copied back in one go: class codes (int64), or
    with any regression task, a float matrix of class codes and
    standardised regression predictions."""
    regression = net.target_encoder_.regression_
    if not any(regression):
        return torch.stack([out.argmax(dim=1) for out in logits], dim=1).cpu().numpy()
    columns = [
        out[:, 0].float() if reg else out.argmax(dim=1).float()
        for out, reg in zip(logits, regression, strict=True)
    ]
    return torch.stack(columns, dim=1).cpu().numpy()
