"""An experiment for issue 22: the epochs chosen from five validation folds
instead of one 20% split, on the accuracy benchmark's tables and splits.

    OMP_NUM_THREADS=1 python benchmarks/cv_epochs.py penguins hawks --json out.json

For each table and split (as ``benchmarks/accuracy.py`` draws them) it runs
five ``MultiTaskClassifier`` fits over the epoch budget of
``max_epochs="auto"``, each on four fifths of the training rows and scored
on the fifth (the tabular pipeline's step fitted on the four fifths), takes
the epoch of the best mean validation accuracy (ties: the lowest mean
validation loss, then the earliest), and refits on all training rows for
that many epochs, as the default's refit does. It prints the mean per-task
test accuracy, the epochs chosen and the seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from accuracy import SMALL, mean_accuracy  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.model_selection import KFold, train_test_split  # noqa: E402
from skorch.dataset import Dataset  # noqa: E402
from skorch.helper import predefined_split  # noqa: E402
from tables import TABLES, load  # noqa: E402

from skmtl import MultiTaskClassifier, make_tabular_pipeline  # noqa: E402
from skmtl.training import best_epochs, epoch_budget  # noqa: E402


def fit_with_cv_epochs(X, Y, seed: int, folds: int = 5):
    """The refitted pipeline and the epochs its five validation folds chose."""
    budget = epoch_budget(len(X))
    curves = []
    for train, valid in KFold(folds, shuffle=True, random_state=seed).split(X):
        step = clone(make_tabular_pipeline(X, MultiTaskClassifier())[:-1]).fit(X.iloc[train])
        X_valid = step.transform(X.iloc[valid])
        clf = MultiTaskClassifier(
            random_state=seed,
            max_epochs=budget,
            train_split=predefined_split(Dataset(X_valid, Y.iloc[valid])),
        )
        clf.fit(step.transform(X.iloc[train]), Y.iloc[train])
        curves.append([(row["valid_acc"], row["valid_loss"]) for row in clf.history])
    mean = np.nanmean(np.array(curves), axis=0)
    epochs = best_epochs([{"valid_acc": a, "valid_loss": b} for a, b in mean], "valid_acc", False)
    model = make_tabular_pipeline(X, MultiTaskClassifier(random_state=seed, max_epochs=epochs))
    return model.fit(X, Y), epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="+", choices=TABLES)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    out = {}
    for name in args.tables:
        X, Y = load(name)
        splits = 5 if len(X) < SMALL else 3
        accs, chosen, seconds = [], [], []
        for split in range(splits):
            X_tr, X_te, Y_tr, Y_te = train_test_split(X, Y, test_size=0.25, random_state=split)
            start = time.perf_counter()
            model, epochs = fit_with_cv_epochs(X_tr, Y_tr, split)
            seconds.append(time.perf_counter() - start)
            predicted = model.predict(X_te)
            accs.append(mean_accuracy(Y_te, {t: predicted[t].to_numpy() for t in predicted}))
            chosen.append(epochs)
            print(f"{name} split {split}: {accs[-1]:.4f}, {epochs} epochs, {seconds[-1]:.1f} s")
        out[name] = {"acc": accs, "epochs": chosen, "fit_s": seconds}
        print(f"{name}: {np.mean(accs):.4f} ± {np.std(accs):.4f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
