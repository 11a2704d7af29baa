"""Operations on per-task gradients, shared by the gradient-based weightings.

Each function takes ``grads`` of shape ``(n_tasks, n)``: row ``t`` is the
gradient of task ``t``'s loss with respect to the shared representation,
flattened. Only ``min_norm_weights`` with three or more tasks reads a value
(the small Gram matrix) back to the host.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

_EPS = 1e-12


def project_conflicting(grads: torch.Tensor, order: torch.Tensor | None = None) -> torch.Tensor:
    """PCGrad's projection (Yu et al., NeurIPS 2020, "Gradient Surgery for Multi-Task Learning").

    For each task ``i``, and each other task ``j`` in a random order, a
    conflicting component is removed: if ``g_i . g_j < 0``, then
    ``g_i <- g_i - (g_i . g_j / |g_j|^2) g_j``. The projections use the
    original ``g_j`` and the partly projected ``g_i``, as in the paper.

    Parameters
    ----------
    grads : torch.Tensor of shape (n_tasks, n)
    order : torch.Tensor of shape (n_tasks, n_tasks), optional
        Row ``i`` is the order in which task ``i`` visits the others (its own
        index is skipped). Default: a fresh ``torch.randperm`` per task.

    Returns
    -------
    torch.Tensor of shape (n_tasks, n)
        The projected gradients; PCGrad's update is their sum.
    """
    n_tasks = len(grads)
    projected = grads.clone()
    sq_norms = (grads * grads).sum(dim=1).clamp(min=_EPS)
    for i in range(n_tasks):
        visit = torch.randperm(n_tasks) if order is None else order[i]
        for j in visit.tolist():
            if j == i:
                continue
            dot = projected[i] @ grads[j]
            # clamp instead of `if dot < 0`: no host sync on a GPU
            projected[i] = projected[i] - dot.clamp(max=0) / sq_norms[j] * grads[j]
    return projected


def min_norm_weights(grads: torch.Tensor, n_iter: int = 500) -> torch.Tensor:
    """Convex weights of the minimum-norm point in the hull of the gradients.

    The multiple-gradient descent direction of MGDA (Sener & Koltun, NeurIPS
    2018, "Multi-Task Learning as Multi-Objective Optimization"). Two tasks
    have the paper's closed form, computed on the device. For more, the
    ``(n_tasks, n_tasks)`` Gram matrix comes to the CPU: up to 8 tasks the
    quadratic program is solved exactly, by trying every support set; beyond,
    by ``n_iter`` Frank-Wolfe steps with exact line search (the paper's
    Algorithm 2).

    Parameters
    ----------
    grads : torch.Tensor of shape (n_tasks, n)
    n_iter : int, default=500

    Returns
    -------
    torch.Tensor of shape (n_tasks,)
        Non-negative weights summing to 1.
    """
    n_tasks = len(grads)
    if n_tasks == 1:
        return torch.ones(1, dtype=grads.dtype, device=grads.device)
    if n_tasks == 2:
        diff = grads[0] - grads[1]
        share = ((grads[1] - grads[0]) @ grads[1] / (diff @ diff).clamp(min=_EPS)).clamp(0, 1)
        return torch.stack([share, 1 - share])
    gram = (grads @ grads.T).double().cpu().numpy()
    weights = _min_norm_exact(gram) if n_tasks <= 8 else _min_norm_frank_wolfe(gram, n_iter)
    return torch.as_tensor(weights, dtype=grads.dtype, device=grads.device)


def _min_norm_exact(gram: np.ndarray) -> np.ndarray:
    """min w'Gw over the simplex: the best feasible KKT point over support sets."""
    n = len(gram)
    best, best_value = None, np.inf
    for size in range(1, n + 1):
        for support in itertools.combinations(range(n), size):
            idx = list(support)
            # stationarity on the support with sum(w) = 1: [G_SS 1; 1' 0][w; l] = [0; 1]
            kkt = np.zeros((size + 1, size + 1))
            kkt[:size, :size] = gram[np.ix_(idx, idx)]
            kkt[:size, size] = kkt[size, :size] = 1.0
            rhs = np.zeros(size + 1)
            rhs[size] = 1.0
            w_s = np.linalg.lstsq(kkt, rhs, rcond=None)[0][:size]
            if (w_s < -1e-12).any():
                continue
            w = np.zeros(n)
            w[idx] = np.clip(w_s, 0, None)
            w /= w.sum()
            value = w @ gram @ w
            if value < best_value - 1e-15:
                best, best_value = w, value
    return best


def _min_norm_frank_wolfe(gram: np.ndarray, n_iter: int) -> np.ndarray:
    n = len(gram)
    w = np.full(n, 1.0 / n)
    for _ in range(n_iter):
        gw = gram @ w
        t = int(np.argmin(gw))  # the vertex that most decreases |sum w g|^2
        vv, vt, tt = w @ gw, gw[t], gram[t, t]
        step = float(np.clip((vv - vt) / max(vv - 2 * vt + tt, _EPS), 0.0, 1.0))
        if step < 1e-12:
            break
        w = (1 - step) * w
        w[t] += step
    return w


def cosine_matrix(grads: torch.Tensor) -> torch.Tensor:
    """Pairwise cosine similarity of the task gradients, ``(n_tasks, n_tasks)``."""
    unit = grads / grads.norm(dim=1, keepdim=True).clamp(min=_EPS)
    return unit @ unit.T
