"""The default feature scaling: quantile-normal for numbers, 0/1 columns as they are."""

from __future__ import annotations

import numpy as np
from sklearn.preprocessing import QuantileTransformer
from sklearn.utils.validation import check_is_fitted


def two_valued_columns(values: np.ndarray) -> np.ndarray:
    """Which columns of ``values`` hold at most two distinct values (NaN aside
    makes a column many-valued): one-hot columns, flags, constants."""
    low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
    return ((values == low) | (values == high)).all(axis=0)


class TabularQuantileTransformer(QuantileTransformer):
    """scikit-learn's ``QuantileTransformer`` that leaves two-valued columns alone.

    Every column with more than two values in ``fit`` goes through its
    empirical CDF to the output distribution, as in the parent class. A
    column with at most two values (a one-hot column, a flag) keeps its
    values: the quantile map would send a rare category's 1 to the far tail
    of a normal (about 5.2), where it dominates the first layer.

    Parameters
    ----------
    As :class:`sklearn.preprocessing.QuantileTransformer`.

    Attributes
    ----------
    passthrough_ : ndarray of bool, shape (n_features,)
        The columns left as they are.

    Examples
    --------
    >>> import numpy as np
    >>> from skmtl.scaling import TabularQuantileTransformer
    >>> X = np.column_stack([np.arange(10.0), np.r_[np.zeros(9), 1.0]])
    >>> scaler = TabularQuantileTransformer(n_quantiles=10).fit(X)
    >>> scaler.passthrough_.tolist()
    [False, True]
    >>> scaler.transform(X)[-1, 1]
    np.float64(1.0)
    """

    def fit(self, X, y=None):
        super().fit(X, y)
        self.passthrough_ = two_valued_columns(
            X.toarray() if hasattr(X, "toarray") else np.asarray(X)
        )
        return self

    def transform(self, X):
        check_is_fitted(self, "passthrough_")
        out = super().transform(X)
        if self.passthrough_.any():
            out[:, self.passthrough_] = np.asarray(X)[:, self.passthrough_]
        return out

    def inverse_transform(self, X):
        out = super().inverse_transform(X)
        if self.passthrough_.any():
            out[:, self.passthrough_] = np.asarray(X)[:, self.passthrough_]
        return out
