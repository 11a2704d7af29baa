"""``make_tabular_pipeline``: a mixed-type DataFrame in, a fitted-ready Pipeline out."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder

from ._classifier import MultiTaskClassifier


def _column_kinds(X: pd.DataFrame) -> tuple[list, list]:
    numeric, categorical, unusable = [], [], []
    for col, dtype in X.dtypes.items():
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            numeric.append(col)
        elif (
            isinstance(dtype, pd.CategoricalDtype)
            or pd.api.types.is_object_dtype(dtype)
            or pd.api.types.is_string_dtype(dtype)
        ):
            categorical.append(col)
        else:
            unusable.append((col, str(dtype)))
    if unusable:
        raise ValueError(
            f"make_tabular_pipeline cannot encode column(s) {unusable}: turn them into "
            "numbers or categories first (for a datetime column, e.g. "
            "X[col].dt.dayofyear and X[col].dt.hour), or drop them."
        )
    return numeric, categorical


def make_tabular_pipeline(
    X: pd.DataFrame | np.ndarray,
    estimator: BaseEstimator | None = None,
    *,
    max_categories: int | None = 50,
) -> Pipeline:
    """Build the recommended pipeline for a table, its steps chosen from ``X``'s dtypes.

    Numeric and boolean columns get their NaN filled with the column median,
    plus a 0/1 indicator column for each column that had NaN in ``fit``;
    their scaling is the estimator's own ``feature_scaling``. Categorical
    columns (object, string and category dtypes) are one-hot encoded, NaN
    as a category of its own; categories unseen in ``fit`` encode as all
    zeros, and beyond ``max_categories`` per column the rarest share one
    column. Only the dtypes of ``X`` are read; nothing is fitted here.

    Parameters
    ----------
    X : DataFrame or array-like
        A sample of the features, e.g. the training data. An array counts
        as all numeric.
    estimator : estimator, default=None
        The last step; ``None`` uses ``MultiTaskClassifier()`` with its
        default recipe.
    max_categories : int or None, default=50
        Most one-hot columns per categorical column (``OneHotEncoder``'s
        ``max_categories``); ``None`` keeps every category.

    Returns
    -------
    sklearn.pipeline.Pipeline
        ``ColumnTransformer`` (imputer; one-hot encoder) followed by
        ``estimator``; tune it with ``GridSearchCV`` as any pipeline,
        e.g. ``{"multitaskclassifier__lr": [1e-3, 3e-3]}``.

    Examples
    --------
    >>> import pandas as pd
    >>> from skmtl import make_tabular_pipeline
    >>> X = pd.DataFrame({"age": [30.0, None, 50.0], "city": ["a", "b", None]})
    >>> pipe = make_tabular_pipeline(X)
    >>> [name for name, _ in pipe.steps]
    ['columntransformer', 'multitaskclassifier']
    """
    if estimator is None:
        estimator = MultiTaskClassifier()
    impute = SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True)
    if not isinstance(X, pd.DataFrame):
        return make_pipeline(impute, estimator)
    numeric, categorical = _column_kinds(X)
    onehot = OneHotEncoder(
        handle_unknown="infrequent_if_exist" if max_categories else "ignore",
        max_categories=max_categories,
        sparse_output=False,
        dtype=np.float32,
    )
    as_strings = FunctionTransformer(_categories_as_strings, feature_names_out="one-to-one")
    columns = ColumnTransformer(
        [
            ("numeric", impute, numeric),
            ("categorical", make_pipeline(as_strings, onehot), categorical),
        ],
        verbose_feature_names_out=False,
    )
    return make_pipeline(columns, estimator)


def _categories_as_strings(X) -> np.ndarray:
    """Categorical columns as strings, every kind of missing value (None, NaN,
    ``pd.NA``) as NaN: the one form ``OneHotEncoder`` sorts without error."""
    frame = pd.DataFrame(X).astype(object)
    return frame.astype(str).where(frame.notna(), np.nan).to_numpy()
