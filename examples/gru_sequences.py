"""A recurrent (GRU) trunk on sequences, trained on two tasks.

Each sample is a sequence of ``T = 20`` time steps with ``F = 3`` features,
so ``X`` has shape ``(n_samples, 20, 3)``; skmtl hands each batch to the
trunk in that shape. The trunk runs a GRU over the time steps and returns
its last hidden state, one ``(batch, hidden)`` vector per sequence, which
the two heads that skmtl adds read:

* ``trend``: whether feature 0 drifts upwards over time (the sum of its
  second half exceeds that of its first half);
* ``peak``: whether feature 1 reaches its maximum in the first half.

Feature 0 is a random walk with a random drift, feature 1 is noise with one
spike at a random time step, feature 2 is noise; all are drawn from a seeded
NumPy generator. Run it with ``python examples/gru_sequences.py``; it needs no
download.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split
from torch import nn

from skmtl import MultiTaskClassifier


class GRUTrunk(nn.Module):
    """A GRU over ``(batch, T, input_size)`` sequences; its last hidden state
    is the ``(batch, hidden_size)`` representation the tasks share."""

    def __init__(self, input_size: int = 3, hidden_size: int = 32):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True)
        self.out_features = hidden_size

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        _, hidden = self.gru(X)  # hidden: (num_layers, batch, hidden_size)
        return hidden[-1]


def make_sequences(
    n: int = 600, length: int = 20, n_features: int = 3, seed: int = 0
) -> tuple[np.ndarray, pd.DataFrame]:
    """Sequences ``X`` of shape ``(n, length, n_features)`` (float32) and a
    DataFrame of the two tasks."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, length, n_features))
    # feature 0: a random walk with a drift up or down
    drift = rng.choice([-0.3, 0.3], size=(n, 1))
    X[:, :, 0] = np.cumsum(X[:, :, 0] * 0.5 + drift, axis=1)
    # feature 1: noise with one spike at a random time step
    X[np.arange(n), rng.integers(length, size=n), 1] += 3.0
    half = length // 2
    Y = pd.DataFrame(
        {
            "trend": X[:, half:, 0].sum(axis=1) > X[:, :half, 0].sum(axis=1),
            "peak": X[:, :, 1].argmax(axis=1) < half,
        }
    )
    return X.astype(np.float32), Y


def main(max_epochs: int = 30, hidden_size: int = 32, random_state: int = 0) -> dict:
    """Fit on 75% of the sequences; the per-task test accuracy."""
    X, Y = make_sequences(seed=random_state)
    X_train, X_test, Y_train, Y_test = train_test_split(
        X, Y, test_size=0.25, random_state=random_state
    )
    clf = MultiTaskClassifier(
        module=GRUTrunk,
        module__input_size=X.shape[2],
        module__hidden_size=hidden_size,
        max_epochs=max_epochs,
        lr=1e-2,
        batch_size=32,
        random_state=random_state,
    )
    clf.fit(X_train, Y_train)
    return clf.score_tasks(X_test, Y_test)


if __name__ == "__main__":
    for task, accuracy in main().items():
        print(f"{task:>5}: test accuracy {accuracy:.3f}")
