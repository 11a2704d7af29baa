"""Copies of a net's torch state, to put back after a failed step or load."""

from __future__ import annotations

import copy

import torch
from torch.nn.parameter import is_lazy


def copy_states(net, *, optimizers: bool = True) -> dict[str, dict]:
    """Copies of the ``state_dict`` of the net's modules and criteria (and
    optimizers), by attribute name, for :func:`load_states` to put back."""
    names = [*net._modules, *net._criteria, *(net._optimizers if optimizers else ())]
    return {name: copy.deepcopy(getattr(net, name + "_").state_dict()) for name in names}


def load_states(net, states: dict[str, dict]) -> None:
    """Put back what :func:`copy_states` copied."""
    for name, state in states.items():
        getattr(net, name + "_").load_state_dict(state)


def refresh_states(net, states: dict[str, dict]) -> bool:
    """Copy the net's current tensors into ``states`` (from :func:`copy_states`)
    in place, without allocating. False, leaving ``states`` as they were,
    where the net's state no longer matches them (another network, a new
    tensor): the caller then copies anew. A new copy every epoch cost a
    small table's fit more than a step."""
    targets, sources = [], []
    for name, kept in states.items():
        current = getattr(net, name + "_").state_dict()
        if current.keys() != kept.keys():
            return False
        for key, value in current.items():
            old = kept[key]
            if not (
                isinstance(value, torch.Tensor)
                and isinstance(old, torch.Tensor)
                and not (is_lazy(value) or is_lazy(old))
                and old.shape == value.shape
                and old.dtype == value.dtype
                and old.device == value.device
            ):
                return False
            targets.append(old)
            sources.append(value)
    if targets:
        torch._foreach_copy_(targets, sources)  # one call for every tensor
    return True
