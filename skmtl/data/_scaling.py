"""Feature scaling: the scalers behind ``feature_scaling`` (quantile-normal for
numbers, 0/1 columns as they are, by default) and the embedding's bins."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import TransformerMixin
from sklearn.preprocessing import MaxAbsScaler, QuantileTransformer, RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from ._mapped import blocks, is_mapped, sample_rows


def two_valued_columns(values: np.ndarray) -> np.ndarray:
    """Which columns of ``values`` hold at most two distinct values (NaN aside
    makes a column many-valued): one-hot columns, flags, constants. A
    memory-mapped ``values`` is read a block of rows at a time."""
    if is_mapped(values):  # one pass for each column's ends, one to test every value
        ends = [(np.nanmin(block, axis=0), np.nanmax(block, axis=0)) for block in blocks(values)]
        low = np.fmin.reduce([lo for lo, _ in ends])
        high = np.fmax.reduce([hi for _, hi in ends])
        tests = [((block == low) | (block == high)).all(axis=0) for block in blocks(values)]
        return np.logical_and.reduce(tests)
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
    >>> from skmtl.data import TabularQuantileTransformer
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


#: The scalers of the explicit ``feature_scaling`` settings.
SCALERS = {
    "quantile": TabularQuantileTransformer,
    "standard": StandardScaler,
    "robust": RobustScaler,
    "maxabs": MaxAbsScaler,
}

#: The settings that keep a sparse matrix sparse.
SPARSE_SAFE = ("maxabs", None)


def make_feature_scaler(kind: str | None, n_rows: int, random_state=None):
    """The unfitted transformer behind a resolved ``feature_scaling``, or None.

    ``"quantile"`` maps each feature through its empirical CDF to a standard
    normal, which makes heavy tails, skew and odd units harmless to an MLP
    (the preprocessing of the TabM and RTDL papers), and leaves 0/1 columns
    as they are (:class:`TabularQuantileTransformer`); the number of
    quantiles follows the data size so that small tables get a smooth map.
    ``"standard"``, ``"robust"`` and ``"maxabs"`` are scikit-learn's scalers.
    """
    if kind is None:
        return None
    if kind == "quantile":
        return TabularQuantileTransformer(
            n_quantiles=int(min(n_rows, np.clip(n_rows // 30, 10, 1000))),
            output_distribution="normal",
            random_state=random_state,
        )
    return SCALERS[kind]()


def restore_scaler(cls: type, params: dict, attributes: dict) -> TransformerMixin:
    """A fitted scaler of class ``cls`` rebuilt from its parameters and fitted
    attributes, through its own ``__setstate__`` (scikit-learn's pickling
    protocol), as unpickling would."""
    scaler = cls(**params)
    scaler.__setstate__({**scaler.__getstate__(), **attributes})
    return scaler


def scale_features(scaler: TransformerMixin, X):
    """``X`` through a fitted scaler: C-contiguous float32, or CSR float32 if sparse."""
    out = scaler.transform(X)
    if sp.issparse(out):
        return sp.csr_matrix(out, dtype=np.float32)
    return np.ascontiguousarray(out, dtype=np.float32)


def quantile_bins(X, scaler, columns: list[int], n_bins: int) -> list[list[float]]:
    """The quantile bin edges of each column in ``columns`` of the training
    ``X`` through the fitted ``scaler`` (or None), by
    ``rtdl_num_embeddings.compute_bins``, read off a sample of at most
    :data:`~skmtl.data._mapped.SAMPLE_ROWS` rows (only those are scaled
    here); as lists of floats, so that they pickle and save as JSON."""
    from rtdl_num_embeddings import compute_bins

    X = sample_rows(X)
    if scaler is not None:
        X = scale_features(scaler, X)
    values = torch.as_tensor(np.ascontiguousarray(X[:, columns], dtype=np.float32))
    # at most one bin per two rows: a small table gets bins it can fill
    n_bins = max(1, min(n_bins, len(X) // 2))
    return [edges.tolist() for edges in compute_bins(values, n_bins)]
