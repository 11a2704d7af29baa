"""The accuracy-cost frontier of settings measured with ``benchmarks/accuracy.py``.

    python benchmarks/frontier.py today=a.json "batch 1024"=b.json ... \\
        [--reference today] [--png frontier.png]

Each ``name=file[,file...]`` is one setting: the JSON files that
``accuracy.py --json`` wrote for it (the same tables and splits for every
setting). For each setting it prints the mean per-task accuracy over the
tables they all share, the mean fit seconds, each table's accuracy change
against ``--reference`` (the first setting unless named), flagged where it
falls by more than 0.3 points or the standard error of the reference's
split-to-split mean, whichever is larger, and whether the setting is on the
frontier (no other setting both cheaper and more accurate). ``--png`` also
plots accuracy against seconds.
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def load(spec: str) -> tuple[str, dict]:
    name, _, paths = spec.partition("=")
    tables: dict = {}
    for path in paths.split(","):
        with open(path) as f:
            tables.update(json.load(f)["tables"])
    return name, tables


def kept(reference: list[float], other: list[float]) -> tuple[float, bool]:
    """The change in points and whether it stays within the allowance."""
    change = 100 * (np.mean(other) - np.mean(reference))
    allowance = max(0.3, 100 * np.std(reference) / np.sqrt(len(reference)))
    return change, change >= -allowance


def frontier(settings: dict[str, dict], reference: str) -> list[dict]:
    shared = set.intersection(*(set(t) for t in settings.values()))
    names = [n for n in settings[reference] if n in shared]
    rows = []
    for name, tables in settings.items():
        acc = [np.mean(tables[n]["models"]["skmtl"]["acc"]) for n in names]
        secs = [np.mean(tables[n]["models"]["skmtl"]["fit_s"]) for n in names]
        changes = {
            n: kept(
                settings[reference][n]["models"]["skmtl"]["acc"],
                tables[n]["models"]["skmtl"]["acc"],
            )
            for n in names
        }
        rows.append(
            {
                "setting": name,
                "accuracy": float(np.mean(acc)),
                "seconds": float(np.mean(secs)),
                "changes": changes,
            }
        )
    for row in rows:
        row["frontier"] = not any(
            o["seconds"] < row["seconds"] and o["accuracy"] > row["accuracy"] for o in rows
        )
    return rows


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("settings", nargs="+", help="name=file.json[,file.json]")
    parser.add_argument("--reference", help="the setting the changes are measured from")
    parser.add_argument("--png", help="also plot accuracy against seconds into this file")
    args = parser.parse_args(argv)
    settings = dict(load(spec) for spec in args.settings)
    reference = args.reference or next(iter(settings))
    rows = frontier(settings, reference)
    tables = list(rows[0]["changes"])
    print("| setting | mean accuracy | mean fit s | on the frontier | " + " | ".join(tables) + " |")
    print("|---|---|---|---|" + "---|" * len(tables))
    for row in rows:
        cells = [f"{c:+.2f}" + ("" if ok else " (!)") for c, ok in row["changes"].values()]
        on = "yes" if row["frontier"] else ""
        print(
            f"| {row['setting']} | {row['accuracy']:.4f} | {row['seconds']:.1f} | {on} | "
            + " | ".join(cells)
            + " |"
        )
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6.5, 4))
        for row in rows:
            ax.scatter(row["seconds"], row["accuracy"], color="C0" if row["frontier"] else "C7")
            ax.annotate(
                row["setting"],
                (row["seconds"], row["accuracy"]),
                fontsize=7,
                xytext=(4, 3),
                textcoords="offset points",
            )
        front = sorted((r for r in rows if r["frontier"]), key=lambda r: r["seconds"])
        ax.plot([r["seconds"] for r in front], [r["accuracy"] for r in front], color="C0", lw=1)
        ax.set_xlabel("mean fit seconds per table")
        ax.set_ylabel(f"mean per-task accuracy ({len(tables)} tables)")
        ax.set_title("Accuracy against fit cost, one point per setting")
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
    return rows


if __name__ == "__main__":
    main()
