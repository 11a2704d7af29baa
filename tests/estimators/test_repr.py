"""repr in scikit-learn's style: the parameters that differ from their defaults."""

import torch
from support import make_tasks

from skmtl import MultiTaskClassifier, MultiTaskRegressor


def test_defaults_print_as_an_empty_call():
    assert repr(MultiTaskClassifier()) == "MultiTaskClassifier()"
    assert repr(MultiTaskRegressor()) == "MultiTaskRegressor()"


def test_changed_parameters_are_shown_in_order():
    clf = MultiTaskClassifier(hidden_units=(64,), max_epochs=5, iterator_train__shuffle=False)
    assert repr(clf).splitlines()[1:-1] == [
        "    hidden_units=(64,),",
        "    max_epochs=5,",
        "    iterator_train__shuffle=False,",
    ]
    assert repr(MultiTaskClassifier(dropout=0.1)) == "MultiTaskClassifier(dropout=0.1)"


def test_long_reprs_wrap_one_parameter_a_line():
    clf = MultiTaskClassifier(
        optimizer=torch.optim.SGD, optimizer__momentum=0.9, task_weights={"a": 2.0}, lr=0.1
    )
    lines = repr(clf).splitlines()
    assert lines[0] == "MultiTaskClassifier(" and lines[-1] == ")"
    assert "    optimizer__momentum=0.9," in lines and "    lr=0.1," in lines


def test_a_fitted_estimator_prints_the_same():
    X, Y = make_tasks(60)
    clf = MultiTaskClassifier(max_epochs=1, random_state=0)
    before = repr(clf)
    assert repr(clf.fit(X, Y)) == before == "MultiTaskClassifier(random_state=0, max_epochs=1)"


def test_the_notebook_html_repr_shows_the_estimator():
    html = MultiTaskClassifier(max_epochs=7)._repr_html_()
    assert "MultiTaskClassifier" in html and "max_epochs" in html
