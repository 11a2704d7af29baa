"""A default fit of a generated table, timed against one HGB per task on the CPU.

    python benchmarks/default_fit.py --device cuda --json default_fit.json

The table: ``--rows`` x 10 features, three classification tasks of
different difficulty, 10% of the labels missing, 20% of the rows held out.
Reports the seconds of a default ``MultiTaskClassifier`` fit on ``--device``
and of ``HistGradientBoostingClassifier`` per task on the CPU (same
threads), their mean held-out accuracy, and the machine's float32 matrix
product rate on that device.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from sklearn.ensemble import HistGradientBoostingClassifier

from skmtl import MultiTaskClassifier


def make_table(rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 10)).astype(np.float32)
    noise = rng.normal(size=(rows, 3))
    Y = np.column_stack([
        X[:, 0] + X[:, 1] * X[:, 2] + 0.3 * noise[:, 0] > 0,
        np.digitize(np.sin(X[:, 3]) + X[:, 4] + 0.5 * noise[:, 1], [-0.7, 0.7]),
        X[:, 5] ** 2 + X[:, 6] + noise[:, 2] > 1.2,
    ]).astype(float)
    Y[rng.random(Y.shape) < 0.1] = np.nan
    return X, Y


def gemm_gflops(device: str, size: int = 1024, reps: int = 50) -> float:
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    for _ in range(5):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * size**3 * reps / (time.perf_counter() - start) / 1e9


def run(rows: int, device: str) -> dict:
    X, Y = make_table(rows)
    cut = int(0.8 * rows)
    X_train, X_test, Y_train, Y_test = X[:cut], X[cut:], Y[:cut], Y[cut:]
    start = time.perf_counter()
    clf = MultiTaskClassifier(device=device, random_state=0).fit(X_train, Y_train)
    skmtl_s = time.perf_counter() - start
    skmtl_acc = clf.score(X_test, Y_test)
    start, hgb_acc = time.perf_counter(), []
    for j in range(Y.shape[1]):
        known = ~np.isnan(Y_train[:, j])
        model = HistGradientBoostingClassifier(random_state=0)
        model.fit(X_train[known], Y_train[known, j])
        test = ~np.isnan(Y_test[:, j])
        hgb_acc.append(model.score(X_test[test], Y_test[test, j]))
    hgb_s = time.perf_counter() - start
    return {
        "rows": rows,
        "device": device,
        "gpu": torch.cuda.get_device_name() if device == "cuda" else None,
        "skmtl_fit_s": skmtl_s,
        "skmtl_epochs": int(clf.max_epochs_),
        "hgb_cpu_s": hgb_s,
        "ratio_to_hgb": skmtl_s / hgb_s,
        "skmtl_accuracy": float(skmtl_acc),
        "hgb_accuracy": float(np.mean(hgb_acc)),
        "gemm_gflops_f32": gemm_gflops(device),
        "cpu_threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    result = run(args.rows, args.device)
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
