"""``ensemble_size``: TabM's packed ensemble, k members in one fused forward pass."""

import numpy as np
import pytest
import torch
from support import make_tasks

from skmtl import MultiTaskClassifier, MultiTaskRegressor
from skmtl.nn._modules import member_mean

pytest.importorskip("tabm")


def _fit(**params):
    X, Y = make_tasks()
    clf = MultiTaskClassifier(hidden_units=(32, 32), max_epochs=4, random_state=0, **params)
    return clf.fit(X, Y), X, Y


def test_members_train_in_one_forward_and_predict_their_mean():
    clf, X, _ = _fit(ensemble_size=4)
    module = clf.module_.eval()
    with torch.no_grad():
        shared = module.forward_shared(torch.as_tensor(clf.get_dataset(X).X))
        members = module.heads[0](shared)  # (rows, members, classes)
    assert shared.shape == (len(X), 4, 32)
    assert members.shape[1] == 4
    # the members differ (their own scalings), and predict_proba is their mean
    assert not torch.allclose(members[:, 0], members[:, 1])
    mean = torch.softmax(members.float(), -1).mean(1).detach().numpy()
    np.testing.assert_allclose(clf.predict_proba(X)[clf.tasks_[0]], mean, rtol=1e-4, atol=1e-6)


def test_member_mean_is_the_log_of_the_mean_probability():
    logits = torch.randn(5, 3, 4)
    expected = torch.softmax(logits, -1).mean(1)
    torch.testing.assert_close(torch.softmax(member_mean(logits), -1), expected)


def test_the_loss_is_the_mean_of_the_members_losses():
    clf, X, Y = _fit(ensemble_size=3)
    Xt = torch.as_tensor(clf.get_dataset(X).X[:50])
    yt = torch.as_tensor(np.asarray(clf.target_encoder_.transform(Y))[:50])
    module = clf.module_.train()
    out = module.forward_tasks(module.forward_shared(Xt), Xt)
    torch.manual_seed(0)
    together = clf.criterion_(out, yt)
    each = torch.stack([clf.criterion_([o[:, m] for o in out], yt) for m in range(3)])
    torch.testing.assert_close(together, each.mean(0))


def test_an_ensemble_of_one_is_the_plain_mlp():
    clf, X, _ = _fit(ensemble_size=1)
    kinds = {type(m).__module__.split(".")[0] for m in clf.module_.modules()}
    assert "tabm" not in kinds
    assert isinstance(clf.module_.trunk.layers[0], torch.nn.Linear)


def test_the_regressor_averages_its_members():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4)).astype(np.float32)
    Y = {"a": X[:, 0] * 2.0, "b": X[:, 1] - X[:, 2]}
    reg = MultiTaskRegressor(hidden_units=(32, 32), max_epochs=30, ensemble_size=4, random_state=0)
    reg.fit(X, Y)
    assert reg.predict(X)["a"].shape == (300,) and reg.score(X, Y) > 0.5


@pytest.mark.parametrize(
    "params, message",
    [
        ({"hidden_units": (32, 16)}, "equal widths"),
        ({"norm": "layer"}, "no norm"),
        ({"ensemble_size": 0}, r"'ensemble_size' .* an int in the range \[1, inf\) or None"),
        # never ignored where another network replaces skmtl's MLP trunk
        ({"architecture": "mmoe"}, r"which architecture='mmoe' replaces\. Leave module=None"),
        ({"module": torch.nn.Identity}, r"which module=<class 'torch.nn.*Identity'> replaces"),
    ],
)
def test_bad_ensembles_are_refused_with_the_fix(params, message):
    X, Y = make_tasks()
    params = {"ensemble_size": 4, **params}
    with pytest.raises(ValueError, match=message):
        MultiTaskClassifier(max_epochs=1, **params).fit(X, Y)


def test_an_ensemble_of_one_with_experts_is_the_plain_experts():
    # ensemble_size=1 is no ensemble, wherever it is set
    X, Y = make_tasks()
    one, plain = (
        MultiTaskClassifier(architecture="mmoe", max_epochs=1, random_state=0, ensemble_size=k)
        .fit(X, Y)
        .predict_proba(X)
        for k in (1, None)
    )
    for task, proba in plain.items():
        np.testing.assert_array_equal(one[task], proba)
