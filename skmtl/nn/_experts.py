"""Mixture-of-experts multi-task networks: MMoE and PLE (CGC).

Both follow :class:`~skmtl.nn.MultiTaskModule`'s contract: ``forward``
returns one logits tensor per task, and ``forward(X) ==
forward_tasks(forward_shared(X), X)``, where ``forward_shared`` gives the
shared experts' outputs, stacked as ``(batch, n_experts, width)``: the
representation that the gradient-based task weightings act on.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._modules import MLPTrunk


def _check_counts(n_classes: Sequence[int], **counts: tuple[int, int]) -> None:
    if not len(n_classes):
        raise ValueError("n_classes must name at least one task.")
    for name, (value, least) in counts.items():
        if int(value) != value or value < least:
            raise ValueError(f"{name} must be an integer >= {least}; got {value!r}.")


class MMoE(nn.Module):
    """Multi-gate Mixture-of-Experts.

    Ma, Zhao, Yi, Chen, Hong & Chi, KDD 2018, "Modeling Task Relationships in
    Multi-task Learning with Multi-gate Mixture-of-Experts". ``n_experts``
    MLP experts are shared by all tasks; each task has its own gate, a
    softmax over the experts computed from the input, and mixes the experts'
    outputs with it before its linear head. Tasks that need different
    features learn different gates instead of fighting over one trunk.

    Parameters
    ----------
    in_features : int
    n_classes : sequence of int
        Number of classes of each task.
    hidden_units, dropout, activation, norm
        Of each expert, an :class:`~skmtl.nn.MLPTrunk`.
    numeric_embedding, embedded_columns, embedding_bins, embedding_dim
        Of each expert's embedding, as in :class:`~skmtl.nn.MLPTrunk`.
    n_experts : int, default=4

    Attributes
    ----------
    experts, gates, heads : torch.nn.ModuleList
    out_features : int
        Width of each expert's output.
    """

    def __init__(
        self,
        in_features: int,
        n_classes: Sequence[int],
        hidden_units=(256, 256),
        n_experts: int = 4,
        dropout: float = 0.0,
        activation="relu",
        norm=None,
        numeric_embedding=None,
        embedded_columns=None,
        embedding_bins=None,
        embedding_dim=16,
    ):
        super().__init__()
        _check_counts(n_classes, n_experts=(n_experts, 1))
        embedding = {
            "numeric_embedding": numeric_embedding,
            "embedded_columns": embedded_columns,
            "embedding_bins": embedding_bins,
            "embedding_dim": embedding_dim,
        }
        self.experts = nn.ModuleList(
            MLPTrunk(in_features, hidden_units, dropout, activation, norm, **embedding)
            for _ in range(n_experts)
        )
        self.out_features = self.experts[0].out_features
        self.gates = nn.ModuleList(nn.Linear(in_features, n_experts) for _ in n_classes)
        self.heads = nn.ModuleList(nn.Linear(self.out_features, k) for k in n_classes)

    def gate_weights(self, X: torch.Tensor) -> torch.Tensor:
        """Each task's mixture over the experts, ``(n_tasks, batch, n_experts)``."""
        return torch.stack([torch.softmax(gate(X), dim=-1) for gate in self.gates])

    def forward_shared(self, X: torch.Tensor) -> torch.Tensor:
        return torch.stack([expert(X) for expert in self.experts], dim=1)

    def forward_tasks(self, shared: torch.Tensor, X: torch.Tensor) -> tuple[torch.Tensor, ...]:
        mixtures = self.gate_weights(X)  # (tasks, batch, experts)
        return tuple(
            head(torch.einsum("be,bed->bd", mix, shared))
            for head, mix in zip(self.heads, mixtures, strict=True)
        )

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.forward_tasks(self.forward_shared(X), X)


class PLE(nn.Module):
    """Progressive Layered Extraction, in its single-level form (CGC).

    Tang, Liu, Zhao & Gong, RecSys 2020, "Progressive Layered Extraction
    (PLE): A Novel Multi-Task Learning (MTL) Model for Personalized
    Recommendations". Besides ``n_shared_experts`` experts shared by all
    tasks, each task owns ``n_task_experts`` experts; its gate mixes its own
    experts and the shared ones, so a task can keep what others would
    disturb (the paper's Customized Gate Control).

    Parameters
    ----------
    in_features : int
    n_classes : sequence of int
    hidden_units, dropout, activation, norm
        Of each expert, an :class:`~skmtl.nn.MLPTrunk`.
    numeric_embedding, embedded_columns, embedding_bins, embedding_dim
        Of each expert's embedding, as in :class:`~skmtl.nn.MLPTrunk`.
    n_shared_experts : int, default=2
    n_task_experts : int, default=1

    Attributes
    ----------
    shared_experts : torch.nn.ModuleList
    task_experts : torch.nn.ModuleList of torch.nn.ModuleList
        ``task_experts[t]`` are task ``t``'s own experts.
    gates, heads : torch.nn.ModuleList
    out_features : int
    """

    def __init__(
        self,
        in_features: int,
        n_classes: Sequence[int],
        hidden_units=(256, 256),
        n_shared_experts: int = 2,
        n_task_experts: int = 1,
        dropout: float = 0.0,
        activation="relu",
        norm=None,
        numeric_embedding=None,
        embedded_columns=None,
        embedding_bins=None,
        embedding_dim=16,
    ):
        super().__init__()
        _check_counts(
            n_classes, n_shared_experts=(n_shared_experts, 1), n_task_experts=(n_task_experts, 0)
        )
        embedding = {
            "numeric_embedding": numeric_embedding,
            "embedded_columns": embedded_columns,
            "embedding_bins": embedding_bins,
            "embedding_dim": embedding_dim,
        }

        def expert():
            return MLPTrunk(in_features, hidden_units, dropout, activation, norm, **embedding)

        self.shared_experts = nn.ModuleList(expert() for _ in range(n_shared_experts))
        self.task_experts = nn.ModuleList(
            nn.ModuleList(expert() for _ in range(n_task_experts)) for _ in n_classes
        )
        self.out_features = self.shared_experts[0].out_features
        width = n_task_experts + n_shared_experts
        self.gates = nn.ModuleList(nn.Linear(in_features, width) for _ in n_classes)
        self.heads = nn.ModuleList(nn.Linear(self.out_features, k) for k in n_classes)

    def gate_weights(self, X: torch.Tensor) -> list[torch.Tensor]:
        """Each task's mixture over its own then the shared experts."""
        return [torch.softmax(gate(X), dim=-1) for gate in self.gates]

    def forward_shared(self, X: torch.Tensor) -> torch.Tensor:
        return torch.stack([expert(X) for expert in self.shared_experts], dim=1)

    def forward_tasks(self, shared: torch.Tensor, X: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = []
        for own, gate, head in zip(self.task_experts, self.gates, self.heads, strict=True):
            experts = shared
            if len(own):  # the task's own experts come first, then the shared ones
                experts = torch.cat([torch.stack([e(X) for e in own], dim=1), shared], dim=1)
            mix = torch.softmax(gate(X), dim=-1)
            outputs.append(head(torch.einsum("be,bed->bd", mix, experts)))
        return tuple(outputs)

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return self.forward_tasks(self.forward_shared(X), X)


#: ``architecture`` -> the experts it builds.
EXPERTS = {"mmoe": MMoE, "ple": PLE}
