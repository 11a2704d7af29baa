"""What the speed and methods benchmarks share."""

import torch

# The network and optimizer as in a plain loop: no input scaling, embedding,
# schedule, early stopping or weight decay, so that every contender trains
# exactly the same model for the same number of epochs.
PLAIN_RECIPE = dict(
    feature_scaling=None,
    numeric_embedding=None,
    early_stopping=False,
    lr_schedule=None,
    weight_decay=0.0,
    optimizer=torch.optim.Adam,
)
