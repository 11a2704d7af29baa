"""Property-based tests: random targets, label types and inputs through ``fit``,
``predict``, ``predict_proba``, ``score`` and pickle.

Each example draws the kind of ``Y`` (dict, DataFrame, 2-D array, 1-D array,
list, Series or pandas ExtensionArray), 1 to 6 tasks of their own label type
(int, str, bool, categorical with unused and unsorted categories, nullable
``Int64``/``string``/``boolean``, float-coded ints), 2 to 10 classes, up to 90%
missing labels (sometimes one labelled row per class), fixed ``classes=``, and
``X`` as a float or int array, DataFrame, CSR matrix or ``(n, 2, 3)`` array
with a tiny custom trunk. Valid draws must fit and answer as the user guide's
output rules promise; invalid ones must raise the documented error.

The default profile ("ci", from conftest.py) runs 25 examples per test;
``--hypothesis-profile=long`` runs 2500.
"""

import pickle
import re
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, target
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError
from torch import nn

from skmtl import MultiTaskClassifier
from skmtl.exceptions import DivergenceWarning

# --------------------------------------------------------------- trunks


class FlatTrunk(nn.Module):
    """Flattens each sample (2-D rows or ``(2, 3)`` arrays); declares ``out_features``."""

    def __init__(self, in_features: int, width: int = 8):
        super().__init__()
        self.linear = nn.Linear(in_features, width)
        self.out_features = width

    def forward(self, X):
        return torch.relu(self.linear(X.flatten(1)))


class ConvTrunk(nn.Module):
    """A convolution over ``(batch, 2, 3)`` samples; no ``out_features``, so
    skmtl sizes the heads by a dry run (width 4 * 2)."""

    def __init__(self, channels: int = 4):
        super().__init__()
        self.net = nn.Sequential(nn.Conv1d(2, channels, kernel_size=2), nn.ReLU(), nn.Flatten())

    def forward(self, X):
        return self.net(X)


# ---------------------------------------------------------------- labels

#: How a task's labels are stored.
DTYPES = ("int", "str", "bool", "category", "Int64", "string", "boolean", "float")
#: The label types a numpy array holds (1-D arrays, lists, 2-D arrays).
ARRAY_DTYPES = ("int", "str", "bool", "float")
#: What ``pd.array`` / ``pd.Categorical`` hold for a 1-D ``Y``.
EXTENSION_DTYPES = ("category", "Int64", "string", "boolean")
#: The plain type of a label of each storage.
BASE = {"int": "int", "str": "str", "bool": "bool", "Int64": "int", "string": "str"}
BASE |= {"boolean": "bool", "float": "float"}
MISSING_MARKERS = (None, np.nan, pd.NA)

WORDS = st.one_of(
    st.text(alphabet="abxZé日 -", max_size=10),
    st.sampled_from(["nan", "None", "NA", "<NA>", "null", "True", "1"]),
)


def _distinct(values: list, k: int, spare) -> list:
    """The first ``k`` distinct values of ``values``, topped up from ``spare``
    (never fails, unlike ``unique=True`` when shrinking)."""
    out = list(dict.fromkeys(values))
    for extra in spare:
        if len(out) == k:
            break
        if extra not in out:
            out.append(extra)
    return out[:k]


def _pool(base: str, k: int):
    """``k`` distinct labels of type ``base``."""
    if base == "bool":
        return st.permutations([False, True]) if k == 2 else st.sampled_from([[False], [True]])
    if base == "str":
        words = st.lists(WORDS, min_size=k, max_size=k)
        return words.map(lambda v: _distinct(v, k, (f"c{i}" for i in range(2 * k))))
    low, high = (-(10**6), 10**6) if base == "int" else (-1000, 1000)
    ints = st.lists(st.integers(low, high), min_size=k, max_size=k)
    ints = ints.map(lambda v: _distinct(v, k, range(high + 1, high + 1 + 2 * k)))
    # float-coded ints: 1.0, 2.0, ...
    return ints if base == "int" else ints.map(lambda v: [float(x) for x in v])


@dataclass
class Task:
    """One drawn task: how it is stored and what the model must make of it."""

    name: object
    dtype: str  # one of DTYPES, or "object" (mixed label types)
    base: str  # "int", "str", "bool", "float" (or "mixed")
    labels: list  # one label per row, None where missing
    classes: list  # the promised classes_, in order
    categories: list | None = None  # a categorical's declared categories
    fixed: list | None = None  # passed as classes={name: fixed}
    marker: object = None  # the missing label in object arrays
    int_dtype: str = "int64"

    @property
    def missing(self) -> bool:
        return any(v is None for v in self.labels)

    def __repr__(self):
        extra = f", categories={self.categories!r}" if self.categories is not None else ""
        extra += f", fixed={self.fixed!r}" if self.fixed is not None else ""
        extra += f", marker={self.marker!r}" if self.missing and self.marker is not None else ""
        return (
            f"Task({self.name!r}, {self.dtype}/{self.base}, classes={self.classes!r}{extra}, "
            f"labels={self.labels!r})"
        )


def _place(rng, n: int, seen: list, n_labelled: int) -> list:
    """``n`` labels: each of ``seen`` at least once, ``n_labelled`` in all, None elsewhere."""
    rows = rng.choice(n, n_labelled, replace=False)
    picks = np.concatenate(
        [np.arange(len(seen)), rng.integers(0, len(seen), n_labelled - len(seen))]
    )
    labels = [None] * n
    for row, pick in zip(rows.tolist(), picks.tolist(), strict=True):
        labels[row] = seen[pick]
    return labels


@st.composite
def task_labels(
    draw, n: int, dtypes=DTYPES, *, defect=None, classes_param=True, complete=False, empty=False
) -> Task:
    """A task of ``n`` rows. ``defect``: None (valid), ``"one_class"``,
    ``"no_labels"``, ``"mixed"`` (label types mixed) or ``"continuous"``;
    ``complete``: no missing label; ``empty``: may have no label at all when
    its classes are fixed (valid: its head is kept, untrained)."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    missing = 0.0 if complete else draw(st.one_of(st.just(0.0), st.floats(0, 0.9)))
    marker = draw(st.sampled_from(MISSING_MARKERS))
    if defect == "mixed":
        first, second = draw(
            st.sampled_from([("int", "str"), ("bool", "str"), ("bool", "int"), ("float", "str")])
        )
        seen = draw(_pool(first, 1)) + draw(_pool(second, 1))
        labels = _place(rng, n, seen, max(2, round((1 - missing) * n)))
        return Task(None, "object", "mixed", labels, [], marker=marker)
    if defect == "continuous":
        k = draw(st.integers(2, 10))
        seen = [v / 4 for v in draw(_pool("int", k))]
        seen[0] = seen[0] + 0.5 if seen[0].is_integer() else seen[0]
        seen = list(dict.fromkeys(seen))
        labels = _place(rng, n, seen, max(len(seen), round((1 - missing) * n)))
        return Task(None, "float", "float", labels, [])
    dtype = draw(st.sampled_from(dtypes))
    base = draw(st.sampled_from(["str", "int"])) if dtype == "category" else BASE[dtype]
    if defect == "one_class":
        k = 1
    else:
        k = 2 if base == "bool" else draw(st.integers(2, 10))
    pool = draw(_pool(base, k))
    categories = fixed = None
    if dtype == "category":
        categories = draw(st.permutations(pool))  # declared order, unused ones included
    elif classes_param and defect is None and draw(st.integers(0, 2)) == 0:
        fixed = draw(st.permutations(pool))
    declared = categories is not None or fixed is not None
    n_seen = 1 if defect == "one_class" else draw(st.integers(1 if declared else 2, k))
    seen = pool[:n_seen]
    one_per_class = not complete and draw(st.integers(0, 3)) == 0
    if defect == "no_labels" or (empty and fixed is not None and draw(st.integers(0, 4)) == 0):
        labels = [None] * n
    else:
        n_labelled = n_seen if one_per_class else max(n_seen, round((1 - missing) * n))
        labels = _place(rng, n, seen, n_labelled)
    if categories is not None:
        classes = list(categories)
    elif fixed is not None:
        classes = list(fixed)
    else:
        classes = sorted(seen)  # by numpy's order, as np.unique
    int_dtype = draw(st.sampled_from(["int64", "int32"]))
    return Task(None, dtype, base, labels, classes, categories, fixed, marker, int_dtype)


def column(task: Task):
    """The task's labels as the user would store them."""
    labels = task.labels
    if task.dtype == "category":
        return pd.Categorical(labels, categories=task.categories)
    if task.dtype in ("Int64", "string", "boolean"):
        return pd.array([pd.NA if v is None else v for v in labels], dtype=task.dtype)
    if task.dtype == "float":
        return np.array([np.nan if v is None else v for v in labels], dtype=np.float64)
    if not task.missing and task.dtype != "object":
        return np.array(labels, dtype=task.int_dtype if task.base == "int" else None)
    out = np.empty(len(labels), dtype=object)
    for i, v in enumerate(labels):
        out[i] = task.marker if v is None else v
    return out


def as_float(task: Task) -> Task:
    """The task as a column of a float 2-D array (its int labels become floats)."""

    def conv(values):
        return None if values is None else [None if v is None else float(v) for v in values]

    return replace(
        task,
        dtype="float",
        base="float",
        labels=conv(task.labels),
        classes=conv(task.classes),
        fixed=conv(task.fixed),
    )


# ------------------------------------------------------------ containers


@st.composite
def row_index(draw, n: int) -> pd.Index:
    how = draw(st.sampled_from(["range", "shifted", "shuffled"]))
    if how == "range":
        return pd.RangeIndex(n)
    if how == "shifted":
        return pd.RangeIndex(1000, 1000 + n)
    return pd.Index(np.random.default_rng(n).permutation(n) + 500)


def as_list(task: Task) -> tuple[list, Task]:
    """The task's labels as a list; numpy reads ``[1, nan]`` or ``[True, nan]``
    as floats, so int and bool labels mark a missing one by None there."""
    if task.base in ("int", "bool") and task.marker is np.nan:
        task = replace(task, marker=None)
    return list(column(task)), task


@st.composite
def dict_value(draw, task: Task):
    """``(value, task)``: a dict ``Y``'s value is the array itself, a Series of it, or a list."""
    options = ["array", "series"]
    if task.dtype not in ("category", "object"):  # a list drops the categories / the types
        options.append("list")
    how = draw(st.sampled_from(options))
    if how == "list":
        return as_list(task)
    values = column(task)
    if how == "series":
        return pd.Series(values, index=draw(row_index(len(values)))), task
    return values, task


@st.composite
def array_2d(draw, n: int, tasks: list):
    """``Y`` as a 2-D array: float with NaN, a typed array, or an object array."""
    bases = {t.base for t in tasks}
    if bases <= {"int", "float"} and "float" in bases:
        tasks = [as_float(t) for t in tasks]
        Y = np.column_stack([column(t) for t in tasks])
    elif len(bases) == 1 and bases <= {"int", "str", "bool"} and not any(t.missing for t in tasks):
        Y = np.column_stack([np.array(t.labels) for t in tasks])
    else:
        marker = draw(st.sampled_from(MISSING_MARKERS))
        tasks = [replace(t, marker=marker) for t in tasks]
        Y = np.empty((n, len(tasks)), dtype=object)
        for j, t in enumerate(tasks):
            for i, v in enumerate(t.labels):
                Y[i, j] = marker if v is None else v
    return Y, tasks


MULTI_KINDS = ("dict", "frame", "2d")
SINGLE_KINDS = ("ndarray", "list", "series", "extension")


@st.composite
def targets(draw, n: int, kind: str, defect=None):
    """``(Y, kind of Y, tasks, parameters, the defective task)`` of ``n`` rows."""
    params = {}
    if kind in MULTI_KINDS:
        n_tasks = draw(st.integers(1, 6))
        if kind == "2d":
            names = draw(st.sampled_from([None, [f"y{j}" for j in range(n_tasks)]]))
            if names is not None:
                params["task_names"] = names
            else:
                names = [f"task_{j}" for j in range(n_tasks)]
        else:
            names = draw(st.sampled_from([[f"t{j}" for j in range(n_tasks)], list(range(n_tasks))]))
        dtypes = ARRAY_DTYPES if kind == "2d" else DTYPES
        complete = False
        if kind == "2d" and draw(st.booleans()):  # one label type: often a typed array
            dtypes = (draw(st.sampled_from(dtypes)),)
            complete = draw(st.booleans())
        bad_at = draw(st.integers(0, n_tasks - 1)) if defect else -1
        tasks = []
        for j, name in enumerate(names):
            bad = defect if j == bad_at else None
            # every task but the first may be a fixed-classes task without labels
            task = draw(
                task_labels(
                    n,
                    dtypes,
                    defect=bad,
                    complete=complete and not bad,
                    empty=j > 0 and not complete,
                )
            )
            tasks.append(replace(task, name=name))
        if kind == "dict":
            values = [draw(dict_value(t)) for t in tasks]
            tasks = [t for _, t in values]
            Y = {t.name: value for value, t in values}
        elif kind == "frame":
            Y = pd.DataFrame({t.name: column(t) for t in tasks}, index=draw(row_index(n)))
        else:
            Y, tasks = draw(array_2d(n, tasks))
        fixed = {t.name: t.fixed for t in tasks if t.fixed is not None}
        if fixed:
            params["classes"] = fixed
        return Y, ("2d" if kind == "2d" else kind), tasks, params, tasks[bad_at] if defect else None
    dtypes = {"series": DTYPES, "extension": EXTENSION_DTYPES}.get(kind, ARRAY_DTYPES)
    task = draw(task_labels(n, dtypes, defect=defect))
    name = "task_0"
    if kind == "series":
        series_name = draw(st.sampled_from([None, "y", 0]))
        Y = pd.Series(column(task), name=series_name, index=draw(row_index(n)))
        name = series_name if isinstance(series_name, str) else name
    elif kind == "list":
        Y, task = as_list(task)
    else:
        Y = column(task)
    if draw(st.booleans()):
        params["task_names"] = ["label"]
        name = "label"
    task = replace(task, name=name)
    if task.fixed is not None:
        params["classes"] = draw(st.sampled_from([task.fixed, {name: task.fixed}]))
    return Y, "1d", [task], params, task if defect else None


# ----------------------------------------------------------------- inputs

X_DTYPES = ("float32", "float64", "int64", "int32")
LAYOUTS = ("array", "frame", "csr", "nd")


@st.composite
def features(draw, n: int, dtypes=X_DTYPES, non_finite=False):
    """``(X, module, expected error message or None)``."""
    layout = draw(st.sampled_from(LAYOUTS))
    dtype = draw(st.sampled_from(dtypes))
    shape = (n, 2, 3) if layout == "nd" else (n, draw(st.integers(1, 6)))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if dtype.startswith("int"):
        values = rng.integers(-5, 6, size=shape).astype(dtype)
    else:
        scale = draw(st.sampled_from([1.0, 1e3, 1e-3]))
        values = (rng.normal(size=shape) * scale).astype(dtype)
    if layout == "csr":
        values[rng.random(shape) < 0.5] = 0
    message = None
    if non_finite:
        bad = [np.nan, np.inf, -np.inf] + ([1e39] if dtype == "float64" else [])
        flat = values.reshape(n, -1)
        for _ in range(draw(st.integers(1, 3))):
            row, col = rng.integers(n), rng.integers(flat.shape[1])
            flat[row, col] = draw(st.sampled_from(bad))
        message = non_finite_message(values, layout)
    if layout == "nd":
        module = draw(st.sampled_from([FlatTrunk, ConvTrunk, "instance"]))
        module = ConvTrunk() if module == "instance" else module
    else:
        module = draw(st.sampled_from([None, None, FlatTrunk]))
    if layout == "frame":
        X = pd.DataFrame(values, columns=[f"f{j}" for j in range(shape[1])])
        X.index = draw(row_index(n))
    elif layout == "csr":
        X = draw(st.sampled_from([sp.csr_matrix, sp.csr_array]))(values)
    else:
        X = values
    return X, module, message


def non_finite_message(values: np.ndarray, layout: str) -> str:
    """The start of the documented error for NaN or infinity in ``X``."""
    with np.errstate(over="ignore"):
        flat = values.reshape(len(values), -1).astype(np.float32)
    where = "flattened feature(s)" if layout == "nd" else "column(s)"
    found = []
    for what, test in (
        ("NaN", np.isnan),
        ("infinity (or a value too large for float32)", np.isinf),
    ):
        cols = np.flatnonzero(test(flat).any(axis=0))
        if len(cols):
            shown = [f"f{c}" for c in cols] if layout == "frame" else cols.tolist()
            found.append(f"{what} in {where} {shown}")
    return (
        f"Input X contains {' and '.join(found)}. MultiTaskClassifier cannot use missing or "
        "infinite feature values"
    )


@dataclass
class Case:
    X: object
    Y: object
    kind: str  # "dict", "frame", "2d" or "1d"
    tasks: list
    params: dict
    bad: Task | None = None
    x_message: str | None = None

    def __repr__(self):
        X = self.X
        dtype = X.dtypes.iloc[0] if isinstance(X, pd.DataFrame) else X.dtype
        what = f"{type(X).__name__} {dtype} {X.shape}"
        tasks = "\n    ".join(repr(t) for t in self.tasks)
        return (
            f"Case(X={what}, Y={type(self.Y).__name__} ({self.kind}), params={self.params!r},\n"
            f"    {tasks})"
        )


@st.composite
def cases(draw, kinds, *, defect=None, x_dtypes=X_DTYPES, non_finite=False, other_rows=False):
    if isinstance(defect, st.SearchStrategy):
        defect = draw(defect)
    n = draw(st.integers(20, 80))
    X, module, x_message = draw(features(n, x_dtypes, non_finite))
    m = n
    if other_rows:  # 20..80 but not n
        m = draw(st.integers(20, 79))
        m += m >= n
    kind = draw(st.sampled_from(kinds))
    Y, y_kind, tasks, params, bad = draw(targets(m, kind, defect))
    params = {
        "hidden_units": (8,),
        "max_epochs": draw(st.integers(1, 2)),
        "batch_size": draw(st.sampled_from(["auto", 4, 8, 16])),
        "random_state": draw(st.integers(0, 3)),
        **params,
    }
    if module is not None:
        params["module"] = module
    if draw(st.booleans()):
        params["train_split"] = None  # else the default internal validation split
    return Case(X, Y, y_kind, tasks, params, bad, x_message)


# ---------------------------------------------------------------- checks

_IS = {
    "int": lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)),
    "float": lambda v: isinstance(v, (float, np.floating)),
    "bool": lambda v: isinstance(v, (bool, np.bool_)),
    "str": lambda v: isinstance(v, str),
}
_KINDS = {"int": "iu", "float": "f", "bool": "b", "str": "U"}


def assert_labels_of_type(values, base: str, what: str) -> None:
    """``values`` hold plain labels of type ``base`` (int labels as ints, ...)."""
    values = np.asarray(values)
    if values.dtype == object:
        wrong = [v for v in values.tolist() if not _IS[base](v)]
        assert not wrong, f"{what}: {base} labels expected, got {wrong[:3]!r}"
    else:
        assert values.dtype.kind in _KINDS[base], f"{what}: dtype {values.dtype} for {base} labels"


def fit_recording_warnings(clf, X, Y) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, Y)
    unexpected = [w for w in caught if issubclass(w.category, (FutureWarning, DivergenceWarning))]
    assert not unexpected, [str(w.message) for w in unexpected]
    return [str(w.message) for w in caught]


def predicted_labels(case: Case, pred) -> dict:
    """Check the container and dtypes of ``predict``'s answer; return ``{task: labels}``."""
    X, Y, tasks = case.X, case.Y, case.tasks
    n, names = X.shape[0], [t.name for t in tasks]
    if case.kind == "dict":
        assert isinstance(pred, dict) and list(pred) == names
        for t in tasks:
            assert isinstance(pred[t.name], np.ndarray) and pred[t.name].shape == (n,)
            assert_labels_of_type(pred[t.name], t.base, f"predict()[{t.name!r}]")
        return {t.name: pred[t.name].tolist() for t in tasks}
    if case.kind == "frame":
        assert isinstance(pred, pd.DataFrame) and list(pred.columns) == names
        index = X.index if isinstance(X, pd.DataFrame) else pd.RangeIndex(n)
        pd.testing.assert_index_equal(pred.index, index)
        for t in tasks:
            given, got = Y[t.name].dtype, pred[t.name].dtype
            if isinstance(given, np.dtype) and given.kind == "O":
                # labels mixed with None: the labels' own type, without the None
                assert_labels_of_type(pred[t.name].to_numpy(), t.base, f"predict()[{t.name!r}]")
            else:  # same dtypes as Y: categorical, nullable, numpy
                assert got == given, f"predict()[{t.name!r}] has dtype {got}, Y had {given}"
                assert_labels_of_type(pred[t.name].to_numpy(), t.base, f"predict()[{t.name!r}]")
            if isinstance(given, pd.CategoricalDtype):
                assert list(pred[t.name].cat.categories) == list(given.categories)
        return {t.name: pred[t.name].tolist() for t in tasks}
    if case.kind == "2d":
        assert isinstance(pred, np.ndarray) and pred.shape == (n, len(tasks))
        if Y.dtype.kind == "U":  # as wide as the longest class (classes= may be longer)
            assert pred.dtype.kind == "U" and pred.dtype.itemsize >= Y.dtype.itemsize
        else:
            assert pred.dtype == Y.dtype, f"predict() has dtype {pred.dtype}, Y had {Y.dtype}"
        for j, t in enumerate(tasks):
            assert_labels_of_type(pred[:, j], t.base, f"predict()[:, {j}]")
        return {t.name: pred[:, j].tolist() for j, t in enumerate(tasks)}
    (t,) = tasks
    assert isinstance(pred, np.ndarray) and pred.shape == (n,)
    assert_labels_of_type(pred, t.base, "predict()")
    return {t.name: pred.tolist()}


def check_valid_case(case: Case) -> None:
    X, Y, tasks = case.X, case.Y, case.tasks
    n, names = X.shape[0], [t.name for t in tasks]
    clf = MultiTaskClassifier(**case.params)
    messages = fit_recording_warnings(clf, X, Y)

    # rows without any label are dropped, with the number in a warning
    n_empty = sum(all(t.labels[i] is None for t in tasks) for i in range(n))
    dropped = [m for m in messages if "that have no label for any task" in m]
    expected = f"Dropped {n_empty} row(s) of Y that have no label for any task."
    assert dropped == ([expected] if n_empty else [])
    # a task without labels but with fixed classes keeps an untrained head, with a warning
    untrained = [t.name for t in tasks if all(v is None for v in t.labels)]
    for name in untrained:
        warning = (
            f"Task {name!r} has no labels in Y; its head is built from classes= but not trained."
        )
        assert warning in messages

    # fitted attributes: tasks, classes in the promised order, input shape
    assert clf.tasks_ == names
    if case.kind == "1d":
        assert isinstance(clf.classes_, np.ndarray)
        classes = {names[0]: clf.classes_}
    else:
        assert isinstance(clf.classes_, dict) and list(clf.classes_) == names
        classes = clf.classes_
    for t in tasks:
        assert classes[t.name].tolist() == t.classes, f"classes_[{t.name!r}]"
        assert_labels_of_type(classes[t.name], t.base, f"classes_[{t.name!r}]")
    if getattr(X, "ndim", 2) == 3:
        assert clf.input_shape_ == (2, 3) and clf.n_features_in_ == 6
    else:
        assert not hasattr(clf, "input_shape_") and clf.n_features_in_ == X.shape[1]

    # predict: the promised container and dtypes, and only fitted classes
    predicted = predicted_labels(case, clf.predict(X))
    for t in tasks:
        unknown = set(predicted[t.name]) - set(t.classes)
        assert not unknown, f"task {t.name!r} predicts {unknown}, not among {t.classes}"
    # steer the search towards predictions of declared classes that no row has
    # (of tasks that have labels)
    trained = [t for t in tasks if (t.fixed or t.categories) and t.name not in untrained]
    unseen = sum(v not in set(t.labels) for t in trained for v in predicted[t.name])
    target(unseen / n, label="predictions of declared but unseen classes")

    # predict_proba: distributions over classes_, predict at their maximum
    proba = clf.predict_proba(X)
    if case.kind == "1d":
        assert isinstance(proba, np.ndarray)
        probas = {names[0]: proba}
    else:
        assert isinstance(proba, dict) and list(proba) == names
        probas = proba
    for t in tasks:
        p = probas[t.name]
        assert p.shape == (n, len(t.classes))
        assert np.all(p >= 0) and np.abs(p.sum(axis=1) - 1).max() <= 1e-5
        position = {c: j for j, c in enumerate(classes[t.name].tolist())}
        codes = [position[v] for v in predicted[t.name]]
        np.testing.assert_array_equal(p[np.arange(n), codes], p.max(axis=1))

    # score: mean over tasks of the accuracy on the labelled rows (tasks with labels)
    accuracies = [
        np.mean([p == y for p, y in zip(predicted[t.name], t.labels, strict=True) if y is not None])
        for t in tasks
        if t.name not in untrained
    ]
    assert clf.score(X, Y) == pytest.approx(float(np.mean(accuracies)), rel=0, abs=1e-12)

    # pickle: the restored model answers identically
    restored = pickle.loads(pickle.dumps(clf))
    again = restored.predict_proba(X)
    for t in tasks:
        got = again if case.kind == "1d" else again[t.name]
        np.testing.assert_array_equal(got, probas[t.name])
    assert predicted_labels(case, restored.predict(X)) == predicted


def check_refused(case: Case, message: str) -> None:
    clf = MultiTaskClassifier(**case.params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match=message):
            clf.fit(case.X, case.Y)
    with pytest.raises(NotFittedError):  # a failed fit leaves no half-fitted model
        clf.predict(case.X)


# ------------------------------------------------------------ properties


@given(case=cases(MULTI_KINDS))
def test_multi_task_targets_fit_predict_score_and_pickle(case):
    """dict, DataFrame and 2-D ``Y``: every valid draw fits and answers as promised."""
    check_valid_case(case)


@given(case=cases(("ndarray", "list", "series")))
def test_single_task_targets_fit_predict_score_and_pickle(case):
    """1-D ``Y`` as an array, a list or a Series (of any dtype)."""
    check_valid_case(case)


@given(case=cases(("extension",)))
def test_single_task_extension_arrays_fit_predict_score_and_pickle(case):
    """1-D ``Y`` as ``pd.Categorical`` or ``pd.array`` (Int64, string, boolean)."""
    check_valid_case(case)


ALL_KINDS = MULTI_KINDS + SINGLE_KINDS


@given(case=cases(ALL_KINDS, defect="one_class"))
def test_a_task_with_a_single_class_is_refused(case):
    """One observed class and no declared ones (a categorical declaring just it)."""
    t = case.bad
    label = next(v for v in t.labels if v is not None)
    message = (
        f"Task {t.name!r} has only one class ({label!s}) in Y at fit; a classifier needs at "
        "least two classes."
    )
    check_refused(case, re.escape(message))


@given(case=cases(ALL_KINDS, defect="no_labels"))
def test_a_task_without_labels_is_refused(case):
    """Without fixed classes; with them, the valid tests draw such tasks too."""
    name = case.bad.name
    message = (
        f"Task {name!r} has no labels in Y (every entry is missing); drop the task, give it "
        f"labelled rows, or fix its classes with classes={{{name!r}: [...]}} to keep its head "
        "(e.g. in a cross-validation fold)."
    )
    check_refused(case, re.escape(message))


@given(
    case=cases(MULTI_KINDS + ("ndarray", "series"), defect=st.sampled_from(["mixed", "continuous"]))
)
def test_mixed_or_continuous_labels_are_refused(case):
    """Not for lists: numpy turns ``[True, 1]`` into ints before skmtl sees them."""
    t = case.bad
    if t.base == "mixed":
        kinds = sorted({type(v).__name__ for v in t.labels if v is not None})
        message = re.escape(
            f"Task {t.name!r} mixes label types {kinds}; give every label of a task the same type"
        )
    else:
        message = re.escape(f"Unknown label type: continuous labels in task {t.name!r} (e.g. ")
    check_refused(case, message)


@given(case=cases(ALL_KINDS, other_rows=True), data=st.data())
def test_y_with_another_number_of_rows_is_refused(case, data):
    n, m = case.X.shape[0], len(case.tasks[0].labels)
    if case.kind == "dict" and len(case.tasks) > 1 and data.draw(st.booleans(), "ragged"):
        # one task shorter than the others: refused before X is compared
        name = case.tasks[-1].name
        cut = data.draw(st.integers(1, m - 1), "cut")
        values = case.Y[name]
        case.Y[name] = values.iloc[:-cut] if isinstance(values, pd.Series) else values[:-cut]
        lengths = {t.name: m for t in case.tasks} | {name: m - cut}
        message = f"The tasks in Y have different lengths: {lengths}."
    else:
        message = f"X has {n} rows but Y has {m}; give one row of Y per row of X"
    check_refused(case, re.escape(message))


@given(case=cases(ALL_KINDS, x_dtypes=("float32", "float64"), non_finite=True))
def test_nan_or_infinity_in_X_is_refused(case):
    """NaN, infinity or (float64) values beyond float32, named by column."""
    check_refused(case, re.escape(case.x_message))
