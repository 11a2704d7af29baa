"""Datasets that ship with skmtl, loaded without any network access."""

from .penguins import load_penguins

__all__ = ["load_penguins"]
