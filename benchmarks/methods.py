"""Cost and accuracy of each task-weighting method and architecture, in one run.

Data: scikit-learn's bundled digits with three tasks per image (the digit,
its parity, and its number of closed loops; see examples/cnn_digits.py),
plus the Palmer penguins shipped with skmtl (species, sex with missing
labels, island). Every configuration trains the same MLP for the same epochs
on the same splits; the table gives the seconds per epoch as a ratio to
``equal`` on the ``shared`` architecture, and the mean per-task test accuracy
over the seeds.

    python benchmarks/methods.py
    python benchmarks/methods.py --epochs 40 --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import pandas as pd
import torch
from _plain import PLAIN_RECIPE
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skmtl import MultiTaskClassifier
from skmtl.datasets import load_penguins
from skmtl.nn import STRATEGIES

LOOPS = {0: 1, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 1, 7: 0, 8: 2, 9: 1}
ARCHITECTURES = ("shared", "mmoe", "ple")


def digits():
    data = load_digits()
    Y = pd.DataFrame(
        {
            "digit": data.target,
            "parity": np.where(data.target % 2 == 0, "even", "odd"),
            "loops": [LOOPS[d] for d in data.target],
        }
    )
    return (data.data / 16.0).astype(np.float32), Y


def penguins():
    X, Y = load_penguins(return_X_y=True)
    keep = X.notna().all(axis=1).to_numpy()
    X = X[keep].to_numpy(np.float32)
    return (X - X.mean(axis=0)) / X.std(axis=0), Y[keep].reset_index(drop=True)


def configurations(architectures=ARCHITECTURES):
    yield "equal", "shared"
    for name in STRATEGIES:
        if name != "equal":
            yield name, "shared"
    for arch in architectures[1:]:
        yield "equal", arch


def run(X, Y, epochs: int, seeds, batch_size: int) -> pd.DataFrame:
    MultiTaskClassifier(max_epochs=2, train_split=None).fit(X[:256], Y[:256])  # warm-up
    rows = []
    for weighting, arch in configurations():
        per_epoch, scores = [], []
        for seed in seeds:
            X_tr, X_te, Y_tr, Y_te = train_test_split(X, Y, test_size=0.25, random_state=seed)
            clf = MultiTaskClassifier(
                hidden_units=(128, 128),
                task_weighting=weighting,
                architecture=arch,
                max_epochs=epochs,
                batch_size=batch_size,
                lr=2e-3,
                train_split=None,
                affinity_every=0,
                random_state=seed,
                **PLAIN_RECIPE,
            )
            start = time.perf_counter()
            clf.fit(X_tr, Y_tr)
            per_epoch.append((time.perf_counter() - start) / epochs)
            scores.append(clf.score_tasks(X_te, Y_te))
        row = {"weighting": weighting, "architecture": arch, "s/epoch": np.median(per_epoch)}
        for task in Y.columns:
            row[task] = np.mean([s[task] for s in scores])
        row["mean acc"] = np.mean([row[t] for t in Y.columns])
        rows.append(row)
    table = pd.DataFrame(rows)
    table.insert(3, "time / equal", table["s/epoch"] / table["s/epoch"].iloc[0])
    return table


def markdown(table: pd.DataFrame) -> str:
    cells = [
        [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row]
        for row in table.itertuples(index=False)
    ]
    lines = ["| " + " | ".join(map(str, table.columns)) + " |", "|" + "---|" * len(table.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)
    print(
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; {args.epochs} epochs, seeds {args.seeds}"
    )
    results = {}
    for name, (X, Y), batch in (("digits", digits(), 64), ("penguins", penguins(), 32)):
        table = run(X, Y, args.epochs, args.seeds, batch)
        results[name] = table
        print(f"\n### {name}: {len(X)} rows, tasks {', '.join(map(str, Y.columns))}\n")
        print(markdown(table))
    return results


if __name__ == "__main__":
    main()
