"""Bad input gets a clear error that names the problem and the fix."""

import re

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.exceptions import NotInitializedError
from support import make_clf
from torch import nn

from skmtl import MultiTaskClassifier, MultiTaskValidSplit


@pytest.fixture
def fitted(tasks_data):
    X, Y = tasks_data
    return make_clf(max_epochs=1).fit(X, Y)


def test_nan_in_X_suggests_imputer(tasks_data):
    X, Y = tasks_data
    Xdf = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    Xdf.loc[3, "f2"] = np.nan
    with pytest.raises(
        ValueError,
        match=r"X contains NaN in column\(s\) \['f2'\].*imputer.*make_tabular_pipeline\(X\)",
    ):
        make_clf().fit(Xdf, Y)


def test_inf_in_X_at_predict(fitted, tasks_data):
    X, _ = tasks_data
    X = X.copy()
    X[0, 1] = np.inf
    with pytest.raises(ValueError, match=r"X contains infinity .* in column\(s\) \[1\]"):
        fitted.predict(X)


def test_value_too_large_for_float32(tasks_data):
    X, Y = tasks_data
    X = X.copy()
    X[0, 0] = 1e300
    with pytest.raises(ValueError, match="too large for float32"):
        make_clf().fit(X, Y)


def test_non_numeric_dataframe_columns_suggest_column_transformer(tasks_data):
    X, Y = tasks_data
    Xdf = pd.DataFrame(X)
    Xdf["island"] = "Dream"
    with pytest.raises(
        ValueError,
        match=r"non-numeric columns \['island'\].*make_tabular_pipeline\(X\).*ColumnTransformer",
    ):
        make_clf().fit(Xdf, Y)


def test_an_object_column_of_numbers_is_numbers(tasks_data):
    # as scikit-learn converts it; a column with one string in it is named
    X, Y = tasks_data
    Xdf = pd.DataFrame(X).astype({0: object, 1: object})
    clf = make_clf(max_epochs=1).fit(Xdf, Y)
    np.testing.assert_array_equal(
        clf.predict_proba(Xdf)["colour"], clf.predict_proba(pd.DataFrame(X))["colour"]
    )
    Xdf.loc[3, 1] = "n/a"
    with pytest.raises(ValueError, match=r"X has non-numeric columns \[1\];"):
        make_clf(max_epochs=1).fit(Xdf, Y)


def test_non_numeric_array_suggests_column_transformer(tasks_data):
    X, Y = tasks_data
    Xo = X.astype(object)
    Xo[:, 0] = "a"
    with pytest.raises(ValueError, match="X has non-numeric values.*ColumnTransformer"):
        make_clf().fit(Xo, Y)


def test_X_and_Y_lengths_differ(tasks_data):
    X, Y = tasks_data
    with pytest.raises(ValueError, match=f"X has {len(X) - 1} rows but Y has {len(X)}"):
        make_clf().fit(X[:-1], Y)


def test_dict_tasks_of_different_lengths(tasks_data):
    X, Y = tasks_data
    Y = dict(Y, flag=Y["flag"][:-3])
    with pytest.raises(ValueError, match="tasks in Y have different lengths: .*'flag': 237"):
        make_clf().fit(X, Y)


def test_single_class_task(tasks_data):
    X, Y = tasks_data
    Y = dict(Y, const=np.ones(len(X), dtype=int))
    with pytest.raises(ValueError, match=r"Task 'const' has only one class \(1\).*classes="):
        make_clf().fit(X, Y)


def test_task_with_no_labels(tasks_data):
    X, Y = tasks_data
    Y = dict(Y, empty=[None] * len(X))
    with pytest.raises(ValueError, match="Task 'empty' has no labels in Y"):
        make_clf().fit(X, Y)


def test_continuous_target_is_refused(tasks_data):
    X, _ = tasks_data
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        make_clf().fit(X, {"t": X[:, 0]})


def test_mixed_label_types_in_a_task(tasks_data):
    X, _ = tasks_data
    y = np.array(["a", 1] * (len(X) // 2), dtype=object)
    with pytest.raises(ValueError, match="Unknown label type|mixes label types"):
        make_clf().fit(X, {"t": y})


def test_labels_of_one_type_a_label_cannot_be_are_named(tasks_data):
    # tuples are one type, not a mix of types
    X, _ = tasks_data
    y = pd.Series([("a", 1), ("b", 2)] * (len(X) // 2), dtype=object)
    msg = (
        "Task 't' has labels of type tuple; give labels as strings, ints, floats or bools "
        "(e.g. join a tuple into one string)."
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        make_clf().fit(X, {"t": y})


def test_predict_with_wrong_number_of_features(fitted, tasks_data):
    X, Y = tasks_data
    msg = "X has 4 features, but MultiTaskClassifier is expecting 6 features as input"
    with pytest.raises(ValueError, match=msg):
        fitted.predict(X[:, :4])
    with pytest.raises(ValueError, match=msg):
        fitted.score(X[:, :4], Y)


def test_score_with_unfitted_task(fitted, tasks_data):
    X, Y = tasks_data
    with pytest.raises(ValueError, match=r"Y has task\(s\) \['colour2'\] that were not fitted"):
        fitted.score(X, {"colour2": Y["colour"]})


def test_score_with_wrong_number_of_array_columns(fitted, tasks_data):
    X, Y = tasks_data
    with pytest.raises(ValueError, match="Y has 1 task column.* fitted on 3 tasks"):
        fitted.score(X, Y["binary"])


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_predict_before_fit(method, tasks_data):
    X, _ = tasks_data
    with pytest.raises(NotFittedError, match="not fitted yet"):
        getattr(MultiTaskClassifier(), method)(X)


def test_score_before_fit(tasks_data):
    X, Y = tasks_data
    with pytest.raises(NotFittedError):
        MultiTaskClassifier().score(X, Y)


def test_initialize_before_fit_explains():
    with pytest.raises(NotInitializedError, match=re.escape("call fit(X, Y) instead")):
        MultiTaskClassifier().initialize()


def test_y_none(tasks_data):
    X, _ = tasks_data
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        make_clf().fit(X, None)


def test_unknown_label_in_partial_fit(fitted, tasks_data):
    X, Y = tasks_data
    Y = dict(Y, colour=np.where(Y["colour"] == "red", "crimson", Y["colour"]))
    with pytest.raises(ValueError, match=r"Task 'colour' has labels \['crimson'\] that are not"):
        fitted.partial_fit(X, Y)


def test_label_outside_fixed_classes(tasks_data):
    X, Y = tasks_data
    with pytest.raises(ValueError, match="Task 'colour' has labels .* not among its classes"):
        make_clf(classes={"colour": ["red", "blue"]}).fit(X, Y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"task_weights": {"nope": 1.0}}, r"task_weights names task\(s\) \['nope'\]"),
        ({"task_weights": {"flag": -1.0}}, "finite, non-negative"),
        ({"classes": {"nope": [0, 1]}}, r"classes names task\(s\) \['nope'\]"),
        ({"classes": [0, 1]}, "classes must be a dict"),
        ({"task_names": ["a", "b", "c"]}, "task_names only names the columns of an array"),
        ({"criterion__reduction": "mean"}, "Leave criterion__reduction unset"),
        ({"activation": "swish2"}, "The 'activation' parameter .* Got 'swish2' instead"),
    ],
)
def test_bad_parameters(tasks_data, params, match):
    X, Y = tasks_data
    with pytest.raises(ValueError, match=match):
        make_clf(**params).fit(X, Y)


def test_task_names_length_mismatch(tasks_data):
    X, Y = tasks_data
    Y2 = np.column_stack([Y["binary"], Y["binary"]])
    with pytest.raises(ValueError, match=r"Y has 2 column\(s\) but 1 task names \['a'\]"):
        make_clf(task_names=["a"]).fit(X, Y2)


class ImageTrunk(nn.Module):
    def forward(self, X):
        return X.reshape(len(X), 1, 2, 3)


def test_trunk_with_wrong_output_shape(tasks_data):
    X, Y = tasks_data
    match = r"must return one tensor of shape .* returned \(2, 1, 2, 3\)"
    with pytest.raises(ValueError, match=match):
        make_clf(module=ImageTrunk).fit(X, Y)


class EveryStep(nn.Module):
    """A sequence trunk that returns every time step, and says its width."""

    def __init__(self, width=8, out_features=8):
        super().__init__()
        self.rnn = nn.GRU(3, width, batch_first=True)
        self.out_features = out_features

    def forward(self, X):
        return self.rnn(X)[0]


class LastStep(EveryStep):
    def forward(self, X):
        return self.rnn(X)[0][:, -1]


class PooledBatch(LastStep):
    def forward(self, X):
        return super().forward(X).mean(0, keepdim=True)


@pytest.mark.parametrize(
    "trunk, params, match",
    [
        # a 3-D output would train its time steps as a packed ensemble's members
        (EveryStep, {}, r"for 2 samples it returned \(2, 5, 8\)\. End it with"),
        (PooledBatch, {}, r"for 2 samples it returned \(1, 8\)\. End it with"),
        (LastStep, {"module__out_features": 7}, r"LastStep has out_features=7, but it returned "
                                                 r"\(2, 8\) for 2 samples\. Set out_features"),
    ],
)  # fmt: skip
def test_a_trunks_out_features_is_checked_against_its_output(trunk, params, match):
    X = np.random.default_rng(0).normal(size=(60, 5, 3)).astype(np.float32)
    Y = {"a": X[:, -1, 0] > 0}
    with pytest.raises(ValueError, match=match):
        MultiTaskClassifier(module=trunk, max_epochs=1, bag_folds=None, **params).fit(X, Y)
    assert MultiTaskClassifier(module=LastStep, max_epochs=1).fit(X, Y).score(X, Y) > 0


def test_a_callback_watching_validation_in_a_fit_without_it_is_refused(tasks_data):
    # skorch would fail after the first epoch on the missing 'valid_loss'
    from skorch.callbacks import EarlyStopping

    X, Y = tasks_data
    msg = (
        "callbacks holds EarlyStopping(monitor='valid_loss'), which watches a validation "
        "score, but this fit trains on every row: train_split='auto' holds rows out only for "
        "skmtl's own choice of epochs. Set early_stopping=True (early stopping on a stratified "
        "20% split), or train_split=MultiTaskValidSplit(0.2) for your callback."
    )
    for params in ({"bag_folds": None}, {"max_epochs": 2}):
        clf = MultiTaskClassifier(callbacks=[EarlyStopping()], hidden_units=(8,), **params)
        with pytest.raises(ValueError, match=re.escape(msg)):
            clf.fit(X, Y)
    # with a split of its own it watches it
    clf = MultiTaskClassifier(
        callbacks=[EarlyStopping(patience=1)],
        max_epochs=30,
        train_split=MultiTaskValidSplit(0.2),
        random_state=0,
    )
    assert len(clf.fit(X, Y).history) < 30


def test_callbacks_of_wrong_type():
    with pytest.raises(TypeError, match="callbacks must be None, 'disable' or a list"):
        MultiTaskClassifier().set_params(callbacks=3)


def test_three_dimensional_Y(tasks_data):
    X, _ = tasks_data
    with pytest.raises(ValueError, match="got an array with 3 dimensions"):
        make_clf().fit(X, np.zeros((len(X), 2, 2)))


def test_no_torch_traceback_for_float64_module_input(fitted, tasks_data):
    # skorch alone feeds float64 arrays to float32 weights and crashes
    X, _ = tasks_data
    out = fitted.predict_proba(X.astype(np.float64))
    assert out["binary"].dtype == np.float32
    assert torch.get_default_dtype() == torch.float32
