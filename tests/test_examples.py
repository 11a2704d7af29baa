"""The shipped examples run and learn."""

import importlib.util
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cnn_digits_example_learns_all_three_tasks():
    example = _load("cnn_digits")
    X, Y = example.load_digit_tasks()
    assert X.shape == (1797, 64) and list(Y.columns) == ["digit", "parity", "loops"]
    scores = example.main(max_epochs=4, channels=4)
    assert set(scores) == {"digit", "parity", "loops"}
    # well above the majority-class rates (about 0.10, 0.51 and 0.60)
    assert scores["digit"] > 0.6
    assert scores["parity"] > 0.7
    assert scores["loops"] > 0.7


def test_cnn_trunk_output_width_matches_heads():
    example = _load("cnn_digits")
    from skmtl import MultiTaskClassifier

    X, Y = example.load_digit_tasks()
    clf = MultiTaskClassifier(
        module=example.DigitsCNN, module__channels=3, max_epochs=1, random_state=0
    ).fit(X[:200], Y[:200])
    assert [h.in_features for h in clf.module_.heads] == [3 * 2 * 16] * 3
    assert [h.out_features for h in clf.module_.heads] == [10, 2, 3]


def test_task_relations_example():
    example = _load("task_relations")
    affinity, gain = example.main(max_epochs=5, cv=2)
    tasks = ["species", "sex", "island"]
    assert list(affinity.index) == list(affinity.columns) == tasks
    assert abs(affinity.loc["species", "species"] - 1.0) < 1e-5
    assert list(gain.index) == tasks
    assert ((gain["multi_task"] > 0.3) & (gain["multi_task"] <= 1)).all()
