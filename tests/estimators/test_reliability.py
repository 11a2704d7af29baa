"""No silent wrong answers: divergence, resumed runs, params files, pickles,
pandas label arrays, and the errors a new user meets first."""

import io
import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import InconsistentVersionWarning as SklearnVersionWarning
from skorch.callbacks import Callback, Checkpoint, ProgressBar
from support import StopAfter, exactly, make_clf, make_tasks

import skmtl
import skmtl.training._callbacks
from skmtl import MultiTaskClassifier
from skmtl.exceptions import DivergenceWarning, InconsistentVersionWarning


def weights(clf) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in clf.module_.parameters()])


def all_finite(proba: dict) -> bool:
    return all(np.isfinite(p).all() and np.allclose(p.sum(axis=1), 1) for p in proba.values())


# ------------------------------------------------------------------ divergence


class PoisonHead(Callback):
    """Turn one task's head to NaN at a given epoch and batch (a diverging task)."""

    def __init__(self, epoch, batch=1, head=0, at_epoch_end=False):
        self.epoch, self.batch, self.head, self.at_epoch_end = epoch, batch, head, at_epoch_end

    def initialize(self):
        self.kept_ = {}
        return super().initialize()

    def _poison(self, net):
        with torch.no_grad():
            net.module_.heads[self.head].weight.fill_(float("nan"))

    def on_batch_begin(self, net, training=False, **kwargs):
        batches = sum("train_loss" in b for b in net.history[-1]["batches"])
        if training and not self.at_epoch_end and len(net.history) == self.epoch:
            if batches + 1 == self.batch:
                self._poison(net)

    def on_epoch_end(self, net, **kwargs):
        self.kept_[len(net.history)] = weights(net).clone()
        if self.at_epoch_end and len(net.history) == self.epoch:
            self._poison(net)


def test_lr_1e6_stops_with_a_warning_and_still_predicts_sanely(tasks_data):
    X, Y = tasks_data
    clf = make_clf(lr=1e6, max_epochs=20, feature_scaling=None, numeric_embedding=None)
    with pytest.warns(DivergenceWarning, match=r"Training diverged in epoch \d+: the loss"):
        clf.fit(X, Y)
    assert clf.stopped_reason_.startswith("Training diverged in epoch")
    assert "Lower lr (now 1000000.0)" in clf.stopped_reason_
    assert len(clf.history) < 20
    assert torch.isfinite(weights(clf)).all()
    assert all_finite(clf.predict_proba(X))


def test_divergence_names_the_task_and_restores_the_last_finite_epoch(tasks_data):
    X, Y = tasks_data
    poison = PoisonHead(epoch=3, batch=2, head=1)
    clf = make_clf(max_epochs=6, callbacks=[poison], train_split=None)
    with pytest.warns(DivergenceWarning) as record:
        clf.fit(X, Y)
    message = str(record[0].message)
    assert message == clf.stopped_reason_
    assert "epoch 3: the loss of task(s) ['colour'] is nan in train batch 2" in message
    assert "restored to the end of epoch 2" in message
    assert torch.equal(weights(clf), poison.kept_[2])
    assert len(clf.history) == 3
    assert all_finite(clf.predict_proba(X))
    # the optimizer starts afresh, so training can go on
    clf.set_params(callbacks=[])
    clf.partial_fit(X, Y)
    assert torch.isfinite(weights(clf)).all() and clf.stopped_reason_ is None


def test_divergence_in_the_first_epoch_restores_the_initial_weights(tasks_data):
    X, Y = tasks_data
    start = weights(make_clf(max_epochs=0).fit(X, Y))
    clf = make_clf(max_epochs=3, callbacks=[PoisonHead(epoch=1, batch=1)])
    with pytest.warns(DivergenceWarning, match="restored to where training started"):
        clf.fit(X, Y)
    assert torch.equal(weights(clf), start)


def test_weights_gone_non_finite_at_an_epochs_end_are_caught(tasks_data):
    X, Y = tasks_data
    poison = PoisonHead(epoch=2, at_epoch_end=True)
    clf = make_clf(max_epochs=2, callbacks=[poison], train_split=None)
    with pytest.warns(DivergenceWarning, match="weights are no longer finite"):
        clf.fit(X, Y)
    assert torch.equal(weights(clf), poison.kept_[2])  # as they were before the poison


def test_a_normal_fit_has_no_stopped_reason(tasks_data):
    X, Y = tasks_data
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        clf = make_clf().fit(X, Y)
    assert clf.stopped_reason_ is None


# ------------------------------------------------------- resume reproduces


def _full_and_resumed(tmp_path, X, Y, **params):
    params = dict(max_epochs=6, dropout=0.2, lr_schedule=None, **params)
    full = make_clf(**params).fit(X, Y)
    checkpoint = Checkpoint(dirname=str(tmp_path), monitor=None)
    make_clf(**{**params, "max_epochs": 3}, callbacks=[checkpoint]).fit(X, Y)
    resumed = make_clf(**{**params, "max_epochs": 0}).fit(X, Y)
    resumed.load_params(checkpoint=checkpoint)
    resumed.set_params(max_epochs=3).partial_fit(X, Y)
    return full, resumed


@pytest.mark.parametrize("train_split", ["default", None])
def test_checkpoint_resume_is_bit_for_bit(tasks_data, tmp_path, train_split):
    X, Y = tasks_data
    extra = {} if train_split == "default" else {"train_split": None}
    full, resumed = _full_and_resumed(tmp_path, X, Y, early_stopping=False, **extra)
    assert len(resumed.history) == 6
    assert torch.equal(weights(full), weights(resumed))


@pytest.mark.parametrize(
    "speed",
    [
        {"fused_optimizer": False, "mixed_precision": False},
        {"fused_optimizer": True, "mixed_precision": False},
        {"fused_optimizer": True, "mixed_precision": True},
    ],
    ids=["plain", "fused", "fused-bf16"],
)
def test_resume_is_bit_for_bit_with_each_speed_setting(tasks_data, tmp_path, speed):
    X, Y = tasks_data
    full, resumed = _full_and_resumed(tmp_path, X, Y, train_split=None, **speed)
    assert bool(full.optimizer_.defaults.get("fused")) == speed["fused_optimizer"]
    assert torch.equal(weights(full), weights(resumed))


def test_warm_start_resume_is_bit_for_bit(tasks_data):
    X, Y = tasks_data
    # a constant rate: two warm fits of 3 epochs are one of 6
    full = make_clf(max_epochs=6, dropout=0.2, lr_schedule=None).fit(X, Y)
    warm = make_clf(max_epochs=3, dropout=0.2, lr_schedule=None, warm_start=True)
    assert torch.equal(weights(full), weights(warm.fit(X, Y).fit(X, Y)))
    # the default decay: a fit of 6 interrupted after 3, then resumed warm for 3
    full = make_clf(max_epochs=6, dropout=0.2).fit(X, Y)
    cut = make_clf(max_epochs=6, dropout=0.2, warm_start=True, callbacks=[("cut", StopAfter(3))])
    cut.fit(X, Y)
    cut.set_params(max_epochs=3, callbacks=None).fit(X, Y)
    assert len(cut.history) == 6
    assert torch.equal(weights(full), weights(cut))


def test_epoch_seeding_leaves_the_callers_random_state_alone(tasks_data):
    X, Y = tasks_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    make_clf(max_epochs=2).fit(X, Y)
    assert torch.equal(torch.rand(3), expected)


# ------------------------------------------------------------- params files


def test_params_round_trip_into_the_same_fit(tasks_data, tmp_path):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    clf.save_params(f_params=tmp_path / "p.pt")
    twin = make_clf(max_epochs=0).fit(X, Y)
    twin.load_params(f_params=tmp_path / "p.pt")
    for task, proba in clf.predict_proba(X).items():
        np.testing.assert_array_equal(twin.predict_proba(X)[task], proba)


def test_a_bags_params_load_into_a_bag_built_without_training(tasks_data, tmp_path):
    # the default on a small table is a bag; a model of one network is told
    # how to build one, and left as it was
    X, Y = tasks_data
    bag = MultiTaskClassifier(hidden_units=(16,), patience=2, random_state=0).fit(X, Y)
    assert bag.bag_size_ == 5
    bag.save_params(f_params=tmp_path / "bag.pt")
    one = MultiTaskClassifier(hidden_units=(16,), random_state=0, max_epochs=0).fit(X, Y)
    before = one.predict_proba(X)
    msg = (
        "The params file holds a bag of 5 networks, but this estimator's model is one network "
        "(bag_folds). Build it with clf.set_params(max_epochs=0, bag_folds=5).fit(X, Y) on "
        "the same data, then load_params."
    )
    with pytest.raises(ValueError, match=exactly(msg)):
        one.load_params(f_params=tmp_path / "bag.pt")
    for task, proba in before.items():
        np.testing.assert_array_equal(one.predict_proba(X)[task], proba)
    # the reverse, and bags of two sizes
    one.save_params(f_params=tmp_path / "one.pt")
    three = MultiTaskClassifier(hidden_units=(16,), max_epochs=0, bag_folds=3).fit(X, Y)
    cases = [("one.pt", "one network", "None"), ("bag.pt", "a bag of 5 networks", "5")]
    for path, holds, build in cases:
        msg = (
            f"The params file holds {holds}, but this estimator's model is a bag of 3 "
            f"networks (bag_folds). Build it with clf.set_params(max_epochs=0, bag_folds={build})"
        )
        with pytest.raises(ValueError, match=re.escape(msg)):
            three.load_params(f_params=tmp_path / path)
    one.set_params(bag_folds=5).fit(X, Y).load_params(f_params=tmp_path / "bag.pt")
    for task, proba in bag.predict_proba(X).items():
        np.testing.assert_array_equal(one.predict_proba(X)[task], proba)


def _fit_on_other_rows(X, Y, **params):
    rows = slice(0, 120)
    Y_half = {task: labels[rows] for task, labels in Y.items()}
    return make_clf(max_epochs=1, **params).fit(X[rows] * 3 + 1, Y_half)


def test_params_from_a_fit_on_other_rows_are_refused(tasks_data, tmp_path):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    clf.save_params(f_params=tmp_path / "p.pt")
    other = _fit_on_other_rows(X, Y)  # another fitted quantile scaler
    before = other.predict_proba(X)
    with pytest.raises(ValueError, match="saved from a model fitted on other data"):
        other.load_params(f_params=tmp_path / "p.pt")
    for task, proba in before.items():  # left as it was
        np.testing.assert_array_equal(other.predict_proba(X)[task], proba)


def test_params_load_where_predict_depends_on_the_weights_only(tasks_data, tmp_path):
    X, Y = tasks_data
    params = dict(feature_scaling=None, numeric_embedding=None)
    clf = make_clf(**params).fit(X, Y)
    clf.save_params(f_params=tmp_path / "p.pt")
    other = _fit_on_other_rows(X, Y, **params)  # same tasks, classes, no scaler
    other.load_params(f_params=tmp_path / "p.pt")
    for task, proba in clf.predict_proba(X).items():
        np.testing.assert_array_equal(other.predict_proba(X)[task], proba)


@pytest.mark.parametrize("content", [b"", b"truncated"])
def test_an_empty_or_truncated_params_file_is_a_clear_error(tasks_data, tmp_path, content):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    good = io.BytesIO()
    clf.save_params(f_params=good)
    path = tmp_path / "bad.pt"
    path.write_bytes(good.getvalue()[: len(content) * 40] if content else b"")
    before = weights(clf).clone()
    with pytest.raises(ValueError, match=r"Could not load the params file\(s\) .*bad.pt"):
        clf.load_params(f_params=path)
    assert torch.equal(weights(clf), before)


def test_a_params_file_without_the_digest_is_refused(tasks_data, tmp_path):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    state = {k: v for k, v in clf.module_.state_dict().items() if k != "fit_digest"}
    torch.save(state, tmp_path / "old.pt")
    with pytest.raises(ValueError, match="holds no fit digest"):
        clf.load_params(f_params=tmp_path / "old.pt")


def test_a_missing_params_file_keeps_its_own_error(tasks_data, tmp_path):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    with pytest.raises(FileNotFoundError):
        clf.load_params(f_params=tmp_path / "nowhere.pt")


# ----------------------------------------------------------------- pickles


def test_a_pickle_from_another_version_warns_with_both(tasks_data, monkeypatch):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SklearnVersionWarning)
        same = pickle.loads(pickle.dumps(clf))  # same version: no warning
    assert "_skmtl_version" not in vars(same)
    monkeypatch.setattr(skmtl._version, "__version__", "0.0.1")
    blob = pickle.dumps(clf)
    monkeypatch.undo()
    with pytest.warns(InconsistentVersionWarning) as record:
        loaded = pickle.loads(blob)
    message = str(record[0].message)
    assert f"from skmtl 0.0.1 when using skmtl {skmtl.__version__}" in message
    assert issubclass(InconsistentVersionWarning, SklearnVersionWarning)
    for task, proba in clf.predict_proba(X).items():
        np.testing.assert_array_equal(loaded.predict_proba(X)[task], proba)


def test_a_pickle_made_on_cuda_loads_on_the_cpu(tasks_data, monkeypatch):
    """A CUDA pickle, simulated: while pickling, torch tags every storage as
    on cuda:0 (as on a GPU machine), except the copies that skmtl's callbacks
    move to the CPU themselves. Loading on this CPU-only machine must work."""
    if torch.cuda.is_available():
        pytest.skip("simulates a machine without CUDA")
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    expected = clf.predict_proba(X)
    on_cpu = set()

    def to_cpu(value):
        if isinstance(value, torch.Tensor):
            value = value.clone()
            on_cpu.add(value.untyped_storage().data_ptr())
        elif isinstance(value, dict):
            value = {k: to_cpu(v) for k, v in value.items()}
        return value

    def tag(storage):
        return "cpu" if storage.data_ptr() in on_cpu else "cuda:0"

    monkeypatch.setattr(skmtl.training._callbacks, "_on_cpu", to_cpu)
    registry = list(torch.serialization._package_registry)
    monkeypatch.setattr(torch.serialization, "_package_registry", registry)
    torch.serialization.register_package(0, tag, lambda obj, location: None)
    clf.set_params(device="cuda")
    blob = pickle.dumps(clf)
    monkeypatch.undo()
    assert b"cuda:0" in blob and on_cpu  # the weights really are tagged as on CUDA
    with pytest.warns(UserWarning, match="no CUDA devices are available"):
        loaded = pickle.loads(blob)
    assert str(loaded.device) == "cpu"
    for task, proba in expected.items():
        np.testing.assert_array_equal(loaded.predict_proba(X)[task], proba)
    loaded.partial_fit(X, Y)  # and it trains on


# ------------------------------------------------------ pandas label arrays


def test_a_1d_categorical_keeps_its_declared_categories_and_order():
    X, _ = make_tasks(80)
    labels = np.where(X[:, 0] > 0, "hi", "lo")
    y = pd.Categorical(labels, categories=["lo", "hi", "unused"])
    from_array = make_clf().fit(X, y)
    from_series = make_clf().fit(X, pd.Series(y))
    assert from_array.classes_.tolist() == ["lo", "hi", "unused"]
    np.testing.assert_array_equal(from_array.predict_proba(X), from_series.predict_proba(X))
    assert from_array.predict_proba(X).shape == (80, 3)


def test_a_1d_nullable_int_array_predicts_ints():
    X, _ = make_tasks(80)
    y = pd.array(np.where(X[:, 0] > 0, 2, 3), dtype="Int64")
    y[5] = None
    with pytest.warns(UserWarning, match="Dropped 1 row"):
        clf = make_clf().fit(X, y)
    predicted = clf.predict(X)
    assert isinstance(predicted, np.ndarray) and predicted.dtype == np.int64
    assert set(predicted.tolist()) <= {2, 3}


# ------------------------------------------------------------ ProgressBar


def test_progress_bar_counts_the_batches_at_the_default_batch_size(tasks_data):
    X, Y = tasks_data
    bar = ProgressBar()
    clf = make_clf(batch_size="auto", max_epochs=2, callbacks=[bar]).fit(X, Y)
    batches = len(clf.history[-1]["batches"])
    assert bar.pbar_.total == batches and bar.pbar_.n == batches
    params = clf.get_params()
    assert params["batch_size"] == "auto" and "iterator_train__batch_size" not in params


def test_progress_bar_keeps_an_explicit_iterator_batch_size(tasks_data):
    X, Y = tasks_data
    bar = ProgressBar()
    clf = make_clf(batch_size="auto", iterator_train__batch_size=48, callbacks=[bar])
    clf.fit(X, Y)
    assert clf.get_params()["iterator_train__batch_size"] == 48
    train_batches = sum("train_loss" in b for b in clf.history[-1]["batches"])
    assert train_batches == int(np.ceil(192 / 48))


# ---------------------------------------------------------------- errors


def test_float_labels_name_the_task_and_task_types():
    X, _ = make_tasks(40)
    y = {"dose": np.tile([0.5, 1.5, 2.25, 0.75], 10)}
    with pytest.raises(ValueError, match=r"continuous labels in task 'dose'.*task_types="):
        make_clf().fit(X, y)


def test_a_transposed_y_is_named_as_such():
    X, Y = make_tasks(60)
    Y2 = np.column_stack([Y["binary"], Y["flag"].astype(int)])
    with pytest.raises(ValueError, match=r"Y has shape \(2, 60\).*looks transposed.*Y\.T"):
        make_clf().fit(X, Y2.T)


def test_a_task_with_1000_classes_in_2000_rows_warns():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    with pytest.warns(UserWarning, match=r"'task_0' has 1000 classes for 2000 labelled rows"):
        make_clf(max_epochs=1).fit(X, np.arange(2000) % 1000)


def test_extreme_finite_x_is_handled_by_the_default_scaling(tasks_data):
    X, Y = tasks_data
    huge = X.copy()
    huge[:, 0] *= 1e30  # quantile scaling depends on the order of the values only
    plain = make_clf(numeric_embedding=None).fit(X, Y).predict_proba(X)
    scaled = make_clf(numeric_embedding=None).fit(huge, Y).predict_proba(huge)
    for task, proba in plain.items():
        np.testing.assert_allclose(scaled[task], proba, atol=1e-5)


def test_unscaled_extreme_x_warns_and_beyond_float32_is_refused(tasks_data):
    X, Y = tasks_data
    huge = X.copy()
    huge[:, 0] *= 1e30
    with pytest.warns(UserWarning, match="magnitude up to .*e\\+30 and is not scaled"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DivergenceWarning)
            make_clf(feature_scaling=None, numeric_embedding=None).fit(huge, Y)
    huge[:, 0] = 1e39
    with pytest.raises(ValueError, match="too large for float32"):
        make_clf().fit(huge, Y)


# ------------------------------------------------------------------ faults


class Interrupt(Callback):
    def on_batch_end(self, net, training=False, **kwargs):
        if training and len(net.history) == 2 and len(net.history[-1]["batches"]) == 3:
            raise KeyboardInterrupt


def test_keyboard_interrupt_mid_fit_leaves_a_usable_estimator(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=5, callbacks=[Interrupt()]).fit(X, Y)
    assert len(clf.history) == 2
    assert all_finite(clf.predict_proba(X))
    assert 0 <= clf.score(X, Y) <= 1
    clf.set_params(callbacks=[]).partial_fit(X, Y)
    assert len(clf.history) == 7


def test_predict_from_four_threads_equals_serial(tasks_data):
    from concurrent.futures import ThreadPoolExecutor

    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    chunks = np.array_split(np.arange(len(X)), 8)
    serial = [clf.predict_proba(X[rows]) for rows in chunks]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda rows: clf.predict_proba(X[rows]), chunks))
    for one, other in zip(serial, threaded, strict=True):
        for task in one:
            np.testing.assert_array_equal(one[task], other[task])


@pytest.mark.soak
def test_200_fit_predict_cycles_do_not_grow_memory(tasks_data):
    import gc
    import resource

    X, Y = tasks_data

    def cycle():
        clf = MultiTaskClassifier(hidden_units=(16,), max_epochs=1, random_state=0).fit(X, Y)
        clf.predict_proba(X)

    for _ in range(20):  # warm up allocators and caches
        cycle()
    gc.collect()
    start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for _ in range(200):
        cycle()
    gc.collect()
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - start) / 1024
    assert grown_mb < 50, f"peak RSS grew by {grown_mb:.0f} MB over 200 cycles"


def test_rows_mixing_strings_and_nan_keep_nan_as_missing():
    X, _ = make_tasks(8)
    Y = [["x", 0.0], ["y", np.nan], ["x", 1.0], ["y", 0.0]] * 2
    clf = make_clf(max_epochs=1).fit(X, Y)
    assert clf.classes_["task_0"].tolist() == ["x", "y"]
    assert clf.classes_["task_1"].tolist() == [0.0, 1.0]  # no class "nan"


def test_log_loss_of_a_task_on_rows_lacking_one_of_its_classes_is_finite(tasks_data):
    from sklearn.metrics import log_loss

    from skmtl import task_scorer

    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    rows = np.flatnonzero(Y["colour"] != "red")[:20]
    score = task_scorer("colour", "neg_log_loss")(clf, X[rows], {"colour": Y["colour"][rows]})
    proba = clf.predict_proba(X[rows])["colour"]
    expected = log_loss(Y["colour"][rows], proba, labels=clf.classes_["colour"])
    assert score == pytest.approx(-expected)


def test_one_labelled_row_with_declared_classes_fits_without_a_validation_set():
    # the default split leaves no validation rows: the recipe's callbacks stand still
    clf = MultiTaskClassifier(max_epochs=2).fit(
        np.zeros((1, 2)), pd.Categorical(["a"], categories=["a", "b"])
    )
    assert len(clf.history) == 2 and "valid_acc" not in clf.history[-1]
    assert set(clf.predict(np.zeros((3, 2)))) <= {"a", "b"}


def test_an_int32_column_with_fixed_classes_predicts_int32():
    X, _ = make_tasks(40)
    Y = pd.DataFrame({"t": np.array([1, 7] * 20, dtype=np.int32)})
    clf = make_clf(max_epochs=1, classes={"t": [1, 7]}).fit(X, Y)
    assert clf.predict(X)["t"].dtype == np.int32


def test_a_dict_list_of_strings_with_nan_keeps_nan_missing():
    X, _ = make_tasks(40)
    with pytest.warns(UserWarning, match="Dropped 10 row"):
        clf = make_clf(max_epochs=1).fit(X, {"t": ["a", np.nan, "b", "a"] * 10})
    assert clf.classes_["t"].tolist() == ["a", "b"]


def test_a_2d_string_y_predicts_fixed_classes_longer_than_its_labels_whole():
    X, _ = make_tasks(40)
    Y = np.array([["a", "x"], ["b", "y"]] * 20)
    clf = make_clf(max_epochs=1, classes={"task_0": ["a", "b", "other"]}).fit(X, Y)
    decoded = clf.target_encoder_.decode(np.array([[2, 0]]))
    assert decoded.tolist() == [["other", "x"]]
