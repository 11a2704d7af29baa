"""A distributed fit, run by tests/distributed/test_accelerate.py as
``python -m torch.distributed.run --nproc_per_node 2 ddp_fit.py OUT``: every
process fits an AcceleratedMultiTaskClassifier on CPU processes (gloo) and
writes its predictions and history to ``OUT.<rank>.npz``."""

import json
import sys

import numpy as np
from accelerate import Accelerator
from skorch.callbacks import Callback
from support import ddp_settings, make_tasks

from skmtl.distributed import AcceleratedMultiTaskClassifier


class CountRows(Callback):
    """The training rows this process reads."""

    def initialize(self):
        self.rows = 0
        return self

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.rows += len(batch[0])


def main(out: str) -> None:
    accelerator = Accelerator(cpu=True)
    X, Y = make_tasks(600)
    counter = CountRows()
    clf = AcceleratedMultiTaskClassifier(
        accelerator=accelerator, callbacks=[counter], **ddp_settings()
    )
    clf.fit(X, Y)
    proba = clf.predict_proba(X)
    history = clf.history
    np.savez(
        f"{out}.{accelerator.process_index}.npz",
        world=accelerator.num_processes,
        rows_read=counter.rows,
        **{f"proba_{task}": values for task, values in proba.items()},
        history=json.dumps(
            [{k: v for k, v in row.items() if isinstance(v, (int, float))} for row in history]
        ),
    )


if __name__ == "__main__":
    main(sys.argv[1])
