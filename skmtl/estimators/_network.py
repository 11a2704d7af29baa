"""Building the network, the loss and the optimizer options from an estimator's parameters.

The estimators' ``initialize_module``, ``initialize_criterion`` and
``initialize_optimizer`` (skorch's hooks) call these once ``fit`` has seen
the data: the heads' sizes come from the classes found there.
"""

from __future__ import annotations

import copy
import inspect

import torch
from skorch.exceptions import NotInitializedError

from ..nn import (
    EXPERTS,
    BaggedModule,
    MLPTrunk,
    MultiTaskLoss,
    MultiTaskModule,
    accepts_argument,
    trunk_output_width,
)
from ..targets import MISSING
from ..training import embedding_kind
from ._parameters import check_arguments


def mlp_kwargs(net) -> dict:
    """The estimator's parameters for skmtl's own MLPs: the default trunk and
    each expert (``module__*`` overrides them)."""
    kind = embedding_kind(net.numeric_embedding, net.embedded_columns_)
    return {
        "hidden_units": net.hidden_units_,
        "dropout": net.dropout,
        "activation": net.activation,
        "norm": net.norm,
        "numeric_embedding": kind,
        "embedded_columns": net.embedded_columns_,
        "embedding_bins": getattr(net, "embedding_bins_", None) if kind else None,
        **({"ensemble_size": net.ensemble_size} if (net.ensemble_size or 1) > 1 else {}),
    }


def build_module(net) -> torch.nn.Module:
    """The trunk (``module``/``module__*``, or skmtl's MLP or experts) with one
    head per task, in train mode; a fitted bag's ``bag_size_`` of them in a
    :class:`~skmtl.nn.BaggedModule` (a model file rebuilds it so).

    A trunk class whose constructor takes ``in_features`` receives
    ``n_features_in_``; a trunk instance is copied, so ``fit`` never trains
    the user's object in place. ``module__*`` names that the trunk does not
    take are refused with the list of those it does.
    """
    if not hasattr(net, "target_encoder_"):
        raise NotInitializedError(
            f"{type(net).__name__} builds its network from the tasks, classes and "
            "number of features it sees in fit; call fit(X, Y) instead of initialize(). "
            "(fit with max_epochs=0 builds it without training, e.g. before load_params.)"
        )
    size = getattr(net, "bag_size_", None)
    if size:
        return BaggedModule([_one_network(net) for _ in range(size)]).train()
    return _one_network(net)


def _one_network(net) -> torch.nn.Module:
    if (net.ensemble_size or 1) > 1 and (net.module is not None or net.architecture in EXPERTS):
        what = f"architecture={net.architecture!r}"
        if net.module is not None:
            what = f"module={net.module!r}"
        raise ValueError(
            f"ensemble_size={net.ensemble_size} packs the members of skmtl's own MLP "
            f"trunk, which {what} replaces. Leave module=None and architecture='shared' "
            "for a packed ensemble, or set ensemble_size=None."
        )
    encoder = net.target_encoder_
    # a regression task's head has one output
    n_classes = [
        1 if reg else len(encoder.classes_[t])
        for t, reg in zip(net.tasks_, encoder.regression_, strict=True)
    ]
    kwargs = net.get_params_for("module")
    if net.architecture in EXPERTS:
        if net.module is not None:
            raise ValueError(
                f"architecture={net.architecture!r} builds its own experts from "
                "hidden_units, dropout and activation; leave module=None and pass "
                "expert options as module__n_experts=... and the like."
            )
        experts = EXPERTS[net.architecture]
        check_arguments(experts, "module", kwargs)
        return experts(net.n_features_in_, n_classes, **{**mlp_kwargs(net), **kwargs}).train()
    trunk = net.module
    if trunk is None:
        trunk = MLPTrunk
        kwargs = {**mlp_kwargs(net), **kwargs}
    if isinstance(trunk, type) and "in_features" not in kwargs:
        if accepts_argument(trunk, "in_features"):
            kwargs["in_features"] = net.n_features_in_
    if isinstance(trunk, torch.nn.Module) and not kwargs:
        # each fit starts from a copy of the user's object
        trunk = copy.deepcopy(trunk)
    else:
        check_arguments(trunk, "module", kwargs)
        trunk = net.initialized_instance(trunk, kwargs)
    width = trunk_output_width(trunk, getattr(net, "input_shape_", (net.n_features_in_,)))
    # one mode for the whole tree, also for a trunk instance left in eval
    return MultiTaskModule(trunk, width, n_classes).train()


def build_criterion(net) -> MultiTaskLoss:
    """``criterion`` per task inside :class:`~skmtl.nn.MultiTaskLoss`.

    The criterion is built with ``reduction="none"`` (and, where it has one,
    ``ignore_index=-1``, the code of a missing label): the loss averages each
    task over its labelled rows itself. A criterion instance is copied,
    never changed.
    """
    kwargs = net.get_params_for("criterion")
    if kwargs.get("reduction", "none") != "none":
        raise ValueError(
            "Leave criterion__reduction unset: skmtl averages each task's "
            "loss over the rows labelled for it."
        )
    if isinstance(net.criterion, torch.nn.Module) and not kwargs:
        per_task = copy.deepcopy(net.criterion)
        per_task.reduction = "none"
        if getattr(per_task, "ignore_index", None) == -100:  # torch's default
            per_task.ignore_index = MISSING
    else:
        kwargs["reduction"] = "none"
        criterion_cls = (
            type(net.criterion) if isinstance(net.criterion, torch.nn.Module) else net.criterion
        )
        if "ignore_index" not in kwargs and accepts_argument(criterion_cls, "ignore_index"):
            kwargs["ignore_index"] = MISSING
        check_arguments(criterion_cls, "criterion", kwargs)
        per_task = net.initialized_instance(net.criterion, kwargs)
    return MultiTaskLoss(
        per_task,
        net.task_weights_,
        regression=net.target_encoder_.regression_,
        regression_loss=net.regression_loss,
    )


def optimizer_kwargs(net, kwargs: dict) -> dict:
    """skorch's optimizer arguments plus ``weight_decay`` (unless
    ``optimizer__weight_decay`` is set) and ``fused=True`` where
    ``fused_optimizer`` says."""
    check_arguments(net.optimizer, "optimizer", kwargs)
    kwargs = dict(kwargs)
    if net.weight_decay and "weight_decay" not in kwargs:
        if not accepts_argument(net.optimizer, "weight_decay"):
            raise ValueError(
                f"weight_decay={net.weight_decay!r} needs an optimizer that takes "
                f"weight_decay; {net.optimizer!r} does not. Set weight_decay=0."
            )
        kwargs["weight_decay"] = net.weight_decay
    if _use_fused(net, kwargs):
        kwargs["fused"] = True
    return kwargs


def _use_fused(net, kwargs: dict) -> bool:
    if not net.fused_optimizer or "fused" in kwargs or "foreach" in kwargs:
        return False
    try:
        takes = "fused" in inspect.signature(net.optimizer).parameters
    except (TypeError, ValueError):
        return False
    if not takes or net.fused_optimizer is True:
        return takes
    # "auto": where torch's fused kernels apply. On the CPU the fused step
    # costs a third of the per-tensor loop's (docs/performance.md), but only
    # torch's own optimizers are known to fuse there; nowhere do the kernels
    # take sparse gradients, complex parameters or a differentiable step.
    device = torch.device(net.device).type
    if device not in ("cpu", "cuda") or kwargs.get("differentiable"):
        return False
    if device == "cpu" and not net.optimizer.__module__.startswith("torch.optim"):
        return False
    if any(p.is_complex() for _, p in net.get_all_learnable_params()):
        return False
    parts = [getattr(net, name + "_", None) for name in net._modules + net._criteria]
    return not any(
        getattr(layer, "sparse", False) is True
        for part in parts
        if isinstance(part, torch.nn.Module)
        for layer in part.modules()
    )
