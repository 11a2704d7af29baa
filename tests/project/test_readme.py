"""The README's Python blocks run as written, in order, and do what they say."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from support import run_python_blocks

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(scope="module")
def readme_namespace():
    return run_python_blocks(README, min_blocks=3)


def test_quickstart_fits_and_predicts_dataframe(readme_namespace):
    ns = readme_namespace
    pred = ns["model"].predict(ns["X_test"])
    assert isinstance(pred, pd.DataFrame)
    assert list(pred.columns) == ["species", "sex", "island"]
    scores = ns["model"][-1].score_tasks(ns["model"][:-1].transform(ns["X_test"]), ns["Y_test"])
    assert scores["species"] > 0.9 and scores["sex"] > 0.7


def test_readme_grid_search_ran(readme_namespace):
    search = readme_namespace["search"]
    assert search.best_params_ in search.cv_results_["params"]
    assert len(search.cv_results_["params"]) == 4


def test_readme_early_stopping_stopped(readme_namespace):
    clf = readme_namespace["clf"]
    assert len(clf.history) < 200


def test_readme_mixed_tasks(readme_namespace):
    ns = readme_namespace
    pred = ns["mixed"].predict(ns["X_mixed"])
    assert list(pred.columns) == ["species", "sex", "body_mass_g"]
    assert pred["body_mass_g"].dtype.kind == "f" and pred["body_mass_g"].mean() > 2000
    model = ns["mixed"]
    scores = model[-1].score_tasks(model[:-1].transform(ns["X_mixed"]), ns["Y_mixed"])
    assert scores["species"] > 0.9 and scores["body_mass_g"] > 0.6


def test_readme_tabular_pipeline_beats_the_majority(readme_namespace):
    ns = readme_namespace
    model, Y_test = ns["gss_model"], ns["Yg_test"]
    assert type(model[-1]).__name__ == "MultiTaskClassifier"
    majority = np.mean([Y_test[t].value_counts(normalize=True).iloc[0] for t in Y_test])
    assert model.score(ns["Xg_test"], Y_test) > majority
