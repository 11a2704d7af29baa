"""
Quickstart: three tasks on the Palmer penguins
==============================================

One :class:`~skmtl.MultiTaskClassifier` learns a penguin's ``species``,
``sex`` and ``island`` from its four body measurements. The data ships with
skmtl, so nothing is downloaded; 11 penguins have no recorded sex, and those
rows still train the other two tasks.
"""

# %%
# The data
# --------
# ``Y`` is a DataFrame with one column per task; ``X`` has some missing
# measurements, which the pipeline imputes (``Y`` may have NaN, ``X`` may not).
import matplotlib.pyplot as plt
from sklearn.impute import SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskClassifier
from skmtl.datasets import load_penguins

X, Y = load_penguins(return_X_y=True)
print(X.shape, list(Y.columns))
print(Y.isna().sum())

X_train, X_test, Y_train, Y_test = train_test_split(X, Y, random_state=0)

# %%
# Fit one network on the three tasks
# ----------------------------------
# The classifier is the last step of an ordinary scikit-learn pipeline.
model = make_pipeline(
    SimpleImputer(),
    StandardScaler(),
    MultiTaskClassifier(hidden_units=(64, 64), max_epochs=40, lr=3e-3, random_state=0),
)
model.fit(X_train, Y_train)

# %%
# Predictions come back in the kind ``Y`` came in: a DataFrame with the same
# columns, and ``predict_proba`` gives one array per task whose columns follow
# ``classes_[task]``.
print(model.predict(X_test).head())
clf = model[-1]
print(clf.classes_["sex"], model.predict_proba(X_test)["sex"][:3].round(3))

# %%
# Scores
# ------
# ``score`` is the mean over the tasks of each task's accuracy on the rows
# labelled for it; ``score_tasks`` gives them one by one.
score = model.score(X_test, Y_test)
task_scores = clf.score_tasks(model[:-1].transform(X_test), Y_test)
print(f"mean per-task accuracy: {score:.3f}")
print({task: round(value, 3) for task, value in task_scores.items()})

fig, ax = plt.subplots(figsize=(5, 3))
ax.bar(list(task_scores), list(task_scores.values()), color="tab:blue")
ax.set_ylim(0, 1)
ax.set_ylabel("test accuracy")
ax.set_title("One network, three tasks")
fig.tight_layout()
