"""skmtl.to_onnx: the exported graph, run in onnxruntime, predicts as the estimator."""

import io
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

import scipy.sparse as sp  # noqa: E402
import torch  # noqa: E402
from sklearn.base import BaseEstimator, TransformerMixin  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import NotFittedError  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import (  # noqa: E402
    MaxAbsScaler,
    OneHotEncoder,
    QuantileTransformer,
    RobustScaler,
    StandardScaler,
)
from support import make_clf, make_tasks  # noqa: E402
from torch import nn  # noqa: E402

from skmtl import MultiTaskClassifier, MultiTaskRegressor, make_tabular_pipeline  # noqa: E402
from skmtl.io._onnx import scaler_module, to_onnx  # noqa: E402

#: What every function that takes a skmtl model says of another estimator.
TAKES = "takes a MultiTaskClassifier, a MultiTaskRegressor or a Pipeline ending in one"

#: Largest |proba_onnx - predict_proba| allowed.
ATOL = 1e-4
#: Per configuration: the largest |proba_onnx - predict_proba|, and the largest
#: |value_onnx - predict| / max(|predict|, scale_) of the regression tasks
#: (relative, or in units of the target's scale near 0); printed at the end (pytest -s).
DIFFS: dict[str, list[float]] = {}


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    if DIFFS:
        width = max(map(len, DIFFS))
        print(f"\n  {'configuration':<{width}}  proba abs  value rel")
        for config, (proba, value) in DIFFS.items():
            shown = [f"{d:.2e}" if d == d else "-" for d in (proba, value)]
            print(f"  {config:<{width}}  {shown[0]:>9}  {shown[1]:>9}")


def rows(Y: dict, n: int) -> dict:
    return {task: y[:n] for task, y in Y.items()}


def session(model):
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def run(model, feeds) -> dict:
    sess = session(model)
    if not isinstance(feeds, dict):
        feeds = {"X": np.asarray(feeds, dtype=np.float32)}
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(None, feeds), strict=True))


def check_outputs(config, net, out, X_net, predicted=None, proba=None) -> None:
    """Every task's ONNX outputs against the estimator's ``predict``/``predict_proba``
    on ``X_net`` (or the given predictions): probabilities within ATOL, the
    same labels, values within 1e-4 relative."""
    encoder = net.target_encoder_
    if predicted is None:
        predicted = net.predict(X_net)
    classification = [t for t in net.tasks_ if encoder.types_[t] == "classification"]
    if proba is None and classification:
        proba = net.predict_proba(X_net)
    if isinstance(proba, np.ndarray):  # 1-D Y
        proba = {net.tasks_[0]: proba}
    worst = [float("nan"), float("nan")]
    for task in net.tasks_:
        expected = encoder.task_column(predicted, task)
        if task in classification:
            p, label = out[f"proba_{task}"], out[f"label_{task}"]
            assert p.dtype == np.float32 and label.dtype == np.int64
            assert p.shape == proba[task].shape
            diff = float(np.abs(p - proba[task]).max())
            assert diff <= ATOL, (config, task, diff)
            worst[0] = np.nanmax([worst[0], diff])
            np.testing.assert_array_equal(encoder.classes_[task][label], expected)
        else:
            value, scale = out[f"value_{task}"], encoder.scale_[task]
            assert value.dtype == np.float32 and value.shape == expected.shape
            relative = np.abs(value - expected) / np.maximum(np.abs(expected), scale)
            assert relative.max() <= 1e-4, (config, task, relative.max())
            worst[1] = np.nanmax([worst[1], relative.max()])
    DIFFS[config] = worst


@pytest.fixture(scope="module")
def penguin_split():
    from skmtl.datasets import load_penguins

    X, Y = load_penguins(return_X_y=True)
    keep = X.notna().all(axis=1).to_numpy()
    X, Y = X[keep].reset_index(drop=True), Y[keep].reset_index(drop=True)
    rows = np.random.default_rng(0).permutation(len(X))
    train, test = rows[:240], rows[240:]
    return X.iloc[train], Y.iloc[train], X.iloc[test], Y.iloc[test]


@pytest.fixture(scope="module")
def default_clf(penguin_split):
    X, Y, _, _ = penguin_split
    # the default recipe, with the embedding the 500-row rule leaves out here
    clf = MultiTaskClassifier(
        max_epochs=8, hidden_units=(32, 32), numeric_embedding="piecewise_linear", random_state=0
    )
    return clf.fit(X, Y)


# ------------------------------------------------------------- estimators


def test_default_recipe_quantile_scaling_and_piecewise_linear_embedding(default_clf, penguin_split):
    clf = default_clf
    _, _, X_test, _ = penguin_split
    assert isinstance(clf.feature_scaler_, QuantileTransformer)
    assert clf.feature_scaler_.output_distribution == "normal"
    assert clf.embedded_columns_ and clf.embedding_bins_  # the embedding is in the network
    before = clf.predict_proba(X_test)
    model = to_onnx(clf)
    assert [i.name for i in model.graph.input] == ["X"]
    assert [o.name for o in model.graph.output] == [
        f"{kind}_{task}" for task in clf.tasks_ for kind in ("proba", "label")
    ]
    # the estimator is left as it was
    for task, proba in clf.predict_proba(X_test).items():
        np.testing.assert_array_equal(proba, before[task])
    out = run(model, X_test.to_numpy())
    check_outputs("default recipe (quantile + periodic), penguins", clf, out, X_test)


def test_dynamic_batch_one_row_and_a_thousand(default_clf, penguin_split):
    clf = default_clf
    _, _, X_test, _ = penguin_split
    model = to_onnx(clf)
    dim = model.graph.input[0].type.tensor_type.shape.dim
    assert dim[0].dim_param and dim[1].dim_value == clf.n_features_in_
    one = X_test.iloc[:1]
    check_outputs("default recipe, 1 row", clf, run(model, one.to_numpy()), one)
    rows = np.random.default_rng(1).integers(0, len(X_test), 1000)
    # jittered rows also land between and beyond the fitted quantiles
    many = X_test.iloc[rows] * np.random.default_rng(2).uniform(0.8, 1.25, (1000, 4))
    out = run(model, many.to_numpy())
    assert out[f"proba_{clf.tasks_[0]}"].shape[0] == 1000
    check_outputs("default recipe, 1000 rows", clf, out, many)


@pytest.mark.parametrize("architecture", ["mmoe", "ple"])
def test_experts(architecture):
    X, Y = make_tasks(300)
    # batch norm and dropout: the graph is the network in eval mode
    clf = make_clf(architecture=architecture, norm="batch", dropout=0.3, max_epochs=4)
    clf.set_params(numeric_embedding="periodic" if architecture == "mmoe" else "piecewise_linear")
    clf.fit(X[:200], rows(Y, 200))
    assert clf.embedded_columns_
    out = run(to_onnx(clf), X[200:])
    check_outputs(f"architecture={architecture!r}", clf, out, X[200:])


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(1, 4, kernel_size=3, padding=1),
            nn.BatchNorm2d(4),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )

    def forward(self, X):
        return self.net(X)


def test_custom_cnn_trunk_on_images():
    digits = load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:600, None, :, :]
    y = digits.target[:600]
    Y = pd.DataFrame({"digit": y, "parity": np.where(y % 2, "odd", "even")})
    clf = MultiTaskClassifier(module=SmallCNN, max_epochs=3, batch_size=64, random_state=0)
    clf.fit(X[:450], Y[:450])
    model = to_onnx(clf)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims[1:]] == [1, 8, 8]
    out = run(model, X[450:])
    check_outputs("custom CNN trunk, digits (n, 1, 8, 8)", clf, out, X[450:])


@pytest.mark.parametrize(
    ("scaling", "scaler"),
    [
        ("standard", StandardScaler),
        ("robust", RobustScaler),
        ("maxabs", MaxAbsScaler),
        (None, type(None)),
    ],
)
def test_each_feature_scaling(scaling, scaler):
    X, Y = make_tasks(300)
    X = X * [1, 10, 0.1, 100, 1, 5] + [0, 3, -2, 50, 0, 1]  # scaling matters
    clf = make_clf(feature_scaling=scaling, numeric_embedding=None).fit(X[:200], rows(Y, 200))
    assert isinstance(clf.feature_scaler_, scaler)
    out = run(to_onnx(clf), X[200:])
    check_outputs(f"feature_scaling={scaling!r}", clf, out, X[200:])


def test_regressor_values_in_original_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 5))
    Y = pd.DataFrame(
        {
            "price": 1000 + 300 * X[:, 0] - 50 * X[:, 1] ** 2,
            "rate": 0.01 * X[:, 2] + 0.001 * rng.normal(size=300),
            "kind": np.where(X[:, 3] > 0, "up", "down"),
        }
    )
    reg = MultiTaskRegressor(
        hidden_units=(32,), max_epochs=10, task_types={"kind": "classification"}, random_state=0
    ).fit(X[:200], Y[:200])
    model = to_onnx(reg)
    names = [o.name for o in model.graph.output]
    assert names == ["value_price", "value_rate", "proba_kind", "label_kind"]
    out = run(model, X[200:])
    assert out["value_price"].mean() > 500  # original units, not standardised
    # MultiTaskRegressor has no predict_proba: the probabilities come from the
    # estimator's own forward pass
    logits = reg.forward(X[200:].astype(np.float32))[2]
    proba = {"kind": torch.softmax(logits, dim=1).numpy()}
    check_outputs("MultiTaskRegressor (2 numeric + 1 class task)", reg, out, X[200:], proba=proba)


def test_sparse_fit_exports_a_dense_input_graph():
    X, Y = make_tasks(300)
    X[np.abs(X) < 0.8] = 0.0
    X = sp.csr_matrix(X)
    clf = make_clf(feature_scaling="maxabs").fit(X[:200], rows(Y, 200))
    out = run(to_onnx(clf), X[200:].toarray())
    check_outputs("sparse X (maxabs), fed dense", clf, out, X[200:])


def test_task_names_become_readable_onnx_names():
    X, Y = make_tasks(200)
    Y = {"sex (M/F)": Y["binary"], "a b": Y["colour"], "a_b": Y["flag"], 3: Y["binary"]}
    clf = make_clf(max_epochs=2).fit(X, Y)
    model = to_onnx(clf)
    assert [o.name for o in model.graph.output] == [
        "proba_sex__M_F_",
        "label_sex__M_F_",
        "proba_a_b",
        "label_a_b",
        "proba_a_b_2",
        "label_a_b_2",
        "proba_3",
        "label_3",
    ]
    meta = {p.key: p.value for p in model.metadata_props}
    import json

    table = json.loads(meta["skmtl_tasks"])
    assert [t["task"] for t in table] == ["sex (M/F)", "a b", "a_b", "3"]
    assert table[1]["classes"] == ["blue", "green", "red"]
    out = run(model, X)
    np.testing.assert_array_equal(clf.classes_["a_b"][out["label_a_b_2"]], clf.predict(X)["a_b"])


def test_quantile_map_reproduces_scikit_learn():
    """Ties (repeated quantiles), values beyond and on the quantiles, a constant
    column and heavy tails, for both output distributions, through ONNX."""
    rng = np.random.default_rng(0)
    n = 500
    X = np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 4, n),  # repeated quantiles
            np.r_[np.zeros(400), rng.exponential(size=100)],
            np.full(n, 3.0),
            rng.lognormal(3, 2, n),
        ]
    ).astype(np.float32)
    X_new = np.column_stack(
        [
            3 * rng.normal(size=n),
            rng.integers(-1, 6, n),
            3 * rng.exponential(size=n),
            np.r_[np.full(10, 3.0), rng.normal(3, 1e-6, n - 10)],
            rng.lognormal(3, 3, n),
        ]
    ).astype(np.float32)
    for scaler in (
        QuantileTransformer(n_quantiles=10, output_distribution="normal"),
        QuantileTransformer(n_quantiles=333, output_distribution="normal"),
        QuantileTransformer(n_quantiles=7, output_distribution="uniform"),
    ):
        scaler.fit(X)
        knots = scaler.quantiles_.astype(np.float32)
        for data in (X, X_new, knots):
            expected = scaler.transform(data)
            got = run(_scaler_graph(scaler, data.shape[1]), data)["Z"]
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


def _scaler_graph(scaler, n_features):
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            scaler_module(scaler),
            (torch.zeros(2, n_features),),
            buffer,
            dynamo=False,
            opset_version=18,
            input_names=["X"],
            output_names=["Z"],
            dynamic_axes={"X": {0: "batch"}, "Z": {0: "batch"}},
        )
    return onnx.load_from_string(buffer.getvalue())


# -------------------------------------------------------------- pipelines


def test_pipeline_with_column_transformer(penguin_split):
    pytest.importorskip("skl2onnx")
    X, Y, X_test, _ = penguin_split
    X, X_test = X.assign(island=Y["island"]), X_test.assign(island=penguin_split[3]["island"])
    Y = Y.drop(columns="island")
    numeric = list(X.columns[:4])
    pipe = make_pipeline(
        ColumnTransformer(
            [("numeric", StandardScaler(), numeric), ("island", OneHotEncoder(), ["island"])]
        ),
        MultiTaskClassifier(hidden_units=(32,), max_epochs=5, random_state=0),
    ).fit(X, Y)
    with pytest.raises(ValueError, match="selects columns by name"):
        to_onnx(pipe)
    model = to_onnx(pipe, X=X.head())
    assert [i.name for i in model.graph.input] == [*numeric, "island"]
    net = pipe[-1]
    assert [o.name for o in model.graph.output] == [
        f"{kind}_{task}" for task in net.tasks_ for kind in ("proba", "label")
    ]
    feeds = {c: X_test[[c]].to_numpy(np.float32) for c in numeric}
    feeds["island"] = X_test[["island"]].to_numpy().astype(str)
    out = run(model, feeds)
    check_outputs(
        "Pipeline(ColumnTransformer(StandardScaler, OneHotEncoder), clf)",
        net,
        out,
        None,
        predicted=pipe.predict(X_test),
        proba=pipe.predict_proba(X_test),
    )


def test_pipeline_on_one_numeric_input():
    pytest.importorskip("skl2onnx")
    X, Y = make_tasks(300)
    X[:, 5] = np.random.default_rng(0).integers(0, 3, 300)  # a code to one-hot encode
    pipe = make_pipeline(
        ColumnTransformer(
            [("scaled", StandardScaler(), [0, 1, 2, 3, 4]), ("code", OneHotEncoder(), [5])]
        ),
        MultiTaskRegressor(
            hidden_units=(16,),
            max_epochs=4,
            task_types={"colour": "classification"},
            random_state=0,
        ),
    )
    Y = {"binary": X[:, 0] * 3.0 + 1.0, "colour": Y["colour"]}
    pipe.fit(X[:200], rows(Y, 200))
    model = to_onnx(pipe)
    assert [i.name for i in model.graph.input] == ["X"]
    out = run(model, X[200:])
    net = pipe[-1]
    logits = net.forward(pipe[:-1].transform(X[200:]).astype(np.float32))[1]
    proba = {"colour": torch.softmax(logits, dim=1).numpy()}
    check_outputs(
        "Pipeline(ColumnTransformer, regressor), one input X",
        net,
        out,
        None,
        predicted=pipe.predict(X[200:]),
        proba=proba,
    )


def test_pipeline_of_the_estimator_alone_on_frame_columns():
    pytest.importorskip("skl2onnx")
    X, Y = make_tasks(300)
    frame = pd.DataFrame(X, columns=list("abcdef"))
    pipe = make_pipeline(make_clf(max_epochs=3)).fit(frame[:200], rows(Y, 200))
    model = to_onnx(pipe, X=frame.head())  # six (batch, 1) inputs, joined for the network
    assert [i.name for i in model.graph.input] == list("abcdef")
    out = run(model, {c: frame[[c]].to_numpy(np.float32)[200:] for c in frame})
    check_outputs("Pipeline(clf), one input per column", pipe[-1], out, frame[200:])


class ClampedTrunk(nn.Module):
    """A trunk whose ``clamp(max=...)`` exports as a Clip without a lower bound."""

    def __init__(self, in_features):
        super().__init__()
        self.linear = nn.Linear(in_features, 8)

    def forward(self, X):
        return torch.clamp(self.linear(X), max=0.5)


def test_pipeline_embeds_a_custom_trunk_with_an_omitted_onnx_input():
    pytest.importorskip("skl2onnx")
    X, Y = make_tasks(300)
    clf = make_clf(module=ClampedTrunk, max_epochs=3)
    pipe = make_pipeline(StandardScaler(), clf).fit(X[:200], rows(Y, 200))
    alone = to_onnx(pipe[-1])
    assert any(n.op_type == "Clip" and not n.input[1] for n in alone.graph.node)
    out = run(to_onnx(pipe), X[200:])
    check_outputs(
        "Pipeline(StandardScaler, clf(custom trunk with Clip))",
        pipe[-1],
        out,
        None,
        predicted=pipe.predict(X[200:]),
        proba=pipe.predict_proba(X[200:]),
    )


class Doubler(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X) * 2


def test_pipeline_with_unconvertible_step_names_it():
    pytest.importorskip("skl2onnx")
    X, Y = make_tasks(120)
    pipe = make_pipeline(StandardScaler(), Doubler(), make_clf(max_epochs=1)).fit(X, Y)
    with pytest.raises(ValueError, match=r"step 'doubler' \(Doubler\).*StandardScaler"):
        to_onnx(pipe)
    frame = pd.DataFrame({"age": X[:, 0], "city": np.where(X[:, 1] > 0, "a", "b")})
    tabular = make_tabular_pipeline(frame, make_clf(max_epochs=1)).fit(frame, Y)
    with pytest.raises(ValueError, match="'columntransformer > categorical > functiontransformer'"):
        to_onnx(tabular, X=frame.head())


def test_pipeline_steps_that_skl2onnx_converts_differently(monkeypatch):
    pytest.importorskip("skl2onnx")
    import skmtl.io._onnx

    X, Y = make_tasks(120)
    X[::7, 0] = np.nan
    pipe = make_pipeline(SimpleImputer(add_indicator=True), make_clf(max_epochs=1)).fit(X, Y)
    with pytest.raises(ValueError, match="'simpleimputer'.*missing-indicator"):
        to_onnx(pipe)
    # past the check of the steps, the widths of the graph are checked
    monkeypatch.setattr(skmtl.io._onnx, "_unconvertible", lambda step, path: [])
    with pytest.raises(ValueError, match="give 6 columns in ONNX, but it was fitted on 7"):
        to_onnx(pipe)


def test_pipeline_of_an_estimator_on_images():
    pytest.importorskip("skl2onnx")
    X = np.random.default_rng(0).random((64, 1, 8, 8), dtype=np.float32)
    Y = {"bright": X.mean(axis=(1, 2, 3)) > 0.5}
    pipe = make_pipeline(make_clf(module=SmallCNN, max_epochs=1)).fit(X, Y)
    with pytest.raises(ValueError, match=r"N-D samples of shape \(1, 8, 8\)"):
        to_onnx(pipe)


# ----------------------------------------------------------------- the API


def test_writes_the_model_to_path(default_clf, tmp_path):
    path = tmp_path / "penguins.onnx"
    model = to_onnx(default_clf, path)
    assert onnx.load(path) == model
    model_str = to_onnx(default_clf, str(tmp_path / "again.onnx"))
    assert (tmp_path / "again.onnx").read_bytes() == model_str.SerializeToString()


def test_unfitted_estimator_or_pipeline():
    with pytest.raises(NotFittedError):
        to_onnx(make_clf())
    with pytest.raises(NotFittedError):
        to_onnx(make_pipeline(StandardScaler(), MultiTaskRegressor()))


def test_not_a_skmtl_estimator():
    X, Y = make_tasks(60)
    with pytest.raises(TypeError, match=f"to_onnx {TAKES}"):
        to_onnx(LogisticRegression().fit(X, Y["binary"]))
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, Y["binary"])
    with pytest.raises(TypeError, match="Pipeline ending in LogisticRegression"):
        to_onnx(pipe)


def test_missing_onnx_or_skl2onnx_names_the_extra(default_clf, monkeypatch):
    X, Y = make_tasks(60)
    pipe = make_pipeline(StandardScaler(), make_clf(max_epochs=1)).fit(X, Y)
    monkeypatch.setitem(sys.modules, "skl2onnx", None)  # importing it raises ImportError
    with pytest.raises(ImportError, match=r"'skl2onnx'.*pip install skmtl\[onnx\]"):
        to_onnx(pipe)
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"'onnx'.*pip install skmtl\[onnx\]"):
        to_onnx(default_clf)
