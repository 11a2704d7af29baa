"""Copies of a net's torch state, to put back after a failed step or load."""

from __future__ import annotations

import copy


def copy_states(net, *, optimizers: bool = True) -> dict[str, dict]:
    """Copies of the ``state_dict`` of the net's modules and criteria (and
    optimizers), by attribute name, for :func:`load_states` to put back."""
    names = [*net._modules, *net._criteria, *(net._optimizers if optimizers else ())]
    return {name: copy.deepcopy(getattr(net, name + "_").state_dict()) for name in names}


def load_states(net, states: dict[str, dict]) -> None:
    """Put back what :func:`copy_states` copied."""
    for name, state in states.items():
        getattr(net, name + "_").load_state_dict(state)
