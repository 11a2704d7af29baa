"""A packed grid search against GridSearchCV on the same grid, folds and seeds.

    python benchmarks/packed_search.py                       # penguins, 16 x 5
    python benchmarks/packed_search.py --table generated --rows 5000 --folds 3
    python benchmarks/packed_search.py --device cuda --json packed.json

The grid is ``lr`` x ``weight_decay`` x ``dropout`` x ``task_weighting``
(16 candidates) over ``MultiTaskStratifiedKFold``. It reports, from one run:
one default fit's seconds; the seconds of ``PackedGridSearchCV`` and of
``GridSearchCV`` (both refit the best), their ratio and each as a multiple
of one fit; the agreement of their ``mean_test_score`` (mean absolute
difference, and the same for ``GridSearchCV`` against itself with another
``random_state``, with ``--noise``); the pack's arithmetic (6 x parameters
per member row a step visits, 2 x per validation row) and the rate that
achieves against the machine's float32 matrix-product rate; the search's
arithmetic in default fits; and, on the CPU, the projection for a GPU,
where every member shares one pack and a step this small costs about its
launch overhead: the steps of one pack over the steps of one default fit.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
import torch
from _plain import machine
from default_fit import gemm_gflops, make_table
from sklearn.model_selection import GridSearchCV

import skmtl.training._packing as packing
from skmtl import MultiTaskClassifier
from skmtl.datasets import load_penguins
from skmtl.model_selection import MultiTaskStratifiedKFold, PackedGridSearchCV

GRID = {
    "lr": [1e-3, 3e-3],
    "weight_decay": [1e-4, 1e-2],
    "dropout": [0.0, 0.3],
    "task_weighting": ["equal", "dwa"],
}


def load(table: str, rows: int):
    if table == "penguins":
        X, Y = load_penguins(return_X_y=True)
        keep = X.notna().all(axis=1).to_numpy()
        return X[keep].reset_index(drop=True), Y[keep].reset_index(drop=True)
    X, Y = make_table(rows)
    keep = ~np.isnan(Y).all(axis=1)  # the rows a fit would drop, with a warning each time
    return X[keep], pd.DataFrame(Y[keep], columns=["a", "b", "c"])


class Arithmetic:
    """Counts the pack's member-rows per training step and validation pass."""

    def __init__(self):
        self.train_rows = self.valid_rows = self.steps = 0
        self.params = 0
        self._step, self._evaluate = packing._Pack.step, packing._evaluate

    def __enter__(self):
        counter = self

        def step(pack, lr):
            counter.steps += 1
            counter.train_rows += len(pack) * pack.settings.batch_size
            counter.params = sum(p[0].numel() for p in pack.params.values())
            return counter._step(pack, lr)

        def evaluate(pack, criterion, rows, settings, chunk):
            counter.valid_rows += len(rows) * max(len(r) for r in rows)
            return counter._evaluate(pack, criterion, rows, settings, chunk)

        packing._Pack.step, packing._evaluate = step, evaluate
        return self

    def __exit__(self, *exc):
        packing._Pack.step, packing._evaluate = self._step, self._evaluate

    @property
    def flop(self) -> float:
        return 6.0 * self.params * self.train_rows + 2.0 * self.params * self.valid_rows


def fit_work(model) -> tuple[float, int]:
    """One default fit's arithmetic and training steps, from its histories
    (a bag's: each network's run)."""
    bag = getattr(model, "bag_size_", None)
    n = sum(p.numel() for p in model.module_.parameters()) // (bag or 1)
    flop, steps = 0.0, 0
    runs = model.bag_histories_ if bag else (model.selection_history_, model.history_)
    for history in runs:
        for epoch in history:
            for batch in epoch["batches"]:
                flop += 6 * n * batch.get("train_batch_size", 0)
                flop += 2 * n * batch.get("valid_batch_size", 0)
                steps += "train_batch_size" in batch
    return flop, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", choices=("penguins", "generated"), default="penguins")
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--noise", action="store_true", help="GridSearchCV with another seed too")
    parser.add_argument(
        "--bag-folds",
        default="none",
        help="the members' bag_folds: 'none' (one network each, as measured in "
        "docs/performance.md), 'auto' or an int",
    )
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    bag = {"none": None, "auto": "auto"}.get(args.bag_folds.lower())
    bag = int(args.bag_folds) if bag is None and args.bag_folds.lower() != "none" else bag

    X, Y = load(args.table, args.rows)
    est = MultiTaskClassifier(random_state=0, device=args.device, bag_folds=bag)
    cv = MultiTaskStratifiedKFold(args.folds, shuffle=True, random_state=0)
    est.set_params(max_epochs=1).fit(X, Y)  # imports and first calls, outside the timings
    est.set_params(max_epochs="auto")
    width = 256
    rates = {
        "gemm_gflops_f32_256": gemm_gflops(args.device, 256, width, width),
        "gemm_gflops_f32_1024": gemm_gflops(args.device, 1024, 1024, 1024),
    }

    start = time.perf_counter()
    one = MultiTaskClassifier(random_state=0, device=args.device, bag_folds=bag).fit(X, Y)
    fit_seconds = time.perf_counter() - start

    with Arithmetic() as arithmetic:
        start = time.perf_counter()
        packed = PackedGridSearchCV(est, GRID, cv=cv).fit(X, Y)
        packed_seconds = time.perf_counter() - start
    start = time.perf_counter()
    plain = GridSearchCV(est, GRID, cv=cv).fit(X, Y)
    plain_seconds = time.perf_counter() - start

    fit_flop, fit_steps = fit_work(one)
    gap = np.abs(packed.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"])
    results = {
        "machine": machine(),
        "table": args.table,
        "rows": len(X),
        "candidates": len(plain.cv_results_["params"]),
        "folds": args.folds,
        "device": args.device,
        "threads": torch.get_num_threads(),
        **rates,
        "fit_seconds": fit_seconds,
        "packed_seconds": packed_seconds,
        "grid_seconds": plain_seconds,
        "packed_over_grid": packed_seconds / plain_seconds,
        "packed_in_fits": packed_seconds / fit_seconds,
        "grid_in_fits": plain_seconds / fit_seconds,
        "members_packed": int(packed.packed_.sum()),
        "mean_abs_score_gap": float(gap.mean()),
        "max_abs_score_gap": float(gap.max()),
        "packed_best": packed.best_params_,
        "grid_best": plain.best_params_,
        "grid_score_of_packed_best": float(
            plain.cv_results_["mean_test_score"][packed.best_index_]
        ),
        "grid_best_score": float(plain.best_score_),
        "pack_tflop": arithmetic.flop / 1e12,
        "pack_gflops": arithmetic.flop / 1e9 / packed_seconds,
        "pack_share_of_gemm": arithmetic.flop / 1e9 / packed_seconds / rates["gemm_gflops_f32_256"],
        "search_arithmetic_in_fits": arithmetic.flop / fit_flop,
        "pack_steps": arithmetic.steps,
        "fit_steps": fit_steps,
    }
    if args.device == "cpu":
        # on a GPU every member shares one pack (max_members="auto" is None
        # there), and a step of this size costs about its launch overhead:
        # the search then costs about its steps in one pack over a fit's steps
        with Arithmetic() as one_pack:
            PackedGridSearchCV(est, GRID, cv=cv, max_members=None, refit=False).fit(X, Y)
        results["one_pack_steps"] = one_pack.steps
        results["projected_gpu_search_in_fits"] = one_pack.steps / fit_steps
    if args.noise:
        other = GridSearchCV(est.set_params(random_state=1), GRID, cv=cv).fit(X, Y)
        seed_gap = other.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"]
        results["grid_seed_gap"] = float(np.abs(seed_gap).mean())
    for key, value in results.items():
        print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
