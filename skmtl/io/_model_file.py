"""``skmtl.save`` and ``skmtl.load``: a model file that loads without unpickling.

The file is one zip archive:

* ``config.json``: the estimator's class and parameters, the tasks, task
  types and classes, the fitted preprocessing (the feature scaler's fitted
  attributes, the embedded columns), the history and the versions that wrote it;
* ``model.safetensors``: the network's weights (with its fit digest), the loss
  module's and the task weighting's state, and the scaler's arrays;
* ``optimizer.safetensors`` (optional): the optimizer's state, to train on;
* ``pipeline.skops`` (for a Pipeline): the scikit-learn steps before the
  estimator, stored with :mod:`skops.io`, whose loader checks their types.

Loading builds objects only from an allowlist: skmtl's estimators, splitters
and weightings, torch's losses, optimizers and activations, scikit-learn's
scalers and skorch's callbacks. Any other class named in the file (a custom
trunk, a callable) is built only when the caller passes it, as
``trusted=[MyCNN]`` or as the parameter itself (``module=MyCNN``); anything
else is refused with an error that names it, before it is imported.
"""

from __future__ import annotations

import inspect
import json
import warnings
import zipfile
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import sklearn
import skorch
import skorch.callbacks
import torch
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MaxAbsScaler, QuantileTransformer, RobustScaler, StandardScaler
from skorch.history import History

from .. import _version
from ..data import TabularQuantileTransformer, restore_scaler
from ..estimators import BaseMultiTaskNet, MultiTaskClassifier, MultiTaskRegressor, multi_task_model
from ..estimators._fitted_state import DIGEST, KEPT, fit_digest, warn_other_version
from ..estimators._pipeline import _categories_as_strings
from ..nn import STRATEGIES
from ..targets import TaskEncoder
from ..training import MultiTaskValidSplit
from ..utils import write_atomically

FORMAT = "skmtl-model"
FORMAT_VERSION = 1
_SCALERS = (
    TabularQuantileTransformer,
    QuantileTransformer,
    StandardScaler,
    RobustScaler,
    MaxAbsScaler,
)


def _path(obj) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


#: Where skmtl's modules of 0.1.0 moved (files written then name their classes so).
_MOVED = {
    "skmtl.classifier": "skmtl.estimators._classifier",
    "skmtl.regressor": "skmtl.estimators._regressor",
    "skmtl.split": "skmtl.training._valid_split",
    "skmtl.weighting": "skmtl.nn._weighting",
    "skmtl.scaling": "skmtl.data._scaling",
    "skmtl.modules": "skmtl.nn._modules",
    "skmtl.experts": "skmtl.nn._experts",
    "skmtl.losses": "skmtl.nn._losses",
    "skmtl.callbacks": "skmtl.training._callbacks",
    "skmtl.history": "skmtl.training._task_history",
}


def _moved(path: str) -> str:
    """A class path as it is now, for a file that names a module's old place."""
    module, _, name = path.rpartition(".")
    return f"{_MOVED.get(module, module)}.{name}"


def _allowlist() -> dict[str, Any]:
    """The classes a file may name without the caller's trust."""
    nn, optim = torch.nn, torch.optim
    allowed = [
        MultiTaskClassifier,
        MultiTaskRegressor,
        MultiTaskValidSplit,
        *STRATEGIES.values(),
        *(nn.CrossEntropyLoss, nn.MSELoss, nn.L1Loss, nn.HuberLoss, nn.SmoothL1Loss),
        *(nn.ReLU, nn.GELU, nn.SiLU, nn.Mish, nn.Tanh, nn.LeakyReLU, nn.ELU, nn.Sigmoid),
        *(optim.Adam, optim.AdamW, optim.SGD, optim.RMSprop, optim.Adagrad, optim.Adamax),
        *(optim.NAdam, optim.RAdam),
        torch.utils.data.DataLoader,
        skorch.dataset.Dataset,
        skorch.dataset.ValidSplit,
        *(getattr(skorch.callbacks, name) for name in skorch.callbacks.__all__),
        *_SCALERS,
    ]
    return {_path(obj): obj for obj in allowed if isinstance(obj, type)}


# ------------------------------------------------------------ values <-> JSON


def _encode(value, where: str):
    """A parameter value as JSON: plain values as they are, containers and
    classes tagged, objects as their class and constructor arguments."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating, np.bool_)):
        return value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (list, tuple)):
        items = [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return items if isinstance(value, list) else {"__tuple__": items}
    if isinstance(value, Mapping):
        return {
            "__dict__": [
                [_encode(k, where), _encode(v, f"{where}[{k!r}]")] for k, v in value.items()
            ]
        }
    if isinstance(value, np.ndarray):
        return _encode_array(value, where)
    if isinstance(value, type) or inspect.isfunction(value):
        return {"__class__": _path(value)}
    if isinstance(value, torch.nn.Module):  # weights are in the file; the object is not
        return {"__instance__": _path(type(value))}
    return {"__object__": _path(type(value)), "params": _encode(_init_args(value, where), where)}


def _init_args(obj, where: str) -> dict:
    if hasattr(obj, "get_params"):
        return obj.get_params(deep=False)
    names = [
        p.name
        for p in inspect.signature(type(obj)).parameters.values()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    missing = [name for name in names if not hasattr(obj, name)]
    if missing:
        raise ValueError(
            f"skmtl.save cannot store {where}={obj!r}: it does not keep its "
            f"constructor arguments {missing}. Use pickle for this estimator."
        )
    return {name: getattr(obj, name) for name in names}


def _encode_array(array: np.ndarray, where: str) -> dict:
    if array.dtype.kind not in "biufUO":
        raise ValueError(f"skmtl.save cannot store {where} of dtype {array.dtype}; use pickle.")
    values = [_label(v, where) for v in array.ravel().tolist()]
    return {"__array__": values, "dtype": str(array.dtype), "shape": list(array.shape)}


def _label(value, where: str):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"skmtl.save cannot store {where}: it holds a {type(value).__name__} label "
        f"({value!r}); labels must be str, int, float or bool. Use pickle."
    )


class _Decoder:
    """Turns JSON back into values, building classes only from the allowlist
    and what the caller trusts."""

    def __init__(self, trusted: Iterable):
        self.known = _allowlist()
        self.known.update({_path(obj): obj for obj in trusted})

    def resolve(self, path: str, where: str):
        path = _moved(path)
        if path not in self.known:
            raise ValueError(
                f"The model file names {path!r} (for {where}), which skmtl.load does not "
                f"build unless you trust it: pass trusted=[{path.rsplit('.', 1)[-1]}] "
                "(the class itself), or the parameter, e.g. module=MyTrunk. Nothing "
                "from the file was imported or run."
            )
        return self.known[path]

    def __call__(self, value, where: str):
        if isinstance(value, list):
            return [self(v, where) for v in value]
        if not isinstance(value, dict):
            return value
        if "__tuple__" in value:
            return tuple(self(v, where) for v in value["__tuple__"])
        if "__dict__" in value:
            return {_hashable(self(k, where)): self(v, where) for k, v in value["__dict__"]}
        if "__array__" in value:
            return _decode_array(value)
        if "__class__" in value:
            return self.resolve(value["__class__"], where)
        if "__object__" in value:
            cls = self.resolve(value["__object__"], where)
            return cls(**self(value["params"], where))
        if "__instance__" in value:
            raise ValueError(
                f"The model was saved with {where} set to an instance of "
                f"{value['__instance__']!r}, which the file cannot rebuild: pass it to "
                f"skmtl.load, e.g. skmtl.load(path, {where}=MyTrunk(...)); its weights "
                "come from the file."
            )
        raise ValueError(f"The model file has an unreadable value for {where}: {value!r}.")


def _hashable(key):
    return tuple(key) if isinstance(key, list) else key


def _decode_array(value: dict) -> np.ndarray:
    dtype = np.dtype(value["dtype"])
    if dtype.kind == "O":
        array = np.empty(len(value["__array__"]), dtype=object)
        array[:] = value["__array__"]
    else:
        array = np.asarray(value["__array__"], dtype=dtype)
    return array.reshape(value["shape"])


def _encode_dtype(dtype) -> Any:
    if isinstance(dtype, pd.CategoricalDtype):
        categories = np.asarray(dtype.categories)
        return {"categories": _encode_array(categories, "a categorical"), "ordered": dtype.ordered}
    return str(dtype)


def _decode_dtype(value):
    if isinstance(value, dict):
        return pd.CategoricalDtype(_decode_array(value["categories"]), value["ordered"])
    return pd.api.types.pandas_dtype(value)


# ------------------------------------------------------------------ save


def _versions() -> dict[str, str]:
    return {
        "skmtl": _version.__version__,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
        "skorch": skorch.__version__,
        "numpy": np.__version__,
    }


def _split_pipeline(obj):
    estimator = multi_task_model(obj, "skmtl.save")
    if estimator is obj:
        return None, None, estimator
    name = obj.steps[-1][0]
    return Pipeline(obj.steps[:-1], memory=obj.memory, verbose=obj.verbose), name, estimator


def _plain(value):
    """A NumPy scalar as the Python number it holds, for JSON."""
    return value.item() if isinstance(value, np.generic) else value


def _fitted_state(net, tensors: dict) -> dict:
    encoder = net.target_encoder_.fitted_state()
    scaler = net.feature_scaler_
    array_dtype = encoder["array_dtype_"]
    state = {
        "kind": encoder["kind_"],
        "tasks": _encode(list(encoder["tasks_"]), "tasks"),
        "types": _encode(dict(encoder["types_"]), "task types"),
        "classes": _encode(dict(encoder["classes_"]), "classes"),
        "center": _encode(dict(encoder["center_"]), "regression centers"),
        "scale": _encode(dict(encoder["scale_"]), "regression scales"),
        "dtypes": _encode({t: _encode_dtype(d) for t, d in encoder["dtypes_"].items()}, "dtypes"),
        "array_dtype": None if array_dtype is None else str(array_dtype),
        # the estimator's kept values, under their names without the "_"
        **{name[:-1]: _encode(_plain(getattr(net, name, None)), name) for name in KEPT},
        "scaler": None,
    }
    if scaler is not None:
        attributes = {}
        for key, value in vars(scaler).items():
            if not key.endswith("_") or key.startswith("_"):
                continue
            if isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
                tensors[f"scaler.{key}"] = torch.from_numpy(np.ascontiguousarray(value))
                attributes[key] = {"__tensor__": f"scaler.{key}", "dtype": str(value.dtype)}
            else:
                attributes[key] = _encode(value, f"feature_scaler_.{key}")
        state["scaler"] = {
            "class": _path(type(scaler)),
            "params": _encode(scaler.get_params(), "feature_scaler_"),
            "attributes": attributes,
        }
    return state


def _stateful(net) -> list[tuple[str, torch.nn.Module]]:
    """The net's torch modules whose state the file holds, with their prefixes."""
    return [("module", net.module_), ("criterion", net.criterion_), ("weighting", net.weighting_)]


def _module_tensors(net) -> dict[str, torch.Tensor]:
    tensors = {}
    for prefix, module in _stateful(net):
        for key, value in module.state_dict().items():
            tensors[f"{prefix}.{key}"] = value.detach().cpu().contiguous()
    return tensors


def _optimizer_parts(optimizer) -> tuple[dict, dict]:
    state = optimizer.state_dict()
    tensors, plain = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                plain[f"{index}.{key}"] = value
    return tensors, {"param_groups": _encode(state["param_groups"], "optimizer"), "state": plain}


def save(obj, path, *, optimizer: bool = True) -> None:
    """Save a fitted estimator, or a Pipeline ending in one, as a safe model file.

    Parameters
    ----------
    obj : MultiTaskClassifier, MultiTaskRegressor or Pipeline
        Fitted. A Pipeline's scikit-learn steps are stored with
        :mod:`skops.io` (``pip install skmtl[safe]``). An estimator of
        :mod:`skmtl.distributed` is stored as the ``MultiTaskClassifier`` or
        ``MultiTaskRegressor`` whose network it trained (``load`` gives that
        one-process estimator).
    path : str or path-like or binary file
        Where to write the zip archive. A path is replaced only once the new
        file is complete and on disk: if the save fails (a full disk, an
        interrupt), a file already there is left as it was and no partial
        file remains. An open binary file receives the archive in one write.
    optimizer : bool, default=True
        Also store the optimizer's state, so that the loaded model trains on
        (``partial_fit``) as the saved one would.

    Examples
    --------
    >>> import skmtl
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl.datasets import load_penguins
    >>> X, Y = load_penguins(return_X_y=True)
    >>> X = X.fillna(X.mean())
    >>> clf = MultiTaskClassifier(max_epochs=2, random_state=0).fit(X, Y)
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "penguins.skmtl")
    >>> skmtl.save(clf, path)
    >>> same = skmtl.load(path)
    >>> (same.predict_proba(X)["species"] == clf.predict_proba(X)["species"]).all()
    np.True_
    """
    from safetensors.torch import save as save_tensors

    head, step_name, net = _split_pipeline(obj)
    cls, params = _stored_estimator(net)
    tensors = _module_tensors(net)
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "estimator": _path(cls),
        "params": _encode(params, "params"),
        "fitted": _fitted_state(net, tensors),
        "history": net.history.to_list(),
        "pipeline_step": step_name,
    }
    files = {"model.safetensors": save_tensors(tensors)}
    if optimizer:
        opt_tensors, config["optimizer"] = _optimizer_parts(net.optimizer_)
        files["optimizer.safetensors"] = save_tensors(opt_tensors)
    if head is not None and head.steps:
        import skops.io

        files["pipeline.skops"] = skops.io.dumps(head)
    text = json.dumps(config, indent=1)

    def write(file) -> None:
        with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("config.json", text)
            for name, data in files.items():
                archive.writestr(name, data)

    # a failed or interrupted save leaves the file already at ``path`` as it was
    write_atomically(path, write)


#: What ``skorch.hf.AccelerateMixin`` adds to an estimator's parameters: the
#: machine's, not the model's.
_ACCELERATE_PARAMS = ("accelerator", "unwrap_after_train", "callbacks__print_log__sink")


def _stored_estimator(net) -> tuple[type, dict]:
    """The class and parameters a model file names. An estimator that trained
    with Accelerate (:mod:`skmtl.distributed`) is stored as its one-process
    class, whose network it trained: the accelerator belongs to the run."""
    params = {k: v for k, v in net.get_params(deep=False).items() if k != "_params_to_validate"}
    if "accelerator" not in params:
        return type(net), params
    if getattr(net, "_wrapped_with_accelerator", False):
        raise ValueError(
            f"skmtl.save cannot store this {type(net).__name__}: its network is still "
            "the accelerator's (unwrap_after_train=False). Fit with unwrap_after_train=True "
            "(the default) to save it."
        )
    cls = next(c for c in type(net).__mro__ if c in (MultiTaskClassifier, MultiTaskRegressor))
    for name in _ACCELERATE_PARAMS:
        params.pop(name, None)
    return cls, params


# ------------------------------------------------------------------ load


def _read(path) -> tuple[dict, dict[str, bytes]]:
    try:
        with zipfile.ZipFile(path) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise ValueError(
            f"{path!r} is not a skmtl model file (not a readable zip: {exc})."
        ) from exc
    try:
        config = json.loads(files["config.json"])
    except (KeyError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path!r} has no readable config.json: {exc!r}.") from exc
    if config.get("format") != FORMAT or config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path!r} is not a skmtl model file of format version {FORMAT_VERSION} "
            f"(format={config.get('format')!r}, version={config.get('format_version')!r})."
        )
    return config, files


def _tensors(files: dict, name: str) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load as load_tensors

    try:
        return load_tensors(files[name])
    except (KeyError, SafetensorError, ValueError, RuntimeError) as exc:
        raise ValueError(f"The model file's {name} is missing or damaged: {exc}.") from exc


def _rebuild_scaler(state: dict | None, decode: _Decoder, tensors: dict):
    if state is None:
        return None
    cls = decode.resolve(state["class"], "feature_scaler_")
    if cls not in _SCALERS:
        raise ValueError(
            f"The model file's feature scaler {state['class']!r} is not one of skmtl's."
        )
    attributes = {}
    for key, value in state["attributes"].items():
        if isinstance(value, dict) and "__tensor__" in value:
            value = tensors[value["__tensor__"]].numpy().astype(value["dtype"])
        else:
            value = decode(value, f"feature_scaler_.{key}")
        attributes[key] = value
    return restore_scaler(cls, decode(state["params"], "feature_scaler_"), attributes)


def _restore_fitted(net, fitted: dict, decode: _Decoder, tensors: dict) -> None:
    array_dtype = fitted["array_dtype"]
    dtypes = decode(fitted["dtypes"], "dtypes")
    encoder = TaskEncoder.from_fitted(
        {
            "kind_": fitted["kind"],
            "tasks_": decode(fitted["tasks"], "tasks"),
            "types_": decode(fitted["types"], "task types"),
            "classes_": decode(fitted["classes"], "classes"),
            "center_": decode(fitted["center"], "regression centers"),
            "scale_": decode(fitted["scale"], "regression scales"),
            "dtypes_": {t: _decode_dtype(d) for t, d in dtypes.items()},
            "array_dtype_": None if array_dtype is None else np.dtype(array_dtype),
        },
        task_names=net.task_names,
        classes=net.classes,
        task_types=net.task_types,
        default_type=net._default_task_type,
    )
    kept = {name: decode(fitted.get(name[:-1]), name) for name in KEPT}
    scaler = _rebuild_scaler(fitted["scaler"], decode, tensors)
    net._restore_fitted(encoder, scaler, kept)


def _load_state(module: torch.nn.Module, tensors: dict, prefix: str) -> None:
    state = {k[len(prefix) + 1 :]: v for k, v in tensors.items() if k.startswith(prefix + ".")}
    expected = module.state_dict()
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    shapes = [
        f"{k} {tuple(state[k].shape)} (the network has {tuple(expected[k].shape)})"
        for k in sorted(set(state) & set(expected))
        if state[k].shape != expected[k].shape
    ]
    if missing or extra or shapes:
        raise ValueError(
            f"The model file's {prefix} tensors do not match the network rebuilt from its "
            f"config: missing {missing}, unexpected {extra}, other shapes {shapes}. The "
            "file is damaged, or was saved with another trunk than the one passed."
        )
    module.load_state_dict(state)


def _restore_optimizer(net, config: dict, files: dict, decode: _Decoder) -> None:
    tensors = _tensors(files, "optimizer.safetensors")
    saved = config["optimizer"]
    state: dict = {}
    for key, value in [*tensors.items(), *saved["state"].items()]:
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value
    groups = decode(saved["param_groups"], "optimizer")
    try:
        net.optimizer_.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as exc:
        raise ValueError(
            f"The model file's optimizer state does not fit the network: {exc}"
        ) from exc


def load(path, *, trusted: Iterable[type | Callable] | None = None, **params):
    """Load what :func:`save` wrote, without unpickling anything.

    Parameters
    ----------
    path : str or path-like or binary file
    trusted : list of classes or callables, optional
        Classes the file may name beyond skmtl's allowlist: a custom trunk
        (``trusted=[MyCNN]``), a callable parameter, or a scikit-learn step
        type that :mod:`skops.io` does not trust by default.
    **params
        Parameters of the estimator that replace the saved ones, e.g.
        ``module=MyCNN`` (which is then trusted) or ``device="cpu"``.

    Returns
    -------
    MultiTaskClassifier, MultiTaskRegressor or Pipeline
        Fitted, predicting as the saved object did.

    Raises
    ------
    ValueError
        For a file that is not a skmtl model file, is damaged, names a class
        that is neither allowlisted nor trusted, or whose tensors do not match
        the network rebuilt from its configuration.

    Examples
    --------
    >>> import os, tempfile
    >>> import skmtl
    >>> from skmtl import MultiTaskClassifier
    >>> from skmtl.datasets import load_penguins
    >>> X, Y = load_penguins(return_X_y=True)
    >>> X = X.fillna(X.mean())
    >>> clf = MultiTaskClassifier(max_epochs=2, random_state=0).fit(X, Y)
    >>> path = os.path.join(tempfile.mkdtemp(), "penguins.skmtl")
    >>> skmtl.save(clf, path)
    >>> same = skmtl.load(path, device="cpu")  # a saved parameter replaced
    >>> same.device, same.tasks_
    ('cpu', ['species', 'sex', 'island'])
    >>> bool((same.predict(X) == clf.predict(X)).all().all())
    True

    Anything but a skmtl model file is refused:

    >>> with open(path, "wb") as f:
    ...     _ = f.write(b"not a model")
    >>> skmtl.load(path)
    Traceback (most recent call last):
    ...
    ValueError: '...penguins.skmtl' is not a skmtl model file (not a readable zip: ...).
    """
    trusted = list(trusted or [])
    trusted += [v for v in params.values() if isinstance(v, type) or inspect.isfunction(v)]
    config, files = _read(path)
    decode = _Decoder(trusted)
    cls = decode.resolve(config["estimator"], "the estimator")
    if not (isinstance(cls, type) and issubclass(cls, BaseMultiTaskNet)):
        raise ValueError(f"The model file's estimator {config['estimator']!r} is not skmtl's.")
    warn_other_version(config.get("versions", {}).get("skmtl", "unknown"), cls.__name__)
    encoded = dict(config["params"]["__dict__"])
    # an overridden parameter is not decoded: the caller's value replaces it
    saved = {name: decode(value, name) for name, value in encoded.items() if name not in params}
    kwargs = {**saved, **params}
    if kwargs.get("device") not in (None, "auto", "cpu") and not torch.cuda.is_available():
        warnings.warn(
            f"The model was saved for device={kwargs['device']!r}, which is not "
            "available; it is loaded on the CPU.",
            UserWarning,
            stacklevel=2,
        )
        kwargs["device"] = "cpu"
    net = cls(**kwargs)
    tensors = _tensors(files, "model.safetensors")
    _restore_fitted(net, config["fitted"], decode, tensors)
    net.initialize()
    for prefix, module in _stateful(net):
        _load_state(module, tensors, prefix)
    if not torch.equal(getattr(net.module_, DIGEST).cpu(), fit_digest(net)):
        raise ValueError(
            "The model file's preprocessing state (config.json) does not match the digest "
            "stored with its weights: the file was edited or damaged."
        )
    if "optimizer" in config and "optimizer.safetensors" in files:
        _restore_optimizer(net, config, files, decode)
    net._restore_history(History(config["history"]))
    if config["pipeline_step"] is None:
        return net
    if "pipeline.skops" not in files:
        return Pipeline([(config["pipeline_step"], net)])
    return _load_pipeline(files["pipeline.skops"], config["pipeline_step"], net, trusted)


#: What the steps of the pipelines skmtl's docs build hold beyond skops's own
#: trust: a dtype (SimpleImputer's, OneHotEncoder's), which is data, and the
#: function of ``make_tabular_pipeline``, which is skmtl's own code.
_STEP_TYPES = {"numpy.dtype", _path(_categories_as_strings)}


def _load_pipeline(blob: bytes, step_name: Hashable, net, trusted: list) -> Pipeline:
    import skops.io

    untrusted = skops.io.get_untrusted_types(data=blob)
    allowed = {_path(obj) for obj in trusted} | _STEP_TYPES
    refused = [name for name in untrusted if name not in allowed]
    if refused:
        raise ValueError(
            f"The model file's pipeline steps hold types that skops does not trust by "
            f"default: {refused}. Pass them as trusted=[...] if you trust this file."
        )
    head = skops.io.loads(blob, trusted=[name for name in untrusted if name in allowed])
    return Pipeline([*head.steps, (step_name, net)], memory=head.memory, verbose=head.verbose)
