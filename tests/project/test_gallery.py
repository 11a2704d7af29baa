"""The gallery scripts (examples/plot_*.py) run as the docs build runs them,
and each one shows what its text says: a score above chance, the figures it
promises. Needs matplotlib (``pip install skmtl[plot]``)."""

from __future__ import annotations

import runpy
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg", force=True)
import matplotlib.pyplot as plt  # noqa: E402
import scipy.sparse  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(ROOT / "docs" / "sphinxext"))
from gallery_order import ORDER  # noqa: E402


def run_script(name: str) -> tuple[dict, list]:
    """Run examples/<name> as ``python`` would; its globals and its figures."""
    plt.close("all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # e.g. the dropped rows it shows
        namespace = runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    figures = [plt.figure(n) for n in plt.get_fignums()]
    return namespace, figures


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_every_gallery_script_is_ordered_and_tested():
    scripts = sorted(path.name for path in EXAMPLES.glob("plot_*.py"))
    assert scripts == sorted(ORDER)  # docs/sphinxext/gallery_order.py lists each one
    tested = {name.removeprefix("test_") for name in globals() if name.startswith("test_plot_")}
    assert {s.removesuffix(".py") for s in scripts} == tested


def test_plot_quickstart():
    ns, figures = run_script("plot_quickstart.py")
    assert list(ns["Y"].columns) == ["species", "sex", "island"]
    assert ns["score"] > 0.75
    assert ns["task_scores"]["species"] > 0.9 and ns["task_scores"]["sex"] > 0.7
    assert ns["score"] == pytest.approx(np.mean(list(ns["task_scores"].values())))
    (fig,) = figures
    assert [p.get_height() for p in fig.axes[0].patches] == list(ns["task_scores"].values())


def test_plot_missing_labels():
    ns, figures = run_script("plot_missing_labels.py")
    results = ns["results"]
    assert list(results.index) == ns["fractions"]
    # fewer and fewer sex labels were left to train on
    assert results["sex labels"].is_monotonic_decreasing
    assert results["sex labels"].iloc[-1] < 0.1 * results["sex labels"].iloc[0]
    # the tasks that kept every label are still learned; sex is above chance
    assert (results["species"] > 0.85).all()
    assert results.loc[0.0, "sex"] > 0.8
    assert ns["sex_accuracy_at_90"] > 0.55
    # the five rows without any label were dropped, with a warning
    messages = [str(w.message) for w in ns["caught"]]
    assert "Dropped 5 row(s) of Y that have no label for any task." in messages
    (fig,) = figures
    assert len(fig.axes[0].get_lines()) == 4


def test_plot_grid_search():
    ns, figures = run_script("plot_grid_search.py")
    search = ns["search"]
    assert len(search.cv_results_["params"]) == 4
    assert search.best_params_ in search.cv_results_["params"]
    # every scorer scored every candidate (no "Scoring failed" NaN)
    assert np.isfinite(ns["results"].to_numpy()).all()
    assert (ns["results"]["species"] > 0.8).all()
    assert ns["test_sex_f1"] > 0.7
    (fig,) = figures
    assert len(fig.axes[0].patches) == 4 * 4


def test_plot_packed_search():
    ns, figures = run_script("plot_packed_search.py")
    packed, plain = ns["packed"], ns["plain"]
    assert packed.packed_.all() and len(packed.cv_results_["params"]) == 8
    assert type(packed.best_estimator_).__name__ == "MultiTaskClassifier"
    # the packed search answers as GridSearchCV does, within the folds' noise
    gap = np.abs(packed.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"])
    assert gap.mean() < plain.cv_results_["std_test_score"].mean()
    (fig,) = figures
    assert len(fig.axes[0].patches) == 2 * 8


def test_plot_cnn_digits():
    ns, figures = run_script("plot_cnn_digits.py")
    clf = ns["clf"]
    assert clf.input_shape_ == (1, 8, 8)
    # well above the majority-class rates (about 0.10, 0.51 and 0.50)
    assert ns["digit_accuracy"] > 0.8
    assert ns["task_scores"]["parity"] > 0.75 and ns["task_scores"]["large"] > 0.75
    (fig,) = figures
    assert sum(bool(ax.get_images()) for ax in fig.axes) == 12


def test_plot_sparse_text():
    ns, figures = run_script("plot_sparse_text.py")
    assert scipy.sparse.issparse(ns["X_test"])
    assert ns["X_test"].nnz < 0.05 * np.prod(ns["X_test"].shape)
    assert ns["Y"]["sentiment"].isna().mean() > 0.15  # missing labels in the corpus
    # three balanced topics and two balanced sentiments: chance is 1/3 and 1/2
    assert ns["topic_accuracy"] > 0.6
    assert ns["task_scores"]["sentiment"] > 0.55
    (fig,) = figures
    assert len(fig.axes[0].texts) == 9  # a 3 x 3 confusion matrix


def test_plot_task_relations():
    ns, figures = run_script("plot_task_relations.py")
    tasks = ["species", "sex", "island"]
    affinity, gain = ns["affinity"], ns["gain"]
    assert list(affinity.index) == list(affinity.columns) == tasks
    np.testing.assert_allclose(np.diag(affinity), 1.0, atol=1e-5)
    assert ((affinity.to_numpy() >= -1) & (affinity.to_numpy() <= 1 + 1e-6)).all()
    assert list(gain.index) == tasks
    assert (gain["multi_task"] > 0.5).all() and (gain["single_task"] > 0.5).all()
    np.testing.assert_allclose(gain["gain"], gain["multi_task"] - gain["single_task"], atol=1e-9)
    heatmap, bars = figures
    assert len(heatmap.axes[0].texts) == 9
    assert [p.get_height() for p in bars.axes[0].patches] == pytest.approx(list(gain["gain"]))


def test_plot_diagnostics():
    ns, figures = run_script("plot_diagnostics.py")
    clf = ns["model"][-1]
    curves, weights = figures
    losses, metrics = curves.axes[:2]
    assert len(losses.get_lines()) == 6  # train and valid loss of each task
    assert len(metrics.get_lines()) == 3
    # the lines are the history's numbers
    first = losses.get_lines()[0]
    np.testing.assert_allclose(first.get_ydata(), clf.history[:, "train_loss_species"])
    assert first.get_ydata()[-1] < first.get_ydata()[0]  # training lowered the loss
    weight_axes, affinity_axes = weights.axes[:2]
    lines = weight_axes.get_lines()
    assert [line.get_label() for line in lines] == ["species", "sex", "island"]
    # Dynamic Weight Average moved the weights away from 1 after two epochs
    assert any(np.ptp(line.get_ydata()) > 1e-3 for line in lines)
    assert len(affinity_axes.texts) == 9
