"""Record the fixed-seed outputs and a model file at the current release.

Run at 0.1.0 as ``python record_pinned.py pinned_0.1.0 model_0.1.0.skmtl`` in
this folder; tests/estimators/test_compatibility.py compares with them. After
a change to the default numerics on purpose: ``python record_pinned.py
pinned_defaults`` (the model file of 0.1.0 stays as it is).
"""

import sys

import numpy as np

import skmtl
from skmtl import MultiTaskClassifier, MultiTaskRegressor
from skmtl.datasets import load_penguins

out = sys.argv[1]
X, Y = load_penguins(return_X_y=True)
keep = X.notna().all(axis=1).to_numpy()
X, Y = X[keep].reset_index(drop=True), Y[keep].reset_index(drop=True)
clf = MultiTaskClassifier(random_state=0).fit(X, Y)
arrays = {f"penguins_{k}": v for k, v in clf.predict_proba(X).items()}
# 800 rows: over the embedding threshold, so the piecewise-linear path runs
rng = np.random.default_rng(0)
Xg = rng.normal(size=(800, 6))
Yg = {
    "a": (Xg[:, 0] + Xg[:, 1] > 0).astype(int),
    "b": np.digitize(Xg[:, 2] - Xg[:, 3], [-0.5, 0.5]),
}
g = MultiTaskClassifier(random_state=0).fit(Xg, Yg)
arrays.update({f"embedded_{k}": v for k, v in g.predict_proba(Xg).items()})
Yr = np.column_stack([Xg[:, 0] * 2 + Xg[:, 1], np.sin(Xg[:, 2])])
r = MultiTaskRegressor(random_state=0).fit(Xg, Yr)
arrays["regressor"] = r.predict(Xg)
np.savez(out + ".npz", **arrays)
if len(sys.argv) > 2:
    skmtl.save(clf, sys.argv[2])
    print(skmtl.load(sys.argv[2]).predict_proba(X)["species"][:2])
