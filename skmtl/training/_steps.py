"""One training step: the task losses, the ``task_weighting`` and the gradient methods.

:func:`train_step` is the body of the estimators' ``train_step_single``
(skorch's hook). A one-backward strategy back-propagates the objective of
``net.get_loss(..., training=True)``. A gradient strategy (and, every
``affinity_every`` steps, any strategy) splits the network at the shared
representation ``h``: each task's gradient on ``h`` takes one head-sized
backward, the strategy combines them, and the result goes through the trunk
in a single backward.
"""

from __future__ import annotations

import contextlib

import torch
from skorch.dataset import unpack_data
from skorch.utils import to_tensor


def set_mode(net, training: bool) -> None:
    """Put the network and the criteria in train or eval mode.

    Only the top modules' flags are compared: walking the whole module tree
    before every batch, as skorch does, costs about 5% of a small MLP's step
    on the CPU.
    """
    for name in net._modules + net._criteria:
        module = getattr(net, name + "_", None)
        if isinstance(module, torch.nn.Module) and module.training != training:
            module.train(training)


def affinity_due(net) -> bool:
    """Whether this training step samples the task-gradient affinity: every
    ``affinity_every``-th step of the fit, counting from the first."""
    every = net.affinity_every
    if not every or len(net.tasks_) < 2:
        return False
    done = sum(epoch.get("train_batch_count", 0) for epoch in net.history[:-1])
    return (done + len(net.history[-1]["batches"]) - 1) % every == 0


def autocast(net) -> contextlib.AbstractContextManager:
    """bf16 autocast of the forward pass where ``mixed_precision`` says
    (``"auto"``: on CUDA devices that support bf16)."""
    device_type = torch.device(net.device).type
    enabled = bool(net.mixed_precision)
    if net.mixed_precision == "auto":
        enabled = device_type == "cuda" and torch.cuda.is_bf16_supported()
    if not enabled:
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=torch.bfloat16)


def step_result(net, y_pred, gradients=None, loss=None) -> dict:
    """What the step returns to skorch (and its callbacks, as ``on_batch_end``
    keywords): the reported ``loss`` (by default the sum of the weighted task
    losses, comparable across strategies) and the per-task sums and counts."""
    crit = net.criterion_
    result = {
        "loss": crit.last_losses.sum() if loss is None else loss,
        "y_pred": y_pred,
        "task_sums": crit.last_sums,
        "task_counts": crit.last_counts,
    }
    if gradients is not None:
        result["task_gradients"] = gradients
    return result


def train_step(net, batch, *, custom_loss: bool, backward=None, **fit_params) -> dict:
    """One forward and backward of ``net`` on ``batch``, as its ``task_weighting`` says.

    ``custom_loss``: whether ``net.get_loss`` is a subclass's own. On the
    split path its terms beyond the task losses (a penalty, say) are added
    to the objective unchanged. ``backward(loss)`` back-propagates the
    objective of a one-backward step (``Tensor.backward`` by default;
    Accelerate's ``accelerator.backward`` in a distributed fit).
    """
    set_mode(net, True)
    Xi, yi = unpack_data(batch)
    weighting = net.weighting_
    sample = affinity_due(net)
    if not (weighting.per_task_gradients or sample):
        y_pred = net.infer(Xi, **fit_params)
        loss = net.get_loss(y_pred, yi, X=Xi, training=True)
        loss.backward() if backward is None else backward(loss)
        return step_result(net, y_pred)

    X = to_tensor(Xi, device=net.device)
    y_true = to_tensor(yi, device=net.device)
    with autocast(net):
        shared = net.module_.forward_shared(X, **fit_params)
        cut = shared.detach().requires_grad_()
        y_pred = net.module_.forward_tasks(cut, X)
    losses = net.criterion_(y_pred, y_true)
    present = net.criterion_.present()
    grads = torch.stack(
        [torch.autograd.grad(loss, cut, retain_graph=True)[0].flatten() for loss in losses]
    ).float()
    if not weighting.per_task_gradients:
        # the heads and the gradient on the cut, then the trunk
        net.get_loss(y_pred, yi, X=Xi, training=True).backward()
        if shared.requires_grad:  # a trunk without parameters has nothing to train
            shared.backward(cut.grad)
        return step_result(net, y_pred, (grads, present) if sample else None)
    shared_grad, head_weights = weighting.combine_gradients(losses, grads, present)
    shared_grad = shared_grad.view_as(shared)
    if custom_loss:
        extra = net.get_loss(y_pred, yi, X=Xi, training=True) - losses.sum()
        extra.backward(retain_graph=True)
        if cut.grad is not None:
            shared_grad = shared_grad + cut.grad
            cut.grad = None
    (head_weights.detach() * losses).sum().backward()
    if shared.requires_grad:
        shared.backward(shared_grad.to(shared.dtype))
    return step_result(net, y_pred, (grads, present) if sample else None)


def validation_step(net, batch, **fit_params) -> dict:
    """The body of the estimators' ``validation_step``: the loss of a batch
    (``net.get_loss``) and the per-task sums for the history."""
    set_mode(net, False)
    Xi, yi = unpack_data(batch)
    with torch.no_grad():
        y_pred = net.infer(Xi, **fit_params)
        loss = net.get_loss(y_pred, yi, X=Xi, training=False)
    return step_result(net, y_pred, loss=loss)
