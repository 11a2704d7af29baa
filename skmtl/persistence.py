"""What a pickle or a skorch params file carries besides the weights.

* Pickles record the skmtl version (:func:`stamp_version`) and warn with
  :class:`~skmtl.exceptions.InconsistentVersionWarning` when another version
  loads them (:func:`check_version`).
* skorch's ``save_params`` stores the module's ``state_dict`` only, while
  ``predict`` also depends on what ``fit`` learnt from the data (the feature
  scaler, the embedded columns, the tasks and classes). The network carries
  a digest of that state as a buffer (:func:`add_fit_digest`), so a params
  file travels with it; :func:`load_params` refuses a file whose digest
  differs from the estimator's, and leaves the estimator as it was.
"""

from __future__ import annotations

import copy
import hashlib
import pickle
import warnings

import numpy as np
import torch

from .exceptions import InconsistentVersionWarning

#: The buffer of the network that holds the digest of the fitted state.
DIGEST = "fit_digest"
_VERSION_KEY = "_skmtl_version"


def _version() -> str:
    from . import __version__

    return __version__


def stamp_version(state: dict) -> dict:
    """``state`` (from ``__getstate__``) with the skmtl version that pickles it."""
    state[_VERSION_KEY] = _version()
    return state


def check_version(state: dict, name: str) -> None:
    """Pop the version from an unpickled ``state``; warn if it is not this one."""
    warn_other_version(state.pop(_VERSION_KEY, "unknown (before 0.1.0)"), name, stacklevel=4)


def warn_other_version(saved: str, name: str, stacklevel: int = 3) -> None:
    """Warn with both versions when ``saved`` is not the running skmtl's."""
    if saved != _version():
        warnings.warn(
            InconsistentVersionWarning(
                estimator_name=name,
                current_sklearn_version=_version(),
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
    """SHA-256 of what ``predict`` takes from ``fit`` besides the weights."""
    digest = hashlib.sha256()
    encoder = net.target_encoder_
    shape = getattr(net, "input_shape_", net.n_features_in_)
    for value in (
        *(encoder.tasks_, encoder.types_, encoder.classes_, encoder.center_),
        *(encoder.scale_, net.embedded_columns_, getattr(net, "embedding_bins_", None), shape),
    ):
        _feed(digest, value)
    scaler = net.feature_scaler_
    if scaler is not None:
        _feed(digest, type(scaler).__name__)
        _feed(digest, {k: v for k, v in sorted(vars(scaler).items()) if k.endswith("_")})
    return torch.frombuffer(bytearray(digest.digest()), dtype=torch.uint8)


def add_fit_digest(net, module: torch.nn.Module) -> torch.nn.Module:
    """``module`` with the estimator's :func:`fit_digest` as a buffer."""
    module.register_buffer(DIGEST, fit_digest(net))
    return module


def copy_states(net, *, optimizers: bool = True) -> dict[str, dict]:
    """Copies of the ``state_dict`` of the net's modules and criteria (and
    optimizers), by attribute name, for :func:`load_states` to put back."""
    names = [*net._modules, *net._criteria, *(net._optimizers if optimizers else ())]
    return {name: copy.deepcopy(getattr(net, name + "_").state_dict()) for name in names}


def load_states(net, states: dict[str, dict]) -> None:
    """Put back what :func:`copy_states` copied."""
    for name, state in states.items():
        getattr(net, name + "_").load_state_dict(state)


def _restore(net, states: dict, history) -> None:
    load_states(net, states)
    net.history_ = history


def load_params(net, load, **kwargs) -> None:
    """skorch's ``load_params`` (``load``), refusing a file that is unreadable
    or was saved from a fit on other data; on refusal ``net`` is unchanged."""
    if not net.initialized_ or not hasattr(net, "target_encoder_"):
        load(**kwargs)  # skorch's own error for an uninitialized net
        return
    before, history = copy_states(net), net.history
    expected = getattr(net.module_, DIGEST).clone()
    try:
        load(**kwargs)
    except FileNotFoundError:
        raise
    except (EOFError, OSError, RuntimeError, pickle.UnpicklingError, ValueError) as exc:
        _restore(net, before, history)
        if DIGEST in str(exc) and "Missing key" in str(exc):
            raise ValueError(
                "The params file holds no fit digest: it was saved by another "
                "version of skmtl or by another model, so what predict depends on "
                "besides the weights cannot be checked. Refit, or save the whole "
                "estimator with pickle."
            ) from exc
        raise ValueError(
            f"Could not load the params file(s) {_files(kwargs)}: {type(exc).__name__}: "
            f"{exc or 'the file is empty or truncated'}. Save them again with save_params."
        ) from exc
    if not torch.equal(getattr(net.module_, DIGEST).cpu(), expected.cpu()):
        _restore(net, before, history)
        raise ValueError(
            "The params file was saved from a model fitted on other data: its feature "
            "scaling, embedded columns, tasks or classes differ from this estimator's, "
            "and save_params/load_params carry the weights only. Load it into the "
            "estimator that was fitted with it (e.g. unpickled), or save and load the "
            "whole estimator with pickle."
        )


def _files(kwargs: dict) -> str:
    files = [repr(v) for k, v in kwargs.items() if k.startswith("f_") and v is not None]
    return ", ".join(files) or "of the checkpoint"
