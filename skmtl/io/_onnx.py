"""Export a fitted estimator, or a Pipeline ending in one, to ONNX.

:func:`to_onnx` writes the whole inference path into one ONNX graph: the
fitted ``feature_scaler_`` as tensor operations, the network (``module_`` in
eval mode) and, per task, a softmax and an argmax (classification) or the
restored units (regression). The graph is built by wrapping these steps in
one ``torch.nn.Module`` and exporting it with ``torch.onnx.export``
(TorchScript exporter). A Pipeline goes through skl2onnx, which converts the
scikit-learn steps and, through a converter registered here, embeds the
estimator's graph.

Needs the ``onnx`` extra: ``pip install skmtl[onnx]`` (onnx, onnxruntime,
onnxscript and skl2onnx).
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import torch
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from sklearn.utils.validation import check_is_fitted
from torch import nn

from .. import _version
from ..estimators import (
    BaseMultiTaskNet,
    MultiTaskClassifier,
    MultiTaskRegressor,
    multi_task_model,
)
from ..utils import write_atomically

if TYPE_CHECKING:  # pragma: no cover
    import onnx

__all__ = ["to_onnx"]

#: The ONNX opset of the exported graphs (the TorchScript exporter reaches 20).
OPSET = 18
_TORCH_MAX_OPSET = 20
_EXTRA = "pip install skmtl[onnx]"
#: skl2onnx's name for the estimators' converter.
_ALIAS = "SkmtlMultiTaskNet"


def _require(name: str):
    """Import ``name``, or an ImportError naming the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ImportError(
            f"skmtl.to_onnx needs the package {name!r}, which is not installed; "
            f"install the ONNX extra: {_EXTRA}"
        ) from exc


# ---------------------------------------------------------------- feature scaling


class _Affine(nn.Module):
    """``(X - center) / scale`` per column on float32 ``X``, each step computed
    in ``dtype`` and rounded to float32, as scikit-learn's scalers do
    (StandardScaler in float32, RobustScaler and MaxAbsScaler with their
    float64 or float32 statistics)."""

    def __init__(self, center, scale, dtype: torch.dtype = torch.float64):
        super().__init__()
        self.centred, self.scaled, self.dtype = center is not None, scale is not None, dtype
        self.register_buffer("center", None if center is None else _double(center).to(dtype))
        self.register_buffer("scale", None if scale is None else _double(scale).to(dtype))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if self.centred:
            X = (X.to(self.dtype) - self.center).float()
        if self.scaled:
            X = (X.to(self.dtype) / self.scale).float()
        return X


def _double(values) -> torch.Tensor:
    return torch.as_tensor(np.asarray(values, dtype=np.float64))


# Wichura (1988), Algorithm AS 241 (PPND16): the standard normal quantile to
# about 1e-16 relative accuracy, as two rational functions. Its third branch,
# for p < exp(-25), is never reached: the quantile map clips p first.
_CENTRAL_NUM = (
    3.3871328727963666080e0,
    1.3314166789178437745e2,
    1.9715909503065514427e3,
    1.3731693765509461125e4,
    4.5921953931549871457e4,
    6.7265770927008700853e4,
    3.3430575583588128105e4,
    2.5090809287301226727e3,
)
_CENTRAL_DEN = (
    1.0,
    4.2313330701600911252e1,
    6.8718700749205790830e2,
    5.3941960214247511077e3,
    2.1213794301586595867e4,
    3.9307895800092710610e4,
    2.8729085735721942674e4,
    5.2264952788528545610e3,
)
_TAIL_NUM = (
    1.42343711074968357734e0,
    4.63033784615654529590e0,
    5.76949722146069140550e0,
    3.64784832476320460504e0,
    1.27045825245236838258e0,
    2.41780725177450611770e-1,
    2.27238449892691845833e-2,
    7.74545014278341407640e-4,
)
_TAIL_DEN = (
    1.0,
    2.05319162663775882187e0,
    1.67638483018380384940e0,
    6.89767334985100004550e-1,
    1.48103976427480074590e-1,
    1.51986665636164571966e-2,
    5.47593808499534494600e-4,
    1.05075007164441684324e-9,
)


def _polynomial(coefficients: tuple[float, ...], x: torch.Tensor) -> torch.Tensor:
    out = torch.full_like(x, coefficients[-1])
    for c in coefficients[-2::-1]:
        out = out * x + c
    return out


def normal_quantile(p: torch.Tensor) -> torch.Tensor:
    """The standard normal quantile (``scipy.special.ndtri``) of float64 ``p``
    in ``[exp(-25), 1 - exp(-25)]``, in ONNX-exportable torch operations."""
    q = p - 0.5
    r = 0.180625 - q * q
    central = q * _polynomial(_CENTRAL_NUM, r) / _polynomial(_CENTRAL_DEN, r)
    t = torch.sqrt(-torch.log(torch.minimum(p, 1.0 - p))) - 1.6
    tail = _polynomial(_TAIL_NUM, t) / _polynomial(_TAIL_DEN, t)
    return torch.where(q.abs() <= 0.425, central, torch.where(q < 0, -tail, tail))


class _Interpolation(nn.Module):
    """``np.interp(x, xp[:, j], fp)`` for every column ``j`` of ``x``, with
    the same branches as NumPy's (left and right values, exact knots,
    repeated knots), in float64.

    The knot of each value is found by a binary search unrolled into
    ``log2(n_knots)`` gathers, so memory grows as ``batch * n_features``.
    """

    def __init__(self, xp: np.ndarray, fp: np.ndarray):
        super().__init__()
        xp, fp = np.asarray(xp, dtype=np.float64), np.asarray(fp, dtype=np.float64)
        if len(xp) == 1:  # one knot: a constant, as np.interp gives
            xp, fp = np.repeat(xp, 2, axis=0), np.repeat(fp, 2)
        self.n_knots, self.n_features = xp.shape
        self.register_buffer("knots", _double(xp.reshape(-1)))  # (knot, column) row-major
        self.register_buffer("values", _double(fp))
        self.register_buffer("columns", torch.arange(self.n_features))

    def _knot(self, index: torch.Tensor) -> torch.Tensor:
        return self.knots[index * self.n_features + self.columns]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.n_knots
        # count = #{k : xp[k] <= x}, the largest c with xp[c - 1] <= x
        count = torch.zeros_like(x, dtype=torch.long)
        step = 1 << (n.bit_length() - 1)
        while step:
            candidate = count + step
            knot = self._knot(torch.clamp(candidate, 1, n) - 1)
            count = torch.where((candidate <= n) & (knot <= x), candidate, count)
            step >>= 1
        j = torch.clamp(count - 1, 0, n - 2)
        x0, x1 = self._knot(j), self._knot(j + 1)
        y0, y1 = self.values[j], self.values[j + 1]
        width = torch.where(x1 > x0, x1 - x0, torch.ones_like(x0))
        inner = (y1 - y0) / width * (x - x0) + y0
        inner = torch.where(x0 == x, y0, inner)
        out = torch.where(count >= n, self.values[n - 1], inner)
        return torch.where(count == 0, self.values[0], out)


#: scikit-learn's ``BOUNDS_THRESHOLD`` in QuantileTransformer.
_BOUNDS = 1e-7


class _QuantileMap(nn.Module):
    """scikit-learn's ``QuantileTransformer.transform`` on float32 ``X``.

    Per column: the mean of the forward and the backward piecewise-linear
    interpolation of the quantiles (which averages repeated quantiles),
    rounded to float32 as scikit-learn stores it; values within
    ``BOUNDS_THRESHOLD`` of the extreme quantiles set to 0 and 1; for
    ``output_distribution="normal"`` the normal quantile of that, clipped
    as scikit-learn clips it.
    """

    def __init__(self, scaler: QuantileTransformer):
        super().__init__()
        quantiles = np.asarray(scaler.quantiles_, dtype=np.float64)
        references = np.asarray(scaler.references_, dtype=np.float64)
        self.normal = scaler.output_distribution == "normal"
        self.forward_map = _Interpolation(quantiles, references)
        self.backward_map = _Interpolation(-quantiles[::-1], -references[::-1])
        self.register_buffer("lowest", _double(quantiles[0]))
        self.register_buffer("highest", _double(quantiles[-1]))
        # scikit-learn's clip: norm.ppf of BOUNDS_THRESHOLD - spacing(1) and its mirror
        self.p_low = _BOUNDS - float(np.spacing(1))
        self.p_high = 1.0 - self.p_low
        low = normal_quantile(torch.tensor(self.p_low, dtype=torch.float64))
        self.z_low, self.z_high = float(low), -float(low)
        passthrough = getattr(scaler, "passthrough_", None)  # TabularQuantileTransformer
        self.register_buffer(
            "passthrough",
            None if passthrough is None or not passthrough.any() else torch.as_tensor(passthrough),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        x = X.double()
        u = (0.5 * (self.forward_map(x) - self.backward_map(-x))).float()
        if self.normal:
            upper = (X + _BOUNDS).double() > self.highest
            lower = (X - _BOUNDS).double() < self.lowest
        else:
            upper, lower = x == self.highest, x == self.lowest
        u = torch.where(upper, torch.ones_like(u), u)
        u = torch.where(lower, torch.zeros_like(u), u)
        if self.normal:
            p = torch.clamp(u.double(), self.p_low, self.p_high)
            u = torch.clamp(normal_quantile(p), self.z_low, self.z_high).float()
        return u if self.passthrough is None else torch.where(self.passthrough, X, u)


def scaler_module(scaler) -> nn.Module | None:
    """The fitted ``feature_scaler_`` as a torch module on float32 ``X``, or
    ``None`` for no scaling."""
    if scaler is None:
        return None
    if isinstance(scaler, QuantileTransformer):
        return _QuantileMap(scaler)
    if isinstance(scaler, StandardScaler):
        # scikit-learn casts mean_ and scale_ to X's dtype, float32
        center = scaler.mean_ if scaler.with_mean else None
        return _Affine(center, scaler.scale_ if scaler.with_std else None, torch.float32)
    if isinstance(scaler, RobustScaler):
        return _Affine(
            scaler.center_ if scaler.with_centering else None,
            scaler.scale_ if scaler.with_scaling else None,
        )
    if isinstance(scaler, MaxAbsScaler):
        return _Affine(None, scaler.scale_)
    raise TypeError(
        f"to_onnx exports the feature scalers QuantileTransformer, StandardScaler, "
        f"RobustScaler and MaxAbsScaler; feature_scaler_ is a {type(scaler).__name__}."
    )


# ------------------------------------------------------------------- the graph


def _onnx_name(task) -> str:
    """``str(task)`` as an ONNX identifier: every other character becomes ``_``."""
    return re.sub(r"[^0-9A-Za-z_]", "_", str(task)) or "_"


def _task_outputs(net) -> list[dict]:
    """Per task, in order: its type, the names of its ONNX outputs and what
    the graph needs to compute them."""
    encoder = net.target_encoder_
    used: set[str] = set()
    tasks = []
    for task in encoder.tasks_:
        base = _onnx_name(task)
        regression = encoder.types_[task] == "regression"
        prefixes = ("value",) if regression else ("proba", "label")
        k = 1
        while any(f"{p}_{base}" in used for p in prefixes):  # e.g. tasks "a b" and "a_b"
            k += 1
            base = f"{_onnx_name(task)}_{k}"
        names = [f"{p}_{base}" for p in prefixes]
        used.update(names)
        entry = {"task": task, "type": encoder.types_[task], "outputs": names}
        if regression:
            entry["center"], entry["scale"] = encoder.center_[task], encoder.scale_[task]
        else:
            entry["classes"] = encoder.classes_[task]
        tasks.append(entry)
    return tasks


class _InferenceGraph(nn.Module):
    """Scaling, network, and per task a softmax and argmax, or restored units."""

    def __init__(self, scaling: nn.Module | None, network: nn.Module, tasks: list[dict]):
        super().__init__()
        self.scaling = scaling
        self.network = network
        self.heads = [
            None if t["type"] == "classification" else (t["center"], t["scale"]) for t in tasks
        ]

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.scaling is not None:
            X = self.scaling(X)
        outputs = []
        for logits, units in zip(self.network(X), self.heads, strict=True):
            if units is None:
                outputs += [torch.softmax(logits.float(), dim=1), logits.argmax(dim=1)]
            else:
                center, scale = units
                outputs.append((logits[:, 0].double() * scale + center).float())
        return tuple(outputs)


def _input_shape(net) -> tuple[int, ...]:
    return tuple(getattr(net, "input_shape_", (net.n_features_in_,)))


def _estimator_graph(net, opset: int = OPSET) -> onnx.ModelProto:
    """The ONNX graph of a fitted estimator: input ``X``, outputs per task."""
    onnx = _require("onnx")
    tasks = _task_outputs(net)
    module = copy.deepcopy(net.module_).to("cpu").float().eval()
    graph = _InferenceGraph(scaler_module(net.feature_scaler_), module, tasks).eval()
    names = [name for t in tasks for name in t["outputs"]]
    example = torch.zeros(2, *_input_shape(net))
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            # the TorchScript exporter warns that it is deprecated
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            torch.onnx.export(
                graph,
                (example,),
                buffer,
                dynamo=False,
                opset_version=min(opset, _TORCH_MAX_OPSET),
                input_names=["X"],
                output_names=names,
                dynamic_axes={name: {0: "batch"} for name in ["X", *names]},
                do_constant_folding=True,
            )
    except Exception as exc:
        raise RuntimeError(
            f"torch.onnx.export could not export the network of {type(net).__name__} "
            f"({type(net.module_).__name__}): {exc}. Every operation of a custom "
            "module must be exportable to ONNX."
        ) from exc
    model = onnx.load_from_string(buffer.getvalue())
    _describe(model, net, tasks)
    return model


def _describe(model, net, tasks: list[dict], what: str | None = None) -> None:
    """Producer, documentation and the task table as metadata of ``model``."""
    model.producer_name = "skmtl"
    model.producer_version = _version.__version__
    model.doc_string = (
        f"{what or type(net).__name__}: feature scaling, network and per-task outputs "
        "(proba_<task> and label_<task>, an index into the task's classes; "
        "value_<task> in the units of the targets)."
    )
    table = [
        {
            "task": str(t["task"]),
            "type": t["type"],
            "outputs": t["outputs"],
            **({"classes": np.asarray(t["classes"]).tolist()} if "classes" in t else {}),
        }
        for t in tasks
    ]
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = "skmtl_tasks", json.dumps(table, default=str)


# ------------------------------------------------------------------- pipelines


def _output_types(net, n_rows):
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType

    types = []
    for t in _task_outputs(net):
        if t["type"] == "classification":
            types += [FloatTensorType([n_rows, len(t["classes"])]), Int64TensorType([n_rows])]
        else:
            types.append(FloatTensorType([n_rows]))
    return [(n, ty) for n, ty in zip(_flat_names(net), types, strict=True)]


def _flat_names(net) -> list[str]:
    return [name for t in _task_outputs(net) for name in t["outputs"]]


def _parse(scope, model, inputs, custom_parsers=None):
    """skl2onnx parser: the estimator as one operator with our outputs."""
    operator = scope.declare_local_operator(_ALIAS, model)
    operator.inputs = inputs
    for name, ty in _output_types(model, None):
        operator.outputs.append(scope.declare_local_variable(name, ty))
    return operator.outputs


def _shape(operator) -> None:
    """skl2onnx shape calculator."""
    n_rows = operator.inputs[0].get_first_dimension() if operator.inputs else None
    for variable, (_, ty) in zip(
        operator.outputs, _output_types(operator.raw_operator, n_rows), strict=True
    ):
        variable.type = ty


def _width(variable) -> int | None:
    shape = getattr(variable.type, "shape", None)
    return shape[1] if shape is not None and len(shape) == 2 and shape[1] else None


def _convert(scope, operator, container) -> None:
    """skl2onnx converter: the estimator's ONNX graph, renamed into the container."""
    from onnx import TensorProto, helper

    net = operator.raw_operator
    widths = [_width(variable) for variable in operator.inputs]
    if None not in widths and sum(widths) != net.n_features_in_:
        raise ValueError(
            f"the steps in front of {type(net).__name__} give {sum(widths)} columns in "
            f"ONNX, but it was fitted on {net.n_features_in_}: skl2onnx converts one of "
            "them differently from scikit-learn"
        )
    opset = container.target_opset or OPSET
    graph = _without_omitted_inputs(_estimator_graph(net, opset=opset)).graph
    # the estimator's input: the previous steps' outputs, as one float32 table
    names = []
    for variable in operator.inputs:
        name = variable.full_name
        if getattr(variable.type, "to_onnx_type", None) is not None:
            elem = variable.type.to_onnx_type().tensor_type.elem_type
            if elem != TensorProto.FLOAT:
                cast = scope.get_unique_variable_name(f"{name}_float")
                node = scope.get_unique_operator_name("Cast")
                container.add_node("Cast", [name], [cast], to=TensorProto.FLOAT, name=node)
                name = cast
        names.append(name)
    source = names[0]
    if len(names) > 1:
        source = scope.get_unique_variable_name("skmtl_X")
        container.add_node(
            "Concat", names, [source], axis=1, name=scope.get_unique_operator_name("Concat")
        )
    rename = {"": "", graph.input[0].name: source}
    for value, variable in zip(graph.output, operator.outputs, strict=True):
        rename[value.name] = variable.full_name

    def renamed(name: str) -> str:
        if name not in rename:
            rename[name] = scope.get_unique_variable_name(f"skmtl_{name}")
        return rename[name]

    for tensor in graph.initializer:
        copied = TensorProto()
        copied.CopyFrom(tensor)
        copied.name = renamed(tensor.name)
        container.initializers.append(copied)
    for node in graph.node:
        if any(a.type in (a.GRAPH, a.GRAPHS) for a in node.attribute):
            raise NotImplementedError(
                f"The exported network has a {node.op_type} node with a subgraph; "
                "to_onnx cannot embed it in a pipeline. Export the estimator alone."
            )
        copied = helper.make_node(
            node.op_type,
            [renamed(n) for n in node.input],
            [renamed(n) for n in node.output],
            name=scope.get_unique_operator_name(node.op_type),
            domain=node.domain or None,
        )
        copied.attribute.extend(node.attribute)
        container.nodes.append(copied)
    container.node_domain_version_pair_sets.add(("", min(opset, _TORCH_MAX_OPSET)))


def _without_omitted_inputs(model):
    """``model`` with no omitted optional input (an empty name), which skl2onnx
    cannot place in its graph: trailing ones are dropped, and a ``Clip``
    without a lower bound gets the lowest value of its type."""
    from onnx import TensorProto, helper, numpy_helper, shape_inference

    types = None
    for node in model.graph.node:
        while node.input and not node.input[-1]:
            node.input.pop()
        if all(node.input):
            continue
        if node.op_type != "Clip":
            raise NotImplementedError(
                f"The exported network has a {node.op_type} node with an omitted "
                "optional input, which skl2onnx cannot embed in a pipeline. Export the "
                "estimator alone with to_onnx and apply the other steps before it."
            )
        if types is None:
            inferred = shape_inference.infer_shapes(model).graph
            values = [*inferred.value_info, *inferred.input, *inferred.output]
            types = {v.name: v.type.tensor_type.elem_type for v in values}
            types.update({t.name: t.data_type for t in model.graph.initializer})
        dtype = helper.tensor_dtype_to_np_dtype(types.get(node.input[0], TensorProto.FLOAT))
        lowest = -np.inf if dtype.kind == "f" else np.iinfo(dtype).min
        bound = numpy_helper.from_array(np.array(lowest, dtype=dtype), f"{node.output[0]}_min")
        model.graph.initializer.append(bound)
        node.input[1] = bound.name
    return model


def _register_converters() -> None:
    """Register the estimators with skl2onnx (parser, shape calculator, converter)."""
    from skl2onnx import update_registered_converter

    for cls in (MultiTaskClassifier, MultiTaskRegressor):
        update_registered_converter(cls, _ALIAS, _shape, _convert, parser=_parse)


def _convertible_types() -> dict:
    try:
        from skl2onnx._supported_operators import sklearn_operator_name_map
    except ImportError:  # pragma: no cover (a future skl2onnx)
        return {}
    return sklearn_operator_name_map


def _supported_transformers() -> str:
    """The scikit-learn transformers of features that skl2onnx converts."""
    composites = (Pipeline, ColumnTransformer, FeatureUnion)
    names = sorted(
        {
            cls.__name__
            for cls in _convertible_types()
            if isinstance(cls, type)
            and hasattr(cls, "transform")
            and not issubclass(cls, composites)
            and not hasattr(cls, "predict")  # clusterers, selectors wrapping a model
            and cls.__module__.startswith("sklearn.")
            and not cls.__name__.startswith("Label")  # encoders of y
        }
    )
    return ", ".join(names)


def _unconvertible(step, path: str) -> list[tuple[str, Any, str]]:
    """The steps under ``step`` that skl2onnx cannot convert: (path, step, why)."""
    if step is None or isinstance(step, str):  # "passthrough", "drop"
        return []
    if isinstance(step, Pipeline):
        return [bad for name, sub in step.steps for bad in _unconvertible(sub, f"{path} > {name}")]
    if isinstance(step, ColumnTransformer):
        parts = step.transformers_ if hasattr(step, "transformers_") else step.transformers
        return [bad for name, sub, _ in parts for bad in _unconvertible(sub, f"{path} > {name}")]
    if isinstance(step, FeatureUnion):
        return [
            bad
            for name, sub in step.transformer_list
            for bad in _unconvertible(sub, f"{path} > {name}")
        ]
    if isinstance(step, BaseMultiTaskNet):
        return []
    known = _convertible_types()
    if known and type(step) not in known:
        return [(path, step, "skl2onnx has no converter for it")]
    if isinstance(step, FunctionTransformer) and step.func is not None:
        return [(path, step, "skl2onnx converts a FunctionTransformer only without a func")]
    if getattr(step, "add_indicator", False):
        return [(path, step, "skl2onnx converts it without the missing-indicator columns")]
    return []


def _check_convertible(pipeline: Pipeline) -> None:
    bad = [b for name, step in pipeline.steps[:-1] for b in _unconvertible(step, name)]
    if bad:
        what = "; ".join(f"step {p!r} ({type(s).__name__}): {why}" for p, s, why in bad)
        raise ValueError(
            f"to_onnx cannot convert this pipeline: {what}. The scikit-learn steps in "
            "front of the estimator must be ones skl2onnx converts: Pipeline, "
            "ColumnTransformer and FeatureUnion of the transformers "
            f"{_supported_transformers()} (FunctionTransformer only without a func; "
            "see skl2onnx.supported_converters()). Apply the other steps to X before "
            "the pipeline, or replace them."
        )


def _selects_by_name(step) -> bool:
    if isinstance(step, Pipeline):
        return bool(step.steps) and _selects_by_name(step.steps[0][1])
    if isinstance(step, ColumnTransformer):
        parts = step.transformers_ if hasattr(step, "transformers_") else step.transformers
        for _, _, columns in parts:
            values = [columns] if isinstance(columns, str) else np.ravel(columns).tolist()
            if any(isinstance(c, str) for c in values):
                return True
    return False


def _tensor_type(dtype, shape):
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_float_dtype(dtype):
        return FloatTensorType(shape)
    if pd.api.types.is_integer_dtype(dtype):
        return Int64TensorType(shape)
    return StringTensorType(shape)


def _initial_types(pipeline: Pipeline, X) -> list:
    if X is None:
        if _selects_by_name(pipeline):
            raise ValueError(
                "This pipeline selects columns by name, so its ONNX graph takes one "
                "input per column, typed like the column: pass a few rows of the "
                "training data as to_onnx(pipeline, X=X_train.head())."
            )
        width = getattr(pipeline, "n_features_in_", None)
        return [("X", _tensor_type(np.float32, [None, width]))]
    if isinstance(X, pd.DataFrame):
        return [(str(c), _tensor_type(dtype, [None, 1])) for c, dtype in X.dtypes.items()]
    X = np.asarray(X)
    return [("X", _tensor_type(X.dtype, [None, X.shape[1] if X.ndim == 2 else None]))]


def _pipeline_graph(pipeline: Pipeline, X) -> onnx.ModelProto:
    _require("onnx")
    skl2onnx = _require("skl2onnx")
    _check_convertible(pipeline)
    if hasattr(net := pipeline.steps[-1][1], "input_shape_"):
        raise ValueError(
            f"{type(net).__name__} in this pipeline was fitted on N-D samples of shape "
            f"{net.input_shape_}, which scikit-learn steps do not make; export the "
            "estimator alone with to_onnx."
        )
    _register_converters()
    initial_types = _initial_types(pipeline, X)
    try:
        model = skl2onnx.convert_sklearn(pipeline, initial_types=initial_types, target_opset=OPSET)
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:
        raise ValueError(
            f"skl2onnx could not convert the pipeline {[n for n, _ in pipeline.steps]}: "
            f"{exc}. The scikit-learn steps in front of the estimator must be ones "
            "skl2onnx converts (see skl2onnx.supported_converters())."
        ) from exc
    _describe(model, net, _task_outputs(net), f"Pipeline ending in {type(net).__name__}")
    return model


# ------------------------------------------------------------------ public API


def to_onnx(
    obj: BaseMultiTaskNet | Pipeline,
    path: str | os.PathLike | None = None,
    *,
    X: pd.DataFrame | np.ndarray | None = None,
) -> onnx.ModelProto:
    """Export a fitted estimator, or a Pipeline ending in one, to ONNX.

    The graph holds the whole inference path: the fitted ``feature_scaler_``
    (the quantile map of ``QuantileTransformer``, reproduced to float32
    precision, or the standard, robust or max-abs scaling, or none), the
    network in eval mode, and per task a softmax (classification) or the
    restored units (regression). In a Pipeline the scikit-learn steps in
    front of the estimator are converted by skl2onnx.

    Parameters
    ----------
    obj : MultiTaskClassifier, MultiTaskRegressor or Pipeline
        Fitted; a Pipeline must end in one of the two estimators and its other
        steps must be convertible by skl2onnx (scalers, encoders, imputers,
        ``ColumnTransformer``, ...).
    path : str or path-like or binary file, optional
        Where to write the model as well. A path is replaced only once the
        new file is complete: a failed write leaves a file already there as
        it was, and no partial file.
    X : DataFrame or array, optional
        For a Pipeline only: a few rows of its input, to type the graph's
        inputs. A DataFrame gives one input per column, named after it, of
        shape ``(batch, 1)``: float32 for float and bool columns, int64 for
        integer columns, string otherwise (skl2onnx's convention). Needed
        when a ``ColumnTransformer`` selects columns by name. Without it the
        pipeline takes one float32 input ``X`` of ``n_features_in_`` columns.

    Returns
    -------
    onnx.ModelProto
        Input ``X``: float32 of shape ``(batch, n_features_in_)``, or
        ``(batch, *input_shape_)`` for a custom trunk on N-D samples; the
        batch dimension is dynamic. Outputs, per task in ``tasks_`` order:
        ``proba_<task>`` (float32 ``(batch, n_classes)``, columns in
        ``classes_[task]`` order) and ``label_<task>`` (int64 ``(batch,)``,
        the index into ``classes_[task]`` of the most probable class) for a
        classification task; ``value_<task>`` (float32 ``(batch,)``, in the
        units of the targets) for a regression task. ``<task>`` is
        ``str(task)`` with every character other than letters, digits and
        ``_`` replaced by ``_`` (a suffix ``_2``, ... keeps names distinct).
        The metadata entry ``skmtl_tasks`` lists each task's outputs and
        classes as JSON.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the estimator is not fitted.
    TypeError
        If ``obj`` is not a skmtl estimator or a Pipeline ending in one.
    ValueError
        If a step of the Pipeline cannot be converted (the error names it).
    ImportError
        If ``onnx`` (or, for a Pipeline, ``skl2onnx``) is not installed:
        ``pip install skmtl[onnx]``.

    Notes
    -----
    The graph takes dense float32 ``X``: an estimator fitted on sparse
    ``X`` is exported too (its scaling is none or max-abs), but the model
    must be fed ``X.toarray()``. It does not check ``X`` for NaN, which the
    estimator refuses. Probabilities agree with ``predict_proba`` on the CPU
    to about 1e-6 and labels with ``predict``; on a GPU with
    ``mixed_precision`` the estimator computes in bfloat16 and agrees only
    to that precision. The quantile map finds each value's quantiles by a
    binary search (``log2(n_quantiles)`` gathers per value). The network is
    exported with ``torch.onnx.export``'s TorchScript exporter at opset 18:
    every operation of a custom ``module`` must be exportable.

    A Pipeline's graph takes its inputs as skl2onnx names them (``X``, or
    one ``(batch, 1)`` input per column), e.g. ``{"island":
    X[["island"]].to_numpy().astype(str), ...}``. Its first export registers
    the estimators with skl2onnx, so that ``skl2onnx.convert_sklearn``
    converts pipelines ending in them too.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl import to_onnx
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)).astype(np.float32)
    >>> Y = {"sign": X[:, 0] > 0, "size": np.where(X[:, 1] > 0.5, "big", "small")}
    >>> clf = MultiTaskClassifier(hidden_units=(16,), max_epochs=3, random_state=0).fit(X, Y)
    >>> model = to_onnx(clf)
    >>> [output.name for output in model.graph.output]
    ['proba_sign', 'label_sign', 'proba_size', 'label_size']
    >>> session = onnxruntime.InferenceSession(model.SerializeToString())
    >>> proba, label = session.run(["proba_size", "label_size"], {"X": X[:5]})
    >>> bool(np.abs(proba - clf.predict_proba(X[:5])["size"]).max() < 1e-5)
    True
    >>> clf.classes_["size"][label].tolist() == clf.predict(X[:5])["size"].tolist()
    True
    """
    net = multi_task_model(obj, "to_onnx")
    if isinstance(obj, Pipeline):
        check_is_fitted(obj)
        model = _pipeline_graph(obj, X)
    else:
        model = _estimator_graph(net)
    _require("onnx").checker.check_model(model)
    if path is not None:
        data = model.SerializeToString()
        # all or nothing: a failed write leaves a file already at ``path`` as it was
        write_atomically(path, lambda file: file.write(data))
    return model
