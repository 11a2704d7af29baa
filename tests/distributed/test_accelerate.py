"""Training across processes with Accelerate: two CPU processes (gloo) fit as
one process with the same effective batch, each reading its own shard."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from support import ddp_settings, exactly, make_tasks

from skmtl import MultiTaskClassifier

accelerate = pytest.importorskip("accelerate")

HERE = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    out = tmp_path_factory.mktemp("ddp") / "fit"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]),
        "OMP_NUM_THREADS": "1",
    }
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
        "--master_addr", "127.0.0.1", "--master_port", str(free_port()),
        str(HERE / "ddp_fit.py"), str(out),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return [np.load(f"{out}.{rank}.npz") for rank in (0, 1)]


def test_two_processes_train_one_model(two_processes):
    first, second = two_processes
    assert int(first["world"]) == 2
    for key in first.files:
        if key.startswith("proba_"):
            np.testing.assert_array_equal(first[key], second[key])


def test_each_process_reads_its_own_half_of_the_training_rows(two_processes):
    epochs, train_rows = ddp_settings()["max_epochs"], 480  # 600 rows, 20% held out
    assert [int(p["rows_read"]) for p in two_processes] == [epochs * train_rows // 2] * 2


def test_two_processes_fit_as_one_with_the_same_effective_batch(two_processes):
    X, Y = make_tasks(600)
    one = MultiTaskClassifier(**ddp_settings()).fit(X, Y).predict_proba(X)
    # every label present and halves of equal size: the averaged gradients are
    # the full batch's, so the fits differ by float rounding only
    for task, proba in one.items():
        np.testing.assert_allclose(two_processes[0][f"proba_{task}"], proba, atol=1e-4)


def test_the_per_task_history_has_one_row_per_epoch(two_processes):
    history = json.loads(str(two_processes[0]["history"]))
    assert len(history) == ddp_settings()["max_epochs"]
    for task in ("binary", "colour", "flag"):
        assert all(f"valid_loss_{task}" in row for row in history)
        assert all(f"train_loss_{task}" in row for row in history)


def test_gradient_strategies_are_refused_clearly():
    from skmtl.distributed import AcceleratedMultiTaskClassifier

    X, Y = make_tasks(60)
    clf = AcceleratedMultiTaskClassifier(
        accelerator=accelerate.Accelerator(cpu=True), task_weighting="pcgrad", max_epochs=1
    )
    with pytest.raises(ValueError, match="task_weighting='pcgrad' combines per-task gradients"):
        clf.fit(X, Y)


def test_one_process_with_an_accelerator_fits_as_without(tmp_path):
    from skmtl.distributed import AcceleratedMultiTaskClassifier

    X, Y = make_tasks(200)
    plain = MultiTaskClassifier(**ddp_settings()).fit(X, Y)
    accelerated = AcceleratedMultiTaskClassifier(
        accelerator=accelerate.Accelerator(cpu=True), **ddp_settings()
    ).fit(X, Y)
    for task, proba in plain.predict_proba(X).items():
        np.testing.assert_allclose(accelerated.predict_proba(X)[task], proba, atol=1e-6)


def test_a_fitted_accelerated_estimator_clones_refits_and_saves(tmp_path):
    # clone passes no bookkeeping back; the model file is the one-process
    # estimator whose network was trained, the accelerator left out
    pytest.importorskip("safetensors")
    from sklearn.base import clone

    import skmtl
    from skmtl.distributed import AcceleratedMultiTaskClassifier

    X, Y = make_tasks(200)
    clf = AcceleratedMultiTaskClassifier(
        accelerator=accelerate.Accelerator(cpu=True), **ddp_settings()
    ).fit(X, Y)
    again = clone(clf).fit(X, Y)
    for task, proba in clf.predict_proba(X).items():
        np.testing.assert_array_equal(again.predict_proba(X)[task], proba)
    skmtl.save(clf, tmp_path / "model.skmtl")
    loaded = skmtl.load(tmp_path / "model.skmtl")
    assert type(loaded) is MultiTaskClassifier
    assert loaded.get_params()["affinity_every"] == 0
    for task, proba in clf.predict_proba(X).items():
        np.testing.assert_array_equal(loaded.predict_proba(X)[task], proba)
    kept = AcceleratedMultiTaskClassifier(
        accelerator=accelerate.Accelerator(cpu=True), unwrap_after_train=False, max_epochs=1
    ).fit(X, Y)
    with pytest.raises(ValueError, match=r"still the accelerator's \(unwrap_after_train=False\)"):
        skmtl.save(kept, tmp_path / "kept.skmtl")


def test_a_distributed_fit_trains_one_network_and_refuses_a_bag():
    from skmtl.distributed import AcceleratedMultiTaskClassifier
    from skmtl.nn import MultiTaskModule

    X, Y = make_tasks(60)
    accelerator = accelerate.Accelerator(cpu=True)
    clf = AcceleratedMultiTaskClassifier(accelerator=accelerator, hidden_units=(8,), patience=2)
    assert clf.get_params()["bag_folds"] is None
    assert type(clf.fit(X, Y).module_) is MultiTaskModule  # a small table: no bag
    clf = AcceleratedMultiTaskClassifier(accelerator=accelerator, bag_folds=3, max_epochs=1)
    message = (
        "bag_folds=3: a bag trains its networks one after another and joins them outside "
        "the accelerator; leave bag_folds=None for distributed training, or fit the bag in "
        "one process."
    )
    with pytest.raises(ValueError, match=exactly(message)):
        clf.fit(X, Y)
