"""make_tabular_pipeline: a mixed-type DataFrame with missing values in, predictions out."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import Pipeline

from skmtl import MultiTaskClassifier, make_tabular_pipeline


def mixed_frame(n=300, seed=0):
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    age[::7] = np.nan
    city = rng.choice(["north", "south", "east"], n).astype(object)
    city[::11] = None
    X = pd.DataFrame(
        {
            "age": age,
            "income": rng.lognormal(10, 1, n),
            "member": rng.random(n) > 0.5,
            "city": city,
            "plan": pd.Categorical(rng.choice(["basic", "pro"], n)),
            "tier": pd.array(rng.choice(["a", "b"], n), dtype="string"),
        }
    )
    X.loc[3, "tier"] = pd.NA
    Y = pd.DataFrame(
        {
            "old": np.where(np.nan_to_num(age, nan=40) > 40, "yes", "no"),
            "south": np.where(city == "south", "s", "other"),
        }
    )
    Y.loc[::5, "old"] = np.nan
    return X, Y


def test_pipeline_steps_follow_the_dtypes():
    X, _ = mixed_frame()
    pipe = make_tabular_pipeline(X)
    assert isinstance(pipe, Pipeline)
    columns = pipe.named_steps["columntransformer"]
    assert isinstance(columns, ColumnTransformer)
    kinds = {name: cols for name, _, cols in columns.transformers}
    assert kinds == {
        "numeric": ["age", "income", "member"],
        "categorical": ["city", "plan", "tier"],
    }
    assert isinstance(pipe[-1], MultiTaskClassifier)


def test_pipeline_fits_missing_features_and_labels_and_predicts_in_kind():
    X, Y = mixed_frame()
    pipe = make_tabular_pipeline(X, MultiTaskClassifier(max_epochs=20, random_state=0))
    pipe.fit(X, Y)
    out = pipe.predict(X)
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["old", "south"]
    assert set(out["old"]) <= {"yes", "no"}
    names = list(pipe[:-1].get_feature_names_out())
    # a NaN indicator for age only; one-hot columns for every category and for missing
    assert "missingindicator_age" in names and "missingindicator_income" not in names
    assert {"city_north", "city_south", "city_east", "city_nan", "tier_nan"} <= set(names)
    # the one-hot "south" column makes that task easy
    assert pipe.score(X, Y) > 0.7


def test_unseen_categories_and_new_missing_values_at_predict():
    X, Y = mixed_frame()
    pipe = make_tabular_pipeline(X, MultiTaskClassifier(max_epochs=2, random_state=0)).fit(X, Y)
    X_new = X.head(4).copy()
    X_new["city"] = ["west", None, np.nan, "north"]
    X_new["income"] = np.nan  # never missing in fit
    assert pipe.predict(X_new).shape == (4, 2)


def test_max_categories_caps_the_one_hot_columns():
    X = pd.DataFrame({"x": np.arange(200.0), "c": [f"k{i % 40}" for i in range(200)]})
    pipe = make_tabular_pipeline(X, LogisticRegression(), max_categories=5)
    Xt = pipe[:-1].fit_transform(X)
    assert Xt.shape == (200, 1 + 5)


def test_an_array_gets_the_imputer_only():
    X = np.array([[1.0, np.nan], [2.0, 3.0], [np.nan, 4.0]])
    pipe = make_tabular_pipeline(X, LogisticRegression())
    assert [type(step) for _, step in pipe.steps] == [SimpleImputer, LogisticRegression]


def test_a_datetime_column_is_refused_with_the_fix():
    X = pd.DataFrame({"when": pd.date_range("2020-01-01", periods=3), "x": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match=r"cannot encode column\(s\) \[\('when'.*dt\.dayofyear"):
        make_tabular_pipeline(X)


def test_pipeline_tunes_with_gridsearch_and_pickles():
    X, Y = mixed_frame()
    pipe = make_tabular_pipeline(X, MultiTaskClassifier(max_epochs=3, random_state=0))
    search = GridSearchCV(
        pipe,
        {"multitaskclassifier__numeric_embedding": [None, "periodic"]},
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(X, Y)
    assert len(search.cv_results_["params"]) == 2
    restored = pickle.loads(pickle.dumps(search.best_estimator_))
    pd.testing.assert_frame_equal(restored.predict(X), search.predict(X))


def test_object_column_mixing_numbers_and_strings_is_encoded():
    X = pd.DataFrame({"code": pd.Series([1, "a", None, 2.5, "a", 1], dtype=object)})
    Xt = make_tabular_pipeline(X, LogisticRegression())[:-1].fit_transform(X)
    # one column each for "1", "2.5", "a" and missing
    assert Xt.shape == (6, 4)
    np.testing.assert_array_equal(Xt.sum(axis=0), [2, 1, 2, 1])
