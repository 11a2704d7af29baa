"""Training across processes and GPUs with Accelerate (``pip install skmtl[accelerate]``)."""

from ._accelerate import AcceleratedMultiTaskClassifier, AcceleratedMultiTaskRegressor

__all__ = ["AcceleratedMultiTaskClassifier", "AcceleratedMultiTaskRegressor"]
