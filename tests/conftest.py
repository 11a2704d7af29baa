"""Shared fixtures of the tests, and the options and profiles of the run.

The helpers that tests import (small estimators, data, a stopping
callback) are in ``tests/support.py``."""

import pytest
from hypothesis import HealthCheck, settings
from support import make_tasks

from skmtl.datasets import load_penguins

# Property tests: a small budget by default (CI); ``--hypothesis-profile=long``
# runs the full search recorded in docs/guarantees.md.
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=_SLOW_OK)
settings.register_profile("long", max_examples=2500, deadline=None, suppress_health_check=_SLOW_OK)
settings.load_profile("ci")


def pytest_addoption(parser):
    parser.addoption("--soak", action="store_true", help="run the long resource soak tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--soak"):
        return
    skip = pytest.mark.skip(reason="soak test: run with --soak")
    for item in items:
        if "soak" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def tasks_data():
    return make_tasks()


@pytest.fixture(scope="session")
def penguins():
    """Penguins with complete measurements, standardised; sex has missing labels."""
    X, Y = load_penguins(return_X_y=True)
    keep = X.notna().all(axis=1).to_numpy()
    X, Y = X[keep].reset_index(drop=True), Y[keep].reset_index(drop=True)
    X = (X - X.mean()) / X.std()
    return X, Y
