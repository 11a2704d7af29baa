"""CUDA code paths; skipped cleanly on machines without a CUDA device."""

import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import torch
from support import make_clf

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def test_auto_device_trains_on_cuda(tasks_data):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    assert clf.device == "cuda"
    assert all(p.is_cuda for p in clf.module_.parameters())
    proba = clf.predict_proba(X)
    assert isinstance(proba["colour"], np.ndarray)
    assert clf.score(X, Y) > 0.5


def test_cuda_and_cpu_training_agree_closely(tasks_data):
    X, Y = tasks_data
    gpu = make_clf(device="cuda", max_epochs=3).fit(X, Y).predict_proba(X)["colour"]
    cpu = make_clf(device="cpu", max_epochs=3).fit(X, Y).predict_proba(X)["colour"]
    np.testing.assert_allclose(gpu, cpu, atol=1e-3)


def test_cuda_pickle_loads_and_predicts_on_cpu_only_process(tasks_data, tmp_path):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "proba.npy", clf.predict_proba(X)["colour"])
    script = textwrap.dedent(
        f"""
        import pickle, warnings
        import numpy as np, torch
        assert not torch.cuda.is_available()
        clf = pickle.loads(open({str(path)!r}, "rb").read())
        assert clf.device == "cpu", clf.device
        assert clf.get_params()["device"] == "auto"
        got = clf.predict_proba(np.load({str(tmp_path / "X.npy")!r}))["colour"]
        np.testing.assert_allclose(got, np.load({str(tmp_path / "proba.npy")!r}), atol=1e-4)
        print("OK")
        """
    )
    env = {"CUDA_VISIBLE_DEVICES": "", "PATH": ""}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "OK"


def test_explicit_cuda_model_falls_back_to_cpu_on_load(tasks_data, tmp_path):
    X, Y = tasks_data
    clf = make_clf(device="cuda").fit(X, Y)
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(clf))
    script = (
        "import pickle, numpy as np, warnings\n"
        f"clf = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "assert clf.device == 'cpu'\n"
        f"print(clf.predict(np.zeros((2, {X.shape[1]}))) is not None)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env={"CUDA_VISIBLE_DEVICES": ""},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"


def test_fast_path_on_cuda_keeps_data_on_device(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y)
    data = clf.get_dataset(X.astype(np.float32))
    assert data.X.is_cuda
    assert clf.optimizer_.defaults["fused"] is True
    out = clf.infer(data.X[:4])
    assert out[0].dtype == (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float32)


def test_cuda_fast_path_matches_skorch_path_closely(tasks_data):
    X, Y = tasks_data
    params = dict(
        train_split=None,
        iterator_train__shuffle=False,
        max_epochs=1,
        mixed_precision=False,
        fused_optimizer=False,
    )
    fast = make_clf(**params).fit(X, Y).predict_proba(X)["colour"]
    slow = make_clf(data_on_device=False, **params).fit(X, Y).predict_proba(X)["colour"]
    np.testing.assert_allclose(fast, slow, atol=1e-5)


def test_cuda_model_file_loads_on_the_cpu(tasks_data, tmp_path):
    pytest.importorskip("safetensors")
    import skmtl

    X, Y = tasks_data
    clf = make_clf(device="cuda").fit(X, Y)
    skmtl.save(clf, tmp_path / "model.skmtl")
    loaded = skmtl.load(tmp_path / "model.skmtl", device="cpu")
    assert all(not p.is_cuda for p in loaded.module_.parameters())
    for task, proba in clf.predict_proba(X).items():
        np.testing.assert_allclose(loaded.predict_proba(X)[task], proba, atol=1e-5)


def test_divergence_on_cuda_restores_finite_weights(tasks_data):
    from skmtl.exceptions import DivergenceWarning

    X, Y = tasks_data
    clf = make_clf(device="cuda", lr=1e6, max_epochs=10, feature_scaling=None)
    with pytest.warns(DivergenceWarning, match="Training diverged in epoch"):
        clf.fit(X, Y)
    assert all(torch.isfinite(p).all() for p in clf.module_.parameters())
    assert all(np.isfinite(p).all() for p in clf.predict_proba(X).values())


def test_dropout_on_cuda_is_torchs_own():
    from skmtl.nn import Dropout

    x = torch.ones(256, 512, device="cuda")
    torch.manual_seed(3)
    mine = Dropout(0.25).train()(x)
    torch.manual_seed(3)
    theirs = torch.nn.functional.dropout(x, 0.25, training=True)
    assert torch.equal(mine, theirs)


def test_packed_search_packs_on_cuda(tasks_data):
    from sklearn.model_selection import GridSearchCV

    from skmtl.model_selection import PackedGridSearchCV

    X, Y = tasks_data[0], pd.DataFrame(tasks_data[1])
    est = make_clf(device="cuda", max_epochs=4)
    grid = {"lr": [3e-3, 3e-2], "dropout": [0.0, 0.2]}
    packed = PackedGridSearchCV(est, grid, cv=3).fit(X, Y)
    plain = GridSearchCV(est, grid, cv=3).fit(X, Y)
    assert packed.packed_.all()
    assert all(p.is_cuda for p in packed.best_estimator_.module_.parameters())
    gap = np.abs(packed.cv_results_["mean_test_score"] - plain.cv_results_["mean_test_score"])
    assert gap.mean() < 0.05


def test_packed_search_with_bf16_autocast_on_cuda(tasks_data):
    from skmtl.model_selection import PackedGridSearchCV

    if not torch.cuda.is_bf16_supported():
        pytest.skip("needs bf16 on the GPU")
    X, Y = tasks_data[0], pd.DataFrame(tasks_data[1])
    est = make_clf(device="cuda", max_epochs=3, mixed_precision=True)
    search = PackedGridSearchCV(est, {"lr": [3e-3, 3e-2]}, cv=3).fit(X, Y)
    assert search.packed_.all()
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_a_bag_fits_and_predicts_on_cuda(tasks_data):
    from skmtl import MultiTaskClassifier
    from skmtl.nn import BaggedModule

    X, Y = tasks_data
    clf = MultiTaskClassifier(device="cuda", hidden_units=(16,), patience=2, random_state=0)
    clf.fit(X, Y)
    assert type(clf.module_) is BaggedModule and clf.bag_size_ == 5
    assert all(p.is_cuda for p in clf.module_.parameters())
    for proba in clf.predict_proba(X).values():
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
