"""clone, params, Pipeline + ColumnTransformer, GridSearchCV, scorers, persistence."""

import pickle

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.utils import get_tags
from support import make_clf

from skmtl import MultiTaskClassifier, task_scorer
from skmtl.datasets import load_penguins


@pytest.fixture(scope="module")
def mixed_frame():
    """Penguins with numeric and categorical feature columns; tasks species and sex."""
    frame = load_penguins().frame
    X = frame[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "island"]]
    return X, frame[["species", "sex"]]


def _tabular_pipeline(**params):
    numeric = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    pre = make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), ["island"]),
    )
    return make_pipeline(pre, make_clf(**params))


def test_tags_declare_multioutput_classifier():
    tags = get_tags(MultiTaskClassifier())
    assert is_classifier(MultiTaskClassifier())
    assert tags.estimator_type == "classifier"
    assert tags.target_tags.multi_output and tags.target_tags.single_output
    assert tags.input_tags.sparse and not tags.input_tags.allow_nan


def test_clone_keeps_params_and_drops_fit(tasks_data):
    X, Y = tasks_data
    clf = make_clf(module__norm="layer", task_weights={"flag": 2.0}, device="auto").fit(X, Y)
    twin = clone(clf)
    assert not hasattr(twin, "module_") and not hasattr(twin, "classes_")
    params, twin_params = clf.get_params(deep=False), twin.get_params(deep=False)
    assert set(params) == set(twin_params)
    assert twin_params["device"] == "auto"
    assert twin_params["module__norm"] == "layer"
    assert twin_params["task_weights"] == {"flag": 2.0}
    np.testing.assert_array_equal(
        twin.fit(X, Y).predict_proba(X)["colour"], clf.predict_proba(X)["colour"]
    )


def test_set_params_changes_the_next_fit(tasks_data):
    X, Y = tasks_data
    clf = make_clf().set_params(hidden_units=(7,), lr=0.05, max_epochs=2)
    assert clf.get_params()["hidden_units"] == (7,)
    clf.fit(X, Y)
    assert clf.module_.heads[0].in_features == 7
    assert clf.history[0, "event_lr"] == 0.05  # the first epoch's rate, before the decay
    assert len(clf.history) == 2


def test_pipeline_after_column_transformer(mixed_frame):
    X, Y = mixed_frame
    model = _tabular_pipeline(max_epochs=20).fit(X, Y)
    pred = model.predict(X)
    assert isinstance(pred, pd.DataFrame) and list(pred.columns) == ["species", "sex"]
    assert model[-1].n_features_in_ == 4 + 3
    assert model.score(X, Y) > 0.75
    proba = model.predict_proba(X)
    assert set(proba) == {"species", "sex"}


def test_pipeline_with_pandas_output_keeps_index(mixed_frame):
    X, Y = mixed_frame
    X = X.set_axis(np.arange(len(X)) + 500)
    model = _tabular_pipeline().set_output(transform="pandas").fit(X, Y)
    pred = model.predict(X.iloc[:5])
    pd.testing.assert_index_equal(pred.index, X.index[:5])
    assert len(model[-1].feature_names_in_) == 7


def test_grid_search_over_lr_units_epochs_and_module_param(penguins):
    X, Y = penguins
    Yc = Y[["species", "island"]]  # no missing labels: sklearn's default cv works
    grid = {
        "lr": [0.003, 0.03],
        "hidden_units": [(8,), (16,)],
        "max_epochs": [4],
        "module__norm": [None, "batch"],
    }
    search = GridSearchCV(make_clf(), grid, cv=3, n_jobs=2).fit(X, Yc)
    assert len(search.cv_results_["params"]) == 8
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_params_ in search.cv_results_["params"]
    best = search.best_estimator_
    assert best.get_params()["module__norm"] == search.best_params_["module__norm"]
    assert isinstance(search.predict(X), pd.DataFrame)
    assert search.score(X, Yc) == pytest.approx(best.score(X, Yc))


def test_grid_search_with_missing_labels_and_multimetric_task_scorers(penguins):
    X, Y = penguins
    scoring = {"species": task_scorer("species"), "sex_f1": task_scorer("sex", "f1_macro")}
    search = GridSearchCV(
        make_clf(),
        {"lr": [0.003, 0.03]},
        cv=KFold(3, shuffle=True, random_state=0),
        scoring=scoring,
        refit="species",
    ).fit(X, Y)
    for key in ("mean_test_species", "mean_test_sex_f1"):
        assert np.isfinite(search.cv_results_[key]).all()
        assert ((search.cv_results_[key] >= 0) & (search.cv_results_[key] <= 1)).all()
    best_idx = search.best_index_
    assert search.cv_results_["rank_test_species"][best_idx] == 1


def test_cross_val_score_with_dataframe_Y(penguins):
    X, Y = penguins
    scores = cross_val_score(make_clf(), X, Y, cv=KFold(3, shuffle=True, random_state=0))
    assert scores.shape == (3,)
    assert ((scores > 0.3) & (scores <= 1)).all()


def test_task_scorer_matches_metric_on_labelled_rows(penguins):
    X, Y = penguins
    clf = make_clf(max_epochs=10).fit(X, Y)
    pred = clf.predict(X)
    labelled = Y["sex"].notna().to_numpy()
    expected_acc = accuracy_score(Y["sex"][labelled], pred["sex"][labelled])
    expected_f1 = f1_score(Y["sex"][labelled], pred["sex"][labelled], average="macro")
    assert task_scorer("sex")(clf, X, Y) == pytest.approx(expected_acc)
    assert task_scorer("sex", "f1_macro")(clf, X, Y) == pytest.approx(expected_f1)
    expected_bal = balanced_accuracy_score(Y["sex"][labelled], pred["sex"][labelled])
    assert task_scorer("sex", balanced_accuracy_score)(clf, X, Y) == pytest.approx(expected_bal)
    # probability metrics read predict_proba of the task, with its classes
    ll = task_scorer("species", "neg_log_loss")(clf, X, Y)
    p = clf.predict_proba(X)["species"]
    codes = pd.Index(clf.classes_["species"]).get_indexer(Y["species"])
    assert ll == pytest.approx(np.mean(np.log(p[np.arange(len(p)), codes])), rel=1e-4)


def test_task_scorer_through_pipeline_and_2d_targets(tasks_data):
    X, Y = tasks_data
    Y2 = np.column_stack([Y["binary"], Y["colour"]])
    model = make_pipeline(StandardScaler(), make_clf(task_names=["b", "c"])).fit(X, Y2)
    expected = accuracy_score(Y2[:, 1], model.predict(X)[:, 1])
    assert task_scorer("c")(model, X, Y2) == pytest.approx(expected)
    assert isinstance(model, Pipeline)


def test_task_scorer_survives_pickle():
    scorer = pickle.loads(pickle.dumps(task_scorer("sex", "accuracy")))
    assert scorer.task == "sex"


def test_task_scorer_rejects_kwargs_with_a_name():
    with pytest.raises(TypeError, match="Extra arguments only apply to a callable metric"):
        task_scorer("sex", "f1", average="macro")


@pytest.mark.parametrize("kind", ["dict", "frame", "2d", "1d"])
def test_pickle_and_joblib_round_trips_predict_identically(tasks_data, tmp_path, kind):
    X, Y = tasks_data
    targets = {
        "dict": Y,
        "frame": pd.DataFrame(Y),
        "2d": np.column_stack([Y["binary"], Y["colour"]]),
        "1d": Y["colour"],
    }[kind]
    clf = make_clf().fit(X, targets)
    restored = pickle.loads(pickle.dumps(clf))
    joblib.dump(clf, tmp_path / "model.joblib")
    from_joblib = joblib.load(tmp_path / "model.joblib")
    for other in (restored, from_joblib):
        assert other.get_params()["device"] == "auto"
        ref, got = clf.predict_proba(X), other.predict_proba(X)
        if isinstance(ref, dict):
            for task in ref:
                np.testing.assert_array_equal(ref[task], got[task])
        else:
            np.testing.assert_array_equal(ref, got)
        ref, got = clf.predict(X), other.predict(X)
        if isinstance(ref, dict):
            ref, got = pd.DataFrame(ref), pd.DataFrame(got)
        np.testing.assert_array_equal(np.asarray(ref), np.asarray(got))
