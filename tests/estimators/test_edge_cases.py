"""Edge cases a data scientist hits: each of these was once a silent or raw failure."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback
from skorch.dataset import Dataset
from skorch.helper import predefined_split
from support import make_clf
from torch import nn

from skmtl import task_scorer
from skmtl.data import TensorBatches, TensorData


def test_2d_object_Y_with_mixed_task_types_keeps_original_labels(tasks_data):
    X, Y = tasks_data
    Y2 = np.empty((len(X), 2), dtype=object)
    Y2[:, 0] = np.where(Y["binary"] == 1, "yes", "no")
    Y2[:, 1] = Y["binary"]
    pred = make_clf(max_epochs=20).fit(X, Y2).predict(X)
    assert pred.dtype == object
    assert {type(v) for v in pred[:, 0]} == {str}
    assert set(pred[:, 1]) <= {0, 1} and not {type(v) for v in pred[:, 1]} & {str}
    assert np.mean(pred[:, 1] == Y2[:, 1]) > 0.8


def test_failed_refit_leaves_model_unfitted_not_half_updated(tasks_data):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    with pytest.raises(ValueError, match=r"'dropout' .* in the range \[0.0, 1.0\). Got 1.0"):
        clf.set_params(dropout=1.0).fit(X, {"binary": Y["binary"], "colour": Y["colour"]})
    with pytest.raises(NotFittedError):
        clf.predict(X)
    clf.set_params(dropout=0.0).fit(X, Y)
    assert clf.score(X, Y) > 0.5


def test_task_scorer_on_a_1d_model(tasks_data):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y["colour"])
    expected = np.mean(clf.predict(X) == Y["colour"])
    assert task_scorer("task_0")(clf, X, Y["colour"]) == pytest.approx(expected)
    ll = task_scorer("task_0", "neg_log_loss")(clf, X, Y["colour"])
    assert ll < 0


def test_task_scorer_subsets_sample_weight_to_labelled_rows(penguins):
    X, Y = penguins
    clf = make_clf().fit(X, Y)
    w = np.where(Y["species"] == "Adelie", 1.0, 0.0)
    labelled = Y["sex"].notna().to_numpy()
    pred = clf.predict(X)["sex"]
    expected = np.average(pred[labelled] == Y["sex"][labelled], weights=w[labelled])
    assert task_scorer("sex")(clf, X, Y, sample_weight=w) == pytest.approx(expected)


def test_task_scorer_on_unfitted_model(tasks_data):
    X, Y = tasks_data
    with pytest.raises(NotFittedError):
        task_scorer("colour")(make_clf(), X, Y)


@pytest.mark.parametrize("kind", ["frame", "1d"])
def test_predefined_split_with_raw_labels(tasks_data, kind):
    X, Y = tasks_data
    Ydf = pd.DataFrame(Y)
    targets = Ydf if kind == "frame" else Ydf["colour"]
    X_tr, X_va = X[:180], X[180:]
    Y_tr, Y_va = targets.iloc[:180], targets.iloc[180:].reset_index(drop=True)
    split = predefined_split(Dataset(X_va, Y_va))
    clf = make_clf(train_split=split, max_epochs=3).fit(X_tr, Y_tr)
    assert clf.history[-1, "batches", -1, "valid_batch_size"] == len(X_va)
    assert 0.0 <= clf.history[-1, "valid_acc"] <= 1.0
    assert np.isfinite(clf.history[:, "valid_loss"]).all()


def test_batch_norm_with_a_one_row_last_batch(tasks_data):
    X, Y = tasks_data
    n = 257  # 256 + 1 training rows
    clf = make_clf(module__norm="batch", batch_size=256, train_split=None, max_epochs=2)
    clf.fit(np.vstack([X, X])[:n], {t: np.concatenate([v, v])[:n] for t, v in Y.items()})
    assert [b["train_batch_size"] for b in clf.history[-1, "batches"]] == [257]


def test_tensor_batches_fold_a_short_last_batch():
    data = TensorData(torch.zeros(11, 1), torch.zeros(11))
    assert [len(x) for x, _ in TensorBatches(data, batch_size=5, min_last=2)] == [5, 6]
    assert [len(x) for x, _ in TensorBatches(data, batch_size=5)] == [5, 5, 1]
    with pytest.raises(ValueError, match="batch_size must be a positive int or -1"):
        TensorBatches(data, batch_size=0)


class ModeSpy(Callback):
    def initialize(self):
        self.modes = set()
        return self

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            net._set_training(True)
            self.modes |= {m.training for m in net.module_.modules()}


def test_trunk_instance_in_eval_mode_trains_in_train_mode_and_is_not_changed(tasks_data):
    X, Y = tasks_data
    trunk = nn.Sequential(nn.Linear(6, 16), nn.Dropout(0.5), nn.ReLU()).eval()
    before = {k: v.clone() for k, v in trunk.state_dict().items()}
    spy = ModeSpy()
    clf = make_clf(module=trunk, train_split=None, callbacks=[spy]).fit(X, Y)
    assert spy.modes == {True}
    assert not trunk.training  # the user's object is left as it was
    for k, v in trunk.state_dict().items():
        assert torch.equal(v, before[k])
    again = make_clf(module=trunk, train_split=None).fit(X, Y)
    np.testing.assert_array_equal(clf.predict_proba(X)["colour"], again.predict_proba(X)["colour"])


def test_sample_weight_in_fit_is_refused_clearly(tasks_data):
    X, Y = tasks_data
    with pytest.raises(ValueError, match="does not take sample_weight.*task_weights"):
        make_clf().fit(X, Y, sample_weight=np.ones(len(X)))


def test_nan_and_inf_are_reported_by_column(tasks_data):
    X, Y = tasks_data
    X = X.copy()
    X[0, 1], X[1, 3] = np.nan, np.inf
    with pytest.raises(ValueError, match=r"NaN in column\(s\) \[1\] and infinity .* \[3\]"):
        make_clf().fit(X, Y)


def test_hidden_units_int_and_activation_instance(tasks_data):
    X, Y = tasks_data
    clf = make_clf(hidden_units=9, activation=nn.LeakyReLU(0.3), max_epochs=1).fit(X, Y)
    assert clf.module_.heads[0].in_features == 9
    acts = [m for m in clf.module_.trunk.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 1 and acts[0].negative_slope == 0.3


@pytest.mark.parametrize("size", [0, -2, 1.5, True])
def test_bad_predict_batch_size(tasks_data, size):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="The 'predict_batch_size' parameter .* Got"):
        clf.set_params(predict_batch_size=size).predict(X)


@pytest.mark.parametrize("names", ["sex", ["a", "b"]])
def test_task_names_must_match_1d_target(tasks_data, names):
    X, Y = tasks_data
    with pytest.raises(ValueError, match="'task_names' parameter .* Got 'sex'|1 column"):
        make_clf(task_names=names).fit(X, Y["binary"])


def test_forward_on_skorch_path_accepts_dataframe_and_float64(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1, data_on_device=False).fit(X, Y)
    out64 = clf.forward(X.astype(np.float64))
    outdf = clf.forward(pd.DataFrame(X))
    torch.testing.assert_close(out64[1], outdf[1])


def test_categorical_task_keeps_declared_categories_in_order(tasks_data):
    X, Y = tasks_data
    levels = pd.Categorical(
        np.where(Y["binary"] == 1, "high", "low"), categories=["low", "mid", "high"], ordered=True
    )
    clf = make_clf(max_epochs=1).fit(X, {"level": levels, "flag": Y["flag"]})
    np.testing.assert_array_equal(clf.classes_["level"], ["low", "mid", "high"])
    assert clf.predict_proba(X)["level"].shape == (len(X), 3)


def test_score_warns_when_no_label_is_known(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y["binary"])
    with pytest.warns(UserWarning, match="None of the labels of task 'task_0'.*type"):
        assert clf.score(X, Y["binary"].astype(str)) == 0.0
