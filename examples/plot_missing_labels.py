"""
Missing labels
==============

In multi-task data a row often has some labels and not others: a survey
question that was not asked, a test that was not run. skmtl takes such rows
as they are: a missing label (``NaN``, ``None`` or ``pd.NA``) means "no label
for this task", the row still trains the other tasks and, through them, the
shared trunk, and scoring skips it.

Here we hide a growing share of the penguins' ``sex`` labels and watch how
well ``sex`` is still predicted: by one multi-task network that also learns
``species`` and ``island`` from every row, and by a single-task network that
can only use the rows whose sex is known.
"""

# %%
# Labels of several kinds, some missing
# -------------------------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskClassifier
from skmtl.datasets import load_penguins

X, Y = load_penguins(return_X_y=True)
X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)
print(Y_train.isna().sum())  # the data set itself lacks 11 sexes


def make_model():
    return make_pipeline(
        SimpleImputer(),
        StandardScaler(),
        MultiTaskClassifier(hidden_units=(64,), max_epochs=30, lr=3e-3, random_state=0),
    )


# %%
# Hide more and more of one task's labels
# ---------------------------------------
# The test set keeps every label; ``score_tasks`` scores each task on the
# test rows labelled for it.
rng = np.random.default_rng(0)
order = rng.permutation(len(Y_train))
fractions = [0.0, 0.5, 0.8, 0.9, 0.95]
rows = []
for fraction in fractions:
    Y_hidden = Y_train.copy()
    hide = Y_hidden.index[order[: int(fraction * len(Y_hidden))]]
    Y_hidden.loc[hide, "sex"] = np.nan
    model = make_model().fit(X_train, Y_hidden)
    scores = model[-1].score_tasks(model[:-1].transform(X_test), Y_test)
    known = Y_hidden["sex"].notna().to_numpy()
    alone = make_model().fit(X_train[known], Y_hidden.loc[known, ["sex"]])
    scores["sex, single-task"] = alone.score(X_test[Y_test["sex"].notna()], Y_test["sex"].dropna())
    rows.append({"hidden": fraction, "sex labels": int(known.sum()), **scores})

results = pd.DataFrame(rows).set_index("hidden")
print(results.round(3))

# %%
# ``species`` and ``island`` keep every label and barely move; ``sex``
# degrades as its labels thin out, and in this run more slowly than the
# single-task model, which learns nothing from the rows without a sex label
# (one split and one seed: a sketch, not a benchmark).
fig, ax = plt.subplots(figsize=(6, 3.5))
for task in ["species", "sex", "island", "sex, single-task"]:
    style = "--" if "single" in task else "-"
    ax.plot(100 * results.index, results[task], style, marker="o", label=task)
ax.set_xlabel("% of the training rows' sex labels hidden")
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1)
ax.legend()
ax.set_title("Accuracy per task as one task's labels go missing")
fig.tight_layout()

# %%
# Rows without any label
# ----------------------
# A row with no label for any task teaches nothing; ``fit`` drops it with a
# warning. ``predict`` answers every task for every row.
import warnings  # noqa: E402

Y_blank = Y_train.copy()
Y_blank.iloc[:5] = None
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    model = make_model().fit(X_train, Y_blank)
print([str(w.message) for w in caught if issubclass(w.category, UserWarning)][:1])
sex_accuracy_at_90 = results.loc[0.9, "sex"]
print(f"sex accuracy with 90% of its labels hidden: {sex_accuracy_at_90:.3f}")
