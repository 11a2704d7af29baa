"""Fit and predict speed of skmtl against what a user would otherwise write.

In one process and one run, the same network (an MLP trunk with one linear
head per task), data, epochs and batch size are trained by:

  (a) hand   a hand-written PyTorch loop with device-resident tensors (the reference)
  (b) skorch plain skorch NeuralNet with a multi-head module and a custom loss
  (c) skmtl  skmtl.MultiTaskClassifier
  (d) mlp    scikit-learn's MLPClassifier, fitted once per task

The table gives the median fit and predict seconds over ``--repeat`` interleaved
runs (one for the slow MLPClassifier). The ratios to (a) are paired: the
median over repeats of each repeat's own ratio, the order of the contenders
reversed every other repeat, so that a slow stretch of a shared machine
falls on both sides of a ratio; the table also gives their range, and the
same ratio of the fit's CPU seconds (``time.process_time``), which other
processes on the machine disturb far less than wall time. Peak memory of
each fit is measured in a fresh child process per contender (resident memory
over a bare ``import skmtl``, and on CUDA the peak allocated GPU memory).

Examples
--------
    python benchmarks/speed.py                       # CPU, 100k x 32 x 4 tasks
    python benchmarks/speed.py --device cuda         # on a GPU
    python benchmarks/speed.py --rows 20000 --skip-memory
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import warnings

import numpy as np
import torch
from _plain import PLAIN_RECIPE, machine, status_mb
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from torch import nn
from torch.nn import functional as F

import skmtl
from skmtl import MultiTaskClassifier
from skmtl.datasets import load_penguins

CONTENDERS = ("hand", "skorch", "skmtl", "mlp")


# ----------------------------------------------------------------- data


def make_data(rows: int, features: int, tasks: int, seed: int = 0, missing: float = 0.1):
    """Float32 features and ``tasks`` learnable labels with some missing.

    Returns ``X``, the labels as a float array with NaN for missing (what a
    user hands to skmtl) and as int codes with -1 (what the loops use).
    """
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features), dtype=np.float32)
    codes = np.empty((rows, tasks), dtype=np.int64)
    for t in range(tasks):
        w = rng.standard_normal((features, 2 + t % 3)).astype(np.float32)
        codes[:, t] = (X @ w + 0.5 * rng.standard_normal((rows, 2 + t % 3))).argmax(axis=1)
    codes[rng.random((rows, tasks)) < missing] = -1
    labels = np.where(codes >= 0, codes, np.nan)
    return X, labels, codes


def penguin_data():
    X, Y = load_penguins(return_X_y=True)
    keep = X.notna().all(axis=1).to_numpy()
    X = X[keep].to_numpy(np.float32)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    Y = Y[keep].reset_index(drop=True)
    codes = np.stack(
        [Y[c].astype("category").cat.codes.to_numpy() for c in Y.columns], axis=1
    ).astype(np.int64)
    return X, np.where(codes >= 0, codes, np.nan), codes


# ----------------------------------------------------------- contenders


class HeadsNet(nn.Module):
    """The benchmark's network, written by hand: MLP trunk, one head per task."""

    def __init__(self, in_features, hidden, n_classes):
        super().__init__()
        layers, width = [], in_features
        for units in hidden:
            layers += [nn.Linear(width, units), nn.ReLU()]
            width = units
        self.trunk = nn.Sequential(*layers)
        self.heads = nn.ModuleList(nn.Linear(width, k) for k in n_classes)

    def forward(self, X):
        z = self.trunk(X)
        return tuple(head(z) for head in self.heads)


class MultiHeadLoss(nn.Module):
    """The custom loss a skorch user writes: summed per-task cross-entropy."""

    def forward(self, y_pred, y_true):
        return sum(
            F.cross_entropy(out, y_true[:, t], ignore_index=-1) for t, out in enumerate(y_pred)
        )


def _sync(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _autocast(device):
    dev = torch.device(device)
    use = dev.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use)


def fit_hand(X, codes, cfg):
    """The reference: tensors on the device once, randperm batches, one .item() an epoch."""
    device = cfg["device"]
    torch.manual_seed(0)
    n_classes = [int(codes[:, t].max()) + 1 for t in range(codes.shape[1])]
    model = HeadsNet(X.shape[1], cfg["hidden"], n_classes).to(device)
    # the fused step where torch has one, as skmtl's fused_optimizer="auto"
    fused = torch.device(device).type in ("cpu", "cuda")
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], fused=fused or None)
    Xd, yd = torch.as_tensor(X, device=device), torch.as_tensor(codes, device=device)
    n, bs = len(Xd), cfg["batch_size"]
    for _ in range(cfg["epochs"]):
        model.train()
        perm = torch.randperm(n, device=device)
        total = torch.zeros((), device=device)
        for start in range(0, n, bs):
            idx = perm[start : start + bs]
            with _autocast(device):
                out = model(Xd[idx])
            loss = sum(
                F.cross_entropy(o.float(), yd[idx, t], ignore_index=-1) for t, o in enumerate(out)
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.detach()
        total.item()
    return model


def predict_hand(model, X, cfg):
    device = cfg["device"]
    model.eval()
    with torch.no_grad(), _autocast(device):
        out = model(torch.as_tensor(X, device=device))
    return [torch.softmax(o.float(), dim=1).cpu().numpy() for o in out]


def make_skorch(X, codes, cfg):
    from skorch import NeuralNet

    n_classes = [int(codes[:, t].max()) + 1 for t in range(codes.shape[1])]
    return NeuralNet(
        HeadsNet,
        module__in_features=X.shape[1],
        module__hidden=cfg["hidden"],
        module__n_classes=n_classes,
        criterion=MultiHeadLoss,
        optimizer=torch.optim.Adam,
        optimizer__fused=torch.device(cfg["device"]).type in ("cpu", "cuda"),
        lr=cfg["lr"],
        max_epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        iterator_train__shuffle=True,
        train_split=None,
        device=cfg["device"],
        verbose=0,
    )


def fit_skorch(X, codes, cfg):
    torch.manual_seed(0)
    return make_skorch(X, codes, cfg).fit(X, codes)


def predict_skorch(net, X, cfg):
    # net.predict_proba keeps only the first output; forward returns all
    return [torch.softmax(o.float(), dim=1).numpy() for o in net.forward(X)]


def fit_skmtl(X, labels, cfg):
    clf = MultiTaskClassifier(
        hidden_units=tuple(cfg["hidden"]),
        lr=cfg["lr"],
        max_epochs=cfg["epochs"],
        batch_size=cfg["batch_size"],
        train_split=None,
        device=cfg["device"],
        random_state=0,
        **PLAIN_RECIPE,
    )
    return clf.fit(X, labels)


def predict_skmtl(clf, X, cfg):
    return list(clf.predict_proba(X).values())


def fit_mlp(X, codes, cfg):
    models = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for t in range(codes.shape[1]):
            rows = codes[:, t] >= 0
            mlp = MLPClassifier(
                hidden_layer_sizes=tuple(cfg["hidden"]),
                batch_size=cfg["batch_size"],
                learning_rate_init=cfg["lr"],
                max_iter=cfg["epochs"],
                n_iter_no_change=cfg["epochs"] + 1,
                tol=0.0,
                random_state=0,
            )
            models.append(mlp.fit(X[rows], codes[rows, t]))
    return models


def predict_mlp(models, X, cfg):
    return [m.predict_proba(X) for m in models]


FIT = {"hand": fit_hand, "skorch": fit_skorch, "skmtl": fit_skmtl, "mlp": fit_mlp}
PREDICT = {
    "hand": predict_hand,
    "skorch": predict_skorch,
    "skmtl": predict_skmtl,
    "mlp": predict_mlp,
}


def _targets(name, labels, codes):
    return labels if name == "skmtl" else codes


def accuracy(probas, codes) -> float:
    accs = []
    for t, p in enumerate(probas):
        rows = codes[:, t] >= 0
        accs.append(np.mean(p[rows].argmax(axis=1) == codes[rows, t]))
    return float(np.mean(accs))


# -------------------------------------------------------------- timing


def time_all(X, labels, codes, cfg, contenders, repeat=3):
    """Median fit and predict seconds of each contender.

    The torch contenders run ``repeat`` times, interleaved (a, b, c, a, b, c,
    ...) so that a slow stretch of the machine hits all of them alike;
    scikit-learn's MLPClassifier, by far the slowest, runs once.
    """
    device = cfg["device"]
    contenders = [c for c in contenders if not (c == "mlp" and device != "cpu")]
    warm = dict(cfg, epochs=1)
    small = slice(0, min(len(X), 2048))
    for name in contenders:  # first-call costs (kernels, allocator) out of the timings
        model = FIT[name](X[small], _targets(name, labels, codes)[small], warm)
        PREDICT[name](model, X[small], warm)
    runs = {name: [] for name in contenders}
    for i in range(repeat):
        for name in contenders if i % 2 == 0 else contenders[::-1]:
            if name == "mlp" and i > 0:
                continue
            _sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
            model = FIT[name](X, _targets(name, labels, codes), cfg)
            _sync(device)
            t1, c1 = time.perf_counter(), time.process_time()
            probas = PREDICT[name](model, X, cfg)
            _sync(device)
            t2 = time.perf_counter()
            runs[name].append((t1 - t0, t2 - t1, accuracy(probas, codes), c1 - c0))
    ref = runs.get("hand")
    results = {}
    for name, rs in runs.items():
        results[name] = {
            "fit_s": float(np.median([r[0] for r in rs])),
            "predict_s": float(np.median([r[1] for r in rs])),
            "accuracy": rs[0][2],
            "runs": len(rs),
        }
        if ref:
            for k, key in ((0, "fit"), (1, "predict"), (3, "fit_cpu")):
                ratios = [r[k] / h[k] for r, h in zip(rs, ref, strict=True)]
                results[name][f"{key}_ratios"] = ratios
                results[name][f"{key}_ratio"] = float(np.median(ratios))
    return results


# -------------------------------------------------------------- memory


def memory_child(name: str, cfg: dict) -> dict:
    """Run in a fresh process: peak memory of one fit over a bare ``import skmtl``."""
    base = status_mb("VmRSS")
    X, labels, codes = make_data(cfg["rows"], cfg["features"], cfg["tasks"])
    data_mb = (X.nbytes + codes.nbytes) / 2**20
    if torch.device(cfg["device"]).type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak resident size to the current one
    FIT[name](X, _targets(name, labels, codes), dict(cfg, epochs=1))
    out = {"peak_rss_over_import_mb": status_mb("VmHWM") - base, "data_mb": data_mb}
    if torch.device(cfg["device"]).type == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def measure_memory(cfg, contenders) -> dict:
    out = {}
    for name in contenders:
        if name == "mlp" and cfg["device"] != "cpu":
            continue
        proc = subprocess.run(
            [sys.executable, __file__, "--memory-child", name, "--config", json.dumps(cfg)],
            capture_output=True,
            text=True,
            check=True,
        )
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


# -------------------------------------------------------------- report


def table(title, results, memory=None) -> str:
    ref = results["hand"]
    lines = [
        f"### {title}",
        "",
        "| contender | fit s | fit / hand (range) | fit CPU / hand (range) | predict s "
        "| predict / hand | mean acc |" + (" peak RSS over import MB |" if memory else ""),
        "|---|---|---|---|---|---|---|" + ("---|" if memory else ""),
    ]

    def ratio(r, key):
        if f"{key}_ratio" not in r:
            return f"{r[key + '_s'] / ref[key + '_s']:.2f}x"
        low, high = min(r[f"{key}_ratios"]), max(r[f"{key}_ratios"])
        many = key.startswith("fit") and len(r[f"{key}_ratios"]) > 1
        spread = f" ({low:.2f}-{high:.2f})" if many else ""
        return f"{r[key + '_ratio']:.2f}x{spread}"

    for name, r in results.items():
        row = (
            f"| {name} | {r['fit_s']:.2f} | {ratio(r, 'fit')} | {ratio(r, 'fit_cpu')} | "
            f"{r['predict_s']:.3f} | {ratio(r, 'predict')} | {r['accuracy']:.3f} |"
        )
        if memory:
            m = memory.get(name)
            row += f" {m['peak_rss_over_import_mb']:.0f} |" if m else " |"
        lines.append(row)
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--hidden", type=int, nargs="+", default=[256, 256])
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--contenders", nargs="+", default=list(CONTENDERS))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each torch contender")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child:
        print(json.dumps(memory_child(args.memory_child, json.loads(args.config))))
        return {}

    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    device = "cpu" if device == "auto" else device
    cfg = {
        "rows": args.rows,
        "features": args.features,
        "tasks": args.tasks,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "hidden": args.hidden,
        "lr": args.lr,
        "device": device,
    }
    print(f"skmtl {skmtl.__version__} on {machine()}; device {device}")
    report = {"machine": machine(), "config": cfg}

    X, labels, codes = make_data(args.rows, args.features, args.tasks)
    generated = time_all(X, labels, codes, cfg, args.contenders, args.repeat)
    memory = None if args.skip_memory else measure_memory(cfg, args.contenders)
    title = (
        f"Generated: {args.rows} rows x {args.features} features x {args.tasks} tasks "
        f"(10% labels missing), {args.epochs} epochs, batch {args.batch_size}"
    )
    print(table(title, generated, memory))
    if memory:
        skm = memory.get("skmtl")
        if skm:
            print(
                f"\nskmtl peak RSS over import: {skm['peak_rss_over_import_mb']:.0f} MB; "
                f"data as tensors: {skm['data_mb']:.0f} MB; budget data + 300 MB"
            )
        if any("peak_gpu_mb" in m for m in memory.values()):
            print(
                "peak GPU MB: "
                + ", ".join(
                    f"{k} {m['peak_gpu_mb']:.0f}" for k, m in memory.items() if "peak_gpu_mb" in m
                )
            )
    report["generated"] = {"timings": generated, "memory": memory}

    Xp, labels_p, codes_p = penguin_data()
    cfg_p = dict(cfg, epochs=50, batch_size=64, rows=len(Xp))
    penguins = time_all(Xp, labels_p, codes_p, cfg_p, args.contenders, args.repeat)
    print()
    print(
        table(
            f"Palmer penguins (real, shipped): {len(Xp)} rows x 4 features x 3 tasks, "
            "50 epochs, batch 64",
            penguins,
        )
    )
    report["penguins"] = {"timings": penguins}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return report


if __name__ == "__main__":
    main()
