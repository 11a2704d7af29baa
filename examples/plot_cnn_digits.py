"""
A CNN trunk on digit images
===========================

With your own ``module``, ``X`` keeps its shape: here 8x8 digit images as
``(n_samples, 1, 8, 8)``, from scikit-learn's bundled digits (no download).
Each image carries three labels: the digit itself (10 classes), its parity
and whether it is 5 or more. One small CNN is the shared trunk; skmtl adds a
linear head per task, sized by a dry run of the trunk on the fitted
``input_shape_``.
"""

# %%
# The trunk: an ordinary CNN
# --------------------------
# It maps a batch of images to a ``(batch, features)`` tensor; nothing in it
# knows about tasks.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from skmtl import MultiTaskClassifier


class DigitsCNN(nn.Module):
    def __init__(self, channels=8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(channels, 2 * channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )

    def forward(self, X):
        return self.net(X)


# %%
# Images and three tasks
# ----------------------
digits = load_digits()
X = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
Y = pd.DataFrame(
    {
        "digit": digits.target,
        "parity": np.where(digits.target % 2 == 0, "even", "odd"),
        "large": digits.target >= 5,
    }
)
X_train, X_test, Y_train, Y_test = train_test_split(
    X, Y, test_size=0.25, random_state=0, stratify=Y["digit"]
)
print(X_train.shape, list(Y.columns))

# %%
# Fit
# ---
# The feature scaling and numeric embedding of the tabular recipe switch off
# by themselves for N-D ``X``.
clf = MultiTaskClassifier(
    module=DigitsCNN,
    module__channels=8,
    max_epochs=8,
    lr=2e-3,
    batch_size=64,
    random_state=0,
)
clf.fit(X_train, Y_train)
print("input_shape_:", clf.input_shape_)
print("head widths:", [(h.in_features, h.out_features) for h in clf.module_.heads])
task_scores = clf.score_tasks(X_test, Y_test)
print({task: round(value, 3) for task, value in task_scores.items()})

# %%
# Some test images with the three predictions
# -------------------------------------------
predicted = clf.predict(X_test[:12])
fig, axes = plt.subplots(2, 6, figsize=(8, 3.4))
for ax, image, (_, row) in zip(axes.ravel(), X_test[:12], predicted.iterrows(), strict=True):
    ax.imshow(image[0], cmap="gray_r")
    ax.set_title(
        f"{row['digit']}, {row['parity']}\n{'>= 5' if row['large'] else '< 5'}", fontsize="small"
    )
    ax.axis("off")
fig.suptitle("Predicted digit, parity and size")
fig.tight_layout()
digit_accuracy = task_scores["digit"]
