"""Fit on a table larger than memory would like: a memory-mapped ``.npy`` file.

Writes a generated table of at least 2 GB (float32, two classification
tasks), then, each in a fresh process:

* fits ``MultiTaskClassifier`` on ``np.load(path, mmap_mode="r")`` for one
  epoch and reports the growth of the process's peak resident memory
  (``ru_maxrss``) over the fit, against the budget of the model plus 500 MB,
  and the rows per second;
* fits the same settings on the first ``--memory-rows`` rows in memory, for
  the rows per second of the in-memory path on a table that fits;
* reads the file once front to back, and multiplies 256 x 256 float32
  matrices, as the machine's reference rates.

    python benchmarks/memory_mapped.py --gigabytes 2.1 --json results.json

Needs about twice ``--gigabytes`` of free disk in ``--folder`` (the file
and the page cache of the machine); the file is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

FEATURES = 64
# the data path's cost: one epoch of a small network, no numeric embedding
# (whose per-batch activations would dominate both the time and the memory)
SETTINGS = dict(
    max_epochs=1, hidden_units=(64,), batch_size=4096, numeric_embedding=None, random_state=0
)


def write_table(path: str, rows: int, seed: int = 0) -> None:
    """The table and its two tasks (from linear rules), written a block at a
    time (never whole in memory); the targets go to ``<path>.y.npy``."""
    X = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, FEATURES))
    Y = np.lib.format.open_memmap(path + ".y.npy", mode="w+", dtype=np.int8, shape=(rows, 2))
    rng = np.random.default_rng(seed)
    step = 500_000
    for start in range(0, rows, step):
        stop = min(start + step, rows)
        block = rng.standard_normal((stop - start, FEATURES), dtype=np.float32)
        X[start:stop] = block
        Y[start:stop, 0] = block[:, 0] + block[:, 1] > 0
        Y[start:stop, 1] = block[:, 2] - 0.5 * block[:, 3] > 0.2
    X.flush()
    Y.flush()
    del X, Y


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def child(mode: str, path: str, rows: int) -> dict:
    """One measurement, in its own process (a fresh peak of resident memory)."""
    from skmtl import MultiTaskClassifier

    X = np.load(path, mmap_mode="r")
    labels = np.load(path + ".y.npy")[:rows]
    Y = {"a": labels[:, 0], "b": labels[:, 1]}
    if mode == "memory":
        X = np.array(X[:rows])
    # torch's and skmtl's lazy start-up, outside the measured fit
    warm = {task: values[:2000] for task, values in Y.items()}
    MultiTaskClassifier(**{**SETTINGS, "hidden_units": (4,)}).fit(np.asarray(X[:2000]), warm)
    before = max_rss_mb()
    start = time.perf_counter()
    clf = MultiTaskClassifier(**SETTINGS).fit(X, Y)
    seconds = time.perf_counter() - start
    model_mb = sum(p.numel() * p.element_size() for p in clf.module_.parameters()) / 2**20
    return {
        "mode": mode,
        "rows": rows,
        "x_mb": rows * FEATURES * 4 / 2**20,
        "fit_s": seconds,
        "rows_per_s": rows / seconds,
        "rss_growth_mb": max_rss_mb() - before,
        "model_mb": model_mb,
        "train_acc": float(clf.score(X[:200_000], {t: v[:200_000] for t, v in Y.items()})),
    }


def reference_rates(path: str) -> dict:
    """Reading the file front to back, and float32 matrix products."""
    import torch

    X = np.load(path, mmap_mode="r")
    start, total = time.perf_counter(), 0.0
    for i in range(0, len(X), 1_000_000):
        total += float(np.asarray(X[i : i + 1_000_000]).sum(dtype=np.float64))
    read_s = time.perf_counter() - start
    a, b = torch.randn(256, 256), torch.randn(256, 256)
    for _ in range(50):
        a @ b
    reps, start = 2000, time.perf_counter()
    for _ in range(reps):
        a @ b
    gemm_s = time.perf_counter() - start
    return {
        "read_mb_per_s": X.nbytes / 2**20 / read_s,
        "gemm_gflops_f32": 2 * 256**3 * reps / gemm_s / 1e9,
        "threads": torch.get_num_threads(),
    }


def run(args) -> dict:
    rows = int(args.gigabytes * 2**30 / (FEATURES * 4))
    folder = args.folder or tempfile.gettempdir()
    path = os.path.join(folder, "skmtl_memory_mapped_benchmark.npy")
    try:
        write_table(path, rows)
        results = {"reference": reference_rates(path)}
        for mode, n in (("mapped", rows), ("memory", args.memory_rows)):
            out = subprocess.run(
                [sys.executable, __file__, "--child", mode, "--path", path, "--rows", str(n)],
                capture_output=True,
                text=True,
                check=True,
            )
            results[mode] = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        for name in (path, path + ".y.npy"):
            if os.path.exists(name):
                os.remove(name)
    return results


def report(results: dict) -> str:
    ref, mapped, memory = results["reference"], results["mapped"], results["memory"]
    budget = mapped["model_mb"] + 500
    lines = [
        f"Machine: {ref['threads']} torch threads, float32 GEMM (256x256) "
        f"{ref['gemm_gflops_f32']:.0f} GFLOP/s, reading the file {ref['read_mb_per_s']:.0f} MB/s",
        "",
        "| X | rows | X size | fit s | rows/s | peak RSS growth | budget |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = (("memory-mapped file", mapped, f"{budget:.0f} MB"), ("in memory", memory, ""))
    for name, r, cap in rows:
        lines.append(
            f"| {name} | {r['rows']:,} | {r['x_mb'] / 1024:.2f} GB | {r['fit_s']:.1f} | "
            f"{r['rows_per_s']:,.0f} | {r['rss_growth_mb']:.0f} MB | {cap} |"
        )
    ratio = mapped["rows_per_s"] / memory["rows_per_s"]
    lines += ["", f"Mapped rows/s over in-memory rows/s: {ratio:.2f}x."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gigabytes", type=float, default=2.1)
    parser.add_argument("--memory-rows", type=int, default=1_000_000)
    parser.add_argument("--folder", help="where to write the table (default: the temp folder)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.path, args.rows)))
        return
    results = run(args)
    print(report(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
