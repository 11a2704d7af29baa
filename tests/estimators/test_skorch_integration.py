"""What a skorch user knows keeps working through MultiTaskClassifier."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch import NeuralNet
from skorch.callbacks import Checkpoint, EarlyStopping, LoadInitState, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit
from support import exactly, make_clf

from skmtl import MultiTaskClassifier, MultiTaskValidSplit


def test_is_a_skorch_neuralnet():
    assert issubclass(MultiTaskClassifier, NeuralNet)


def test_early_stopping_stops_training(tasks_data):
    X, Y = tasks_data
    # a threshold no epoch can beat makes the stop deterministic
    stop = EarlyStopping(monitor="valid_loss", patience=2, threshold=1e9)
    clf = make_clf(max_epochs=20, callbacks=[stop]).fit(X, Y)
    assert len(clf.history) == 3


def test_early_stopping_on_validation_accuracy(tasks_data):
    X, Y = tasks_data
    stop = EarlyStopping(monitor="valid_acc", lower_is_better=False, patience=1, threshold=1e9)
    clf = make_clf(max_epochs=20, callbacks=[stop]).fit(X, Y)
    assert len(clf.history) == 2


def test_checkpoint_and_load_params_restore_best_weights(tasks_data, tmp_path):
    X, Y = tasks_data
    cp = Checkpoint(dirname=tmp_path, monitor="valid_loss_best")
    clf = make_clf(max_epochs=6, callbacks=[cp]).fit(X, Y)
    assert (tmp_path / "params.pt").exists()
    best_epoch = max(i for i, row in enumerate(clf.history) if row["valid_loss_best"])
    saved = torch.load(tmp_path / "params.pt", weights_only=True)
    with torch.no_grad():  # spoil the weights
        for param in clf.module_.parameters():
            param.add_(1.0)
    clf.load_params(checkpoint=cp)
    for name, value in clf.module_.state_dict().items():
        assert torch.equal(value, saved[name]), name
    assert clf.history[best_epoch, "event_cp"] is True


def test_load_init_state_resumes_from_checkpoint(tasks_data, tmp_path):
    X, Y = tasks_data
    cp = Checkpoint(dirname=tmp_path, monitor=None)
    first = make_clf(max_epochs=2, callbacks=[cp]).fit(X, Y)
    resumed = make_clf(max_epochs=2, callbacks=[cp, LoadInitState(cp)]).fit(X, Y)
    # resumed continues from the saved history instead of starting over
    assert len(resumed.history) == len(first.history) + 2


def test_lr_scheduler_updates_learning_rate(tasks_data):
    X, Y = tasks_data
    sched = LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=1, gamma=0.5)
    clf = make_clf(lr=0.04, max_epochs=3, callbacks=[sched]).fit(X, Y)
    # the user's scheduler alone sets the rate: the recipe's decay steps aside
    assert clf.optimizer_.param_groups[0]["lr"] == pytest.approx(0.04 * 0.5**3)
    assert "lr_scheduler" not in dict(clf.callbacks_)


@pytest.mark.parametrize("shape", ["linear", "cosine"])
def test_a_new_lr_starts_the_decay_of_a_warm_fit_and_a_partial_fit(tasks_data, shape):
    # set_params(lr=...) between fits is the rate training goes on at (it kept
    # the first fit's); without a change the decay starts from the same rate
    X, Y = tasks_data
    clf = make_clf(lr_schedule=shape, warm_start=True, max_epochs=2, lr=0.01).fit(X, Y)
    assert clf.history[:, "event_lr"] == pytest.approx([0.01, 0.005])  # both shapes halve
    clf.fit(X, Y)
    assert clf.history[-2:, "event_lr"] == pytest.approx([0.01, 0.005])
    clf.set_params(lr=0.5).fit(X, Y)
    assert clf.history[-2:, "event_lr"] == pytest.approx([0.5, 0.25])
    clf.set_params(optimizer__lr=0.3).partial_fit(X, Y)
    assert clf.history[-2:, "event_lr"] == pytest.approx([0.3, 0.15])


def test_progress_bar_reports_batches(tasks_data, capsys):
    X, Y = tasks_data
    make_clf(max_epochs=1, callbacks=[ProgressBar()]).fit(X, Y)
    err = capsys.readouterr().err
    assert "train_loss" in err or "it/s" in err or "%" in err


def test_optimizer_and_its_params(tasks_data):
    X, Y = tasks_data
    clf = make_clf(optimizer=torch.optim.SGD, optimizer__momentum=0.9, lr=0.05).fit(X, Y)
    assert isinstance(clf.optimizer_, torch.optim.SGD)
    assert clf.optimizer_.param_groups[0]["momentum"] == 0.9


def test_optimizer_weight_decay_and_adam_default(tasks_data):
    X, Y = tasks_data
    clf = make_clf(optimizer__weight_decay=1e-3, max_epochs=1).fit(X, Y)
    assert isinstance(clf.optimizer_, torch.optim.Adam)
    assert clf.optimizer_.param_groups[0]["weight_decay"] == 1e-3


def test_iterator_train_params(tasks_data):
    X, Y = tasks_data
    clf = make_clf(train_split=None, iterator_train__batch_size=50, max_epochs=1).fit(X, Y)
    assert clf.history[-1, "train_batch_count"] == int(np.ceil(len(X) / 50))
    dropped = make_clf(
        train_split=None, batch_size=50, iterator_train__drop_last=True, max_epochs=1
    ).fit(X, Y)
    assert dropped.history[-1, "train_batch_count"] == len(X) // 50


def test_train_split_none_and_custom(tasks_data):
    X, Y = tasks_data
    none = make_clf(train_split=None, max_epochs=1).fit(X, Y)
    assert "valid_loss" not in none.history[-1]
    half = make_clf(train_split=MultiTaskValidSplit(0.5), batch_size=1000, max_epochs=1)
    half.fit(X, Y)
    assert half.history[-1, "batches", -1, "valid_batch_size"] == len(X) // 2
    # skorch's own ValidSplit works too when it need not stratify
    plain = make_clf(train_split=ValidSplit(4), max_epochs=1).fit(X, Y)
    assert np.isfinite(plain.history[-1, "valid_loss"])


def test_warm_start_continues_training(tasks_data):
    X, Y = tasks_data
    clf = make_clf(warm_start=True, max_epochs=2).fit(X, Y)
    trunk_before = clf.module_.trunk
    weights = {k: v.clone() for k, v in clf.module_.state_dict().items()}
    clf.fit(X, Y)
    assert clf.module_.trunk is trunk_before
    assert len(clf.history) == 4
    assert any(not torch.equal(weights[k], v) for k, v in clf.module_.state_dict().items())
    cold = make_clf(max_epochs=2).fit(X, Y)
    cold.fit(X, Y)
    assert len(cold.history) == 2


def test_partial_fit_builds_then_adds_epochs_with_a_subset_of_tasks(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=2)
    clf.partial_fit(X, Y)
    assert clf.tasks_ == ["binary", "colour", "flag"] and len(clf.history) == 2
    clf.partial_fit(X, {"colour": Y["colour"]})
    assert len(clf.history) == 4
    assert set(clf.predict(X)) == {"binary", "colour", "flag"}


def test_partial_fit_classes_argument(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1)
    clf.partial_fit(X[:20], {"t": Y["binary"][:20]}, classes={"t": [0, 1, 2]})
    np.testing.assert_array_equal(clf.classes_["t"], [0, 1, 2])
    assert clf.predict_proba(X)["t"].shape == (len(X), 3)
    # later calls may repeat the classes (in any order), not change them, and
    # a refused call leaves the model as it was
    clf.partial_fit(X[:20], {"t": Y["binary"][:20]}, classes={"t": [2, 0, 1]})
    before = clf.predict_proba(X)["t"]
    msg = (
        "classes['t']=[0, 1, 2, 3] is not the task's classes [0, 1, 2], fixed by the first "
        "call; a fitted model's classes cannot change. Pass the same classes or none, or "
        "fit anew with the new ones."
    )
    with pytest.raises(ValueError, match=exactly(msg)):
        clf.partial_fit(X[:20], {"t": Y["binary"][:20]}, classes={"t": [0, 1, 2, 3]})
    np.testing.assert_array_equal(clf.predict_proba(X)["t"], before)
    assert len(clf.history) == 2


def test_one_fixed_class_is_named_as_the_problem(tasks_data):
    X, Y = tasks_data
    msg = (
        "classes['t'] fixes one class (1); a classifier needs at least two. List every "
        "label of the task."
    )
    with pytest.raises(ValueError, match=exactly(msg)):
        make_clf(max_epochs=1, classes={"t": [1]}).fit(X, {"t": Y["binary"]})


def test_partial_fit_with_random_state_is_repeatable(tasks_data):
    X, Y = tasks_data
    a, b = make_clf(max_epochs=1), make_clf(max_epochs=1)
    for clf in (a, b):
        clf.partial_fit(X, Y)
        clf.partial_fit(X, Y)
    np.testing.assert_array_equal(a.predict_proba(X)["colour"], b.predict_proba(X)["colour"])


def test_set_params_module_param_reinitializes_fitted_net(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y)
    clf.set_params(module__norm="batch")
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in clf.module_.modules())
    assert len(clf.module_.heads) == 3


def test_save_params_and_load_params_round_trip(tasks_data, tmp_path):
    X, Y = tasks_data
    clf = make_clf(max_epochs=3).fit(X, Y)
    clf.save_params(
        f_params=tmp_path / "p.pt", f_optimizer=tmp_path / "o.pt", f_history=tmp_path / "h.json"
    )
    fresh = clone(clf).set_params(max_epochs=0).fit(X, Y)
    assert not np.array_equal(fresh.predict_proba(X)["colour"], clf.predict_proba(X)["colour"])
    fresh.load_params(
        f_params=tmp_path / "p.pt", f_optimizer=tmp_path / "o.pt", f_history=tmp_path / "h.json"
    )
    np.testing.assert_array_equal(fresh.predict_proba(X)["colour"], clf.predict_proba(X)["colour"])
    assert len(fresh.history) == 3


def test_history_and_verbose_log(tasks_data, capsys):
    X, Y = tasks_data
    make_clf(max_epochs=2, verbose=1).fit(X, Y)
    out = capsys.readouterr().out
    for column in ("epoch", "train_loss", "valid_acc", "valid_loss"):
        assert column in out
    make_clf(max_epochs=2).fit(X, Y)
    assert capsys.readouterr().out == ""


def test_forward_returns_logits_per_task(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y)
    out = clf.forward(X.astype(np.float32))
    assert isinstance(out, tuple) and [o.shape for o in out] == [
        (len(X), 2),
        (len(X), 3),
        (len(X), 2),
    ]
