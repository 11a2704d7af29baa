"""Work an epoch no longer pays for, each done as before where it matters:
the seed, the divergence guard's copy of the weights and the silent log."""

import traceback

import numpy as np
import pytest
import torch
from support import make_clf

from skmtl.training import TaskPrintLog
from skmtl.training._states import copy_states, refresh_states
from skmtl.utils import seed_torch


def test_seed_torch_draws_what_torch_manual_seed_draws():
    seed_torch(123)
    mine = torch.rand(5), torch.randint(0, 100, (5,))
    torch.manual_seed(123)
    theirs = torch.rand(5), torch.randint(0, 100, (5,))
    assert all(torch.equal(a, b) for a, b in zip(mine, theirs, strict=True))


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA seeds are queued on a GPU machine")
def test_seed_torch_queues_no_lazy_seed(monkeypatch, tasks_data):
    def fail(*args, **kwargs):
        raise AssertionError("a lazy accelerator seed formatted a stack trace")

    monkeypatch.setattr(traceback, "format_stack", fail)
    seed_torch(7)  # torch.manual_seed(7) would fail here
    make_clf(max_epochs=3).fit(*tasks_data)  # seeded every epoch
    with pytest.raises(AssertionError, match="lazy accelerator seed"):
        torch.manual_seed(7)


def test_refresh_states_copies_in_place(tasks_data):
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y)
    kept = copy_states(clf, optimizers=False)
    tensors = {k: id(v) for k, v in kept["module"].items()}
    with torch.no_grad():
        for p in clf.module_.parameters():
            p.add_(1.0)
    assert refresh_states(clf, kept)
    assert {k: id(v) for k, v in kept["module"].items()} == tensors
    for key, value in clf.module_.state_dict().items():
        assert torch.equal(kept["module"][key], value)
        assert kept["module"][key].data_ptr() != value.data_ptr()  # a copy, not the weights


def test_refresh_states_refuses_another_network(tasks_data):
    X, Y = tasks_data
    kept = copy_states(make_clf(max_epochs=1, hidden_units=(8,)).fit(X, Y), optimizers=False)
    wider = make_clf(max_epochs=1, hidden_units=(16,)).fit(X, Y)
    assert not refresh_states(wider, kept)


def test_a_silent_fit_formats_no_epoch_table(tasks_data, monkeypatch, capsys):
    X, Y = tasks_data

    def fail(self, row):
        raise AssertionError("formatted a table nobody sees")

    monkeypatch.setattr(TaskPrintLog, "table", fail)
    make_clf(max_epochs=2, verbose=0).fit(X, Y)
    assert capsys.readouterr().out == ""
    with pytest.raises(AssertionError, match="nobody sees"):
        make_clf(max_epochs=2, verbose=1).fit(X, Y)


def test_a_fit_with_a_seed_repeats_itself(tasks_data):
    X, Y = tasks_data
    first = make_clf(max_epochs=3, dropout=0.3).fit(X, Y).predict_proba(X)["colour"]
    again = make_clf(max_epochs=3, dropout=0.3).fit(X, Y).predict_proba(X)["colour"]
    np.testing.assert_array_equal(first, again)


def test_refresh_states_refuses_a_lazy_tensor():
    module = torch.nn.LazyLinear(3)

    class Net:
        _modules, _criteria, _optimizers = ["module"], [], []
        module_ = module

    kept = copy_states(Net(), optimizers=False)
    assert not refresh_states(Net(), kept)
