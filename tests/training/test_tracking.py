"""Experiment tracking: skorch's TensorBoard callback receives every per-task column."""

import pytest
from support import make_clf, make_tasks

pytest.importorskip("tensorboard")


def test_per_task_columns_reach_tensorboard(tmp_path):
    from skorch.callbacks import TensorBoard
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    X, Y = make_tasks()
    writer = SummaryWriter(str(tmp_path))
    clf = make_clf(max_epochs=3, callbacks=[TensorBoard(writer)]).fit(X, Y)
    writer.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    tags = set(events.Tags()["scalars"])
    for task in clf.tasks_:
        for key in (f"train_loss_{task}", f"valid_loss_{task}", f"valid_acc_{task}"):
            assert f"Loss/{key}" in tags
            logged = [event.value for event in events.Scalars(f"Loss/{key}")]
            assert logged == pytest.approx(clf.history[:, key])
        assert f"weight_{task}" in tags
