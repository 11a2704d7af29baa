"""What a change must not change unnoticed: the predictions of a fixed-seed
default fit, bit for bit, and model files written by 0.1.0.

``tests/resources/pinned_0.1.0.npz`` and ``tests/resources/model_0.1.0.skmtl`` were
recorded by ``tests/resources/record_pinned.py`` at 0.1.0, before any module
moved; a model file of 0.1.0 must still predict as it did then.
``tests/resources/pinned_defaults.npz`` holds today's default fits: a change
that alters their numerics on purpose (the fit-cost issue's cheaper dropout
mask and fused AdamW on the CPU) records it anew with the same script and
says so in the changelog.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import skmtl
from skmtl import MultiTaskClassifier, MultiTaskRegressor
from skmtl.datasets import load_penguins
from skmtl.exceptions import InconsistentVersionWarning

DATA = Path(__file__).resolve().parents[1] / "resources"


@pytest.fixture(scope="module")
def pinned():
    return np.load(DATA / "pinned_defaults.npz")


@pytest.fixture(scope="module")
def pinned_0_1_0():
    return np.load(DATA / "pinned_0.1.0.npz")


@pytest.fixture(scope="module")
def raw_penguins():
    """Penguins with complete measurements, unscaled, as recorded."""
    X, Y = load_penguins(return_X_y=True)
    keep = X.notna().all(axis=1).to_numpy()
    return X[keep].reset_index(drop=True), Y[keep].reset_index(drop=True)


@pytest.fixture(scope="module")
def generated():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 6))
    Y = {"a": (X[:, 0] + X[:, 1] > 0).astype(int), "b": np.digitize(X[:, 2] - X[:, 3], [-0.5, 0.5])}
    return X, Y


def test_a_default_fit_on_penguins_predicts_as_pinned(raw_penguins, pinned):
    X, Y = raw_penguins
    proba = MultiTaskClassifier(random_state=0).fit(X, Y).predict_proba(X)
    for task, values in proba.items():
        np.testing.assert_array_equal(values, pinned[f"penguins_{task}"])


def test_a_default_fit_with_the_embedding_predicts_as_pinned(generated, pinned):
    X, Y = generated
    proba = MultiTaskClassifier(random_state=0).fit(X, Y).predict_proba(X)
    for task, values in proba.items():
        np.testing.assert_array_equal(values, pinned[f"embedded_{task}"])


def test_a_default_regressor_predicts_as_pinned(generated, pinned):
    X, _ = generated
    Y = np.column_stack([X[:, 0] * 2 + X[:, 1], np.sin(X[:, 2])])
    predicted = MultiTaskRegressor(random_state=0).fit(X, Y).predict(X)
    np.testing.assert_array_equal(predicted, pinned["regressor"])


def test_a_model_file_of_0_1_0_loads_and_predicts_as_it_did(raw_penguins, pinned_0_1_0):
    pytest.importorskip("safetensors")
    X, _ = raw_penguins
    with warnings.catch_warnings():
        warnings.simplefilter("error", InconsistentVersionWarning)
        model = skmtl.load(DATA / "model_0.1.0.skmtl")
    assert type(model) is MultiTaskClassifier
    for task, values in model.predict_proba(X).items():
        np.testing.assert_array_equal(values, pinned_0_1_0[f"penguins_{task}"])
