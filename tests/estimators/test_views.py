"""Per-task views (clf.task, task_view), out-of-fold predictions and mean-over-tasks scorers."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    r2_score,
    roc_auc_score,
)
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags
from sklearn.utils.validation import check_is_fitted
from support import make_clf, make_tasks

from skmtl import MultiTaskRegressor, task_scorer
from skmtl.datasets import load_penguins
from skmtl.model_selection import MultiTaskStratifiedKFold, cross_val_predict
from skmtl.views import ClassifierTaskView, RegressorTaskView, task_view

SKLEARN_VERSION = tuple(int(p) for p in sklearn.__version__.split(".")[:2])


@pytest.fixture(scope="module")
def fitted(penguins):
    """A model on penguins, with a constant column added (its permutation changes nothing)."""
    X, Y = penguins
    X = X.assign(constant=1.0)
    return make_clf(max_epochs=10).fit(X, Y), X, Y


@pytest.fixture(scope="module")
def mixed():
    """Two classification tasks and a regression task, with missing labels."""
    X, Y = make_tasks(n=200)
    rng = np.random.default_rng(1)
    target = 3.0 * X[:, 0] - X[:, 5] + 10.0
    target[rng.random(len(target)) < 0.2] = np.nan
    Y = pd.DataFrame({"binary": Y["binary"], "colour": Y["colour"], "amount": target})
    clf = make_clf(task_types={"amount": "regression"}, max_epochs=10).fit(X, Y)
    return clf, X, Y


# ------------------------------------------------------------------ the view


def test_view_predicts_the_task_column_of_the_parent(fitted):
    clf, X, Y = fitted
    view = clf.task("sex")
    assert isinstance(view, ClassifierTaskView)
    np.testing.assert_array_equal(view.predict(X), np.asarray(clf.predict(X)["sex"]))
    np.testing.assert_array_equal(view.predict_proba(X), clf.predict_proba(X)["sex"])
    np.testing.assert_array_equal(view.classes_, clf.classes_["sex"])
    assert view.n_features_in_ == clf.n_features_in_ == 5
    np.testing.assert_array_equal(view.feature_names_in_, clf.feature_names_in_)
    assert repr(view) == "ClassifierTaskView(MultiTaskClassifier, task='sex')"


def test_view_is_a_fitted_single_output_classifier(fitted):
    clf, _, _ = fitted
    view = clf.task("species")
    assert is_classifier(view) and not is_regressor(view)
    check_is_fitted(view)
    tags = get_tags(view)
    assert tags.estimator_type == "classifier"
    assert tags.target_tags.single_output and not tags.target_tags.multi_output
    assert tags.input_tags.sparse  # the parent's input tags


def test_view_needs_a_fitted_parent_and_a_known_task(fitted):
    clf, _, _ = fitted
    with pytest.raises(NotFittedError):
        make_clf().task("sex")
    with pytest.raises(ValueError, match=r"'age' is not a task of the model.*species"):
        clf.task("age")
    with pytest.raises(TypeError, match="MultiTaskClassifier, a MultiTaskRegressor or a Pipeline"):
        task_view(LogisticRegression(), "sex")


def test_view_of_a_refitted_parent_without_the_task_is_not_fitted(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y)
    view = clf.task("flag")
    clf.fit(X, {"binary": Y["binary"]})
    with pytest.raises(NotFittedError):
        check_is_fitted(view)
    with pytest.raises(ValueError, match="refitted since"):
        view.predict(X)


def test_view_is_read_only(fitted):
    clf, X, Y = fitted
    view = clf.task("sex")
    with pytest.raises(TypeError, match=r"read-only view of task 'sex'.*Fit the parent"):
        view.fit(X, Y["sex"])
    with pytest.raises(TypeError, match="read-only view"):
        view.set_params(task="species")
    assert view.task == "sex"
    assert clone(view) is view  # a view cannot be refitted: clone gives itself
    # so that a tool which clones and fits gets the clear error, not a silent refit
    with pytest.raises(TypeError, match="read-only view"):
        cross_validate(view, *view.labelled(X, Y), cv=2, error_score="raise")


def test_view_pickles_with_its_parent(fitted):
    clf, X, _ = fitted
    view = pickle.loads(pickle.dumps(clf.task("island")))
    assert isinstance(view, ClassifierTaskView) and view.task == "island"
    np.testing.assert_array_equal(view.predict_proba(X), clf.predict_proba(X)["island"])
    np.testing.assert_array_equal(view.classes_, clf.classes_["island"])


def test_score_is_accuracy_on_the_labelled_rows(fitted):
    clf, X, Y = fitted
    view = clf.task("sex")
    has = Y["sex"].notna().to_numpy()
    assert has.sum() < len(Y)  # penguins of unknown sex
    expected = accuracy_score(Y["sex"][has], clf.predict(X)["sex"][has])
    assert view.score(X, Y["sex"]) == pytest.approx(expected)
    assert view.score(X, Y) == pytest.approx(expected)  # the whole Y: its sex column
    assert view.score(X, Y) == pytest.approx(clf.score_tasks(X, Y)["sex"])
    assert view.score(X, Y["sex"].tolist()) == pytest.approx(expected)  # a list with NaN
    weights = np.linspace(0.1, 2.0, len(Y))
    expected_w = accuracy_score(
        Y["sex"][has], clf.predict(X)["sex"][has], sample_weight=weights[has]
    )
    assert view.score(X, Y["sex"], sample_weight=weights) == pytest.approx(expected_w)
    with pytest.raises(ValueError, match="no label for task 'sex'"):
        view.score(X, pd.Series([np.nan] * len(Y)))


def test_labelled_selects_the_rows_with_a_label(fitted):
    clf, X, Y = fitted
    view = clf.task("sex")
    has = Y["sex"].notna().to_numpy()
    for y in (Y["sex"], Y, {task: Y[task].to_numpy() for task in Y}):
        X_l, y_l = view.labelled(X, y)
        pd.testing.assert_frame_equal(X_l, X[has])
        np.testing.assert_array_equal(y_l, Y["sex"][has].to_numpy())
    X_all, y_all = clf.task("species").labelled(X, Y)  # every row labelled: X itself
    assert X_all is X and len(y_all) == len(X)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        view.labelled(X.iloc[:10], Y["sex"])


def test_view_through_a_pipeline_runs_the_whole_pipeline():
    X, Y = load_penguins(return_X_y=True)  # X has NaN: the imputer must run
    model = make_pipeline(SimpleImputer(), make_clf()).fit(X, Y)
    view = task_view(model, "species")
    assert repr(view) == "ClassifierTaskView(Pipeline, task='species')"
    np.testing.assert_array_equal(view.predict_proba(X), model.predict_proba(X)["species"])
    np.testing.assert_array_equal(view.predict(X), np.asarray(model.predict(X)["species"]))
    np.testing.assert_array_equal(view.classes_, model[-1].classes_["species"])
    np.testing.assert_array_equal(view.feature_names_in_, X.columns.to_numpy())
    assert view.n_features_in_ == 4
    assert view.score(X, Y) == pytest.approx(
        model[-1].score_tasks(model[0].transform(X), Y)["species"]
    )


def test_view_of_a_1d_model(tasks_data):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y["colour"])
    view = clf.task("task_0")
    np.testing.assert_array_equal(view.classes_, clf.classes_)
    np.testing.assert_array_equal(view.predict(X), clf.predict(X))
    np.testing.assert_array_equal(view.predict_proba(X), clf.predict_proba(X))


# --------------------------------------------------------- regression views


def test_regression_task_of_a_classifier_is_a_regressor_view(mixed):
    clf, X, Y = mixed
    view = clf.task("amount")
    assert isinstance(view, RegressorTaskView)
    assert is_regressor(view) and not is_classifier(view)
    assert not hasattr(view, "predict_proba") and not hasattr(view, "classes_")
    np.testing.assert_allclose(view.predict(X), clf.predict(X)["amount"])
    has = Y["amount"].notna().to_numpy()
    expected = r2_score(Y["amount"][has], clf.predict(X)["amount"][has])
    assert view.score(X, Y["amount"]) == pytest.approx(expected)
    assert view.score(X, Y) == pytest.approx(clf.score_tasks(X, Y)["amount"])
    assert isinstance(clf.task("colour"), ClassifierTaskView)


def test_multi_task_regressor_views(tasks_data):
    X, _ = tasks_data
    Y = {"a": 2.0 * X[:, 0], "b": X[:, 1] - X[:, 2]}
    reg = MultiTaskRegressor(hidden_units=(16,), max_epochs=5, random_state=0).fit(X, Y)
    view = reg.task("b")
    assert isinstance(view, RegressorTaskView) and is_regressor(view)
    np.testing.assert_array_equal(view.predict(X), reg.predict(X)["b"])
    assert view.score(X, Y["b"]) == pytest.approx(r2_score(Y["b"], reg.predict(X)["b"]))
    result = permutation_importance(view, X, Y["b"], n_repeats=2, random_state=0)
    assert result.importances.shape == (X.shape[1], 2)
    assert np.isfinite(result.importances).all()


# -------------------------------------------- scikit-learn tools on a view


def test_roc_curve_display_of_a_binary_task(fitted):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import RocCurveDisplay

    clf, X, Y = fitted
    view = clf.task("sex")
    X_sex, y_sex = view.labelled(X, Y)
    display = RocCurveDisplay.from_estimator(view, X_sex, y_sex)
    expected = roc_auc_score(y_sex == view.classes_[1], view.predict_proba(X_sex)[:, 1])
    assert display.roc_auc == pytest.approx(expected)
    assert 0.5 < display.roc_auc <= 1.0
    plt.close("all")


def test_confusion_matrix_display_of_a_multiclass_task(fitted):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    clf, X, Y = fitted
    view = clf.task("island")
    X_l, y_l = view.labelled(X, Y)
    display = ConfusionMatrixDisplay.from_estimator(view, X_l, y_l, labels=view.classes_)
    expected = confusion_matrix(y_l, view.predict(X_l), labels=view.classes_)
    np.testing.assert_array_equal(display.confusion_matrix, expected)
    assert display.confusion_matrix.sum() == len(y_l)
    plt.close("all")


def test_calibration_of_a_frozen_view(fitted):
    frozen = pytest.importorskip("sklearn.frozen")
    clf, X, Y = fitted
    view = clf.task("sex")
    X_sex, y_sex = view.labelled(X, Y)
    calibrated = CalibratedClassifierCV(frozen.FrozenEstimator(view), method="sigmoid")
    calibrated.fit(X_sex, y_sex)
    np.testing.assert_array_equal(calibrated.classes_, view.classes_)
    proba = calibrated.predict_proba(X_sex)
    assert proba.shape == (len(y_sex), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    # the frozen view is not refitted, and a sigmoid map is monotone: the
    # calibrated scores rank the rows as the view's own probabilities do
    raw = view.predict_proba(X_sex)[:, 1]
    positive = y_sex == view.classes_[1]
    assert roc_auc_score(positive, proba[:, 1]) == pytest.approx(roc_auc_score(positive, raw))
    assert clf.task("sex").predict_proba(X_sex) == pytest.approx(view.predict_proba(X_sex))


@pytest.mark.skipif(SKLEARN_VERSION >= (1, 8), reason='cv="prefit" was removed in 1.8')
def test_calibration_of_a_prefit_view(fitted):
    clf, X, Y = fitted
    view = clf.task("sex")
    X_sex, y_sex = view.labelled(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # deprecated in 1.6
        calibrated = CalibratedClassifierCV(view, cv="prefit", method="sigmoid").fit(X_sex, y_sex)
    proba = calibrated.predict_proba(X_sex)
    positive = y_sex == view.classes_[1]
    raw = view.predict_proba(X_sex)[:, 1]
    assert roc_auc_score(positive, proba[:, 1]) == pytest.approx(roc_auc_score(positive, raw))


def test_permutation_importance_of_a_view_with_missing_labels(fitted):
    clf, X, Y = fitted
    view = clf.task("sex")
    assert Y["sex"].isna().any()  # the view's score leaves those rows out
    result = permutation_importance(view, X, Y["sex"], n_repeats=3, random_state=0)
    assert result.importances.shape == (X.shape[1], 3)
    assert np.isfinite(result.importances).all()
    # permuting the constant column changes no prediction
    np.testing.assert_array_equal(result.importances[list(X.columns).index("constant")], 0.0)
    assert result.importances_mean.max() > 0  # some measurement matters for sex


# -------------------------------------------------------- cross_val_predict


def _manual_oof(estimator, X, Y, cv, task):
    """Out-of-fold probabilities of one task, fold by fold."""
    out = None
    for train, test in cv.split(X, Y):
        model = clone(estimator).fit(X.iloc[train], Y.iloc[train])
        proba = model.predict_proba(X.iloc[test])[task]
        if out is None:
            out = np.zeros((len(X), proba.shape[1]))
        out[test] = proba
    return out


def test_cross_val_predict_proba_equals_a_manual_loop(penguins):
    X, Y = penguins
    cv = MultiTaskStratifiedKFold(3, shuffle=True, random_state=0)
    proba = cross_val_predict(make_clf(), X, Y, cv=cv, method="predict_proba")
    assert list(proba) == ["species", "sex", "island"]
    for task in proba:
        np.testing.assert_allclose(proba[task], _manual_oof(make_clf(), X, Y, cv, task), atol=1e-6)
        np.testing.assert_allclose(proba[task].sum(axis=1), 1.0, atol=1e-5)


def test_cross_val_predict_in_the_kind_of_y(penguins):
    X, Y = penguins
    Y = Y.set_axis(np.arange(len(Y)) + 1000)  # an index of its own
    cv = MultiTaskStratifiedKFold(3)
    frame = cross_val_predict(make_clf(), X, Y, cv=cv)
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == list(Y.columns)
    pd.testing.assert_index_equal(frame.index, Y.index)
    assert (frame.dtypes == Y.dtypes).all()
    manual = pd.Series(index=Y.index, dtype=object)
    for train, test in cv.split(X, Y):
        model = make_clf().fit(X.iloc[train], Y.iloc[train])
        manual.iloc[test] = np.asarray(model.predict(X.iloc[test])["island"])
    np.testing.assert_array_equal(frame["island"].to_numpy(), manual.to_numpy())

    as_dict = cross_val_predict(make_clf(), X, {t: Y[t].to_numpy() for t in Y}, cv=cv)
    assert isinstance(as_dict, dict) and list(as_dict) == list(Y.columns)
    for task in Y:
        np.testing.assert_array_equal(as_dict[task], frame[task].to_numpy())
    one = cross_val_predict(make_clf(), X, Y["species"], cv=cv)
    assert isinstance(one, np.ndarray) and one.shape == (len(Y),)
    assert set(one) <= set(Y["species"])
    one_proba = cross_val_predict(make_clf(), X, Y["species"], cv=cv, method="predict_proba")
    assert isinstance(one_proba, np.ndarray) and one_proba.shape == (len(Y), 3)


def test_cross_val_predict_columns_are_the_full_data_classes():
    # class "rare" has one row: the fold that tests it trains without it
    X, Y = make_tasks(n=90)
    colour = Y["colour"].astype(object)
    colour[7] = "rare"
    Y = pd.DataFrame({"binary": Y["binary"], "colour": colour})
    cv = KFold(3)
    proba = cross_val_predict(make_clf(), X, Y, cv=cv, method="predict_proba")["colour"]
    classes = np.unique(colour.astype(str))  # the classes of a fit on all of Y
    assert proba.shape == (90, len(classes))
    rare = list(classes).index("rare")
    fold_of_7 = next(test for _, test in cv.split(X) if 7 in test)
    np.testing.assert_array_equal(proba[fold_of_7, rare], 0.0)
    assert (proba[np.setdiff1d(np.arange(90), fold_of_7), rare] > 0).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    # the other columns are the fold model's, moved to the full classes
    train = np.setdiff1d(np.arange(90), fold_of_7)
    model = make_clf().fit(X[train], Y.iloc[train])
    expected = model.predict_proba(X[fold_of_7])["colour"]
    others = [list(classes).index(c) for c in model.classes_["colour"]]
    np.testing.assert_allclose(proba[np.ix_(fold_of_7, others)], expected, atol=1e-6)


def test_cross_val_predict_with_a_regression_task(mixed):
    clf, X, Y = mixed
    cv = MultiTaskStratifiedKFold(3)
    predicted = cross_val_predict(clone(clf), X, Y, cv=cv)
    assert predicted["amount"].dtype == np.float64
    for train, test in cv.split(X, Y):
        model = clone(clf).fit(X[train], Y.iloc[train])
        np.testing.assert_allclose(
            predicted["amount"].to_numpy()[test], model.predict(X[test])["amount"], rtol=1e-9
        )
        np.testing.assert_array_equal(
            predicted["colour"].to_numpy()[test], model.predict(X[test])["colour"]
        )
    proba = cross_val_predict(clone(clf), X, Y, cv=cv, method="predict_proba")
    assert list(proba) == ["binary", "colour"]  # no probabilities for the regression task


def test_cross_val_predict_defaults_and_parallel_folds(tasks_data):
    X, Y = tasks_data
    Y = pd.DataFrame(Y)
    default = cross_val_predict(make_clf(max_epochs=2), X, Y, method="predict_proba")
    explicit = cross_val_predict(
        make_clf(max_epochs=2), X, Y, cv=MultiTaskStratifiedKFold(5), method="predict_proba"
    )
    as_int = cross_val_predict(make_clf(max_epochs=2), X, Y, cv=5, method="predict_proba")
    parallel = cross_val_predict(
        make_clf(max_epochs=2), X, Y, cv=5, method="predict_proba", n_jobs=2
    )
    for task in default:
        np.testing.assert_array_equal(default[task], explicit[task])
        np.testing.assert_array_equal(default[task], as_int[task])
        np.testing.assert_allclose(default[task], parallel[task], atol=1e-6)


def test_cross_val_predict_errors(tasks_data):
    X, Y = tasks_data
    Y = pd.DataFrame(Y)
    with pytest.raises(ValueError, match="method must be 'predict' or 'predict_proba'"):
        cross_val_predict(make_clf(), X, Y, method="decision_function")
    with pytest.raises(TypeError, match="sklearn.model_selection.cross_val_predict"):
        cross_val_predict(LogisticRegression(), X, Y["binary"])
    overlapping = [
        (np.arange(100, 240), np.arange(0, 120)),
        (np.arange(0, 100), np.arange(100, 240)),
    ]
    with pytest.raises(ValueError, match="every row exactly once"):
        cross_val_predict(make_clf(max_epochs=1), X, Y, cv=overlapping)
    with pytest.raises(ValueError, match="no predict_proba"):
        cross_val_predict(MultiTaskRegressor(), X, {"a": X[:, 0]}, method="predict_proba")


# ------------------------------------------------------- mean-over-tasks scorers


def test_mean_scorer_is_the_mean_of_the_task_scores(fitted):
    clf, X, Y = fitted
    per_task = {t: task_scorer(t, "f1_macro")(clf, X, Y) for t in clf.tasks_}
    assert task_scorer("mean", "f1_macro")(clf, X, Y) == pytest.approx(
        np.mean(list(per_task.values()))
    )
    two = task_scorer(["sex", "island"], "f1_macro")(clf, X, Y)
    assert two == pytest.approx((per_task["sex"] + per_task["island"]) / 2)
    # "mean" averages over the tasks Y holds
    assert task_scorer("mean", "f1_macro")(clf, X, Y[["species"]]) == pytest.approx(
        per_task["species"]
    )
    # the default metric reproduces the estimator's own score
    assert task_scorer("mean")(clf, X, Y) == pytest.approx(clf.score(X, Y))


def test_mean_scorer_skips_tasks_without_labels(fitted):
    clf, X, Y = fitted
    unknown_sex = Y["sex"].isna().to_numpy()
    X_u, Y_u = X[unknown_sex], Y[unknown_sex]
    assert task_scorer("sex")(clf, X_u, Y_u) != task_scorer("sex")(clf, X_u, Y_u)  # NaN
    expected = np.mean([task_scorer(t)(clf, X_u, Y_u) for t in ("species", "island")])
    assert task_scorer("mean")(clf, X_u, Y_u) == pytest.approx(expected)
    assert np.isnan(task_scorer(["sex"])(clf, X_u, Y_u))


def test_mean_scorer_with_neg_log_loss_and_sample_weight(fitted):
    clf, X, Y = fitted
    w = np.linspace(0.5, 1.5, len(Y))
    expected = np.mean(
        [task_scorer(t, "neg_log_loss")(clf, X, Y, sample_weight=w) for t in clf.tasks_]
    )
    got = task_scorer("mean", "neg_log_loss")(clf, X, Y, sample_weight=w)
    assert got == pytest.approx(expected)
    assert got != pytest.approx(task_scorer("mean", "neg_log_loss")(clf, X, Y))


def test_the_default_metric_is_each_tasks_own_score(mixed):
    # accuracy for a classification task, R^2 for a regression task: the
    # scorer's mean is the estimator's score, on a mixed model too
    clf, X, Y = mixed
    pred = clf.predict(X)
    has = Y["amount"].notna().to_numpy()
    r2 = r2_score(Y["amount"][has], pred["amount"][has])
    assert task_scorer("amount")(clf, X, Y) == pytest.approx(r2, abs=1e-4)
    accuracy = accuracy_score(Y["colour"], pred["colour"])
    assert task_scorer("colour")(clf, X, Y) == pytest.approx(accuracy)
    assert task_scorer("mean")(clf, X, Y) == pytest.approx(clf.score(X, Y), abs=1e-4)
    assert repr(task_scorer("mean")) == "task_scorer('mean', None)"


def test_mean_scorer_errors(tasks_data, mixed):
    X, Y = tasks_data
    with pytest.raises(ValueError, match="empty list"):
        task_scorer([])
    clf = make_clf(max_epochs=1).fit(X, {"mean": Y["binary"], "colour": Y["colour"]})
    with pytest.raises(ValueError, match=r"ambiguous: pass \['mean'\]"):
        task_scorer("mean")(clf, X, {"mean": Y["binary"], "colour": Y["colour"]})
    alone = task_scorer(["mean"])(clf, X, {"mean": Y["binary"], "colour": Y["colour"]})
    assert alone == pytest.approx(accuracy_score(Y["binary"], clf.predict(X)["mean"]))
    reg_clf, X_m, Y_m = mixed  # f1 does not apply to the regression task
    with pytest.raises(ValueError, match="failed on regression task 'amount'") as info:
        task_scorer("mean", "f1_macro")(reg_clf, X_m, Y_m)
    assert str(info.value).endswith(
        "If the metric does not suit a regression task, use metric=None (accuracy, R^2 for "
        "a regression task) or one that does, or pass the list of the tasks it suits as task."
    )
    with pytest.raises(ValueError, match="failed on regression task 'amount'") as info:
        task_scorer("amount", "accuracy")(reg_clf, X_m, Y_m)
    assert "as task" not in str(info.value)
    expected = np.mean(
        [f1_score(Y_m[t], reg_clf.predict(X_m)[t], average="macro") for t in ("binary", "colour")]
    )
    assert task_scorer(["binary", "colour"], "f1_macro")(reg_clf, X_m, Y_m) == pytest.approx(
        expected
    )


def test_scoring_names_give_nan_but_mean_scorers_work_in_a_search(penguins):
    X, Y = penguins
    cv = MultiTaskStratifiedKFold(3, shuffle=True, random_state=0)
    # scikit-learn's scorers read classes_ as one array and score the whole Y:
    # it catches the error and records NaN, with a warning only
    with pytest.warns(UserWarning, match="Scoring failed"):
        plain = cross_validate(
            make_clf(max_epochs=2), X, Y, cv=cv, scoring=["accuracy", "f1_macro"]
        )
    assert np.isnan(plain["test_accuracy"]).all() and np.isnan(plain["test_f1_macro"]).all()

    scoring = {name: task_scorer("mean", name) for name in ["accuracy", "f1_macro"]}
    search = GridSearchCV(
        make_clf(max_epochs=2), {"lr": [0.003, 0.03]}, scoring=scoring, refit="f1_macro", cv=cv
    ).fit(X, Y)
    for key in ("mean_test_accuracy", "mean_test_f1_macro"):
        assert np.isfinite(search.cv_results_[key]).all()
    # each split's score is the mean of the per-task scores of that fold's model
    train, test = next(cv.split(X, Y))
    model = make_clf(max_epochs=2, lr=0.003).fit(X.iloc[train], Y.iloc[train])
    X_t, Y_t = X.iloc[test], Y.iloc[test]
    expected = np.mean([task_scorer(t, "f1_macro")(model, X_t, Y_t) for t in Y])
    assert search.cv_results_["split0_test_f1_macro"][0] == pytest.approx(expected)
