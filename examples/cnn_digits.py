"""A convolutional trunk on scikit-learn's bundled digits, trained on three tasks.

Each 8x8 digit image carries three labels: the digit itself (10 classes), its
parity (even/odd) and whether it is 5 or more. ``X`` is given as images of
shape ``(n_samples, 1, 8, 8)``: skmtl hands each batch to the trunk in that
shape, so the CNN below is an ordinary CNN with no reshaping of its own. One
small CNN trunk is shared by the three heads that skmtl adds; their width is
found by a dry run of the trunk on zeros of the fitted ``input_shape_``.

Run it with ``python examples/cnn_digits.py``; it needs no download.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from skmtl import MultiTaskClassifier


class DigitsCNN(nn.Module):
    """Two conv layers over a ``(batch, 1, 8, 8)`` image, pooled and flattened
    to a ``(batch, 2 * channels * 16)`` feature vector."""

    def __init__(self, channels: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.net(X)


def load_digit_tasks() -> tuple[np.ndarray, pd.DataFrame]:
    """Images of shape ``(1797, 1, 8, 8)`` (float32 in [0, 1]) and a DataFrame
    of the three tasks."""
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    digit = digits.target
    Y = pd.DataFrame(
        {
            "digit": digit,
            "parity": np.where(digit % 2 == 0, "even", "odd"),
            "large": digit >= 5,
        }
    )
    return X, Y


def main(max_epochs: int = 30, channels: int = 16, random_state: int = 0) -> dict:
    """Fit on 75% of the digits; the per-task test accuracy."""
    X, Y = load_digit_tasks()
    X_train, X_test, Y_train, Y_test = train_test_split(
        X, Y, test_size=0.25, random_state=random_state, stratify=Y["digit"]
    )
    clf = MultiTaskClassifier(
        module=DigitsCNN,
        module__channels=channels,
        max_epochs=max_epochs,
        lr=2e-3,
        batch_size=64,
        random_state=random_state,
    )
    clf.fit(X_train, Y_train)
    return clf.score_tasks(X_test, Y_test)


if __name__ == "__main__":
    for task, accuracy in main().items():
        print(f"{task:>7}: test accuracy {accuracy:.3f}")
