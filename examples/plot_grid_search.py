"""
Grid search with per-task scorers
=================================

``GridSearchCV`` tunes a :class:`~skmtl.MultiTaskClassifier` like any other
estimator. Two things are specific to several tasks:

* the scorers: :func:`skmtl.task_scorer` scores one task with any
  scikit-learn metric, so a search can report (and refit on) the task you
  care about;
* the folds: :class:`skmtl.model_selection.MultiTaskStratifiedKFold`
  stratifies on every task's labels at once and ignores missing labels.
  scikit-learn's default integer ``cv`` cannot do that.
"""

# %%
# The search
# ----------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskClassifier, task_scorer
from skmtl.datasets import load_penguins
from skmtl.model_selection import MultiTaskStratifiedKFold

X, Y = load_penguins(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)

model = make_pipeline(
    SimpleImputer(),
    StandardScaler(),
    MultiTaskClassifier(max_epochs=20, random_state=0),
)
search = GridSearchCV(
    model,
    {
        "multitaskclassifier__lr": [3e-3, 1e-2],
        "multitaskclassifier__hidden_units": [(16,), (64, 64)],
    },
    scoring={
        "mean": task_scorer("mean"),  # mean per-task accuracy, as the estimator scores
        "species": task_scorer("species"),
        "sex_f1": task_scorer("sex", "f1_macro"),
        "island_bacc": task_scorer("island", "balanced_accuracy"),
    },
    refit="sex_f1",
    cv=MultiTaskStratifiedKFold(3, shuffle=True, random_state=0),
)
search.fit(X_train, Y_train)
print(search.best_params_)

# %%
# One row per candidate, one column per scorer (mean over the three folds).
columns = ["mean", "species", "sex_f1", "island_bacc"]
results = pd.DataFrame(
    {name: search.cv_results_[f"mean_test_{name}"] for name in columns},
    index=[
        f"lr={p['multitaskclassifier__lr']:g}, {p['multitaskclassifier__hidden_units']}"
        for p in search.cv_results_["params"]
    ],
)
print(results.round(3))

# %%
# The refitted best model, on the held-out test rows: the per-task scorers
# work on any fitted model too.
best = search.best_estimator_
test_sex_f1 = task_scorer("sex", "f1_macro")(best, X_test, Y_test)
print(f"test macro-F1 of sex: {test_sex_f1:.3f}")
print(f"test mean per-task accuracy: {best.score(X_test, Y_test):.3f}")

fig, ax = plt.subplots(figsize=(7, 3.5))
width = 0.2
positions = np.arange(len(results))
for k, name in enumerate(columns):
    ax.bar(positions + (k - 1.5) * width, results[name], width, label=name)
ax.set_xticks(positions, results.index, fontsize="small")
ax.set_ylim(0, 1)
ax.set_ylabel("cross-validated score")
ax.set_title("One search, four scorers")
ax.legend(ncols=4, fontsize="small", loc="lower center")
fig.tight_layout()
