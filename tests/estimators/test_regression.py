"""Numeric tasks: MultiTaskRegressor, and regression tasks mixed with classification."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import r2_score
from sklearn.model_selection import GridSearchCV, KFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from support import make_clf

from skmtl import MultiTaskRegressor, MultiTaskValidSplit, compare_single_task, task_scorer


def make_reg(**params):
    defaults = dict(hidden_units=(32,), max_epochs=40, lr=0.01, batch_size=32, random_state=0)
    # a validation split for the history's validation scores (the default has none)
    defaults["train_split"] = MultiTaskValidSplit(0.2)
    return MultiTaskRegressor(**{**defaults, **params})


@pytest.fixture
def numeric():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    Y = pd.DataFrame(
        {
            "price": 1000.0 + 250.0 * X[:, 0] - 100.0 * X[:, 1],  # large scale: standardised
            "score": X[:, 2] - 0.5 * X[:, 3] + 0.1 * rng.normal(size=300),
        }
    )
    return X, Y


def test_regressor_learns_in_original_units(numeric):
    X, Y = numeric
    reg = make_reg().fit(X, Y)
    pred = reg.predict(X)
    assert isinstance(pred, pd.DataFrame) and list(pred.columns) == ["price", "score"]
    assert pred["price"].dtype == np.float64
    assert abs(pred["price"].mean() - Y["price"].mean()) < 50  # not standardised units
    scores = reg.score_tasks(X, Y)
    for task in Y.columns:
        assert scores[task] == pytest.approx(r2_score(Y[task], pred[task]), abs=1e-4)
        assert scores[task] > 0.8
    assert reg.score(X, Y) == pytest.approx(np.mean(list(scores.values())))
    assert not hasattr(reg, "predict_proba") and not hasattr(reg, "classes_")
    assert reg.target_encoder_.center_["price"] == pytest.approx(Y["price"].mean())


def test_regression_scores_read_each_task_by_name(numeric):
    # a reordered or partial Y scores each task against its own values
    X, Y = numeric
    reg = make_reg().fit(X, Y)
    pred = reg.predict(X)
    expected = {task: r2_score(Y[task], pred[task]) for task in Y.columns}
    assert reg.score_tasks(X, Y[["score", "price"]]) == pytest.approx(expected, abs=1e-4)
    assert reg.score_tasks(X, Y[["score"]]) == pytest.approx(
        {"score": expected["score"]}, abs=1e-4
    )


def test_missing_numeric_targets_are_masked(numeric):
    X, Y = numeric
    reg = make_reg(max_epochs=1).fit(X, Y)
    out = (torch.tensor([[0.5], [2.0], [9.0]]), torch.tensor([[0.0], [1.0], [-3.0]]))
    y = torch.tensor([[1.0, 0.0], [float("nan"), 1.0], [1.0, float("nan")]])
    losses = reg.get_task_losses(out, y)
    torch.testing.assert_close(losses[0], torch.tensor(((0.5 - 1) ** 2 + (9 - 1) ** 2) / 2))
    torch.testing.assert_close(losses[1], torch.tensor((0.0**2 + 0.0**2) / 2))


def test_huber_loss_option(numeric):
    X, Y = numeric
    reg = make_reg(max_epochs=1, regression_loss="huber").fit(X, Y)
    out = (torch.tensor([[3.0]]), torch.tensor([[0.2]]))
    y = torch.tensor([[0.0, 0.0]])
    losses = reg.get_task_losses(out, y)
    torch.testing.assert_close(losses, torch.tensor([2.5, 0.02]))  # huber(3) = 3 - 0.5


def test_1d_regression(numeric):
    X, Y = numeric
    reg = make_reg().fit(X, Y["score"].to_numpy())
    pred = reg.predict(X)
    assert isinstance(pred, np.ndarray) and pred.shape == (len(X),) and pred.dtype == np.float64
    assert reg.score(X, Y["score"].to_numpy()) > 0.8


def test_mixed_classification_and_regression(penguins):
    X, Y = penguins
    Y = Y.assign(mass=load_mass(penguins))
    clf = make_clf(task_types={"mass": "regression"}, max_epochs=30).fit(
        X.drop(columns=["body_mass_g"]), Y
    )
    Xm = X.drop(columns=["body_mass_g"])
    assert clf.target_encoder_.types_ == {
        "species": "classification",
        "sex": "classification",
        "island": "classification",
        "mass": "regression",
    }
    assert set(clf.classes_) == {"species", "sex", "island"}
    assert [h.out_features for h in clf.module_.heads] == [3, 2, 3, 1]
    pred = clf.predict(Xm)
    assert pred["mass"].dtype == np.float64 and set(pred["species"]) <= set(clf.classes_["species"])
    assert set(clf.predict_proba(Xm)) == {"species", "sex", "island"}
    scores = clf.score_tasks(Xm, Y)
    assert scores["mass"] == pytest.approx(r2_score(Y["mass"], pred["mass"]), abs=1e-4)
    assert scores["mass"] > 0.5 and scores["species"] > 0.8
    row = clf.history[-1]
    assert np.isfinite(row["valid_r2_mass"]) and np.isfinite(row["valid_r2"])
    assert "valid_acc_mass" not in row and np.isfinite(row["valid_acc_species"])
    assert row["valid_acc"] == pytest.approx(
        np.mean([row[f"valid_acc_{t}"] for t in ("species", "sex", "island")]), rel=1e-6
    )


def load_mass(penguins):
    X, _ = penguins
    return X["body_mass_g"] * 800 + 4200  # back to grams-like units


def test_infer_task_types(numeric):
    X, Y = numeric
    Y = Y.assign(big=(Y["score"] > 0).astype(int))
    clf = make_clf(task_types="infer", max_epochs=2).fit(X, Y)
    assert clf.target_encoder_.types_ == {
        "price": "regression",
        "score": "regression",
        "big": "classification",
    }


def test_mixed_2d_array_predictions_keep_types(numeric):
    X, Y = numeric
    Y2 = np.column_stack([Y["score"].to_numpy(), (Y["score"] > 0).astype(float)])
    clf = make_clf(task_types={"task_0": "regression"}, max_epochs=10).fit(X, Y2)
    pred = clf.predict(X)
    assert pred.shape == (len(X), 2) and pred.dtype == np.float64
    assert set(np.unique(pred[:, 1])) <= {0.0, 1.0}


def test_regressor_in_pipeline_and_grid_search(numeric):
    X, Y = numeric
    model = make_pipeline(StandardScaler(), make_reg(max_epochs=10))
    search = GridSearchCV(
        model,
        {"multitaskregressor__lr": [0.003, 0.03]},
        cv=KFold(2, shuffle=True, random_state=0),
        scoring={"price": task_scorer("price", "r2"), "score": task_scorer("score", "r2")},
        refit="price",
    ).fit(X, Y)
    assert np.isfinite(search.cv_results_["mean_test_price"]).all()
    assert search.best_score_ > 0.5


def test_regressor_pickles_and_compares_with_single_task(numeric):
    X, Y = numeric
    reg = make_reg(max_epochs=5).fit(X, Y)
    back = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(back.predict(X)["price"], reg.predict(X)["price"])
    table = compare_single_task(make_reg(max_epochs=5), X, Y, cv=2)
    assert list(table.index) == ["price", "score"]
    assert (table["multi_task"] <= 1).all()


@pytest.mark.parametrize(
    "params, match",
    [
        ({"task_types": {"nope": "regression"}}, r"task_types names task\(s\) \['nope'\]"),
        ({"task_types": "numeric"}, "'task_types' parameter .* Got 'numeric' instead"),
        ({"regression_loss": "l1"}, r"'regression_loss' .* one of \['huber', 'mse'\]. Got 'l1'"),
    ],
)
def test_bad_task_type_parameters(numeric, params, match):
    X, Y = numeric
    with pytest.raises(ValueError, match=match):
        make_reg(**params).fit(X, Y)


def test_non_numeric_regression_target(numeric):
    X, _ = numeric
    with pytest.raises(ValueError, match="Task 'c' is a regression task but has non-numeric"):
        make_reg().fit(X, {"c": np.array(["a", "b", "c"] * 100)})


def test_validation_split_stratifies_class_columns_of_mixed_targets():
    from skorch.dataset import Dataset

    from skmtl.training import MultiTaskValidSplit

    rng = np.random.default_rng(0)
    y = np.column_stack([rng.normal(size=100), np.repeat([0.0, 1.0], [80, 20])]).astype(np.float32)
    X = np.zeros((100, 1), dtype=np.float32)
    _, valid = MultiTaskValidSplit(0.2, random_state=0)(Dataset(X, y), y)
    assert sorted(np.bincount(y[valid.indices, 1].astype(int))) == [4, 16]


def test_validation_r2_matches_sklearn_on_the_validation_rows(numeric):
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    X, Y = numeric
    X_va, Y_va = X[200:], Y.iloc[200:].reset_index(drop=True)
    reg = make_reg(max_epochs=5, train_split=predefined_split(Dataset(X_va, Y_va)))
    reg.fit(X[:200], Y.iloc[:200])
    pred = reg.predict(X_va)
    for task in Y.columns:
        expected = r2_score(Y_va[task], pred[task])
        assert reg.history[-1, f"valid_r2_{task}"] == pytest.approx(expected, abs=1e-4)
    assert reg.history[-1, "valid_r2"] == pytest.approx(
        np.mean([reg.history[-1, f"valid_r2_{t}"] for t in Y.columns])
    )


def test_compare_single_task_with_mixed_types_and_per_task_params(numeric):
    X, Y = numeric
    Y = Y.assign(big=np.where(Y["score"] > 0, "yes", "no"))
    model = make_pipeline(
        StandardScaler(),
        make_clf(
            task_types={"price": "regression", "score": "regression"},
            task_weights={"big": 2.0},
            classes={"big": ["no", "yes"]},
            max_epochs=5,
        ),
    )
    table = compare_single_task(model, X, Y, cv=2)
    assert list(table.index) == ["price", "score", "big"]
    assert np.isfinite(table.to_numpy()).all()


def test_2d_string_Y_with_a_regression_task_predicts_objects(numeric):
    X, Y = numeric
    Y2 = np.column_stack([np.where(X[:, 0] > 0, "p", "q"), (X[:, 1] * 5).astype(str)])
    clf = make_clf(task_types={"task_1": "regression"}, max_epochs=5).fit(X, Y2)
    pred = clf.predict(X)
    assert pred.dtype == object
    assert set(pred[:, 0]) <= {"p", "q"} and all(isinstance(v, float) for v in pred[:, 1])


def test_a_task_without_validation_labels_records_nan_not_a_score(numeric):
    X, Y = numeric
    reg = make_reg(max_epochs=2).fit(X, Y)
    reg.partial_fit(X, Y[["price"]])  # no labels for "score" in this call
    row = reg.history[-1]
    assert np.isnan(row["valid_r2_score"]) and np.isnan(row["valid_loss_score"])
    assert np.isnan(row["train_loss_score"])
    assert row["valid_r2"] == pytest.approx(row["valid_r2_price"])
