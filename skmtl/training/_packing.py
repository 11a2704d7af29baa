"""Packed training: many members of one network shape trained as one.

A packed search (:class:`skmtl.model_selection.PackedGridSearchCV`) trains
the candidates x folds of a grid together. Every member is a network
already built by its own estimator, with its own rows, learning rate,
weight decay, dropout rate, task weights and weighting, seed, epoch budget
and stopping. :func:`train_packed` stacks their weights and runs one
forward and one backward per step for all of them: one batched matrix
product per linear layer where the network is skmtl's MLP (tabm's way),
:func:`torch.func.vmap` over :func:`torch.func.functional_call` for any
other network. A step pays torch's and Python's per-call overhead once
instead of once a member.

What keeps the members apart:

* **rows**: each member draws its own batches from its own rows (its
  training folds, less its own validation split), with its own generator;
  padding beyond a member's rows reads its own rows and carries no label,
  so it adds nothing to the member's loss;
* **optimizer state**: Adam's moments are element-wise, so the stacked
  moments are each member's own; torch's Adam computes the unit step and
  each member's learning rate, weight decay and schedule scale it. The
  members of a pack take as many steps an epoch, so Adam's one step count
  is each member's own;
* **stopping**: a member stops at its own budget or its own patience, and
  its weights are kept as they were then; it leaves the pack, which
  carries on with the others.

The function computes and returns each member's weights and history; the
estimators that built the members load them (the owner assigns).
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from ..nn import MLPTrunk, MultiTaskModule, mask_levels
from ..targets import MISSING, labelled
from ._callbacks import decay_factor
from ._epochs import best_epochs


@dataclass
class PackMember:
    """One member of a pack: a built network and how to train it.

    ``train_rows`` and ``valid_rows`` index the rows of the pack's ``X``
    and ``Y``. ``epochs``: the most epochs it trains (and the length of its
    learning-rate decay); ``patience``: the epochs without a better
    validation score that stop it (None: it trains ``epochs``);
    ``keep_best``: whether it ends with the weights of its best epoch.
    """

    module: nn.Module
    criterion: nn.Module
    weighting: nn.Module
    train_rows: torch.Tensor
    valid_rows: torch.Tensor | None
    lr: float
    weight_decay: float
    epochs: int
    patience: int | None = None
    keep_best: bool = False
    decay: str | None = None
    seed: int = 0


@dataclass(frozen=True)
class PackSettings:
    """What the members of a pack share: the batch size, Adam's options,
    what stopping watches, which tasks are classified, and the forward's
    precision context (a zero-argument callable returning a context)."""

    batch_size: int
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    decoupled: bool = True
    monitor: str = "valid_loss"
    lower_is_better: bool = True
    classification: tuple[bool, ...] = ()
    precision: object = field(default=contextlib.nullcontext, compare=False)


@dataclass
class PackOutcome:
    """A member's result: its weights and buffers by name, its history (one
    dict an epoch), the epochs it trained and the 1-based epoch of its best
    validation score (:func:`~skmtl.training.best_epochs`); ``diverged`` if its loss or
    weights went non-finite (its weights are then not usable)."""

    state: dict[str, torch.Tensor]
    history: list[dict] = field(default_factory=list)
    epochs: int = 0
    best_epoch: int = 0
    diverged: bool = False


class MaskedDropout(nn.Module):
    """Dropout whose mask is given: a buffer of the pack, drawn for all
    members at once outside the vectorised forward (each member at its own
    rate). An empty mask (evaluation) passes ``X`` through."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mask", torch.empty(0), persistent=False)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not self.training or self.mask.numel() == 0:
            return X
        return X * self.mask.to(X.dtype)


class _Affine(torch.autograd.Function):
    """``X @ weight + bias`` for every member, whose backward writes the
    weights' gradients into their ``.grad`` tensors, kept from step to step.

    The usual backward allocates the gradients anew each step; on the CPU
    the allocator hands memory that large back to the system when it is
    freed, and each step then paid a page fault per page (about a quarter
    of a packed step at penguins' size). Each weight is used once in the
    forward, so writing its gradient is the same as accumulating it."""

    @staticmethod
    def forward(ctx, X, weight, bias):
        ctx.save_for_backward(X, weight, bias)
        if bias is None:
            return torch.bmm(X, weight)
        return torch.baddbmm(bias.unsqueeze(1), X, weight)

    @staticmethod
    def backward(ctx, grad):
        X, weight, bias = ctx.saved_tensors
        grad_X = torch.bmm(grad, weight.transpose(1, 2)) if ctx.needs_input_grad[0] else None
        if ctx.needs_input_grad[1]:
            _write_grad(weight, lambda out: torch.bmm(X.transpose(1, 2), grad, out=out))
        if bias is not None and ctx.needs_input_grad[2]:
            _write_grad(bias, lambda out: torch.sum(grad, dim=1, out=out))
        return grad_X, None, None


def _write_grad(param: torch.Tensor, compute) -> None:
    if param.grad is None or param.grad.shape != param.shape:
        param.grad = compute(None)
    else:
        compute(param.grad)


class PackedLinear(nn.Module):
    """A linear layer of every member at once: ``X`` of shape (members,
    rows, in) times the members' weights, kept as (members, in, out), plus
    their biases (members, out); tabm's way to batch an ensemble's layers."""

    def __init__(self, bias: bool):
        super().__init__()
        # the pack's stacked tensors, bound by the pack (not parameters of this copy)
        self.weight: torch.Tensor | None = None
        self.bias: torch.Tensor | None = None
        self.has_bias = bias

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if torch.is_autocast_enabled(X.device.type):  # autograd's own backward casts
            if self.bias is None:
                return torch.bmm(X, self.weight)
            return torch.baddbmm(self.bias.unsqueeze(1), X, self.weight)
        return _Affine.apply(X, self.weight, self.bias)


#: Modules whose forward is the same with a leading members dimension: a
#: network of only these (and linear and dropout layers) runs packed without
#: vmap, as one batched matrix product per layer.
_ROWWISE = (
    MultiTaskModule,
    MLPTrunk,
    nn.Sequential,
    nn.ModuleList,
    nn.Identity,
    nn.ReLU,
    nn.GELU,
    nn.SiLU,
    nn.Tanh,
    nn.Sigmoid,
    nn.LeakyReLU,
    nn.ELU,
    nn.Mish,
)


def _replace(template: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = template.get_submodule(parent_name) if parent_name else template
    setattr(parent, child, new)


def _batched_template(module: nn.Module) -> nn.Module | None:
    """A copy of ``module`` that runs all members at once on (members, rows,
    ...) inputs, or None where it holds a layer that may not (vmap then),
    or a layer it uses twice (its gradient is written, not summed)."""
    if len(list(module.named_modules(remove_duplicate=False))) != len(list(module.modules())):
        return None
    for sub in module.modules():
        if not (type(sub) in _ROWWISE or type(sub) is nn.Linear or isinstance(sub, nn.Dropout)):
            return None
    template = copy.deepcopy(module)
    for name, sub in list(template.named_modules()):
        if type(sub) is nn.Linear:
            _replace(template, name, PackedLinear(sub.bias is not None))
        elif isinstance(sub, nn.Dropout):
            _replace(template, name, MaskedDropout())
    return template


def _mask_levels(p: float) -> tuple[int, float]:
    """:func:`skmtl.nn.mask_levels`, also where ``p`` rounds to keeping all
    (every draw kept) or, within 1/131072 of 1, to none (all but 1/65536)."""
    levels = mask_levels(p)
    if levels is not None:
        return levels
    return (-32768, 1.0) if p < 0.5 else (32767, 65536.0)


def _dropouts(module: nn.Module) -> list[str]:
    return [name for name, sub in module.named_modules() if isinstance(sub, nn.Dropout)]


def dropout_anchors(module: nn.Module) -> dict[int, float]:
    """Each dropout layer's rate, keyed by how many other modules precede it.

    Members that differ only in their dropout layers (skmtl's MLP has none
    at ``dropout=0``) have the same other modules in the same order, so the
    count names the same place in each, where layer names do not (a
    ``Sequential`` numbers its layers)."""
    anchors, seen = {}, 0
    for sub in module.modules():
        if isinstance(sub, nn.Dropout):
            anchors[seen] = float(sub.p)
        else:
            seen += 1
    return anchors


def _state(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [*module.named_parameters(), *module.named_buffers()]


def _template(module: nn.Module, dropouts: Sequence[str]) -> nn.Module:
    """A copy of ``module`` whose dropout layers take their masks as buffers."""
    template = copy.deepcopy(module)
    for name in dropouts:
        _replace(template, name, MaskedDropout())
    return template


def _dry_run(module: nn.Module, sample: torch.Tensor, hooks: dict) -> None:
    """One forward of ``sample`` in eval mode without gradients, with
    ``hooks[name]`` as a forward hook of the submodule it names; the module
    (a member, in train mode) is left in train mode."""
    named = dict(module.named_modules())
    handles = [named[name].register_forward_hook(hook) for name, hook in hooks.items()]
    try:
        with torch.no_grad():
            module.eval()
            module(sample)
    finally:
        for handle in handles:
            handle.remove()
        module.train()


def member_bytes(module: nn.Module, X: torch.Tensor, batch_size: int) -> int:
    """About the memory one member of a pack takes in a training step: its
    weights five times (weights, gradient, Adam's two moments, Adam's
    scratch step) and the outputs of its layers for a batch, three times
    (activation, gradient, mask)."""
    weights = sum(p.numel() * p.element_size() for p in module.parameters())
    outputs = []

    def count(_module, _inputs, output):
        if isinstance(output, torch.Tensor):
            outputs.append(output.numel() * output.element_size())

    leaves = [name for name, m in module.named_modules() if not list(m.children())]
    _dry_run(module, X[:1], dict.fromkeys(leaves, count))
    return 5 * weights + 3 * batch_size * sum(outputs)


def _mask_shapes(module: nn.Module, dropouts: Sequence[str], sample: torch.Tensor) -> dict:
    """The shape of one row's input to each dropout layer."""
    shapes = {}

    def shape_of(name):
        return lambda _module, inputs, _output: shapes.__setitem__(name, inputs[0].shape[1:])

    _dry_run(module, sample, {name: shape_of(name) for name in dropouts})
    return shapes


class _Pack:
    """The stacked state of the members still training: weights, Adam and
    the per-member settings, compacted as members stop."""

    def __init__(self, members: Sequence[PackMember], settings: PackSettings, X, Y):
        self.settings = settings
        self.X, self.Y = X, Y
        self.device = X.device
        # the network of the member with the most dropout layers runs them
        # all; a member without one of its layers drops at rate 0 there
        anchors = [dropout_anchors(m.module) for m in members]
        source = max(range(len(members)), key=lambda i: len(anchors[i]))
        first = members[source].module
        self.dropouts = _dropouts(first)
        self.batched = _batched_template(first)
        self.written = set()
        with settings.precision():
            # under autocast the batched layers leave the backward to autograd
            autocasting = torch.is_autocast_enabled(X.device.type)
        if self.batched is not None and not autocasting:
            self.written = {
                f"{name}.{p}" if name else p
                for name, sub in self.batched.named_modules()
                if isinstance(sub, PackedLinear)
                for p in ("weight", "bias")
            }
        self.template = self.batched or _template(first, self.dropouts)
        self.mask_shapes = _mask_shapes(first, self.dropouts, X[members[0].train_rows[:1]])
        # a linear layer's weight is kept transposed, (members, in, out): the
        # batched backward then writes its gradient in place, where the usual
        # layout costs a strided copy as large as the weights every step
        self.transposed = {
            f"{name}.weight" if name else "weight"
            for name, sub in first.named_modules()
            if isinstance(sub, nn.Linear)
        }
        # stacked by position: the members' names may differ where the source's do
        states = [_state(m.module) for m in members]
        self.names = [[k for k, _ in state] for state in states]
        n_params = len(list(first.parameters()))
        stacked = {
            name: torch.stack([state[j][1].detach() for state in states])
            for j, name in enumerate(self.names[source])
        }
        trains = [p.requires_grad for p in first.parameters()]  # a frozen layer stays frozen
        self.params = {
            k: (v.transpose(-1, -2) if k in self.transposed else v).contiguous().requires_grad_(t)
            for (k, v), t in zip(list(stacked.items())[:n_params], trains, strict=True)
        }
        self.buffers = dict(list(stacked.items())[n_params:])
        self._bind()
        self.ids = list(range(len(members)))  # positions in the caller's list
        placed = list(anchors[source])
        rates = [[a.get(k, 0.0) for k in placed] for a in anchors]
        self.rates = torch.tensor(rates, dtype=torch.float64).reshape(len(members), -1)
        self._mask_rates()
        self.lr = torch.tensor([m.lr for m in members], dtype=torch.float32, device=self.device)
        self.wd = torch.tensor(
            [m.weight_decay for m in members], dtype=torch.float32, device=self.device
        )
        self.weights = torch.stack([m.criterion.weights.to(self.device) for m in members])
        self._new_adam()

    def __len__(self) -> int:
        return len(self.ids)

    def _bind(self) -> None:
        """Give the batched network's linear layers the stacked weights."""
        if self.batched is None:
            return
        for name, sub in self.batched.named_modules():
            if isinstance(sub, PackedLinear):
                prefix = f"{name}." if name else ""
                sub.weight = self.params[f"{prefix}weight"]
                sub.bias = self.params[f"{prefix}bias"] if sub.has_bias else None

    def _new_adam(self) -> None:
        """torch's Adam at rate 1 and no weight decay, fused where torch has
        the kernel, over scratch tensors (``steps``) that :meth:`step` zeroes
        and reads."""
        self.steps = [torch.zeros_like(p) for p in self.params.values()]
        fused = self.device.type in ("cpu", "cuda")
        self.optimizer = torch.optim.Adam(
            self.steps,
            lr=1.0,
            betas=self.settings.betas,
            eps=self.settings.eps,
            fused=fused or None,
        )

    def keep(self, positions: list[int]) -> None:
        """Keep only the members at ``positions``: weights, buffers, Adam's state."""
        index = torch.as_tensor(positions, device=self.device)
        old = self.steps
        self.params = {
            k: v.detach()[index].clone().requires_grad_(v.requires_grad)
            for k, v in self.params.items()
        }
        self.buffers = {k: v[index].clone() for k, v in self.buffers.items()}
        state = [self.optimizer.state.get(p, {}) for p in old]
        self._new_adam()
        for p, kept in zip(self.steps, state, strict=True):
            if kept:
                self.optimizer.state[p] = {
                    k: (v if v.ndim == 0 else v[index].clone()) for k, v in kept.items()
                }
        self.ids = [self.ids[i] for i in positions]
        self.names = [self.names[i] for i in positions]
        self._bind()
        self.rates = self.rates[positions]
        self._mask_rates()
        self.lr, self.wd, self.weights = self.lr[index], self.wd[index], self.weights[index]

    def state_of(self, position: int) -> dict[str, torch.Tensor]:
        """One member's weights and buffers, copied out of the pack, by the
        member's own names."""
        values = [
            (v.transpose(-1, -2) if k in self.transposed else v)[position].detach()
            for k, v in self.params.items()
        ]
        values += [v[position] for v in self.buffers.values()]
        return {
            name: value.contiguous().clone()
            for name, value in zip(self.names[position], values, strict=True)
        }

    def _mask_rates(self) -> None:
        """Each member's drop threshold among 16-bit draws and its keep scale,
        per dropout layer, as :class:`skmtl.nn.Dropout` draws them."""
        levels = [[_mask_levels(p) for p in row] for row in self.rates.tolist()]
        shape = self.rates.shape
        thresholds = [[t for t, _ in row] for row in levels]
        scales = [[s for _, s in row] for row in levels]
        self.thresholds = torch.tensor(thresholds, dtype=torch.int16).reshape(shape).to(self.device)
        self.scales = torch.tensor(scales, dtype=torch.float32).reshape(shape).to(self.device)

    def masks(self, batch: int) -> dict[str, torch.Tensor]:
        """Each dropout layer's masks for a step, every member at its own rate,
        from one draw of 64-bit numbers for all layers, four 16-bit draws from
        each; the kept values scaled by the exact inverse of the keep
        probability (as :class:`skmtl.nn.Dropout`)."""
        m = len(self)
        shapes = [(m, batch, *self.mask_shapes[name]) for name in self.dropouts]
        sizes = [math.prod(shape) for shape in shapes]
        bits = torch.empty((sum(sizes) + 3) // 4, dtype=torch.int64, device=self.device)
        draws = bits.random_(-(2**63), None).view(torch.int16)
        masks, start = {}, 0
        for j, (name, shape, n) in enumerate(zip(self.dropouts, shapes, sizes, strict=True)):
            view = (m,) + (1,) * (len(shape) - 1)
            kept = draws[start : start + n].view(shape) >= self.thresholds[:, j].view(view)
            masks[f"{name}.mask"] = kept.to(torch.float32).mul_(self.scales[:, j].view(view))
            start += n
        return masks

    def forward(self, X: torch.Tensor, masks: dict | None) -> list[torch.Tensor]:
        """All members' outputs for their rows ``X`` (members first)."""
        buffers = dict(self.buffers)
        if masks is None:
            empty = torch.empty(len(self), 0, device=self.device)
            buffers.update({f"{name}.mask": empty for name in self.dropouts})
        else:
            buffers.update(masks)
        if self.batched is not None:
            for name in self.dropouts:
                self.batched.get_submodule(name).mask = buffers[f"{name}.mask"]
            # in train mode throughout: an empty mask is what turns dropout off,
            # and a module may read a 3-D input in eval mode as an ensemble's
            with self.settings.precision():
                out = self.batched(X)
            return list(out) if isinstance(out, (list, tuple)) else [out]
        self.template.train(masks is not None)

        def one(params, buffers, x):
            return functional_call(self.template, (params, buffers), (x,))

        weights = {
            k: (v.transpose(-1, -2) if k in self.transposed else v) for k, v in self.params.items()
        }
        with self.settings.precision():
            out = vmap(one)(weights, buffers, X)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    def step(self, lr: torch.Tensor) -> None:
        """Adam's step for every member at its own rate ``lr`` (0: no step):
        decoupled weight decay (AdamW), or weight decay added to the
        gradient (Adam). torch's Adam at rate 1 writes each element's step
        into zeroed scratch tensors; each member's rate scales it."""
        params = list(self.params.values())
        shapes = [(len(self),) + (1,) * (p.ndim - 1) for p in params]
        with torch.no_grad():
            if not self.settings.decoupled:
                for p, shape in zip(params, shapes, strict=True):
                    if p.grad is not None:
                        p.grad.add_(p * self.wd.view(shape))
            torch._foreach_zero_(self.steps)
            for scratch, p in zip(self.steps, params, strict=True):
                scratch.grad = p.grad
            self.optimizer.step()  # scratch = -(Adam's unit step)
            keep = 1 - lr * self.wd if self.settings.decoupled else torch.ones_like(lr)
            # p = p (1 - lr wd) + lr * scratch; a weight without a gradient is
            # left alone, as torch's optimizers leave it (no decay either)
            for p, scratch, shape in zip(params, self.steps, shapes, strict=True):
                if scratch.grad is not None:
                    p.mul_(keep.view(shape)).addcmul_(scratch, lr.view(shape))
                scratch.grad = None
            for name, p in self.params.items():
                if name not in self.written:  # the others' next gradients overwrite these
                    p.grad = None


def _unlabel(y: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
    missing = float("nan") if y.is_floating_point() else MISSING
    return y.masked_fill(pad.unsqueeze(-1), missing)


def _padded(rows: Sequence[torch.Tensor], device) -> tuple[torch.Tensor, torch.Tensor]:
    """The members' row lists as one (members, longest) index and its padding mask."""
    longest = max(len(r) for r in rows)
    index = torch.zeros(len(rows), longest, dtype=torch.long, device=device)
    pad = torch.ones(len(rows), longest, dtype=torch.bool, device=device)
    for i, r in enumerate(rows):
        index[i] = r[0]  # padding reads one of the member's own rows, never another's
        index[i, : len(r)] = r
        pad[i, : len(r)] = False
    return index, pad


def _evaluate(pack: _Pack, criterion, rows, settings, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Each member's validation loss (the sum of its weighted task losses
    over its rows) and mean per-task accuracy (NaN without a classified task)."""
    index, pad = _padded(rows, pack.device)
    n_tasks = pack.weights.shape[1]
    sums = torch.zeros(len(pack), n_tasks, device=pack.device)
    counts = torch.zeros_like(sums)
    hits = torch.zeros_like(sums)
    with torch.no_grad():
        for start in range(0, index.shape[1], chunk):
            idx, p = index[:, start : start + chunk], pad[:, start : start + chunk]
            y = _unlabel(pack.Y[idx], p)
            outputs = pack.forward(pack.X[idx], None)
            n = labelled(y).sum(dim=1).float()
            sums += criterion.member_task_losses(outputs, y) * n
            counts += n
            for t, out in enumerate(outputs):
                if not settings.classification[t]:
                    continue
                if out.ndim == 4:  # a packed ensemble: (members, rows, k, classes)
                    out = out.float().softmax(-1).mean(dim=2)
                codes = y[..., t]
                known = labelled(codes)
                right = (out.argmax(dim=-1) == codes.long()) & known
                hits[:, t] += right.sum(dim=1).float()
    loss = (pack.weights * sums / counts.clamp(min=1)).sum(dim=1)
    classified = torch.tensor(settings.classification, device=pack.device)
    acc = torch.where(counts > 0, hits / counts.clamp(min=1), torch.nan)[:, classified]
    acc_np = acc.cpu().numpy()
    mean_acc = np.full(len(pack), np.nan)
    if acc_np.shape[1]:
        seen = ~np.isnan(acc_np).all(axis=1)
        mean_acc[seen] = np.nanmean(acc_np[seen], axis=1)
    return loss.cpu().numpy(), mean_acc


def train_packed(
    members: Sequence[PackMember],
    X: torch.Tensor,
    Y: torch.Tensor,
    settings: PackSettings,
    *,
    eval_rows: int = 8192,
) -> list[PackOutcome]:
    """Train ``members`` (networks of one shape) as one packed network.

    Parameters
    ----------
    members : sequence of PackMember
    X, Y : torch.Tensor
        Every member's rows, on the training device: the network's input
        and the encoded targets (class codes, ``MISSING`` for no label; or
        floats, NaN for no label).
    settings : PackSettings
    eval_rows : int
        Rows per member in one validation forward.

    Returns
    -------
    list of PackOutcome
        In the order of ``members``.
    """
    steps = {math.ceil(len(m.train_rows) / settings.batch_size) for m in members}
    if len(steps) > 1:
        raise ValueError(
            "The members of a pack must take as many steps an epoch (their Adam step count "
            f"is one); these take {sorted(steps)}. Pack them apart."
        )
    pack = _Pack(members, settings, X, Y)
    criterion = members[0].criterion
    weightings = [m.weighting for m in members]
    # a weighting whose combine is a weighted sum until the epoch's end
    # weighs every such member's losses at once
    plain = [w.fixed_weights() is not None for w in weightings]
    outcomes: list[PackOutcome | None] = [None] * len(members)
    histories: list[list[dict]] = [[] for _ in members]
    best: list[tuple[float, int]] = [(math.inf, 0)] * len(members)
    best_states: dict[int, dict] = {}
    generators = []
    for m in members:
        g = torch.Generator(device="cpu")
        g.manual_seed(int(m.seed))
        generators.append(g)
    batch = settings.batch_size
    lower = settings.lower_is_better
    epoch = 0
    while len(pack):
        active = pack.ids
        factors = [
            decay_factor(members[i].decay, epoch, members[i].epochs) if members[i].decay else 1.0
            for i in active
        ]
        lr_epoch = pack.lr * torch.tensor(factors, dtype=torch.float32, device=pack.device)
        summing = torch.tensor([plain[i] for i in active], device=pack.device)
        fixed = torch.stack(
            [
                weightings[i].fixed_weights().to(pack.device) if plain[i] else pack.weights[j]
                for j, i in enumerate(active)
            ]
        ).float()
        orders = [
            members[i].train_rows[
                torch.randperm(len(members[i].train_rows), generator=generators[i]).to(
                    members[i].train_rows.device
                )
            ]
            for i in active
        ]
        index, pad = _padded(orders, pack.device)
        n_steps = math.ceil(index.shape[1] / batch)
        width = n_steps * batch
        if index.shape[1] < width:
            extra = width - index.shape[1]
            index = torch.cat([index, index[:, :1].expand(-1, extra)], dim=1)
            pad = torch.nn.functional.pad(pad, (0, extra), value=True)
        n_tasks = pack.weights.shape[1]
        sums = torch.zeros(len(pack), n_tasks, device=pack.device)
        counts = torch.zeros_like(sums)
        for s in range(n_steps):
            idx, p = index[:, s * batch : (s + 1) * batch], pad[:, s * batch : (s + 1) * batch]
            y = _unlabel(pack.Y[idx], p)
            outputs = pack.forward(pack.X[idx], pack.masks(batch))
            n = labelled(y).sum(dim=1)
            raw = criterion.member_task_losses(outputs, y)
            losses = pack.weights * raw
            # the members that sum their task losses, at once; the others one by one
            objective = (fixed * losses)[summing].sum() if summing.any() else 0.0
            if not summing.all():
                present = (n > 0) & (pack.weights > 0)
                for j, i in enumerate(active):
                    if not summing[j]:
                        w = weightings[i]
                        objective = objective + w.combine(
                            losses[j], present[j] if w.uses_presence else None
                        )
            objective.backward()
            pack.step(lr_epoch)
            sums += raw.detach() * n
            counts += n
        epoch += 1
        train_task = sums / counts.clamp(min=1)  # each task's mean, unweighted
        train_loss = (pack.weights * train_task).sum(dim=1).cpu().numpy()
        for j, i in enumerate(active):
            weightings[i].end_epoch(train_task[j], counts[j] > 0)
        watched = [members[i].valid_rows is not None for i in active]
        valid_loss = valid_acc = np.full(len(pack), np.nan)
        if any(watched):
            rows = [
                members[i].valid_rows if watched[j] else members[i].train_rows[:1]
                for j, i in enumerate(active)
            ]
            valid_loss, valid_acc = _evaluate(
                pack, criterion, rows, settings, max(1, eval_rows // max(1, len(pack)))
            )
        # a sum is finite only where every weight is: one read of the weights
        totals = torch.stack([v.detach().flatten(1).sum(dim=1) for v in pack.params.values()])
        finite = torch.isfinite(totals).all(dim=0).cpu().numpy()
        done = []
        for j, i in enumerate(active):
            row = {"epoch": epoch, "train_loss": float(train_loss[j])}
            if watched[j]:
                row["valid_loss"] = float(valid_loss[j])
                row["valid_acc"] = float(valid_acc[j])
            histories[i].append(row)
            diverged = not (np.isfinite(train_loss[j]) and finite[j])
            stop = diverged or epoch >= members[i].epochs
            patience = members[i].patience
            if watched[j] and not diverged:
                score = row.get(settings.monitor, math.nan)
                score = score if lower else -score
                if score == score and score < best[i][0]:
                    best[i] = (score, epoch)
                    if members[i].keep_best:
                        best_states[i] = pack.state_of(j)
                if patience is not None and epoch - best[i][1] >= patience:
                    stop = True
            if stop:
                state = best_states.pop(i, None) if members[i].keep_best else None
                outcomes[i] = PackOutcome(
                    state=state if state is not None else pack.state_of(j),
                    history=histories[i],
                    epochs=epoch,
                    best_epoch=best_epochs(histories[i], settings.monitor, lower),
                    diverged=diverged,
                )
                done.append(j)
        if done:
            left = [j for j in range(len(pack)) if j not in done]
            if left:
                pack.keep(left)
            else:
                break
    return outcomes
