"""Sparse X end to end: a default MultiTaskClassifier on TF-IDF text features.

Documents are generated (no downloads) from a Zipf-like background
vocabulary plus topic words and sentiment words, counted straight into a
CSR matrix with numpy and weighted by scikit-learn's ``TfidfTransformer``.
Two tasks are learnable from the words: ``topic`` (4 classes) and
``sentiment`` (2 classes, about 10% of its labels missing).

It fits ``MultiTaskClassifier(random_state=0)`` with its defaults (the
sparse matrix is never densified whole: each batch's rows are) and reports
the size of the sparse data, the model, the peak resident memory of the fit
over the memory before it (against a budget of ``3 x sparse MB + model MB +
500 MB``; the whole matrix dense would need ``rows x cols x 4`` bytes), the
fit time, the epochs run and the test accuracy per task.

Examples
--------
    python benchmarks/sparse.py                                  # 20,000 x 30,000
    python benchmarks/sparse.py --rows 2000 --cols 3000 --max-epochs 2
"""

from __future__ import annotations

import argparse
import gc
import resource
import time

import numpy as np
import scipy.sparse as sp
import torch
from _plain import machine, status_mb
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.model_selection import train_test_split

import skmtl
from skmtl import MultiTaskClassifier

TOPICS = np.array(["science", "sports", "politics", "arts"])

# ----------------------------------------------------------------- data


def make_documents(rows: int, cols: int, seed: int = 0, missing: float = 0.1):
    """TF-IDF features of ``rows`` generated documents over ``cols`` terms, and Y.

    Each token is a background word (Zipf-Mandelbrot over the vocabulary,
    91%), a topic word (4%; three quarters of them from the document's own
    topic, a quarter from another) or a sentiment word (5%; two thirds of
    them from the document's own sentiment lexicon, one third from the
    other), so both tasks are learnable but noisy.

    Returns the CSR matrix (float64, as ``TfidfTransformer`` gives it) and
    ``Y``: ``{"topic": str labels, "sentiment": 0.0/1.0 with NaN missing}``.
    """
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, cols + 1, dtype=np.float64)
    background = 1.0 / (ranks + 2.7) ** 1.07
    background /= background.sum()

    # topic and sentiment words: distinct, from the less frequent part of the vocabulary
    n_topic = max(10, min(150, cols // 40))
    n_sent = max(5, min(60, cols // 100))
    pool = rng.permutation(np.arange(min(cols // 10, 500), cols))
    topic_words = pool[: 4 * n_topic].reshape(4, n_topic)
    sent_words = pool[4 * n_topic : 4 * n_topic + 2 * n_sent].reshape(2, n_sent)

    topic = rng.integers(0, 4, rows)
    sentiment = rng.integers(0, 2, rows)
    lengths = rng.poisson(120, rows) + 20
    doc = np.repeat(np.arange(rows), lengths)
    source = rng.choice(3, size=len(doc), p=[0.91, 0.04, 0.05])
    tokens = rng.choice(cols, size=len(doc), p=background)
    at = source == 1
    other = (topic[doc[at]] + rng.integers(1, 4, at.sum())) % 4
    which = np.where(rng.random(at.sum()) < 0.25, other, topic[doc[at]])
    tokens[at] = topic_words[which, rng.integers(0, n_topic, at.sum())]
    at = source == 2
    flip = rng.random(at.sum()) < 1 / 3
    lexicon = np.where(flip, 1 - sentiment[doc[at]], sentiment[doc[at]])
    tokens[at] = sent_words[lexicon, rng.integers(0, n_sent, at.sum())]

    counts = sp.csr_matrix(
        (np.ones(len(doc), dtype=np.float32), (doc, tokens)), shape=(rows, cols)
    )  # duplicates summed: term counts
    X = TfidfTransformer().fit_transform(counts)
    labels = sentiment.astype(np.float64)
    labels[rng.random(rows) < missing] = np.nan
    return X.tocsr(), {"topic": TOPICS[topic], "sentiment": labels}


def sparse_mb(X) -> float:
    return (X.data.nbytes + X.indices.nbytes + X.indptr.nbytes) / 2**20


# -------------------------------------------------------------- memory


def reset_peak() -> bool:
    """Reset the peak resident size (``VmHWM``) to the current one, if Linux allows."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def ru_maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# -------------------------------------------------------------- report


def run(rows: int, cols: int, max_epochs: int | None = None, seed: int = 0) -> dict:
    """Build the data, fit, and measure; the numbers of the table."""
    t0 = time.perf_counter()
    X, Y = make_documents(rows, cols, seed=seed)
    build_s = time.perf_counter() - t0
    idx_train, idx_test = train_test_split(
        np.arange(rows), test_size=0.2, random_state=seed, stratify=Y["topic"]
    )
    X_train, X_test = X[idx_train], X[idx_test]
    Y_train = {t: v[idx_train] for t, v in Y.items()}
    Y_test = {t: v[idx_test] for t, v in Y.items()}
    rss_after_build = ru_maxrss_mb()

    params = {} if max_epochs is None else {"max_epochs": max_epochs}
    clf = MultiTaskClassifier(random_state=0, **params)
    gc.collect()
    rss_before = status_mb("VmRSS")
    hwm_reset = reset_peak()
    t0 = time.perf_counter()
    clf.fit(X_train, Y_train)
    fit_s = time.perf_counter() - t0
    peak = status_mb("VmHWM") if hwm_reset else ru_maxrss_mb()
    rss_after_fit = ru_maxrss_mb()

    t0 = time.perf_counter()
    scores = clf.score_tasks(X_test, Y_test)
    predict_s = time.perf_counter() - t0

    n_params = sum(p.numel() for p in clf.module_.parameters())
    model_mb = sum(p.numel() * p.element_size() for p in clf.module_.parameters()) / 2**20
    data_mb = sparse_mb(X_train)
    budget = 3 * data_mb + model_mb + 500
    growth = peak - rss_before
    return {
        "rows": rows,
        "cols": cols,
        "nnz": X.nnz,
        "build_s": build_s,
        "sparse_mb_all": sparse_mb(X),
        "sparse_mb": data_mb,
        "dense_mb": X_train.shape[0] * cols * 4 / 2**20,
        "n_params": n_params,
        "model_mb": model_mb,
        "rss_before_fit_mb": rss_before,
        "peak_fit_mb": peak,
        "growth_mb": growth,
        "peak_source": "VmHWM (reset before fit)" if hwm_reset else "ru_maxrss",
        "ru_maxrss_after_build_mb": rss_after_build,
        "ru_maxrss_after_fit_mb": rss_after_fit,
        "budget_mb": budget,
        "within_budget": growth <= budget,
        "fit_s": fit_s,
        "epochs": len(clf.history),
        "max_epochs": clf.max_epochs,
        "predict_s": predict_s,
        "scores": scores,
        "n_test": len(idx_test),
    }


def table(r: dict) -> str:
    rows = [
        ("documents x terms", f"{r['rows']:,} x {r['cols']:,} ({r['nnz']:,} nonzeros)"),
        ("train rows / test rows", f"{r['rows'] - r['n_test']:,} / {r['n_test']:,}"),
        ("data build s", f"{r['build_s']:.1f}"),
        (
            "sparse X MB (data+indices+indptr), all / train",
            f"{r['sparse_mb_all']:.1f} / {r['sparse_mb']:.1f}",
        ),
        ("train X dense would be MB", f"{r['dense_mb']:,.0f}"),
        ("model parameters", f"{r['n_params']:,}"),
        ("model MB (float32)", f"{r['model_mb']:.1f}"),
        ("RSS before fit MB", f"{r['rss_before_fit_mb']:.0f}"),
        (f"peak RSS during fit MB [{r['peak_source']}]", f"{r['peak_fit_mb']:.0f}"),
        ("fit RSS growth MB (peak - before)", f"{r['growth_mb']:.0f}"),
        (
            "ru_maxrss after build / after fit MB",
            f"{r['ru_maxrss_after_build_mb']:.0f} / {r['ru_maxrss_after_fit_mb']:.0f}",
        ),
        ("budget MB (3 x sparse train + model + 500)", f"{r['budget_mb']:.0f}"),
        ("growth within budget", "yes" if r["within_budget"] else "**NO**"),
        ("fit s", f"{r['fit_s']:.1f}"),
        ("epochs run (max_epochs)", f"{r['epochs']} ({r['max_epochs']})"),
        ("score_tasks on test s", f"{r['predict_s']:.2f}"),
    ]
    rows += [(f"test accuracy: {task}", f"{acc:.3f}") for task, acc in r["scores"].items()]
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    return "\n".join(lines)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000, help="documents")
    parser.add_argument("--cols", type=int, default=30_000, help="vocabulary size")
    parser.add_argument(
        "--max-epochs", type=int, default=None, help="default: the estimator's default"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"skmtl {skmtl.__version__} on {machine()}; device {device}\n")
    result = run(args.rows, args.cols, args.max_epochs, args.seed)
    print(
        f"### MultiTaskClassifier(random_state=0) on TF-IDF of {args.rows:,} generated "
        f"documents, {args.cols:,} terms; topic (4 classes), sentiment (2, ~10% missing)\n"
    )
    print(table(result))
    return result


if __name__ == "__main__":
    main()
