"""A convolutional trunk on scikit-learn's bundled digits, trained on three tasks.

Each 8x8 digit image carries three labels: the digit itself (10 classes), its
parity (even/odd) and how many closed loops its shape has (0, 1 or 2). One
small CNN trunk is shared by the three heads that skmtl adds.

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

LOOPS = {0: 1, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 1, 7: 0, 8: 2, 9: 1}


class DigitsCNN(nn.Module):
    """Two conv layers over the 8x8 image, pooled to a feature vector."""

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
        self.out_features = 2 * channels * 4 * 4

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        # skmtl passes flat rows of 64 pixels; the trunk restores the image
        return self.net(X.reshape(-1, 1, 8, 8))


def load_digit_tasks() -> tuple[np.ndarray, pd.DataFrame]:
    """Pixels scaled to [0, 1] and a DataFrame of the three tasks."""
    digits = load_digits()
    X = digits.data / 16.0
    digit = digits.target
    Y = pd.DataFrame(
        {
            "digit": digit,
            "parity": np.where(digit % 2 == 0, "even", "odd"),
            "loops": [LOOPS[d] for d in digit],
        }
    )
    return X, Y


def main(max_epochs: int = 30, channels: int = 16, random_state: int = 0) -> dict:
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
