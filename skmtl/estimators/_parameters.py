"""Checking the estimators' parameters against their ``_parameter_constraints``.

The constraints are declared once, on the estimator class, in scikit-learn's
style, with scikit-learn's constraint objects and four of skmtl's defined
here. ``fit`` checks them first, so that every bad value gets a
``ValueError`` naming the parameter, the value and what is allowed.
``set_params`` never checks (scikit-learn's contract).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import (
    Interval,
    InvalidParameterError,
    Options,
    StrOptions,
    _Constraint,
    make_constraint,
)
from skorch import NeuralNet


class HiddenUnits(_Constraint):
    """A positive int, or a sequence of positive ints (possibly empty)."""

    def is_satisfied_by(self, val):
        def positive(v):
            return isinstance(v, Integral) and not isinstance(v, bool) and v >= 1

        if positive(val):
            return True
        return (
            isinstance(val, Sequence) and not isinstance(val, str) and all(positive(v) for v in val)
        )

    def __str__(self):
        return "a positive int or a sequence of positive ints, e.g. (256, 256)"


class Kind(_Constraint):
    """An instance of ``kind`` (what ``isinstance`` accepts), with a readable name."""

    def __init__(self, kind, name):
        super().__init__()
        self.kind, self.name = kind, name

    def is_satisfied_by(self, val):
        return isinstance(val, self.kind) and not isinstance(val, bool)

    def __str__(self):
        return self.name


class ModuleClass(_Constraint):
    """A ``torch.nn.Module`` subclass or instance."""

    def is_satisfied_by(self, val):
        is_class = isinstance(val, type) and issubclass(val, torch.nn.Module)
        return is_class or isinstance(val, torch.nn.Module)

    def __str__(self):
        return "a torch.nn.Module class or instance"


class Device(_Constraint):
    """``"auto"``, ``None`` or anything ``torch.device`` takes."""

    def is_satisfied_by(self, val):
        if val is None or val == "auto":
            return True
        try:
            torch.device(val)
        except (RuntimeError, TypeError, ValueError):
            return False
        return True

    def __str__(self):
        return "'auto', None or a torch device such as 'cpu', 'cuda' or 'cuda:1'"


BOOL_OR_AUTO = [StrOptions({"auto"}), "boolean"]
POSITIVE_OR_ALL = [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})]


def _describe(constraint: _Constraint) -> str:
    """What a constraint allows, in words (options sorted, booleans as such)."""
    if isinstance(constraint, StrOptions):
        options = sorted(constraint.options)
        return repr(options[0]) if len(options) == 1 else f"one of {options}"
    names = {"_Booleans": "a bool", "_NoneConstraint": "None"}
    if type(constraint).__name__ in names:
        return names[type(constraint).__name__]
    if type(constraint).__name__ == "_InstancesOf":
        return f"a {constraint.type.__name__}"
    return str(constraint)


def check_parameters(estimator, names=None) -> None:
    """Check the parameters against the class's ``_parameter_constraints``:
    a ``ValueError`` naming the parameter, its value and what is allowed.
    ``names`` limits the check to those parameters."""
    params = estimator.get_params(deep=False)
    table = type(estimator)._parameter_constraints
    for name in table if names is None else names:
        allowed, value = table[name], params[name]
        constraints = [c if isinstance(c, _Constraint) else make_constraint(c) for c in allowed]
        # a bool is an int to Python, never a number of epochs or rows here
        numbers = (Interval, Options)
        if any(
            c.is_satisfied_by(value) and not (isinstance(value, bool) and isinstance(c, numbers))
            for c in constraints
        ):
            continue
        shown = [_describe(c) for c in constraints if not c.hidden]
        expected = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
        # InvalidParameterError is a ValueError (and a TypeError), as in scikit-learn
        raise InvalidParameterError(
            f"The {name!r} parameter of {type(estimator).__name__} must be {expected}. "
            f"Got {value!r} instead."
        )


def check_callbacks(callbacks) -> None:
    """The one check ``set_params`` makes: skorch builds callbacks there, so a
    wrong type gets a ``TypeError`` (what scikit-learn expects) instead of a
    crash deep in skorch."""
    if callbacks not in (None, "disable") and not isinstance(callbacks, (list, tuple)):
        raise TypeError(
            f"callbacks must be None, 'disable' or a list of callbacks; got {callbacks!r}."
        )


def check_arguments(target, prefix: str, kwargs: Mapping) -> None:
    """Raise if ``target`` (a class) takes no argument of one of ``kwargs``.

    ``prefix`` is the parameter prefix (``"module"``), so the error names
    ``module__bogus`` as the user wrote it. A target that takes ``**kwargs``,
    or whose signature cannot be read, is left to itself.
    """
    if not isinstance(target, type) or not kwargs:
        return
    try:
        params = inspect.signature(target).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        names = ", ".join(f"{prefix}__{k}" for k in unknown)
        accepted = sorted(k for k, p in params.items() if p.kind is not p.VAR_POSITIONAL)
        raise ValueError(
            f"{names}: {target.__name__} takes no argument {unknown[0]!r}; its "
            f"arguments are {accepted}. Check the spelling, or drop the parameter."
        )


def check_task_weights(task_weights: Mapping | None, tasks: Sequence) -> np.ndarray:
    """The static weight of each task, in task order: ``task_weights[task]``,
    1 for a task left out. Raises for an unknown task or a negative,
    infinite or all-zero weighting."""
    weights = dict.fromkeys(tasks, 1.0)
    given = task_weights or {}
    unknown = [t for t in given if t not in weights]
    if unknown:
        raise ValueError(
            f"task_weights names task(s) {unknown} that are not in Y; the tasks are {list(tasks)}."
        )
    weights.update(given)
    values = np.array([float(w) for w in weights.values()])
    if not np.isfinite(values).all() or (values < 0).any() or values.sum() == 0:
        raise ValueError(
            f"task_weights must be finite, non-negative and not all zero; got {weights}."
        )
    return values


def _defaults(net) -> dict:
    """Every parameter's default: the estimator's constructor, then skorch's."""
    defaults = {"iterator_train__shuffle": True}  # skmtl's default, set in __init__
    for init in (NeuralNet.__init__, type(net).__init__):
        for name, param in inspect.signature(init).parameters.items():
            if param.default is not inspect.Parameter.empty:
                defaults[name] = param.default
    return defaults


def _same(value, default) -> bool:
    if value is default:
        return True
    try:
        return type(value) is type(default) and bool(value == default)
    except (TypeError, ValueError):  # arrays and the like
        return repr(value) == repr(default)


def estimator_repr(net) -> str:
    """scikit-learn's style: the class and the parameters that differ from
    their defaults, on one line when it fits in 79 characters."""
    defaults = _defaults(net)
    params = net.get_params(deep=False)
    changed = [
        f"{name}={value!r}"
        for name, value in params.items()
        if name not in defaults or not _same(value, defaults[name])
    ]
    name = type(net).__name__
    line = f"{name}({', '.join(changed)})"
    if len(line) <= 79:
        return line
    return f"{name}(\n" + "".join(f"    {item},\n" for item in changed) + ")"
