"""Nothing is lost: a save or an ONNX export that fails part-way (a full disk,
an interrupt) leaves the file already at the path loading as it did, and no
temporary file behind; ``save`` and ``load`` also take open binary files."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import zipfile

import numpy as np
import pytest
from support import make_clf, make_tasks

import skmtl

pytest.importorskip("safetensors")


@pytest.fixture(scope="module")
def models():
    """Two fitted models that predict differently, and their data."""
    X, Y = make_tasks()
    first = make_clf(max_epochs=2).fit(X, Y)
    second = make_clf(max_epochs=2, hidden_units=(256, 256), random_state=1).fit(X, Y)
    return first, second, X


def assert_loads_as(path, model, X) -> None:
    loaded = skmtl.load(path)
    for task, proba in model.predict_proba(X).items():
        np.testing.assert_array_equal(loaded.predict_proba(X)[task], proba)


def fail_on_second_member(monkeypatch, exc: BaseException) -> None:
    """Make the zip writer write one member, then fail on the next."""
    writestr = zipfile.ZipFile.writestr
    calls = []

    def failing(self, name, data, *args, **kwargs):
        calls.append(name)
        if len(calls) == 2:
            raise exc
        return writestr(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)


@pytest.mark.parametrize(
    "exc",
    [KeyboardInterrupt(), OSError(errno.ENOSPC, "No space left on device"), RuntimeError("x")],
    ids=["interrupt", "enospc", "error"],
)
def test_a_save_that_fails_midway_leaves_the_earlier_file(models, tmp_path, monkeypatch, exc):
    first, second, X = models
    path = tmp_path / "model.skmtl"
    skmtl.save(first, path)
    fail_on_second_member(monkeypatch, exc)
    with pytest.raises(type(exc)):
        skmtl.save(second, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.skmtl"]  # no temporary file left
    assert_loads_as(path, first, X)


def test_a_failed_first_save_leaves_no_file(models, tmp_path, monkeypatch):
    first, _, _ = models
    fail_on_second_member(monkeypatch, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        skmtl.save(first, tmp_path / "model.skmtl")
    assert os.listdir(tmp_path) == []


def test_a_save_whose_sync_fails_leaves_the_earlier_file(models, tmp_path, monkeypatch):
    """A disk that fills up at the last moment: fsync reports ENOSPC."""
    first, second, X = models
    path = tmp_path / "model.skmtl"
    skmtl.save(first, path)

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError, match="No space left"):
        skmtl.save(second, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.skmtl"]
    assert_loads_as(path, first, X)


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs, where the machine lets the tests mount one (root on Linux)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
            capture_output=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        pytest.skip("cannot run mount here")
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=False, timeout=10)


def test_a_full_disk_leaves_the_earlier_file(models, small_disk):
    first, second, X = models
    path = small_disk / "model.skmtl"
    skmtl.save(first, path, optimizer=False)
    assert path.stat().st_size < 64 * 1024  # room for it, not for the 770 kB model
    with pytest.raises(OSError) as caught:
        skmtl.save(second, path)
    assert caught.value.errno == errno.ENOSPC
    assert os.listdir(small_disk) == ["model.skmtl"]
    assert_loads_as(path, first, X)


def test_a_replaced_file_keeps_its_mode(models, tmp_path):
    first, second, _ = models
    path = tmp_path / "model.skmtl"
    skmtl.save(first, path)
    os.chmod(path, 0o640)
    skmtl.save(second, path)
    assert path.stat().st_mode & 0o777 == 0o640


def test_save_and_load_take_open_binary_files(models, tmp_path):
    first, _, X = models
    buffer = io.BytesIO()
    skmtl.save(first, buffer)
    buffer.seek(0)
    assert_loads_as(buffer, first, X)
    path = tmp_path / "model.skmtl"
    with open(path, "wb") as file:
        skmtl.save(first, file)
    with open(path, "rb") as file:
        assert_loads_as(file, first, X)


def test_a_failed_save_to_an_open_file_writes_nothing(models, monkeypatch):
    first, _, _ = models
    buffer = io.BytesIO()
    fail_on_second_member(monkeypatch, RuntimeError("x"))
    with pytest.raises(RuntimeError):
        skmtl.save(first, buffer)
    assert buffer.getvalue() == b""


def test_an_onnx_export_that_fails_midway_leaves_the_earlier_file(models, tmp_path, monkeypatch):
    onnx = pytest.importorskip("onnx")
    first, second, _ = models
    path = tmp_path / "model.onnx"
    expected = skmtl.to_onnx(first, path).SerializeToString()

    def interrupted(fd):
        raise KeyboardInterrupt  # the new graph is written, not yet on disk

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        skmtl.to_onnx(second, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["model.onnx"]
    assert onnx.load(str(path)).SerializeToString() == expected
