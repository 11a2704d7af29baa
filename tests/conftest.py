"""Shared data and small, fast estimator configurations for the tests."""

import numpy as np
import pytest

from skmtl import MultiTaskClassifier
from skmtl.datasets import load_penguins


def make_clf(**params) -> MultiTaskClassifier:
    """A small network that trains in well under a second."""
    defaults = dict(hidden_units=(16,), max_epochs=5, lr=0.01, batch_size=64, random_state=0)
    return MultiTaskClassifier(**{**defaults, **params})


def make_tasks(n: int = 240, n_features: int = 6, seed: int = 0):
    """Learnable synthetic data: three tasks of different label types."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    Y = {
        "binary": (X[:, 0] + X[:, 1] > 0).astype(int),
        "colour": np.array(["red", "green", "blue"])[np.digitize(X[:, 2] - X[:, 3], [-0.5, 0.5])],
        "flag": X[:, 4] > 0,
    }
    return X, Y


@pytest.fixture
def tasks_data():
    return make_tasks()


@pytest.fixture(scope="session")
def penguins():
    """Penguins with complete measurements, standardised; sex has missing labels."""
    X, Y = load_penguins(return_X_y=True)
    keep = X.notna().all(axis=1).to_numpy()
    X, Y = X[keep].reset_index(drop=True), Y[keep].reset_index(drop=True)
    X = (X - X.mean()) / X.std()
    return X, Y
