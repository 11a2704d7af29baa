"""A default fit of a generated table: its cost against one HGB (and LightGBM)
per task, and how well it uses the machine's matrix-product rate.

    python benchmarks/default_fit.py --rows 50000
    python benchmarks/default_fit.py --device cuda --json default_fit.json
    python benchmarks/default_fit.py --params '{"batch_size": 1024}'   # a setting

The table: ``--rows`` x 10 features, three classification tasks of
different difficulty, 10% of the labels missing, 20% of the rows held out.
It reports the seconds of a ``MultiTaskClassifier`` fit (defaults, or
``--params``) on ``--device`` and of ``HistGradientBoostingClassifier`` and
``LGBMClassifier`` (if installed) per task on the CPU with the same threads;
their mean held-out accuracy; the fit's epochs and row visits (training and
validation), its arithmetic (6 x parameters per training row, 2 x per
validation row) and the rate that achieves; and the machine's matrix-product
rate in float32 and bfloat16, for the network's own shape (a batch of the
fit's rows times its hidden width) and for 1024 x 1024 squares.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from _plain import machine
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from skmtl import MultiTaskClassifier


def make_table(rows: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 10)).astype(np.float32)
    noise = rng.normal(size=(rows, 3))
    Y = np.column_stack(
        [
            X[:, 0] + X[:, 1] * X[:, 2] + 0.3 * noise[:, 0] > 0,
            np.digitize(np.sin(X[:, 3]) + X[:, 4] + 0.5 * noise[:, 1], [-0.7, 0.7]),
            X[:, 5] ** 2 + X[:, 6] + noise[:, 2] > 1.2,
        ]
    ).astype(float)
    Y[rng.random(Y.shape) < 0.1] = np.nan
    return X, Y


def gemm_gflops(device: str, m: int, k: int, n: int, dtype=torch.float32, seconds=0.5) -> float:
    """The rate of ``(m, k) @ (k, n)`` products on ``device`` in ``dtype``."""
    a = torch.randn(m, k, device=device, dtype=dtype)
    b = torch.randn(k, n, device=device, dtype=dtype)

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    for _ in range(5):
        a @ b
    sync()
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(10):
            a @ b
        reps += 10
        sync()
    return 2 * m * k * n * reps / (time.perf_counter() - start) / 1e9


def gemm_rates(device: str, batch: int, width: int) -> dict:
    """float32 and bfloat16 rates at the network's shape and for 1024 squares."""
    rates = {}
    for name, dtype in (("f32", torch.float32), ("bf16", torch.bfloat16)):
        rates[f"gemm_gflops_{name}_network"] = gemm_gflops(device, batch, width, width, dtype)
        rates[f"gemm_gflops_{name}_1024"] = gemm_gflops(device, 1024, 1024, 1024, dtype)
    return rates


def row_visits(history) -> tuple[int, int]:
    """Training and validation rows that the epochs of ``history`` visited."""
    train = valid = 0
    for epoch in history or ():
        for batch in epoch["batches"]:
            train += batch.get("train_batch_size", 0)
            valid += batch.get("valid_batch_size", 0)
    return train, valid


def per_task(make, X_train, Y_train, X_test, Y_test) -> tuple[float, float]:
    """Seconds and mean held-out accuracy of one ``make()`` model per task."""
    start, accuracy = time.perf_counter(), []
    models = []
    for j in range(Y_train.shape[1]):
        known = ~np.isnan(Y_train[:, j])
        models.append(make().fit(X_train[known], Y_train[known, j]))
    seconds = time.perf_counter() - start
    for j, model in enumerate(models):
        test = ~np.isnan(Y_test[:, j])
        accuracy.append(float(np.mean(model.predict(X_test[test]) == Y_test[test, j])))
    return seconds, float(np.mean(accuracy))


def run(rows: int, device: str, params: dict | None = None) -> dict:
    X, Y = make_table(rows)
    cut = int(0.8 * rows)
    X_train, X_test, Y_train, Y_test = X[:cut], X[cut:], Y[:cut], Y[cut:]
    clf = MultiTaskClassifier(device=device, random_state=0, **(params or {}))
    start = time.perf_counter()
    clf.fit(X_train, Y_train)
    skmtl_s = time.perf_counter() - start
    threads = torch.get_num_threads()
    result = {
        "machine": machine(),
        "rows": rows,
        "device": device,
        "params": params or {},
        "cpu_threads": threads,
        "skmtl_fit_s": skmtl_s,
        "skmtl_accuracy": float(clf.score(X_test, Y_test)),
    }
    selection = getattr(clf, "selection_history_", None)
    sel_train, sel_valid = row_visits(selection)
    fit_train, fit_valid = row_visits(clf.history)
    n_params = sum(p.numel() for p in clf.module_.parameters() if p.requires_grad)
    train, valid = sel_train + fit_train, sel_valid + fit_valid
    flop = 6 * n_params * train + 2 * n_params * valid
    result.update(
        selection_epochs=len(selection) if selection is not None else 0,
        epochs=int(clf.max_epochs_),
        batch_size=int(clf.history[-1]["batches"][0]["train_batch_size"]),
        parameters=n_params,
        train_row_visits=train,
        valid_row_visits=valid,
        tflop=flop / 1e12,
        achieved_gflops=flop / skmtl_s / 1e9,
    )
    # the baselines with the threads skmtl trained with
    with threadpool_limits(threads, user_api="openmp"):
        make = lambda: HistGradientBoostingClassifier(random_state=0)  # noqa: E731
        result["hgb_s"], result["hgb_accuracy"] = per_task(make, X_train, Y_train, X_test, Y_test)
        try:
            from lightgbm import LGBMClassifier
        except ImportError:
            pass
        else:
            make = lambda: LGBMClassifier(random_state=0, n_jobs=threads, verbose=-1)  # noqa: E731
            lgbm = per_task(make, X_train, Y_train, X_test, Y_test)
            result["lightgbm_s"], result["lightgbm_accuracy"] = lgbm
    result["ratio_to_hgb"] = skmtl_s / result["hgb_s"]
    if "lightgbm_s" in result:
        result["ratio_to_lightgbm"] = skmtl_s / result["lightgbm_s"]
    width = max(clf.hidden_units_) if isinstance(clf.hidden_units_, tuple) else clf.hidden_units_
    result.update(gemm_rates(device, result["batch_size"], int(width)))
    peak = max(result["gemm_gflops_f32_network"], result["gemm_gflops_f32_1024"])
    result["share_of_f32_gemm"] = result["achieved_gflops"] / peak
    if device == "cuda":
        result["gpu"] = torch.cuda.get_device_name()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--params", default="{}", help="JSON of MultiTaskClassifier params")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    result = run(args.rows, args.device, json.loads(args.params))
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
