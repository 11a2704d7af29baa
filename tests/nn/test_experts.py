"""MMoE and PLE (CGC): per-task gates, the split forward, and use through the estimator."""

import numpy as np
import pytest
import torch
from support import make_clf

from skmtl.nn import PLE, MMoE


@pytest.fixture
def X():
    torch.manual_seed(0)
    return torch.randn(8, 5)


@pytest.mark.parametrize("cls", [MMoE, PLE])
def test_outputs_and_split_forward(cls, X):
    net = cls(5, [3, 2, 2], hidden_units=(6,)).eval()
    out = net(X)
    assert [o.shape for o in out] == [(8, 3), (8, 2), (8, 2)]
    for a, b in zip(out, net.forward_tasks(net.forward_shared(X), X), strict=True):
        assert torch.equal(a, b)
    assert not torch.allclose(out[1], out[2])  # two tasks of two classes still differ


def test_mmoe_gates_are_per_task_probability_vectors(X):
    net = MMoE(5, [2, 2], hidden_units=(6,), n_experts=3)
    assert len(net.gates) == 2 and len(net.experts) == 3
    g = net.gate_weights(X)
    assert g.shape == (2, 8, 3)
    torch.testing.assert_close(g.sum(dim=-1), torch.ones(2, 8))
    assert (g >= 0).all() and not torch.allclose(g[0], g[1])


def test_mmoe_with_zero_gates_mixes_experts_equally(X):
    net = MMoE(5, [2], hidden_units=(6,), n_experts=3).eval()
    for gate in net.gates:
        torch.nn.init.zeros_(gate.weight)
        torch.nn.init.zeros_(gate.bias)
    shared = net.forward_shared(X)
    expected = net.heads[0](shared.mean(dim=1))
    torch.testing.assert_close(net(X)[0], expected)


def test_ple_task_output_ignores_other_tasks_private_experts(X):
    net = PLE(5, [2, 2], hidden_units=(6,), n_shared_experts=2, n_task_experts=1).eval()
    before = net(X)
    with torch.no_grad():
        for p in net.task_experts[1].parameters():
            p.add_(1.0)
    after = net(X)
    torch.testing.assert_close(after[0], before[0])
    assert not torch.allclose(after[1], before[1])
    g = net.gate_weights(X)
    assert len(g) == 2 and g[0].shape == (8, 3)
    torch.testing.assert_close(g[0].sum(dim=-1), torch.ones(8))


@pytest.mark.parametrize("cls", [MMoE, PLE])
def test_a_loss_on_one_task_trains_shared_experts_not_the_other_head(cls, X):
    net = cls(5, [2, 2], hidden_units=(6,))
    net(X)[0].sum().backward()
    shared = net.experts if cls is MMoE else net.shared_experts
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in shared.parameters())
    assert net.gates[0].weight.grad.abs().sum() > 0
    assert net.heads[1].weight.grad is None or net.heads[1].weight.grad.abs().sum() == 0


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: MMoE(5, [2], n_experts=0), "n_experts must be an integer >= 1"),
        (lambda: PLE(5, [2], n_shared_experts=0), "n_shared_experts must be an integer >= 1"),
        (lambda: PLE(5, [2], n_task_experts=-1), "n_task_experts must be an integer >= 0"),
        (lambda: MMoE(5, []), "n_classes must name at least one task"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("arch, cls", [("mmoe", MMoE), ("ple", PLE)])
def test_estimator_architectures(penguins, arch, cls):
    X, Y = penguins
    clf = make_clf(architecture=arch, module__dropout=0.0, max_epochs=10).fit(X, Y)
    assert isinstance(clf.module_, cls)
    assert len(clf.module_.gates) == 3
    assert [h.out_features for h in clf.module_.heads] == [3, 2, 3]
    assert clf.score(X, Y) > 0.6
    pred = clf.predict(X)
    assert list(pred.columns) == ["species", "sex", "island"]


def test_expert_options_and_gradient_weighting_on_experts(penguins):
    X, Y = penguins
    clf = make_clf(
        architecture="mmoe",
        module__n_experts=5,
        task_weighting="pcgrad",
        affinity_every=1,
        max_epochs=2,
    ).fit(X, Y)
    assert len(clf.module_.experts) == 5
    assert np.isfinite(clf.task_affinity_.to_numpy()).all()


def test_architecture_errors(tasks_data):
    X, Y = tasks_data
    with pytest.raises(
        ValueError, match=r"'architecture' .* one of \['mmoe', 'ple', 'shared'\]. Got"
    ):
        make_clf(architecture="moe").fit(X, Y)
    with pytest.raises(ValueError, match="builds its own experts.*leave module=None"):
        make_clf(architecture="mmoe", module=torch.nn.Identity).fit(X, Y)
