"""The shipped examples run and learn."""

import importlib.util
from pathlib import Path

import numpy as np
import torch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cnn_digits_example_learns_all_three_tasks():
    example = _load("cnn_digits")
    X, Y = example.load_digit_tasks()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert 0 <= X.min() and X.max() <= 1
    assert list(Y.columns) == ["digit", "parity", "large"]
    scores = example.main(max_epochs=6, channels=8)
    assert set(scores) == {"digit", "parity", "large"}
    # well above the majority-class rates (about 0.10, 0.51 and 0.50)
    assert scores["digit"] > 0.8
    assert scores["parity"] > 0.75
    assert scores["large"] > 0.75


def test_cnn_trunk_takes_images_and_its_width_is_found():
    example = _load("cnn_digits")
    from skmtl import MultiTaskClassifier

    X, Y = example.load_digit_tasks()
    seen = []
    trunk = example.DigitsCNN(channels=3)
    trunk.register_forward_pre_hook(lambda module, args: seen.append(tuple(args[0].shape[1:])))
    clf = MultiTaskClassifier(module=trunk, max_epochs=1, random_state=0).fit(X[:200], Y[:200])
    assert clf.input_shape_ == (1, 8, 8) and clf.n_features_in_ == 64
    # no out_features on the CNN: the heads' width comes from a dry run
    assert [h.in_features for h in clf.module_.heads] == [3 * 2 * 16] * 3
    assert [h.out_features for h in clf.module_.heads] == [10, 2, 2]
    # the copy skmtl trains keeps the hook: every batch reached it as images
    assert seen and set(seen) == {(1, 8, 8)}


def test_gru_sequences_example_learns_both_tasks():
    example = _load("gru_sequences")
    X, Y = example.make_sequences()
    assert X.shape == (600, 20, 3) and X.dtype == np.float32
    assert list(Y.columns) == ["trend", "peak"]
    # balanced tasks: the majority-class rates are about 0.5
    assert (Y.mean().between(0.4, 0.6)).all()
    again, _ = example.make_sequences()
    np.testing.assert_array_equal(X, again)  # seeded
    scores = example.main(max_epochs=10, hidden_size=32)
    assert set(scores) == {"trend", "peak"}
    assert scores["trend"] > 0.9
    assert scores["peak"] > 0.7


def test_gru_trunk_returns_the_last_hidden_state():
    example = _load("gru_sequences")
    trunk = example.GRUTrunk(input_size=3, hidden_size=5)
    X = torch.randn(4, 20, 3)
    out = trunk(X)
    assert out.shape == (4, 5)
    full, _ = trunk.gru(X)
    torch.testing.assert_close(out, full[:, -1])


def test_task_relations_example():
    example = _load("task_relations")
    affinity, gain = example.main(max_epochs=5, cv=2)
    tasks = ["species", "sex", "island"]
    assert list(affinity.index) == list(affinity.columns) == tasks
    assert abs(affinity.loc["species", "species"] - 1.0) < 1e-5
    assert list(gain.index) == tasks
    assert ((gain["multi_task"] > 0.3) & (gain["multi_task"] <= 1)).all()
