"""docs/saving.md's Python blocks run as written, in order, and do what they say."""

from pathlib import Path

import numpy as np
import pytest
from support import run_python_blocks

PAGE = Path(__file__).resolve().parents[2] / "docs" / "saving.md"

pytest.importorskip("safetensors")
pytest.importorskip("skops")
pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")


@pytest.fixture(scope="module")
def page():
    return run_python_blocks(PAGE, min_blocks=3)


def test_the_saved_model_loads_and_predicts_the_same(page):
    assert page["same"] is True
    assert page["loaded"].tasks_ == page["clf"].tasks_


def test_the_custom_trunk_is_refused_until_trusted(page):
    assert "Trunk' (for module)" in page["refusal"]
    assert "trusted=[Trunk]" in page["refusal"]
    X = page["X"]
    for task, proba in page["custom"].predict_proba(X).items():
        np.testing.assert_array_equal(page["custom_loaded"].predict_proba(X)[task], proba)


def test_the_pipeline_loads_whole(page):
    pipe, loaded, X = page["pipe"], page["pipe_loaded"], page["X_frame"]
    assert [name for name, _ in loaded.steps] == [name for name, _ in pipe.steps]
    for task, proba in pipe.predict_proba(X).items():
        np.testing.assert_array_equal(loaded.predict_proba(X)[task], proba)


def test_the_onnx_graphs_serve_what_predict_gives(page):
    assert page["onnx_gap"] <= 1e-4 and page["pipe_gap"] <= 1e-4
    np.testing.assert_array_equal(page["onnx_species"], page["clf"].predict(page["X"])["species"])
