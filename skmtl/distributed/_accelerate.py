"""Training across processes and GPUs with Hugging Face Accelerate.

skorch's answer to several GPUs (or several CPU processes) is
``skorch.hf.AccelerateMixin``: Accelerate prepares the network for
distributed data parallel training (DDP), and every process runs the same
fit. :class:`AcceleratedMultiTaskClassifier` and
:class:`AcceleratedMultiTaskRegressor` are skmtl's estimators with that
mixin and what it needs to know of them:

* the fast data path shards each training batch: every process reads its
  own ``1 / n_processes`` of the batch's rows (:class:`~skmtl.data.TensorBatches`'
  ``shard``), and DDP averages the gradients, so ``batch_size`` is the
  effective batch of all processes together;
* the training step is skmtl's (masked per-task losses, the task
  weighting, the per-task history), back-propagated by ``accelerator.backward``;
* validation and prediction run whole in every process (no gather), so
  every process scores and predicts alike;
* the network is placed on ``accelerator.device``.

Task weightings that combine per-task gradients (``"pcgrad"``, ``"mgda"``,
``"gradnorm"``) or learn weights of their own cut the network at the shared
representation or train a second module, which DDP's gradient averaging
does not cover: they are refused, as is the affinity sampling
(``affinity_every`` is 0 here).
"""

from __future__ import annotations

from skorch.hf import AccelerateMixin

from ..data import TensorBatches
from ..estimators import BaseMultiTaskNet, MultiTaskClassifier, MultiTaskRegressor
from ..training import train_step


class _Accelerated(AccelerateMixin):
    """What the two accelerated estimators add to skorch's ``AccelerateMixin``."""

    def __init__(
        self,
        module=None,
        *,
        accelerator,
        device="auto",
        affinity_every=0,
        bag_folds=None,
        **kwargs,
    ):
        super().__init__(
            module,
            accelerator=accelerator,
            device=device,
            affinity_every=affinity_every,
            bag_folds=bag_folds,
            **kwargs,
        )

    def _check_bag(self) -> None:
        raise ValueError(
            f"bag_folds={self.bag_folds!r}: a bag trains its networks one after another "
            "and joins them outside the accelerator; leave bag_folds=None for distributed "
            "training, or fit the bag in one process."
        )

    @property
    def device(self):
        """The accelerator's device, unless ``device`` names another one."""
        device = self.__dict__.get("device")
        if device is None or device == "auto":
            return self.accelerator.device
        return device

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    def get_params(self, deep: bool = True, **kwargs) -> dict:
        return {**super().get_params(deep=deep, **kwargs), "device": self.__dict__["device"]}

    def _get_param_names(self):
        # the mixin's bookkeeping, which __init__ sets anew: clone must not
        # pass it back (skorch's own classes get away with it by accident)
        return [k for k in super()._get_param_names() if k != "_wrapped_with_accelerator"]

    def _validate_params(self):
        # skorch's check, without the mixin's demand for device=None: the
        # network and the fast data path go to the accelerator's device
        super(AccelerateMixin, self)._validate_params()

    def _initialize_callbacks(self):
        # the mixin prints through accelerator.print (the main process only);
        # skorch's PrintLog prints to any sink but ``print`` whatever ``verbose``
        # says, so with verbose=0 the sink stays ``print`` and nothing prints
        if self.callbacks__print_log__sink == "auto" and not self.verbose:
            self.callbacks__print_log__sink = print
        return super()._initialize_callbacks()

    def _initialize_accelerator(self):
        # the network and the optimizer only: skmtl's criteria train no
        # parameter here (initialize_criterion refuses a weighting that does),
        # and DDP refuses a module without one
        if self._wrapped_with_accelerator:
            return self
        self.module_ = self.accelerator.prepare(self.module_)
        self.optimizer_ = self.accelerator.prepare(self.optimizer_)
        self._wrapped_with_accelerator = True
        return self

    def initialize_criterion(self):
        super().initialize_criterion()
        weighting = self.weighting_
        learnable = any(p.requires_grad for p in weighting.parameters())
        if weighting.per_task_gradients or learnable:
            raise ValueError(
                f"task_weighting={self.task_weighting!r} "
                + (
                    "combines per-task gradients"
                    if weighting.per_task_gradients
                    else "learns weights of its own"
                )
                + ", which distributed training does not average across processes; "
                "use task_weighting='equal', 'dwa' or task_weights={task: weight}, or "
                "train in one process."
            )
        if self.affinity_every:
            raise ValueError(
                f"affinity_every={self.affinity_every!r}: the task affinity cuts the network "
                "at the shared representation, outside distributed training; leave "
                "affinity_every=0, or measure the affinity in one process."
            )
        return self

    def train_step_single(self, batch, **fit_params):
        """skorch hook: skmtl's training step, back-propagated by ``accelerator.backward``."""
        custom_loss = type(self).get_loss is not BaseMultiTaskNet.get_loss
        with self.accelerator.autocast():
            return train_step(
                self,
                batch,
                custom_loss=custom_loss,
                backward=self.accelerator.backward,
                **fit_params,
            )

    def get_iterator(self, dataset, training=False):
        """skorch hook: the fast path's training batches, sharded across the processes."""
        iterator = super().get_iterator(dataset, training=training)
        processes = self.accelerator.num_processes
        if training and isinstance(iterator, TensorBatches) and processes > 1:
            iterator.shard = (self.accelerator.process_index, processes)
        return iterator

    def evaluation_step(self, batch, training=False):
        """skorch hook: every process evaluates the whole batch (validation and
        prediction are not sharded, so nothing is gathered)."""
        return super(AccelerateMixin, self).evaluation_step(batch, training=training)


_DOC = """{summary}

    Parameters
    ----------
    module : torch.nn.Module class or instance, optional
        As :class:`~skmtl.{base}`.
    accelerator : accelerate.Accelerator
        ``Accelerator()`` (``Accelerator(cpu=True)`` for CPU processes), in a
        script started with ``torchrun`` or ``accelerate launch``: every
        process runs the same fit.
    device : "auto", None or torch device, default="auto"
        ``"auto"`` and ``None``: the accelerator's device.
    affinity_every : 0
        The task affinity is not sampled in a distributed fit.
    bag_folds : None
        A distributed fit trains one network.
    **kwargs
        The parameters of :class:`~skmtl.{base}` (``batch_size`` is the
        batch of all processes together) and of skorch's
        ``AccelerateMixin`` (``unwrap_after_train``).

    Examples
    --------
    In one process it fits as :class:`~skmtl.{base}`; started as
    ``torchrun --nproc_per_node 2 train.py``, each process trains on its
    half of every batch:

    >>> from accelerate import Accelerator
    >>> from skmtl.distributed import {name}
    >>> from skmtl.datasets import load_penguins
    >>> X, Y = load_penguins(return_X_y=True)
    >>> X = X.fillna(X.mean())
    >>> {example}
    >>> model = {name}(accelerator=Accelerator(cpu=True), max_epochs=2, random_state=0)
    >>> sorted(model.fit(X, Y).predict(X.iloc[:3]))
    {tasks}
    """


class AcceleratedMultiTaskClassifier(_Accelerated, MultiTaskClassifier):
    __doc__ = _DOC.format(
        summary=":class:`~skmtl.MultiTaskClassifier` trained across processes with Accelerate.",
        base="MultiTaskClassifier",
        name="AcceleratedMultiTaskClassifier",
        example="Y = Y[['species', 'island']]",
        tasks="['island', 'species']",
    )


class AcceleratedMultiTaskRegressor(_Accelerated, MultiTaskRegressor):
    __doc__ = _DOC.format(
        summary=":class:`~skmtl.MultiTaskRegressor` trained across processes with Accelerate.",
        base="MultiTaskRegressor",
        name="AcceleratedMultiTaskRegressor",
        example="X, Y = X[['bill_depth_mm', 'flipper_length_mm']], X[['bill_length_mm']]",
        tasks="['bill_length_mm']",
    )
