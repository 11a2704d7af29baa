"""Saving and serving: the safe model file (``save``/``load``) and ONNX export."""

from ._model_file import load, save
from ._onnx import to_onnx

__all__ = [
    "load",
    "save",
    "to_onnx",
]
