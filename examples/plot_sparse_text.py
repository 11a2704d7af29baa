"""
Text: a sparse TF-IDF matrix, two tasks
=======================================

A ``TfidfVectorizer`` in front of a :class:`~skmtl.MultiTaskClassifier` hands
it a sparse matrix. skmtl keeps ``X`` sparse and densifies each batch on its
own, so a wide vocabulary costs no dense copy of the data; the tabular
recipe's ``"auto"`` feature scaling and numeric embedding switch off for
sparse input.

The corpus is generated here (no download): short reviews, each with a
``topic`` (sports, cooking or computers) and a ``sentiment`` (positive or
negative), written with a few words of its topic and sentiment, words of the
others, and many rare made-up words that stand for the long tail of a real
vocabulary. A quarter of the reviews have no sentiment label.
"""

# %%
# A generated corpus
# ------------------
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline

from skmtl import MultiTaskClassifier

TOPICS = {
    "sports": "match team goal coach season player score league referee stadium",
    "cooking": "recipe oven flour sauce garlic dinner bake spice kitchen taste",
    "computers": "laptop keyboard screen battery software update memory chip mouse code",
}
SENTIMENT = {
    "positive": "great loved excellent wonderful happy superb enjoyed brilliant",
    "negative": "awful hated terrible boring broken disappointing poor worst",
}
rng = np.random.default_rng(0)
# a long tail of rare words, as in real text: most of the vocabulary
FILLER = ["".join(rng.choice(list("abcdefghijklmnoprstuvwy"), size=6)) for _ in range(3000)]


def review(topic, sentiment):
    other = "negative" if sentiment == "positive" else "positive"
    words = (
        list(rng.choice(TOPICS[topic].split(), size=2))
        + list(rng.choice(SENTIMENT[sentiment].split(), size=2))
        # words of any topic and sentiment: not every review is clear-cut
        + list(rng.choice(" ".join(TOPICS.values()).split(), size=2))
        + list(rng.choice(SENTIMENT[other].split(), size=rng.integers(0, 2, endpoint=True)))
        + list(rng.choice(FILLER, size=10))
    )
    return " ".join(rng.permutation(words))


n = 900
topics = rng.choice(list(TOPICS), size=n)
sentiments = rng.choice(list(SENTIMENT), size=n)
texts = [review(t, s) for t, s in zip(topics, sentiments, strict=True)]
Y = pd.DataFrame({"topic": topics, "sentiment": sentiments})
Y.loc[rng.random(n) < 0.25, "sentiment"] = None  # unlabelled sentiment
print(texts[0], "|", Y.iloc[0].tolist())

texts_train, texts_test, Y_train, Y_test = train_test_split(texts, Y, random_state=0)

# %%
# TF-IDF, then one network for both tasks
# ---------------------------------------
model = make_pipeline(
    TfidfVectorizer(),
    MultiTaskClassifier(hidden_units=(64,), max_epochs=40, lr=3e-3, random_state=0),
)
model.fit(texts_train, Y_train)
X_test = model[0].transform(texts_test)
print(type(X_test).__name__, X_test.shape, f"{X_test.nnz / np.prod(X_test.shape):.1%} non-zero")

task_scores = model[-1].score_tasks(X_test, Y_test)
print({task: round(value, 3) for task, value in task_scores.items()})
print(model.predict(["the referee was terrible and the match boring"]))

# %%
# The topic confusion matrix on the test reviews
# ----------------------------------------------
fig, ax = plt.subplots(figsize=(4.5, 4))
ConfusionMatrixDisplay.from_predictions(
    Y_test["topic"], model.predict(texts_test)["topic"], ax=ax, colorbar=False
)
ax.set_title("topic, test reviews")
fig.tight_layout()
topic_accuracy = task_scores["topic"]
