"""The estimators extend skorch through its documented hooks; the few other
overrides are listed here, each with a test pinning the skorch behaviour it
relies on. Also: the one parameter check at the start of fit."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from skorch import NeuralNet
from skorch.callbacks import Callback
from support import make_clf

from skmtl import MultiTaskClassifier, MultiTaskRegressor
from skmtl.estimators import BaseMultiTaskNet
from skmtl.targets import TaskEncoder

#: skorch's documented extension points that skmtl overrides
DOCUMENTED_HOOKS = {
    "initialize_module",
    "initialize_criterion",
    "initialize_optimizer",
    "get_default_callbacks",
    "get_dataset",
    "get_iterator",
    "get_split_datasets",
    "get_loss",
    "infer",
    "train_step_single",
    "validation_step",
    "on_epoch_begin",
    "fit_loop",
}
#: public scikit-learn/skorch API that skmtl's estimators define for themselves
PUBLIC_API = {
    *("fit", "partial_fit", "predict", "get_params", "set_params", "load_params", "__init__"),
}
#: not extension points: each is pinned by a test below
PINNED_INTERNALS = {"_get_param_names", "__setstate__", "device"}
PYTHON = {
    *("__doc__", "__module__", "__sklearn_tags__", "__sklearn_is_fitted__", "__getstate__"),
    "__repr__",
}


def test_every_override_of_neuralnet_is_a_hook_public_api_or_pinned():
    skorch_names = set(dir(NeuralNet)) | {"device"}  # skorch's device is an instance attribute
    overridden = {
        name
        for name in vars(BaseMultiTaskNet)
        # scikit-learn's metadata routing writes set_*_request methods itself
        if name in skorch_names and not (name.startswith("set_") and name.endswith("_request"))
    }
    assert overridden <= DOCUMENTED_HOOKS | PUBLIC_API | PINNED_INTERNALS | PYTHON
    assert DOCUMENTED_HOOKS | PINNED_INTERNALS <= overridden


# ------------------------------------------------- pinned skorch behaviours


def test_skorch_lists_its_private_params_to_validate_as_a_parameter():
    # why BaseMultiTaskNet._get_param_names filters it out: were skorch to
    # stop listing it, the override could go
    assert "_params_to_validate" in NeuralNet(torch.nn.Linear, torch.nn.MSELoss)._get_param_names()
    clf = make_clf(iterator_train__shuffle=False)
    assert "_params_to_validate" not in clf.get_params()
    assert set(clone(clf).get_params(deep=False)) == set(clf.get_params(deep=False))


def test_skorch_reads_self_device_where_it_moves_data(tasks_data):
    # why device is a property: "auto" stays the parameter, skorch's own
    # code (to_device, to_tensor) reads the resolved device
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y)
    assert clf.get_params()["device"] == "auto"
    assert clf.device == ("cuda" if torch.cuda.is_available() else "cpu")
    assert {p.device.type for p in clf.module_.parameters()} == {torch.device(clf.device).type}


def test_skorch_setstate_maps_tensors_with_state_device(tasks_data):
    # why __setstate__ resolves "auto" first: skorch's own __setstate__ builds
    # its map_location from state["device"], which must be a real device
    with pytest.raises((RuntimeError, ValueError, TypeError)):
        torch.device("auto")
    X, Y = tasks_data
    clf = make_clf(max_epochs=1).fit(X, Y)
    back = pickle.loads(pickle.dumps(clf))
    assert back.get_params()["device"] == "auto"
    np.testing.assert_array_equal(back.predict_proba(X)["colour"], clf.predict_proba(X)["colour"])


def test_skorch_fit_trains_through_partial_fit_and_y_is_encoded_once(tasks_data, monkeypatch):
    X, Y = tasks_data
    calls = {"fit_transform": 0, "transform": 0, "partial_fit": 0}
    for name in ("fit_transform", "transform"):
        original = getattr(TaskEncoder, name)

        def counting(self, *args, _name=name, _original=original, **kwargs):
            calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(TaskEncoder, name, counting)
    original_partial = MultiTaskClassifier.partial_fit

    def counting_partial(self, *args, **kwargs):
        calls["partial_fit"] += 1
        return original_partial(self, *args, **kwargs)

    monkeypatch.setattr(MultiTaskClassifier, "partial_fit", counting_partial)
    make_clf(max_epochs=1).fit(X, Y)
    assert calls == {"fit_transform": 1, "transform": 0, "partial_fit": 1}


def test_weighting_is_a_criterion_skorch_knows(tasks_data):
    X, Y = tasks_data
    clf = make_clf(task_weighting="uncertainty", max_epochs=1).fit(X, Y)
    assert clf._criteria == ["criterion", "weighting"]
    in_optimizer = {id(p) for g in clf.optimizer_.param_groups for p in g["params"]}
    assert id(clf.weighting_.log_vars) in in_optimizer
    assert not hasattr(clf.criterion_, "weighting")  # one owner


class StepSpy(Callback):
    def initialize(self):
        self.keys = set()
        return self

    def on_batch_end(self, net, batch=None, training=False, **step):
        self.keys |= set(step)


def test_steps_hand_their_per_task_sums_to_the_callbacks(tasks_data):
    X, Y = tasks_data
    spy = StepSpy()
    make_clf(max_epochs=1, callbacks=[spy]).fit(X, Y)
    assert {"loss", "y_pred", "task_sums", "task_counts"} <= spy.keys


# --------------------------------------------------- the objective: get_loss


class Penalised(MultiTaskClassifier):
    """A user's subclass: an L2 penalty on the heads, added in get_loss."""

    def __init__(self, *args, penalty=0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.penalty = penalty

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        heads = sum((p**2).sum() for p in self.module_.heads.parameters())
        return loss + self.penalty * heads


def _head_norm(clf) -> float:
    return float(sum((p.detach() ** 2).sum() for p in clf.module_.heads.parameters()))


@pytest.mark.parametrize("weighting", ["equal", "uncertainty", "pcgrad", "mgda"])
def test_a_subclass_penalty_in_get_loss_changes_training(tasks_data, weighting):
    X, Y = tasks_data
    params = dict(
        hidden_units=(16,), max_epochs=5, lr=0.01, batch_size=64, random_state=0,
        task_weighting=weighting,
    )  # fmt: skip
    plain = MultiTaskClassifier(**params).fit(X, Y)
    zero = Penalised(penalty=0.0, **params).fit(X, Y)
    strong = Penalised(penalty=1.0, **params).fit(X, Y)
    # no penalty: the same weights as the estimator itself
    np.testing.assert_allclose(_head_norm(zero), _head_norm(plain), rtol=1e-5)
    # the penalty shrinks the heads it weighs
    assert _head_norm(strong) < 0.5 * _head_norm(plain)


# ------------------------------------------------------ the parameter check


@pytest.mark.parametrize(
    "params, match",
    [
        ({"lr": -1}, r"The 'lr' parameter of MultiTaskClassifier must be a float in the range "
                     r"\(0.0, inf\). Got -1 instead."),
        ({"hidden_units": (0,)}, r"'hidden_units' .* positive ints.*Got \(0,\) instead"),
        ({"hidden_units": "wide"}, r"'hidden_units' .* Got 'wide' instead"),
        ({"max_epochs": -1}, r"'max_epochs' .* an int in the range \[0, inf\) or 'auto'. Got -1"),
        ({"max_epochs": 2.5}, r"'max_epochs' .* Got 2.5"),
        ({"batch_size": 0}, r"'batch_size' .* Got 0 instead"),
        ({"batch_size": True}, r"'batch_size' .* Got True instead"),
        ({"dropout": 1.5}, r"'dropout' .* \[0.0, 1.0\). Got 1.5"),
        ({"weight_decay": -0.1}, r"'weight_decay' .* Got -0.1"),
        ({"affinity_every": -1}, r"'affinity_every' .* Got -1"),
        ({"device": "tpu"}, r"'device' .* a torch device .* Got 'tpu'"),
        ({"norm": "group"}, r"'norm' .* one of \['batch', 'layer'\] or None. Got 'group'"),
        ({"task_weights": [1, 2]}, r"'task_weights' .* a dict \{task: weight\}"),
        ({"module__bogus": 1}, r"module__bogus: MLPTrunk takes no argument 'bogus'; its "
                               r"arguments are \[.*'hidden_units'.*\]"),
        ({"criterion__bogus": 1}, r"criterion__bogus: CrossEntropyLoss takes no argument"),
        ({"optimizer__bogus": 1}, r"optimizer__bogus: AdamW takes no argument 'bogus'; its "
                                  r"arguments are \[.*'betas'.*\]"),
        ({"n_threads": 0}, r"The 'n_threads' parameter of MultiTaskClassifier must be .* "
                           r"Got 0 instead."),
        ({"n_threads": "x"}, r"'n_threads' .* Got 'x' instead."),
    ],
)  # fmt: skip
def test_bad_parameters_are_refused_at_fit_naming_parameter_and_value(tasks_data, params, match):
    X, Y = tasks_data
    clf = make_clf().set_params(**params)  # set_params never raises
    with pytest.raises(ValueError, match=match):
        clf.fit(X, Y)
    assert not clf.initialized_


def test_expert_options_are_checked_too(tasks_data):
    X, Y = tasks_data
    with pytest.raises(ValueError, match="module__n_expert: MMoE takes no argument 'n_expert'"):
        make_clf(architecture="mmoe", module__n_expert=2).fit(X, Y)


def test_a_trunk_taking_kwargs_is_left_to_itself(tasks_data):
    class Open(torch.nn.Module):
        def __init__(self, in_features, **options):
            super().__init__()
            self.options = options
            self.layer = torch.nn.Linear(in_features, 4)

        def forward(self, X):
            return self.layer(X)

    X, Y = tasks_data
    clf = make_clf(module=Open, module__anything=3, max_epochs=1).fit(X, Y)
    assert clf.module_.trunk.options == {"anything": 3}


def test_regressor_checks_the_same_table():
    X = np.random.default_rng(0).normal(size=(40, 3))
    with pytest.raises(ValueError, match=r"'lr' parameter of MultiTaskRegressor"):
        MultiTaskRegressor(lr=0).fit(X, X[:, 0])
