"""skmtl.save / skmtl.load: a complete model file that loads without unpickling."""

import json
import os
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler
from support import make_clf, make_tasks
from torch import nn

import skmtl
from skmtl import MultiTaskClassifier, MultiTaskRegressor, make_tabular_pipeline
from skmtl.exceptions import InconsistentVersionWarning

#: What every function that takes a skmtl model says of another estimator.
TAKES = "takes a MultiTaskClassifier, a MultiTaskRegressor or a Pipeline ending in one"

pytest.importorskip("safetensors")


def assert_same_proba(a, b, X):
    pa, pb = a.predict_proba(X), b.predict_proba(X)
    if isinstance(pa, dict):
        assert pa.keys() == pb.keys()
        for task in pa:
            np.testing.assert_array_equal(pa[task], pb[task])
    else:
        np.testing.assert_array_equal(pa, pb)


def roundtrip(obj, tmp_path, **load_kwargs):
    path = tmp_path / "model.skmtl"
    skmtl.save(obj, path)
    return skmtl.load(path, **load_kwargs)


def rewrite(path, edit):
    """Rewrite the archive at ``path`` with ``edit(files) -> files``."""
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    files = edit(files)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)


def edit_config(path, change):
    def edit(files):
        config = json.loads(files["config.json"])
        change(config)
        return {**files, "config.json": json.dumps(config).encode()}

    rewrite(path, edit)


# ------------------------------------------------------------- round trips


def label_kinds(n=120):
    X, Y = make_tasks(n)
    frame = pd.DataFrame(
        {
            "cat": pd.Categorical(Y["colour"], categories=["red", "green", "blue", "violet"]),
            "nullable": pd.array(np.where(Y["binary"] == 1, 7, 3), dtype="Int64"),
            "flag": Y["flag"],
        }
    )
    frame.loc[3, "nullable"] = pd.NA
    return {
        "dict": (X, Y),
        "frame": (pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]), frame),
        "2d": (X, np.column_stack([Y["binary"], Y["flag"].astype(int)])),
        "1d": (X, Y["colour"]),
    }


@pytest.mark.parametrize("kind", ["dict", "frame", "2d", "1d"])
def test_round_trip_predicts_identically_in_the_same_kind(tmp_path, kind):
    X, Y = label_kinds()[kind]
    clf = make_clf().fit(X, Y)
    loaded = roundtrip(clf, tmp_path)
    assert type(loaded) is MultiTaskClassifier
    assert_same_proba(clf, loaded, X)
    predicted, expected = loaded.predict(X), clf.predict(X)
    assert type(predicted) is type(expected)
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(predicted, expected)
        assert predicted["cat"].cat.categories.tolist() == ["red", "green", "blue", "violet"]
    elif isinstance(expected, dict):
        for task in expected:
            np.testing.assert_array_equal(predicted[task], expected[task])
            assert predicted[task].dtype == expected[task].dtype
    else:
        np.testing.assert_array_equal(predicted, expected)
        assert predicted.dtype == expected.dtype
    assert loaded.get_params()["feature_scaling"] == clf.get_params()["feature_scaling"]
    assert len(loaded.history) == len(clf.history)
    assert loaded.score(X, Y) == clf.score(X, Y)


@pytest.mark.parametrize(
    "params",
    [
        {"architecture": "mmoe"},
        {"task_weighting": "uncertainty", "activation": nn.GELU, "feature_scaling": "robust"},
        {"numeric_embedding": None, "feature_scaling": "standard", "hidden_units": (8, 8)},
    ],
)
def test_round_trip_of_other_recipes(tmp_path, params):
    X, Y = make_tasks()
    clf = make_clf(**params).fit(X, Y)
    loaded = roundtrip(clf, tmp_path)
    assert_same_proba(clf, loaded, X)
    for key, value in params.items():
        assert loaded.get_params()[key] == value


def test_round_trip_of_a_regressor(tmp_path):
    X, Y = make_tasks()
    Y = {"a": X[:, 0] * 3 + 1, "b": X[:, 1] - X[:, 2]}
    reg = MultiTaskRegressor(hidden_units=(16,), max_epochs=3, random_state=0).fit(X, Y)
    loaded = roundtrip(reg, tmp_path)
    assert type(loaded) is MultiTaskRegressor
    for task, values in reg.predict(X).items():
        np.testing.assert_array_equal(loaded.predict(X)[task], values)


def test_round_trip_of_a_pipeline_with_a_column_transformer(tmp_path, penguins):
    pytest.importorskip("skops")
    from skmtl.datasets import load_penguins

    frame = load_penguins().frame.dropna(subset=["bill_length_mm"]).reset_index(drop=True)
    X = frame[["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "island"]]
    Y = frame[["species", "sex"]]
    pipe = make_pipeline(
        make_column_transformer(
            (StandardScaler(), ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]),
            (OneHotEncoder(handle_unknown="ignore"), ["island"]),
        ),
        make_clf(),
    ).fit(X, Y)
    loaded = roundtrip(pipe, tmp_path)
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    assert_same_proba(pipe, loaded, X)


def test_the_pipelines_of_the_docs_load_without_trusted(tmp_path):
    # make_tabular_pipeline's (skmtl's own function, a float32 encoder) and a
    # SimpleImputer's (its dtype) hold nothing skops trusts by default
    pytest.importorskip("skops")
    import skops.io

    from skmtl.datasets import load_penguins

    X, Y = load_penguins(return_X_y=True)
    for pipe in (
        make_tabular_pipeline(X, make_clf(max_epochs=1)).fit(X, Y),
        make_pipeline(SimpleImputer(), make_clf(max_epochs=1)).fit(X.select_dtypes("number"), Y),
    ):
        assert "numpy.dtype" in skops.io.get_untrusted_types(data=skops.io.dumps(pipe[:-1]))
        loaded = roundtrip(pipe, tmp_path)
        assert_same_proba(pipe, loaded, X)


def test_a_loaded_model_resumes_training_like_the_saved_one(tmp_path):
    X, Y = make_tasks()
    clf = make_clf(max_epochs=60, patience=2, lr=0.05, early_stopping=True).fit(X, Y)
    assert len(clf.history) < 60
    loaded = roundtrip(clf, tmp_path)
    saved_state = clf.optimizer_.state_dict()["state"]
    for index, values in loaded.optimizer_.state_dict()["state"].items():
        for key, value in values.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(saved_state[index][key]))
    epochs = len(clf.history)
    for model in (clf, loaded):
        model.set_params(max_epochs=3, early_stopping=False).partial_fit(X, Y)
    assert len(loaded.history) == epochs + 3
    assert_same_proba(clf, loaded, X)


def test_without_the_optimizer_the_file_is_smaller_and_still_predicts(tmp_path):
    X, Y = make_tasks()
    clf = make_clf().fit(X, Y)
    skmtl.save(clf, tmp_path / "full.skmtl")
    skmtl.save(clf, tmp_path / "lean.skmtl", optimizer=False)
    assert os.path.getsize(tmp_path / "lean.skmtl") < os.path.getsize(tmp_path / "full.skmtl")
    assert_same_proba(clf, skmtl.load(tmp_path / "lean.skmtl"), X)


# ---------------------------------------------------------- custom trunks


class SmallTrunk(nn.Module):
    def __init__(self, in_features, width=8):
        super().__init__()
        self.layer = nn.Linear(in_features, width)
        self.out_features = width

    def forward(self, X):
        return torch.relu(self.layer(X))


def test_a_custom_trunk_class_needs_the_callers_trust(tmp_path):
    X, Y = make_tasks()
    clf = make_clf(module=SmallTrunk, module__width=12).fit(X, Y)
    path = tmp_path / "custom.skmtl"
    skmtl.save(clf, path)
    with pytest.raises(ValueError, match=r"names 'test_saving\.SmallTrunk' \(for module\)"):
        skmtl.load(path)
    assert_same_proba(clf, skmtl.load(path, trusted=[SmallTrunk]), X)
    assert_same_proba(clf, skmtl.load(path, module=SmallTrunk), X)


def test_a_trunk_instance_is_passed_back_at_load(tmp_path):
    X, Y = make_tasks()
    clf = make_clf(module=SmallTrunk(6, width=10)).fit(X, Y)
    path = tmp_path / "instance.skmtl"
    skmtl.save(clf, path)
    with pytest.raises(ValueError, match=r"module set to an instance of .*SmallTrunk"):
        skmtl.load(path)
    assert_same_proba(clf, skmtl.load(path, module=SmallTrunk(6, width=10)), X)
    with pytest.raises(ValueError, match=r"do not match the network.*other shapes"):
        skmtl.load(path, module=SmallTrunk(6, width=4))


# --------------------------------------------------------------- refusals


@pytest.fixture
def saved(tmp_path):
    X, Y = make_tasks()
    clf = make_clf(numeric_embedding="piecewise_linear").fit(X, Y)
    path = tmp_path / "model.skmtl"
    skmtl.save(clf, path)
    return clf, path, X


@pytest.mark.parametrize(
    "target, where",
    [
        ("estimator", "the estimator"),
        ("optimizer", "optimizer"),
        ("train_split", "train_split"),
    ],
)
def test_a_crafted_class_is_refused_and_nothing_runs(saved, monkeypatch, target, where):
    _, path, _ = saved
    calls = []
    monkeypatch.setattr(os, "system", lambda *a: calls.append(a))

    def craft(config):
        if target == "estimator":
            config["estimator"] = "os.system"
            return
        params = dict(config["params"]["__dict__"])
        evil = {"__object__": "evil_pkg_xyz.Boom", "params": {"__dict__": [["cmd", "rm -rf"]]}}
        params[target] = {"__class__": "os.system"} if target == "optimizer" else evil
        config["params"]["__dict__"] = [[k, v] for k, v in params.items()]

    edit_config(path, craft)
    name = "'os.system'" if target != "train_split" else "'evil_pkg_xyz.Boom'"
    with pytest.raises(ValueError, match=rf"names {name} \(for {where}\).*Nothing"):
        skmtl.load(path)
    assert calls == [] and "evil_pkg_xyz" not in sys.modules


def test_a_crafted_scaler_class_is_refused(saved):
    _, path, _ = saved

    def craft(config):
        config["fitted"]["scaler"]["class"] = "subprocess.Popen"

    edit_config(path, craft)
    with pytest.raises(ValueError, match=r"names 'subprocess\.Popen' \(for feature_scaler_\)"):
        skmtl.load(path)


def test_an_edited_scaler_is_caught_by_the_digest(saved):
    from safetensors.torch import load, save

    _, path, _ = saved

    def edit(files):
        tensors = load(files["model.safetensors"])
        tensors["scaler.quantiles_"] = tensors["scaler.quantiles_"] * 1.01
        return {**files, "model.safetensors": save(tensors)}

    rewrite(path, edit)
    with pytest.raises(ValueError, match="does not match the digest stored with its weights"):
        skmtl.load(path)


def test_an_edited_embedding_choice_is_refused(saved):
    _, path, _ = saved

    def craft(config):
        config["fitted"]["embedded_columns"] = None
        config["params"]["__dict__"] = [
            [k, None if k == "numeric_embedding" else v] for k, v in config["params"]["__dict__"]
        ]

    edit_config(path, craft)
    with pytest.raises(ValueError, match=r"module tensors do not match.*unexpected \['trunk"):
        skmtl.load(path)


def test_a_truncated_tensor_file_is_refused(saved):
    _, path, _ = saved
    rewrite(path, lambda f: {**f, "model.safetensors": f["model.safetensors"][:200]})
    with pytest.raises(ValueError, match="model.safetensors is missing or damaged"):
        skmtl.load(path)


def test_a_tensor_of_another_shape_is_refused(saved):
    from safetensors.torch import load, save

    _, path, _ = saved

    def edit(files):
        tensors = load(files["model.safetensors"])
        key = next(k for k in tensors if k.endswith("heads.0.weight"))
        tensors[key] = torch.zeros(tensors[key].shape[0] + 1, tensors[key].shape[1])
        return {**files, "model.safetensors": save(tensors)}

    rewrite(path, edit)
    with pytest.raises(ValueError, match=r"module tensors do not match.*\['heads\.0\.weight"):
        skmtl.load(path)


@pytest.mark.parametrize("content", [b"", b"not a zip at all"])
def test_a_file_that_is_not_a_model_file_is_refused(tmp_path, content):
    path = tmp_path / "bad.skmtl"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="is not a skmtl model file"):
        skmtl.load(path)


def halve(X):
    return X / 2


def test_an_untrusted_pipeline_step_is_refused(tmp_path):
    pytest.importorskip("skops")
    X, Y = make_tasks()
    pipe = make_pipeline(FunctionTransformer(halve), make_clf()).fit(X, Y)
    path = tmp_path / "pipe.skmtl"
    skmtl.save(pipe, path)
    with pytest.raises(ValueError, match=r"types that skops does not trust.*test_saving\.halve"):
        skmtl.load(path)
    assert_same_proba(pipe, skmtl.load(path, trusted=[halve]), X)


def test_an_unfitted_or_foreign_object_is_not_saved(tmp_path):
    from sklearn.exceptions import NotFittedError
    from sklearn.linear_model import LogisticRegression

    with pytest.raises(NotFittedError):
        skmtl.save(make_clf(), tmp_path / "x.skmtl")
    with pytest.raises(TypeError, match=f"skmtl.save {TAKES}"):
        skmtl.save(LogisticRegression(), tmp_path / "x.skmtl")


# ----------------------------------------------------- devices and versions


def test_a_file_saved_for_cuda_loads_on_the_cpu(saved):
    if torch.cuda.is_available():
        pytest.skip("needs a machine without CUDA")
    clf, path, X = saved

    def craft(config):
        config["params"]["__dict__"] = [
            [k, "cuda" if k == "device" else v] for k, v in config["params"]["__dict__"]
        ]

    edit_config(path, craft)
    with pytest.warns(UserWarning, match="device='cuda', which is not available"):
        loaded = skmtl.load(path)
    assert str(loaded.device) == "cpu"
    assert_same_proba(clf, loaded, X)


def test_another_version_warns_with_both(saved):
    clf, path, X = saved
    edit_config(path, lambda config: config["versions"].update(skmtl="0.0.1"))
    with pytest.warns(InconsistentVersionWarning, match=r"from skmtl 0\.0\.1 when using skmtl"):
        loaded = skmtl.load(path)
    assert_same_proba(clf, loaded, X)
