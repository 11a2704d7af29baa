"""Helpers that the tests import: small, fast estimator configurations, learnable
synthetic data, an interrupting callback and a runner for a page's code blocks.
(Fixtures are in ``conftest.py``; pytest puts this folder on ``sys.path``.)"""

from __future__ import annotations

import re

import numpy as np
from skorch.callbacks import Callback

from skmtl import MultiTaskClassifier, MultiTaskValidSplit


class StopAfter(Callback):
    """Interrupts a fit after ``epochs`` epochs of history, as Ctrl-C would."""

    def __init__(self, epochs):
        self.epochs = epochs

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epochs:
            raise KeyboardInterrupt


def exactly(message: str) -> str:
    """A ``pytest.raises(match=...)`` pattern for exactly ``message``."""
    return "^" + re.escape(message) + "$"


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


def run_python_blocks(path, min_blocks: int = 1) -> dict:
    """Run a Markdown page's ```python blocks in order, in one namespace."""
    blocks = re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)
    assert len(blocks) >= min_blocks
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, str(path), "exec"), namespace)
    return namespace


def ddp_settings() -> dict:
    """The settings of the distributed fit and of the one-process fit it is
    compared with (tests/distributed): the same effective batch of 64 rows."""
    return dict(
        hidden_units=(32,),
        max_epochs=8,
        lr=0.01,
        batch_size=64,
        random_state=0,
        n_threads=1,
        dropout=0.0,
        train_split=MultiTaskValidSplit(0.2),
        verbose=0,
    )
