"""Target encoding: turn multi-task ``Y`` into integer codes and back.

``Y`` comes in four kinds (a dict of tasks, a DataFrame, a 2-D array or a
1-D array). :class:`TaskEncoder` reads any of them into one ``(n_samples,
n_tasks)`` int64 matrix of class codes, with ``MISSING`` where a row has no
label for a task, and turns predictions back into the kind it was fitted on.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.utils.multiclass import check_classification_targets, type_of_target

from ..utils import user_stacklevel

#: Code of a missing label: the row does not train or score that task.
MISSING = -1
#: Code of a label outside the fitted classes (only when scoring).
UNKNOWN = -2

KINDS = ("dict", "frame", "2d", "1d")


def labelled(codes):
    """Where encoded targets (a NumPy array or a torch tensor) hold a label:
    not ``MISSING`` in class codes, not NaN in the float codes of a model
    with a regression task."""
    if isinstance(codes, torch.Tensor):
        return ~torch.isnan(codes) if codes.is_floating_point() else codes != MISSING
    return ~np.isnan(codes) if codes.dtype.kind == "f" else codes != MISSING


TASK_TYPES = ("classification", "regression")


def _as_target(Y: Any) -> Any:
    """Y itself if it is a dict or pandas object, else Y as a numpy array.

    A pandas ExtensionArray (``pd.Categorical``, ``pd.array(..., "Int64")``)
    becomes a Series, keeping its dtype, its declared categories and their order.
    """
    if hasattr(Y, "toarray"):
        raise ValueError("A sparse Y is not supported; pass a dense array or a DataFrame.")
    if isinstance(Y, pd.api.extensions.ExtensionArray):
        return pd.Series(Y)
    if isinstance(Y, (Mapping, pd.DataFrame, pd.Series)):
        return Y
    return _as_array(Y)


def _as_array(values: Any) -> np.ndarray:
    """``values`` as a numpy array; a list such as ``["x", nan]``, which numpy
    would turn into strings (``"nan"``), keeps its values as objects."""
    array = np.asarray(values)
    if array.dtype.kind == "U" and not isinstance(values, np.ndarray):
        objects = np.asarray(values, dtype=object)
        if not all(isinstance(v, str) for v in objects.ravel()):
            return objects
    return array


def _target_kind(Y: Any) -> str:
    if isinstance(Y, Mapping):
        return "dict"
    if isinstance(Y, pd.DataFrame):
        return "frame"
    if isinstance(Y, pd.Series):
        return "1d"
    ndim = np.ndim(Y)
    if ndim == 1:
        return "1d"
    if ndim == 2:
        return "2d"
    raise ValueError(
        f"Y must be a dict of tasks, a DataFrame, or a 1-D or 2-D array; got an "
        f"array with {ndim} dimensions."
    )


def _columns(Y: Any, kind: str, names: Sequence[Hashable] | None) -> dict:
    """Split ``Y`` into ``{task: pandas Series named task}``, keeping dtypes."""
    return {task: col.rename(task) for task, col in _split_columns(Y, kind, names).items()}


def _split_columns(Y: Any, kind: str, names: Sequence[Hashable] | None) -> dict:
    if kind == "dict":
        if not Y:
            raise ValueError("Y is an empty dict; give at least one task.")
        cols = {}
        for task, values in Y.items():
            if np.ndim(values) != 1:
                raise ValueError(
                    f"Y[{task!r}] must be 1-D (one label per row); got shape {np.shape(values)}."
                )
            if not isinstance(values, (pd.Series, pd.api.extensions.ExtensionArray)):
                # via numpy, so that [1, None, 2] stays int labels, not floats
                values = _as_array(values)
            cols[task] = pd.Series(values)
        lengths = {task: len(col) for task, col in cols.items()}
        if len(set(lengths.values())) > 1:
            raise ValueError(
                f"The tasks in Y have different lengths: {lengths}. Every task "
                "needs one entry per row of X (use None or NaN for a missing label)."
            )
        return {task: col.reset_index(drop=True) for task, col in cols.items()}
    if kind == "frame":
        if Y.columns.has_duplicates:
            dup = list(Y.columns[Y.columns.duplicated()])
            raise ValueError(f"Y has duplicate task columns {dup}; rename them.")
        if Y.shape[1] == 0:
            raise ValueError("Y is a DataFrame with no columns; give at least one task.")
        return {task: Y[task].reset_index(drop=True) for task in Y.columns}
    if kind == "1d":
        series = Y if isinstance(Y, pd.Series) else pd.Series(np.asarray(Y))
        return {names[0]: series.reset_index(drop=True)}
    arr = np.asarray(Y)
    if arr.shape[1] == 0:
        raise ValueError("Y has no columns; give at least one task.")
    return {task: pd.Series(arr[:, j]) for j, task in enumerate(names)}


def _array_task_names(
    Y: Any, kind: str, task_names: Sequence[Hashable] | None
) -> list[Hashable] | None:
    if kind in ("dict", "frame"):
        if task_names is not None:
            raise ValueError(
                "task_names only names the columns of an array Y; a dict or "
                "DataFrame Y already names its tasks. Leave task_names=None."
            )
        return None
    if task_names is not None:
        n_cols = 1 if kind == "1d" else np.shape(Y)[1]
        if isinstance(task_names, str) or not isinstance(task_names, (Sequence, np.ndarray)):
            raise ValueError(
                f"task_names must be a list of names, one per column of Y; got {task_names!r}."
            )
        names = list(task_names)
        if len(names) != n_cols:
            raise ValueError(
                f"Y has {n_cols} column(s) but {len(names)} task names {names}; give one "
                "name per column."
            )
        if len(set(names)) != len(names):
            raise ValueError(f"task_names has duplicates: {names}.")
        return names
    if kind == "1d":
        name = getattr(Y, "name", None)
        return [name if isinstance(name, str) else "task_0"]
    return [f"task_{j}" for j in range(np.shape(Y)[1])]


def read_tasks(Y: Any, task_names: Sequence[Hashable] | None = None) -> dict:
    """The one reader of ``Y``: ``{task: pandas Series}`` for any kind that
    ``fit`` takes, with the names ``task_names`` (or ``task_0``, ...) for the
    columns of an array. It checks the shape only: a task may have one class,
    no label at all, or labels of mixed types."""
    Y = _as_target(Y)
    kind = _target_kind(Y)
    return _columns(Y, kind, _array_task_names(Y, kind, task_names))


def _observed(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Return the mask of labelled rows and their labels as a numpy array."""
    labelled = ~col.isna().to_numpy()
    values = col[labelled].to_numpy()
    if values.dtype == object and len(values):
        # Object columns come from None/NaN mixed into ints, bools or strings;
        # give them their plain dtype, but never turn 1 into "1".
        inferred = pd.api.types.infer_dtype(values, skipna=False)
        if inferred in _PLAIN_TYPES:
            values = np.asarray(values.tolist())
        elif inferred.startswith("mixed"):
            kinds = sorted({type(v).__name__ for v in values})
            if len(kinds) == 1:  # one type, but not one a label can be
                raise ValueError(
                    f"Task {col.name!r} has labels of type {kinds[0]}; give labels as "
                    "strings, ints, floats or bools (e.g. join a tuple into one string)."
                )
            raise ValueError(
                f"Task {col.name!r} mixes label types {kinds}; give every label of a "
                "task the same type (e.g. all str or all int)."
            )
    return labelled, values


_PLAIN_TYPES = ("string", "integer", "boolean", "floating", "mixed-integer-float")


def _like_column(classes: np.ndarray, dtype) -> np.ndarray:
    """Fixed ``classes`` in the numeric dtype of their column (an int32 column
    predicts int32) where that loses nothing."""
    if not (isinstance(dtype, np.dtype) and dtype.kind in "iufb" and classes.dtype.kind in "iufb"):
        return classes
    cast = classes.astype(dtype)
    return cast if np.array_equal(cast, classes) else classes


#: A task with at least this many classes, and fewer than
#: ``_MIN_ROWS_PER_CLASS`` labelled rows per class, gets a warning.
_MANY_CLASSES = 20
_MIN_ROWS_PER_CLASS = 5


def _check_discrete(task: Hashable, values: np.ndarray) -> None:
    """scikit-learn's check that labels are classes, with the task named."""
    try:
        check_classification_targets(values)
    except ValueError as exc:
        kind = type_of_target(values)
        sample = [f"{v:.3g}" if isinstance(v, float) else v for v in pd.unique(values)[:3]]
        raise ValueError(
            f"Unknown label type: {kind} labels in task {task!r} (e.g. {sample}), which "
            "is a classification task. For a numeric target, make it a regression task: "
            f"task_types={{{task!r}: 'regression'}} (or 'infer'), or use "
            "MultiTaskRegressor; for classes, give discrete labels (ints or strings)."
        ) from exc


def _warn_many_classes(task: Hashable, n_classes: int, n_labelled: int) -> None:
    if n_classes >= _MANY_CLASSES and n_labelled < _MIN_ROWS_PER_CLASS * n_classes:
        warnings.warn(
            f"Task {task!r} has {n_classes} classes for {n_labelled} labelled rows "
            f"({n_labelled / n_classes:.1f} per class): too few to learn each class. "
            "If it is an identifier, drop it; if it is a numeric target, make it a "
            f"regression task (task_types={{{task!r}: 'regression'}}).",
            UserWarning,
            stacklevel=user_stacklevel(),
        )


class TaskEncoder:
    """Encode multi-task targets of any supported kind to class codes.

    Parameters
    ----------
    task_names : sequence of hashable, optional
        Names of the columns of an array ``Y``. Defaults to ``task_0``,
        ``task_1``, ... (or a Series' name for 1-D ``Y``).
    classes : dict or array-like, optional
        ``{task: labels}`` fixing the classes (and their order) of some
        tasks. For 1-D ``Y`` a plain list of labels is also accepted.
    task_types : str or dict, optional
        ``"classification"``, ``"regression"``, ``"infer"`` (regression where
        scikit-learn's ``type_of_target`` says ``"continuous"``), or
        ``{task: type}``; tasks left out take ``default_type``.
    default_type : {"classification", "regression"}, default="classification"

    Attributes
    ----------
    kind_ : {"dict", "frame", "2d", "1d"}
        The kind of ``Y`` seen at fit; predictions are returned in it.
    tasks_ : list
        Task names, in column order.
    types_ : dict
        ``{task: "classification" or "regression"}``.
    classes_ : dict
        ``{task: ndarray of labels}`` of the classification tasks; code ``k``
        means ``classes_[task][k]``.
    center_, scale_ : dict
        Mean and standard deviation of each regression task's targets, which
        are standardised for training and restored on output.
    dtypes_ : dict
        ``{task: dtype}`` of each task's labels as given, to restore
        pandas dtypes (categoricals, nullable types) on output.
    array_dtype_ : numpy dtype or None
        The dtype of a 2-D array ``Y``, kept by 2-D predictions.

    Notes
    -----
    A task's classes come from ``classes`` if given, else from a pandas
    categorical's declared categories (in their order, used or not), else
    from the sorted labels seen.
    """

    def __init__(
        self, task_names=None, classes=None, task_types=None, default_type="classification"
    ):
        self.task_names = task_names
        self.classes = classes
        self.task_types = task_types
        self.default_type = default_type

    def _resolve_types(self, cols: dict) -> dict:
        spec = self.default_type if self.task_types is None else self.task_types
        if isinstance(spec, str):
            spec = dict.fromkeys(cols, spec)
        elif isinstance(spec, Mapping):
            unknown = [t for t in spec if t not in cols]
            if unknown:
                raise ValueError(
                    f"task_types names task(s) {unknown} that are not in Y; the tasks are "
                    f"{list(cols)}."
                )
            spec = {t: spec.get(t, self.default_type) for t in cols}
        else:
            raise ValueError(
                "task_types must be 'classification', 'regression', 'infer' or a dict "
                f"{{task: 'classification' or 'regression'}}; got {spec!r}."
            )
        types = {}
        for task, kind in spec.items():
            if kind == "infer":
                _, values = _observed(cols[task])
                continuous = len(values) and type_of_target(values) == "continuous"
                kind = "regression" if continuous else "classification"
            if kind not in TASK_TYPES:
                raise ValueError(
                    f"Task {task!r} has type {kind!r}; use 'classification', 'regression' "
                    "or 'infer'."
                )
            types[task] = kind
        return types

    #: The fitted attributes, which :meth:`fitted_state` returns and
    #: :meth:`from_fitted` takes back.
    _FITTED = ("kind_", "tasks_", "types_", "classes_", "center_", "scale_", "dtypes_")
    _FITTED += ("array_dtype_",)

    def fitted_state(self) -> dict:
        """The fitted attributes by name, for a model file to keep."""
        return {name: getattr(self, name) for name in self._FITTED}

    @classmethod
    def from_fitted(cls, state: dict, **params) -> TaskEncoder:
        """A fitted encoder from :meth:`fitted_state`'s values and the constructor's ``params``."""
        encoder = cls(**params)
        missing = [name for name in cls._FITTED if name not in state]
        if missing:
            raise ValueError(f"The target encoder's state lacks {missing}.")
        for name in cls._FITTED:
            setattr(encoder, name, state[name])
        return encoder

    @property
    def regression_(self) -> list[bool]:
        """Whether each task, in order, is a regression task."""
        return [self.types_[t] == "regression" for t in self.tasks_]

    def _fit_regression(self, task: Hashable, values: np.ndarray) -> None:
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"Task {task!r} is a regression task but has non-numeric labels ({exc}); "
                "give it numbers, or make it a classification task in task_types."
            ) from exc
        if not np.isfinite(values).all():
            raise ValueError(f"Task {task!r} has infinite target values; drop or clip them.")
        self.center_[task] = float(values.mean())
        scale = float(values.std())
        self.scale_[task] = scale if scale > 0 else 1.0

    def _classes_param(self, classes=None) -> dict:
        """``classes`` (default: the parameter) as ``{task: labels}``."""
        classes = self.classes if classes is None else classes
        if classes is None:
            return {}
        if not isinstance(classes, Mapping):
            if self.kind_ != "1d":
                raise ValueError(
                    "classes must be a dict {task: labels} when Y has several "
                    "tasks; a plain list is only accepted for 1-D Y."
                )
            return {self.tasks_[0]: classes}
        unknown = [t for t in classes if t not in self.tasks_]
        if unknown:
            raise ValueError(
                f"classes names task(s) {unknown} that are not in Y; the tasks are {self.tasks_}."
            )
        return dict(classes)

    def check_classes(self, classes) -> None:
        """Refuse ``classes`` other than the fitted ones: a later
        ``partial_fit`` call may repeat them, not change them (as
        scikit-learn's ``partial_fit`` refuses)."""
        for task, labels in self._classes_param(classes).items():
            if task not in self.classes_:
                raise ValueError(f"classes names task {task!r}, which is a regression task.")
            fitted, given = self.classes_[task].tolist(), np.asarray(labels).tolist()
            if len(given) != len(fitted) or set(given) != set(fitted):
                raise ValueError(
                    f"classes[{task!r}]={given} is not the task's classes {fitted}, fixed "
                    "by the first call; a fitted model's classes cannot change. Pass the "
                    "same classes or none, or fit anew with the new ones."
                )

    def fit_transform(self, Y: Any) -> np.ndarray:
        """Learn tasks and classes from ``Y`` and return its codes."""
        Y = _as_target(Y)
        self.kind_ = _target_kind(Y)
        names = _array_task_names(Y, self.kind_, self.task_names)
        cols = _columns(Y, self.kind_, names)
        self.tasks_ = list(cols)
        self.dtypes_ = {task: col.dtype for task, col in cols.items()}
        # an object array of mixed tasks must come back as objects, not strings
        self.array_dtype_ = np.asarray(Y).dtype if self.kind_ == "2d" else None
        fixed = self._classes_param()
        self.types_ = self._resolve_types(cols)
        self.classes_, self.center_, self.scale_ = {}, {}, {}
        for task, col in cols.items():
            labelled, values = _observed(col)
            if not labelled.any():
                if task not in fixed or self.types_[task] == "regression":
                    raise ValueError(
                        f"Task {task!r} has no labels in Y (every entry is missing); "
                        "drop the task, give it labelled rows, or fix its classes with "
                        f"classes={{{task!r}: [...]}} to keep its head (e.g. in a "
                        "cross-validation fold)."
                    )
                warnings.warn(
                    f"Task {task!r} has no labels in Y; its head is built from "
                    "classes= but not trained.",
                    UserWarning,
                    stacklevel=user_stacklevel(),
                )
            if self.types_[task] == "regression":
                self._fit_regression(task, values)
                continue
            if task in fixed:
                classes = _like_column(np.asarray(fixed[task]), col.dtype)
                if len(pd.unique(classes)) != len(classes):
                    raise ValueError(f"classes[{task!r}] has duplicate labels.")
            elif isinstance(col.dtype, pd.CategoricalDtype):
                # a categorical declares its classes, in its own order
                classes = np.asarray(col.cat.categories)
            else:
                _check_discrete(task, values)
                try:
                    classes = np.unique(values)
                except TypeError as exc:
                    raise ValueError(
                        f"Task {task!r} has labels that cannot be ordered ({exc}); "
                        "give every label of a task the same type."
                    ) from exc
            if len(classes) < 2 and task in fixed:
                raise ValueError(
                    f"classes[{task!r}] fixes one class ({classes[0]!s}); a classifier "
                    "needs at least two. List every label of the task."
                )
            if len(classes) < 2:
                raise ValueError(
                    f"Task {task!r} has only one class ({classes[0]!s}) in Y at fit; "
                    "a classifier needs at least two classes. Drop the task, or, "
                    "if other data has more classes, fix them up front with "
                    f"classes={{{task!r}: [...]}}."
                )
            _warn_many_classes(task, len(classes), int(labelled.sum()))
            self.classes_[task] = classes
        return self._encode(cols, unknown="error")

    def _read(self, Y: Any) -> dict:
        """Columns of ``Y`` by fitted task name; ``Y`` may hold a subset of them."""
        Y = _as_target(Y)
        kind = _target_kind(Y)
        if kind in ("1d", "2d"):
            n_cols = 1 if kind == "1d" else np.shape(Y)[1]
            if n_cols != len(self.tasks_):
                raise ValueError(
                    f"Y has {n_cols} task column(s) but the model was fitted on "
                    f"{len(self.tasks_)} tasks {self.tasks_}; pass all of them in "
                    "order, or a dict/DataFrame naming the tasks you have."
                )
            return _columns(Y, kind, self.tasks_)
        cols = _columns(Y, kind, None)
        extra = [t for t in cols if t not in self.types_]
        if extra:
            raise ValueError(
                f"Y has task(s) {extra} that were not fitted; the fitted tasks are {self.tasks_}."
            )
        return cols

    def transform(self, Y: Any, *, unknown: str = "error", return_tasks: bool = False):
        """Encode ``Y`` with the fitted classes into ``(n_samples, n_tasks)`` codes.

        ``Y`` may hold a subset of the fitted tasks (a dict or DataFrame with
        fewer keys); the others are coded ``MISSING``. ``unknown="error"``
        raises on labels outside the fitted classes; ``unknown="mark"`` codes
        them ``UNKNOWN``. With ``return_tasks=True`` also returns the tasks
        that ``Y`` holds.
        """
        cols = self._read(Y)
        codes = self._encode(cols, unknown=unknown)
        full = np.full((len(codes), len(self.tasks_)), self._missing, dtype=codes.dtype)
        for j, task in enumerate(cols):
            full[:, self.tasks_.index(task)] = codes[:, j]
        return (full, list(cols)) if return_tasks else full

    def task_labels(self, Y: Any, task: Hashable) -> tuple[np.ndarray, np.ndarray]:
        """Labels of one task in ``Y``: the mask of labelled rows and their labels."""
        cols = self._read(Y)
        if task not in cols:
            raise ValueError(f"Y has no column for task {task!r}; it has {list(cols)}.")
        return _observed(cols[task])

    @property
    def _missing(self):
        # class codes are int64 with MISSING; with any regression task the
        # matrix is float32, and NaN marks a missing label of either type
        return np.nan if any(self.regression_) else MISSING

    def _encode(self, cols: dict, unknown: str) -> np.ndarray:
        n = len(next(iter(cols.values())))
        dtype = np.float32 if any(self.regression_) else np.int64
        codes = np.full((n, len(cols)), self._missing, dtype=dtype)
        for j, (task, col) in enumerate(cols.items()):
            labelled, values = _observed(col)
            if self.types_[task] == "regression":
                try:
                    numbers = values.astype(np.float64)
                except (TypeError, ValueError) as exc:
                    raise ValueError(
                        f"Task {task!r} is a regression task but has non-numeric labels."
                    ) from exc
                codes[labelled, j] = (numbers - self.center_[task]) / self.scale_[task]
                continue
            found = pd.Index(self.classes_[task]).get_indexer(values)
            if (found < 0).any():
                if unknown == "error":
                    bad = pd.unique(values[found < 0])[:10].tolist()
                    raise ValueError(
                        f"Task {task!r} has labels {bad} that are not among its "
                        f"classes {self.classes_[task].tolist()}. Pass classes="
                        f"{{{task!r}: [...all labels...]}} to fix the classes up front."
                    )
                found = np.where(found < 0, UNKNOWN, found)
            codes[labelled, j] = found
        return codes

    def decode(self, outputs, index: pd.Index | None = None) -> Any:
        """Turn predictions into labels in the kind of ``Y``.

        ``outputs`` holds one column per task: class codes for a
        classification task, standardised values for a regression task (an
        ``(n_samples, n_tasks)`` array or a list of 1-D arrays).
        """
        columns = list(outputs.T) if isinstance(outputs, np.ndarray) else list(outputs)
        labels = {}
        for task, column in zip(self.tasks_, columns, strict=True):
            if self.types_[task] == "regression":
                labels[task] = column.astype(np.float64) * self.scale_[task] + self.center_[task]
            else:
                labels[task] = self.classes_[task][column.astype(np.int64)]
        if self.kind_ == "1d":
            return labels[self.tasks_[0]]
        if self.kind_ == "2d":
            dtype = self.array_dtype_
            if dtype.kind in "SU":  # room for the longest class, e.g. fixed by classes=
                texts = [c.dtype for c in self.classes_.values() if c.dtype.kind in "SU"]
                dtype = np.result_type(dtype, *texts)
            if any(self.regression_) and dtype.kind in "iub":
                dtype = np.float64  # int labels of a regression task predict floats
            elif any(self.regression_) and dtype.kind != "f":
                dtype = np.dtype(object)  # string class labels beside numbers
            out = np.empty((len(columns[0]), len(columns)), dtype=dtype)
            for j, values in enumerate(labels.values()):
                out[:, j] = values
            return out
        if self.kind_ == "dict":
            return labels
        frame = pd.DataFrame(
            {task: self._restore_dtype(task, values) for task, values in labels.items()},
            index=index,
        )
        # pandas 3 reads an object array of strings as its string dtype
        kept = {
            task: object
            for task in labels
            if self.types_[task] == "classification"
            and isinstance(self.dtypes_[task], np.dtype)
            and self.dtypes_[task].kind == "O"
        }
        return frame.astype(kept) if kept else frame

    def _restore_dtype(self, task: Hashable, values: np.ndarray):
        dtype = self.dtypes_[task]
        if self.types_[task] == "regression":
            return values
        if isinstance(dtype, pd.api.extensions.ExtensionDtype):
            return pd.array(values, dtype=dtype)
        return values

    def task_column(self, output: Any, task: Hashable) -> np.ndarray:
        """One task's labels from a prediction returned by :meth:`decode`."""
        if self.kind_ == "1d":
            return np.asarray(output)
        if self.kind_ == "2d":
            return np.asarray(output)[:, self.tasks_.index(task)]
        return np.asarray(output[task])

    def format_proba(self, probas: list[np.ndarray]) -> dict | np.ndarray:
        """Per-task probabilities of the classification tasks (in order) as a
        dict, or one array for 1-D ``Y``."""
        if self.kind_ == "1d":
            return probas[0]
        tasks = [t for t in self.tasks_ if self.types_[t] == "classification"]
        return dict(zip(tasks, probas, strict=True))


class EncodedTargets(np.ndarray):
    """Class codes that ``fit`` already made from ``Y``.

    skorch's ``NeuralNet.fit`` trains through ``partial_fit``; the estimators'
    ``partial_fit`` encodes raw ``Y`` but passes these on unchanged.
    """


def encoded(codes: np.ndarray) -> EncodedTargets:
    """``codes`` marked as already encoded (a view, no copy)."""
    return codes.view(EncodedTargets)
