"""
Plots of a fit: learning curves, task weights, task affinity
============================================================

:mod:`skmtl.plotting` draws what a fitted model logged, per task: each
task's training and validation loss by epoch, the weight each task got
(which changes over the epochs with an adaptive ``task_weighting``), and
the task affinity matrix. Each function takes the fitted estimator, or a
pipeline ending in one, and an optional matplotlib ``ax``, and returns the
Axes it drew on. ``pip install skmtl[plot]`` installs matplotlib.
"""

# %%
# A fit with Dynamic Weight Average
# ---------------------------------
# ``task_weighting="dwa"`` reweights the tasks every epoch from how fast each
# task's loss falls, so the weights have something to show. A validation
# split (the default trains on every row) gives the validation curves.
import matplotlib.pyplot as plt
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskClassifier, MultiTaskValidSplit
from skmtl.datasets import load_penguins
from skmtl.plotting import plot_learning_curves, plot_task_affinity, plot_task_weights

X, Y = load_penguins(return_X_y=True)
model = make_pipeline(
    SimpleImputer(),
    StandardScaler(),
    MultiTaskClassifier(
        hidden_units=(64, 64),
        max_epochs=40,
        lr=1e-3,
        task_weighting="dwa",
        affinity_every=4,
        train_split=MultiTaskValidSplit(0.2),
        random_state=0,
    ),
)
model.fit(X, Y)
print(len(model[-1].history), "epochs")

# %%
# Learning curves
# ---------------
# Solid: training loss; dashed: validation loss, per task. With
# ``metric=True``, each task's validation score instead.
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
plot_learning_curves(model, ax=left)
plot_learning_curves(model, metric=True, ax=right)
fig.tight_layout()

# %%
# Task weights and affinity
# -------------------------
fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
plot_task_weights(model, ax=left)
plot_task_affinity(model, ax=right)
fig.tight_layout()
