"""skmtl.nn.Dropout: torch's dropout, with a cheaper mask on the CPU."""

import pickle

import pytest
import torch

from skmtl.nn import Dropout, MLPTrunk


def test_drops_at_rate_p_and_keeps_the_expectation():
    torch.manual_seed(0)
    x = torch.ones(1000, 1000)
    layer = Dropout(0.3).train()
    out = layer(x)
    dropped = (out == 0).float().mean().item()
    assert abs(dropped - 0.3) < 0.003  # 1e6 draws: standard error 0.00046
    kept = out[out != 0]
    # the exact inverse of the keep probability, p rounded to 1/65536
    assert torch.all(kept == kept[0])
    assert kept[0].item() == pytest.approx(65536 / (65536 - round(0.3 * 65536)))
    assert out.mean().item() == pytest.approx(1.0, abs=0.003)


def test_the_gradient_is_the_scaled_mask():
    torch.manual_seed(1)
    x = torch.randn(64, 33, requires_grad=True)
    out = Dropout(0.5).train()(x)
    out.sum().backward()
    mask = (out != 0).float() * 2.0
    torch.testing.assert_close(x.grad, mask)
    torch.testing.assert_close(out, x.detach() * mask)


def test_a_seed_repeats_the_mask_and_another_changes_it():
    layer = Dropout(0.2).train()
    x = torch.ones(10, 101)  # a size that is no multiple of four
    torch.manual_seed(5)
    first = layer(x)
    torch.manual_seed(5)
    again = layer(x)
    torch.manual_seed(6)
    other = layer(x)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16, torch.float64])
def test_keeps_the_dtype_and_shape(dtype):
    x = torch.randn(3, 5, 7, dtype=dtype)
    out = Dropout(0.4).train()(x)
    assert out.dtype == dtype and out.shape == x.shape


def test_is_the_identity_in_eval_mode_and_at_p_zero():
    x = torch.randn(8, 16)
    assert torch.equal(Dropout(0.5).eval()(x), x)
    assert torch.equal(Dropout(0.0).train()(x), x)
    assert torch.equal(Dropout(0.5).train()(x[:0]), x[:0])


def test_tiny_inputs():
    torch.manual_seed(0)
    out = Dropout(0.5).train()(torch.ones(3))
    assert set(out.tolist()) <= {0.0, 2.0}


def test_state_and_repr_are_torchs():
    layer = Dropout(0.15)
    assert isinstance(layer, torch.nn.Dropout)
    assert repr(layer) == repr(torch.nn.Dropout(0.15))
    assert layer.state_dict() == {}
    assert pickle.loads(pickle.dumps(layer)).p == 0.15


def test_the_trunk_uses_it():
    trunk = MLPTrunk(4, (8, 8), dropout=0.1)
    drops = [m for m in trunk.modules() if isinstance(m, torch.nn.Dropout)]
    assert len(drops) == 2 and all(type(m) is Dropout for m in drops)


@pytest.mark.parametrize("p", [0.999995, 1.0, 1e-6])
def test_rates_that_round_to_all_or_none_are_torchs(p):
    torch.manual_seed(0)
    x = torch.ones(4, 8)
    mine = Dropout(p).train()(x)
    torch.manual_seed(0)
    assert torch.equal(mine, torch.nn.functional.dropout(x, p, training=True))


def test_inplace_is_torchs_and_works_in_place():
    x = torch.ones(64, 64)
    out = Dropout(0.5, inplace=True).train()(x)
    assert out.data_ptr() == x.data_ptr() and (x == 0).any()
