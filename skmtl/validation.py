"""Input checks for X, built on :func:`sklearn.utils.validation.validate_data`."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.utils.validation import validate_data


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


def check_features(estimator, X, *, reset: bool) -> np.ndarray:
    """Validate ``X`` and return it as a C-contiguous float32 array.

    Sets (``reset=True``) or checks ``n_features_in_`` and
    ``feature_names_in_`` through scikit-learn. Raises a ``ValueError``
    naming the columns for non-numeric, NaN or infinite values, with the fix.
    Sparse input is accepted and densified.
    """
    if isinstance(X, pd.DataFrame):
        bad = [
            col
            for col, dtype in X.dtypes.items()
            if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))
        ]
        if bad:
            raise ValueError(_non_numeric_message(estimator, bad))
    try:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            accept_sparse="csr",
            dtype=(np.float32, np.float64),
            ensure_all_finite=False,
        )
    except ValueError as exc:
        if "could not convert" in str(exc):
            raise ValueError(_non_numeric_message(estimator)) from exc
        raise
    if sp.issparse(X):
        X = X.toarray()
    with np.errstate(over="ignore"):  # values past float32 become inf, reported below
        X = np.ascontiguousarray(X, dtype=np.float32)
    if not np.isfinite(X).all():
        names = getattr(estimator, "feature_names_in_", None)

        def columns(mask):
            cols = np.flatnonzero(mask.any(axis=0))
            return [names[c] for c in cols][:20] if names is not None else cols.tolist()[:20]

        nan = np.isnan(X)
        found = []
        if nan.any():
            found.append(f"NaN in column(s) {columns(nan)}")
        if np.isinf(X).any():
            found.append(
                f"infinity (or a value too large for float32) in column(s) {columns(np.isinf(X))}"
            )
        raise ValueError(
            f"Input X contains {' and '.join(found)}. {type(estimator).__name__} cannot "
            "use missing or infinite feature values: add an imputer in front of it, "
            "e.g. skmtl.make_tabular_pipeline(X) (which also encodes categorical "
            "columns) or make_pipeline(SimpleImputer(), ...), or drop those rows. (Missing "
            "labels in Y are fine: use NaN or None there.)"
        )
    return X


def check_n_rows(X: np.ndarray, codes: np.ndarray) -> None:
    """Raise if ``X`` and the encoded targets have different numbers of rows."""
    if len(X) != len(codes):
        raise ValueError(
            f"X has {len(X)} rows but Y has {len(codes)}; give one row of Y per "
            "row of X (use NaN or None for a missing label)."
        )
