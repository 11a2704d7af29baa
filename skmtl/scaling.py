"""The numeric-feature scaling fitted inside the estimator (``feature_scaling``)."""

from __future__ import annotations

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.preprocessing import QuantileTransformer, RobustScaler, StandardScaler

FEATURE_SCALINGS = ("quantile", "standard", "robust", None)


def make_feature_scaler(
    kind: str | None, n_rows: int, random_state=None
) -> TransformerMixin | None:
    """The unfitted scikit-learn transformer behind ``feature_scaling=kind``.

    ``"quantile"`` maps each feature through its empirical CDF to a standard
    normal, which makes heavy tails, skew and odd units harmless to an MLP
    (the preprocessing of the TabM and RTDL papers); the number of quantiles
    follows the data size so that small tables get a smooth map.
    ``"standard"`` and ``"robust"`` are scikit-learn's scalers; ``None``
    leaves the features as given.
    """
    if kind is None or kind == "none":
        return None
    if kind == "quantile":
        return QuantileTransformer(
            n_quantiles=int(min(n_rows, np.clip(n_rows // 30, 10, 1000))),
            output_distribution="normal",
            random_state=random_state,
        )
    if kind == "standard":
        return StandardScaler()
    if kind == "robust":
        return RobustScaler()
    raise ValueError(f"feature_scaling must be one of {FEATURE_SCALINGS}; got {kind!r}.")


def scale_features(scaler: TransformerMixin, X: np.ndarray) -> np.ndarray:
    """``X`` through a fitted scaler, as the C-contiguous float32 the network takes."""
    return np.ascontiguousarray(scaler.transform(X), dtype=np.float32)
