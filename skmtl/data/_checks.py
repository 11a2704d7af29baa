"""Input checks for X, built on scikit-learn's ``validate_data`` and ``check_array``."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import check_array, validate_data

from ..utils import user_stacklevel
from ._mapped import blocks, is_mapped


def _non_numeric_message(estimator, columns=None) -> str:
    name = type(estimator).__name__
    which = f"non-numeric columns {columns}" if columns else "non-numeric values"
    cols = columns if columns else "[...non-numeric columns...]"
    return (
        f"X has {which}; {name} needs numeric features. Encode them first: "
        "skmtl.make_tabular_pipeline(X) builds the pipeline from X's dtypes, or "
        "use a ColumnTransformer that one-hot encodes them: make_pipeline("
        f"make_column_transformer((OneHotEncoder(), {cols}), remainder='passthrough'), "
        f"{name}(...))."
    )


def _numeric_column(column: pd.Series, dtype) -> bool:
    """Whether a DataFrame's column is numbers: a numeric or bool dtype, or
    an object column that holds only numbers (as scikit-learn converts it)."""
    if pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype):
        return True
    if not pd.api.types.is_object_dtype(dtype):
        return False
    try:
        np.asarray(column, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _is_nd(X) -> bool:
    if sp.issparse(X) or isinstance(X, pd.DataFrame):
        return False
    shape = getattr(X, "shape", None)
    return len(shape) > 2 if shape is not None else np.asarray(X).ndim > 2


def _check_nd(estimator, X, *, reset: bool) -> np.ndarray:
    """N-D ``X`` (images, sequences): only with a custom trunk; after fit,
    its trailing shape must match ``input_shape_``."""
    if reset and estimator.module is not None and estimator.architecture != "shared":
        raise ValueError(
            f"X has shape {np.shape(X)}: architecture={estimator.architecture!r} builds "
            "MLP experts, which take 2-D X (n_samples, n_features). Use architecture="
            "'shared' with your trunk for images or sequences, or reshape X to 2-D."
        )
    if reset and estimator.module is None:
        raise ValueError(
            f"X has shape {np.shape(X)}: the default MLP trunk and the "
            f"{estimator.architecture!r} architecture take 2-D X (n_samples, "
            "n_features). Pass your own trunk for images or sequences, e.g. "
            f"{type(estimator).__name__}(module=MyCNN), or reshape X to 2-D."
        )
    X = check_array(X, allow_nd=True, dtype=(np.float32, np.float64), ensure_all_finite=False)
    shape = tuple(X.shape[1:])
    if not reset and getattr(estimator, "input_shape_", None) != shape:
        fitted = getattr(estimator, "input_shape_", (estimator.n_features_in_,))
        raise ValueError(_shape_message(estimator, X.shape, fitted))
    return X


def _shape_message(estimator, shape, fitted) -> str:
    return (
        f"X has shape {shape}, but {type(estimator).__name__} was fitted on samples "
        f"of shape {fitted}; give X of shape (n_samples, *{fitted})."
    )


def _bad_columns(X) -> tuple[np.ndarray, np.ndarray]:
    """The (flattened) columns of ``X`` holding NaN, and those holding infinity."""
    if sp.issparse(X):
        X = X.tocoo()
        return np.unique(X.col[np.isnan(X.data)]), np.unique(X.col[np.isinf(X.data)])
    flat = X.reshape(len(X), -1)
    return np.flatnonzero(np.isnan(flat).any(axis=0)), np.flatnonzero(np.isinf(flat).any(axis=0))


def _non_finite_message(estimator, X, bad=None) -> str:
    """The error for NaN or infinite values: ``bad``, the columns with each
    (found here when not given), named."""
    names = getattr(estimator, "feature_names_in_", None)
    where = "flattened feature(s)" if X.ndim > 2 else "column(s)"
    found = []
    bad = _bad_columns(X) if bad is None else bad
    for what, cols in zip(("NaN", "infinity (or a value too large for float32)"), bad, strict=True):
        if len(cols):
            shown = [names[c] for c in cols[:20]] if names is not None else cols[:20].tolist()
            found.append(f"{what} in {where} {shown}")
    return (
        f"Input X contains {' and '.join(found)}. {type(estimator).__name__} cannot "
        "use missing or infinite feature values: add an imputer in front of it, "
        "e.g. skmtl.make_tabular_pipeline(X) (which also encodes categorical "
        "columns) or make_pipeline(SimpleImputer(), ...), or drop those rows. (Missing "
        "labels in Y are fine: use NaN or None there.)"
    )


def _all_finite(values: np.ndarray) -> bool:
    # the sum is finite when every value is (no whole-size mask); an overflow
    # of large finite values falls back to the exact test
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(values.sum(dtype=np.float64)):
            return True
    return bool(np.isfinite(values).all())


def _check_mapped(estimator, X, *, reset: bool):
    """A memory-mapped ``X``, checked a block of rows at a time and returned
    as it is (still in its file): numeric, of the fitted shape, finite."""
    if X.dtype.kind not in "fiub":
        raise ValueError(_non_numeric_message(estimator))
    head = np.asarray(X[: min(len(X), 2)])
    if X.ndim > 2:
        _check_nd(estimator, head, reset=reset)
    else:
        validate_data(estimator, head, reset=reset, ensure_all_finite=False, ensure_min_samples=0)
    nan, inf = set(), set()
    for block in blocks(X):  # float32, as the network reads it
        if not _all_finite(block):
            cols = _bad_columns(block)
            nan.update(cols[0].tolist())
            inf.update(cols[1].tolist())
    if nan or inf:
        bad = (np.array(sorted(nan), dtype=int), np.array(sorted(inf), dtype=int))
        raise ValueError(_non_finite_message(estimator, X, bad))
    return X


def check_features(estimator, X, *, reset: bool):
    """Validate ``X`` as the network's float32 input.

    * 2-D tables (arrays, DataFrames): C-contiguous float32, with
      ``n_features_in_`` and ``feature_names_in_`` set (``reset=True``) or
      checked through scikit-learn.
    * sparse matrices or arrays of any format: CSR float32, never densified.
    * memory-mapped arrays (``np.load(path, mmap_mode="r")``): checked a
      block of rows at a time and returned as they are, never read whole.
    * N-D arrays (images ``(n, C, H, W)``, sequences ``(n, T, F)``), with a
      custom trunk: float32, its sample shape checked against
      ``input_shape_`` after fit (the estimator sets it in fit).

    Raises a ``ValueError`` naming the columns for non-numeric, NaN or
    infinite values, with the fix.
    """
    if is_mapped(X):
        if not reset and hasattr(estimator, "input_shape_") and X.ndim <= 2:
            raise ValueError(_shape_message(estimator, X.shape, estimator.input_shape_))
        return _check_mapped(estimator, X, reset=reset)
    if isinstance(X, Mapping) and not sp.issparse(X):  # a dok matrix is a dict too
        raise ValueError(
            f"X is a dict of arrays (keys {list(X)[:5]}); {type(estimator).__name__} takes "
            "one array: a table, a sparse matrix, or an N-D array for your own trunk. "
            "Stack the inputs into one array (e.g. np.hstack for tables) and split them "
            "inside your trunk's forward."
        )
    if isinstance(X, pd.DataFrame):
        bad = [col for col, dtype in X.dtypes.items() if not _numeric_column(X[col], dtype)]
        if bad:
            raise ValueError(_non_numeric_message(estimator, bad))
    if not reset and hasattr(estimator, "input_shape_") and not _is_nd(X):
        raise ValueError(_shape_message(estimator, np.shape(X), estimator.input_shape_))
    try:
        if _is_nd(X):
            X = _check_nd(estimator, X, reset=reset)
        else:
            X = validate_data(
                estimator,
                X,
                reset=reset,
                accept_sparse=("csr", "csc", "coo", "bsr", "lil", "dok", "dia"),
                dtype=(np.float32, np.float64),
                ensure_all_finite=False,
            )
    except ValueError as exc:
        if "could not convert" in str(exc):
            raise ValueError(_non_numeric_message(estimator)) from exc
        raise
    if sp.issparse(X):
        X = sp.csr_matrix(X, dtype=np.float32)  # keeps X's own buffers when already CSR float32
        values = X.data
    else:
        with np.errstate(over="ignore"):  # values past float32 become inf, reported below
            X = np.ascontiguousarray(X, dtype=np.float32)
        values = X
    if not _all_finite(values):
        raise ValueError(_non_finite_message(estimator, X))
    return X


def check_n_rows(X, codes: np.ndarray) -> None:
    """Raise if ``X`` and the encoded targets have different numbers of rows."""
    if X.shape[0] != len(codes):
        raise ValueError(
            f"X has {X.shape[0]} rows but Y has {len(codes)}; give one row of Y per "
            "row of X (use NaN or None for a missing label)."
        )


def check_target_shape(X, Y) -> None:
    """Before encoding: refuse a 2-D ``Y`` whose rows do not match ``X``,
    naming a transposed ``Y`` as such."""
    if isinstance(Y, Mapping):
        return  # the encoded targets' rows are checked after encoding
    shape, n = (Y.shape if isinstance(Y, pd.DataFrame) else np.asarray(Y).shape), X.shape[0]
    if len(shape) != 2:
        return
    if shape[0] != n and shape[1] == n:
        raise ValueError(
            f"Y has shape {shape} but X has {n} rows: Y looks transposed (one row per "
            "task). Pass Y.T, of shape (n_samples, n_tasks)."
        )
    if shape[0] != n:
        check_n_rows(X, np.empty(shape[0]))


#: Unscaled features beyond this magnitude get a warning: a network's first
#: layer saturates or overflows on them.
LARGE_VALUE = 1e6


def warn_large_values(X) -> None:
    """Warn when unscaled ``X`` holds values beyond :data:`LARGE_VALUE`."""
    values = X.data if sp.issparse(X) else X
    if not values.size:
        return
    largest = max(float(values.max()), -float(values.min()))
    if largest > LARGE_VALUE:
        warnings.warn(
            f"X has values of magnitude up to {largest:.3g} and is not scaled; a "
            "network trains poorly or diverges on such inputs. Scale X: keep "
            "feature_scaling='auto' for a table, or scale it before the estimator.",
            UserWarning,
            stacklevel=user_stacklevel(),
        )
