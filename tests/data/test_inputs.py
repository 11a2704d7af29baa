"""N-D input with a custom trunk: images ``(n, C, H, W)`` and sequences
``(n, T, F)`` reach the trunk in their own shape; the fitted sample shape is
checked at predict time; the tabular recipe and the default MLP keep to 2-D
tables, with clear errors where an explicit request cannot apply."""

import pickle
import re

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.preprocessing import QuantileTransformer
from support import make_clf, make_tasks
from torch import nn

from skmtl import MultiTaskClassifier, MultiTaskRegressor
from skmtl.nn import trunk_output_width

IMAGE = (1, 8, 8)


class TinyCNN(nn.Module):
    """A CNN for ``(batch, 1, 8, 8)`` images; records the shapes it is given.
    No ``out_features``: skmtl finds the width by a dry run."""

    def __init__(self, channels: int = 8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, channels, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.seen: list[tuple[int, ...]] = []

    def forward(self, X):
        self.seen.append(tuple(X.shape))
        return self.net(X)


class TinyGRU(nn.Module):
    """A GRU over ``(batch, T, input_size)``; returns the last hidden state."""

    def __init__(self, input_size: int = 3, hidden_size: int = 8):
        super().__init__()
        self.gru = nn.GRU(input_size, hidden_size, batch_first=True)
        self.out_features = hidden_size

    def forward(self, X):
        assert X.ndim == 3, X.shape
        return self.gru(X)[1][-1]


class Dense(nn.Module):
    """A linear trunk for 2-D tables, sized from ``in_features``."""

    def __init__(self, in_features: int, width: int = 8):
        super().__init__()
        self.linear = nn.Linear(in_features, width)
        self.out_features = width

    def forward(self, X):
        return torch.relu(self.linear(X))


def cnn_clf(**params) -> MultiTaskClassifier:
    return make_clf(**{"module": TinyCNN, "max_epochs": 3, **params})


@pytest.fixture(scope="module")
def digits():
    """300 digits as ``(300, 1, 8, 8)`` float32 images with two tasks."""
    data = load_digits()
    X = (data.images[:300] / 16.0).astype(np.float32)[:, None]
    digit = data.target[:300]
    Y = pd.DataFrame({"digit": digit, "parity": np.where(digit % 2, "odd", "even")})
    return X, Y


@pytest.fixture(scope="module")
def cnn(digits):
    X, Y = digits
    return cnn_clf().fit(X, Y)


def sequences(n=200, length=12, n_features=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, length, n_features)).astype(np.float32)
    Y = {
        "trend": X[:, length // 2 :, 0].sum(1) > X[:, : length // 2, 0].sum(1),
        "peak": np.where(X[:, :, 1].argmax(1) < length // 2, "early", "late"),
    }
    return X, Y


def shape_message(shape, fitted):
    return re.escape(
        f"X has shape {shape}, but MultiTaskClassifier was fitted on samples of "
        f"shape {fitted}; give X of shape (n_samples, *{fitted})."
    )


# ------------------------------------------------------------------ images


def test_cnn_on_images_fits_and_predicts_labels(cnn, digits):
    X, Y = digits
    assert cnn.input_shape_ == IMAGE and isinstance(cnn.input_shape_, tuple)
    assert cnn.n_features_in_ == 64
    assert not hasattr(cnn, "feature_names_in_")
    pred = cnn.predict(X)
    assert isinstance(pred, pd.DataFrame) and list(pred.columns) == ["digit", "parity"]
    assert pred.shape == (300, 2)
    assert set(pred["digit"]) <= set(range(10)) and set(pred["parity"]) <= {"even", "odd"}
    assert (pred["digit"] == Y["digit"]).mean() > 0.5  # chance is 0.1
    assert (pred["parity"] == Y["parity"]).mean() > 0.6
    proba = cnn.predict_proba(X)
    assert proba["digit"].shape == (300, 10) and proba["parity"].shape == (300, 2)
    np.testing.assert_allclose(proba["digit"].sum(1), 1, rtol=1e-5)


def test_the_trunk_gets_image_batches(cnn, digits):
    X, _ = digits
    trunk = cnn.module_.trunk
    trunk.seen.clear()
    cnn.predict(X[:5])
    assert trunk.seen == [(5, *IMAGE)]
    # the dry run that sized the heads saw two images of zeros
    assert [h.in_features for h in cnn.module_.heads] == [8 * 4 * 4] * 2


def test_dict_Y_gives_dict_predictions(digits):
    X, Y = digits
    clf = cnn_clf(max_epochs=1).fit(X, {"digit": Y["digit"].to_numpy()})
    pred = clf.predict(X[:7])
    assert isinstance(pred, dict) and list(pred) == ["digit"]
    assert pred["digit"].shape == (7,)


def test_score_on_images(cnn, digits):
    X, Y = digits
    scores = cnn.score_tasks(X, Y)
    assert set(scores) == {"digit", "parity"}
    assert cnn.score(X, Y) == pytest.approx(np.mean(list(scores.values())))
    pred = cnn.predict(X)
    assert scores["digit"] == pytest.approx((pred["digit"] == Y["digit"]).mean())
    weighted = cnn.score(X, Y, sample_weight=np.ones(len(X)))
    assert weighted == pytest.approx(cnn.score(X, Y))


def test_predict_in_small_batches_and_on_skorchs_data_path(cnn, digits):
    X, _ = digits
    expected = cnn.predict_proba(X)
    for params in ({"predict_batch_size": 7}, {"data_on_device": False}):
        other = pickle.loads(pickle.dumps(cnn)).set_params(**params)
        got = other.predict_proba(X)
        for task in expected:
            np.testing.assert_allclose(got[task], expected[task], rtol=1e-5, atol=1e-6)


def test_float64_and_torch_inputs_give_the_same_predictions(cnn, digits):
    X, _ = digits
    expected = cnn.predict_proba(X)
    for other in (
        X.astype(np.float64),
        torch.from_numpy(X),
        torch.from_numpy(X.astype(np.float64)),
    ):
        got = cnn.predict_proba(other)
        for task in expected:
            np.testing.assert_array_equal(got[task], expected[task])
    pd.testing.assert_frame_equal(
        cnn.predict(torch.from_numpy(X).double()), cnn.predict(X.astype(np.float32))
    )


def test_pickle_round_trip_of_an_image_model(cnn, digits):
    X, _ = digits
    restored = pickle.loads(pickle.dumps(cnn))
    assert restored.input_shape_ == IMAGE
    expected, got = cnn.predict_proba(X), restored.predict_proba(X)
    for task in expected:
        np.testing.assert_array_equal(got[task], expected[task])


def test_random_state_makes_image_fits_bit_identical(digits):
    X, Y = digits
    first = cnn_clf(max_epochs=2, random_state=0).fit(X, Y)
    second = clone(first).fit(X, Y)
    a, b = first.predict_proba(X), second.predict_proba(X)
    for task in a:
        np.testing.assert_array_equal(a[task], b[task])


# --------------------------------------------------------------- sequences


def test_gru_on_sequences():
    X, Y = sequences()
    clf = make_clf(module=TinyGRU, max_epochs=4).fit(X, Y)
    assert clf.input_shape_ == (12, 3) and clf.n_features_in_ == 36
    pred = clf.predict(X)
    assert isinstance(pred, dict) and list(pred) == ["trend", "peak"]
    assert pred["trend"].dtype == bool and set(pred["peak"]) <= {"early", "late"}
    assert [h.in_features for h in clf.module_.heads] == [8, 8]  # from out_features
    assert 0 <= clf.score(X, Y) <= 1


def test_regressor_on_sequences():
    X, Y = sequences()
    y = X[:, :, 0].mean(1)
    reg = MultiTaskRegressor(
        module=TinyGRU, max_epochs=3, batch_size=64, random_state=0, lr=0.01
    ).fit(X, {"mean": y})
    assert reg.input_shape_ == (12, 3)
    assert reg.predict(X)["mean"].shape == (200,)
    with pytest.raises(ValueError, match=re.escape("fitted on samples of shape (12, 3)")):
        reg.predict(X[:, :6])


def test_a_trunk_taking_in_features_gets_the_flattened_width(digits):
    X, Y = digits

    class FlatDense(Dense):
        def forward(self, X):
            return super().forward(X.flatten(1))

    clf = make_clf(module=FlatDense, max_epochs=1).fit(X, Y)
    assert clf.module_.trunk.linear.in_features == 64


def test_the_dry_run_leaves_the_trunk_as_it_was():
    trunk = nn.Sequential(nn.Conv1d(3, 4, 3), nn.BatchNorm1d(4), nn.Flatten())
    before = trunk[1].running_mean.clone()
    assert trunk_output_width(trunk, (3, 10)) == 4 * 8
    assert trunk.training
    torch.testing.assert_close(trunk[1].running_mean, before)
    assert int(trunk[1].num_batches_tracked) == 0


def test_a_trunk_returning_more_than_2_d_is_refused(digits):
    X, Y = digits
    conv = nn.Conv2d(1, 2, kernel_size=3)  # (batch, 2, 6, 6): no pooling/flatten
    with pytest.raises(ValueError, match=r"returned \(2, 2, 6, 6\).*torch.nn.Flatten"):
        make_clf(module=conv, max_epochs=1).fit(X, Y)


# ------------------------------------------------------------ shape checks


@pytest.mark.parametrize("method", ["predict", "predict_proba", "score"])
def test_wrong_sample_shape_at_predict(cnn, digits, method):
    X, Y = digits
    wrong = X[:, :, :, :7]
    args = (wrong, Y) if method == "score" else (wrong,)
    with pytest.raises(ValueError, match=shape_message((300, 1, 8, 7), IMAGE)):
        getattr(cnn, method)(*args)


def test_same_size_but_other_shape_is_refused(cnn, digits):
    X, _ = digits
    with pytest.raises(ValueError, match=shape_message((300, 8, 8, 1), IMAGE)):
        cnn.predict(np.ascontiguousarray(X.transpose(0, 2, 3, 1)))


@pytest.mark.parametrize("kind", ["array", "dataframe"])
def test_2_d_X_for_an_image_model_is_refused(cnn, digits, kind):
    X, _ = digits
    flat = X.reshape(300, 64)
    if kind == "dataframe":
        flat = pd.DataFrame(flat)
    with pytest.raises(ValueError, match=shape_message((300, 64), IMAGE)):
        cnn.predict(flat)


def test_n_d_X_for_a_2_d_model_is_refused():
    X, Y = make_tasks(n=64, n_features=6)
    clf = make_clf(module=Dense, max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match=shape_message((64, 2, 3), (6,))):
        clf.predict(X.reshape(64, 2, 3))


def test_warm_fit_with_another_shape_is_refused(digits):
    X, Y = digits
    clf = cnn_clf(max_epochs=1, warm_start=True).fit(X, Y)
    with pytest.raises(ValueError, match=shape_message((300, 1, 8, 7), IMAGE)):
        clf.fit(X[:, :, :, :7], Y)
    with pytest.raises(ValueError, match=shape_message((300, 1, 8, 7), IMAGE)):
        clf.partial_fit(X[:, :, :, :7], Y)


def test_refit_switches_between_2_d_and_n_d():
    X, Y = make_tasks(n=64, n_features=6)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])

    class Flat(Dense):
        def forward(self, X):
            return super().forward(X.flatten(1))

    clf = make_clf(module=Flat, max_epochs=1).fit(frame, Y)
    assert list(clf.feature_names_in_) == list(frame.columns)
    assert not hasattr(clf, "input_shape_")
    clf.fit(X.reshape(64, 2, 3), Y)
    assert clf.input_shape_ == (2, 3) and clf.n_features_in_ == 6
    assert not hasattr(clf, "feature_names_in_")
    clf.fit(X, Y)
    assert not hasattr(clf, "input_shape_") and clf.n_features_in_ == 6
    assert clf.predict(X)["binary"].shape == (64,)


# -------------------------------------------------- default trunk, recipe


@pytest.mark.parametrize(
    "params, architecture",
    [({}, "shared"), ({"architecture": "mmoe"}, "mmoe"), ({"architecture": "ple"}, "ple")],
)
def test_the_default_trunk_takes_2_d_X_only(digits, params, architecture):
    X, Y = digits
    fragment = (
        f"X has shape (300, 1, 8, 8): the default MLP trunk and the {architecture!r} "
        "architecture take 2-D X (n_samples, n_features). Pass your own trunk"
    )
    clf = make_clf(**params)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        clf.fit(X, Y)
    assert not hasattr(clf, "input_shape_") and not hasattr(clf, "module_")


def test_experts_with_a_custom_trunk_and_n_d_X_are_refused(digits):
    X, Y = digits
    with pytest.raises(
        ValueError, match="architecture='mmoe' builds MLP experts, which take 2-D X"
    ):
        cnn_clf(architecture="mmoe").fit(X, Y)


@pytest.mark.parametrize("kind", ["quantile", "standard", "robust", "maxabs"])
def test_explicit_feature_scaling_of_n_d_X_is_refused(digits, kind):
    X, Y = digits
    fragment = (
        f"feature_scaling={kind!r} scales the columns of a 2-D table, but X has "
        "shape (300, 1, 8, 8)"
    )
    clf = cnn_clf(feature_scaling=kind)
    with pytest.raises(ValueError, match=re.escape(fragment)):
        clf.fit(X, Y)
    assert not hasattr(clf, "feature_scaler_") and not hasattr(clf, "input_shape_")


@pytest.mark.parametrize("embedding", ["auto", None])
def test_the_auto_recipe_is_off_for_n_d_X(cnn, digits, embedding):
    X, Y = digits
    clf = cnn if embedding == "auto" else cnn_clf(max_epochs=1, numeric_embedding=None).fit(X, Y)
    assert clf.feature_scaling == "auto" and clf.feature_scaler_ is None
    assert clf.embedded_columns_ is None
    # the trunk sees the pixels unscaled
    np.testing.assert_array_equal(clf.get_dataset(X[:4]).X.numpy(), X[:4])


def test_the_auto_recipe_is_on_for_dense_2_d_X():
    X, Y = make_tasks(n=600, n_features=6)
    clf = make_clf(max_epochs=1).fit(X, Y)
    assert isinstance(clf.feature_scaler_, QuantileTransformer)
    assert isinstance(clf.embedded_columns_, list) and clf.embedded_columns_ == list(range(6))
    # a custom trunk keeps the scaling but gets no embedding
    custom = make_clf(module=Dense, max_epochs=1).fit(X, Y)
    assert isinstance(custom.feature_scaler_, QuantileTransformer)
    assert custom.embedded_columns_ is None


@pytest.mark.parametrize("data", ["2-D", "N-D"])
def test_periodic_embedding_with_a_custom_trunk_is_refused(digits, data):
    if data == "2-D":
        X, Y = make_tasks(n=64, n_features=6)
        clf = make_clf(module=Dense, numeric_embedding="periodic")
    else:
        X, Y = digits
        clf = cnn_clf(numeric_embedding="periodic")
    message = (
        "numeric_embedding='periodic' belongs to skmtl's own MLP trunk and experts; "
        "a custom module= gets X as it is."
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        clf.fit(X, Y)


# ---------------------------------------------------------- non-finite X


def test_nan_in_n_d_X_names_the_flattened_feature(digits):
    X, Y = digits
    X = X.copy()
    X[3, 0, 2, 5] = np.nan  # flattened: 2 * 8 + 5
    with pytest.raises(ValueError, match=re.escape("contains NaN in flattened feature(s) [21]")):
        cnn_clf().fit(X, Y)


def test_nan_and_inf_in_n_d_X_at_predict(cnn, digits):
    X, _ = digits
    X = X.copy()
    X[0, 0, 0, 0] = np.nan
    X[1, 0, 7, 7] = np.inf
    match = r"NaN in flattened feature\(s\) \[0\] and infinity .* in flattened feature\(s\) \[63\]"
    with pytest.raises(ValueError, match=match):
        cnn.predict(X)


def test_a_dict_of_arrays_as_X_is_refused_clearly(tasks_data):
    _, Y = tasks_data
    X = {"image": np.zeros((240, 1, 4, 4)), "table": np.zeros((240, 3))}
    with pytest.raises(ValueError, match=r"X is a dict of arrays \(keys \['image', 'table'\]\)"):
        make_clf().fit(X, Y)
