"""The estimators' fitted state, declared once, and what travels with it.

* :data:`FITTED` lists every attribute a fit sets besides skorch's own:
  a failed first fit forgets them all, a model file keeps the
  :data:`KEPT` values and rebuilds the :data:`PARTS`, and the fit digest
  reads the :data:`DIGESTED`. The estimator's own methods are the only
  writers of these attributes.
* Pickles record the skmtl version (:func:`stamp_version`) and warn with
  :class:`~skmtl.exceptions.InconsistentVersionWarning` when another version
  loads them (:func:`check_version`).
* skorch's ``save_params`` stores the module's ``state_dict`` only, while
  ``predict`` also depends on what ``fit`` learnt from the data (the feature
  scaler, the embedded columns, the tasks and classes). The network carries
  a digest of that state as a buffer (:func:`fit_digest`), so a params
  file travels with it; ``load_params`` refuses a file whose digest
  differs from the estimator's, and leaves the estimator as it was.
"""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import torch

from .. import _version
from ..exceptions import InconsistentVersionWarning

#: The torch objects a fit builds (weights in files, state dicts in checkpoints).
TRAINED = ("module_", "criterion_", "weighting_", "optimizer_")
#: Fitted parts that keep their own state and rebuild themselves from it.
PARTS = ("target_encoder_", "feature_scaler_")
#: Views of ``target_encoder_``: the task names, and each task's classes.
DERIVED = ("tasks_", "classes_")
#: The estimator's fitted values that a model file keeps.
KEPT = (
    *("n_features_in_", "feature_names_in_", "input_shape_", "embedded_columns_"),
    *("embedding_bins_", "hidden_units_", "max_epochs_", "task_weights_", "stopped_reason_"),
    "bag_size_",
)
#: Of the kept values, those a fit without them (2-D X, explicit sizes) leaves unset.
UNSET_WHEN_NONE = (
    *("feature_names_in_", "input_shape_", "hidden_units_", "max_epochs_", "bag_size_"),
)
#: The record of the last fit: pickled, not kept in a model file.
RUN = ("recipe_", "selection_history_", "bag_histories_", "task_affinity_")
#: Every attribute a fit sets besides skorch's own.
FITTED = (*TRAINED, *PARTS, *DERIVED, *KEPT, *RUN)
#: What ``predict`` takes from ``fit`` besides the weights, in the digest's order.
DIGESTED = (
    *("target_encoder_", "embedded_columns_", "embedding_bins_", "input_shape_"),
    "feature_scaler_",
)

#: The buffer of the network that holds the digest of the fitted state.
DIGEST = "fit_digest"
_VERSION_KEY = "_skmtl_version"


def as_fitted(name: str, value):
    """A kept value as the fitted attribute ``name`` holds it (a model file
    stores tuples as lists)."""
    if value is None:
        return None
    if name == "input_shape_":
        return tuple(value)
    if name == "embedded_columns_":
        return list(value)
    if name == "embedding_bins_":
        return [list(edges) for edges in value]
    if name == "hidden_units_" and not isinstance(value, int):
        return tuple(value)
    return value


def _running_version() -> str:
    return _version.__version__


def stamp_version(state: dict) -> dict:
    """``state`` (from ``__getstate__``) with the skmtl version that pickles it."""
    state[_VERSION_KEY] = _running_version()
    return state


def check_version(state: dict, name: str) -> None:
    """Pop the version from an unpickled ``state``; warn if it is not this one."""
    warn_other_version(state.pop(_VERSION_KEY, "unknown (before 0.1.0)"), name, stacklevel=4)


def warn_other_version(saved: str, name: str, stacklevel: int = 3) -> None:
    """Warn with both versions when ``saved`` is not the running skmtl's."""
    if saved != _running_version():
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=name,
                current_sklearn_version=_running_version(),
                original_sklearn_version=saved,
            ),
            stacklevel=stacklevel,
        )


def _feed(digest, value) -> None:
    if isinstance(value, np.generic):  # np.int64(3) and 3 are the same state
        value = value.item()
    if isinstance(value, np.ndarray):
        digest.update(f"{value.dtype}{value.shape}".encode())
        if value.dtype != object:
            digest.update(np.ascontiguousarray(value).tobytes())
            return
        value = value.tolist()
    if isinstance(value, dict):
        for key in value:
            _feed(digest, key)
            _feed(digest, value[key])
        return
    digest.update(repr(value).encode())


def fit_digest(net) -> torch.Tensor:
    """SHA-256 of what ``predict`` takes from ``fit`` besides the weights
    (:data:`DIGESTED`), as a uint8 tensor for the network's buffer."""
    digest = hashlib.sha256()
    for name in DIGESTED:
        value = getattr(net, name, None)
        if name == "target_encoder_":
            for part in (value.tasks_, value.types_, value.classes_, value.center_, value.scale_):
                _feed(digest, part)
        elif name == "input_shape_":
            _feed(digest, net.n_features_in_ if value is None else value)
        elif name == "feature_scaler_":
            if value is not None:
                _feed(digest, type(value).__name__)
                _feed(digest, {k: v for k, v in sorted(vars(value).items()) if k.endswith("_")})
        else:
            _feed(digest, value)
    return torch.frombuffer(bytearray(digest.digest()), dtype=torch.uint8)
