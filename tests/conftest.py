"""Shared data and small, fast estimator configurations for the tests."""

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from skorch.callbacks import Callback

from skmtl import MultiTaskClassifier, MultiTaskValidSplit
from skmtl.datasets import load_penguins

# Property tests: a small budget by default (CI); ``--hypothesis-profile=long``
# runs the full search recorded in docs/guarantees.md.
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("long", max_examples=2500, deadline=None, suppress_health_check=_SLOW_OK)
settings.load_profile("ci")


def pytest_addoption(parser):
    parser.addoption("--soak", action="store_true", help="run the long resource soak tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


class StopAfter(Callback):
    """Interrupts a fit after ``epochs`` epochs of history, as Ctrl-C would."""

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epochs:
            raise KeyboardInterrupt


def make_clf(**params) -> MultiTaskClassifier:
    """A small network that trains in well under a second, with a 20%
    validation split (the default recipe has none) for the history's
    validation scores."""
    defaults = dict(
        hidden_units=(16,),
        max_epochs=5,
        lr=0.01,
        batch_size=64,
        random_state=0,
        train_split=MultiTaskValidSplit(0.2),
    )
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


def run_python_blocks(path, min_blocks: int = 1) -> dict:
    """Run a Markdown page's ```python blocks in order, in one namespace."""
    import re

    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
    assert len(blocks) >= min_blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)
    return namespace
