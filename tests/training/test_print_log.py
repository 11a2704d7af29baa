"""The epoch table: colour only on a terminal, readable with many tasks."""

import sys

import numpy as np
import pytest

from skmtl import MultiTaskClassifier, MultiTaskValidSplit
from skmtl.training import TaskPrintLog

#: the logs' validation columns need a validation split (the default recipe has none)
SPLIT = MultiTaskValidSplit(0.2)


def eight_tasks():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    Y = {f"task_number_{i}": (X[:, i % 5] + rng.normal(size=200) > 0).astype(int) for i in range(8)}
    return X, Y


def fit_printing(monkeypatch, capsys, tty: bool, **params):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: tty, raising=False)
    X, Y = eight_tasks()
    MultiTaskClassifier(
        max_epochs=2, verbose=1, hidden_units=(8,), random_state=0, train_split=SPLIT, **params
    ).fit(X, Y)
    return capsys.readouterr().out.splitlines()


def test_no_colour_codes_off_a_terminal(monkeypatch, capsys):
    lines = fit_printing(monkeypatch, capsys, tty=False)
    assert len(lines) == 4  # header, rule, two epochs
    assert not any("\x1b[" in line for line in lines)


def test_colour_on_a_terminal(monkeypatch, capsys):
    lines = fit_printing(monkeypatch, capsys, tty=True)
    assert any("\x1b[" in line for line in lines[2:])


def test_no_colour_into_another_sink():
    X, Y = eight_tasks()
    written = []
    MultiTaskClassifier(max_epochs=2, verbose=1, callbacks__print_log__sink=written.append).fit(
        X, Y
    )
    assert written and not any("\x1b[" in line for line in written)


def test_eight_long_task_names_keep_distinct_short_columns(monkeypatch, capsys):
    header = fit_printing(monkeypatch, capsys, tty=False)[0].split()
    tasks = [h for h in header if h.startswith("task_")]
    assert len(tasks) == len(set(tasks)) == 8
    assert all(len(name) <= TaskPrintLog.task_width for name in tasks)
    assert "valid_acc" in header and not any(h.startswith("valid_acc_") for h in header)


def test_short_names_are_shown_whole(monkeypatch, capsys):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    X, Y = eight_tasks()
    Y = {f"t{i}": y for i, y in enumerate(Y.values())}
    MultiTaskClassifier(max_epochs=1, verbose=1, hidden_units=(8,), train_split=SPLIT).fit(X, Y)
    header = capsys.readouterr().out.splitlines()[0].split()
    assert [h for h in header if h.startswith("t") and h[1:].isdigit()] == [
        f"t{i}" for i in range(8)
    ]


@pytest.mark.parametrize(
    "name, expected", [("abc", "abc"), ("a" * 5 + "XYZ" + "b" * 6, "aaaaa~bbbbbb")]
)
def test_header_cuts_keep_both_ends(name, expected):
    assert TaskPrintLog()._header(f"valid_acc_{name}") == expected
