"""The features ``X``: checks, scaling, memory-mapped tables, and the tensors the network reads."""

from ._checks import check_features, check_n_rows, check_target_shape, warn_large_values
from ._mapped import MappedRows, is_mapped, sample_rows
from ._scaling import (
    SCALERS,
    TabularQuantileTransformer,
    make_feature_scaler,
    quantile_bins,
    restore_scaler,
    scale_features,
    two_valued_columns,
)
from ._tensors import (
    HostData,
    MappedData,
    SparseData,
    TensorBatches,
    TensorData,
    dataset_matrix,
    eval_batch_size,
    loader,
    make_tensor_data,
    tensor_batches,
    tensor_view,
    uses_fast_path,
)

__all__ = [
    "HostData",
    "MappedData",
    "MappedRows",
    "is_mapped",
    "sample_rows",
    "SCALERS",
    "make_feature_scaler",
    "quantile_bins",
    "restore_scaler",
    "scale_features",
    "warn_large_values",
    "SparseData",
    "TabularQuantileTransformer",
    "TensorBatches",
    "TensorData",
    "check_features",
    "check_n_rows",
    "check_target_shape",
    "dataset_matrix",
    "eval_batch_size",
    "loader",
    "make_tensor_data",
    "tensor_batches",
    "tensor_view",
    "two_valued_columns",
    "uses_fast_path",
]
