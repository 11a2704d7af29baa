"""Task-weighting strategies: how the per-task losses train the shared network.

Every strategy is a :class:`TaskWeighting`. Pass one to
``MultiTaskClassifier(task_weighting=...)`` by name or as an object:

============  ==========================================  ====================
name          method                                      cost per step
============  ==========================================  ====================
``equal``     sum of the losses (scaled by task_weights)  one backward
``uncertainty``  learned homoscedastic uncertainty         one backward
``dwa``       Dynamic Weight Average                      one backward
``famo``      Fast Adaptive Multitask Optimization        one backward
``gradnorm``  GradNorm                                    + one small backward
                                                          per task
``pcgrad``    PCGrad gradient surgery                     + one small backward
                                                          per task
``mgda``      MGDA-UB, min-norm gradient combination      + one small backward
                                                          per task
============  ==========================================  ====================

The gradient methods act on the gradients of each task's loss with respect to
the *shared representation* (the trunk's output, or the shared experts'
outputs of MMoE/PLE): one backward through the trunk plus one head-sized
backward per task, rather than a full backward per task.

The losses a strategy receives are already multiplied by the estimator's
static ``task_weights``.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ._gradients import min_norm_weights, project_conflicting


class TaskWeighting(nn.Module):
    """Base class of the task-weighting strategies.

    A one-backward strategy implements :meth:`combine`; a gradient strategy
    sets ``per_task_gradients = True`` and implements
    :meth:`combine_gradients`. Both may keep state (buffers, and
    parameters, which the estimator's optimizer trains with the network).

    The estimator calls, in order:

    * ``setup(n_tasks)`` once, when it builds the network;
    * per training batch, ``combine(losses, present)`` or
      ``combine_gradients(losses, grads, present)``;
    * per epoch, ``end_epoch(train_losses, present)`` with the epoch's mean
      loss of each task, then ``epoch_weights()`` for the history's
      ``weight_<task>``.

    ``present`` is a boolean tensor: whether each task has a label in the
    batch (or epoch). An absent task's loss and gradient are 0, which is no
    information about the task: a strategy must leave it out of its
    combination and keep its state for it unchanged.

    Subclasses record the weights they apply with :meth:`_log`.

    Parameters
    ----------
    *args, **kwargs
        None of its own: the signature is :class:`torch.nn.Module`'s. A
        subclass takes its own options, e.g. ``DWA(temperature=2.0)``.

    Examples
    --------
    A strategy of one backward that counts the first task twice:

    >>> import numpy as np
    >>> import torch
    >>> from skmtl import MultiTaskClassifier, TaskWeighting
    >>> class FirstTaskTwice(TaskWeighting):
    ...     def combine(self, losses, present):
    ...         weights = torch.ones_like(losses)
    ...         weights[0] = 2.0
    ...         self._log(weights * present)
    ...         return (weights * losses).sum()  # an absent task's loss is 0
    >>> X = np.random.default_rng(0).normal(size=(200, 3))
    >>> Y = {"a": X[:, 0] > 0, "b": X[:, 1] > 0}
    >>> clf = MultiTaskClassifier(task_weighting=FirstTaskTwice(), max_epochs=3, random_state=0)
    >>> history = clf.fit(X, Y).history
    >>> history[-1, "weight_a"], history[-1, "weight_b"]
    (2.0, 1.0)
    """

    #: Whether the strategy needs each task's gradient on the shared representation.
    per_task_gradients: bool = False
    #: Whether ``combine`` reads ``present`` (if not, the estimator may pass None).
    uses_presence: bool = True

    def setup(self, n_tasks: int) -> None:
        """Create the strategy's state for ``n_tasks`` tasks.

        Parameters
        ----------
        n_tasks : int
            The number of tasks; called once, when the estimator builds the
            network.
        """
        self.n_tasks = n_tasks
        self.register_buffer("_weight_sum", torch.zeros(n_tasks), persistent=False)
        self.register_buffer("_steps", torch.zeros(()), persistent=False)

    def _log(self, weights: torch.Tensor) -> None:
        self._weight_sum += weights.detach().float()
        self._steps += 1

    def combine(self, losses: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """The scalar to back-propagate, from the ``(n_tasks,)`` task losses.

        Parameters
        ----------
        losses : torch.Tensor of shape (n_tasks,)
            Each task's mean loss over its labelled rows of the batch (0 for
            a task without any).
        present : torch.Tensor of bool, shape (n_tasks,), or None
            Whether each task has a label in the batch; ``None`` where the
            class sets ``uses_presence = False``.

        Returns
        -------
        torch.Tensor
            A scalar.
        """
        raise NotImplementedError(f"{type(self).__name__} combines gradients, not losses.")

    def combine_gradients(
        self, losses: torch.Tensor, grads: torch.Tensor, present: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The shared representation's gradient and the heads' loss weights.

        Parameters
        ----------
        losses : torch.Tensor of shape (n_tasks,)
        grads : torch.Tensor of shape (n_tasks, n)
            Each task's loss gradient with respect to the flattened shared
            representation.
        present : torch.Tensor of bool, shape (n_tasks,)
            Whether each task has a label in the batch.

        Returns
        -------
        shared_grad : torch.Tensor of shape (n,)
        head_weights : torch.Tensor of shape (n_tasks,)
            Each task's head is trained on ``head_weights[t] * losses[t]``.
        """
        raise NotImplementedError(f"{type(self).__name__} combines losses, not gradients.")

    def end_epoch(self, train_losses: torch.Tensor, present: torch.Tensor) -> None:
        """Called after each training epoch with each task's mean loss.

        Parameters
        ----------
        train_losses : torch.Tensor of shape (n_tasks,)
            Each task's mean training loss over the epoch.
        present : torch.Tensor of bool, shape (n_tasks,)
            Whether each task had a label in the epoch.
        """

    def fixed_weights(self) -> torch.Tensor | None:
        """The task weights ``combine`` applies until the next ``end_epoch``,
        where it is that weighted sum of the losses; None otherwise (the
        default). A packed search (:func:`skmtl.training.train_packed`) then
        weighs all its members' losses at once instead of calling
        ``combine`` for each."""
        return None

    def epoch_weights(self) -> torch.Tensor:
        """Mean weight of each task over the epoch's steps; restarts the mean."""
        weights = self._weight_sum / self._steps.clamp(min=1)
        self._weight_sum.zero_()
        self._steps.zero_()
        return weights


class Equal(TaskWeighting):
    """The plain sum of the task losses (with the static ``task_weights``)."""

    uses_presence = False

    def combine(self, losses, present):
        return losses.sum()  # an absent task's loss is 0

    def fixed_weights(self):
        return torch.ones(self.n_tasks)

    def epoch_weights(self):
        return torch.ones(self.n_tasks)


class Uncertainty(TaskWeighting):
    """Homoscedastic uncertainty weighting.

    Kendall, Gal & Cipolla, CVPR 2018, "Multi-Task Learning Using Uncertainty
    to Weigh Losses for Scene Geometry and Semantics". Each task has a learned
    log-variance ``s_t = log sigma_t^2`` (a parameter trained with the
    network) and the loss is ``sum_t exp(-s_t) L_t + s_t / 2``, the paper's
    form ``L_t / sigma_t^2 + log sigma_t`` for a classification task. The
    logged weight is ``exp(-s_t)``.
    """

    def setup(self, n_tasks):
        super().setup(n_tasks)
        self.log_vars = nn.Parameter(torch.zeros(n_tasks))

    def combine(self, losses, present):
        precision = torch.exp(-self.log_vars)
        self._log(precision)
        # without the mask, s_t / 2 alone would drive an absent task's s_t down
        return (present * (precision * losses + self.log_vars / 2)).sum()


class DWA(TaskWeighting):
    """Dynamic Weight Average.

    Liu, Johns & Davison, CVPR 2019, "End-to-End Multi-Task Learning with
    Attention". From the third epoch, ``w_t = T exp(r_t / temperature) /
    sum_i exp(r_i / temperature)`` with ``r_t = L_t(e-1) / L_t(e-2)``, the
    ratio of task ``t``'s mean training loss over the last two epochs; the
    weights sum to ``T``, the number of tasks. The first two epochs use 1.

    Parameters
    ----------
    temperature : float, default=2.0
    """

    def __init__(self, temperature: float = 2.0):
        super().__init__()
        self.temperature = temperature

    def setup(self, n_tasks):
        super().setup(n_tasks)
        self.register_buffer("weights", torch.ones(n_tasks))
        self.register_buffer("history", torch.full((2, n_tasks), float("nan")))

    def combine(self, losses, present):
        self._log(self.weights)
        return (self.weights * losses).sum()

    def fixed_weights(self):
        return self.weights

    def end_epoch(self, train_losses, present):
        present = present.to(self.history.device)
        latest = torch.where(present, train_losses.to(self.history), self.history[1])
        # a task unseen this epoch keeps its two last epochs' losses
        self.history = torch.stack([torch.where(present, self.history[1], self.history[0]), latest])
        if not torch.isnan(self.history).any():
            ratio = self.history[1] / self.history[0].clamp(min=1e-12)
            self.weights = self.n_tasks * torch.softmax(ratio / self.temperature, dim=0)


class FAMO(TaskWeighting):
    """Fast Adaptive Multitask Optimization.

    Liu, Liu, Stone & Liu, NeurIPS 2023, "FAMO: Fast Adaptive Multitask
    Optimization". Task logits ``xi`` give ``z = softmax(xi)``; the network
    minimises ``sum_t z_t log L_t / c`` with ``c = sum_t z_t / L_t`` (held
    constant), so task ``t`` gets the weight ``z_t / (c L_t)``. After each
    step ``xi`` moves along ``-(J_z^T delta + decay * xi)`` with
    ``delta_t = log L_t(before) - log L_t(after)``, raising the weight of the
    tasks whose loss fell least. skmtl reads ``L(after)`` from the next
    batch's losses instead of a second forward pass on the same batch, which
    keeps it to one forward and one backward per step.

    Parameters
    ----------
    lr : float, default=0.025
        Step size of the task logits (the paper's ``beta``).
    decay : float, default=0.001
        Weight decay of the task logits (the paper's ``gamma``).
    """

    def __init__(self, lr: float = 0.025, decay: float = 0.001):
        super().__init__()
        self.lr = lr
        self.decay = decay

    def setup(self, n_tasks):
        super().setup(n_tasks)
        self.register_buffer("logits", torch.zeros(n_tasks))
        self.register_buffer("prev_losses", torch.full((n_tasks,), float("nan")))

    def _weights(self, present: torch.Tensor) -> torch.Tensor:
        """softmax(xi) over the tasks present in the batch; 0 for the others."""
        return torch.softmax(self.logits.masked_fill(~present, float("-inf")), dim=0)

    def _update_logits(self, losses: torch.Tensor, present: torch.Tensor) -> None:
        # only tasks seen now and before tell how their loss moved
        known = present & ~torch.isnan(self.prev_losses)
        delta = torch.log(self.prev_losses + 1e-8) - torch.log(losses + 1e-8)
        delta = torch.where(known, delta, torch.zeros_like(delta))
        z = self._weights(present)
        grad = z * (delta - (z * delta).sum())  # J_softmax^T delta
        self.logits = self.logits - self.lr * (grad + self.decay * self.logits)

    def combine(self, losses, present):
        detached = losses.detach().float()
        self._update_logits(detached, present)
        self.prev_losses = torch.where(present, detached, self.prev_losses)
        z = self._weights(present)
        shifted = torch.where(present, losses + 1e-8, torch.ones_like(losses))
        c = (z / shifted.detach()).sum()
        self._log(z / (c * shifted.detach()))
        return (z * torch.log(shifted)).sum() / c


class GradNorm(TaskWeighting):
    """GradNorm.

    Chen, Badrinarayanan, Lee & Rabinovich, ICML 2018, "GradNorm: Gradient
    Normalization for Adaptive Loss Balancing in Deep Multitask Networks".
    Learned weights ``w_t`` (a parameter, renormalised to sum to ``T``) scale
    the losses. With ``G_t = w_t |dL_t/dh|`` the gradient norm of task ``t``
    on the shared representation ``h`` and ``r_t`` the task's relative
    inverse training rate (``L_t / L_t(0)`` over its mean), the weights
    minimise ``sum_t |G_t - mean(G) r_t^alpha|`` with the target held
    constant. The network is trained on ``sum_t w_t L_t``.

    Parameters
    ----------
    alpha : float, default=1.5
        Strength of the pull towards equal training rates.
    """

    per_task_gradients = True

    def __init__(self, alpha: float = 1.5):
        super().__init__()
        self.alpha = alpha

    def setup(self, n_tasks):
        super().setup(n_tasks)
        self.task_weights = nn.Parameter(torch.ones(n_tasks))
        self.register_buffer("initial_losses", torch.full((n_tasks,), float("nan")))

    def combine_gradients(self, losses, grads, present):
        with torch.no_grad():  # the optimizer moved the weights: back to sum T
            w = self.task_weights.clamp(min=1e-6)
            self.task_weights.copy_(self.n_tasks * w / w.sum())
        detached = losses.detach().float()
        # L(0) is a task's first loss on a batch that labels it
        first = torch.isnan(self.initial_losses) & present
        self.initial_losses = torch.where(first, detached, self.initial_losses)
        norms = self.task_weights * grads.norm(dim=1)
        # balance the tasks present in the batch; an absent one's weight stays put
        n_present = present.sum().clamp(min=1)
        rate = torch.where(present, detached / self.initial_losses.clamp(min=1e-12), 0.0)
        mean_norm = (norms * present).sum() / n_present
        rel_rate = rate / (rate.sum() / n_present).clamp(min=1e-12)
        target = (mean_norm * rel_rate**self.alpha).detach()
        balance = (present * (norms - target).abs()).sum()
        (self.task_weights.grad,) = torch.autograd.grad(balance, self.task_weights)
        weights = self.task_weights.detach()
        self._log(weights)
        return weights @ grads, weights


class PCGrad(TaskWeighting):
    """PCGrad: project away the conflicting parts of the task gradients.

    Yu, Kumar, Gupta, Levine, Hausman & Finn, NeurIPS 2020, "Gradient Surgery
    for Multi-Task Learning". Applied to the gradients on the shared
    representation (see :func:`skmtl.nn.project_conflicting`); the
    trunk receives the sum of the projected gradients, each head its own
    task's gradient. The logged weights are 1.
    """

    per_task_gradients = True

    def combine_gradients(self, losses, grads, present):
        # an absent task's gradient is 0: projecting on it or it changes nothing
        return project_conflicting(grads).sum(dim=0), torch.ones_like(losses)

    def epoch_weights(self):
        return torch.ones(self.n_tasks)


class MGDA(TaskWeighting):
    """MGDA-UB: the minimum-norm convex combination of the task gradients.

    Sener & Koltun, NeurIPS 2018, "Multi-Task Learning as Multi-Objective
    Optimization". The weights come from the min-norm point of the gradients
    on the shared representation (the paper's upper-bound variant, MGDA-UB;
    see :func:`skmtl.nn.min_norm_weights`) of the tasks labelled in
    the batch, scaled to sum to their number so that they are comparable with
    ``equal``; the trunk and the heads are trained on ``sum_t w_t L_t`` (the
    paper trains each head on its own unweighted loss).
    """

    per_task_gradients = True

    def combine_gradients(self, losses, grads, present):
        # an absent task's zero gradient would be the min-norm point: leave it out
        index = torch.nonzero(present).ravel()
        weights = torch.zeros(self.n_tasks, dtype=grads.dtype, device=grads.device)
        weights[index] = len(index) * min_norm_weights(grads[index].float()).to(grads.dtype)
        self._log(weights)
        return weights @ grads, weights.to(losses.dtype)


STRATEGIES: dict[str, type[TaskWeighting]] = {
    "equal": Equal,
    "uncertainty": Uncertainty,
    "dwa": DWA,
    "famo": FAMO,
    "gradnorm": GradNorm,
    "pcgrad": PCGrad,
    "mgda": MGDA,
}


def make_weighting(spec: str | TaskWeighting, n_tasks: int) -> TaskWeighting:
    """A fresh, set-up strategy from a name or a (copied) :class:`TaskWeighting`."""
    if isinstance(spec, str):
        try:
            weighting = STRATEGIES[spec]()
        except KeyError:
            raise ValueError(
                f"Unknown task_weighting {spec!r}; use one of {sorted(STRATEGIES)} or a "
                "skmtl.TaskWeighting instance."
            ) from None
    elif isinstance(spec, TaskWeighting):
        weighting = copy.deepcopy(spec)
    else:
        raise ValueError(
            f"task_weighting must be a name or a TaskWeighting instance; got {spec!r}."
        )
    weighting.setup(n_tasks)
    return weighting
