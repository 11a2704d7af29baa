"""
Task relations: affinity, and does multi-task help?
===================================================

Two questions before trusting one network with several tasks:

* do the tasks pull the shared trunk the same way? ``task_affinity_`` is
  the mean cosine similarity of the tasks' gradients on the shared
  representation, sampled during training every ``affinity_every`` steps;
* does each task gain from the others? :func:`skmtl.compare_single_task`
  cross-validates the multi-task model against one model per task.
"""

# %%
# Task affinity
# -------------
import matplotlib.pyplot as plt
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskClassifier, compare_single_task
from skmtl.datasets import load_penguins
from skmtl.plotting import plot_task_affinity

X, Y = load_penguins(return_X_y=True)
model = make_pipeline(
    SimpleImputer(),
    StandardScaler(),
    MultiTaskClassifier(
        hidden_units=(64, 64), max_epochs=20, lr=3e-3, affinity_every=4, random_state=0
    ),
)
affinity = model.fit(X, Y)[-1].task_affinity_
print(affinity.round(2))

# %%
# Near 1: the two tasks push the trunk the same way; near 0: independently;
# negative: they compete (try ``task_weighting="pcgrad"`` or
# ``architecture="ple"`` then).
fig, ax = plt.subplots(figsize=(4.5, 3.8))
plot_task_affinity(model, ax=ax)
fig.tight_layout()

# %%
# Multi-task against one model per task
# -------------------------------------
# In each of three folds: one fit on all tasks, and one per task on that task
# alone, each scored on the fold's held-out rows.
gain = compare_single_task(model, X, Y, cv=3)
print(gain.round(3))

fig, ax = plt.subplots(figsize=(5, 3.2))
ax.bar(gain.index, gain["gain"], yerr=gain["gain_std"], capsize=4, color="tab:green")
ax.axhline(0, color="black", linewidth=0.8)
ax.set_ylabel("accuracy gain of multi-task")
ax.set_title("compare_single_task, 3 folds")
fig.tight_layout()
# %%
# A gain within about ``gain_std`` of zero is no evidence either way.
