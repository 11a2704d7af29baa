"""The fast data path: taken by default, identical in effect to skorch's path."""

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback
from skorch.dataset import Dataset
from support import make_clf

from skmtl.data import TensorBatches, TensorData


class Recorder(Callback):
    """Counts every callback hook skorch fires."""

    HOOKS = (
        "on_train_begin",
        "on_train_end",
        "on_epoch_begin",
        "on_epoch_end",
        "on_batch_begin",
        "on_batch_end",
        "on_grad_computed",
    )

    def initialize(self):
        self.calls = dict.fromkeys(self.HOOKS, 0)
        self.batch_loss_types = set()
        return self

    def _hit(self, name):
        self.calls[name] += 1


for _hook in Recorder.HOOKS:

    def _method(self, net, *args, _name=_hook, **kwargs):
        self._hit(_name)
        if _name == "on_batch_end":
            self.batch_loss_types.add(type(kwargs["loss"]).__name__)

    setattr(Recorder, _hook, _method)


def _pair(**params):
    """The same configuration on the fast path and on skorch's path; without
    dropout, whose masks would differ: skorch's DataLoader draws a seed from
    torch's generator each epoch."""
    params = {"dropout": 0.0, **params}
    fast = make_clf(**params)
    slow = make_clf(data_on_device=False, **params)
    return fast, slow


@pytest.fixture
def no_row_access(monkeypatch):
    """Make skorch's per-row Dataset indexing fail, to prove it is not used."""

    def forbidden(self, i):
        raise AssertionError("skorch's per-row Dataset.__getitem__ was called")

    monkeypatch.setattr(Dataset, "__getitem__", forbidden)


def test_fast_path_is_default_and_skips_per_row_indexing(tasks_data, no_row_access):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    clf.predict_proba(X)
    assert isinstance(clf.get_dataset(X.astype(np.float32)), TensorData)


def test_skorch_path_does_index_rows(tasks_data, no_row_access):
    X, Y = tasks_data
    with pytest.raises(AssertionError, match="per-row Dataset"):
        make_clf(data_on_device=False).fit(X, Y)


def test_custom_dataloader_option_falls_back_to_skorch_path(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1, iterator_train__collate_fn=torch.utils.data.default_collate)
    clf.fit(X, Y)
    assert not isinstance(clf.get_dataset(X.astype(np.float32)), TensorData)
    assert isinstance(make_clf().get_dataset(X.astype(np.float32)), TensorData)


def test_unshuffled_epoch_ends_with_the_same_weights_as_skorch_path(tasks_data):
    X, Y = tasks_data
    fast, slow = _pair(train_split=None, iterator_train__shuffle=False, max_epochs=1, batch_size=32)
    fast.fit(X, Y)
    slow.fit(X, Y)
    slow_state = slow.module_.state_dict()
    for name, value in fast.module_.state_dict().items():
        assert torch.equal(value, slow_state[name]), name
    fast_losses = [b["train_loss"] for b in fast.history[-1, "batches"]]
    slow_losses = [b["train_loss"] for b in slow.history[-1, "batches"]]
    assert fast_losses == slow_losses
    assert all(isinstance(v, float) for v in fast_losses)


def test_validation_matches_skorch_path(tasks_data):
    X, Y = tasks_data
    fast, slow = _pair(iterator_train__shuffle=False, max_epochs=2)
    fast.fit(X, Y)
    slow.fit(X, Y)
    for key in ("train_loss", "valid_loss", "valid_acc"):
        np.testing.assert_allclose(fast.history[:, key], slow.history[:, key], rtol=1e-6)
    np.testing.assert_array_equal(fast.predict_proba(X)["colour"], slow.predict_proba(X)["colour"])


def test_every_callback_fires_as_on_skorch_path(tasks_data):
    X, Y = tasks_data
    counts = []
    for data_on_device in (True, False):
        rec = Recorder()
        clf = make_clf(callbacks=[rec], max_epochs=3, batch_size=50, data_on_device=data_on_device)
        clf.fit(X, Y)
        clf.partial_fit(X, Y)
        counts.append(rec.calls)
        assert rec.batch_loss_types == {"Tensor"}
    fast, slow = counts
    assert fast == slow
    n_train = len(X) - int(np.ceil(0.2 * len(X)))
    train_batches = int(np.ceil(n_train / 50))
    assert fast["on_epoch_end"] == 6
    assert fast["on_grad_computed"] == 6 * train_batches
    assert fast["on_train_begin"] == fast["on_train_end"] == 2


class BatchLossSpy(Callback):
    """Records the type of the batch loss in the history at each batch's end."""

    def initialize(self):
        self.seen = []
        return self

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.seen.append(type(net.history[-1, "batches", -1, "train_loss"]))


def _count_item_calls(monkeypatch, clf, X, Y):
    calls = {"item": 0}
    original = torch.Tensor.item

    def counting_item(self):
        calls["item"] += 1
        return original(self)

    monkeypatch.setattr(torch.Tensor, "item", counting_item)
    clf.fit(X, Y)
    monkeypatch.setattr(torch.Tensor, "item", original)
    return calls["item"]


def test_cpu_history_holds_floats_at_once_like_skorch(tasks_data):
    X, Y = tasks_data
    spies = []
    for data_on_device in (True, False):
        spies.append(BatchLossSpy())
        make_clf(callbacks=[spies[-1]], data_on_device=data_on_device).fit(X, Y)
    assert set(spies[0].seen) == set(spies[1].seen) == {float}


def test_batches_cover_every_row_once_per_epoch():
    X = torch.arange(23, dtype=torch.float32).reshape(-1, 1)
    data = TensorData(X, torch.arange(23))
    torch.manual_seed(0)
    batches = TensorBatches(data, batch_size=5, shuffle=True)
    assert len(batches) == 5
    first = torch.cat([xb for xb, _ in batches]).ravel()
    second = torch.cat([xb for xb, _ in batches]).ravel()
    assert sorted(first.tolist()) == list(range(23))
    assert not torch.equal(first, second)  # a new permutation each epoch
    for xb, yb in batches:
        torch.testing.assert_close(xb.ravel().long(), yb)
    dropped = TensorBatches(data, batch_size=5, drop_last=True)
    assert [len(xb) for xb, _ in dropped] == [5, 5, 5, 5]
    whole = TensorBatches(data, torch.tensor([3, 1, 4]), batch_size=-1)
    assert [xb.ravel().tolist() for xb, _ in whole] == [[3.0, 1.0, 4.0]]


def test_iterator_batch_size_and_drop_last_are_honoured(tasks_data):
    X, Y = tasks_data
    clf = make_clf(
        train_split=None,
        max_epochs=1,
        iterator_train__batch_size=70,
        iterator_train__drop_last=True,
    ).fit(X, Y)
    sizes = [b["train_batch_size"] for b in clf.history[-1, "batches"]]
    assert sizes == [70] * (len(X) // 70)


def test_predict_batches_do_not_change_results(tasks_data):
    X, Y = tasks_data
    clf = make_clf().fit(X, Y)
    ref = clf.predict_proba(X)["colour"]
    for size in (1, 7, -1):
        clf.set_params(predict_batch_size=size)
        np.testing.assert_allclose(clf.predict_proba(X)["colour"], ref, rtol=1e-6, atol=1e-7)


def test_mixed_precision_runs_the_forward_in_bf16(tasks_data):
    X, Y = tasks_data
    clf = make_clf(mixed_precision=True, max_epochs=2).fit(X, Y)
    out = clf.infer(torch.as_tensor(X[:4], dtype=torch.float32))
    assert out[0].dtype == torch.bfloat16
    assert clf.predict_proba(X)["colour"].dtype == np.float32
    assert np.isfinite(clf.history[:, "train_loss"]).all()
    plain = make_clf(mixed_precision="auto", max_epochs=1).fit(X, Y)  # off on the CPU
    assert plain.infer(torch.as_tensor(X[:4], dtype=torch.float32))[0].dtype == torch.float32


def test_fused_optimizer_option(tasks_data):
    X, Y = tasks_data
    fused = make_clf(fused_optimizer=True, max_epochs=1).fit(X, Y)
    assert fused.optimizer_.defaults["fused"] is True
    auto = make_clf(max_epochs=1).fit(X, Y)  # "auto": fused on the CPU and CUDA
    assert auto.optimizer_.defaults["fused"] is True
    off = make_clf(fused_optimizer=False, max_epochs=1).fit(X, Y)
    assert not off.optimizer_.defaults["fused"]
    sgd = make_clf(optimizer=torch.optim.SGD, max_epochs=1).fit(X, Y)
    assert sgd.optimizer_.defaults["fused"] is True
    # an optimizer without a fused kernel is left as it is
    rms = make_clf(optimizer=torch.optim.Rprop, weight_decay=0, max_epochs=1).fit(X, Y)
    assert "fused" not in rms.optimizer_.defaults or not rms.optimizer_.defaults["fused"]
    # nor what the fused kernels refuse, nor another library's optimizer on the CPU
    from skmtl.estimators._network import optimizer_kwargs

    assert optimizer_kwargs(auto, {})["fused"] is True
    assert "fused" not in optimizer_kwargs(auto, {"differentiable": True})

    class MyAdam(torch.optim.Adam):
        pass

    MyAdam.__module__ = "my_library.optim"
    theirs = make_clf(optimizer=MyAdam, max_epochs=1).fit(X, Y)
    assert not theirs.optimizer_.defaults["fused"]


def test_auto_fused_optimizer_skips_sparse_gradients(tasks_data):
    X, Y = tasks_data

    class SparseTrunk(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.codes = torch.nn.Embedding(8, 4, sparse=True)
            self.dense = torch.nn.Linear(X.shape[1], 4)

        def forward(self, X):
            return self.dense(X) + self.codes((X[:, 0].abs() * 3).long().clamp(max=7))

    clf = make_clf(module=SparseTrunk, optimizer=torch.optim.SGD, max_epochs=2, weight_decay=0)
    clf.fit(X, Y)  # the fused SGD would refuse the embedding's sparse gradient
    assert not clf.optimizer_.defaults["fused"]
    mine = make_clf(fused_optimizer=True, optimizer__foreach=False, max_epochs=1).fit(X, Y)
    assert not mine.optimizer_.defaults["fused"]


@pytest.mark.parametrize(
    "param, value",
    [("mixed_precision", "fp8"), ("fused_optimizer", "yes"), ("data_on_device", "gpu")],
)
def test_bad_gpu_options(tasks_data, param, value):
    X, Y = tasks_data
    with pytest.raises(ValueError, match=f"'{param}' parameter .* must be 'auto' or a bool. Got"):
        make_clf(**{param: value}).fit(X, Y)


def test_gpu_options_are_searchable_parameters():
    from sklearn.base import clone

    clf = make_clf(
        mixed_precision=False,
        fused_optimizer=False,
        data_on_device=False,
        predict_batch_size=100,
        compile=False,
    )
    params = clone(clf).get_params()
    assert (
        params["mixed_precision"],
        params["fused_optimizer"],
        params["data_on_device"],
        params["predict_batch_size"],
        params["compile"],
    ) == (False, False, False, 100, False)


def test_forward_casts_float64_on_fast_path(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y)
    out = clf.forward(X.astype(np.float64))
    assert out[0].shape == (len(X), 2)


def test_torch_compile_gives_the_same_predictions(tasks_data):
    # skorch's compile=True; compiling on the CPU takes about 20 s here
    X, Y = tasks_data
    compiled = make_clf(compile=True, max_epochs=1, dropout=0.0).fit(X, Y)
    assert type(compiled.module_).__name__ == "OptimizedModule"
    plain = make_clf(max_epochs=1, dropout=0.0).fit(X, Y)
    np.testing.assert_allclose(
        compiled.predict_proba(X)["colour"], plain.predict_proba(X)["colour"], atol=1e-5
    )


def test_torch_compile_trains_through_skmtls_dropout(tasks_data):
    # the trunk's Dropout draws its CPU mask with random_ on int64, which
    # torch.compile must trace (or fall back on) without changing the step
    X, Y = tasks_data
    compiled = make_clf(
        compile=True, max_epochs=2, dropout=0.3, train_split=None, feature_scaling=None
    ).fit(X, Y)
    drops = [m for m in compiled.module_.modules() if type(m).__name__ == "Dropout"]
    assert drops and all(m.p == 0.3 for m in drops)
    assert np.isfinite(compiled.history[:, "train_loss"]).all()
    eager = compiled.module_._orig_mod.eval()
    with torch.no_grad():
        logits = eager(torch.as_tensor(X, dtype=torch.float32))
    expected = torch.softmax(logits[list(compiled.tasks_).index("colour")], dim=1)
    np.testing.assert_allclose(compiled.predict_proba(X)["colour"], expected.numpy(), atol=1e-5)
