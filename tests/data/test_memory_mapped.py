"""A memory-mapped X (``np.load(path, mmap_mode="r")``) is read a bounded block
or batch at a time, never copied whole, and trains as the same X in memory."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from support import make_clf, make_tasks

import skmtl.data._mapped as mapped
from skmtl import MultiTaskClassifier, MultiTaskRegressor
from skmtl.data import MappedData, MappedRows


def mapped_copy(tmp_path, X, name="X.npy"):
    np.save(tmp_path / name, X)
    return np.load(tmp_path / name, mmap_mode="r")


@pytest.fixture
def wide(tmp_path, monkeypatch):
    """150,000 x 64 float32 (38 MB) in a file, read in 1 MB blocks, with a
    scaler sample of 5,000 rows: any whole copy of X stands out."""
    monkeypatch.setattr(mapped, "BLOCK_BYTES", 2**20)
    monkeypatch.setattr(mapped, "SAMPLE_ROWS", 5_000)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150_000, 64)).astype(np.float32)
    Y = {"a": (X[:, 0] + X[:, 1] > 0).astype(np.int8), "b": (X[:, 2] > 0.3).astype(np.int8)}
    return mapped_copy(tmp_path, X), Y, X.nbytes


@pytest.fixture
def reads(monkeypatch):
    """The number of rows of every batch that a MappedData reads."""
    counts = []
    take = MappedData.take

    def counting(self, rows):
        out = take(self, rows)
        counts.append(len(out) if out.ndim > 1 else 1)
        return out

    monkeypatch.setattr(MappedData, "take", counting)
    return counts


def test_fit_and_predict_never_copy_a_mapped_x_whole(wide, reads):
    X, Y, nbytes = wide
    make_clf(max_epochs=1).fit(*make_tasks(50))  # torch's lazy imports, before counting
    clf = MultiTaskClassifier(max_epochs=1, hidden_units=(16,), batch_size=2048, random_state=0)
    tracemalloc.start()
    try:
        clf.fit(X, Y)
        fit_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        proba = clf.predict_proba(X)
        predict_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert fit_peak < nbytes / 2, f"fit held {fit_peak / 2**20:.1f} MB for a {nbytes / 2**20} MB X"
    assert predict_peak < nbytes / 2
    assert reads and max(reads) <= 8192  # batches of training and prediction, never all rows
    assert sum(reads) >= 2 * len(X)  # every row was read by training and by prediction
    assert proba["a"].shape == (len(X), 2)


def test_a_mapped_x_trains_as_the_same_x_in_memory(tmp_path):
    """Below the sample size the scaler, the bins and every batch are those of
    the in-memory fit, with a validation split, shuffling and the embedding."""
    X, Y = make_tasks(600)
    params = dict(numeric_embedding="piecewise_linear", max_epochs=3)
    memory = make_clf(**params).fit(X, Y)
    on_disk = make_clf(**params).fit(mapped_copy(tmp_path, X.astype(np.float32)), Y)
    for task, proba in memory.predict_proba(X).items():
        np.testing.assert_array_equal(on_disk.predict_proba(X)[task], proba)
    assert memory.history[:, "valid_loss"] == on_disk.history[:, "valid_loss"]


def test_unlabelled_rows_of_a_mapped_x_stay_in_the_file(tmp_path, monkeypatch):
    X, Y = make_tasks(300)
    Y = {task: np.where(np.arange(300) % 10 == 0, None, values) for task, values in Y.items()}
    Y = {task: values.astype(object) for task, values in Y.items()}
    rows_seen = []
    init = MappedData.__init__

    def recording(self, X, *args, **kwargs):
        rows_seen.append(type(X))
        init(self, X, *args, **kwargs)

    monkeypatch.setattr(MappedData, "__init__", recording)
    with pytest.warns(UserWarning, match="Dropped 30 row"):
        on_disk = make_clf().fit(mapped_copy(tmp_path, X.astype(np.float32)), Y)
    with pytest.warns(UserWarning, match="Dropped 30 row"):
        memory = make_clf().fit(X, Y)
    assert MappedRows in rows_seen
    expected = memory.predict_proba(X)["colour"]
    np.testing.assert_array_equal(on_disk.predict_proba(X)["colour"], expected)


def test_a_float64_mapped_x_is_read_as_float32(tmp_path):
    X, Y = make_tasks(200)
    on_disk = make_clf().fit(mapped_copy(tmp_path, X), Y)  # float64 in the file
    memory = make_clf().fit(X, Y)
    np.testing.assert_array_equal(
        on_disk.predict_proba(mapped_copy(tmp_path, X, "Xp.npy"))["binary"],
        memory.predict_proba(X)["binary"],
    )


def test_a_regressor_takes_a_mapped_x(tmp_path):
    X, _ = make_tasks(200)
    Y = np.column_stack([X[:, 0] * 2, X[:, 1]])
    reg = MultiTaskRegressor(max_epochs=2, hidden_units=(8,), random_state=0)
    predicted = reg.fit(mapped_copy(tmp_path, X.astype(np.float32)), Y).predict(X)
    assert predicted.shape == (200, 2)


def test_nan_in_a_mapped_x_is_reported_by_column(tmp_path, monkeypatch):
    monkeypatch.setattr(mapped, "BLOCK_BYTES", 1024)  # the NaN is in a later block
    X, Y = make_tasks(400)
    X[350, 4] = np.nan
    with pytest.raises(ValueError, match=r"Input X contains NaN in column\(s\) \[4\]"):
        make_clf().fit(mapped_copy(tmp_path, X), Y)


def test_a_mapped_x_of_the_wrong_width_is_refused(tmp_path):
    X, Y = make_tasks(100)
    clf = make_clf(max_epochs=1).fit(X, Y)
    with pytest.raises(ValueError, match="X has 5 features, but MultiTaskClassifier is expecting"):
        clf.predict(mapped_copy(tmp_path, X[:, :5]))


def test_pages_are_released_by_what_the_reads_may_have_mapped(tmp_path, monkeypatch):
    # a row read at random maps the pages around it (64 KiB), far more than
    # its own bytes: the release counts those, and rows read in order by size
    import skmtl.data._tensors as tensors

    X = mapped_copy(tmp_path, np.zeros((200_000, 4), dtype=np.float32))  # 16-byte rows
    assert mapped.mapped_bytes(X, 10, in_order=False) == 10 * mapped.FAULT_BYTES
    assert mapped.mapped_bytes(X, 10, in_order=True) == 160
    assert mapped.mapped_bytes(X, 5_000, in_order=False) == X.nbytes  # at most the file
    released = []
    monkeypatch.setattr(tensors, "release_pages", lambda array: released.append(1))
    monkeypatch.setattr(tensors, "RELEASE_BYTES", 8 * mapped.FAULT_BYTES)
    data = MappedData(X, None, "cpu")
    data.take(np.arange(0, 200_000, 20_000))  # 10 rows at random
    assert len(released) == 1
    for start in range(0, 1_000, 100):  # 1,000 rows in order: 16 KB
        data.take(slice(start, start + 100))
    assert len(released) == 1


def test_the_scalers_sample_of_a_mapped_x_is_read_in_released_chunks(tmp_path, monkeypatch):
    X = mapped_copy(tmp_path, np.arange(40_000, dtype=np.float32).reshape(10_000, 4))
    released = []
    monkeypatch.setattr(mapped, "release_pages", lambda array: released.append(1))
    monkeypatch.setattr(mapped, "RELEASE_BYTES", 100 * mapped.FAULT_BYTES)
    sample = mapped.sample_rows(X, 1_000)
    assert len(released) == 10  # chunks of 100 rows
    rows = np.sort(np.random.default_rng(0).choice(10_000, 1_000, replace=False))
    np.testing.assert_array_equal(sample, np.asarray(X)[rows])
