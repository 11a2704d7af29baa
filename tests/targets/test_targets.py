"""Y in every accepted kind and label type, and outputs that answer in kind."""

import numpy as np
import pandas as pd
import pytest
from support import make_clf, make_tasks

from skmtl.targets import MISSING, TaskEncoder


def test_dict_targets_give_dict_outputs(tasks_data):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    assert clf.tasks_ == ["binary", "colour", "flag"]
    pred = clf.predict(X)
    assert isinstance(pred, dict) and list(pred) == clf.tasks_
    for task, values in pred.items():
        assert isinstance(values, np.ndarray) and values.shape == (len(X),)
        assert set(values) <= set(clf.classes_[task])
    assert pred["colour"].dtype.kind == "U"
    assert pred["flag"].dtype == bool
    proba = clf.predict_proba(X)
    assert isinstance(proba, dict)
    for task, p in proba.items():
        assert p.shape == (len(X), len(clf.classes_[task]))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
        # predict is the argmax of predict_proba, in the order of classes_
        np.testing.assert_array_equal(clf.classes_[task][p.argmax(axis=1)], pred[task])


def test_classes_come_from_data_sorted(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y)
    np.testing.assert_array_equal(clf.classes_["binary"], [0, 1])
    np.testing.assert_array_equal(clf.classes_["colour"], ["blue", "green", "red"])
    np.testing.assert_array_equal(clf.classes_["flag"], [False, True])


def test_dataframe_targets_give_dataframe_with_index_of_X(tasks_data):
    X, Y = tasks_data
    Xdf = pd.DataFrame(
        X, columns=[f"f{i}" for i in range(X.shape[1])], index=np.arange(1000, 1000 + len(X))
    )
    Ydf = pd.DataFrame(Y)
    Ydf["colour"] = Ydf["colour"].astype("category")
    clf = make_clf().fit(Xdf, Ydf)
    pred = clf.predict(Xdf.iloc[5:15])
    assert isinstance(pred, pd.DataFrame)
    assert list(pred.columns) == ["binary", "colour", "flag"]
    pd.testing.assert_index_equal(pred.index, Xdf.index[5:15])
    assert isinstance(pred["colour"].dtype, pd.CategoricalDtype)
    assert list(pred["colour"].cat.categories) == list(Ydf["colour"].cat.categories)
    np.testing.assert_array_equal(clf.feature_names_in_, Xdf.columns)
    assert clf.n_features_in_ == X.shape[1]
    # a numpy X gives a fresh RangeIndex (sklearn warns about the lost names)
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        pd.testing.assert_index_equal(clf.predict(X[:3]).index, pd.RangeIndex(3))


def test_2d_array_targets_give_2d_array(tasks_data):
    X, Y = tasks_data
    Y2 = np.column_stack([Y["binary"], (X[:, 2] > 0).astype(int)])
    clf = make_clf().fit(X, Y2)
    assert clf.tasks_ == ["task_0", "task_1"]
    pred = clf.predict(X)
    assert isinstance(pred, np.ndarray) and pred.shape == (len(X), 2)
    assert pred.dtype == Y2.dtype
    named = make_clf(task_names=["a", "b"]).fit(X, Y2)
    assert named.tasks_ == ["a", "b"] and set(named.predict_proba(X)) == {"a", "b"}


def test_1d_targets_behave_as_plain_classifier(tasks_data):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y["colour"])
    assert isinstance(clf.classes_, np.ndarray)
    np.testing.assert_array_equal(clf.classes_, ["blue", "green", "red"])
    pred = clf.predict(X)
    assert isinstance(pred, np.ndarray) and pred.shape == (len(X),)
    proba = clf.predict_proba(X)
    assert isinstance(proba, np.ndarray) and proba.shape == (len(X), 3)
    assert clf.score(X, Y["colour"]) == pytest.approx(np.mean(pred == Y["colour"]))


def test_series_target_takes_its_name(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, pd.Series(Y["binary"], name="churn"))
    assert clf.tasks_ == ["churn"]


@pytest.mark.parametrize(
    "labels, missing",
    [
        (np.array([0.0, 1.0, np.nan, 2.0] * 30), np.nan),
        (np.array(["a", "b", None, "c"] * 30, dtype=object), None),
        (pd.array(["a", "b", pd.NA, "c"] * 30, dtype="string"), pd.NA),
        (pd.Categorical(["a", "b", None, "c"] * 30), None),
        (pd.array([1, 2, pd.NA, 3] * 30, dtype="Int64"), pd.NA),
        (pd.array([True, False, pd.NA, True] * 30, dtype="boolean"), pd.NA),
    ],
    ids=["float-nan", "object-none", "string-na", "categorical", "Int64", "boolean"],
)
def test_missing_labels_of_every_type_are_masked(labels, missing):
    codes = TaskEncoder().fit_transform({"t": labels})
    assert (codes[2::4, 0] == MISSING).all()
    assert (codes[np.arange(120) % 4 != 2, 0] >= 0).all()


def test_int_labels_with_none_stay_ints():
    enc = TaskEncoder()
    enc.fit_transform({"t": [1, None, 2, 1]})
    assert enc.classes_["t"].dtype.kind == "i"


def test_classes_parameter_fixes_columns_across_folds(tasks_data):
    X, Y = tasks_data
    colour = Y["colour"]
    no_green = colour != "green"
    order = ["red", "green", "blue"]
    clf = make_clf(classes={"colour": order}).fit(
        X[no_green], {"colour": colour[no_green], "binary": Y["binary"][no_green]}
    )
    np.testing.assert_array_equal(clf.classes_["colour"], order)
    proba = clf.predict_proba(X)["colour"]
    assert proba.shape == (len(X), 3)
    np.testing.assert_array_equal(clf.predict(X)["colour"], np.asarray(order)[proba.argmax(axis=1)])


def test_plain_list_classes_for_1d_target(tasks_data):
    X, Y = tasks_data
    clf = make_clf(classes=[1, 0], max_epochs=1).fit(X, Y["binary"])
    np.testing.assert_array_equal(clf.classes_, [1, 0])


def test_mixed_binary_and_multiclass_tasks_each_get_their_classes(penguins):
    X, Y = penguins
    clf = make_clf().fit(X, Y)
    assert {t: len(c) for t, c in clf.classes_.items()} == {"species": 3, "sex": 2, "island": 3}
    heads = clf.module_.heads
    assert [h.out_features for h in heads] == [3, 2, 3]


def test_decode_round_trips_encoded_labels():
    _, Y = make_tasks(n=30)
    Ydf = pd.DataFrame(Y)
    enc = TaskEncoder()
    codes = enc.fit_transform(Ydf)
    back = enc.decode(codes)
    pd.testing.assert_frame_equal(back, Ydf, check_dtype=False)


@pytest.mark.parametrize("dtype", [object, "string", "category"])
def test_a_frames_string_labels_keep_their_dtype(dtype):
    # an object column stays object, also where pandas 3 would read strings
    Y = pd.DataFrame({"t": pd.Series(["x", "y", "x"] * 10, dtype=dtype), "u": [0, 1, 1] * 10})
    enc = TaskEncoder()
    back = enc.decode(enc.fit_transform(Y))
    pd.testing.assert_frame_equal(back, Y)
